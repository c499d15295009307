#!/usr/bin/env python3
"""Hold N idle connections to a milter socket open until stdin closes.

usage: idle.py SOCKET N
Connects N times (unix socket path, or HOST:PORT), sends nothing, prints
"idle: opened=K refused=R" once all attempts are done, then waits for
EOF on stdin and closes them all.
"""
import socket
import sys


def main():
    target, n = sys.argv[1], int(sys.argv[2])
    held, refused = [], 0
    for _ in range(n):
        try:
            if ":" in target:
                host, port = target.rsplit(":", 1)
                s = socket.create_connection((host, int(port)), timeout=2)
            else:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(2)
                s.connect(target)
            held.append(s)
        except OSError:
            refused += 1
    print(f"idle: opened={len(held)} refused={refused}", flush=True)
    sys.stdin.read()
    for s in held:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
