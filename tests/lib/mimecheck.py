#!/usr/bin/env python3
"""mimecheck.py - independent MIME checks for the S/MIME tests (Python's
email package, not GMime, so the filter is not judged by its own parser).

  sigs FILE            number of S/MIME signatures visible (detached parts,
                       S/MIME multipart/signed, pkcs7-mime holding signedData),
                       attached messages included
  encin IN OUT         every enveloped-data part visible in IN appears byte
                       for byte in OUT; prints how many
  entity FILE          the top-level entity normalised for comparison:
                       Content-* fields (unfolded, names lower-cased, sorted
                       by name) and the body with CRLF as LF
  defects FILE         number of MIME defects Python finds
"""
import base64
import email
import email.policy
import sys

OID_SIGNED = bytes.fromhex("2a864886f70d010702")
OID_ENVELOPED = bytes.fromhex("2a864886f70d010703")
OID_AUTHENV = bytes.fromhex("2a864886f70d0109100117")


def load(path):
    with open(path, "rb") as f:
        return f.read()


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.compat32)


def cms_oid(part):
    """contentType OID bytes of a pkcs7-mime part, or None."""
    raw = part.get_payload(decode=False)
    if not isinstance(raw, str):
        return None
    cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    try:
        der = base64.b64decode("".join(raw.split())) if cte == "base64" else raw.encode("latin-1")
    except Exception:
        return None
    if len(der) < 4 or der[0] != 0x30:
        return None
    i = 2
    if der[1] & 0x80:
        i += der[1] & 0x7F
    if i + 2 > len(der) or der[i] != 0x06:
        return None
    return der[i + 2:i + 2 + der[i + 1]]


def is_pkcs7_mime(part):
    ct = part.get_content_type()
    if ct in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        return True
    name = (part.get_param("name") or part.get_filename() or "")
    return ct == "application/octet-stream" and str(name).lower().endswith(".p7m")


def count_sigs(msg):
    n = 0
    for part in msg.walk():
        ct = part.get_content_type()
        if ct in ("application/pkcs7-signature", "application/x-pkcs7-signature"):
            n += 1
        elif ct == "multipart/signed" and "pkcs7" in str(part.get_param("protocol") or "").lower():
            n += 1
        elif is_pkcs7_mime(part) and cms_oid(part) == OID_SIGNED:
            n += 1
    return n


def enveloped_payloads(msg):
    out = []
    for part in msg.walk():
        if is_pkcs7_mime(part) and cms_oid(part) in (OID_ENVELOPED, OID_AUTHENV):
            out.append(part.get_payload(decode=False))
    return out


def split_entity(data):
    i_crlf = data.find(b"\r\n\r\n")
    i_lf = data.find(b"\n\n")
    cands = [(i, l) for i, l in ((i_crlf, 4), (i_lf, 2)) if i >= 0]
    if data.startswith(b"\r\n"):
        return b"", data[2:]
    if data.startswith(b"\n"):
        return b"", data[1:]
    if not cands:
        return data, b""
    i, l = min(cands)
    return data[:i], data[i + l:]


def entity(data):
    head, body = split_entity(data)
    fields = []
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        elif line:
            fields.append(line)
    out = []
    for f in fields:
        name, _, value = f.partition(b":")
        if name.strip().lower().startswith(b"content-"):
            out.append(name.strip().lower() + b": " + b" ".join(value.split()))
    # Moving fields into the message header may reorder different names;
    # the order among fields of one name is kept (stable sort).
    out.sort(key=lambda line: line.split(b":", 1)[0])
    # SMTP ends every message with a line break, so the last line end of
    # a content (even a bare CR, as NSS writes one) is not compared.
    body = body.replace(b"\r\n", b"\n").rstrip(b"\r\n")
    return b"\n".join(out) + b"\n\n" + body


def main():
    cmd = sys.argv[1]
    if cmd == "sigs":
        print(count_sigs(parse(load(sys.argv[2]))))
    elif cmd == "encin":
        src = load(sys.argv[2])
        dst = load(sys.argv[3])
        pay = enveloped_payloads(parse(src))
        missing = [p for p in pay if p.encode("latin-1") not in dst]
        print(len(pay))
        sys.exit(1 if missing else 0)
    elif cmd == "entity":
        sys.stdout.buffer.write(entity(load(sys.argv[2])))
    elif cmd == "defects":
        msg = parse(load(sys.argv[2]))
        print(sum(len(p.defects) for p in msg.walk()))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
