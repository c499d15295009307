#!/bin/bash
# tests/robustness/fuzz/gen-seeds.sh - write openssl-made S/MIME seed messages into
# the current directory for tests/robustness/fuzz/run.sh: detached and opaque
# signatures, signed-then-encrypted, a signed message attached as
# message/rfc822, a signature inside multipart/mixed, a broken boundary,
# a garbage signature part, a read report and a DSN.
set -eu
openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out c.pem -days 2 \
    -subj "/CN=seed/emailAddress=alice@corp.example" 2>/dev/null
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello, world.\r\n' >text.ent
{
    printf 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nbody\r\n'
    printf -- '--b1\r\nContent-Type: application/octet-stream; name="a.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    head -c 600 /dev/urandom | base64 -w 76 | sed 's/$/\r/'
    printf -- '--b1--\r\n'
} >mixed.ent
hdr='-from alice@corp.example -to bob@example.com -subject seed'
# shellcheck disable=SC2086
{
    openssl cms -sign -in text.ent -signer c.pem -inkey k.pem $hdr -crlfeol -out detached.eml
    openssl cms -sign -in mixed.ent -signer c.pem -inkey k.pem $hdr -crlfeol -out detached-mixed.eml
    openssl cms -sign -nodetach -in text.ent -signer c.pem -inkey k.pem $hdr -crlfeol -out opaque.eml
    openssl cms -sign -nodetach -binary -in mixed.ent -signer c.pem -inkey k.pem $hdr -crlfeol -out opaque-binary.eml
    openssl cms -sign -in text.ent -signer c.pem -inkey k.pem -crlfeol -out inner.ent
    openssl cms -encrypt -in inner.ent -aes128 $hdr -crlfeol -out signed-encrypted.eml c.pem
    openssl cms -encrypt -in text.ent -aes128 -crlfeol -out enc.ent c.pem
    openssl cms -sign -in enc.ent -signer c.pem -inkey k.pem $hdr -crlfeol -out encrypted-signed.eml
} 2>/dev/null
{
    printf 'From: alice@corp.example\r\nTo: bob@example.com\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n'
    printf 'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n--outer\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n'
    printf -- '--outer\r\nContent-Type: message/rfc822\r\n\r\n'
    cat detached.eml
    printf -- '\r\n--outer--\r\n'
} >attached.eml
{
    printf 'From: alice@corp.example\r\nTo: bob@example.com\r\nSubject: inner\r\nMIME-Version: 1.0\r\n'
    printf 'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n--outer\r\n'
    sed -n '/^MIME-Version/,$p' detached.eml | sed 1d
    printf -- '\r\n--outer--\r\n'
} >signed-in-mixed.eml
sed 's/^------\(.*\)--\r$/------\1\r/' detached.eml >no-closing-boundary.eml
awk 'BEGIN{s=0} /application\/(x-)?pkcs7-signature/ {s=1} s && /^[A-Za-z0-9+\/=]+\r?$/ {print "!!garbage!!\r"; next} {print}' detached.eml >garbage-sig.eml
{
    printf 'From: bob@example.com\r\nTo: alice@corp.example\r\nSubject: Read: hi\r\nMIME-Version: 1.0\r\n'
    printf 'Content-Type: multipart/report; report-type=disposition-notification; boundary="r"\r\n\r\n'
    printf -- '--r\r\nContent-Type: text/plain\r\n\r\nRead.\r\n--r\r\nContent-Type: message/disposition-notification\r\n\r\n'
    printf 'Final-Recipient: rfc822; bob@example.com\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n\r\n--r--\r\n'
} >read-report.eml
{
    printf 'From: MAILER-DAEMON@example.com\r\nTo: alice@corp.example\r\nSubject: Undelivered\r\nMIME-Version: 1.0\r\n'
    printf 'Content-Type: multipart/report; report-type=delivery-status; boundary="d"\r\n\r\n'
    printf -- '--d\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n--d\r\nContent-Type: message/delivery-status\r\n\r\n'
    printf 'Reporting-MTA: dns; mx.example.com\r\n\r\nFinal-Recipient: rfc822; x@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n'
    printf -- '--d\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: hi\r\n\r\n--d--\r\n'
} >dsn.eml
rm -f k.pem c.pem ./*.ent
ls
