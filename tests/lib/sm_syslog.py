#!/usr/bin/env python3
"""A syslog socket for the private Sendmail (tests/lib/sendmail.sh).

usage: sm_syslog.py SOCKET LOGFILE
Binds a Unix datagram socket at SOCKET (the instance's /dev/log) and
appends every message to LOGFILE, one line each, as received:
"<PRI>Mmm dd hh:mm:ss sendmail[PID]: QID: ...".  Runs until killed.
"""
import os
import socket
import sys


def main():
    path, out = sys.argv[1], sys.argv[2]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    # Delivery agents run as nobody and log too.
    os.chmod(path, 0o666)
    with open(out, "ab", buffering=0) as f:
        while True:
            data = s.recv(65536)
            f.write(data.rstrip(b"\0\n") + b"\n")


if __name__ == "__main__":
    sys.exit(main())
