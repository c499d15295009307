# piler.sh - the real mailpiler archiver for tests: built once from
# the tarball in ../shared/third_party beside the checkout (cached by the tarball's
# SHA-256), a private MariaDB, pilerimport, and the piler-smtp + piler
# daemons.  Source it after tests/lib/e2e.sh:
#   piler_build || e2e_fail ...     sets PILER_PREFIX
#   piler_start DIR                 database, configuration, key
#   piler_import FILE               pilerimport -e FILE
#   piler_daemons_start PORT        piler-smtp on 127.0.0.1:PORT and piler
#   piler_sql "SELECT ..."          tab-separated rows
#   piler_stop                      (also on exit, through piler_cleanup)
#
# The build is piler's own: "./configure --prefix=... && make && make
# install".  Nothing of piler is copied into this tree.

PILER_TARBALL=${SJM_PILER_TARBALL:-}
PILER_CACHE=${SJM_PILER_CACHE:-/var/cache/sjm-piler}
PILER_PREFIX=
PILER_DIR=
PILER_DB_PID=
PILER_SMTP_PID=
PILER_DAEMON_PID=

piler_find_tarball() {
    local c
    for c in "$PILER_TARBALL" "${abs_top_srcdir:-.}/../shared/third_party/piler-d3f4b07c4e52.tar.gz"; do
        [ -n "$c" ] && [ -f "$c" ] && { PILER_TARBALL=$c; return 0; }
    done
    return 1
}

# piler_build: the installed tree for this tarball, built under a lock
# so parallel tests (and developers) build it once.
piler_build() {
    piler_find_tarball || { echo "piler tarball not found (set SJM_PILER_TARBALL)"; return 1; }
    local sum
    sum=$(sha256sum "$PILER_TARBALL" | cut -c1-16)
    PILER_PREFIX=$PILER_CACHE/$sum
    mkdir -p "$PILER_CACHE"
    (
        flock 9
        [ -x "$PILER_PREFIX/bin/pilerimport" ] && [ -f "$PILER_PREFIX/.complete" ] && exit 0
        rm -rf "$PILER_PREFIX" "$PILER_CACHE/src-$sum"
        mkdir -p "$PILER_CACHE/src-$sum"
        tar xzf "$PILER_TARBALL" -C "$PILER_CACHE/src-$sum" || exit 1
        cd "$PILER_CACHE/src-$sum" || exit 1
        {
            ./configure --prefix="$PILER_PREFIX" --with-piler-user=root &&
                make -j"$(nproc)" && make install
        } >"$PILER_CACHE/build-$sum.log" 2>&1 || { tail -n 30 "$PILER_CACHE/build-$sum.log"; exit 1; }
        # piler's sources stay in the tarball; the cache keeps the install.
        cp -r util "$PILER_PREFIX/share/sjm-util"
        gcc -shared -fPIC -o "$PILER_PREFIX/lib/sjm-syslog-stderr.so" -x c - <<'C' || exit 1
/* piler logs only through syslog(3); test machines have no /dev/log. */
#include <stdarg.h>
#include <stdio.h>
void vsyslog(int pri, const char *fmt, va_list ap) { (void)pri; vfprintf(stderr, fmt, ap); fputc('\n', stderr); }
void syslog(int pri, const char *fmt, ...) { va_list ap; va_start(ap, fmt); vsyslog(pri, fmt, ap); va_end(ap); }
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap) { (void)flag; vsyslog(pri, fmt, ap); }
void __syslog_chk(int pri, int flag, const char *fmt, ...) { va_list ap; (void)flag; va_start(ap, fmt); vsyslog(pri, fmt, ap); va_end(ap); }
C
        cd / && rm -rf "$PILER_CACHE/src-$sum"
        touch "$PILER_PREFIX/.complete"
    ) 9>"$PILER_CACHE/.lock"
}

piler_env() {
    LD_LIBRARY_PATH=$PILER_PREFIX/lib LD_PRELOAD=$PILER_PREFIX/lib/sjm-syslog-stderr.so "$@"
}

piler_sql() {
    mariadb --no-defaults -S "$PILER_DIR/db.sock" -u piler -ppilerpw -N -B piler -e "$1"
}

# piler_start DIR [HOSTID]: a fresh database and configuration in DIR.
piler_start() {
    PILER_DIR=$1
    local hostid=${2:-piler.archive.example} i
    # pilerget reads only the installed configuration: one test at a
    # time owns it, and no child of ours may keep the lock.
    if [ -z "${PILER_LOCK_FD:-}" ]; then
        exec {PILER_LOCK_FD}>"$PILER_CACHE/.run.lock"
        flock "$PILER_LOCK_FD"
    fi
    mkdir -p "$PILER_DIR/db" "$PILER_DIR/queue/00" "$PILER_DIR/work" "$PILER_DIR/tmp"
    mariadb-install-db --no-defaults --user=root --datadir="$PILER_DIR/db" \
        --auth-root-authentication-method=normal >"$PILER_DIR/db-install.log" 2>&1 ||
        { tail -n 20 "$PILER_DIR/db-install.log"; return 1; }
    mariadbd --no-defaults --user=root --datadir="$PILER_DIR/db" --socket="$PILER_DIR/db.sock" \
        --skip-networking --pid-file="$PILER_DIR/db.pid" --log-error="$PILER_DIR/db.err" \
        {PILER_LOCK_FD}>&- &
    PILER_DB_PID=$!
    for i in $(seq 1 300); do
        mariadb --no-defaults -S "$PILER_DIR/db.sock" -u root -e 'SELECT 1' >/dev/null 2>&1 && break
        kill -0 "$PILER_DB_PID" 2>/dev/null || { tail "$PILER_DIR/db.err"; return 1; }
        sleep 0.1
    done
    sed -e 's/MYSQL_DATABASE/piler/g' -e 's/MYSQL_USERNAME/piler/g' -e 's/MYSQL_PASSWORD/pilerpw/g' \
        -e 's/MYSQL_HOSTNAME/localhost/g' \
        "$PILER_PREFIX/share/sjm-util/db-mysql-root.sql.in" |
        mariadb --no-defaults -S "$PILER_DIR/db.sock" -u root || return 1
    piler_sql "SOURCE $PILER_PREFIX/share/sjm-util/db-mysql.sql" || return 1
    local conf=$PILER_PREFIX/etc/piler/piler.conf
    head -c 56 /dev/urandom >"$PILER_PREFIX/etc/piler/piler.key"
    awk -v sock="$PILER_DIR/db.sock" -v dir="$PILER_DIR" -v hostid="$hostid" '
        BEGIN {
            set["mysqlsocket"] = sock; set["mysqlpwd"] = "pilerpw"; set["mysqldb"] = "piler"
            set["mysqluser"] = "piler"; set["queuedir"] = dir "/queue"; set["workdir"] = dir "/work"
            set["pidfile"] = dir "/piler.pid"; set["username"] = "root"; set["rtindex"] = "0"
            set["hostid"] = hostid; set["listen_addr"] = "127.0.0.1"; set["verbosity"] = "5"
        }
        /^[a-z_]+=/ { k = substr($0, 1, index($0, "=") - 1); if (k in set) { print k "=" set[k]; done[k] = 1; next } }
        { print }
        END { for (k in set) if (!(k in done)) print k "=" set[k] }
    ' "$PILER_PREFIX/etc/piler/piler.conf.dist" >"$conf"
    cp "$conf" "$PILER_DIR/piler.conf"
}

piler_set() { # KEY VALUE: change the configuration
    local conf=$PILER_PREFIX/etc/piler/piler.conf
    if grep -q "^$1=" "$conf"; then sed -i "s|^$1=.*|$1=$2|" "$conf"; else echo "$1=$2" >>"$conf"; fi
}

piler_import() { # FILE
    piler_env "$PILER_PREFIX/bin/pilerimport" -e "$1" >>"$PILER_DIR/import.log" 2>&1
}

# piler_daemons_start PORT: piler-smtp writes what it receives into the
# queue, piler parses and stores it.
piler_daemons_start() {
    local port=$1 i
    piler_set listen_port "$port"
    # Started directly (not through a function, whose subshell would be
    # $!), and without the lock, which must end with this test.
    LD_LIBRARY_PATH=$PILER_PREFIX/lib LD_PRELOAD=$PILER_PREFIX/lib/sjm-syslog-stderr.so \
        "$PILER_PREFIX/sbin/piler-smtp" -c "$PILER_PREFIX/etc/piler/piler.conf" \
        >>"$PILER_DIR/smtp.log" 2>&1 {PILER_LOCK_FD}>&- &
    PILER_SMTP_PID=$!
    LD_LIBRARY_PATH=$PILER_PREFIX/lib LD_PRELOAD=$PILER_PREFIX/lib/sjm-syslog-stderr.so \
        "$PILER_PREFIX/sbin/piler" -c "$PILER_PREFIX/etc/piler/piler.conf" \
        >>"$PILER_DIR/piler.log" 2>&1 {PILER_LOCK_FD}>&- &
    PILER_DAEMON_PID=$!
    for i in $(seq 1 100); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), timeout=1).close()" \
            2>/dev/null && return 0
        sleep 0.1
    done
    tail "$PILER_DIR/smtp.log" "$PILER_DIR/piler.log"
    return 1
}

piler_stop() {
    local p
    for p in "$PILER_SMTP_PID" "$PILER_DAEMON_PID" "$PILER_DB_PID"; do
        [ -n "$p" ] || continue
        kill -TERM "$p" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    PILER_SMTP_PID= PILER_DAEMON_PID= PILER_DB_PID=
}
