#!/usr/bin/env python3
"""What the real mailpiler stored for one test case, judged as an auditor
would (tests/mta/postfix/piler.sh).

usage:
  piler_check.py original REPORT OUT     the message/rfc822 part of a
                                         stored report, bytes as stored
  piler_check.py intact ORIGINAL SENT    ORIGINAL is SENT (line ends
                                         aside) after the MTA's Received:
                                         fields and the filter's
                                         Message-ID; prints what differs
  piler_check.py judge SENT STORED ENVELOPE...
                                         one line: "ok" or what is wrong.
     STORED: the rcpt rows, comma-separated.  ENVELOPE: the addresses the
     MTA delivered to.  Every envelope recipient must be stored (piler
     folds "+extension" itself); nothing may be stored that is neither an
     envelope recipient nor in the original's To/Cc fields (piler indexes
     those, as it does for any message).
"""
import email
import email.policy
import email.utils
import re
import sys


def fold(addr):
    addr = addr.strip().lower()
    local, at, domain = addr.rpartition("@")
    if at and "+" in local:
        local = local.split("+", 1)[0]
    return local + at + domain if at else addr


def original(report, out):
    data = open(report, "rb").read()
    m = re.search(rb"Content-Type: message/rfc822\r?\n(?:[A-Za-z-]+:[^\n]*\n)*\r?\n", data)
    if not m:
        sys.exit("no message/rfc822 part")
    start = m.end()
    b = re.search(rb'boundary="([^"]+)"', data)
    end = data.rfind(b"\n--" + b.group(1) + b"--")
    if end < start:
        sys.exit("no closing boundary")
    body = data[start:end]
    # the report adds a line break before its closing boundary
    if body.endswith(b"\r"):
        body = body[:-1]
    open(out, "wb").write(body)


def lf(b):
    return b.replace(b"\r\n", b"\n")


def intact(orig, sent):
    o = lf(open(orig, "rb").read())
    s = lf(open(sent, "rb").read())
    # the MTA's own trace fields come first
    lines = o.split(b"\n")
    i = 0
    while i < len(lines) and lines[i].startswith(b"Received:"):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    rest = b"\n".join(lines[i:])
    if rest == s:
        print("ok")
        return
    # the filter's Message-ID, appended to the header of a message without one
    hdr, sep, body = rest.partition(b"\n\n")
    hl = hdr.split(b"\n")
    if hl and hl[-1].startswith(b"Message-ID: <") and b"Message-ID:" not in s.split(b"\n\n")[0]:
        if b"\n".join(hl[:-1]) + sep + body == s:
            print("ok")
            return
    n = next((k for k in range(min(len(rest), len(s))) if rest[k] != s[k]), min(len(rest), len(s)))
    print("differs at byte %d of %d/%d: %r vs %r" % (n, len(rest), len(s), rest[n:n + 40], s[n:n + 40]))


def judge(sent, stored, envelope):
    msg = email.message_from_binary_file(open(sent, "rb"), policy=email.policy.compat32)
    header = set()
    for field in ("To", "Cc"):
        for _, a in email.utils.getaddresses(msg.get_all(field, [])):
            if "@" in a:
                header.add(fold(a))
    stored_set = {fold(a) for a in stored.split(",") if a}
    env = {fold(a) for a in envelope}
    problems = []
    missing = sorted(env - stored_set)
    if missing:
        problems.append("missing " + " ".join(missing))
    extra = sorted(stored_set - env - header)
    if extra:
        problems.append("not a recipient: " + " ".join(extra))
    print("ok" if not problems else "; ".join(problems))


def main():
    cmd = sys.argv[1]
    if cmd == "original":
        original(sys.argv[2], sys.argv[3])
    elif cmd == "intact":
        intact(sys.argv[2], sys.argv[3])
    elif cmd == "judge":
        judge(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
