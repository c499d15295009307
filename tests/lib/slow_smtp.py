#!/usr/bin/env python3
"""One SMTP transaction that pauses in the middle of DATA.

usage: slow_smtp.py PORT FROM RCPT READY_FILE GO_FILE
Sends the envelope and half the message, creates READY_FILE, waits until
GO_FILE exists, sends the rest and prints the server's final reply code.
Lets a test do something (stop the filter) while a transaction is open.
"""
import os
import smtplib
import sys
import time


def main():
    port, sender, rcpt, ready, go = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
    s = smtplib.SMTP("127.0.0.1", port, timeout=120)
    s.ehlo("slow.test.example")
    s.mail(sender)
    s.rcpt(rcpt)
    code, _ = s.docmd("DATA")
    if code != 354:
        print(code)
        return 1
    s.send(b"From: slow@corp.example\r\nSubject: in flight\r\n\r\nfirst half\r\n")
    open(ready, "w").close()
    for _ in range(600):
        if os.path.exists(go):
            break
        time.sleep(0.1)
    s.send(b"second half\r\n.\r\n")
    code, msg = s.getreply()
    print(code)
    s.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
