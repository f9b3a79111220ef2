#!/usr/bin/env python3
"""dns_seed_gen.py: writes the hand-made seeds of fuzz/dns_answer_fuzzer.

Usage: python3 fuzz/dns_seed_gen.py [DIR]   (default fuzz/corpus/dns_answer_fuzzer)

Each seed is a DNS response (RFC 1035 §4.1) to one of the harness's fixed
questions: SRV _xmpp-server._tcp.example.com, or A/AAAA xmpp.example.com.
All use transaction ID 0x1234. The output is deterministic; the files are
committed, and this script is how they were made.
"""
import os
import struct
import sys

ID = 0x1234
T_A, T_CNAME, T_SRV, T_AAAA = 1, 5, 33, 28
C_IN = 1
SRV_NAME = "_xmpp-server._tcp.example.com"
HOST = "xmpp.example.com"


def name(n):
    """Uncompressed wire form of a dotted name ("" or "." is the root)."""
    out = b""
    for label in n.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def ptr(off):
    return struct.pack(">H", 0xC000 | off)


def header(qd=1, an=0, ns=0, ar=0, rcode=0, tc=False, ident=ID):
    flags = 0x8000 | 0x0100 | 0x0080 | rcode  # QR, RD, RA
    if tc:
        flags |= 0x0200
    return struct.pack(">HHHHHH", ident, flags, qd, an, ns, ar)


def question(qname, qtype):
    return name(qname) + struct.pack(">HH", qtype, C_IN)


def rr(owner, rtype, ttl, rdata, rclass=C_IN):
    return owner + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def srv(prio, weight, port, target_wire):
    return struct.pack(">HHH", prio, weight, port) + target_wire


QNAME_OFF = 12  # the question name right after the header
# Offset of "example.com" inside the SRV question name.
SRV_EXAMPLE_OFF = QNAME_OFF + len(b"\x0c_xmpp-server\x04_tcp")
HOST_EXAMPLE_OFF = QNAME_OFF + len(b"\x04xmpp")


def srv_msg(answers, **kw):
    return header(an=len(answers), **kw) + question(SRV_NAME, T_SRV) + b"".join(answers)


def host_msg(qtype, answers, **kw):
    return header(an=len(answers), **kw) + question(HOST, qtype) + b"".join(answers)


def seeds():
    s = {}
    # Two targets, owner names compressed to the question (c00c).
    s["srv_two_targets"] = srv_msg([
        rr(ptr(QNAME_OFF), T_SRV, 300, srv(5, 10, 5269, name("xmpp1.example.com"))),
        rr(ptr(QNAME_OFF), T_SRV, 600, srv(10, 0, 5270, name("xmpp2.example.net"))),
    ])
    # Targets compressed into the question's "example.com" (RFC 2782 forbids
    # compression in SRV RDATA, but servers send it and dn_expand accepts it).
    s["srv_compressed_targets"] = srv_msg([
        rr(ptr(QNAME_OFF), T_SRV, 300, srv(0, 5, 5269, b"\x02s1" + ptr(SRV_EXAMPLE_OFF))),
        rr(ptr(QNAME_OFF), T_SRV, 300, srv(0, 5, 5269, b"\x02S2" + ptr(SRV_EXAMPLE_OFF))),
    ])
    # "." target: service decidedly not available (RFC 2782).
    s["srv_dot"] = srv_msg([rr(ptr(QNAME_OFF), T_SRV, 3600, srv(0, 0, 0, b"\x00"))])
    # Targets the parser skips: port 0, underscore, escaped dot, label > 63.
    s["srv_bad_targets"] = srv_msg([
        rr(ptr(QNAME_OFF), T_SRV, 300, srv(0, 0, 0, name("zero-port.example.com"))),
        rr(ptr(QNAME_OFF), T_SRV, 300, srv(0, 0, 5269, name("under_score.example.com"))),
        rr(ptr(QNAME_OFF), T_SRV, 300, srv(0, 0, 5269, b"\x03a.b\x03com\x00")),
        rr(ptr(QNAME_OFF), T_SRV, 300, srv(0, 0, 5269, b"\x40" + b"a" * 64 + b"\x00")),
        rr(ptr(QNAME_OFF), T_SRV, 300, srv(1, 1, 5269, name("ok.example.com"))),
    ])
    # More records than FG_DNS_MAX_RECORDS (64).
    s["srv_70_records"] = srv_msg([
        rr(ptr(QNAME_OFF), T_SRV, 300 + i,
           srv(i % 3, i, 5000 + i, bytes([len("h%d" % i)]) + b"h%d" % i + ptr(SRV_EXAMPLE_OFF)))
        for i in range(70)
    ])
    # Truncated: the resolver retries over TCP (RFC 7766 §5).
    s["srv_truncated"] = srv_msg([
        rr(ptr(QNAME_OFF), T_SRV, 300, srv(5, 10, 5269, name("xmpp1.example.com"))),
    ], tc=True)
    s["srv_nxdomain"] = srv_msg([], rcode=3)
    s["srv_servfail"] = srv_msg([], rcode=2)
    s["srv_nodata"] = srv_msg([])
    # A pointer loop: the SRV target points at itself.
    loop_msg = srv_msg([])
    target_off = len(loop_msg) + 2 + 10 + 6
    s["srv_pointer_loop"] = srv_msg([
        rr(ptr(QNAME_OFF), T_SRV, 300, srv(0, 0, 5269, ptr(target_off))),
    ])
    # A pointer loop in an owner name (a pointer to itself).
    owner_off = len(loop_msg)
    s["srv_owner_pointer_loop"] = srv_msg([
        rr(ptr(owner_off), T_SRV, 300,
           srv(0, 0, 5269, name("xmpp1.example.com"))),
    ])
    # A forward pointer (past the current name) and a pointer past the end.
    s["srv_pointer_past_end"] = srv_msg([
        rr(ptr(QNAME_OFF), T_SRV, 300, srv(0, 0, 5269, ptr(0x3FFF))),
    ])
    # A and AAAA answers.
    s["a_two"] = host_msg(T_A, [
        rr(ptr(QNAME_OFF), T_A, 120, bytes([192, 0, 2, 1])),
        rr(ptr(QNAME_OFF), T_A, 60, bytes([192, 0, 2, 2])),
    ])
    s["aaaa_one"] = host_msg(T_AAAA, [
        rr(ptr(QNAME_OFF), T_AAAA, 120, bytes.fromhex("20010db8000000000000000000000001")),
    ])
    # A and AAAA mixed in one answer (only the asked type counts) plus an
    # additional section.
    msg = header(an=2, ar=1) + question(HOST, T_A)
    msg += rr(ptr(QNAME_OFF), T_AAAA, 120, bytes.fromhex("20010db8000000000000000000000002"))
    msg += rr(ptr(QNAME_OFF), T_A, 120, bytes([198, 51, 100, 7]))
    msg += rr(name("ns.example.com"), T_A, 120, bytes([198, 51, 100, 53]))
    s["a_aaaa_mixed"] = msg
    # CNAME chain: xmpp.example.com -> alias1.example.com -> alias2.example.net.
    msg = header(an=3) + question(HOST, T_A)
    alias1_off = len(msg) + 2 + 10
    msg += rr(ptr(QNAME_OFF), T_CNAME, 500, b"\x06alias1" + ptr(HOST_EXAMPLE_OFF))
    msg += rr(ptr(alias1_off), T_CNAME, 400, name("alias2.example.net"))
    msg += rr(name("alias2.example.net"), T_A, 300, bytes([203, 0, 113, 9]))
    s["a_cname_chain"] = msg
    # CNAME loop: xmpp -> loop -> xmpp.
    msg = header(an=2) + question(HOST, T_AAAA)
    msg += rr(ptr(QNAME_OFF), T_CNAME, 500, name("loop.example.com"))
    msg += rr(name("loop.example.com"), T_CNAME, 500, ptr(QNAME_OFF))
    s["aaaa_cname_loop"] = msg
    # A CNAME with an empty RDATA followed by another record.
    msg = header(an=2) + question(HOST, T_A)
    msg += rr(ptr(QNAME_OFF), T_CNAME, 500, b"")
    msg += rr(name("other.example.org"), T_A, 300, bytes([203, 0, 113, 10]))
    s["a_cname_empty_rdata"] = msg
    # A TTL with the most significant bit set (RFC 2181 §8: treat as 0).
    s["a_ttl_msb"] = host_msg(T_A, [rr(ptr(QNAME_OFF), T_A, 0x80000001, bytes([192, 0, 2, 3]))])
    # Question in upper case with a trailing root label; answer of the wrong
    # length; an answer in class CH.
    msg = header(an=2) + question("XMPP.Example.COM", T_A)
    msg += rr(ptr(QNAME_OFF), T_A, 60, bytes([192, 0, 2, 4, 5]))
    msg += rr(ptr(QNAME_OFF), T_A, 60, bytes([192, 0, 2, 6]), rclass=3)
    s["a_case_and_bad_rdata"] = msg
    return s


def write_seeds(all_seeds, target):
    """Writes |all_seeds| (name -> bytes) into argv[1], or by default into
    fuzz/corpus/|target|."""
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", target)
    os.makedirs(out, exist_ok=True)
    for n, data in sorted(all_seeds.items()):
        with open(os.path.join(out, n), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(all_seeds), out))


def main():
    write_seeds(seeds(), "dns_answer_fuzzer")


if __name__ == "__main__":
    main()
