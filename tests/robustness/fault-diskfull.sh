#!/bin/bash
# fault-diskfull.sh - the filter's spool directory (its TMPDIR) on a tiny tmpfs
# that is full, behind a real Postfix.  Bodies over the in-memory limit
# (1 MiB) must spill to that disk and cannot: those messages tempfail
# (on_error = tempfail), while small signed messages are still stripped
# and flow.  Then space returns and the retrying client gets the large
# ones through.  Nothing is accepted unjournaled, nothing is lost.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/fault.sh"
corpus=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$corpus" ] || e2e_fail "corpus not found: $corpus (set SJM_CORPUS)"
small=$corpus/alice.dsig.SHA256.multipart.eml
[ -f "$small" ] || e2e_fail "no S/MIME corpus at $corpus"

work=$(mktemp -d /tmp/sjm-fault-disk.XXXXXX)
chmod 755 "$work"
spool=$work/spool
mkdir -p "$spool"
if ! mount -t tmpfs -o size=256k,mode=1777 tmpfs "$spool" 2>"$work/mount.err"; then
    echo "SKIP: cannot mount a tmpfs here ($(cat "$work/mount.err")); the full-disk case did not run"
    rm -rf "$work"
    exit 77
fi
# Fill it: not a byte left for the filter.
dd if=/dev/zero of="$spool/filler" bs=4k 2>/dev/null
echo "# spool tmpfs: $(df -k --output=size,avail "$spool" | tail -n 1 | awk '{print $1 " KB, " $2 " KB free"}')"

# A 2 MB signed message (a text part and a random attachment).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/k.pem" -out "$work/c.pem" -days 2 \
    -subj "/CN=fault/emailAddress=alice@corp.example" 2>/dev/null
{
    printf 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nbig\r\n'
    printf -- '--b1\r\nContent-Type: application/octet-stream; name="d.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    head -c 1500000 /dev/urandom | base64 -w 76 | sed 's/$/\r/'
    printf -- '--b1--\r\n'
} >"$work/big.ent"
openssl cms -sign -in "$work/big.ent" -signer "$work/c.pem" -inkey "$work/k.pem" -from alice@corp.example \
    -to $RCPT -subject big -crlfeol -out "$work/big.eml" || e2e_fail "openssl could not sign"

cat >"$work/filter.conf" <<CF
[milter]
on_error = tempfail
[signatures]
action = strip
[journal]
recipient = $JOURNAL
CF
E2E_FILTER_WRAPPER="env TMPDIR=$spool"
e2e_start "$work/filter.conf"
trap 'st=$?; umount -l "$spool" 2>/dev/null; rm -rf "$work"; (exit $st); e2e_cleanup' EXIT

fault_burst "$work/big.out" big 4 --conc 4 --template "$work/big.eml" --pause 1 --retry-for 120
big_pid=$FAULT_BURST_PID
python3 "$FAULT_LIB/burst.py" 127.0.0.1 "$E2E_PORT" small 20 --conc 2 --template "$small" $RCPT >"$work/small.out" 2>&1
small_status=$?
# Until every large message was refused at least once.
for _ in $(seq 1 600); do
    [ "$(grep -o '^big-[0-9]*: attempt [0-9]* sent: 4' "$work/big.out" | cut -d: -f1 | sort -u | wc -l)" -ge 4 ] && break
    sleep 0.1
done
e2e_check "small signed messages flow while the spool disk is full" test "$small_status" -eq 0
big_refused=$(grep -o '^big-[0-9]*: attempt [0-9]* sent: 451 ' "$work/big.out" | cut -d: -f1 | sort -u | wc -l)
e2e_check "every large message is refused with 451 at end of data while the disk is full" \
    test "$big_refused" -eq 4
e2e_check "no large message was delivered while the disk was full" \
    test "$(python3 "$FAULT_LIB/reconcile.py" "$(e2e_maildir $RCPT)" "$(e2e_maildir $JOURNAL)" big 4 0 | grep -o 'delivered=[0-9]*')" = delivered=0
grep -m 1 'attempt [0-9]* sent: 4' "$work/big.out" | sed 's/^/# client saw: /'
grep -m 1 'action=tempfail' "$(e2e_filter_log)" | sed 's/^/# filter logged: /'
e2e_check "the filter logged the tempfail as an internal error" grep -q 'signature=error .*action=tempfail' "$(e2e_filter_log)"
grep -m 1 'cannot store the message body' "$(e2e_filter_log)" | sed 's/^/# filter logged: /'
e2e_check "... and why: no space left on the spool device" \
    grep -q 'cannot store the message body: No space left on device' "$(e2e_filter_log)"

# Space returns.
rm -f "$spool/filler"
mount -o remount,size=64m "$spool"
wait "$big_pid"
e2e_check "large messages delivered on retry once space returned" test $? -eq 0
e2e_wait_idle 120 || e2e_fail "delivery did not finish"
fault_reconcile "small messages" small 20 "$work/small.out"
fault_reconcile "large messages" big 4 "$work/big.out"
e2e_check "the large ones were stripped on retry" \
    test "$(grep -c 'signature=stripped' "$(e2e_filter_log)")" -ge 24
e2e_check "nothing left in the queue" test "$(e2e_queue_count)" -eq 0
e2e_finish
