#!/usr/bin/python3
"""XEP-0288 bidirectional server-to-server streams, end to end.

  fedgate A (a.test) <-> fedgate B (b.test)        one TCP connection both ways
  fedgate A <-> Prosody 0.12.3 other.test          Prosody opens, bidi both ways
  fedgate A <-> Prosody 0.12.3 remote.test         fedgate opens, bidi both ways
  scripted peers (xmpp_peer.Peer)                  refusals: stanzas sent back
                                                   before authentication or with
                                                   a spoofed 'from'; a bidi stream
                                                   whose pair is not authenticated

Connections are counted from the kernel's table (/proc/net/tcp), and each
gateway's /streams and `fedgate ctl streams` say which streams are
bidirectional. Every gateway has one worker: bidi streams serve the worker
that owns them (docs/federation.md).

usage: bidi_test.py FEDGATE_BINARY
"""

import os
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fault_proxy  # noqa: E402
import fedgate_proc as fp  # noqa: E402
import prosody as pr  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = fp.HOST
ONE_WORKER = ("workers: 2", "workers: 1")


def established_to(port):
    """Established TCP connections on loopback whose server side is |port|
    (counted once, from the connecting socket's entry)."""
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(path).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "01" and int(f[2].split(":")[1], 16) == port:
                n += 1
    return n


def streams(g):
    url = "http://%s:%d/streams" % (HOST, g.admin_port)
    return urllib.request.urlopen(url, timeout=5).read().decode().splitlines()


def lines_with(g, *words):
    return [l for l in streams(g) if all(w in l.split() for w in words)]


def wait_until(pred, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("never: " + what)


class BidiPeer:
    """A scripted receiving server for |domain| that offers bidi, accepts
    fedgate's SASL EXTERNAL and, once fedgate wrote a stanza (or, with
    |early|, as soon as bidi and SASL were asked for), sends |reverse| back
    on the same stream (|reverse| may be a function that writes to the
    peer itself); .error is the stream error fedgate answered with."""

    def __init__(self, certfile, keyfile, cafile, reverse, early=False):
        self.ctx = xp.tls_server_context(certfile, keyfile, cafile)
        self.reverse, self.early = reverse, early
        self.error = None
        self.got = []
        self.done = threading.Event()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = fp.free_port()
        self.sock.bind((HOST, self.port))
        self.sock.listen(4)
        threading.Thread(target=self._serve, daemon=True).start()

    def _header(self, p):
        hdr = p.read_header()
        p.send("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='%s' "
               "xmlns:db='%s' from='%s' to='%s' id='bidi-%d' version='1.0'>"
               % (xp.NS_STREAM, xp.NS_DB, hdr.get("to"), hdr.get("from"), time.time_ns()))

    def _serve(self):
        conn, _ = self.sock.accept()
        p = xp.Peer(conn, timeout=20)
        try:
            self._header(p)
            p.send("<stream:features><starttls xmlns='%s'><required/></starttls>"
                   "</stream:features>" % xp.NS_TLS)
            assert p.read_element().tag == xp.q(xp.NS_TLS, "starttls")
            p.send("<proceed xmlns='%s'/>" % xp.NS_TLS)
            p.sock = self.ctx.wrap_socket(p.sock, server_side=True)
            p.reader.reset()
            p.pending = []
            self._header(p)
            p.send("<stream:features><mechanisms xmlns='%s'><mechanism>EXTERNAL</mechanism>"
                   "</mechanisms><bidi xmlns='urn:xmpp:features:bidi'/></stream:features>"
                   % xp.NS_SASL)
            first = p.read_element()
            self.got.append(first.tag)
            auth = p.read_element()
            self.got.append(auth.tag)
            send = self.reverse if callable(self.reverse) else p.send
            if self.early:
                send(p if callable(self.reverse) else self.reverse)
            else:
                p.send("<success xmlns='%s'/>" % xp.NS_SASL)
                p.reader.reset()
                p.pending = []
                self._header(p)
                p.send("<stream:features/>")
                while True:
                    el = p.read_element()
                    self.got.append(el.tag)
                    if el.tag.endswith("}message"):
                        break
                send(p if callable(self.reverse) else self.reverse)
            self.error = p.expect_stream_error()
        except Exception as e:  # noqa: BLE001
            self.error = self.error or "peer script: %r" % e
        finally:
            self.done.set()
            p.close()

    def close(self):
        self.sock.close()


class World:
    def __init__(self):
        self.dir = d = tempfile.mkdtemp(prefix="fedgate-bidi-")
        os.chmod(d, 0o755)  # prosodyctl drops to the prosody user
        os.chdir(d)
        fp.dev_pki(FEDGATE, "pki", "a.test", "b.test", "b2.test", "c.test", "d.test", "e.test", "f.test",
                   "g.test", "remote.test", "other.test")
        fp.dev_pki(FEDGATE, "ica", "unused.test")
        self.children = []
        self.pa, self.pb = ({k: fp.free_port() for k in ("s2s", "tls", "internal", "admin",
                                                          "sink")} for _ in range(2))
        ica = d + "/ica/ca.crt"
        self.sink_a = xp.ReceivingServer(HOST, self.pa["sink"], "pki/a.test.crt",
                                         "pki/a.test.key", client_ca=ica)
        self.sink_b = xp.ReceivingServer(HOST, self.pb["sink"], "pki/b.test.crt",
                                         "pki/b.test.key", client_ca=ica,
                                         sni_certs={"b2.test": ("pki/b2.test.crt",
                                                                "pki/b2.test.key")})
        # d.test's server: the target of B's link when no bidi stream may
        # carry the stanza, and d.test's authoritative server (it knows no
        # key: every dialback verification is answered invalid).
        self.d_port = fp.free_port()
        self.d_server = xp.ReceivingServer(HOST, self.d_port, "pki/d.test.crt", "pki/d.test.key",
                                           client_ca="pki/ca.crt")
        self.spoofer = BidiPeer("pki/e.test.crt", "pki/e.test.key", "pki/ca.crt",
                                "<message from='mallory@evil.test' to='alice@a.test' id='s1'>"
                                "<body>spoofed</body></message>")
        self.early = BidiPeer("pki/f.test.crt", "pki/f.test.key", "pki/ca.crt",
                              "<message from='f.test' to='alice@a.test' id='e1'>"
                              "<body>early</body></message>", early=True)
        self.flood = BidiPeer("pki/g.test.crt", "pki/g.test.key", "pki/ca.crt", flood_back)
        self.other = pr.Prosody(d + "/other", "other.test", fp.free_port(), fp.free_port(),
                                "pki/other.test.crt", "pki/other.test.key", "pki/ca.crt",
                                fedgate_port=self.pa["s2s"], users=[("carol", "secret")],
                                bidi=True, smacks=True)
        self.children.append(self.other)
        self.remote = pr.Prosody(d + "/remote", "remote.test", fp.free_port(), fp.free_port(),
                                 "pki/remote.test.crt", "pki/remote.test.key", "pki/ca.crt",
                                 fedgate_port=self.pa["s2s"], users=[("dave", "secret")],
                                 bidi=True, smacks=True)
        self.children.append(self.remote)
        fp.write_secret("secret-a", "bidi-secret-a")
        fp.write_secret("secret-b", "bidi-secret-b")
        dead = fp.free_port()  # c.test has no server: only its bidi stream reaches it
        # A reaches b2.test (hosted by B too) through a fault proxy.
        self.proxy = fault_proxy.FaultProxy(self.pb["s2s"])
        a_cfg = fp.gateway_yaml(
            self.pa, [("a.test", "sink", "pki/a.test")], [("sink", [self.pa["sink"]])],
            secret="secret-a",
            static=[("b.test", self.pb["s2s"]), ("b2.test", self.proxy.port),
                    ("e.test", self.spoofer.port),
                    ("f.test", self.early.port), ("g.test", self.flood.port),
                    ("other.test", self.other.s2s_port),
                    ("remote.test", self.remote.s2s_port)]).replace(*ONE_WORKER)
        # g.test's flood is over its domain's rate for longer than sustained.
        a_cfg += ("abuse:\n  limits:\n    domain_stanzas: 100\n    burst: 1s\n"
                  "    sustained: 1s\n")
        b_cfg = fp.gateway_yaml(
            self.pb, [("b.test", "sink", "pki/b.test"), ("b2.test", "sink", "pki/b2.test")],
            [("sink", [self.pb["sink"]])],
            secret="secret-b",
            static=[("a.test", self.pa["s2s"]), ("c.test", dead),
                    ("d.test", self.d_port)]).replace(*ONE_WORKER)
        # A window short enough to see one pass (XEP-0198 §5).
        b_cfg += "stream_management:\n  resume_timeout: 3s\n"
        self.a = fp.Fedgate(FEDGATE, d, "a", a_cfg, self.pa["admin"])
        self.children.append(self.a)
        self.b = fp.Fedgate(FEDGATE, d, "b", b_cfg, self.pb["admin"])
        self.children.append(self.b)
        self.senders = {}

    def sender(self, port, domain, to):
        """|domain|'s internal server on the internal listener |port|, on a
        stream to |to| (one per pair: SASL authenticates the header's pair)."""
        if (port, domain, to) in self.senders:
            return self.senders[(port, domain, to)]
        p = xp.Peer.connect(HOST, port)
        p.open_authenticated(to, domain, certfile="pki/%s.crt" % domain,
                             keyfile="pki/%s.key" % domain)
        self.senders[(port, domain, to)] = p
        return p

    def close(self):
        for p in self.senders.values():
            p.close()
        fp.stop_all(self.children)
        for s in (self.sink_a, self.sink_b, self.d_server, self.spoofer, self.early, self.flood,
                  self.proxy):
            s.close()


def exchange(w, a_domain, b_domain, tag):
    """a_domain (on A) sends to b_domain (on B), then b_domain answers; each
    message is awaited at its sink. Returns both internal senders."""
    a_out = w.sender(w.pa["internal"], a_domain, b_domain)
    a_out.send_message("alice@%s/x" % a_domain, "bob@%s" % b_domain, "to-%s" % tag)
    xp.wait_for(w.sink_b, xp.body_is("to-%s" % tag))
    b_out = w.sender(w.pb["internal"], b_domain, a_domain)
    b_out.send_message("bob@%s/y" % b_domain, "alice@%s" % a_domain, "from-%s" % tag)
    xp.wait_for(w.sink_a, xp.body_is("from-%s" % tag))
    return a_out, b_out


def test_xep0288_1_fedgate_pair_both_directions_on_one_connection(w):
    links0 = w.a.metric("bidi_links_total")
    acked0 = w.b.metric("stanzas_acked_total")
    received0 = w.a.metric("bidi_stanzas_received_total")
    # B answers over the stream A opened: no link from B to a.test.
    a_out, b_out = exchange(w, "a.test", "b.test", "b-1")
    a_out.send_message("alice@a.test/x", "bob@b.test", "to-b-2")
    b_out.send_message("bob@b.test/y", "alice@a.test", "to-a-2")
    xp.wait_for(w.sink_b, xp.body_is("to-b-2"))
    xp.wait_for(w.sink_a, xp.body_is("to-a-2"))
    assert established_to(w.pb["s2s"]) == 1, established_to(w.pb["s2s"])
    assert established_to(w.pa["s2s"]) + established_to(w.pa["tls"]) == 0
    assert len(lines_with(w.a, "kind=remote", "remote=b.test", "bidi=on")) == 1, streams(w.a)
    assert lines_with(w.b, "kind=remote", "remote=a.test") == [], streams(w.b)
    status, out, _ = fp.ctl(FEDGATE, w.pb["admin"], "streams")
    assert status == 0
    ins = [l for l in out.splitlines() if l.startswith("in ") and "peer=a.test" in l]
    assert len(ins) == 1 and "bidi=on" in ins[0].split(), out
    assert w.b.metric("bidi_streams_in_total") == 1
    assert w.b.metric("bidi_stanzas_sent_total") == 2
    assert w.a.metric("bidi_links_total") == links0 + 1
    assert w.a.metric("bidi_stanzas_received_total") == received0 + 2
    # XEP-0198 (on by default) covers B's direction too: B asked, A
    # acknowledged both stanzas B sent back on A's stream.
    wait_until(lambda: w.b.metric("stanzas_acked_total") == acked0 + 2, "B's stanzas acked")
    w.a.assert_accounted()
    w.b.assert_accounted()


def test_xep0288_2_stream_gone_falls_back_to_an_outbound_link(w):
    link = lines_with(w.a, "kind=remote", "remote=b.test", "bidi=on")[0]
    link_id = [f for f in link.split() if f.startswith("stream=")][0].split("=", 1)[1]
    status, out, err = fp.ctl(FEDGATE, w.pa["admin"], "close", "stream", link_id)
    assert status == 0, (out, err)
    wait_until(lambda: not lines_with(w.b, "peer=a.test", "bidi=on"),
               "B's bidirectional stream from a.test closed")
    before = w.b.metric("bidi_stanzas_sent_total")
    b_out = w.sender(w.pb["internal"], "b.test", "a.test")
    b_out.send_message("bob@b.test/y", "alice@a.test", "to-a-after-close")
    xp.wait_for(w.sink_a, xp.body_is("to-a-after-close"))
    assert w.b.metric("bidi_stanzas_sent_total") == before
    assert len(lines_with(w.b, "kind=remote", "remote=a.test")) == 1, streams(w.b)
    w.a.assert_accounted()
    w.b.assert_accounted()


def test_xep0288_3_xep0198_broken_bidi_stream_resends_unacked_stanzas(w):
    _, b2_out = exchange(w, "a.test", "b2.test", "b2-warm")
    assert lines_with(w.b, "kind=remote", "local=b2.test", "remote=a.test") == [], streams(w.b)
    resent0 = w.b.metric("stanzas_resent_total")
    sent0 = w.b.metric("bidi_stanzas_sent_total")
    w.proxy.stall()  # nothing crosses, nothing is acknowledged
    for i in range(5):
        b2_out.send_message("bob@b2.test/y", "alice@a.test", "from-b2-%d" % i)
    wait_until(lambda: w.b.metric("bidi_stanzas_sent_total") == sent0 + 5,
               "B wrote the five stanzas on A's stream")
    w.proxy.drop_all()  # the stream dies with them unacknowledged
    w.proxy.unstall()
    for i in range(5):
        xp.wait_for(w.sink_a, xp.body_is("from-b2-%d" % i))
    assert w.b.metric("stanzas_resent_total") == resent0 + 5
    bodies = [el.findtext(xp.q(xp.NS_SERVER, "body")) for _, el in w.sink_a.stanzas]
    assert all(bodies.count("from-b2-%d" % i) == 1 for i in range(5)), bodies
    w.a.assert_accounted()
    w.b.assert_accounted()


def test_xep0288_4_xep0198_5_resumed_bidi_stream_delivers_stanzas_sent_back_once(w):
    _, b2_out = exchange(w, "a.test", "b2.test", "b2-resume-warm")
    acked0 = w.b.metric("stanzas_acked_total")
    resent0 = w.b.metric("stanzas_resent_total")
    in_resumed0 = w.b.metric("sm_streams_in_resumed_total")
    links_resumed0 = w.a.metric("sm_links_resumed_total")
    received0 = w.a.metric("bidi_stanzas_received_total")
    w.proxy.stall("up")  # A's acknowledgements never reach B
    for i in range(5):
        b2_out.send_message("bob@b2.test/y", "alice@a.test", "resume-b2-%d" % i)
    for i in range(5):  # A handled all five ...
        xp.wait_for(w.sink_a, xp.body_is("resume-b2-%d" % i))
    assert w.b.metric("stanzas_acked_total") == acked0  # ... B knows of none
    w.proxy.drop_all()  # the stream dies with them unacknowledged
    w.proxy.unstall()
    # A's replacement stream resumes B's: <resume h=.../> counts the five as
    # handled, so B writes none of them again, on any stream.
    wait_until(lambda: w.b.metric("sm_streams_in_resumed_total") == in_resumed0 + 1,
               "B's stream from a.test resumed")
    wait_until(lambda: w.b.metric("stanzas_acked_total") == acked0 + 5,
               "the five acknowledged by the resumption")
    assert w.a.metric("sm_links_resumed_total") == links_resumed0 + 1
    # The resumed stream goes on carrying B's direction, its count continued.
    b2_out.send_message("bob@b2.test/y", "alice@a.test", "resume-b2-after")
    xp.wait_for(w.sink_a, xp.body_is("resume-b2-after"))
    wait_until(lambda: w.b.metric("stanzas_acked_total") == acked0 + 6, "the sixth acknowledged")
    assert w.b.metric("stanzas_resent_total") == resent0
    assert w.a.metric("bidi_stanzas_received_total") == received0 + 6
    assert lines_with(w.b, "kind=remote", "local=b2.test", "remote=a.test") == [], streams(w.b)
    bodies = [el.findtext(xp.q(xp.NS_SERVER, "body")) for _, el in w.sink_a.stanzas]
    names = ["resume-b2-%d" % i for i in range(5)] + ["resume-b2-after"]
    duplicates = sum(bodies.count(n) - 1 for n in names)
    assert duplicates == 0 and all(bodies.count(n) == 1 for n in names), bodies
    w.a.assert_accounted()
    w.b.assert_accounted()


def test_xep0288_5_xep0198_5_not_resumed_in_time_sent_back_go_another_way(w):
    _, b2_out = exchange(w, "a.test", "b2.test", "b2-expire-warm")
    resent0 = w.b.metric("stanzas_resent_total")
    sent0 = w.b.metric("bidi_stanzas_sent_total")
    in_resumed0 = w.b.metric("sm_streams_in_resumed_total")
    w.proxy.stall()  # nothing crosses: A handles none of them
    for i in range(3):
        b2_out.send_message("bob@b2.test/y", "alice@a.test", "expire-b2-%d" % i)
    wait_until(lambda: w.b.metric("bidi_stanzas_sent_total") == sent0 + 3,
               "B wrote the three stanzas on A's stream")
    w.proxy.refuse = -1  # A cannot come back to resume the stream
    try:
        w.proxy.drop_all()
        w.proxy.unstall()
        # B keeps them with the parked stream for its window, then sends
        # them over a link of its own.
        for i in range(3):
            xp.wait_for(w.sink_a, xp.body_is("expire-b2-%d" % i), timeout=30)
    finally:
        w.proxy.refuse = 0
    assert w.b.metric("stanzas_resent_total") == resent0 + 3
    assert w.b.metric("sm_streams_in_resumed_total") == in_resumed0
    assert len(lines_with(w.b, "kind=remote", "local=b2.test", "remote=a.test")) == 1, \
        streams(w.b)
    bodies = [el.findtext(xp.q(xp.NS_SERVER, "body")) for _, el in w.sink_a.stanzas]
    assert all(bodies.count("expire-b2-%d" % i) == 1 for i in range(3)), bodies
    w.a.assert_accounted()
    w.b.assert_accounted()


def test_xep0288_2_2_bidi_stream_serves_only_authenticated_pairs(w):
    # c.test: SASL EXTERNAL with bidi; B reaches c.test only over that stream.
    c = xp.authenticated(HOST, w.pb["s2s"], "b.test", "c.test", "pki/ca.crt", "pki/c.test.crt",
                         "pki/c.test.key")
    c.send("<bidi xmlns='urn:xmpp:bidi'/>")  # late (after SASL) but honoured
    c.send_message("carl@c.test", "bob@b.test", "from-c")
    xp.wait_for(w.sink_b, xp.body_is("from-c"))
    w.sender(w.pb["internal"], "b.test", "c.test").send_message("bob@b.test/y", "carl@c.test",
                                                                 "to-c")
    el = c.read_element()
    assert el.findtext(xp.q(xp.NS_SERVER, "body")) == "to-c", xp.ET.tostring(el)
    # d.test asks for bidi but its dialback request is answered invalid:
    # B must not use the stream and opens its own link to d.test's server.
    p = xp.Peer.connect(HOST, w.pb["s2s"])
    for secured in (False, True):  # the features before and after STARTTLS
        if secured:
            p.starttls("b.test")
        p.open_stream("b.test", "d.test")
        p.read_header()
        offered = p.read_features().find("{urn:xmpp:features:bidi}bidi") is not None
        assert offered == secured  # XEP-0288 §2.1: after TLS, which is required here
    p.send("<bidi xmlns='urn:xmpp:bidi'/>")
    p.dialback_result("d.test", "b.test", "0" * 64)
    assert p.read_dialback_result().get("type") == "invalid"
    sent = w.b.metric("bidi_stanzas_sent_total")
    w.sender(w.pb["internal"], "b.test", "d.test").send_message("bob@b.test/y", "dan@d.test",
                                                                 "to-d")
    xp.wait_for(w.d_server, xp.body_is("to-d"))
    assert w.b.metric("bidi_stanzas_sent_total") == sent
    c.close()
    p.close()
    w.b.assert_accounted()


def flood_back(p):
    """g.test sends messages back to a.test, one every 2 ms, until fedgate
    ends the stream (or for 10 s)."""
    deadline = time.time() + 10
    n = 0
    try:
        while time.time() < deadline:
            n += 1
            p.send("<message from='spam%d@g.test' to='alice@a.test' id='g%d'><body>flood</body>"
                   "</message>" % (n, n))
            time.sleep(0.002)
    except OSError:
        pass


def refusal(w, peer, to, body):
    domain = to.split("@")[1]
    w.sender(w.pa["internal"], "a.test", domain).send_message("alice@a.test/x", to, body)
    assert peer.done.wait(20), "the scripted peer never finished"
    return peer.error


def test_rfc6120_4_9_3_9_spoofed_from_on_a_bidi_link_is_invalid_from(w):
    cond = refusal(w, w.spoofer, "eve@e.test", "to-e")
    assert w.spoofer.got[0] == "{urn:xmpp:bidi}bidi", w.spoofer.got
    assert cond == "invalid-from", cond
    assert w.a.metric("bidi_stanzas_refused_total") >= 1
    assert not any(xp.body_is("spoofed")(el) for _, el in w.sink_a.stanzas)
    w.a.assert_accounted()


def test_rfc6120_4_9_3_14_flood_sent_back_closes_the_link_and_every_stanza_is_accounted(w):
    """abuse.limits on stanzas sent back (XEP-0288): a domain over its rate
    for longer than abuse.limits.sustained loses its link (policy-violation),
    and the stanza that ended it is bounced like the refusals before it:
    nothing is lost silently."""
    closed = w.a.metric("limited_streams_closed_total")
    cond = refusal(w, w.flood, "gus@g.test", "to-g")
    assert cond == "policy-violation", cond
    assert w.a.metric("limited_streams_closed_total") == closed + 1
    assert w.a.metric("limited_stanzas_in_total") >= 1
    w.a.assert_accounted()


def test_rfc6120_4_9_3_12_stanza_back_before_authentication_is_not_authorized(w):
    cond = refusal(w, w.early, "fay@f.test", "to-f")
    assert w.early.got == ["{urn:xmpp:bidi}bidi", xp.q(xp.NS_SASL, "auth")], w.early.got
    assert cond == "not-authorized", cond
    assert not any(xp.body_is("early")(el) for _, el in w.sink_a.stanzas)


def raw_message(client, to, body):
    client.p.send("<message to='%s' type='chat' id='%s'><body>%s</body></message>"
                  % (to, body, body))


def test_xep0288_prosody_opens_and_answers_on_one_connection(w):
    carol = pr.RawClient(w.other.c2s_port, "other.test", "carol", "secret", available=True)
    try:
        raw_message(carol, "alice@a.test", "from-carol")
        xp.wait_for(w.sink_a, xp.body_is("from-carol"), timeout=30)
        wait_until(lambda: lines_with(w.a, "peer=other.test", "bidi=on"),
                   "Prosody's stream made bidirectional")
        acked = w.a.metric("stanzas_acked_total")
        w.sender(w.pa["internal"], "a.test", "other.test").send_message(
            "alice@a.test/x", "carol@other.test", "to-carol")
        m = carol.next_message()
        assert m.findtext("{jabber:client}body") == "to-carol", xp.ET.tostring(m)
        # One connection: Prosody's to fedgate; fedgate never connected to Prosody.
        assert established_to(w.other.s2s_port) == 0
        assert lines_with(w.a, "kind=remote", "remote=other.test") == [], streams(w.a)
        assert len(lines_with(w.a, "peer=other.test")) == 1, streams(w.a)
        assert w.a.metric("bidi_stanzas_sent_total") >= 1
        # mod_smacks on Prosody's stream acknowledges what fedgate sent back.
        wait_until(lambda: w.a.metric("stanzas_acked_total") > acked, "Prosody acked it")
    finally:
        carol.close()
    w.a.assert_accounted()


def test_xep0288_fedgate_opens_to_prosody_and_it_answers_on_one_connection(w):
    dave = pr.RawClient(w.remote.c2s_port, "remote.test", "dave", "secret", available=True)
    try:
        received = w.a.metric("bidi_stanzas_received_total")
        w.sender(w.pa["internal"], "a.test", "remote.test").send_message(
            "alice@a.test/x", "dave@remote.test", "to-dave")
        m = dave.next_message()
        assert m.findtext("{jabber:client}body") == "to-dave", xp.ET.tostring(m)
        assert len(lines_with(w.a, "kind=remote", "remote=remote.test", "bidi=on")) == 1, \
            streams(w.a)
        raw_message(dave, "alice@a.test", "from-dave")
        xp.wait_for(w.sink_a, xp.body_is("from-dave"), timeout=30)
        # Prosody answered on fedgate's stream, not on one of its own.
        assert established_to(w.remote.s2s_port) == 1
        assert lines_with(w.a, "peer=remote.test") == [], streams(w.a)
        assert w.a.metric("bidi_stanzas_received_total") == received + 1
    finally:
        dave.close()
    w.a.assert_accounted()


if __name__ == "__main__":
    sys.exit(fp.main_of(World, globals()))
