#!/usr/bin/python3
"""End-to-end tests of outbound federation and gateway-to-gateway links.

Two real gateways: A serves a.test, B serves b.test. Each has a sink backend
(xmpp_peer.ReceivingServer) as its internal server; a scripted internal
server (xmpp_peer.Peer) sends through A's internal listener. Bounces come
back through A's hop to A's sink, so every failure path asserts the exact
stanza error (RFC 6120 §8.3.3, §10.4.3).

usage: outbound_test.py FEDGATE_BINARY
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = fp.HOST


LIMITS = {"queue_stanzas": 3, "handshake_timeout": "3s", "streams_per_pair": 4}


def config(ports, domain, cert, backend_port, static, trust="pki/ca.crt", dns=None,
           more_domains=()):
    domains = [(domain, "sink", cert)] + [(m, "sink", "pki/" + m) for m in more_domains]
    return fp.gateway_yaml(ports, domains, [("sink", [backend_port])], trust=trust,
                           secret="secret-" + domain, static=static, limits=LIMITS, dns=dns)


class World:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-outbound-")
        os.chdir(self.dir)
        fp.dev_pki(FEDGATE, "pki", "a.test", "b.test", "c.test", "srv.test")
        fp.dev_pki(FEDGATE, "ica", "unused.test")
        fp.dev_pki(FEDGATE, "rogue", "c.test")
        for d in ("a.test", "b.test", "c.test"):
            fp.write_secret("secret-" + d, "secret of " + d)
        self.procs = []
        self.pa, self.pb, self.pc = (
            {k: fp.free_port() for k in ("s2s", "tls", "internal", "admin", "sink")}
            for _ in range(3))
        self.refusing = fp.free_port()  # nothing listens there
        # A silent target: accepts TCP, never answers.
        self.silent = socket.socket()
        self.silent.bind((HOST, 0))
        self.silent.listen(16)
        silent_port = self.silent.getsockname()[1]
        self.silent_conns = []
        threading.Thread(target=self._hold_silent, daemon=True).start()
        # A target that negotiates STARTTLS, then answers the handshake with junk.
        self.broken = socket.socket()
        self.broken.bind((HOST, 0))
        self.broken.listen(16)
        threading.Thread(target=self._broken_tls, daemon=True).start()
        ica = self.dir + "/ica/ca.crt"
        self.sink_a = xp.ReceivingServer(HOST, self.pa["sink"], "pki/a.test.crt", "pki/a.test.key",
                                         client_ca=ica)
        self.sink_b = xp.ReceivingServer(HOST, self.pb["sink"], "pki/b.test.crt", "pki/b.test.key",
                                         client_ca=ica,
                                         sni_certs={"srv.test": ("pki/srv.test.crt",
                                                                 "pki/srv.test.key")})
        # c.test's internal server has a certificate from the CA c.test's gateway trusts.
        self.sink_c = xp.ReceivingServer(HOST, self.pc["sink"], "rogue/c.test.crt",
                                         "rogue/c.test.key", client_ca=ica)
        static_a = [("b.test", self.pb["s2s"]), ("c.test", self.pc["s2s"]),
                    ("refusing.test", self.refusing), ("silent.test", silent_port),
                    ("broken.test", self.broken.getsockname()[1])]
        # A real DNS server for the resolution paths (RFC 6120 §3.2, XEP-0368).
        self.dns_port = fp.free_port()
        self.dnsmasq = subprocess.Popen([
            "dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces",
            "--listen-address=127.0.0.1", "--port=%d" % self.dns_port, "--local-ttl=0",
            "--local=/test/", "--host-record=gw.test,127.0.0.1",
            "--srv-host=_xmpps-server._tcp.srv.test,gw.test,%d,0,10" % self.pb["tls"],
            "--srv-host=_xmpp-server._tcp.srv.test,gw.test,%d,5,10" % self.pb["s2s"],
            "--srv-host=_xmpp-server._tcp.none.test", "--srv-host=_xmpps-server._tcp.none.test",
            "--srv-host=_xmpp-server._tcp.fallback.test,gw.test,%d,0,10" % self.refusing],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        # The test's DNS answers loopback addresses: allowed explicitly
        # (special-purpose targets are refused by default).
        dns = {"nameservers": '["127.0.0.1:%d"]' % self.dns_port, "timeout": "1s",
               "allowed_networks": '["127.0.0.0/8"]'}
        self.a = fp.Fedgate(FEDGATE, self.dir, "a",
                            config(self.pa, "a.test", "pki/a.test", self.pa["sink"], static_a,
                                   dns=dns),
                            self.pa["admin"])
        self.procs.append(self.a)
        self.b = fp.Fedgate(FEDGATE, self.dir, "b", config(self.pb, "b.test", "pki/b.test",
                                                           self.pb["sink"],
                                                           [("a.test", self.pa["s2s"])],
                                                           more_domains=["srv.test"]),
                            self.pb["admin"])
        self.procs.append(self.b)
        # c.test: a gateway that does not trust a.test's CA (dialback needed).
        self.c = fp.Fedgate(FEDGATE, self.dir, "c",
                            config(self.pc, "c.test", "pki/c.test", self.pc["sink"],
                                   [("a.test", self.pa["s2s"])], trust="rogue/ca.crt"),
                            self.pc["admin"])
        self.procs.append(self.c)

    def _broken_tls(self):
        while True:
            try:
                c, _ = self.broken.accept()
            except OSError:
                return
            try:
                c.settimeout(5)
                c.recv(4096)
                c.sendall(b"<stream:stream xmlns='jabber:server' xmlns:stream="
                          b"'http://etherx.jabber.org/streams' id='x' version='1.0'>"
                          b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
                          b"<required/></starttls></stream:features>")
                c.recv(4096)
                c.sendall(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
                c.recv(4096)
                c.sendall(b"this is not a TLS record" * 10)
                time.sleep(0.5)
            except OSError:
                pass
            c.close()

    def _hold_silent(self):
        while True:
            try:
                c, _ = self.silent.accept()
                self.silent_conns.append(c)
            except OSError:
                return

    def internal_sender(self, to):
        """a.test's internal server, authenticated on A's internal listener."""
        p = xp.Peer.connect(HOST, self.pa["internal"])
        feats = p.open_secured(to, "a.test", certfile="pki/a.test.crt", keyfile="pki/a.test.key")
        mechs = feats.find(xp.q(xp.NS_SASL, "mechanisms"))
        assert mechs is not None, "internal listener did not offer EXTERNAL to a.test"
        assert p.sasl_external()[0] == "success"
        p.open_stream(to, "a.test")
        p.read_header()
        p.read_features()
        return p

    def close(self):
        for p in self.procs:
            p.stop()
        for s in (self.sink_a, self.sink_b, self.sink_c):
            s.close()
        self.silent.close()
        self.broken.close()
        self.dnsmasq.kill()


# The sink's stanzas (xmpp_peer.wait_for) and what to wait for.
wait_for, body_is, bounce_of = xp.wait_for, xp.body_is, xp.bounce_of


def test_gateway_to_gateway_sasl_external(w):
    p = w.internal_sender("b.test")
    p.send_message("alice@a.test/x", "bob@b.test", "A to B over SASL EXTERNAL")
    el = wait_for(w.sink_b, body_is("A to B over SASL EXTERNAL"))
    assert el.get("from") == "alice@a.test/x"
    assert w.a.metric("remote_streams_ready_total") >= 1
    assert w.b.metric("auth_sasl_external_total") >= 1
    p.close()


def test_gateway_to_gateway_dialback_when_certificate_untrusted(w):
    before = w.c.metric("auth_dialback_total")
    p = w.internal_sender("c.test")
    p.send_message("alice@a.test/x", "carol@c.test", "A to C over dialback")
    wait_for(w.sink_c, body_is("A to C over dialback"))
    assert w.c.metric("auth_dialback_total") > before
    p.close()


def test_rfc6120_10_4_3_unresolvable_domain_bounces_remote_server_not_found(w):
    p = w.internal_sender("nowhere.test")
    p.send("<message from='alice@a.test/x' to='zed@nowhere.test' id='nf1' type='chat'>"
           "<body>to nowhere</body></message>")
    el = wait_for(w.sink_a, bounce_of("nf1", "remote-server-not-found"))
    assert el.get("to") == "alice@a.test/x" and el.get("from") == "zed@nowhere.test"
    p.close()


def test_rfc6120_10_4_3_refused_connection_bounces_remote_server_timeout(w):
    p = w.internal_sender("refusing.test")
    p.send("<message from='alice@a.test/x' to='r@refusing.test' id='rf1' type='chat'>"
           "<body>refused</body></message>")
    wait_for(w.sink_a, bounce_of("rf1", "remote-server-timeout"))
    # RFC 6120 §3.3: the failed domain is remembered; the next stanza is
    # answered at once, without another connection attempt.
    before = w.a.metric("unreachable_shortcuts_total")
    p.send("<message from='alice@a.test/x' to='r@refusing.test' id='rf2' type='chat'>"
           "<body>refused again</body></message>")
    wait_for(w.sink_a, bounce_of("rf2", "remote-server-timeout"))
    assert w.a.metric("unreachable_shortcuts_total") > before
    p.close()


def test_rfc6120_8_3_3_18_full_queue_bounces_resource_constraint(w):
    p = w.internal_sender("silent.test")
    for i in range(5):
        p.send("<message from='alice@a.test/x' to='s@silent.test' id='q%d' type='chat'>"
               "<body>queued %d</body></message>" % (i, i))
    # queue_stanzas is 3: the 4th and 5th are refused at once.
    wait_for(w.sink_a, bounce_of("q3", "resource-constraint"))
    wait_for(w.sink_a, bounce_of("q4", "resource-constraint"))
    # The silent server never completes the stream: the held ones time out.
    for i in range(3):
        wait_for(w.sink_a, bounce_of("q%d" % i, "remote-server-timeout"), timeout=30)
    p.close()


def test_rfc6120_5_4_3_2_tls_failure_bounces_remote_server_timeout(w):
    p = w.internal_sender("broken.test")
    p.send("<message from='alice@a.test/x' to='t@broken.test' id='tls1' type='chat'>"
           "<body>x</body></message>")
    wait_for(w.sink_a, bounce_of("tls1", "remote-server-timeout"))
    p.close()


def test_zz_nothing_lost_silently_by_the_counters(w):
    # Runs last (sorted by name): every queue has drained or timed out by now.
    for g in (w.a, w.b, w.c):
        m = g.assert_accounted(timeout=15)
    assert w.a.metric("stanzas_bounced_total") >= 1 and w.a.metric("bounces_sent_total") >= 1


def test_xep0220_internal_server_dialback_from_its_backend_address(w):
    p = xp.Peer.connect(HOST, w.pa["internal"])
    p.open_secured("b.test", "a.test")  # no client certificate: dialback it is
    w.sink_a.verify_keys["internal-key"] = True  # a.test's server vouches for the key
    p.dialback_result("a.test", "b.test", "internal-key")
    assert p.read_dialback_result().get("type") == "valid"
    p.send_message("alice@a.test/x", "bob@b.test", "internal server over dialback")
    wait_for(w.sink_b, body_is("internal server over dialback"))
    p.close()


def test_streams_per_pair_spreads_input_streams_and_keeps_their_order(w):
    before = w.a.metric("remote_streams_opened_total")
    senders = [w.internal_sender("b.test") for _ in range(6)]
    # One stanza each first (queue_stanzas is 3 while a link connects), then
    # a burst on the ready links.
    for n, p in enumerate(senders):
        p.send_message("u%d@a.test/x" % n, "bob@b.test", "spread %d 0" % n)
        wait_for(w.sink_b, body_is("spread %d 0" % n))
    for n, p in enumerate(senders):
        for i in range(1, 5):
            p.send_message("u%d@a.test/x" % n, "bob@b.test", "spread %d %d" % (n, i))
    for n in range(6):
        wait_for(w.sink_b, body_is("spread %d 4" % n))
    # Several streams carried the pair, and each sender's stanzas kept their order.
    assert w.a.metric("remote_streams_opened_total") - before >= 2
    for n in range(6):
        seen = [int(el.findtext(xp.q(xp.NS_SERVER, "body")).split()[2])
                for _, el in list(w.sink_b.stanzas)
                if (el.findtext(xp.q(xp.NS_SERVER, "body")) or "").startswith("spread %d " % n)]
        assert seen == sorted(seen) and len(seen) == 5, seen
    for p in senders:
        p.close()


def test_xep0220_internal_dialback_refused_from_another_address(w):
    # Same key trusted by the backend, but the connection comes from
    # 127.0.0.2, which is not an address of a.test's backend.
    sock = socket.socket()
    sock.bind(("127.0.0.2", 0))
    sock.connect((HOST, w.pa["internal"]))
    p = xp.Peer(sock)
    p.open_secured("b.test", "a.test")
    w.sink_a.verify_keys["elsewhere-key"] = True
    asked = len(w.sink_a.verify_questions)
    p.dialback_result("a.test", "b.test", "elsewhere-key")
    assert p.read_dialback_result().get("type") == "error"
    assert len(w.sink_a.verify_questions) == asked
    p.close()


def test_rfc6120_8_3_1_errors_are_not_bounced(w):
    before = w.a.metric("stanzas_undeliverable_not_bounced_total")
    p = w.internal_sender("nowhere2.test")
    p.send("<message from='alice@a.test/x' to='z@nowhere2.test' id='e1' type='error'/>")
    deadline = time.time() + 10
    while time.time() < deadline and w.a.metric("stanzas_undeliverable_not_bounced_total") == before:
        time.sleep(0.1)
    assert w.a.metric("stanzas_undeliverable_not_bounced_total") > before
    assert not any(el.get("id") == "e1" for _, el in w.sink_a.stanzas)
    p.close()


def test_rfc6120_3_2_1_xep0368_srv_prefers_direct_tls(w):
    p = w.internal_sender("srv.test")
    p.send_message("alice@a.test/x", "sam@srv.test", "found through SRV")
    wait_for(w.sink_b, body_is("found through SRV"))
    log = open(w.a.logfile).read()
    assert ("remote link a.test -> srv.test ready via gw.test:%d (direct TLS): TLSv1.3" % w.pb["tls"]
            in log), "not over direct TLS"
    assert "(direct TLS): TLSv1.3 TLS_AES_128_GCM_SHA256, sasl-external" in log or \
        "(direct TLS): TLSv1.3 TLS_AES_256_GCM_SHA384, sasl-external" in log or \
        "(direct TLS): TLSv1.3 TLS_CHACHA20_POLY1305_SHA256, sasl-external" in log
    p.close()


def test_rfc2782_dot_target_means_no_service(w):
    p = w.internal_sender("none.test")
    p.send("<message from='alice@a.test/x' to='n@none.test' id='dot1' type='chat'>"
           "<body>x</body></message>")
    wait_for(w.sink_a, bounce_of("dot1", "remote-server-not-found"))
    p.close()


def test_rfc6120_3_2_1_nxdomain_bounces_remote_server_not_found(w):
    p = w.internal_sender("nx.test")
    p.send("<message from='alice@a.test/x' to='n@nx.test' id='nx1' type='chat'>"
           "<body>x</body></message>")
    wait_for(w.sink_a, bounce_of("nx1", "remote-server-not-found"))
    p.close()


def main():
    passed = failed = 0
    w = None
    try:
        w = World()
        passed, failed = fp.run_suite(fp.tests_of(globals()), w)
    except Exception as e:  # noqa: BLE001
        failed += 1
        print("FAIL setup: %r" % e)
        traceback.print_exc()
    finally:
        if w is not None:
            if failed:
                for g in (w.a, w.b, w.c):
                    print("---- %s ----\n%s" % (g.cfgfile, g.log_tail(40)))
            w.close()
            shutil.rmtree(w.dir, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
