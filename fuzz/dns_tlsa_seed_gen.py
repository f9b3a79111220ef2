#!/usr/bin/env python3
"""dns_tlsa_seed_gen.py: writes the hand-made seeds of fuzz/dns_tlsa_fuzzer.

Usage: python3 fuzz/dns_tlsa_seed_gen.py [DIR]   (default fuzz/corpus/dns_tlsa_fuzzer)

Each seed is a response to TLSA _5269._tcp.xmpp.example.com with ID 0x1234,
shaped like a validating resolver's answers (RFC 4035 §3.2: AD bit, RRSIGs
beside the records, an EDNS0 OPT record with the DO bit). The output is
deterministic; the files are committed, and this script is how they were
made. The certificate of the full-certificate seed is
tests/crypto/dane_vectors/ee.pem.
"""
import base64
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dns_seed_gen import header, name, ptr, rr, write_seeds, C_IN, T_CNAME  # noqa: E402

T_TLSA, T_RRSIG, T_OPT = 52, 46, 41
QNAME = "_5269._tcp.xmpp.example.com"
HERE = os.path.dirname(os.path.abspath(__file__))


def question():
    return name(QNAME) + struct.pack(">HH", T_TLSA, C_IN)


def tlsa(usage, selector, mtype, data):
    return bytes([usage, selector, mtype]) + data


def rrsig(covered):
    # type covered, algorithm 13, labels 5, original TTL, expiration,
    # inception, key tag, signer, 64-byte signature
    return (struct.pack(">HBBIIIH", covered, 13, 5, 300, 0x7FFFFFFF, 0x5F000000, 4242) +
            name("example.com") + bytes(range(64)))


def opt():
    return b"\x00" + struct.pack(">HHIH", T_OPT, 1232, 0x8000, 0)


def msg(answers, ad=True, rcode=0, tc=False, additional=()):
    h = bytearray(header(an=len(answers), ar=len(additional), rcode=rcode, tc=tc))
    if ad:
        h[3] |= 0x20
    return bytes(h) + question() + b"".join(answers) + b"".join(additional)


def cert_der():
    pem = open(os.path.join(HERE, "..", "tests", "crypto", "dane_vectors", "ee.pem")).read()
    body = "".join(l for l in pem.splitlines() if not l.startswith("-----"))
    return base64.b64decode(body)


def seeds():
    q = ptr(12)
    h32, h64 = bytes(range(32)), bytes(range(64))
    return {
        "ee_311_ad_rrsig": msg([rr(q, T_TLSA, 300, tlsa(3, 1, 1, h32)),
                                rr(q, T_RRSIG, 300, rrsig(T_TLSA))], additional=[opt()]),
        "three_records": msg([rr(q, T_TLSA, 300, tlsa(3, 1, 1, h32)),
                              rr(q, T_TLSA, 200, tlsa(2, 0, 2, h64)),
                              rr(q, T_TLSA, 100, tlsa(0, 1, 0, b"\x30\x03\x02\x01\x00"))]),
        "full_certificate": msg([rr(q, T_TLSA, 300, tlsa(3, 0, 0, cert_der()))]),
        "unusable": msg([rr(q, T_TLSA, 300, tlsa(4, 1, 1, h32)),
                         rr(q, T_TLSA, 300, tlsa(3, 1, 1, h32[:31])),
                         rr(q, T_TLSA, 300, tlsa(3, 2, 1, h32)),
                         rr(q, T_TLSA, 300, tlsa(3, 1, 3, h32))], ad=False),
        "short_rdata": msg([rr(q, T_TLSA, 300, b"\x03\x01\x01"),
                            rr(q, T_TLSA, 300, tlsa(3, 1, 1, h32))]),
        "cname_to_tlsa": msg([rr(q, T_CNAME, 300, name("_5269._tcp.host.example.net")),
                              rr(name("_5269._tcp.host.example.net"), T_TLSA, 300,
                                 tlsa(3, 1, 1, h32))]),
        "nxdomain_secure": msg([], rcode=3),
        "servfail_bogus": msg([], ad=False, rcode=2),
        "truncated": msg([], tc=True),
        "rrsig_only": msg([rr(q, T_RRSIG, 300, rrsig(T_TLSA))]),
    }


def main():
    write_seeds(seeds(), "dns_tlsa_fuzzer")


if __name__ == "__main__":
    main()
