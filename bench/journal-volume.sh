#!/bin/bash
# journal-volume.sh - send a large mixed stream (default 1,000 messages)
# through a private Postfix with the filter in front and account for every
# message: sent, journaled, skipped by reason, reconciled three ways --
# what the sender was told (accepted), what the filter logged for each
# queue id, and what actually landed in the journal Maildirs.
#
#   bench/journal-volume.sh [COUNT]        (as root; SJM_BIN = built filter)
#
# It prints figures and exits non-zero only if a message is unaccounted
# for or landed somewhere it should not have; it is not a timed test.
set -u
here=$(cd "$(dirname "$0")" && pwd)
abs_top_srcdir=${abs_top_srcdir:-$(cd "$here/.." && pwd)}
SJM_BIN=${SJM_BIN:-${abs_top_builddir:-$PWD}/smime-journal-milter}
COUNT=${1:-1000}
export abs_top_srcdir SJM_BIN
. "$abs_top_srcdir/tests/lib/e2e.sh"

work=$(mktemp -d /tmp/sjm-jvol.XXXXXX)
conf=$work/filter.conf
cat >"$conf" <<CF
[milter]
trusted_networks = 127.0.0.0/8
[journal]
recipient = journal@archive.example
sites = corp.example=j-corp@archive.example; *.eu.corp.example=j-eu@archive.example
public_folders = pf-*@corp.example
system_senders = monitor@corp.example, nagios@*.corp.example
CF
e2e_start "$conf"
echo "instance: $E2E_DIR (port $E2E_PORT), $COUNT messages"

# ---- send: 4 parallel SMTP sessions, many messages per session
start=$(date +%s)
python3 - "$E2E_PORT" "$COUNT" "$work/sent.tsv" <<'PY'
import smtplib, sys, threading

port, count, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

# category, envelope sender, envelope recipients, extra header lines
def plan(i):
    n = i % 20
    kinds = [
        ("plain-outbound", "alice%d@corp.example" % n, ["bob%d@corp.example" % n, "ext%d@other.example" % n], []),
        ("plain-inbound", "ext%d@other.example" % n, ["bob%d@corp.example" % n], []),
        ("plain-outbound", "carol%d@corp.example" % n, ["ext%d@other.example" % n], []),
        ("plain-inbound", "x%d@partner.example" % n, ["bob%d@corp.example" % n, "carol%d@corp.example" % n], []),
        ("bcc-only", "x%d@other.example" % n, ["hidden%d@partner.example" % n], []),
        ("null-sender", "", ["bob%d@corp.example" % n],
         ["MIME-Version: 1.0", 'Content-Type: multipart/report; report-type=delivery-status; boundary="b"']),
        ("null-sender", "", ["ext%d@other.example" % n], []),
        ("mdn", "bob%d@corp.example" % n, ["x%d@other.example" % n],
         ["MIME-Version: 1.0", 'Content-Type: multipart/report; report-type=disposition-notification; boundary="b"']),
        ("mdn", "x%d@other.example" % n, ["bob%d@corp.example" % n],
         ["MIME-Version: 1.0", 'Content-Type: multipart/report; report-type="Disposition-Notification"; boundary="b"']),
        ("public-folder-only", "x%d@other.example" % n, ["pf-sales@corp.example"], []),
        ("public-folder-only", "alice%d@corp.example" % n, ["pf-sales@corp.example", "pf-support@corp.example"], []),
        ("public-folder+person", "x%d@other.example" % n, ["pf-sales@corp.example", "bob%d@corp.example" % n], []),
        ("system-sender", "monitor@corp.example", ["ops@corp.example"], []),
        ("system-sender", "nagios@dc1.corp.example", ["ops@corp.example"], []),
        ("multi-site", "dave%d@paris.eu.corp.example" % n, ["bob%d@corp.example" % n], []),
        ("multi-site", "x%d@other.example" % n, ["anna%d@rome.eu.corp.example" % n, "bob%d@corp.example" % n], []),
        ("no-site", "x%d@other.example" % n, ["y%d@else.example" % n], []),
        ("forged-report-headers", "x%d@other.example" % n, ["bob%d@corp.example" % n],
         ["Disposition-Notification-To: x@other.example", "Auto-Submitted: auto-replied"]),
        ("upstream-marked", "alice%d@corp.example" % n, ["bob%d@corp.example" % n],
         ["X-SMIME-Journal-Milter-Journaled: mx-upstream.corp.example"]),
        ("journal-addressed", "x%d@other.example" % n, ["y%d@else.example" % n, "journal@archive.example"], []),
    ]
    return kinds[(i // 20 + i) % len(kinds)]

results = [None] * count
lock = threading.Lock()
next_i = [0]

def worker():
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=120)
    smtp.ehlo("bench.test.example")
    while True:
        with lock:
            i = next_i[0]
            if i >= count:
                break
            next_i[0] += 1
        kind, sender, rcpts, extra = plan(i)
        mid = "bench-%05d@test.example" % i
        lines = ["From: %s" % (sender or "MAILER-DAEMON@other.example"),
                 "To: %s" % ", ".join(rcpts) if kind != "bcc-only" else "To: undisclosed-recipients:;",
                 "Subject: bench %d %s" % (i, kind),
                 "Date: Mon, 23 Nov 2026 12:00:00 +0000",
                 "Message-ID: <%s>" % mid] + extra + ["", "Message %d of the journaling volume run." % i, ""]
        data = "\r\n".join(lines).encode()
        try:
            refused = smtp.sendmail(sender, rcpts, data)
            status = "accepted" if not refused else "partly-refused"
        except smtplib.SMTPException as e:
            status = "refused:%s" % str(e).replace("\t", " ")[:80]
            try:
                smtp.rset()
            except smtplib.SMTPException:
                smtp = smtplib.SMTP("127.0.0.1", port, timeout=120)
                smtp.ehlo("bench.test.example")
        results[i] = (mid, kind, status, ",".join(rcpts))
    smtp.quit()

threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(out, "w") as f:
    for r in results:
        f.write("\t".join(str(x) for x in r) + "\n")
PY
sent_s=$(( $(date +%s) - start ))
e2e_wait_idle 900 || e2e_fail "the queue did not drain"
drain_s=$(( $(date +%s) - start ))

# ---- reconcile
python3 - "$work/sent.tsv" "$(e2e_postfix_log)" "$(e2e_filter_log)" "$E2E_DIR/mail" "$sent_s" "$drain_s" <<'PY'
import collections, os, re, sys

sent_file, plog, flog, maildirs, sent_s, drain_s = sys.argv[1:]
EXPECT = {
    "plain-outbound": "added", "plain-inbound": "added", "bcc-only": "added",
    "public-folder+person": "added", "multi-site": "added", "no-site": "added",
    "forged-report-headers": "added",
    "null-sender": "skipped:system:null-sender", "mdn": "skipped:system:read-report",
    "public-folder-only": "skipped:public-folder", "system-sender": "skipped:system:sender",
    "upstream-marked": "skipped:journaled-upstream",
    "journal-addressed": "skipped:journal-mailbox",
}
JOURNALS = ["journal@archive.example", "j-corp@archive.example", "j-eu@archive.example"]

sent = [l.rstrip("\n").split("\t") for l in open(sent_file)]
accepted = {mid: kind for mid, kind, status, _ in sent if status == "accepted"}
envelope = {mid: rcpts.split(",") for mid, _, _, rcpts in sent}

# queue id -> message-id (Postfix), queue id -> journal summary (filter)
qid_mid = {}
for line in open(plog, errors="replace"):
    m = re.search(r"cleanup\[\d+\]: ([0-9A-F]+): message-id=<(bench-\d+@test\.example)>", line)
    if m:
        qid_mid[m.group(1)] = m.group(2)
decision = collections.defaultdict(list)
for line in open(flog, errors="replace"):
    m = re.match(r"smime-journal-milter: ([0-9A-F]+): .* journal=(\S+)", line)
    if m and m.group(1) in qid_mid:
        decision[qid_mid[m.group(1)]].append(m.group(2))

# message-id -> copies in each journal Maildir
copies = {j: collections.Counter() for j in JOURNALS}
for j in JOURNALS:
    local, dom = j.split("@")
    d = os.path.join(maildirs, dom, local, "new")
    for name in os.listdir(d) if os.path.isdir(d) else []:
        with open(os.path.join(d, name), "rb") as f:
            for raw in f:
                if raw in (b"\n", b"\r\n"):
                    break
                m = re.match(rb"(?i)message-id:\s*<([^>]+)>", raw)
                if m:
                    copies[j][m.group(1).decode()] += 1
                    break

problems = []
by_reason = collections.Counter()
by_kind = collections.defaultdict(collections.Counter)
expected_copies = {j: 0 for j in JOURNALS}
for mid, kind in accepted.items():
    ds = decision.get(mid, [])
    if len(ds) != 1:
        problems.append("%s (%s): %d filter log lines" % (mid, kind, len(ds)))
        continue
    d = ds[0]
    reason = "added" if d.startswith("added:") else d
    by_reason[reason] += 1
    by_kind[kind][reason] += 1
    if reason != EXPECT[kind]:
        problems.append("%s (%s): decided %s, expected %s" % (mid, kind, d, EXPECT[kind]))
    # A journal mailbox the client addressed itself gets the one copy
    # the envelope gives it, and the filter never adds it a second time.
    targets = (d[len("added:"):].split(",") if reason == "added" else []) + \
        [r for r in envelope[mid] if r in JOURNALS]
    for j in JOURNALS:
        want = targets.count(j)
        expected_copies[j] += want
        if copies[j][mid] != want:
            problems.append("%s (%s): %d copies in %s, expected %d" % (mid, kind, copies[j][mid], j, want))
stray = {j: sum(n for mid, n in copies[j].items() if mid not in accepted) for j in JOURNALS}
for j, n in stray.items():
    if n:
        problems.append("%d copies in %s of messages that were not accepted" % (n, j))

print()
print("sent                     %6d  (accepted %d, refused %d)" % (len(sent), len(accepted), len(sent) - len(accepted)))
print("filter log lines matched %6d" % sum(len(decision.get(m, [])) for m in accepted))
print("journaled (copy added)   %6d" % by_reason["added"])
for reason in sorted(r for r in by_reason if r != "added"):
    note = "  (journal was an envelope recipient)" if reason == "skipped:journal-mailbox" else ""
    print("  %-28s %6d%s" % (reason, by_reason[reason], note))
print("skipped total            %6d" % sum(n for r, n in by_reason.items() if r != "added"))
print("accounted for            %6d of %d accepted" % (sum(by_reason.values()), len(accepted)))
print()
print("journal Maildir copies (found / expected from the filter's decisions):")
for j in JOURNALS:
    print("  %-26s %6d / %d" % (j, sum(copies[j].values()), expected_copies[j]))
print()
print("by kind of message:")
for kind in sorted(by_kind):
    print("  %-22s %s" % (kind, ", ".join("%s=%d" % kv for kv in sorted(by_kind[kind].items()))))
print()
print("time: %ss to send, %ss until the queue drained" % (sent_s, drain_s))
if problems:
    print("\n%d PROBLEM(S):" % len(problems))
    for p in problems[:40]:
        print("  " + p)
    sys.exit(1)
print("every message accounted for")
PY
status=$?
rm -rf "$work"
exit $status
