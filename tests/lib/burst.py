#!/usr/bin/env python3
"""Send a burst of numbered messages over SMTP the way a well-behaved
client does: after every 4xx (and every broken connection) it closes
the session and retries on a new one, until the message is accepted or
the deadline passes.

usage: burst.py HOST PORT PREFIX COUNT [--conc C] [--template FILE]
                [--size BYTES] [--from ADDR] [--retry-for SECONDS]
                [--pause SECONDS] RCPT [RCPT ...]

Message i carries "Message-ID: <PREFIX-i@test.example>" as its first
header field; the rest is FILE (its header and body) or a small text
message padded to BYTES.  Prints one line per event worth counting
("PREFIX-i: accepted" as each message is accepted, so a test can time
a fault by acceptances rather than by deliveries, which lag behind on a
slow machine) and a closing line

  burst: sent=N accepted=A first_try=F retried=R tempfail_replies=T
         conn_errors=E uncertain=U failed=X slowest_ms=MS replies=CODE:COUNT,...

slowest_ms: the longest single attempt, connect to final reply.

"uncertain" counts transactions whose final reply was lost after the
whole message went out (the server may have accepted it): these, and
only these, may legitimately show up twice.  Exit 0 when every message
was accepted in the end.
"""
import argparse
import collections
import smtplib
import socket
import sys
import threading
import time


def build(i, a, template):
    head = f"Message-ID: <{a.prefix}-{i}@test.example>\r\n".encode()
    if template is not None:
        return head + template
    text = (f"From: {a.sender}\r\nTo: {a.rcpts[0]}\r\nSubject: burst {a.prefix} {i}\r\n"
            f"Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n\r\n").encode()
    line = b"The quick brown fox jumps over the lazy dog 0123456789.\r\n"
    body = line * max(1, (a.size - len(text)) // len(line))
    return head + text + body


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("prefix")
    p.add_argument("count", type=int)
    p.add_argument("rcpts", nargs="+")
    p.add_argument("--conc", type=int, default=4)
    p.add_argument("--template")
    p.add_argument("--size", type=int, default=2000)
    p.add_argument("--from", dest="sender", default="alice@corp.example")
    p.add_argument("--retry-for", type=float, default=120)
    p.add_argument("--pause", type=float, default=0.3)
    a = p.parse_args()
    template = None
    if a.template:
        with open(a.template, "rb") as f:
            template = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

    lock = threading.Lock()
    st = collections.Counter()
    replies = collections.Counter()
    queue = list(range(1, a.count + 1))
    deadline = time.time() + a.retry_for

    def note(key, n=1):
        with lock:
            st[key] += n

    plock = threading.Lock()

    def say(text):
        with plock:
            print(text, flush=True)

    def slowest(t0):
        with lock:
            st["slowest_ms"] = max(st["slowest_ms"], int((time.time() - t0) * 1000))

    def worker():
        smtp = None
        while True:
            with lock:
                if not queue:
                    break
                i = queue.pop(0)
            data = build(i, a, template)
            attempts = 0
            while True:
                attempts += 1
                phase = "connect"
                t0 = time.time()
                try:
                    if smtp is None:
                        smtp = smtplib.SMTP(a.host, a.port, timeout=60)
                        smtp.ehlo("client.test.example")
                    phase = "envelope"
                    code, msg = smtp.mail(a.sender)
                    if code >= 400:
                        raise smtplib.SMTPResponseException(code, msg)
                    for r in a.rcpts:
                        code, msg = smtp.rcpt(r)
                        if code >= 400:
                            raise smtplib.SMTPResponseException(code, msg)
                    phase = "data"
                    code, msg = smtp.docmd("DATA")
                    if code != 354:
                        raise smtplib.SMTPResponseException(code, msg)
                    phase = "sent"
                    smtp.send(smtplib.quotedata(data.decode("latin-1")).encode("latin-1")
                              + (b"" if data.endswith(b"\r\n") else b"\r\n") + b".\r\n")
                    code, msg = smtp.getreply()
                    if code != 250:
                        raise smtplib.SMTPResponseException(code, msg)
                    slowest(t0)
                    with lock:
                        replies[250] += 1
                    note("accepted")
                    note("first_try" if attempts == 1 else "retried")
                    say(f"{a.prefix}-{i}: accepted")
                    break
                except smtplib.SMTPResponseException as e:
                    slowest(t0)
                    with lock:
                        replies[e.smtp_code] += 1
                    text = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
                    say(f"{a.prefix}-{i}: attempt {attempts} {phase}: {e.smtp_code} {text}")
                    # As an MTA does: give up this session and come back on
                    # a new one.  (Postfix never reconnects a failed milter
                    # within a session: it answers 4xx until the client
                    # reconnects.)
                    try:
                        smtp.quit()
                    except Exception:
                        pass
                    smtp = None
                    if e.smtp_code >= 500:
                        note("failed")
                        break
                    note("tempfail_replies")
                except (OSError, smtplib.SMTPException) as e:
                    say(f"{a.prefix}-{i}: attempt {attempts} {phase}: connection: {e}")
                    note("conn_errors")
                    if phase == "sent":
                        note("uncertain")
                    try:
                        smtp.close()
                    except Exception:
                        pass
                    smtp = None
                if time.time() > deadline:
                    say(f"{a.prefix}-{i}: gave up after {attempts} attempts")
                    note("failed")
                    break
                time.sleep(a.pause)
        if smtp is not None:
            try:
                smtp.quit()
            except Exception:
                pass

    threads = [threading.Thread(target=worker) for _ in range(a.conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r = ",".join(f"{k}:{v}" for k, v in sorted(replies.items()))
    print(f"burst: sent={a.count} accepted={st['accepted']} first_try={st['first_try']} "
          f"retried={st['retried']} tempfail_replies={st['tempfail_replies']} "
          f"conn_errors={st['conn_errors']} uncertain={st['uncertain']} failed={st['failed']} "
          f"slowest_ms={st['slowest_ms']} "
          f"replies={r}", flush=True)
    return 0 if st["accepted"] == a.count else 1


if __name__ == "__main__":
    sys.exit(main())
