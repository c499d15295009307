#!/bin/bash
# The configuration keys the program knows (its key table, printed by
# --print-keys, and the keys --print-config shows), the keys
# smime-journal-milter.conf(5) documents and the keys the shipped
# etc/smime-journal-milter.conf sets must be the same set, the man page
# must give the program's defaults, and every command-line option in
# --help must be in smime-journal-milter(8).  Drift in any direction fails.
set -u

srcdir=${abs_top_srcdir:?abs_top_srcdir is not set (run through make check)}
bin=${SJM_BIN:?SJM_BIN is not set (run through make check)}
man5=$srcdir/man/smime-journal-milter.conf.5
man8=$srcdir/man/smime-journal-milter.8
shipped=$srcdir/etc/smime-journal-milter.conf

passed=0
failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
fail() { echo "FAIL - $1"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# "section key<TAB>value" lines, sorted, from INI text on stdin
# (comments and blank lines ignored, inline comments as the loader does).
ini_keys() {
    awk '
        /^[[:space:]]*([#;]|$)/ { next }
        /^[[:space:]]*\[/ { s = $0; gsub(/[][[:space:]]/, "", s); next }
        /=/ {
            k = $0; sub(/=.*/, "", k); gsub(/[[:space:]]/, "", k)
            v = $0; sub(/^[^=]*=/, "", v)
            sub(/[[:space:]][;#].*$/, "", v)
            gsub(/^[[:space:]]+|[[:space:]]+$/, "", v)
            printf "%s %s\t%s\n", s, k, v
        }' | sort
}

# The same from the man page: a .TP tag line  .BI "key = " default  or
# .B "key ="  under a heading  .SH "[section] SECTION".
man_keys() {
    awk '
        /^\.S[HS] / {
            s = ""
            if (match($0, /\[[a-z]+\]/)) s = substr($0, RSTART + 1, RLENGTH - 2)
            next
        }
        /^\.TP/ { tag = 1; next }
        tag && s != "" && /^\.BI? "[a-z_]+ =/ {
            line = $0
            sub(/^\.BI? "/, "", line)
            k = line; sub(/ =.*/, "", k)
            v = line; sub(/^[^"]*"[[:space:]]*/, "", v)
            gsub(/^"|"$/, "", v)
            printf "%s %s\t%s\n", s, k, v
        }
        { tag = 0 }' "$man5" | sort
}

# Sizes are documented as 64M but printed in bytes.
normalize() {
    local v=$1 n unit
    if [[ $v =~ ^([0-9]+)([KkMmGg])[Bb]?$ ]]; then
        n=${BASH_REMATCH[1]}
        unit=${BASH_REMATCH[2]^^}
        case $unit in
            K) echo $((n * 1024)) ;;
            M) echo $((n * 1024 * 1024)) ;;
            G) echo $((n * 1024 * 1024 * 1024)) ;;
        esac
    else
        echo "$v"
    fi
}

# Compare two "section key<TAB>value" files by key set.
compare_sets() { # name-of-a name-of-b file-a file-b
    local only_a only_b
    only_a=$(comm -23 <(cut -f1 "$3") <(cut -f1 "$4") | paste -sd, -)
    only_b=$(comm -13 <(cut -f1 "$3") <(cut -f1 "$4") | paste -sd, -)
    if [ -z "$only_a" ]; then
        ok "every key $1 knows is in $2"
    else
        fail "keys $1 knows but $2 lacks: $only_a"
    fi
    if [ -z "$only_b" ]; then
        ok "$2 has no key $1 does not know"
    else
        fail "keys in $2 that $1 does not know: $only_b"
    fi
}

# Compare values key by key (only keys present in both).
compare_values() { # name-of-a name-of-b file-a file-b
    local bad="" key va vb
    while IFS=$'\t' read -r key va; do
        vb=$(awk -F'\t' -v k="$key" '$1 == k { print $2; found = 1 } END { exit !found }' "$4") || continue
        [ "$(normalize "$va")" = "$(normalize "$vb")" ] && continue
        bad="$bad [$key: $1 \"$va\", $2 \"$vb\"]"
    done <"$3"
    if [ -z "$bad" ]; then
        ok "defaults in $1 and $2 agree"
    else
        fail "defaults differ:$bad"
    fi
}

if [ ! -x "$bin" ]; then
    fail "no program at $bin"
    finish
fi

if "$bin" --print-keys >"$tmp/keys.out" 2>"$tmp/keys.err" && grep -q '^\[' "$tmp/keys.out"; then
    ok "--print-keys prints the key table"
else
    fail "--print-keys: $(head -3 "$tmp/keys.err")"
    finish
fi
ini_keys <"$tmp/keys.out" >"$tmp/program"
# --print-config walks the same table: the same keys, in the same order.
printf '[journal]\nrecipient = journal@archive.corp.example\n' >"$tmp/minimal.conf"
if "$bin" -c "$tmp/minimal.conf" --print-config >"$tmp/print.out" 2>"$tmp/print.err"; then
    if [ "$(ini_keys <"$tmp/print.out" | cut -f1)" = "$(cut -f1 "$tmp/program")" ]; then
        ok "--print-config shows exactly the keys of --print-keys"
    else
        fail "--print-config and --print-keys disagree on the keys"
    fi
else
    fail "--print-config: $(head -3 "$tmp/print.err")"
fi
man_keys >"$tmp/man5"
# The shipped file leaves [journal] recipient for the administrator to
# set, as a commented "#recipient =" line: that line counts as the key.
sed 's/^#recipient =/recipient =/' "$shipped" | ini_keys >"$tmp/shipped"

if [ "$(wc -l <"$tmp/man5")" -gt 0 ]; then
    ok "the man page documents keys in the expected form ($(wc -l <"$tmp/man5") keys)"
else
    fail "no key found in $man5 (expected .TP / .BI \"key = \" default under .SH \"[section] ...\")"
fi
dups=$(cut -f1 "$tmp/man5" | uniq -d | paste -sd, -)
if [ -z "$dups" ]; then
    ok "the man page documents each key once"
else
    fail "keys documented twice in the man page: $dups"
fi

compare_sets "the program" "smime-journal-milter.conf(5)" "$tmp/program" "$tmp/man5"
compare_values "the program" "smime-journal-milter.conf(5)" "$tmp/program" "$tmp/man5"
compare_sets "the program" "etc/smime-journal-milter.conf" "$tmp/program" "$tmp/shipped"
# Its values may differ from the defaults: it is also an example.

# It names no journal mailbox, so it must fail -n until one is set.
if ! "$bin" -c "$shipped" -n >"$tmp/n.out" 2>&1 && grep -q 'key recipient in \[journal\]' "$tmp/n.out"; then
    ok "the shipped configuration fails -n until a journal mailbox is set"
else
    fail "the shipped configuration without a mailbox: $(head -3 "$tmp/n.out")"
fi
# It names the mark key the packages create at install; here, one of ours.
openssl rand -hex 32 >"$tmp/mark.key"
# -n checks the key as the user the filter runs as: readable by it.
chmod 755 "$tmp"
chmod 644 "$tmp/mark.key"
sed "s/^#recipient =.*/recipient = journal@archive.corp.de/; s|^mark_key_file = .*|mark_key_file = $tmp/mark.key|" \
    "$shipped" >"$tmp/set.conf"
if "$bin" -c "$tmp/set.conf" -n >"$tmp/n.out" 2>&1; then
    ok "the shipped configuration passes -n once its recipient is set and its key exists"
else
    fail "the shipped configuration with a mailbox fails -n: $(head -3 "$tmp/n.out")"
fi

# Options: every one in --help must have a tag line in the man page.
"$bin" --help >"$tmp/help" 2>&1
opts=$(grep -oE '(^|[[ ])--?[A-Za-z][a-z-]*' "$tmp/help" | tr -d '[ ' | sort -u)
sed 's/\\-/-/g; s/\\f[BIRP]//g' "$man8" | awk '
    /^\.TP/ { tag = 1; next }
    tag && /^\.(B|BI|BR|IB) / { print }
    { tag = 0 }' >"$tmp/man8tags"
missing=""
for o in $opts; do
    grep -qE -- "(^\.[A-Z]+ |[ ,])$o( |,|$)" "$tmp/man8tags" || missing="$missing $o"
done
if [ -n "$opts" ] && [ -z "$missing" ]; then
    ok "smime-journal-milter(8) documents every option of --help ($(echo $opts | wc -w))"
else
    fail "options in --help missing from smime-journal-milter(8):${missing:- (none found in --help)}"
fi

# Both pages format without warnings.
for page in "$man5" "$man8"; do
    if command -v groff >/dev/null; then
        warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
        if [ -z "$warn" ]; then
            ok "$(basename "$page") formats without warnings"
        else
            fail "$(basename "$page") formatting warnings: $(echo "$warn" | head -3)"
        fi
    fi
done

finish
