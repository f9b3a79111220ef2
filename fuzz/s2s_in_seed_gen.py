#!/usr/bin/python3
"""s2s_in_seed_gen.py: hand-written streams for s2s_in_fuzzer and
bounce_element_fuzzer.

Usage: s2s_in_seed_gen.py [REPO]  (default: the checkout this file is in)

Writes fuzz/corpus/s2s_in_fuzzer/hand-*: the first byte is the fuzzer's
flags (1 TLS active, 2 certificate valid for a.example, 4 plaintext allowed
for a.example, 8 dialback secret, 16 dialback verification refused, 32 route
answers service-unavailable, so stanzas bounce, 64 dialback answers valid,
128 dialback off), the second the chunk seed, the rest peer bytes: dialback
(answered valid and invalid, refused, disabled, without TLS, repeated, db:verify
with and without a key), SASL EXTERNAL (with and without an initial response,
abort, bad base64, another authzid, retries), stream errors, and stanzas of
each kind, routed and bounced, with addresses and ids that need escaping.

Writes fuzz/corpus/bounce_element_fuzzer/hand-*: the first byte is the
condition, the rest stanzas after the harness's own stream header.
"""
import base64
import os
import sys

HEADER = ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
          "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
          "%s to='b.example' version='1.0'>")
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
STREAMS = "urn:ietf:params:xml:ns:xmpp-streams"
# Whitespace longer than the largest chunk (64 bytes): the harness gives the
# dialback answer after each chunk, so what follows comes after the answer.
PAUSE = " " * 70

TLS, CERT, PLAIN, SECRET, REFUSE, BOUNCE, VALID, NO_DIALBACK = 1, 2, 4, 8, 16, 32, 64, 128


def header(frm="from='a.example'"):
    return HEADER % frm


def stanzas(frm="a.example", to="b.example"):
    """One of each kind, some twice (the routed-again path), one per type."""
    return "".join([
        "<message from='u@%s/r' to='v@%s' type='chat' id='m1'><body>hi</body></message>" % (frm, to),
        "<message from='u@%s/r' to='v@%s' id='m&amp;2&#9;&#13;&lt;&gt;&quot;&apos;'>"
        "<body>x</body></message>" % (frm, to),
        "<presence from='u@%s' to='v@%s'/>" % (frm, to),
        "<presence from='u@%s' to='v@%s' type='unavailable'/>" % (frm, to),
        "<iq from='%s' to='%s' type='get' id='q1'><ping xmlns='urn:xmpp:ping'/></iq>" % (frm, to),
        "<iq from='%s' to='%s' type='result' id='q1'/>" % (frm, to),
        "<message from='u@%s' to='v@%s' type='error' id='e1'/>" % (frm, to),
        "<message from='u@%s' to='%s/res' id='m3'/>" % (frm.upper(), to),
        "<message from='U@%s' to='v@%s' type='headline'/>" % (frm, to),
    ])


def sasl_external(payload="="):
    return "<auth xmlns='%s' mechanism='EXTERNAL'>%s</auth>" % (SASL, payload)


def db_result(frm="a.example", to="b.example", key="k3y"):
    return "<db:result from='%s' to='%s'>%s</db:result>" % (frm, to, key)


def close():
    return "</stream:stream>"


SEEDS = {
    # SASL EXTERNAL, then stanzas routed, bounced, and refused.
    "sasl-routed": (TLS | CERT, sasl_external() + header() + stanzas() + close()),
    "sasl-routed-then-bad-to": (TLS | CERT, sasl_external() + header() + stanzas() +
                                "<message from='a.example' to='@@'/>"),
    "sasl-bounced": (TLS | CERT | BOUNCE, sasl_external() + header() + stanzas() + close()),
    "sasl-authzid": (TLS | CERT | BOUNCE,
                     sasl_external(" %s\n" % base64.b64encode(b"a.example").decode()) + header() +
                     stanzas() + "<message from='a.example' to='c.example'/>"),
    "sasl-other-to": (TLS | CERT, sasl_external() + header() + stanzas() +
                      "<message from='u@a.example' to='v@c.example'/>"),
    "sasl-other-from": (TLS | CERT, sasl_external() + header() +
                        "<message from='u@d.example' to='v@b.example'/>"),
    "sasl-unhosted-to": (TLS | CERT, sasl_external() + header() +
                         "<message from='a.example' to='z.example'/>"),
    "sasl-bad-to": (TLS | CERT, sasl_external() + header() +
                    "<message from='a.example' to='@@'/>"),
    "sasl-no-to": (TLS | CERT, sasl_external() + header() + "<message from='a.example'/>"),
    "sasl-restart-changes": (TLS | CERT, sasl_external() + header("from='d.example'")),
    "sasl-restart-other-to": (TLS | CERT, sasl_external() +
                              header("from='a.example'").replace("b.example", "c.example")),
    "sasl-challenge": (TLS | CERT,
                       "<auth xmlns='%s' mechanism='EXTERNAL'/><response xmlns='%s'>=</response>" %
                       (SASL, SASL) + header() + stanzas()),
    "sasl-challenge-empty": (TLS | CERT,
                             "<auth xmlns='%s' mechanism='EXTERNAL'/><response xmlns='%s'/>" %
                             (SASL, SASL) + header() + stanzas()),
    "sasl-abort-retries": (TLS | CERT, "<auth xmlns='%s' mechanism='EXTERNAL'/><abort xmlns='%s'/>"
                           % (SASL, SASL) + sasl_external("!!!") +
                           sasl_external(base64.b64encode(b"c.example").decode()) + sasl_external()),
    "sasl-wrong-mechanism": (TLS | CERT, "<auth xmlns='%s' mechanism='PLAIN'>=</auth>" % SASL +
                             "<success xmlns='%s'/>" % SASL),
    "sasl-not-offered": (TLS, sasl_external() + sasl_external() + sasl_external()),
    "sasl-twice": (TLS | CERT, sasl_external() + header() + sasl_external()),
    "sasl-response-unasked": (TLS | CERT, "<response xmlns='%s'>=</response>" % SASL),
    # Dialback: answered valid, invalid, refused; without TLS; disabled.
    "dialback-valid": (TLS | SECRET | VALID, db_result() + PAUSE + stanzas() + db_result() +
                       db_result("a.example", "c.example") + PAUSE + stanzas("a.example", "c.example")
                       + close()),
    "dialback-valid-bounced": (TLS | VALID | BOUNCE, db_result() + PAUSE + stanzas() + close()),
    "dialback-invalid": (TLS, db_result() + PAUSE + stanzas()),
    "dialback-refused": (TLS | REFUSE | VALID, db_result() + PAUSE + db_result()),
    "dialback-pending-twice": (TLS, db_result() + db_result()),
    "dialback-cert": (TLS | CERT, db_result() + PAUSE + stanzas()),
    "dialback-disabled": (TLS | NO_DIALBACK, db_result() + stanzas()),
    "dialback-plaintext": (PLAIN | VALID, db_result() + PAUSE + stanzas() +
                           db_result("d.example") + "<message from='d.example' to='b.example'/>"),
    "dialback-plaintext-other": (PLAIN, db_result("d.example") + PAUSE +
                                 "<message from='a.example' to='b.example'/>"),
    "dialback-errors": (TLS, db_result("a.example", "z.example") + db_result(key="") +
                        "<db:result from='a.example' to='b.example'/>" + db_result("@@") +
                        db_result("a.example", "") + "<db:result to='b.example'>k</db:result>"),
    "dialback-many-pairs": (TLS, "".join(db_result("d%d.example" % i) for i in range(70))),
    "dialback-result-typed": (TLS, "<db:result from='a.example' to='b.example' type='valid'/>"),
    "dialback-verify": (TLS | SECRET,
                        "<db:verify from='a.example' to='b.example' id='abc'>k3y</db:verify>"
                        "<db:verify from='a.example' to='b.example' id='a&amp;b'>k3y</db:verify>"
                        "<db:verify from='a.example' to='b.example' id=\"a'b\">k3y</db:verify>"
                        "<db:verify from='a.example' to='z.example' id='abc'>k3y</db:verify>"
                        "<db:verify from='a.example' to='b.example'>k3y</db:verify>"
                        "<db:verify from='a.example' to='b.example' id='abc'/>"
                        "<db:verify from='a.example' to='' id='abc'>k</db:verify>"
                        "<db:verify to='b.example' id='abc'>k</db:verify>"
                        "<db:verify from='a.example' to='b.example' id='x' type='valid'/>"),
    "dialback-unknown": (TLS, "<db:other from='a.example' to='b.example'/>"),
    # Before authentication, and STARTTLS.
    "stanza-unauthenticated": (TLS, stanzas()),
    "stanza-tls-required": (0, stanzas()),
    "stanza-plain-unauthenticated": (PLAIN, stanzas()),
    "starttls-then-sasl": (CERT, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" + PAUSE +
                           header() + sasl_external() + header() + stanzas()),
    "starttls-under-tls": (TLS, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
    "unsupported-server-element": (TLS | CERT, sasl_external() + header() +
                                   "<foo from='a.example' to='b.example'/>"),
    "unsupported-namespace": (TLS, "<foo xmlns='urn:example'/>"),
    # Stream errors from the peer.
    "stream-error": (TLS, "<stream:error><text xmlns='%s'>bye</text><host-unknown xmlns='%s'/>"
                     "</stream:error>" % (STREAMS, STREAMS)),
    "stream-error-empty": (TLS, "<stream:error>text<text xmlns='%s'/></stream:error>" % STREAMS),
    # Headers.
    "header-no-from": (TLS, header("") + close()),
    "header-bad-from": (TLS, header("from='@@'")),
    "header-old-version": (TLS, header().replace("version='1.0'", "version='0.9'")),
    "header-unhosted": (TLS, header().replace("b.example", "z.example")),
    "xml-error": (TLS, "<message from='a.example' to='b.example'><unclosed></message>"),
}


def main(argv):
    repo = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    out = os.path.join(repo, "fuzz", "corpus", "s2s_in_fuzzer")
    for name, (flags, body) in sorted(SEEDS.items()):
        data = bytes([flags, 0])
        if not name.startswith("header-"):
            body = header() + body
        with open(os.path.join(out, "hand-" + name), "wb") as f:
            f.write(data + body.encode())
    out = os.path.join(repo, "fuzz", "corpus", "bounce_element_fuzzer")
    # service-unavailable (what the s2s_in fuzzer's route answers), and a
    # condition of each default error type.
    for cond in (0, 3, 4, 10, 17, 18, 21):
        with open(os.path.join(out, "hand-condition-%02d" % cond), "wb") as f:
            f.write(bytes([cond]) + stanzas().encode())
    print("wrote %d s2s_in seeds and bounce seeds" % len(SEEDS))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
