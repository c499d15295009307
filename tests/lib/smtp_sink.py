#!/usr/bin/env python3
"""smtp_sink.py - a scripted SMTP listener for tests/unit/test_reinject.

    smtp_sink.py OUTDIR MODE

Listens on a free loopback port, writes it to OUTDIR/port, and records
every accepted message as OUTDIR/N.eml (the DATA bytes, dot-unstuffed)
and OUTDIR/N.env (MAIL and RCPT command lines exactly as received).
OUTDIR/connections counts sessions.  MODE:
  normal   ESMTP with PIPELINING, DSN and 8BITMIME
  nopipe   the same without PIPELINING (the client must wait for each reply)
  nodsn    no DSN in the EHLO reply
  hang     never answers the final dot
Recipients whose local part starts with "refuse" get 550.  As Postfix
does, DATA gets 554 when no recipient was accepted and 354 when one was;
a session that ends before the final dot records nothing.  OUTDIR/pipelined
counts sessions that sent a command before the previous one was answered.
"""
import os
import socket
import sys
import threading
import time

outdir, mode = sys.argv[1], sys.argv[2]
lock = threading.Lock()
state = {"connections": 0, "messages": 0}


def session(conn):
    f = conn.makefile("rb")
    rcpts = 0

    def send(line):
        conn.sendall(line.encode() + b"\r\n")

    send("220 sink ESMTP")
    env = []
    while True:
        line = f.readline()
        if not line:
            return
        cmd = line.rstrip(b"\r\n").decode("latin-1")
        verb = cmd[:4].upper()
        if verb in ("EHLO", "HELO"):
            send("250-sink")
            send("250-8BITMIME")
            if mode != "nopipe":
                send("250-PIPELINING")
            if mode != "nodsn":
                send("250-DSN")
            send("250 SIZE 0")
        elif verb == "MAIL":
            env = [cmd]
            rcpts = 0
            # Commands already waiting behind MAIL: the client pipelines.
            # (Non-blocking for the peek: a lock-step client sends nothing
            # until it has this reply.)
            conn.setblocking(False)
            try:
                ahead = f.peek(1)
            except (BlockingIOError, OSError):
                ahead = b""
            conn.setblocking(True)
            if ahead[:4].upper() in (b"RCPT", b"DATA"):
                with lock:
                    state["pipelined"] = state.get("pipelined", 0) + 1
                    with open(os.path.join(outdir, "pipelined"), "w") as out:
                        out.write(str(state["pipelined"]))
            send("250 2.1.0 Ok")
        elif verb == "RCPT":
            if cmd.upper().startswith("RCPT TO:<REFUSE"):
                send("550 5.1.1 refused")
            else:
                env.append(cmd)
                rcpts += 1
                send("250 2.1.5 Ok")
        elif verb == "DATA":
            if rcpts == 0:
                send("554 5.5.1 Error: no valid recipients")
                continue
            send("354 go ahead")
            data = bytearray()
            while True:
                dl = f.readline()
                if not dl:
                    return          # no final dot: nothing was sent
                if dl == b".\r\n":
                    break
                if dl.startswith(b"."):
                    dl = dl[1:]
                data += dl
            if mode == "hang":
                time.sleep(60)
                return
            with lock:
                state["messages"] += 1
                n = state["messages"]
            with open(os.path.join(outdir, "%d.eml" % n), "wb") as out:
                out.write(bytes(data))
            with open(os.path.join(outdir, "%d.env" % n), "w") as out:
                out.write("\n".join(env) + "\n")
            send("250 2.0.0 queued as %d" % n)
        elif verb == "RSET":
            env = []
            send("250 Ok")
        elif verb == "QUIT":
            send("221 Bye")
            return
        else:
            send("502 5.5.2 unknown")


def serve(conn):
    try:
        session(conn)
    except OSError:
        pass
    finally:
        conn.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
with open(os.path.join(outdir, "port.tmp"), "w") as p:
    p.write(str(srv.getsockname()[1]))
os.rename(os.path.join(outdir, "port.tmp"), os.path.join(outdir, "port"))
while True:
    c, _ = srv.accept()
    with lock:
        state["connections"] += 1
        with open(os.path.join(outdir, "connections"), "w") as out:
            out.write(str(state["connections"]))
    threading.Thread(target=serve, args=(c,), daemon=True).start()
