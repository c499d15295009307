#!/usr/bin/env python3
"""timed_sink.py - an SMTP server that stands in for a mailbox server or an
archive, and records when each message arrived.

usage: timed_sink.py PORT LOG MODE [DELAY]

Listens on 127.0.0.1:PORT (many sessions at once, one thread each) and
appends one line per accepted message to LOG:
    ARRIVAL-UNIX-TIME MESSAGE-ID RCPT[,RCPT...]
MODE:
  healthy   answers at once
  slow      answers the final dot of each message after DELAY seconds
            (an archive that stores slowly)
  down      accepts connections and never says a word (a hung archive:
            the client waits for the greeting until its own timeout)
SIGTERM stops it; open sessions are dropped.
"""
import re
import signal
import socket
import socketserver
import sys
import threading
import time

port, log_path, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
log_lock = threading.Lock()
MSGID = re.compile(rb"^Message-ID:\s*(<[^>]*>)", re.I | re.M)


class Session(socketserver.StreamRequestHandler):
    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        if mode == "down":
            # Hold the connection open and silent until the client gives up.
            try:
                while self.request.recv(65536):
                    pass
            except OSError:
                pass
            return
        self.reply("220 sink.test ESMTP")
        rcpts = []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO"):
                self.reply("250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 DSN")
            elif cmd.startswith(b"HELO"):
                self.reply("250 sink.test")
            elif cmd.startswith(b"MAIL"):
                rcpts = []
                self.reply("250 2.1.0 ok")
            elif cmd.startswith(b"RCPT"):
                m = re.search(rb"<([^>]*)>", line)
                rcpts.append(m.group(1).decode(errors="replace") if m else "?")
                self.reply("250 2.1.5 ok")
            elif cmd == b"DATA":
                self.reply("354 go ahead")
                data = []
                while True:
                    d = self.rfile.readline()
                    if not d or d in (b".\r\n", b".\n"):
                        break
                    data.append(d)
                body = b"".join(data)
                if delay and mode == "slow":
                    time.sleep(delay)
                m = MSGID.search(body)
                msgid = m.group(1).decode(errors="replace") if m else "<none>"
                with log_lock, open(log_path, "a") as f:
                    f.write("%.6f %s %s\n" % (time.time(), msgid, ",".join(rcpts)))
                self.reply("250 2.0.0 stored")
            elif cmd == b"RSET" or cmd == b"NOOP":
                self.reply("250 ok")
            elif cmd == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 5.5.2 not here")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128


def main():
    srv = Server(("127.0.0.1", port), Session)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    srv.serve_forever()
    srv.server_close()


if __name__ == "__main__":
    main()
