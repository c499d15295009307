#!/bin/bash
# A message through real Postfix and the filter arrives byte-identical
# (apart from Postfix's own trace fields) when the filter has nothing to
# do: journaling off, signatures preserved.  Also checks that the filter
# was really consulted (its per-message log line carries the queue id
# Postfix logged) and that SIGHUP reloads without stopping it.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
data=$abs_top_srcdir/tests/data
corpus=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$corpus" ] || e2e_fail "corpus not found: $corpus (set SJM_CORPUS)"

conf=$(mktemp /tmp/sjm-pass.XXXXXX.conf)
cat >"$conf" <<CF
[journal]
enabled = false
[signatures]
action = preserve
CF
e2e_start "$conf"

same_as_sent() {   # delivered-file original
    [ -n "$1" ] && diff <(e2e_strip_trace "$1") <(e2e_lf "$2") | head -n 20 | cat -A
    [ -n "$1" ] && cmp -s <(e2e_strip_trace "$1") <(e2e_lf "$2")
}

# 1. plain text, LF file
e2e_send "$data/plain.eml" alice@corp.example bob@corp.example >/dev/null
e2e_wait_idle || e2e_fail "delivery did not finish"
msg=$(e2e_messages bob@corp.example | tail -n 1)
e2e_check "plain message delivered" test -n "$msg"
e2e_check "plain message byte-identical apart from trace fields" same_as_sent "$msg" "$data/plain.eml"

# 2. real S/MIME from Thunderbird (CRLF files), preserved byte-exact
n=0
for f in alice.dsig.SHA256.multipart.eml alice.sig.SHA256.opaque.eml alice.env.eml nested-sigs.eml; do
    [ -f "$corpus/$f" ] || e2e_fail "corpus file $corpus/$f missing"
    rcpt="r$n@corp.example"
    e2e_send "$corpus/$f" alice@corp.example "$rcpt" >/dev/null
    e2e_wait_idle || e2e_fail "delivery did not finish"
    msg=$(e2e_messages "$rcpt" | tail -n 1)
    e2e_check "$f delivered byte-identical" same_as_sent "$msg" "$corpus/$f"
    n=$((n + 1))
done

# 3. the filter saw every message: one log line per message with the queue id
qids=$(grep -o 'postfix/cleanup\[[0-9]*\]: [0-9A-F]*' "$(e2e_postfix_log)" | awk '{print $2}')
seen=0
for q in $qids; do
    grep -q "^smime-journal-milter: $q: from=<alice@corp.example> rcpts=1 signature=" "$(e2e_filter_log)" && seen=$((seen + 1))
done
e2e_check "filter logged one line per message with Postfix's queue id ($seen of 5)" test "$seen" -eq 5

# 4. SIGHUP reloads; a broken file is refused and the old one stays
printf '[journal]\nenabled = false\nbogus = 1\n' >"$conf.bad"
e2e_reload "$conf.bad"
sleep 0.5
e2e_check "invalid config on SIGHUP is logged with file and line" \
    grep -q "filter.conf:3: unknown key bogus in \[journal\]" "$(e2e_filter_log)"
e2e_check "filter keeps running after a bad reload" kill -0 "$E2E_FILTER_PID"
e2e_reload "$conf"
sleep 0.5
e2e_check "valid config on SIGHUP is reloaded" grep -q "reloaded configuration" "$(e2e_filter_log)"
e2e_send "$data/plain.eml" alice@corp.example after-reload@corp.example >/dev/null
e2e_wait_idle
e2e_check "mail flows after reloads" test "$(e2e_count after-reload@corp.example)" -eq 1

# 5. the socket was made as root, then root was given up
sock=$E2E_DIR/milter/milter.sock
e2e_check "filter runs as nobody after start" test "$(ps -o user= -p "$E2E_FILTER_PID")" = nobody
e2e_check "socket is mode 0660, owned by nobody:postfix" \
    test "$(stat -c '%a %U %G' "$sock")" = "660 nobody postfix"

# 6. SIGTERM lets a transaction in flight finish, then stops
rm -f "$E2E_DIR/ready" "$E2E_DIR/go"
python3 "$E2E_LIB/slow_smtp.py" "$E2E_PORT" alice@corp.example inflight@corp.example \
    "$E2E_DIR/ready" "$E2E_DIR/go" >"$E2E_DIR/slow.out" 2>&1 &
slow=$!
for i in $(seq 1 100); do [ -e "$E2E_DIR/ready" ] && break; sleep 0.1; done
kill -TERM "$E2E_FILTER_PID"
sleep 1
e2e_check "filter still serves the open transaction after SIGTERM" kill -0 "$E2E_FILTER_PID"
touch "$E2E_DIR/go"
wait "$slow"
e2e_check "the in-flight message was accepted (250)" grep -qx 250 "$E2E_DIR/slow.out"
e2e_wait_idle
e2e_check "the in-flight message was delivered" test "$(e2e_count inflight@corp.example)" -eq 1
e2e_check "the filter logged it before stopping" grep -q "rcpts=1 signature=none journal=disabled" "$(e2e_filter_log)"
e2e_stop_filter
e2e_check "SIGTERM stops the filter with status 0" test "$E2E_FILTER_STATUS" -eq 0
e2e_check "stop is logged" grep -q "stopped" "$(e2e_filter_log)"

# 7. a stale socket file left by a crash does not keep the filter down
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
e2e_check "a stale socket file exists" test -S "$sock"
"$SJM_BIN" -f -c "$E2E_DIR/filter.conf" -p "unix:$sock" -u nobody:postfix >>"$E2E_DIR/filter.log" 2>&1 &
E2E_FILTER_PID=$!
sleep 1
e2e_send "$data/plain.eml" alice@corp.example after-stale@corp.example >/dev/null
e2e_wait_idle
e2e_check "filter started over the stale socket and mail flows" test "$(e2e_count after-stale@corp.example)" -eq 1
e2e_stop_filter

# 8. inet: sockets
port=$((30025 + E2E_SLOT))
"$SJM_BIN" -f -c "$E2E_DIR/filter.conf" -p "inet:$port@127.0.0.1" -u nobody:postfix >>"$E2E_DIR/filter.log" 2>&1 &
E2E_FILTER_PID=$!
up=no
for i in $(seq 1 50); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null && { up=yes; break; }
    sleep 0.1
done
e2e_check "inet:PORT@127.0.0.1 listens" test "$up" = yes
e2e_stop_filter
rm -f "$conf" "$conf.bad"
e2e_finish
