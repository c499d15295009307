#!/bin/bash
# journal-routing.sh - journaling through real Postfix: which messages reach which
# journal mailbox, how often, and in what form (smime-journal-milter.conf(5),
# JOURNALING DECISIONS).  The client (127.0.0.1) is trusted here;
# journal-untrusted.sh covers strangers.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/journal.sh"
corpus=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$corpus" ] || e2e_fail "corpus not found: $corpus (set SJM_CORPUS)"

work=$(mktemp -d /tmp/sjm-jroute.XXXXXX)
conf=$work/filter.conf
cat >"$conf" <<CF
[milter]
trusted_networks = 127.0.0.0/8
[journal]
recipient = $JOURNAL
sites = corp.example=j-corp@archive.example; *.eu.corp.example=j-eu@archive.example
local_domains = corp.example, *.corp.example
public_folders = pf-*@corp.example
system_senders = monitor@corp.example
system_hosts = 127.0.0.1
accept_unkeyed_marks = true
mark_key_file = $work/mark.key
CF
openssl rand -hex 32 >"$work/mark.key"
chmod 755 "$work"
chmod 644 "$work/mark.key"
e2e_start "$conf"

send() { # ID FROM RCPT... (message file already written to $work/ID.eml)
    local id=$1 from=$2
    shift 2
    e2e_send "$work/$id.eml" "$from" "$@" >"$work/$id.out" || e2e_bad "sending $id: $(cat "$work/$id.out")"
}

# ---- send everything, then look at the Maildirs once
mkmsg "$work/ip.eml" ip alice@corp.example "bob@corp.example, ext@other.example"
send ip alice@corp.example bob@corp.example ext@other.example

mkmsg "$work/bcc.eml" bcc ext2@other.example "someone@partner.example"
send bcc ext2@other.example carol@partner.example

# A bounce of a message this organisation journaled (its mark earns the
# skip; journal-evasion.sh has the fakes), and a read report: a person's
# client sends it, so it is journaled unless skip_read_reports says not.
mkmsg "$work/lunch.eml" lunch bob@corp.example nobody@other.example
mark_original "$conf" "$work/lunch.eml" "$work/lunch.marked" || e2e_fail "cannot mark the original"
mkdsn "$work/bounce.eml" bounce genuine "$work/lunch.marked"
send bounce '' bob@corp.example

mkmdn "$work/mdn.eml" mdn bob@corp.example alice@other.example
send mdn bob@corp.example alice@other.example

mkmsg "$work/pf.eml" pf ext@other.example pf-sales@corp.example
send pf ext@other.example pf-sales@corp.example

mkmsg "$work/pfperson.eml" pfperson ext@other.example "pf-sales@corp.example, bob@corp.example"
send pfperson ext@other.example pf-sales@corp.example bob@corp.example

mkmsg "$work/sys.eml" sys monitor@corp.example ops@corp.example
send sys monitor@corp.example ops@corp.example

mkmsg "$work/eu.eml" eu x@other.example dave@paris.eu.corp.example
send eu x@other.example dave@paris.eu.corp.example

mkmsg "$work/twosites.eml" twosites dave@paris.eu.corp.example bob@corp.example
send twosites dave@paris.eu.corp.example bob@corp.example

mkmsg "$work/nosite.eml" nosite x@other.example y@else.example
send nosite x@other.example y@else.example

mkmsg "$work/upstream.eml" upstream alice@corp.example bob@corp.example \
    'X-SMIME-Journal-Milter-Journaled: mx-upstream.corp.example'
send upstream alice@corp.example bob@corp.example

mkmsg "$work/direct.eml" direct alice@corp.example $JOURNAL
send direct alice@corp.example $JOURNAL

mkmsg "$work/withj.eml" withj x@other.example "bob@corp.example, $JOURNAL"
send withj x@other.example bob@corp.example $JOURNAL

# Local submission (sendmail(1) -> pickup -> non_smtpd_milters).
mkmsg "$work/local.eml" local alice@corp.example ext@other.example
e2e_sendmail "$work/local.eml" alice@corp.example ext@other.example || e2e_bad "sendmail(1) submission failed"

# Encrypted S/MIME from Thunderbird, with a Message-ID put on top so the
# case can be found; everything below it is the corpus file byte for byte.
{ printf 'Message-ID: <enc@test.example>\r\n'; cat "$corpus/alice.env.eml"; } >"$work/enc.eml"
send enc alice@corp.example bob2@corp.example

e2e_wait_idle || e2e_fail "delivery did not finish"

# ---- interpersonal, local and external recipients
expect_count "interpersonal to local+external: organisation journal exactly once" $JOURNAL ip 1
expect_count "interpersonal: sender's site journal (corp.example) exactly once" j-corp@archive.example ip 1
expect_count "interpersonal: no copy for an unrelated site" j-eu@archive.example ip 0
expect_count "interpersonal: local recipient delivered once" bob@corp.example ip 1
expect_count "interpersonal: external recipient delivered once" ext@other.example ip 1
expect_decision "interpersonal logged as added to both journals" ip "added:$JOURNAL,j-corp@archive.example"
f=$(file_id bob@corp.example ip)
e2e_check "delivered copy carries exactly one journal mark" test -n "$f" -a "$(marks "${f:-/dev/null}")" -eq 1

# ---- Bcc
expect_count "Bcc-only recipient's message is journaled" $JOURNAL bcc 1
expect_count "Bcc recipient receives it" carol@partner.example bcc 1

# ---- system traffic and public folders
expect_count "bounce (null sender) is not journaled" $JOURNAL bounce 0
expect_count "bounce is delivered" bob@corp.example bounce 1
expect_decision "bounce logged as skipped:system:dsn" bounce "skipped:system:dsn"
expect_count "read report (MDN) is journaled: interpersonal by default" $JOURNAL mdn 1
expect_count "read report reaches its sender's site journal" j-corp@archive.example mdn 1
expect_decision "read report logged as added" mdn "added:journal@archive.example,j-corp@archive.example"
expect_count "system sender is not journaled" $JOURNAL sys 0
expect_decision "system sender logged as skipped:system:sender" sys "skipped:system:sender"
expect_count "post only to a public folder is not journaled" $JOURNAL pf 0
expect_count "public folder receives the post" pf-sales@corp.example pf 1
expect_decision "public-folder post logged as skipped:public-folder" pf "skipped:public-folder"
expect_count "post to a folder and a person is journaled" $JOURNAL pfperson 1
expect_count "folder+person also reaches the corp.example site journal" j-corp@archive.example pfperson 1

# ---- sites
expect_count "recipient in *.eu.corp.example: organisation journal" $JOURNAL eu 1
expect_count "recipient in *.eu.corp.example: eu site journal" j-eu@archive.example eu 1
expect_count "recipient in *.eu.corp.example: not the corp.example site" j-corp@archive.example eu 0
expect_count "message touching two sites: eu journal once" j-eu@archive.example twosites 1
expect_count "message touching two sites: corp journal once" j-corp@archive.example twosites 1
expect_count "message touching two sites: organisation journal once" $JOURNAL twosites 1
expect_count "no site touched: organisation journal only" $JOURNAL nosite 1
expect_count "no site touched: no corp copy" j-corp@archive.example nosite 0
expect_count "no site touched: no eu copy" j-eu@archive.example nosite 0

# ---- local submission
expect_count "locally submitted message (sendmail(1)) journaled once" $JOURNAL local 1
expect_count "locally submitted message reaches the corp site journal once" j-corp@archive.example local 1
expect_count "locally submitted message delivered" ext@other.example local 1

# ---- multi-hop and the journal mailbox itself
expect_count "unkeyed mark from a trusted upstream host (accept_unkeyed_marks): not journaled again" $JOURNAL upstream 0
f=$(file_id bob@corp.example upstream)
e2e_check "trusted upstream mark is kept" test -n "$f" -a "$(marks "${f:-/dev/null}")" -eq 1
expect_decision "upstream logged as skipped:journaled-upstream" upstream "skipped:journaled-upstream"
expect_count "mail addressed only to the journal arrives once, no copy added" $JOURNAL direct 1
expect_decision "journal-only mail logged as skipped:journal-mailbox" direct "skipped:journal-mailbox"
expect_count "journal addressed beside a person (trusted client): journal once, not twice" $JOURNAL withj 1
expect_count "journal addressed beside a person: the person gets it" bob@corp.example withj 1
f=$(file_id bob@corp.example withj)
e2e_check "... and the person's copy is marked for downstream hops" test -n "$f" -a "$(marks "${f:-/dev/null}")" -eq 1

# ---- encrypted: journaled as delivered, never decrypted
jf=$(file_id $JOURNAL enc)
df=$(file_id bob2@corp.example enc)
e2e_check "encrypted message reaches the journal" test -n "$jf"
e2e_check "encrypted message is delivered" test -n "$df"
if [ -n "$jf" ] && [ -n "$df" ]; then
    e2e_check "journal copy of the encrypted message byte-identical to the delivered one" \
        cmp -s <(e2e_strip_trace "$jf") <(e2e_strip_trace "$df")
    body_of() { awk 'body { print } /^$/ { body = 1 }' "$1"; }
    e2e_check "journal copy's body is the sender's ciphertext, byte for byte" \
        cmp -s <(body_of "$jf") <(e2e_lf "$work/enc.eml" | body_of /dev/stdin)
fi

# ---- scopes, by reloading the same filter
scope_conf() { # SCOPE
    cat >"$work/scope.conf" <<CF
[milter]
trusted_networks = 127.0.0.0/8
[journal]
recipient = $JOURNAL
scope = $1
local_domains = corp.example, *.corp.example
CF
    : >"$work/reload.mark"
    local before
    before=$(grep -c "reloaded configuration" "$(e2e_filter_log)")
    e2e_reload "$work/scope.conf"
    for _ in $(seq 50); do
        [ "$(grep -c "reloaded configuration" "$(e2e_filter_log)")" -gt "$before" ] && return 0
        sleep 0.1
    done
    e2e_fail "the filter did not reload for scope=$1"
}

for scope in internal external; do
    scope_conf $scope
    mkmsg "$work/$scope-in.eml" "$scope-in" alice@corp.example bob@paris.eu.corp.example
    send "$scope-in" alice@corp.example bob@paris.eu.corp.example
    mkmsg "$work/$scope-out.eml" "$scope-out" alice@corp.example "bob@corp.example, ext@other.example"
    send "$scope-out" alice@corp.example bob@corp.example ext@other.example
    mkmsg "$work/$scope-inbound.eml" "$scope-inbound" ext@other.example bob@corp.example
    send "$scope-inbound" ext@other.example bob@corp.example
    e2e_wait_idle || e2e_fail "delivery did not finish"
done
expect_count "scope=internal: inside to inside (subdomain) journaled" $JOURNAL internal-in 1
expect_count "scope=internal: inside to inside+outside not journaled" $JOURNAL internal-out 0
expect_count "scope=internal: outside to inside not journaled" $JOURNAL internal-inbound 0
expect_decision "scope=internal: logged as skipped:out-of-scope" internal-out "skipped:out-of-scope"
expect_count "scope=external: inside to inside not journaled" $JOURNAL external-in 0
expect_count "scope=external: inside to inside+outside journaled" $JOURNAL external-out 1
expect_count "scope=external: outside to inside journaled" $JOURNAL external-inbound 1

rm -rf "$work"
e2e_finish
