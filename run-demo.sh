#!/bin/bash
# The milter at work, on a fresh Debian 12, as root: installs what it
# needs, builds, starts a private Postfix on 127.0.0.1 with the filter in
# front using its own configuration (the shipped one names no journal
# mailbox: an administrator sets it), sends a handful
# of real messages and shows what each recipient and the journal got:
# signatures kept and stripped, a genuine bounce (made by Postfix itself)
# skipped and a forged one journaled, then the durable statistics
# (--stats).  Everything it starts, it stops.
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
cd "$top"
scripts/install-deps.sh >/dev/null
autoreconf -fi >/dev/null 2>&1
mkdir -p _build
(cd _build && { [ -f Makefile ] || ../configure -q; } && make -j"$(nproc)" >/dev/null)
export abs_top_srcdir=$top SJM_BIN=$top/_build/smime-journal-milter
corpus=${SJM_CORPUS:-$top/../shared/corpus/thunderbird}
[ -d "$corpus" ] || { echo "corpus not found: $corpus (set SJM_CORPUS)" >&2; exit 1; }
samples=$(mktemp -d)
set +e
. tests/lib/e2e.sh

# Sample messages: real Thunderbird S/MIME, and a few made here.
cp tests/data/plain.eml "$samples/plain.eml"
# A forged bounce: the null sender and a bounce's Subject, but none of a
# delivery status notification's structure (RFC 3464).  Anyone can send
# this to slip mail past the journal; the filter journals it.
cat >"$samples/forged-bounce.eml" <<'MSG'
From: MAILER-DAEMON@example.com
To: alice@example.com
Subject: Undelivered Mail Returned to Sender
Content-Type: text/plain

Your message could not be delivered.  (Not really: this is a forged
bounce carrying a message past the journal.)
MSG
cat >"$samples/folder-post.eml" <<'MSG'
From: alice@example.com
To: public-sales@example.com
Subject: Price list for the sales folder
Content-Type: text/plain

Posted to the public folder only.
MSG

# The demo's own configuration: the shipped file with its journal mailbox
# set, as an administrator would.  The private Postfix delivers every
# address locally, so the reserved example.com domain is fine here (-n
# warns about it, and the filter logs that warning).
# The statistics go to a directory of the demo's, writable by the user the
# filter runs as here; the key is the one the packages create at install
# (journal marks bind body and recipients, and prove bounces).
chmod 755 "$samples"
mkdir -m 0755 "$samples/stats"
chown nobody "$samples/stats"
openssl rand -hex 32 >"$samples/mark.key"
chmod 644 "$samples/mark.key"
sed -e 's/^#recipient =.*/recipient = journal@archive.example.com/' \
    -e "s|^stats_dir =.*|stats_dir = $samples/stats|" \
    -e "s|^mark_key_file = .*|mark_key_file = $samples/mark.key|" etc/smime-journal-milter.conf >"$samples/demo.conf"
echo "== starting a private Postfix on 127.0.0.1 with smime-journal-milter in front"
echo "   (config: etc/smime-journal-milter.conf with recipient = journal@archive.example.com;"
echo "    strip_for = *@legacy.example.com, public_folders = public-*@example.com)"
e2e_start "$samples/demo.conf"
echo "   Postfix on port $E2E_PORT, instance in $E2E_DIR"
echo

refused=0
send() {   # label file from rcpt...
    local label=$1 file=$2 from=$3 reply
    shift 3
    printf '%-46s ' "$label"
    reply=$(e2e_send "$file" "$from" "$@" | tail -n 1)
    echo "$reply"
    # every sample is meant to get through; a refusal means the demo broke
    [ "$reply" = accepted ] || refused=$((refused + 1))
}
send "plain text -> bob, carol" "$samples/plain.eml" alice@example.com bob@example.com carol@legacy.example.com
send "detached-signed (Thunderbird) -> bob" "$corpus/alice.dsig.SHA256.multipart.eml" alice@example.com bob@example.com
send "detached-signed (Thunderbird) -> carol" "$corpus/alice.dsig.SHA256.multipart.eml" alice@example.com carol@legacy.example.com
send "opaque-signed (Thunderbird) -> carol" "$corpus/alice.sig.SHA256.opaque.eml" alice@example.com carol@legacy.example.com
send "encrypted (Thunderbird) -> carol" "$corpus/alice.env.eml" alice@example.com carol@legacy.example.com
send "public-folder post -> public-sales" "$samples/folder-post.eml" alice@example.com public-sales@example.com
# A genuine bounce: alice writes to a full mailbox, Postfix bounces it
# (Postfix's own bounces pass no milter), and that bounce then arrives
# over SMTP as a remote MTA's would.
e2e_mailbox_full full@example.com
chown -R nobody:nogroup "$E2E_DIR/mail"
send "plain text -> full@example.com (mailbox full)" "$samples/plain.eml" alice@example.com full@example.com
e2e_wait_idle 60
genuine=$(grep -l -i '^Content-Type: multipart/report' $(e2e_messages alice@example.com) /dev/null | head -n 1)
if [ -n "$genuine" ]; then
    e2e_strip_trace "$genuine" >"$samples/genuine-bounce.eml"
    rm -f "$genuine"
    send "genuine bounce (RFC 3464, by Postfix) -> alice" "$samples/genuine-bounce.eml" "" alice@example.com
else
    echo "run-demo.sh: Postfix made no bounce for the full mailbox" >&2
    refused=$((refused + 1))
fi
send "forged bounce (MAIL FROM:<>, no DSN) -> alice" "$samples/forged-bounce.eml" "" alice@example.com
e2e_wait_idle 60
echo

describe() {   # one line per delivered message
    local f=$1 subj ct sig
    subj=$(grep -m1 -i '^Subject:' "$f" | cut -c10- | cut -c1-40)
    ct=$(awk 'BEGIN{IGNORECASE=1} /^$/{exit} /^Content-Type:/{sub(/^Content-Type: */,""); print; exit}' "$f" | cut -d';' -f1)
    if grep -qi 'application/\(x-\)\?pkcs7-signature' "$f"; then sig="signature kept (detached)"
    elif grep -qi 'smime-type=signed-data' "$f"; then sig="signature kept (opaque)"
    elif grep -qi 'smime-type=enveloped-data' "$f"; then sig="encrypted, untouched"
    else sig="no signature"; fi
    printf '    %-40s %-26s %s\n' "$subj" "$ct" "$sig"
}
for who in bob@example.com carol@legacy.example.com alice@example.com public-sales@example.com journal@archive.example.com; do
    echo "== $who received $(e2e_count "$who") message(s)"
    for f in $(e2e_messages "$who"); do describe "$f"; done
done
echo
echo "== the filter's log (one line per message, with Postfix's queue id)"
grep -E ': [0-9A-F]+: from=' "$(e2e_filter_log)" | sed 's/^smime-journal-milter: /    /'
echo
echo "== the same decision without Postfix: --inspect on the opaque-signed message for carol"
"$SJM_BIN" -c "$samples/demo.conf" --inspect "$corpus/alice.sig.SHA256.opaque.eml" \
    --from alice@example.com --rcpt carol@legacy.example.com --output /dev/null 2>&1 | sed 's/^/    /'
echo
echo "== the bounces: the genuine one is skipped, the forged one journaled (and says why)"
grep -E ': [0-9A-F]+: from=<> ' "$(e2e_filter_log)" | sed 's/^smime-journal-milter: /    /; s/ time=.*//'
echo
echo "== stopping the filter; its durable journal statistics (smime-journal-milter --stats)"
e2e_stop_filter
"$SJM_BIN" -c "$samples/demo.conf" --stats | sed 's/^/    /'
rm -rf "$samples"
echo
echo "== stopping Postfix"
if [ "$refused" -gt 0 ]; then
    echo "run-demo.sh: $refused sample(s) refused; every one should have been accepted" >&2
    exit 1
fi
