#!/bin/bash
# journal-volume.sh - a large mixed stream (default 10,000 messages)
# through a private Postfix with the filter in front, every message
# reconciled against the filter log and the journal Maildirs (issue 13):
#   ordinary mail, Bcc, sites, public folders, signed and encrypted mail,
#   bounces and read reports of journaled messages (their returned part
#   carries a mark made with the key) and dressed-up ones (unmarked
#   returns from outside and from a local shell user, a journaled message
#   returned with its body swapped, a letter in a read report), null-sender
#   auto-replies, system senders from their system host and forged from
#   outside or from a local shell user (sendmail(1)), journal marks made
#   with the key (from the trusted relay, from outside and locally) and
#   forged or copied ones (another body, a recipient not covered).
# The marks are computed here, in Python, from the man page alone, so the
# run also checks that another implementation of the mark interoperates.
# Each message is journaled exactly once (one copy per journal mailbox
# the filter added) or skipped with the reason its kind earns; the run
# fails on any genuine system message journaled, any evasion skipped, or
# any message unaccounted for.  Then the filter is stopped (final flush)
# and --stats must agree with the table.
#
#   bench/journal-volume.sh [COUNT]        (as root; SJM_BIN = built filter)
#
# 127.0.0.1 is the trusted relay and the system host; 127.0.0.2 plays a
# client outside; local submissions go through sendmail(1).  Prints
# figures; not a timed test.
set -u
SJM_BIN=${SJM_BIN:-${abs_top_builddir:+$abs_top_builddir/smime-journal-milter}}
. "$(dirname "$0")/lib.sh"
COUNT=${1:-10000}
bench_need_corpus
export SJM_BIN
. "$top/tests/lib/e2e.sh"

work=$(mktemp -d /tmp/sjm-jvol.XXXXXX)
chmod 755 "$work"
mkdir "$work/stats" && chown nobody "$work/stats"
# The journal ledger, audited against the journal Maildirs at the end.
mkdir "$work/ledger" && chown nobody "$work/ledger"
"$SJM_BIN" --ledger-keygen "$work/ledger.key" >/dev/null && chmod 644 "$work/ledger.key"
openssl rand -hex 32 >"$work/mark.key" && chmod 644 "$work/mark.key"
conf=$work/filter.conf
cat >"$conf" <<CF
[milter]
trusted_networks = 127.0.0.1
[journal]
recipient = journal@archive.example
sites = corp.example=j-corp@archive.example; *.eu.corp.example=j-eu@archive.example
public_folders = pf-*@corp.example
system_senders = monitor@corp.example, nagios@*.corp.example
system_hosts = 127.0.0.1
mark_key_file = $work/mark.key
stats_dir = $work/stats
skip_read_reports = true
[ledger]
dir = $work/ledger
key_file = $work/ledger.key
origin = volume.test/ledger
CF
# Only the journal mailboxes are written to Maildirs (the reconciliation
# reads those); everyone else's copy goes to Postfix's discard transport,
# so the Maildir writer does not dominate the run.
E2E_EXTRA_MAIN_CF="virtual_transport = discard\ntransport_maps = inline:{ { archive.example = mdeliver: } }"
e2e_start "$conf"
echo "instance: $E2E_DIR (port $E2E_PORT), $COUNT messages"

# ---- send: 4 SMTP sessions (2 from the relay, 2 from outside) and local submissions
start=$(date +%s)
python3 - "$E2E_PORT" "$COUNT" "$work/sent.tsv" "$work/mark.key" "$corpus" "$E2E_DIR/etc" <<'PY'
import hashlib, hmac, re, smtplib, subprocess, sys, threading, time

port, count, out, keyfile, corpus, pfconf = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
key = open(keyfile, "rb").read().rstrip()
signed = open(corpus + "/alice.dsig.SHA256.multipart.eml", "rb").read()
encrypted = open(corpus + "/alice.env.eml", "rb").read()

import base64

TRACE = {"received", "return-path", "delivered-to", "x-original-to", "received-spf",
         "authentication-results", "dkim-signature", "arc-seal", "arc-message-signature",
         "arc-authentication-results"}
MARK = "x-smime-journal-milter-journaled"

def collapse(v):
    return " ".join(v.split())

def relaxed_body_hash(body):
    """DKIM relaxed body canonicalisation (RFC 6376 3.4.4), SHA-256, base64."""
    lines = body.replace(b"\r\n", b"\n").split(b"\n")
    out = [re.sub(rb"[ \t]+", b" ", l).rstrip(b" ") for l in lines]
    while out and out[-1] == b"":
        out.pop()
    canon = b"".join(l + b"\r\n" for l in out)
    return base64.b64encode(hashlib.sha256(canon).digest()).decode()

def split_headers(headers):
    return [(h.partition(":")[0], h.partition(":")[2]) for h in headers]

def mark(headers, body, rcpts, t=1764072000, host="mx-upstream.corp.example"):
    """The filter's keyed journal mark (v=2), computed independently from the man page."""
    hs = split_headers(headers)
    b = relaxed_body_hash(body)
    hdr = "".join("%s:%s\n" % (n.lower(), collapse(v)) for n, v in hs
                  if n.lower() not in TRACE and not n.lower().startswith(("x-spam-", "x-virus-"))
                  and n.lower() != MARK)
    hd = base64.b64encode(hashlib.sha256(hdr.encode()).digest()).decode()
    tags = ""
    for r in rcpts:
        d = hmac.new(key, b"sjm-journal-rcpt\nt=%d\n%s" % (t, r.lower().encode()), hashlib.sha256).digest()
        tags += base64.b64encode(d[:6]).decode().replace("+", "-").replace("/", "_")
    ident = ""
    for name in ("Message-ID", "Date", "From", "To", "Cc", "Subject"):
        for n, v in hs:
            if n.lower() == name.lower():
                ident += name + ":" + collapse(v) + "\n"
    msg = "sjm-journal-mark\nv=2\nhost=%s\nt=%d\nb=%s\nh=%s\nr=%s\n%s" % (host, t, b, hd, tags, ident)
    mac = hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()
    return "%s; v=2; t=%d; b=%s; h=%s; r=%s; mac=%s" % (host, t, b, hd, tags, mac)

def journaled_original(i, body="See you at noon.\n"):
    """A message this organisation journaled, as it left: header lines (with its mark) and body."""
    h = ["From: alice@corp.example", "To: nobody@other.example", "Subject: lunch %d" % i,
         "Date: Mon, 23 Nov 2026 11:00:00 +0000", "Message-ID: <orig-%d@corp.example>" % i]
    m = mark(h, body.replace("\n", "\r\n").encode(), ["nobody@other.example"])
    return h + ["X-SMIME-Journal-Milter-Journaled: " + m], body

def dsn(i, kind="genuine"):
    b = "DSN%d" % i
    h = ["MIME-Version: 1.0", 'Content-Type: multipart/report; report-type=delivery-status; boundary="%s"' % b,
         "Auto-Submitted: auto-replied"]
    if kind == "letter":
        body = ("--%s\nContent-Type: text/plain\n\nDear Bob, the figures, off the record.\n\n"
                "--%s\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
                "UEsDBBQAAAAIAA==\n--%s--\n") % (b, b, b)
        return h, body
    if kind == "unmarked":
        returned = "From: alice@corp.example\nSubject: lunch\n\nSee you.\n"
    else:
        oh, ob = journaled_original(i)
        if kind == "swapped":
            ob = "Sell the shares before Friday.\n"
        returned = "\n".join(oh) + "\n\n" + ob
    body = ("--%s\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
            "--%s\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.other.example\n\n"
            "Final-Recipient: rfc822; nobody@other.example\nAction: failed\nStatus: 5.1.1\n\n"
            "--%s\nContent-Type: message/rfc822\n\n%s"
            "--%s--\n") % (b, b, b, returned, b)
    return h, body

def mdn(i, kind="genuine"):
    b = "MDN%d" % i
    h = ["MIME-Version: 1.0", 'Content-Type: multipart/report; report-type="disposition-notification"; boundary="%s"' % b]
    oh, _ = journaled_original(i)
    if kind == "content":
        third = "Content-Type: message/rfc822\n\nFrom: a@corp.example\nSubject: plan\n\nThe real content.\n"
    else:
        third = "Content-Type: text/rfc822-headers\n\n" + "\n".join(oh) + "\n\n"
    text = "The message was displayed.\n"
    if kind == "letter":
        text += "".join("Paragraph %d of the plan we must not put in writing.\n" % k for k in range(60))
    body = ("--%s\nContent-Type: text/plain\n\n%s\n"
            "--%s\nContent-Type: message/disposition-notification\n\nReporting-UA: ua.corp.example\n"
            "Final-Recipient: rfc822;bob@corp.example\nDisposition: manual-action/MDN-sent-manually; displayed\n\n"
            "--%s\n%s--%s--\n") % (b, text, b, b, third, b)
    return h, body

# kind -> (how sent, expected decision, class); class: ordinary | system | evasion
KINDS = {
    "plain-outbound":       ("relay", "added", "ordinary"),
    "plain-inbound":        ("outside", "added", "ordinary"),
    "bcc-only":             ("outside", "added", "ordinary"),
    "multi-site":           ("outside", "added", "ordinary"),
    "no-site":              ("outside", "added", "ordinary"),
    "public-folder-only":   ("outside", "skipped:public-folder", "ordinary"),
    "public-folder+person": ("outside", "added", "ordinary"),
    "journal-addressed":    ("relay", "skipped:journal-mailbox", "ordinary"),
    "signed":               ("outside", "added", "ordinary"),
    "encrypted":            ("outside", "added", "ordinary"),
    "local-plain":          ("local", "added", "ordinary"),
    "dsn-genuine":          ("outside", "skipped:system:dsn", "system"),
    "mdn-genuine":          ("outside", "skipped:system:mdn", "system"),
    "system-sender":        ("relay", "skipped:system:sender", "system"),
    "mark-keyed-relay":     ("relay", "skipped:journaled-upstream", "system"),
    "mark-keyed-outside":   ("outside", "skipped:journaled-upstream", "system"),
    "mark-keyed-local":     ("local", "skipped:journaled-upstream", "system"),
    "dsn-fake":             ("outside", "added", "evasion"),
    "dsn-unmarked":         ("outside", "added", "evasion"),
    "dsn-unmarked-local":   ("local", "added", "evasion"),
    "dsn-swapped-body":     ("outside", "added", "evasion"),
    "null-autoreply":       ("outside", "added", "evasion"),
    "mdn-fake":             ("outside", "added", "evasion"),
    "mdn-letter":           ("outside", "added", "evasion"),
    "mark-body-swapped":    ("outside", "added", "evasion"),
    "mark-redirected":      ("relay", "added", "evasion"),
    "system-forged-outside": ("outside", "added", "evasion"),
    "system-forged-local":  ("local", "added", "evasion"),
    "mark-forged-relay":    ("relay", "added", "evasion"),
    "mark-forged-outside":  ("outside", "added", "evasion"),
    "mark-forged-local":    ("local", "added", "evasion"),
}
ORDER = sorted(KINDS)
LOCAL_EVERY = 5   # local kinds are every 5th turn of their slot: sendmail(1) is a process per message

def plan(i):
    n = i % 20
    kind = ORDER[(i // 7 + i) % len(ORDER)]
    if KINDS[kind][0] == "local" and (i // len(ORDER)) % LOCAL_EVERY:
        kind = "plain-outbound"
    h, body, raw = [], "Message %d of the journaling volume run.\n" % i, None
    sender, rcpts = "alice%d@corp.example" % n, ["bob%d@corp.example" % n, "ext%d@other.example" % n]
    if kind == "plain-inbound":
        sender, rcpts = "x%d@partner.example" % n, ["bob%d@corp.example" % n]
    elif kind == "bcc-only":
        sender, rcpts = "x%d@other.example" % n, ["hidden%d@partner.example" % n]
    elif kind == "multi-site":
        sender, rcpts = "dave%d@paris.eu.corp.example" % n, ["bob%d@corp.example" % n]
    elif kind == "no-site":
        sender, rcpts = "x%d@other.example" % n, ["y%d@else.example" % n]
    elif kind == "public-folder-only":
        sender, rcpts = "x%d@other.example" % n, ["pf-sales@corp.example"]
    elif kind == "public-folder+person":
        sender, rcpts = "x%d@other.example" % n, ["pf-sales@corp.example", "bob%d@corp.example" % n]
    elif kind == "journal-addressed":
        sender, rcpts = "x%d@other.example" % n, ["journal@archive.example"]
    elif kind in ("signed", "encrypted"):
        sender, rcpts = "alice@example.com", ["bob%d@corp.example" % n]
        raw = signed if kind == "signed" else encrypted
    elif kind == "dsn-genuine":
        sender, rcpts = "", ["alice%d@corp.example" % n]
        h, body = dsn(i)
    elif kind == "dsn-fake":
        sender, rcpts = "", ["bob%d@corp.example" % n]
        h, body = dsn(i, "letter")
    elif kind in ("dsn-unmarked", "dsn-unmarked-local"):
        sender, rcpts = "", ["ext%d@other.example" % n if kind.endswith("local") else "alice%d@corp.example" % n]
        h, body = dsn(i, "unmarked")
    elif kind == "dsn-swapped-body":
        sender, rcpts = "", ["alice%d@corp.example" % n]
        h, body = dsn(i, "swapped")
    elif kind == "null-autoreply":
        sender, rcpts = "", ["alice%d@corp.example" % n]
        h = ["Auto-Submitted: auto-replied"]
        body = "I am out of the office until Monday.\n"
    elif kind == "mdn-genuine":
        sender, rcpts = "x%d@other.example" % n, ["alice%d@corp.example" % n]
        h, body = mdn(i)
    elif kind == "mdn-fake":
        sender, rcpts = "x%d@other.example" % n, ["alice%d@corp.example" % n]
        h, body = mdn(i, "content")
    elif kind == "mdn-letter":
        sender, rcpts = "x%d@other.example" % n, ["alice%d@corp.example" % n]
        h, body = mdn(i, "letter")
    elif kind.startswith("system-"):
        sender, rcpts = ("monitor@corp.example" if n % 2 else "nagios@dc1.corp.example"), ["ops@corp.example"]
    mid = "bench-%05d@test.example" % i
    base = ["From: %s" % (sender or "MAILER-DAEMON@other.example"),
            "To: %s" % (", ".join(rcpts) if kind != "bcc-only" else "undisclosed-recipients:;"),
            "Subject: bench %d %s" % (i, kind), "Date: Mon, 23 Nov 2026 12:00:00 +0000", "Message-ID: <%s>" % mid]
    crlf_body = body.replace("\n", "\r\n").encode()
    if kind.startswith("mark-keyed"):
        h = h + ["X-SMIME-Journal-Milter-Journaled: " + mark(base, crlf_body, rcpts)]
    elif kind == "mark-forged-outside":
        h = h + ["X-SMIME-Journal-Milter-Journaled: " + mark(base, crlf_body, rcpts).replace("mac=", "mac=0")[:-1]]
    elif kind == "mark-body-swapped":
        h = h + ["X-SMIME-Journal-Milter-Journaled: " + mark(base, crlf_body, rcpts)]
        body = "Sell the shares before Friday.\n"
    elif kind == "mark-redirected":
        h = h + ["X-SMIME-Journal-Milter-Journaled: " + mark(base, crlf_body, rcpts)]
        rcpts = rcpts + ["eve%d@other.example" % n]
    elif kind.startswith("mark-forged"):
        h = h + ["X-SMIME-Journal-Milter-Journaled: mx-upstream.corp.example"]
    if raw is not None:
        data = b"Message-ID: <" + mid.encode() + b">\r\n" + raw
    else:
        data = ("\r\n".join(base + h) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()
    return kind, sender, rcpts, mid, data

results = [None] * count
lock = threading.Lock()
next_i = [0]

def connect(src):
    s = smtplib.SMTP("127.0.0.1", port, timeout=120, source_address=(src, 0))
    s.ehlo("bench.test.example")
    return s

def worker(src, how):
    smtp = connect(src) if how != "local" else None
    while True:
        with lock:
            # each worker takes the next message of its kind of origin
            while next_i[0] < count and results[next_i[0]] is not None:
                next_i[0] += 1
            i = None
            for j in range(next_i[0], count):
                if results[j] is None and KINDS[plan_kind[j]][0] == how:
                    i = j
                    results[j] = "taken"
                    break
        if i is None:
            break
        kind, sender, rcpts, mid, data = plan(i)
        try:
            if how == "local":
                p = subprocess.run(["sendmail", "-C", pfconf, "-f", sender or "<>", "--"] + rcpts,
                                   input=data.replace(b"\r\n", b"\n"), capture_output=True)
                status = "accepted" if p.returncode == 0 else "refused:sendmail-%d" % p.returncode
            else:
                refused = smtp.sendmail(sender, rcpts, data)
                status = "accepted" if not refused else "partly-refused"
        except smtplib.SMTPException as e:
            status = "refused:%s" % str(e).replace("\t", " ")[:80]
            try:
                smtp.rset()
            except smtplib.SMTPException:
                smtp = connect(src)
        results[i] = (mid, kind, status, ",".join(rcpts))
    if smtp:
        smtp.quit()

plan_kind = [plan(i)[0] for i in range(count)]
threads = [threading.Thread(target=worker, args=a) for a in
           [("127.0.0.1", "relay"), ("127.0.0.1", "relay"), ("127.0.0.2", "outside"),
            ("127.0.0.2", "outside"), (None, "local")]]
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(out, "w") as f:
    for r in results:
        f.write("\t".join(str(x) for x in r) + "\n")
PY
sent_s=$(( $(date +%s) - start ))
e2e_wait_idle 3600 || e2e_fail "the queue did not drain"
drain_s=$(( $(date +%s) - start ))
e2e_stop_filter
"$SJM_BIN" -c "$E2E_DIR/filter.conf" --stats >"$work/stats.out" 2>&1

# ---- reconcile
python3 - "$work/sent.tsv" "$(e2e_postfix_log)" "$(e2e_filter_log)" "$E2E_DIR/mail" "$sent_s" "$drain_s" \
    "$work/stats.out" <<'PY'
import collections, os, re, sys

sent_file, plog, flog, maildirs, sent_s, drain_s, stats_file = sys.argv[1:]
SYSTEM = {"dsn-genuine": "skipped:system:dsn", "mdn-genuine": "skipped:system:mdn",
          "system-sender": "skipped:system:sender", "mark-keyed-relay": "skipped:journaled-upstream",
          "mark-keyed-outside": "skipped:journaled-upstream", "mark-keyed-local": "skipped:journaled-upstream"}
EVASION = {"dsn-fake", "dsn-unmarked", "dsn-unmarked-local", "dsn-swapped-body", "null-autoreply",
           "mdn-fake", "mdn-letter", "system-forged-outside", "system-forged-local", "mark-forged-relay",
           "mark-forged-outside", "mark-forged-local", "mark-body-swapped", "mark-redirected"}
OTHER = {"public-folder-only": "skipped:public-folder", "journal-addressed": "skipped:journal-mailbox"}
def expected(kind):
    return SYSTEM.get(kind) or OTHER.get(kind) or "added"
JOURNALS = ["journal@archive.example", "j-corp@archive.example", "j-eu@archive.example"]

sent = [l.rstrip("\n").split("\t") for l in open(sent_file)]
accepted = {mid: kind for mid, kind, status, _ in sent if status == "accepted"}
envelope = {mid: rcpts.split(",") for mid, _, _, rcpts in sent}

qid_mid = {}
for line in open(plog, errors="replace"):
    m = re.search(r"cleanup\[\d+\]: ([0-9A-F]+): message-id=<(bench-\d+@test\.example)>", line)
    if m:
        qid_mid[m.group(1)] = m.group(2)
decision = collections.defaultdict(list)
unbelieved = collections.Counter()
for line in open(flog, errors="replace"):
    m = re.match(r"smime-journal-milter: ([0-9A-F]+): .* journal=(\S+)", line)
    if m and m.group(1) in qid_mid:
        decision[qid_mid[m.group(1)]].append(m.group(2))
        if " journal_unbelieved=" in line:
            unbelieved[qid_mid[m.group(1)]] += 1

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
rows = collections.defaultdict(lambda: collections.Counter())
by_reason = collections.Counter()
genuine_journaled = evasion_skipped = 0
for mid, kind in accepted.items():
    ds = decision.get(mid, [])
    if len(ds) != 1:
        problems.append("%s (%s): %d filter log lines" % (mid, kind, len(ds)))
        continue
    d = ds[0]
    reason = "added" if d.startswith("added:") else d
    by_reason[reason] += 1
    r = rows[kind]
    r["n"] += 1
    r[reason] += 1
    if reason != expected(kind):
        problems.append("%s (%s): decided %s, expected %s" % (mid, kind, d, expected(kind)))
    if kind in SYSTEM and reason == "added":
        genuine_journaled += 1
    if kind in EVASION and reason != "added":
        evasion_skipped += 1
    if kind in EVASION and not unbelieved[mid]:
        problems.append("%s (%s): journaled but no journal_unbelieved= in the log" % (mid, kind))
    targets = (d[len("added:"):].split(",") if reason == "added" else []) + \
        [x for x in envelope[mid] if x in JOURNALS]
    got = sum(copies[j][mid] for j in JOURNALS)
    r["copies"] += got
    for j in JOURNALS:
        if copies[j][mid] != targets.count(j):
            problems.append("%s (%s): %d copies in %s, expected %d" % (mid, kind, copies[j][mid], j, targets.count(j)))
stray = sum(n for j in JOURNALS for mid, n in copies[j].items() if mid not in accepted)
if stray:
    problems.append("%d journal copies of messages that were not accepted" % stray)

def cls(kind):
    return "system" if kind in SYSTEM else "evasion" if kind in EVASION else "ordinary"
print()
print("%-22s %-8s %6s  %-28s %6s %7s" % ("kind", "class", "sent", "decision (as expected)", "count", "copies"))
for kind in sorted(rows, key=lambda k: (cls(k), k)):
    r = rows[kind]
    print("%-22s %-8s %6d  %-28s %6d %7d" % (kind, cls(kind), r["n"], expected(kind), r[expected(kind)], r["copies"]))
print()
print("sent %d, accepted %d, refused %d; filter log lines matched %d" % (
    len(sent), len(accepted), len(sent) - len(accepted), sum(len(decision.get(m, [])) for m in accepted)))
print("journaled (copy added)       %6d" % by_reason["added"])
for reason in sorted(x for x in by_reason if x != "added"):
    print("  %-26s %6d" % (reason, by_reason[reason]))
print("genuine system messages journaled: %d" % genuine_journaled)
print("evasion messages skipped:          %d" % evasion_skipped)
print("evasion messages with the refused label logged: %d" % sum(1 for m, k in accepted.items() if k in EVASION and unbelieved[m]))
print("journal Maildir copies: %s" % ", ".join("%s=%d" % (j, sum(copies[j].values())) for j in JOURNALS))
print("time: %ss to send, %ss until the queue drained" % (sent_s, drain_s))

# --stats must agree with the table (one run = one fresh stats_dir; a run
# across midnight UTC spreads over two days, so the totals are compared).
stats = open(stats_file).read()
print("\n--- smime-journal-milter --stats\n" + stats)
m = re.search(r"observed \d+ day\(s\): (\d+) messages journaled, (\d+) journal copies", stats)
header = next((l.split() for l in stats.splitlines() if l.startswith("day ")), [])
sums = collections.Counter()
for l in stats.splitlines():
    f = l.split()
    if f and re.match(r"\d{4}-\d\d-\d\d$", f[0]):
        for name, v in zip(header[1:], f[1:]):
            sums[name] += int(v)
checks = [("journaled", by_reason["added"])] + [(r, by_reason[r]) for r in by_reason if r != "added"]
checks.append(("journal_copies", sum(sum(copies[j].values()) for j in JOURNALS) -
               sum(1 for mid in accepted for x in envelope[mid] if x in JOURNALS)))
for name, want in checks:
    if sums[name] != want:
        problems.append("--stats %s = %d, the table says %d" % (name, sums[name], want))
    else:
        print("--stats agrees: %s = %d" % (name, want))
if genuine_journaled or evasion_skipped:
    problems.append("%d genuine system messages journaled, %d evasions skipped" % (genuine_journaled, evasion_skipped))
if problems:
    print("\n%d PROBLEM(S):" % len(problems))
    for p in problems[:40]:
        print("  " + p)
    sys.exit(1)
print("every message accounted for")
PY
status=$?
# The ledger proves the same: every journal copy in every journal Maildir
# has its entry, every journaling entry its copies, nothing altered.
vkey=$("$SJM_BIN" -c "$conf" --ledger-verifier-key)
echo
echo "--- smime-journal-milter --audit"
"$SJM_BIN" --audit --ledger "$work/ledger" --verifier-key "$vkey" --maildir "$E2E_DIR/mail/archive.example" \
    >"$work/audit.out" 2>"$work/audit.err"
audit=$?
grep -v '^not journaled' "$work/audit.out" | head -20
grep '^not journaled' "$work/audit.out"
[ "$audit" -eq 0 ] && echo "the audit finds the journal complete" ||
    { echo "AUDIT FAILED (status $audit)"; status=1; }
rm -rf "$work"
exit $status
