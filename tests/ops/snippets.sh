#!/bin/bash
# etc/postfix-main.cf.snippet and etc/sendmail.mc.snippet: Postfix knows
# every parameter the snippet sets and accepts its values; Sendmail's m4
# configuration turns the snippet into the filter definition it documents
# (F=T, the timeouts, the default socket).  The Postfix snippet is also used
# verbatim by tests/ops/package.sh against a running filter.
set -u

srcdir=${abs_top_srcdir:?abs_top_srcdir is not set (run through make check)}
bin=${SJM_BIN:?SJM_BIN is not set (run through make check)}
pf=$srcdir/etc/postfix-main.cf.snippet
sm=$srcdir/etc/sendmail.mc.snippet
cfm4=/usr/share/sendmail/cf/m4/cf.m4

passed=0
failed=0
skipped=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
fail() { echo "FAIL - $1"; failed=$((failed + 1)); }
skip() { echo "SKIP: $1"; skipped=$((skipped + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

default_socket=$("$bin" --print-keys | sed -n 's/^socket = //p')

# ---------------------------------------------------------------- Postfix
if command -v postconf >/dev/null; then
    mkdir "$tmp/pf"
    cp "$pf" "$tmp/pf/main.cf"
    cp /etc/postfix/master.cf "$tmp/pf/master.cf" 2>/dev/null || : >"$tmp/pf/master.cf"
    params=$(sed -n 's/^\([a-z_]*\)[[:space:]]*=.*/\1/p' "$pf")
    if [ -n "$params" ]; then
        ok "the Postfix snippet sets $(echo $params | wc -w) parameters"
    else
        fail "no parameter found in $pf"
    fi
    unknown=""
    for p in $params; do
        postconf -d "$p" >/dev/null 2>&1 || unknown="$unknown $p"
    done
    if [ -z "$unknown" ]; then
        ok "Postfix knows every parameter of the snippet"
    else
        fail "parameters Postfix does not know:$unknown"
    fi
    warnings=$(postconf -c "$tmp/pf" -n 2>&1 >/dev/null)
    if [ -z "$warnings" ]; then
        ok "postconf reads the snippet without warnings"
    else
        fail "postconf warns: $(echo "$warnings" | head -3)"
    fi
    action=$(postconf -c "$tmp/pf" -h milter_default_action)
    if [ "$action" = tempfail ]; then
        ok "milter_default_action = tempfail (nothing passes unjournaled)"
    else
        fail "milter_default_action is \"$action\", the documented choice is tempfail"
    fi
    if [ "$(postconf -c "$tmp/pf" -h milter_protocol)" = 6 ]; then
        ok "milter_protocol = 6"
    else
        fail "milter_protocol is not 6"
    fi
    # non_smtpd_milters = $smtpd_milters must expand to the same socket.
    if [ "$(postconf -c "$tmp/pf" -xh non_smtpd_milters)" = "$(postconf -c "$tmp/pf" -h smtpd_milters)" ]; then
        ok "non_smtpd_milters uses the same filter as smtpd_milters"
    else
        fail "non_smtpd_milters and smtpd_milters differ"
    fi
    # Relative to the queue directory: the Debian package's socket.
    if [ "$(postconf -c "$tmp/pf" -h smtpd_milters)" = "unix:smime-journal-milter/milter.sock" ] \
        && grep -q 'socket = local:/var/spool/postfix/smime-journal-milter/milter.sock' \
            "$srcdir/packaging/debian/rules" "$srcdir/packaging/debian/smime-journal-milter.README.Debian"; then
        ok "smtpd_milters names the Debian package's socket inside the chroot"
    else
        fail "smtpd_milters does not match the socket the Debian package configures"
    fi
    # etc/postfix-master.cf.snippet: the re-injection listener.
    mkdir "$tmp/pfm"
    cp "$pf" "$tmp/pfm/main.cf"
    cp "$srcdir/etc/postfix-master.cf.snippet" "$tmp/pfm/master.cf"
    reinject=$("$bin" --print-keys | sed -n 's/^reinject = //p')
    svc=$(postconf -c "$tmp/pfm" -M 2>&1 | awk '$2 == "inet" && $NF != "" { print $1 }' | head -n 1)
    if [ "$svc" = "$reinject" ]; then
        ok "the master.cf snippet's listener is the program's default [milter] reinject ($reinject)"
    else
        fail "the master.cf snippet's listener \"$svc\" is not [milter] reinject \"$reinject\""
    fi
    case "$svc" in
        127.0.0.1:*) ok "the re-injection listener is on loopback only" ;;
        *) fail "the re-injection listener \"$svc\" is not on 127.0.0.1" ;;
    esac
    # The listener is guarded by the filter itself: the same socket as
    # main.cf's smtpd_milters, and only it; the {daemon_name} the filter
    # knows as its listener; tempfail when the filter is away.
    daemon=$("$bin" --print-keys | sed -n 's/^reinject_daemon_name = //p')
    lm=$(postconf -c "$tmp/pfm" -Ph "$svc/inet/smtpd_milters" 2>/dev/null)
    if [ -n "$svc" ] && [ -n "$lm" ] && [ "$lm" = "$(postconf -c "$tmp/pfm" -h smtpd_milters)" ]; then
        ok "the re-injection listener keeps the filter as its only milter ($lm)"
    else
        fail "the re-injection listener's smtpd_milters \"$lm\" is not main.cf's filter socket"
    fi
    if [ -n "$daemon" ] && [ "$(postconf -c "$tmp/pfm" -Ph "$svc/inet/milter_macro_daemon_name" 2>/dev/null)" = "$daemon" ]; then
        ok "the listener's {daemon_name} is the program's default reinject_daemon_name ($daemon)"
    else
        fail "the listener's milter_macro_daemon_name is not reinject_daemon_name \"$daemon\""
    fi
    if [ "$(postconf -c "$tmp/pfm" -Ph "$svc/inet/milter_default_action" 2>/dev/null)" = tempfail ] \
        && ! postconf -c "$tmp/pfm" -Ph "$svc/inet/receive_override_options" 2>/dev/null | grep -qw no_milters; then
        ok "the listener tempfails while the filter is away and does not switch milters off"
    else
        fail "the listener lacks milter_default_action=tempfail, or switches milters off"
    fi
    warnings=$(postconf -c "$tmp/pfm" -M 2>&1 >/dev/null)
    if [ -z "$warnings" ]; then
        ok "postconf reads the master.cf snippet without warnings"
    else
        fail "postconf warns about the master.cf snippet: $(echo "$warnings" | head -3)"
    fi
    # The journal transport: main.cf and master.cf snippets together.
    mkdir "$tmp/pfj"
    cat "$pf" "$srcdir/etc/postfix-journal-transport.main.cf.snippet" >"$tmp/pfj/main.cf"
    cat "$srcdir/etc/postfix-master.cf.snippet" "$srcdir/etc/postfix-journal-transport.master.cf.snippet" \
        >"$tmp/pfj/master.cf"
    warnings=$( (postconf -c "$tmp/pfj" -n; postconf -c "$tmp/pfj" -M) 2>&1 >/dev/null)
    if [ -z "$warnings" ]; then
        ok "postconf reads the journal transport snippets without warnings (its parameters are in use)"
    else
        fail "postconf warns about the journal transport snippets: $(echo "$warnings" | head -3)"
    fi
    jmap=$(postconf -c "$tmp/pfj" -xh transport_maps)
    if [ "$(postmap -q journal@archive.example.com "$jmap" 2>/dev/null)" = "journal:" ]; then
        ok "transport_maps routes the journal mailbox to the journal transport"
    else
        fail "transport_maps ($jmap) does not route journal@archive.example.com to journal:"
    fi
    jline=$(postconf -c "$tmp/pfj" -M journal/unix 2>/dev/null)
    if [ "$(echo "$jline" | awk '{ print $7, $8 }')" = "4 smtp" ]; then
        ok "master.cf has the journal transport: an smtp client with its own process limit (4)"
    else
        fail "no journal/unix smtp service with maxproc 4: $jline"
    fi
    if [ "$(postconf -c "$tmp/pfj" -h journal_destination_concurrency_limit)" = 2 ] \
        && [ "$(postconf -c "$tmp/pfj" -h default_destination_concurrency_limit)" -gt 2 ]; then
        ok "the journal transport has its own, lower, concurrency limit"
    else
        fail "journal_destination_concurrency_limit is not 2 below the default"
    fi
else
    skip "postconf is not installed (apt-get install postfix); the Postfix snippet was NOT checked"
fi

# --------------------------------------------------------------- Sendmail
if command -v m4 >/dev/null && [ -f "$cfm4" ]; then
    cat >"$tmp/test.mc" <<MC
divert(-1)
include(\`$cfm4')
divert(0)dnl
OSTYPE(\`linux')dnl
DOMAIN(\`generic')dnl
include(\`$sm')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
MC
    if m4 "$tmp/test.mc" >"$tmp/test.cf" 2>"$tmp/m4.err" && [ ! -s "$tmp/m4.err" ]; then
        ok "sendmail.cf builds from the Sendmail snippet"
    else
        fail "m4 failed on the Sendmail snippet: $(head -3 "$tmp/m4.err")"
    fi
    xline=$(grep '^Xsmime-journal-milter,' "$tmp/test.cf")
    if [ -n "$xline" ]; then
        ok "the snippet defines the filter: $xline"
    else
        fail "no Xsmime-journal-milter line in the generated sendmail.cf"
    fi
    if grep -q '^O InputMailFilters=smime-journal-milter$' "$tmp/test.cf"; then
        ok "the filter is in InputMailFilters"
    else
        fail "InputMailFilters does not list smime-journal-milter"
    fi
    daemon=$("$bin" --print-keys | sed -n 's/^reinject_daemon_name = //p')
    if grep -q "^O DaemonPortOptions=Port=10026, Addr=127.0.0.1, Name=$daemon, InputMailFilters=smime-journal-milter\$" "$tmp/test.cf"; then
        ok "the re-injection daemon $daemon keeps the filter (InputMailFilters=smime-journal-milter)"
    else
        fail "no re-injection daemon Name=$daemon with InputMailFilters=smime-journal-milter"
    fi
    case "$xline" in
        *"F=T"*) ok "F=T: mail is tempfailed while the filter is down" ;;
        *) fail "the filter definition lacks F=T" ;;
    esac
    case "$xline" in
        *"T=C:"*";S:"*";R:"*";E:"*) ok "connect, send, read and end-of-message timeouts are set" ;;
        *) fail "the filter definition lacks T=C:..;S:..;R:..;E:.." ;;
    esac
    case "$xline" in
        *"S=$default_socket,"*) ok "S= is the program's default socket ($default_socket)" ;;
        *) fail "S= is not the program's default socket $default_socket" ;;
    esac
    qline=$(grep '^Qjournal,' "$tmp/test.cf")
    case "$qline" in
        *"P=/var/spool/mqueue/journal"*"N=10"*) ok "the snippet defines the journal queue group: $qline" ;;
        *) fail "no Qjournal queue group with its own directory and nice value: $qline" ;;
    esac
    if grep -q '^Squeuegroup' "$tmp/test.cf" && grep -qi '<! qgrp>' "$tmp/test.cf"; then
        ok "FEATURE(queuegroup) picks queue groups from the access map (QGRP:)"
    else
        fail "the queuegroup ruleset reading QGRP: entries is missing"
    fi
    if grep -q '^O Milter.macros.envfrom=i,' "$tmp/test.cf"; then
        ok "Sendmail sends the queue id {i} at MAIL FROM"
    else
        fail "Milter.macros.envfrom lacks i (the queue id of the log line)"
    fi
else
    skip "Sendmail's m4 configuration is not installed (apt-get install sendmail-cf m4); the Sendmail snippet was NOT checked"
fi

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
