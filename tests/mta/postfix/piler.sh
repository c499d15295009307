#!/bin/bash
# piler.sh - journal reports read by the real mailpiler (built from the
# tarball in ../shared/third_party by tests/lib/piler.sh), fed by a real
# Postfix with the filter in report mode, in the topology where the filter
# runs after address expansion (etc/postfix-expanded-*.cf.snippet).
#
# The journal mailbox is a virtual alias for a Maildir and for piler's
# SMTP daemon (piler-smtp + piler, the sample's
# archive_emails_not_having_message_id=0); afterwards every Maildir report
# goes through pilerimport into a fresh database.  For both ways in, from
# piler's database and store:
#   - every envelope recipient is stored: To, Cc, Bcc-only, 20 recipients,
#     the members of a virtual alias, an address extension (piler folds it);
#   - nothing else: not the journal mailbox, not the report's From;
#   - the original is intact in piler's copy, and the S/MIME signature
#     verifies from it (openssl cms -verify);
#   - two messages without a Message-ID are archived as two messages;
#   - a Message-ID sent in two transactions is one message with the
#     recipients of both (its search index keeps only the first: piler's
#     own behaviour, documented in smime-journal-milter(8));
#   - piler's date is the time the original passed the MTA.
# It prints a table of what piler stored per case.
#   SJM_PILER_TOPOLOGY=single  the filter in the first smtpd (for comparison:
#                              alias members are then not journaled)
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/piler.sh"
CHECK="python3 $abs_top_srcdir/tests/lib/piler_check.py"
TOPOLOGY=${SJM_PILER_TOPOLOGY:-expanded}
JOURNAL=journal@archive.example
HOSTID=piler.archive.example
command -v openssl >/dev/null || e2e_fail "openssl is not installed"
for t in mariadbd mariadb-install-db mariadb; do
    command -v "$t" >/dev/null || e2e_fail "$t is not installed (scripts/install-deps.sh installs mariadb-server)"
done
CORPUS=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$CORPUS" ] || e2e_fail "corpus not found (set SJM_CORPUS)"
exp=$(date -d "$(head -1 "$CORPUS/expiration.txt")" +%s 2>/dev/null) || e2e_fail "cannot read expiration.txt"
ATTIME=$((exp - 86400 * 30))
verifies() { openssl cms -verify -CAfile "$CORPUS/TestCA.pem" -attime "$ATTIME" -in "$1" -out /dev/null 2>/dev/null; }

echo "# building mailpiler (cached in ${SJM_PILER_CACHE:-/var/cache/sjm-piler})"
piler_build || e2e_fail "mailpiler did not build (scripts/install-deps.sh installs its build dependencies)"

work=$(mktemp -d /tmp/sjm-piler.XXXXXX)
conf=$work/filter.conf
cat >"$conf" <<CF
[milter]
reinject_timeout = 10
[journal]
recipient = $JOURNAL
mode = report
CF
e2e_start "$conf"
trap 's=$?; piler_stop; (exit $s); e2e_cleanup' EXIT

# ------------------------------------------------------------ Postfix
PASS2_PORT=$((E2E_PORT + 6000))   # 26025+: clear of Sendmail's 22025+ and 23025+
PILER_PORT=$((E2E_PORT + 7000))   # 27025+
cf=$E2E_DIR/etc
cat >"$cf/virtual" <<V
team@corp.example dave@corp.example, frank@corp.example
$JOURNAL $JOURNAL, archive@$HOSTID
V
printf '%s smtp:[127.0.0.1]:%s\n' "$HOSTID" "$PILER_PORT" >"$cf/transport"
postconf -c "$cf" -e "virtual_alias_maps = texthash:$cf/virtual" "transport_maps = texthash:$cf/transport" \
    "smtp_dns_support_level = disabled"
# The re-injection listener keeps reports out of the content filter.
sed -i "/^127.0.0.1:$E2E_REINJECT_PORT inet/a\\  -o content_filter=" "$cf/master.cf"
if [ "$TOPOLOGY" = expanded ]; then
    # The shipped snippets, on this slot's port and socket, unchrooted.
    postconf -c "$cf" -e "content_filter = sjm-expanded:[127.0.0.1]:$PASS2_PORT" \
        "smtpd_milters =" "non_smtpd_milters ="
    grep -v '^#' "$abs_top_srcdir/etc/postfix-expanded-master.cf.snippet" |
        sed -e "s/127\.0\.0\.1:10027/127.0.0.1:$PASS2_PORT/" \
            -e "s|unix:smime-journal-milter/milter.sock|unix:$E2E_DIR/milter/milter.sock|" |
        awk '/^[^ ]/ { $5 = "n" } { print }' >>"$cf/master.cf"
    grep -q "^content_filter = sjm-expanded:\[127.0.0.1\]:10027" "$abs_top_srcdir/etc/postfix-expanded-main.cf.snippet" ||
        e2e_fail "etc/postfix-expanded-main.cf.snippet no longer names the shipped hop"
fi
postfix -c "$cf" check >"$work/check.out" 2>&1 || { cat "$work/check.out"; e2e_fail "postfix check failed"; }
postfix -c "$cf" reload >/dev/null 2>&1 || e2e_fail "postfix reload failed"
if [ "$TOPOLOGY" = expanded ]; then
    for i in $(seq 1 100); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $PASS2_PORT), timeout=1).close()" 2>/dev/null && break
        sleep 0.1
    done
fi

# ------------------------------------------------------------ piler (SMTP)
piler_start "$work/piler-smtp" "$HOSTID" || e2e_fail "the piler database did not start"
piler_daemons_start "$PILER_PORT" || e2e_fail "piler-smtp did not start"

# ------------------------------------------------------------ the cases
# msg FILE SUBJECT TO CC [ID] [DATE]: a CRLF message (no Message-ID when ID is "")
msg() {
    {
        printf 'From: Alice <alice@corp.example>\r\nTo: %s\r\n' "$3"
        [ -n "$4" ] && printf 'Cc: %s\r\n' "$4"
        printf 'Subject: %s %s\r\nDate: %s\r\n' "$RUN" "$2" "${6:-$(date -R)}"
        [ -n "${5:-}" ] && printf 'Message-ID: <%s>\r\n' "$5"
        printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n'
        printf 'This is %s %s.\r\n' "$RUN" "$2"
    } >"$1"
}
# Subjects and Message-IDs of this run, apart from anything else in a Maildir
RUN=r$(date +%s)$$
CASES=()
declare -A ENV SENT
send() { # CASE FILE ENVELOPE-DELIVERED RCPT...
    local c=$1 f=$2
    CASES+=("$c")
    ENV[$c]=$3
    SENT[$c]=$f
    shift 3
    e2e_send "$f" alice@corp.example "$@" >/dev/null || e2e_bad "$c: sending"
}
t0=$(date +%s)
# one message, two transactions (a client that splits by domain does this)
msg "$work/split.eml" "case split" "bob@corp.example" "" split.$RUN@test.example
send split "$work/split.eml" "bob@corp.example zed@partner.example" bob@corp.example
two_days_ago=$(date -R -d '2 days ago')
msg "$work/to.eml" "case to" bob@corp.example "" to.$RUN@test.example "$two_days_ago"
send to "$work/to.eml" "bob@corp.example" bob@corp.example
msg "$work/cc.eml" "case cc" bob@corp.example carol@corp.example cc.$RUN@test.example
send cc "$work/cc.eml" "bob@corp.example carol@corp.example" bob@corp.example carol@corp.example
msg "$work/bcc.eml" "case bcc" bob@corp.example "" bcc.$RUN@test.example
send bcc "$work/bcc.eml" "bob@corp.example eve@hidden.example" bob@corp.example eve@hidden.example
many=()
for i in $(seq -w 1 20); do many+=("u$i@corp.example"); done
msg "$work/many.eml" "case many" "undisclosed-recipients:;" "" many.$RUN@test.example
send many "$work/many.eml" "${many[*]}" "${many[@]}"
msg "$work/alias.eml" "case alias" team@corp.example "" alias.$RUN@test.example
send alias "$work/alias.eml" "dave@corp.example frank@corp.example" team@corp.example
msg "$work/ext.eml" "case ext" bob+news@corp.example "" ext.$RUN@test.example
send ext "$work/ext.eml" "bob+news@corp.example" bob+news@corp.example
sed -e "s/^Subject: .*/Subject: $RUN case signed\r/" \
    -e "0,/^MIME-Version:/s//Message-ID: <signed.$RUN@test.example>\r\nMIME-Version:/" \
    "$CORPUS/alice.dsig.SHA256.multipart.eml" >"$work/signed.eml"
e2e_check "signed: the corpus message verifies before sending" verifies "$work/signed.eml"
send signed "$work/signed.eml" "bob@corp.example" bob@corp.example
msg "$work/noid1.eml" "case noid1" bob@corp.example "" ""
send noid1 "$work/noid1.eml" "bob@corp.example" bob@corp.example
msg "$work/noid2.eml" "case noid2" carol@corp.example "" ""
send noid2 "$work/noid2.eml" "carol@corp.example" carol@corp.example
# its second transaction (Bcc-only zed) comes seconds after everything
# else, so both of piler's ways in read the first report first
e2e_wait_idle 120 || e2e_fail "delivery did not finish"
sleep 3
e2e_send "$work/split.eml" alice@corp.example zed@partner.example >/dev/null || e2e_bad "split: sending the second"
e2e_wait_idle 120 || e2e_fail "delivery did not finish"
t1=$(date +%s)
NMSG=${#CASES[@]}    # the split case's two transactions are one message

# ------------------------------------------------------------ checks
reports=()
while IFS= read -r f; do
    [ -n "$f" ] && grep -q '^X-MS-Journal-Report:' "$f" && grep -q "^Subject: $RUN " "$f" && reports+=("$f")
done < <(e2e_messages "$JOURNAL")
e2e_check "Postfix delivered one report per transaction to the Maildir ($(( ${#CASES[@]} + 1 )))" \
    [ "${#reports[@]}" -eq $((${#CASES[@]} + 1)) ]
if [ "$TOPOLOGY" = expanded ]; then
    e2e_check "alias: the report names both members and what they were expanded from" \
        grep -q '^Recipient: dave@corp.example, Expanded: team@corp.example' "${reports[@]}"
fi

# rows SUBJECT: piler's metadata ids of that subject
rows() { piler_sql "SELECT id FROM metadata WHERE subject='$RUN $1' ORDER BY id"; }
stored() { piler_sql "SELECT \`to\` FROM rcpt WHERE id=$1 ORDER BY \`to\`" | paste -sd, -; }

# judge PATH: every case against this database; fills the table
declare -A TABLE
within() { [ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
judge() {
    local path=$1 c ids n id got verdict
    for c in "${CASES[@]}"; do
        ids=$(rows "case $c")
        n=$(echo "$ids" | grep -c .)
        if [ "$n" -ne 1 ]; then
            e2e_bad "$path $c: piler holds $n messages for it, not 1"
            TABLE[$path.$c]="($n messages)"
            continue
        fi
        id=$ids
        got=$(stored "$id")
        TABLE[$path.$c]=$got
        # shellcheck disable=SC2086
        verdict=$($CHECK judge "${SENT[$c]}" "$got" ${ENV[$c]})
        e2e_check "$path $c: every envelope recipient and no one else (${verdict})" [ "$verdict" = ok ]
        # the original, from piler's store
        local pid out="$work/$path.$c"
        pid=$(piler_sql "SELECT piler_id FROM metadata WHERE id=$id")
        piler_env "$PILER_PREFIX/bin/pilerget" "$pid" >"$out.stored" 2>/dev/null
        if $CHECK original "$out.stored" "$out.orig" 2>"$out.err"; then
            verdict=$($CHECK intact "$out.orig" "${SENT[$c]}")
            e2e_check "$path $c: the original is intact in piler's copy ($verdict)" [ "$verdict" = ok ]
        else
            e2e_bad "$path $c: no original in piler's copy ($(cat "$out.err"))"
        fi
        if [ "$c" = signed ]; then
            e2e_check "$path signed: the signature verifies from piler's copy" verifies "$out.orig"
        fi
    done
    e2e_check "$path: no stored message names the journal mailbox or the report's sender" \
        [ "$(piler_sql "SELECT COUNT(*) FROM rcpt WHERE \`to\` LIKE 'journal@%' OR \`to\` LIKE '%@$HOSTID' OR \`to\` LIKE 'mailer-daemon@%'")" -eq 0 ]
    e2e_check "$path: piler holds exactly the $NMSG messages" \
        [ "$(piler_sql "SELECT COUNT(*) FROM metadata WHERE subject LIKE '$RUN %'")" -eq "$NMSG" ]
    id=$(rows "case to")
    if [ -n "$id" ]; then
        local sent
        sent=$(piler_sql "SELECT sent FROM metadata WHERE id=$id")
        e2e_check "$path to: piler's date is when the MTA received it, as for any message ($sent in $t0..$t1)" \
            within "$sent" $((t0 - 5)) $((t1 + 5))
    fi
    id=$(rows "case split")
    if [ -n "$id" ]; then
        local idx
        idx=$(piler_sql "SELECT \`to\` FROM sph_index WHERE id=$id")
        # piler's own limit (src/message.c): a second report of a stored
        # Message-ID adds rcpt rows, not search-index terms
        e2e_check "$path split: piler's search index lacks the second transaction's Bcc recipient (documented limit)" \
            bash -c "! grep -q zed <<<'$idx'"
    fi
}

# piler's SMTP path: Postfix is idle, so piler-smtp has written every
# report into piler's work directory; piler removes each once stored
empty=0
for i in $(seq 1 240); do
    if [ -z "$(find "$work/piler-smtp/work" -type f | head -n 1)" ]; then
        empty=$((empty + 1))
        [ "$empty" -ge 3 ] && break
    else
        empty=0
    fi
    sleep 0.5
done
judge smtp
piler_stop

# pilerimport: a fresh database, the Maildir reports in delivery order
piler_start "$work/piler-import" "$HOSTID" || e2e_fail "the second piler database did not start"
for f in "${reports[@]}"; do
    piler_import "$f" || e2e_bad "pilerimport $(basename "$f") failed"
done
judge import
piler_stop

short() {
    local n
    n=$(tr ',' '\n' <<<"$1" | grep -c .)
    if [ "$n" -gt 4 ]; then echo "$n: ${1%%,*} .. ${1##*,}"; else echo "$1"; fi
}
echo "# what piler stored (topology: $TOPOLOGY)"
printf '# %-7s %-45s %s\n' case "piler-smtp" "pilerimport"
for c in "${CASES[@]}"; do
    printf '# %-7s %-45s %s\n' "$c" "$(short "${TABLE[smtp.$c]}")" "$(short "${TABLE[import.$c]}")"
done
rm -rf "$work"
e2e_finish
