#!/usr/bin/env python3
"""Write a message carrying a re-injection token, as a key holder could.

usage: reinject_token.py KEYFILE AGE OUT FROM RCPT [RCPT ...]
KEYFILE is [journal] mark_key_file ('-' for a key nobody has: a forged
token), AGE the token's age in seconds (negative: in the future).  The
token is bound to FROM and the RCPTs as smime-journal-milter(8) describes
(HMAC-SHA256 under HMAC-SHA256(mark key, "sjm-reinject-token-key")); the
message (From, To, Subject, Message-ID naming the case, a line of body) is
written to OUT.  The token is printed.
"""
import hashlib
import hmac
import os
import sys
import time


def main():
    if len(sys.argv) < 6:
        print(__doc__, file=sys.stderr)
        return 2
    keyfile, age, out, sender = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    rcpts = sys.argv[5:]
    if keyfile == "-":
        mark = os.urandom(32)
    else:
        with open(keyfile, "rb") as f:
            mark = f.read().rstrip()    # as the filter reads it: trailing space is not key
    key = hmac.new(mark, b"sjm-reinject-token-key", hashlib.sha256).digest()
    t = int(time.time()) - age
    nonce = os.urandom(16).hex()
    msg = f"sjm-reinject\nv=1\nt={t}\nn={nonce}\nfrom={sender.lower()}\n"
    for r in sorted(r.lower() for r in rcpts):
        msg += f"to={r}\n"
    mac = hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()
    token = f"v=1; t={t}; n={nonce}; mac={mac}"
    name = os.path.basename(out).replace(".eml", "")
    with open(out, "w") as f:
        f.write(f"X-SMIME-Journal-Milter-Reinject: {token}\n"
                f"From: <{sender}>\nTo: <{rcpts[0]}>\nSubject: door {name}\n"
                f"Message-ID: <door-{name}@test.example>\n\nnot journaled?\n")
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
