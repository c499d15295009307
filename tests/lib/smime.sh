# smime.sh - helpers shared by the S/MIME test scripts (sourced).

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

# ------------------------------------------------- a throw-away PKI
# smime_pki DIR: a CA (ca.pem/ca.key) under DIR, with openssl's "ca"
# database so certificates can be revoked; errors go to DIR/openssl.log.
# Keys and messages are made at test time and never shipped.
ossl() { openssl "$@" 2>>"$T/openssl.log" || e2e_fail "openssl $1 failed: $(tail -3 "$T/openssl.log")"; }
smime_pki() {
    T=$1
    # The extension file names both; openssl wants every variable set.
    export SMIME_T=$T SMIME_EMAIL=alice@corp.example
    cat >"$T/ext.cnf" <<'CNF'
[user]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:${ENV::SMIME_EMAIL}
[ca]
default_ca = testca
[testca]
database = $ENV::SMIME_T/index.txt
crlnumber = $ENV::SMIME_T/crlnumber
default_md = sha256
default_crl_days = 30
CNF
    : >"$T/index.txt"
    echo 01 >"$T/crlnumber"
    ossl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" -days 30 \
        -subj "/O=sjm test/CN=Test CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign"
}
# mkcert NAME [EMAIL] -- KEYALG-ARGS...: NAME.pem/NAME.key issued by the CA
# with the emailProtection EKU and EMAIL (default alice@corp.example) as SAN.
mkcert() {
    local name=$1 email=alice@corp.example
    shift
    if [ "$1" != "--" ]; then email=$1; shift; fi
    shift
    ossl req -new -newkey "$@" -nodes -keyout "$T/$name.key" -out "$T/$name.csr" \
        -subj "/O=sjm test/CN=$name/emailAddress=$email"
    export SMIME_EMAIL=$email
    ossl x509 -req -in "$T/$name.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
        -set_serial "$RANDOM$RANDOM" -days 30 -extfile "$T/ext.cnf" -extensions user -out "$T/$name.pem"
    export SMIME_EMAIL=alice@corp.example
}
# selfsigned NAME EMAIL: a signer no trust list knows.
selfsigned() {
    ossl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$1.key" -out "$T/$1.pem" -days 30 \
        -subj "/O=elsewhere/CN=$1/emailAddress=$2" -addext "extendedKeyUsage=emailProtection" \
        -addext "subjectAltName=email:$2"
}
# revoke NAME: put NAME.pem on the CA's CRL, written to crl.pem.
revoke() {
    ossl ca -config "$T/ext.cnf" -revoke "$T/$1.pem" -keyfile "$T/ca.key" -cert "$T/ca.pem"
    ossl ca -config "$T/ext.cnf" -gencrl -keyfile "$T/ca.key" -cert "$T/ca.pem" -out "$T/crl.pem"
}
# sign NAME IN SUBJECT cms-args...: a complete message in $T/NAME.eml
# (SMIME_FROM, default alice@corp.example; SMIME_TO, default bob@corp.example)
sign() {
    local name=$1 in=$2 subj=$3
    shift 3
    ossl cms -sign -in "$in" -from "${SMIME_FROM:-alice@corp.example}" -to "${SMIME_TO:-bob@corp.example}" \
        -subject "$subj" -crlfeol "$@" -out "$T/$name.eml"
}
# entity_of IN OUT: a message's MIME entity (its Content-* fields and body),
# every line ending in CRLF as it will on the wire: openssl writes base64
# with bare LF even under -crlfeol, and content signed in -binary mode must
# already be in the form SMTP delivers.
entity_of() {
    awk 'BEGIN { h = 1 }
         h && /^\r?$/ { h = 0; print; next }
         h && /^[ \t]/ { if (keep) print; next }
         h { keep = tolower($0) ~ /^content-/; if (keep) print; next }
         { print }' "$1" | sed 's/\r*$/\r/' >"$2"
}
