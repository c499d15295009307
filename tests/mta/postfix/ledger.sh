#!/bin/bash
# ledger.sh - the journal ledger through a real Postfix: a burst of
# journaled and skipped mail, every entry durable before the message was
# accepted, and --audit proves the journal Maildir complete.  Then each
# damage, done to a copy of the ledger and the archive, is reported as
# exactly that and nothing else: a copy deleted, a copy altered by one
# byte, a message planted, the ledger truncated, an entry rewritten, a
# checkpoint forged.  Last, a ledger that cannot be written refuses mail
# (451) instead of accepting it unrecorded.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/journal.sh"

work=$(mktemp -d /tmp/sjm-ledger.XXXXXX)
conf=$work/filter.conf
mkdir -p "$work/ledger"
chown nobody "$work/ledger"
"$SJM_BIN" --ledger-keygen "$work/ledger.key" >/dev/null || e2e_fail "--ledger-keygen"
openssl rand -hex 32 >"$work/mark.key"
# The filter runs as nobody here; the package gives the key to its group.
chmod 755 "$work"
chmod 644 "$work/ledger.key" "$work/mark.key"
cat >"$conf" <<CF
[milter]
trusted_networks = 127.0.0.0/8
[journal]
recipient = $JOURNAL
local_domains = corp.example
public_folders = pf-*@corp.example
mark_key_file = $work/mark.key
[ledger]
dir = $work/ledger
key_file = $work/ledger.key
origin = e2e.test/ledger
checkpoint_entries = 7
CF
vkey=$("$SJM_BIN" -c "$conf" --ledger-verifier-key) || e2e_fail "--ledger-verifier-key"
e2e_start "$conf"

# ---- the burst: 30 journaled (to a person), 10 skipped (a public folder only)
python3 "$E2E_LIB/burst.py" 127.0.0.1 "$E2E_PORT" jr 30 bob@corp.example --conc 5 \
    >"$work/burst1.out" 2>&1 || e2e_bad "burst jr: $(tail -1 "$work/burst1.out")"
python3 "$E2E_LIB/burst.py" 127.0.0.1 "$E2E_PORT" pf 10 pf-sales@corp.example --conc 5 \
    >"$work/burst2.out" 2>&1 || e2e_bad "burst pf: $(tail -1 "$work/burst2.out")"
# One message to the journal mailbox itself: not journaled (journal-mailbox),
# yet in the archive, accounted for by its entry's envelope.
mkmsg "$work/direct.eml" direct alice@corp.example "$JOURNAL"
e2e_send "$work/direct.eml" alice@corp.example "$JOURNAL" >"$work/direct.out" 2>&1 ||
    e2e_bad "sending to the journal mailbox: $(cat "$work/direct.out")"
e2e_wait_idle 120 || e2e_bad "the queue did not drain"
# The stop signs the last checkpoint; keep a copy where "the host" cannot reach.
e2e_stop_filter
cp "$work/ledger/checkpoint" "$work/trusted"
archive=$(e2e_maildir "$JOURNAL")
e2e_check "31 messages in the journal mailbox (30 copies, 1 addressed to it)" [ "$(e2e_count "$JOURNAL")" -eq 31 ]

audit() { # LEDGER MAILDIR [more options]: json on stdout, status in $rc
    local l=$1 m=$2
    shift 2
    "$SJM_BIN" --audit --ledger "$l" --verifier-key "$vkey" --trusted-checkpoint "$work/trusted" \
        --maildir "$m" "$@" 2>"$work/audit.err"
}
kinds() { # the sorted discrepancy kinds of a JSON report
    python3 -c 'import json,sys; r=json.load(sys.stdin); print(" ".join(sorted(d["kind"] for d in r["discrepancies"])))'
}
field() { python3 -c "import json,sys; r=json.load(sys.stdin); print(r$1)"; }

out=$(audit "$work/ledger" "$archive" --json)
rc=$?
if [ "$rc" -eq 0 ] && [ "$(echo "$out" | field '["result"]')" = complete ]; then
    e2e_ok "the audit finds the archive complete"
else
    e2e_bad "clean audit: status $rc: $out $(cat "$work/audit.err")"
fi
e2e_check "41 entries: 30 journaled, 10 skipped as public-folder, 1 addressed to the journal" \
    [ "$(echo "$out" | field '["entries"], r["journaled"], r["skipped"].get("skipped:public-folder"), r["skipped"].get("skipped:journal-mailbox"), r["addressed_to_journal"]')" = "41 30 10 1 1" ]
text=$(audit "$work/ledger" "$archive")
case $text in
*"not journaled: 10 entries skipped:public-folder"*"complete: 41 entries, 30 journaled"*)
    e2e_ok "the text report says complete" ;;
*) e2e_bad "text report: $text" ;;
esac

# Every message the MTA accepted has its entry: Postfix's queue ids.
grep -o '[0-9A-F]\{6,\}: message-id=<\(jr\|pf\)-[0-9]*@test.example>' "$(e2e_postfix_log)" |
    cut -d: -f1 | sort -u >"$work/qids.postfix"
cat "$work/ledger"/ledger-*.sjl | tr -c '[:print:]\n' '\n' | sed -n 's/^queue-id //p' | sort -u >"$work/qids.ledger"
missing=$(comm -23 "$work/qids.postfix" "$work/qids.ledger" | paste -sd, -)
if [ -z "$missing" ] && [ "$(wc -l <"$work/qids.postfix")" -eq 40 ]; then
    e2e_ok "every queue id Postfix accepted is in the ledger (40 ids)"
else
    e2e_bad "queue ids Postfix has and the ledger lacks: '$missing' ($(wc -l <"$work/qids.postfix") ids)"
fi

# --find: journaled, skipped and unknown
f=$("$SJM_BIN" --audit --ledger "$work/ledger" --verifier-key "$vkey" --maildir "$archive" \
    --find '<pf-3@test.example>' 2>/dev/null)
case $f in
*"journal=skipped reason=public-folder"*) e2e_ok "--find says why a message was not journaled" ;;
*) e2e_bad "--find skipped: $f" ;;
esac
f=$("$SJM_BIN" --audit --ledger "$work/ledger" --verifier-key "$vkey" --maildir "$archive" \
    --find '<jr-3@test.example>' 2>/dev/null)
case $f in
*"journal=added mailboxes=$JOURNAL archive-copies=1"*) e2e_ok "--find finds the journaled copy" ;;
*) e2e_bad "--find journaled: $f" ;;
esac
"$SJM_BIN" --audit --ledger "$work/ledger" --verifier-key "$vkey" --find '<nope@test.example>' \
    >"$work/find.out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q 'not in the ledger' "$work/find.out"; then
    e2e_ok "--find of an unknown message says so, status 1"
else
    e2e_bad "--find unknown: status $rc: $(cat "$work/find.out")"
fi

# ---- each damage on fresh copies
damage() { # NAME: copies ledger and archive into $work/NAME/{ledger,archive}
    rm -rf "${work:?}/$1"
    mkdir -p "$work/$1"
    cp -a "$work/ledger" "$work/$1/ledger"
    cp -a "$archive" "$work/$1/archive"
    L=$work/$1/ledger
    A=$work/$1/archive
}
expect() { # WHAT STATUS KINDS
    local out rc got
    out=$(audit "$L" "$A" --json)
    rc=$?
    got=$(echo "$out" | kinds 2>/dev/null)
    if [ "$rc" -eq "$2" ] && [ "$got" = "$3" ]; then
        e2e_ok "$1: status $rc, reported as: $got"
    else
        e2e_bad "$1: status $rc (want $2), kinds '$got' (want '$3'): $out $(cat "$work/audit.err")"
    fi
}

damage deleted
rm -f "$(file_id "$JOURNAL" jr-7 | sed "s|$archive|$A|")"
expect "a deleted journal copy" 1 "missing"
out=$(audit "$L" "$A")
case $out in
*"missing: queue id "*"from <alice@corp.example> to bob@corp.example, Message-ID <jr-7@test.example>: no copy for $JOURNAL"*)
    e2e_ok "the missing copy is named with queue id, sender and recipients" ;;
*) e2e_bad "missing line: $out" ;;
esac

damage altered
victim=$(file_id "$JOURNAL" jr-11 | sed "s|$archive|$A|")
python3 - "$victim" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
i = b.index(b"\n\n") + 2 + 10     # a byte of the body
b[i] = ord("#") if b[i] != ord("#") else ord("%")
open(p, "wb").write(bytes(b))
PY
expect "a journal copy altered by one byte" 1 "altered"

damage planted
mkmsg "$A/new/1.planted.eml" planted mallory@corp.example bob@corp.example
expect "a planted message" 1 "no-entry"

damage truncated
seg=$(ls "$L"/ledger-*.sjl | tail -1)
python3 - "$seg" <<'PY'
import sys
p = sys.argv[1]; b = open(p, "rb").read()
offs, i = [], 0
while i < len(b):
    offs.append(i)
    i += 4 + int.from_bytes(b[i:i + 4], "big") + 32
open(p, "wb").write(b[:offs[-3]])   # the last three entries gone
PY
expect "the ledger truncated by three entries" 2 "ledger-truncated"

damage rewritten
seg=$(ls "$L"/ledger-*.sjl | head -1)
python3 - "$seg" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
i = b.index(b"\nsender alice@corp.example\n") + len("\nsender ")
b[i] = ord("m")   # malice@corp.example: the entry now names another sender
open(p, "wb").write(bytes(b))
PY
expect "an entry rewritten" 2 "entry-rewritten"

damage forged
cp_file=$(ls "$L"/checkpoints/* | sed -n 2p)
python3 - "$cp_file" <<'PY'
import base64, sys
p = sys.argv[1]; lines = open(p).read().split("\n")
lines[2] = base64.b64encode(bytes(32)).decode()   # another root, the old signature
open(p, "w").write("\n".join(lines))
PY
expect "a forged checkpoint" 2 "checkpoint-forged"

# ---- a ledger that cannot be written refuses mail: its directory on a
# file system with no room left.
mkdir -p "$work/full"
if mount -t tmpfs -o size=256k tmpfs "$work/full" 2>/dev/null; then
    # (the test's status survives the umount for e2e_cleanup to see)
    trap 's=$?; umount "$work/full" 2>/dev/null; (exit $s); e2e_cleanup' EXIT
    cp -a "$work/ledger" "$work/full/ledger"
    sed "s|^dir = .*|dir = $work/full/ledger|" "$conf" >"$work/full.conf"
    e2e_start_filter "$work/full.conf"
    dd if=/dev/zero of="$work/full/fill" bs=4k 2>/dev/null
    # The segment's last page may still hold an entry or two: send until
    # the ledger is out of room.  Each message is accepted with its entry
    # or refused without one.
    accepted=0 refused=0
    for i in $(seq 1 20); do
        mkmsg "$work/nospace$i.eml" "nospace$i" alice@corp.example bob@corp.example
        if e2e_send "$work/nospace$i.eml" alice@corp.example bob@corp.example >"$work/nospace.out" 2>&1; then
            accepted=$((accepted + 1))
        elif grep -q "451" "$work/nospace.out"; then
            refused=$i
            break
        else
            e2e_bad "full disk: neither accepted nor 451: $(cat "$work/nospace.out")"
            break
        fi
    done
    e2e_check "a full ledger disk tempfails the message (451) after $accepted accepted" [ "$refused" -gt 0 ]
    grep -q 'ledger: cannot write 1 entry.*No space left on device' "$(e2e_filter_log)" &&
        grep -q 'action=tempfail reply="451 4.3.0 Cannot record the message in the journal ledger' "$(e2e_filter_log)" &&
        e2e_ok "the filter logs why" || e2e_bad "no ledger error in the log"
    rm -f "$work/full/fill"
    e2e_send "$work/nospace$refused.eml" alice@corp.example bob@corp.example >"$work/nospace2.out" 2>&1 &&
        e2e_ok "with room again the refused message is accepted on retry" ||
        e2e_bad "after freeing: $(cat "$work/nospace2.out")"
    e2e_wait_idle 60
    e2e_stop_filter
    out=$("$SJM_BIN" --audit --ledger "$work/full/ledger" --verifier-key "$vkey" \
        --trusted-checkpoint "$work/trusted" --maildir "$archive" --json 2>/dev/null)
    want=$((41 + accepted + 1))
    e2e_check "after the full disk the audit is complete, with $want entries and their copies" \
        [ "$(echo "$out" | field '["result"], r["entries"], r["archive_messages"]')" = "complete $want $((want - 10))" ]
    umount "$work/full"
    trap e2e_cleanup EXIT
else
    e2e_bad "cannot mount a small tmpfs for the full-disk case (not root?)"
fi

# ---- report mode: the archive holds envelope journal reports; the audit
# matches the original each carries (its Message-ID and body digest).
corpus=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
mkdir -p "$work/rledger"
chown nobody "$work/rledger"
sed "s|^dir = .*|dir = $work/rledger|; s|^\[journal\]|[journal]\nmode = report|; s|^\[milter\]|[milter]\nreinject = 127.0.0.1:$E2E_REINJECT_PORT|" \
    "$conf" >"$work/report.conf"
printf '[signatures]\naction = strip\n' >>"$work/report.conf"
e2e_start_filter "$work/report.conf"
cp "$work/rledger/checkpoint" "$work/rtrusted" 2>/dev/null
rarchive=$work/rarchive
for i in 1 2 3; do
    mkmsg "$work/rep$i.eml" "rep$i" alice@corp.example carol@corp.example
    e2e_send "$work/rep$i.eml" alice@corp.example carol@corp.example >/dev/null 2>&1 || e2e_bad "sending rep$i"
done
signed=$corpus/alice.dsig.SHA256.multipart.eml
[ -f "$signed" ] && { e2e_send "$signed" alice@corp.example carol@corp.example >/dev/null 2>&1 || e2e_bad "sending the signed one"; }
e2e_wait_idle 60
e2e_stop_filter
n_reports=$(grep -l '^X-MS-Journal-Report:' $(e2e_messages "$JOURNAL") 2>/dev/null | wc -l)
mkdir -p "$rarchive/new"
grep -l '^X-MS-Journal-Report:' $(e2e_messages "$JOURNAL") | xargs -r cp -t "$rarchive/new"
out=$("$SJM_BIN" --audit --ledger "$work/rledger" --verifier-key "$vkey" --trusted-checkpoint "$work/rtrusted" \
    --maildir "$rarchive" --json 2>"$work/audit.err")
e2e_check "report mode: the audit matches $n_reports journal reports to their entries by the originals" \
    [ "$(echo "$out" | field '["result"], r["journaled"], r["archive_messages"]') $n_reports" = "complete 4 4 4" ]
one=$(grep -l '^X-MS-Journal-Report:' "$rarchive"/new/* | head -1)
sed -i '$ s/--$/--\n/; 0,/^This is case/ s/^This is case/This was case/' "$one"
out=$("$SJM_BIN" --audit --ledger "$work/rledger" --verifier-key "$vkey" --trusted-checkpoint "$work/rtrusted" \
    --maildir "$rarchive" --json 2>/dev/null)
e2e_check "report mode: an original altered inside its report is reported altered" \
    [ "$(echo "$out" | kinds)" = altered ]

rm -rf "$work"
e2e_finish
