#!/usr/bin/env python3
"""Send one message file over real SMTP with a given envelope.

usage: smtpsend.py [--repeat N] HOST PORT FILE FROM RCPT [RCPT ...]
FROM '' is the null sender.  The file's bytes are sent as they are
(line ends become CRLF on the wire, dots are stuffed, as any SMTP client
does).  Exit status: 0 accepted for every recipient, 1 some recipients
refused (the rest accepted), 2 the message was refused (4xx/5xx at
MAIL, DATA or end of data, or every recipient refused), 3 no connection.
With --repeat N the same message is sent N times over one connection
(one SMTP session, N transactions).  The server's replies are printed
to stdout.
"""
import re
import smtplib
import sys


def main():
    args = sys.argv[1:]
    repeat = 1
    if args[:1] == ["--repeat"]:
        repeat = int(args[1])
        args = args[2:]
    if len(args) < 5:
        print(__doc__, file=sys.stderr)
        return 3
    host, port, path, sender = args[0], int(args[1]), args[2], args[3]
    rcpts = args[4:]
    with open(path, "rb") as f:
        data = f.read()
    # SMTP lines end in CRLF; smtplib leaves bytes alone, so do it here.
    data = re.sub(rb"\r?\n", b"\r\n", data)
    try:
        smtp = smtplib.SMTP(host, port, timeout=120)
    except OSError as e:
        print(f"connect: {e}")
        return 3
    try:
        smtp.ehlo("client.test.example")
        for _ in range(repeat):
            refused = smtp.sendmail(sender, rcpts, data)
    except smtplib.SMTPRecipientsRefused as e:
        for r, (code, msg) in e.recipients.items():
            print(f"rcpt {r}: {code} {msg.decode(errors='replace')}")
        return 2
    except smtplib.SMTPResponseException as e:
        print(f"refused: {e.smtp_code} {e.smtp_error.decode(errors='replace')}")
        return 2
    except smtplib.SMTPException as e:
        print(f"smtp error: {e}")
        return 2
    finally:
        try:
            smtp.quit()
        except smtplib.SMTPException:
            pass
    for r, (code, msg) in refused.items():
        print(f"rcpt {r}: {code} {msg.decode(errors='replace')}")
    print("accepted")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
