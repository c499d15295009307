#!/usr/bin/env python3
"""Postfix pipe(8) delivery agent for the test instance: writes the
message from stdin into BASE/<domain>/<local>/new as a Maildir file.

usage: maildir_deliver.py BASE RECIPIENT

A file named FULL in the recipient's directory makes delivery fail
permanently with 5.2.2 (mailbox full), as a real full mailbox would;
a file named DEFER makes it fail temporarily.
"""
import os
import socket
import sys
import time

EX_UNAVAILABLE = 69
EX_TEMPFAIL = 75


def main():
    base, rcpt = sys.argv[1], sys.argv[2].lower()
    local, _, domain = rcpt.rpartition("@")
    box = os.path.join(base, domain, local)
    if os.path.exists(os.path.join(box, "FULL")):
        print("5.2.2 mailbox full", file=sys.stderr)
        return EX_UNAVAILABLE
    if os.path.exists(os.path.join(box, "DEFER")):
        print("4.2.2 mailbox temporarily unavailable", file=sys.stderr)
        return EX_TEMPFAIL
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(box, sub), exist_ok=True)
    name = "%d.%d_%d.%s" % (time.time(), os.getpid(), time.monotonic_ns(), socket.gethostname())
    tmp = os.path.join(box, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(sys.stdin.buffer.read())
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, os.path.join(box, "new", name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
