#!/usr/bin/python3
"""End-to-end tests of the authentication and routing boundaries an attacker
probes: routing loops through the gateway's own listeners, TLS exemptions
per domain pair, dialback switched off, the internal listener's trust in
source addresses and certificate minting.

Two real `fedgate run` processes on loopback (one with dialback on and a
plaintext exemption, one with dialback off and no special networks
allowed), dnsmasq as the domains' DNS, scripted peers (xmpp_peer.Peer) and
sink servers (xmpp_peer.ReceivingServer). Each test names the rule it
enforces and asserts the exact answer and the counters.

usage: security_test.py FEDGATE_BINARY
"""

import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = "127.0.0.1"
STRANGER = "127.0.0.2"  # a loopback address that is no backend's


class Forwarder:
    """A blind TCP relay from |port| to |target| (what a NAT or a load
    balancer in front of the gateway would be)."""

    def __init__(self, port, target):
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, port))
        self.sock.listen(16)
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _pipe(self, a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                u = socket.create_connection(self.target, timeout=5)
            except OSError:
                c.close()
                continue
            threading.Thread(target=self._pipe, args=(c, u), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c), daemon=True).start()

    def close(self):
        self.sock.close()


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-security-")
        d = self.dir
        fp.dev_pki(FEDGATE, d + "/pki", "b.test", "c.test", "remote.test", "legacy.test",
                   "loop.test", "fwdloop.test", "special.test")
        fp.dev_pki(FEDGATE, d + "/ica", "unused.test")
        fp.dev_pki(FEDGATE, d + "/rogue", "unused.test")
        fp.write_secret(d + "/secret", "security-test-dialback-secret")
        names = ("s2s", "tls", "internal", "admin", "sink", "dead", "auth", "fwd", "dns",
                 "s2s2", "tls2", "internal2", "admin2", "nodb")
        self.p = p = {k: fp.free_port() for k in names}
        self.procs = []
        # The domains' DNS: loop.test points at gateway A's own internal
        # listener, special.test at a loopback address.
        self.dnsmasq = subprocess.Popen([
            "dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces",
            "--listen-address=127.0.0.1", "--port=%d" % p["dns"], "--local-ttl=0",
            "--local=/test/", "--host-record=gw.test,127.0.0.1",
            "--srv-host=_xmpp-server._tcp.loop.test,gw.test,%d,0,10" % p["internal"],
            "--srv-host=_xmpp-server._tcp.special.test,gw.test,%d,0,10" % p["auth"]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        self.valid_keys = {"legacy-key": True}
        self.sink = xp.ReceivingServer(HOST, p["sink"], d + "/pki/b.test.crt",
                                       d + "/pki/b.test.key", client_ca=d + "/ica/ca.crt")
        # remote.test's and legacy.test's authoritative server.
        self.auth = xp.ReceivingServer(HOST, p["auth"], d + "/pki/remote.test.crt",
                                       d + "/pki/remote.test.key", client_ca=d + "/pki/ca.crt",
                                       verify_keys=self.valid_keys)
        # A remote server that does not trust gateway B's certificates:
        # it offers dialback only.
        self.nodb = xp.ReceivingServer(HOST, p["nodb"], d + "/pki/remote.test.crt",
                                       d + "/pki/remote.test.key",
                                       client_ca=d + "/rogue/ca.crt")
        self.fwd = Forwarder(p["fwd"], (HOST, p["internal"]))
        os.chdir(d)
        ports_a = {"s2s": p["s2s"], "tls": p["tls"], "internal": p["internal"],
                   "admin": p["admin"]}
        cfg_a = fp.gateway_yaml(
            ports_a, [("b.test", "sink", "pki/b.test"), ("c.test", "dead", "pki/c.test")],
            [("sink", [p["sink"]]), ("dead", [p["dead"]])], default_cert="pki/b.test",
            static=[("remote.test", p["auth"]), ("legacy.test", p["auth"]),
                    ("fwdloop.test", p["fwd"])],
            dns={"nameservers": '["127.0.0.1:%d"]' % p["dns"], "timeout": "1s",
                 "allowed_networks": '["127.0.0.0/8"]'},
            tls={"plaintext_peers": "[legacy.test]"})
        self.a = fp.Fedgate(FEDGATE, d, "a", cfg_a, p["admin"])
        self.procs.append(self.a)
        ports_b = {"s2s": p["s2s2"], "tls": p["tls2"], "internal": p["internal2"],
                   "admin": p["admin2"]}
        cfg_b = fp.gateway_yaml(
            ports_b, [("b.test", "sink", "pki/b.test"), ("c.test", "dead", "pki/c.test")],
            [("sink", [p["sink"]]), ("dead", [p["dead"]])], default_cert="pki/b.test",
            static=[("remote.test", p["nodb"])],
            dns={"nameservers": '["127.0.0.1:%d"]' % p["dns"], "timeout": "1s"},
            dialback={"enabled": "false"}, limits={"streams_per_ip": 6})
        self.b = fp.Fedgate(FEDGATE, d, "b", cfg_b, p["admin2"])
        self.procs.append(self.b)

    def cert(self, domain, pki="pki"):
        return (self.dir + "/%s/%s.crt" % (pki, domain), self.dir + "/%s/%s.key" % (pki, domain))

    def close(self):
        for g in self.procs:
            g.stop()
        self.dnsmasq.terminate()
        self.dnsmasq.wait()
        self.fwd.close()
        for s in (self.sink, self.auth, self.nodb):
            s.close()


def connect_from(source, port):
    sock = socket.create_connection((HOST, port), timeout=10, source_address=(source, 0))
    return xp.Peer(sock)


def sasl_peer(env, gw_port, domain, to="b.test"):
    """|domain| authenticated with SASL EXTERNAL on a gateway's s2s port."""
    c, k = env.cert(domain)
    return xp.authenticated(HOST, gw_port, to, domain, env.dir + "/pki/ca.crt", c, k)


def counters(gw, *names):
    return {n: gw.metric(n) for n in names}


def delta(before, gw):
    return {n: gw.metric(n) - v for n, v in before.items()}


def offers_external(feats):
    mechs = feats.find(xp.q(xp.NS_SASL, "mechanisms"))
    return mechs is not None and any(m.text == "EXTERNAL" for m in mechs)


def offers_dialback(feats):
    return feats.find(xp.q(xp.NS_DB_FEATURE, "dialback")) is not None


def wait_for(fn, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fn():
            return True
        time.sleep(0.1)
    return False


LOOP_COUNTERS = ("stanzas_in_total", "outbound_targets_refused_total",
                 "outbound_loops_refused_total", "bounces_undeliverable_total",
                 "remote_streams_ready_total")


# --- routing loops (RFC 6120 §3.2, §10.4.3) ---

def test_outbound_never_connects_to_own_listener_found_in_dns(env):
    """A remote domain whose DNS names the gateway's own internal listener
    gets its bounce refused there (remote-server-not-found), not a loop."""
    before = counters(env.a, *LOOP_COUNTERS)
    p = sasl_peer(env, env.p["s2s"], "loop.test", to="c.test")
    p.send_message("mallory@loop.test/x", "bob@c.test", "bounce me")  # c.test's backend is dead
    assert wait_for(lambda: delta(before, env.a)["bounces_undeliverable_total"] >= 1), \
        delta(before, env.a)
    time.sleep(1.5)  # a loop would keep counting stanzas in
    d = delta(before, env.a)
    p.close()
    assert d["stanzas_in_total"] == 1, d
    assert d["outbound_targets_refused_total"] >= 1, d
    assert d["bounces_undeliverable_total"] == 1, d
    assert d["remote_streams_ready_total"] == 0, d
    assert "this gateway's own listeners" in env.a.log_tail(200), env.a.log_tail(20)


def test_outbound_refuses_special_purpose_targets_from_dns(env):
    """Without dns.allowed_networks, a domain whose DNS answers a loopback
    address is not connected to: the target is refused and named once."""
    before = counters(env.b, *LOOP_COUNTERS)
    n_auth = len(env.auth.auth)
    p = sasl_peer(env, env.p["s2s2"], "special.test", to="c.test")
    p.send_message("mallory@special.test/x", "bob@c.test", "bounce me")
    assert wait_for(lambda: delta(before, env.b)["bounces_undeliverable_total"] >= 1), \
        delta(before, env.b)
    p.close()
    d = delta(before, env.b)
    assert d["outbound_targets_refused_total"] == 1, d
    assert d["remote_streams_ready_total"] == 0, d
    assert len(env.auth.auth) == n_auth, "the loopback target was connected to"
    assert "refused: loopback address" in env.b.log_tail(200), env.b.log_tail(20)


def test_loop_guard_detects_own_stream_id_behind_a_forwarder(env):
    """Defence in depth: a target that reaches the gateway through something
    the address checks cannot see (a relay) answers with the gateway's own
    stream id tag; the link fails at once and counts a loop."""
    before = counters(env.a, *LOOP_COUNTERS)
    p = sasl_peer(env, env.p["s2s"], "fwdloop.test", to="c.test")
    p.send_message("mallory@fwdloop.test/x", "bob@c.test", "bounce me")
    assert wait_for(lambda: delta(before, env.a)["outbound_loops_refused_total"] >= 1), \
        delta(before, env.a)
    # The bounce follows the refusal; then a loop would keep counting.
    assert wait_for(lambda: delta(before, env.a)["bounces_undeliverable_total"] >= 1), \
        delta(before, env.a)
    time.sleep(1.5)
    d = delta(before, env.a)
    p.close()
    assert d["stanzas_in_total"] == 1, d
    assert d["outbound_loops_refused_total"] == 1, d
    assert d["bounces_undeliverable_total"] == 1, d
    assert env.fwd.connections == 1, env.fwd.connections


def test_own_listener_as_static_target_refused_at_start(env):
    """A dns.static target that is the gateway's own listener is refused at
    start-up with the entry named."""
    port = fp.free_port()
    ports = {"s2s": port, "tls": fp.free_port(), "internal": fp.free_port(),
             "admin": fp.free_port()}
    cfg = fp.gateway_yaml(ports, [("b.test", "sink", "pki/b.test")], [("sink", [env.p["sink"]])],
                          static=[("x.test", port)])
    path = env.dir + "/selfloop.yaml"
    with open(path, "w") as f:
        f.write(cfg)
    r = subprocess.run([FEDGATE, "run", "--config", path], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode != 0, r.stdout + r.stderr
    assert "dns.static (x.test)" in r.stdout + r.stderr, r.stdout + r.stderr
    assert "own listener" in r.stdout + r.stderr, r.stdout + r.stderr


# --- the internal listener ---

def internal_stream(env, source, to, frm="b.test", cert="b.test", pki="pki", verify=None):
    """A client of gateway A's internal listener from |source|, past STARTTLS
    and the restart; returns (peer, features, presented certificate DER)."""
    p = connect_from(source, env.p["internal"])
    p.open_stream(to, frm)
    p.read_header()
    p.read_features()
    p.send("<starttls xmlns='%s'/>" % xp.NS_TLS)
    assert p.read_element().tag == xp.q(xp.NS_TLS, "proceed")
    certfile, keyfile = env.cert(cert, pki) if cert else (None, None)
    p.wrap_tls(to, cafile=verify, certfile=certfile, keyfile=keyfile)
    p.open_stream(to, frm)
    p.read_header()
    return p, p.read_features(), p.sock.getpeercert(binary_form=True)


def test_internal_listener_hosted_domain_auth_only_from_its_backend(env):
    """SASL EXTERNAL as a hosted domain on the internal listener: refused
    from an address that is not that domain's backend, even with a valid
    certificate (the gateway's own outbound links hold such certificates)."""
    before = counters(env.a, "internal_auth_refused_source_total", "auth_sasl_external_total")
    p, feats, _ = internal_stream(env, STRANGER, "remote.test")
    assert not offers_external(feats), "EXTERNAL offered to a stranger"
    cond, _ = p.sasl_external()
    assert cond == "failure", cond
    p.close()
    d = delta(before, env.a)
    assert d["internal_auth_refused_source_total"] == 1, d
    assert d["auth_sasl_external_total"] == 0, d
    # The backend's own address still authenticates.
    p, feats, _ = internal_stream(env, HOST, "remote.test")
    assert offers_external(feats), "EXTERNAL not offered to the backend"
    cond, _ = p.sasl_external()
    assert cond == "success", cond
    p.close()


def test_internal_listener_mints_only_for_backends_and_remote_domains(env):
    """A stranger on the internal listener gets the configured certificate,
    never one minted for a name it picked; a backend addressing a remote
    domain gets that domain's minted certificate."""
    before = counters(env.a, "internal_certs_minted_total")
    for to in ("anything.evil.example", "b.test"):
        p, _, der = internal_stream(env, STRANGER, to, cert=None)
        p.close()
        pem = ssl.DER_cert_to_PEM_cert(der)
        info = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"],
                              input=pem, capture_output=True, text=True).stdout
        assert to not in info or to == "b.test", info
        assert "b.test" in info, info  # the configured default certificate
    assert delta(before, env.a)["internal_certs_minted_total"] == 0
    p, _, der = internal_stream(env, HOST, "minted.test", verify=env.dir + "/ica/ca.crt")
    p.close()
    assert delta(before, env.a)["internal_certs_minted_total"] == 1


def test_internal_listener_per_ip_exemption_only_for_backends(env):
    """limits.streams_per_ip exempts the backends' addresses on the internal
    listener, not whoever reaches it: a stranger's seventh stream is refused
    with policy-violation, a backend's is not."""
    def open_many(source, n):
        peers = []
        for _ in range(n):
            p = connect_from(source, env.p["internal2"])
            p.open_stream("remote.test", "b.test")
            p.read_header()
            peers.append(p)
        return peers
    before = counters(env.b, "streams_in_refused_per_ip_total")
    strangers = open_many(STRANGER, 6)
    extra = connect_from(STRANGER, env.p["internal2"])
    assert extra.expect_stream_error() == "policy-violation"
    backend = open_many(HOST, 7)
    for p in backend:
        p.read_features()  # answered normally, none refused
    for p in strangers + backend + [extra]:
        p.close()
    assert delta(before, env.b)["streams_in_refused_per_ip_total"] == 1


def test_streams_per_ip_counted_per_exact_address(env):
    """limits.streams_per_ip is a budget per source address, never shared:
    40 addresses each just under the limit (5 of 6) are all served, and one
    address over it is refused with policy-violation."""
    before = counters(env.b, "streams_in_refused_per_ip_total")
    peers = []
    try:
        for i in range(1, 41):
            for _ in range(5):
                p = connect_from("127.0.1.%d" % i, env.p["s2s2"])
                p.open_stream("b.test", "remote.test")
                p.read_header()
                p.read_features()
                peers.append(p)
        assert delta(before, env.b)["streams_in_refused_per_ip_total"] == 0
        sixth = connect_from("127.0.1.1", env.p["s2s2"])
        peers.append(sixth)
        sixth.open_stream("b.test", "remote.test")
        sixth.read_header()
        sixth.read_features()
        seventh = connect_from("127.0.1.1", env.p["s2s2"])
        peers.append(seventh)
        assert seventh.expect_stream_error() == "policy-violation"
    finally:
        for p in peers:
            p.close()
    assert delta(before, env.b)["streams_in_refused_per_ip_total"] == 1


# --- TLS exemptions (RFC 6120 §5.3.1, XEP-0220 §2.4) ---

def plaintext_stream(env, frm):
    p = xp.Peer.connect(HOST, env.p["s2s"])
    p.open_stream("b.test", frm)
    p.read_header()
    return p, p.read_features()


def test_xep0220_2_4_plaintext_exemption_holds_per_domain_pair(env):
    """tls.plaintext_peers exempts a domain, not a stream: on a plaintext
    stream opened as the exempt legacy.test, dialback for remote.test is
    refused with policy-violation and nothing of remote.test is delivered."""
    before = counters(env.a, "dialback_verify_asked_total", "dialback_refused_total")
    p, feats = plaintext_stream(env, "legacy.test")
    tls = feats.find(xp.q(xp.NS_TLS, "starttls"))
    assert tls is not None and tls.find(xp.q(xp.NS_TLS, "required")) is None, "exemption lost"
    p.dialback_result("remote.test", "b.test", "some-key")
    r = p.read_dialback_result()
    assert r.get("type") == "error", r.attrib
    assert r.find("{jabber:server}error/{%s}policy-violation" % xp.NS_STANZA_ERR) is not None, \
        [c.tag for c in r.iter()]
    # The exempt domain itself may still use dialback without TLS.
    p.dialback_result("legacy.test", "b.test", "legacy-key")
    r = p.read_dialback_result()
    assert r.get("type") == "valid" and r.get("to") == "legacy.test", r.attrib
    n = len(env.sink.stanzas)
    p.send_message("old@legacy.test/x", "bob@b.test", "plaintext ok")
    env.sink.wait_stanzas(n + 1, timeout=10)
    assert len(env.sink.stanzas) == n + 1, "the exempt pair's stanza was not delivered"
    # A stanza of the refused domain ends the stream.
    p.send_message("eve@remote.test/x", "bob@b.test", "spoofed")
    assert p.expect_stream_error() == "invalid-from"
    p.close()
    d = delta(before, env.a)
    assert d["dialback_verify_asked_total"] == 1, d  # legacy.test's only
    assert d["dialback_refused_total"] == 1, d
    time.sleep(0.3)
    assert all("spoofed" not in (el.findtext("{jabber:server}body") or "")
               for _, el in env.sink.stanzas)


# --- dialback switched off (dialback.enabled: false) ---

def test_xep0220_2_4_dialback_disabled_not_offered_and_refused(env):
    """With dialback off, the dialback feature is not offered and a
    db:result is answered with the dialback error not-authorized."""
    before = counters(env.b, "dialback_verify_asked_total", "dialback_refused_total",
                      "auth_dialback_total", "auth_dialback_certificate_total")
    p = xp.Peer.connect(HOST, env.p["s2s2"])
    feats = p.open_secured("b.test", "remote.test", cafile=env.dir + "/pki/ca.crt")
    assert not offers_dialback(feats), "dialback offered although disabled"
    p.dialback_result("remote.test", "b.test", "any-key")
    r = p.read_dialback_result()
    assert r.get("type") == "error", r.attrib
    assert r.find("{jabber:server}error/{%s}not-authorized" % xp.NS_STANZA_ERR) is not None, \
        [c.tag for c in r.iter()]
    p.close()
    d = delta(before, env.b)
    assert d == {"dialback_verify_asked_total": 0, "dialback_refused_total": 1,
                 "auth_dialback_total": 0, "auth_dialback_certificate_total": 0}, d


def test_dialback_disabled_outbound_never_attempts_dialback(env):
    """With dialback off, an outbound link to a server that offers only
    dialback fails (the bounce it carried is counted) without a db:result."""
    before = counters(env.b, "remote_streams_failed_total", "bounces_undeliverable_total")
    p = sasl_peer(env, env.p["s2s2"], "remote.test", to="c.test")
    p.send_message("alice@remote.test/x", "bob@c.test", "bounce me")
    assert wait_for(lambda: delta(before, env.b)["bounces_undeliverable_total"] >= 1), \
        delta(before, env.b)
    p.close()
    assert delta(before, env.b)["remote_streams_failed_total"] == 1
    assert [a for a in env.nodb.auth if a[1] == "dialback"] == [], env.nodb.auth


def main():
    env = Env()
    try:
        passed, failed = fp.run_suite(fp.tests_of(globals()), env)
    finally:
        env.close()
        shutil.rmtree(env.dir, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
