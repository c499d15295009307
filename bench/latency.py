#!/usr/bin/env python3
"""SMTP timings for bench/concurrency.sh.

usage: latency.py HOST PORT SESSIONS MESSAGES SIZE
SESSIONS parallel SMTP sessions share MESSAGES messages of SIZE bytes
(plain text, one recipient).  For every message the time from the end
of data (the final ".") to the server's reply is taken: that is where a
milter's end-of-message work shows.  Prints
  latency: n=N ok=K p50_ms=X p99_ms=Y max_ms=Z wall_s=W
"""
import smtplib
import sys
import threading
import time


def main():
    host, port, sessions, messages, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    line = b"The quick brown fox jumps over the lazy dog 0123456789 abcdefghij.\r\n"
    lock = threading.Lock()
    times, ok = [], [0]
    left = [messages]

    def worker(w):
        smtp = smtplib.SMTP(host, port, timeout=600)
        smtp.ehlo("client.test.example")
        i = 0
        while True:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
            i += 1
            head = (f"From: alice@corp.example\r\nTo: bob@example.com\r\nSubject: lat {w}.{i}\r\n"
                    f"Message-ID: <lat-{w}-{i}@test.example>\r\n\r\n").encode()
            data = head + line * max(1, (size - len(head)) // len(line))
            smtp.mail("alice@corp.example")
            smtp.rcpt("bob@example.com")
            code, _ = smtp.docmd("DATA")
            if code != 354:
                smtp.rset()
                continue
            smtp.send(data + b".\r\n")
            t0 = time.perf_counter()
            code, _ = smtp.getreply()
            dt = time.perf_counter() - t0
            with lock:
                times.append(dt)
                ok[0] += code == 250
        smtp.quit()

    t0 = time.time()
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    times.sort()
    pct = lambda p: times[min(len(times) - 1, int(p * len(times)))] * 1000 if times else 0
    print(f"latency: n={len(times)} ok={ok[0]} p50_ms={pct(0.50):.2f} p99_ms={pct(0.99):.2f} "
          f"max_ms={times[-1] * 1000 if times else 0:.2f} wall_s={wall:.2f}")


if __name__ == "__main__":
    main()
