#!/usr/bin/env python3
"""piler_parse.py - read an envelope journal report the way mailpiler does.

    piler_parse.py REPORT [ORIGINAL_OUT]

Mailpiler (jsuto/piler, src/parser.c parse_line and src/tokenizer.c)
reads a message line by line.  What it does with a journal report, and
what this reader does the same way:
  - only a line starting with "X-MS-Journal-Report:" (case-sensitive, at
    column 0) in the top-level header block makes the message a journal
    report; the recipients gathered so far are dropped;
  - the report body is read as raw lines (no base64/QP decoding of the
    first part), each treated as a header line: "To:", "Cc:", "Bcc:" and
    "Recipient:" (case-insensitive) give recipients; only "Recipient:"
    addresses go to the journal recipient list, the one piler merges into
    an already archived copy with the same Message-Id;
  - a "Content-Type:" line naming message/rfc822 switches to the original
    message, whose own header block then gives Message-Id, Subject...
The original is then parsed as a real message with Python's email
package.  Prints key=value lines (journal=, recipient= per Recipient:
address, header_recipient= per To/Cc/Bcc address, original_message_id=,
original_subject=) and, with ORIGINAL_OUT, writes the original's bytes
exactly as the report carries them.  Exit 1 when it is not a report.
"""
import email
import email.policy
import re
import sys

ADDR = re.compile(r"[^\s<>,;:\"()]+@[^\s<>,;:\"()]+")


def main():
    raw = open(sys.argv[1], "rb").read()
    lines = raw.split(b"\n")
    journal = False
    in_header = True
    recipients, header_recipients = [], []
    state = None
    original_start = None
    boundary = None
    i = 0
    while i < len(lines):
        line = lines[i].rstrip(b"\r")
        text = line.decode("utf-8", "replace")
        if in_header:
            if line == b"":
                in_header = False
            elif text.startswith("X-MS-Journal-Report:"):
                journal = True
            elif text.lower().startswith("content-type:"):
                # the (possibly folded) top-level Content-Type
                j = i + 1
                while j < len(lines) and lines[j][:1] in (b" ", b"\t"):
                    text += lines[j].rstrip(b"\r").decode("utf-8", "replace")
                    j += 1
                m = re.search(r'boundary="?([^";]+)"?', text, re.I)
                if m:
                    boundary = m.group(1)
            i += 1
            continue
        if not journal:
            break
        low = text.lower()
        if low.startswith("content-type:") and "message/rfc822" in low:
            # skip the part's MIME header block; the original follows
            j = i + 1
            while j < len(lines) and lines[j].rstrip(b"\r") != b"":
                j += 1
            original_start = j + 1
            break
        if text and text[0] not in " \t" and ":" in text:
            state = None
            for name in ("recipient:", "to:", "cc:", "bcc:"):
                if low.startswith(name):
                    state = name[:-1]
        if state:
            addrs = [a.lower() for a in ADDR.findall(text)]
            (recipients if state == "recipient" else header_recipients).extend(addrs)
        i += 1

    print("journal=%d" % journal)
    if not journal:
        return 1
    for a in recipients:
        print("recipient=%s" % a)
    for a in header_recipients:
        print("header_recipient=%s" % a)
    if original_start is None or boundary is None:
        print("original=missing")
        return 1
    body = b"\n".join(lines[original_start:])
    end = re.search(rb"\r?\n--" + re.escape(boundary.encode()) + rb"--", body)
    if end is None:
        print("original=unterminated")
        return 1
    original = body[: end.start()]
    msg = email.message_from_bytes(original, policy=email.policy.compat32)
    print("original_message_id=%s" % (msg.get("Message-ID") or "").strip())
    print("original_subject=%s" % (msg.get("Subject") or "").strip())
    if len(sys.argv) > 2:
        with open(sys.argv[2], "wb") as out:
            out.write(original)
    return 0


sys.exit(main())
