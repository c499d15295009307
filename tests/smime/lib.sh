# lib.sh - helpers shared by the S/MIME test scripts (sourced).

# top_signed FILE: is the top level S/MIME signed (detached or opaque)?
top_signed() {
    local ct
    # The header block, unfolded, its Content-Type field lower-cased.
    ct=$(sed -e '/^\r\?$/q' "$1" | tr -d '\r' | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n[ \t]/ /g' |
        grep -i '^content-type:' | head -1 | tr 'A-Z' 'a-z')
    case "$ct" in
        *multipart/signed*pkcs7-signature*|*pkcs7-mime*signed-data*) return 0 ;;
    esac
    return 1
}

# innermost FILE OUT TMPDIR: what "openssl cms -verify -noverify -out"
# extracts as the signed content, through every signature layer it can
# open (never into encryption).  SMIME_CERTFILE: signer certificates a
# message does not carry (-nocerts).
innermost() {
    local cur=$3/layer0 i=0
    cp "$1" "$cur"
    while top_signed "$cur" && [ $i -lt 8 ]; do
        i=$((i + 1))
        # A signature that does not match its content (*.bad) still has content.
        openssl cms -verify -noverify -in "$cur" ${SMIME_CERTFILE:+-certfile "$SMIME_CERTFILE"} \
            -out "$3/layer$i" 2>/dev/null ||
            openssl cms -verify -noverify -nosigs -in "$cur" ${SMIME_CERTFILE:+-certfile "$SMIME_CERTFILE"} \
                -out "$3/layer$i" 2>/dev/null ||
            return 1
        cur=$3/layer$i
    done
    cp "$cur" "$2"
}
