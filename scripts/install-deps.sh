#!/bin/bash
# Install everything building and testing needs on Debian 12 (as root).
# Safe to run again: apt-get skips what is already there.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root (it calls apt-get)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure the system instance; the tests only run
# private instances, so the system one gets no configuration.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
packages=(
    # build
    build-essential autoconf automake pkg-config
    libmilter-dev libgmime-3.0-dev libglib2.0-dev libssl-dev check
    libsystemd-dev libmicrohttpd-dev
    # end-to-end tests and tools they call
    postfix python3 python3-dkim openssl valgrind miltertest util-linux procps time bc
    # the ledger's interoperability test: Go's sumdb/note and sumdb/tlog, offline
    golang-go golang-golang-x-mod-dev
    sendmail-cf m4 man-db
    # libraries of the Sendmail that tests/lib/sendmail.sh unpacks (never installed: it conflicts with postfix)
    libwrap0 libdb5.3 libldap-2.5-0 liblockfile1 libnsl2 libsasl2-2
    # the real mailpiler archiver (tests/mta/postfix/piler.sh builds it from
    # ../shared/third_party) and its private database
    libmariadb-dev mariadb-server mariadb-client libzip-dev libtre-dev libwrap0-dev
    zlib1g-dev libcurl4-openssl-dev
    # packaging and operations tests
    dpkg-dev debhelper fakeroot systemd groff-base rpm
    # a real systemd as PID 1 for the package (debootstrapped Debian in systemd-nspawn)
    debootstrap systemd-container
    # the metrics test scrapes with a real Prometheus and lints with promtool
    prometheus curl
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# "postfix -c DIR" needs a default main.cf to list DIR in; with "No
# configuration" there is none yet.
[ -f /etc/postfix/main.cf ] || printf 'compatibility_level = 3.6\n' >/etc/postfix/main.cf
echo "install-deps: all build and test dependencies are present"
