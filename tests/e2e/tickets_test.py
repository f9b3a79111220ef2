#!/usr/bin/python3
"""End-to-end tests of TLS session tickets shared by gateway instances.

Three `fedgate run` processes share one tls.ticket_key_file (written with
`fedgate ticket-keys new`): A and B trust the test CA, C trusts only another
CA. A remote peer (Python's ssl, one SSLContext keeping its sessions) runs a
full handshake on one instance and resumes the session on another, through
STARTTLS and direct TLS, TLS 1.2 and 1.3, directly and behind HAProxy 2.6 in
TCP mode taking turns between A and B. An origin gateway O reopens an
outbound link to A and resumes it. Resumption must never authenticate
more than a full handshake would now: a certificate refused in the full
handshake stays refused, a session of remote.test does not authenticate
other.test, and an instance whose trust store lacks the CA does not accept
the certificate carried in the ticket, nor does A after a reload that drops
the CA. OpenSSL's s_client (TLS 1.2) resumes A's ticket on B and C. Rotating
the file (`fedgate ticket-keys rotate`) is picked up without restart, by the
file check or, for an instance D that checks hourly, by a reload; a corrupt
file is refused and counted while the keys in use stay. A dialback key
that A gives a remote which offers dialback only is verified by B and C,
which read the same dialback secret file, as the remote would ask them
behind a load balancer.

usage: tickets_test.py FEDGATE_BINARY
"""

import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = "127.0.0.1"


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-tickets-")
        d = self.dir
        fp.dev_pki(FEDGATE, d + "/pki", "remote.test", "b.test", "other.test", "o.test",
                   "dialback.test")
        fp.dev_pki(FEDGATE, d + "/ica", "unused.test")
        fp.dev_pki(FEDGATE, d + "/rogue", "remote.test")
        fp.write_secret(d + "/secret", "test-dialback-secret")
        self.keys = d + "/ticket.keys"
        subprocess.run([FEDGATE, "ticket-keys", "new", self.keys], check=True,
                       stdout=subprocess.DEVNULL)
        self.sink_port, self.auth_port = fp.free_port(), fp.free_port()
        self.sink = xp.ReceivingServer(HOST, self.sink_port, d + "/pki/b.test.crt",
                                       d + "/pki/b.test.key", client_ca=d + "/ica/ca.crt")
        self.valid_keys = {}
        self.auth = xp.ReceivingServer(HOST, self.auth_port, d + "/pki/remote.test.crt",
                                       d + "/pki/remote.test.key", client_ca=d + "/pki/ca.crt",
                                       verify_keys=self.valid_keys)
        # A remote server that offers dialback only (it asks for no client
        # certificate) and records the keys it is given.
        self.db_port = fp.free_port()
        self.db_remote = xp.ReceivingServer(HOST, self.db_port, d + "/pki/dialback.test.crt",
                                            d + "/pki/dialback.test.key")
        os.chdir(d)
        self.gw, self.ports = {}, {}
        for name, trust in (("a", "pki/ca.crt"), ("b", "pki/ca.crt"), ("c", "rogue/ca.crt")):
            p = fp.listener_ports()
            cfg = fp.gateway_yaml(
                p, [("b.test", "sink", None)], [("sink", [self.sink_port])],
                trust=trust, default_cert="pki/b.test",
                static=[("remote.test", self.auth_port), ("other.test", self.auth_port),
                        ("dialback.test", self.db_port)],
                tls={"ticket_key_file": self.keys, "ticket_key_check_interval": "200ms"},
                # A ends quiet streams soon: O's outbound link to it is then
                # reopened by the next stanza (and resumes).
                limits={"idle_timeout": "1s"} if name == "a" else None)
            self.ports[name] = p
            self.gw[name] = fp.Fedgate(FEDGATE, d, "fedgate-" + name, cfg, p["admin"])
        # O: an origin gateway whose outbound links to b.test (instance A)
        # close when idle; the next link resumes the session the first left.
        self.o_sink_port = fp.free_port()
        self.o_sink = xp.ReceivingServer(HOST, self.o_sink_port, d + "/pki/o.test.crt",
                                         d + "/pki/o.test.key", client_ca=d + "/ica/ca.crt")
        # Its own dialback secret: the stream id tag that detects loops
        # derives from it, and O is not A.
        fp.write_secret(d + "/secret-o", "origin-dialback-secret")
        p = fp.listener_ports()
        cfg = fp.gateway_yaml(
            p, [("o.test", "sink", "pki/o.test")], [("sink", [self.o_sink_port])],
            secret="secret-o", static=[("b.test", self.ports["a"]["s2s"])])
        self.ports["o"] = p
        self.origin = fp.Fedgate(FEDGATE, d, "fedgate-o", cfg, p["admin"])
        # HAProxy 2.6 in TCP mode before A and B, taking turns (roundrobin):
        # the load balancer a shared key file is for.
        self.lb_port = fp.free_port()
        with open(d + "/haproxy.cfg", "w") as f:
            f.write("global\n  nbthread 1\ndefaults\n  mode tcp\n  timeout connect 5s\n"
                    "  timeout client 30s\n  timeout server 30s\n"
                    "frontend s2s\n  bind %s:%d\n  default_backend gateways\n"
                    "backend gateways\n  balance roundrobin\n"
                    "  server a %s:%d\n  server b %s:%d\n"
                    % (HOST, self.lb_port, HOST, self.ports["a"]["s2s"], HOST,
                       self.ports["b"]["s2s"]))
        self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", d + "/haproxy.cfg"],
                                        stdout=open(d + "/haproxy.log", "w"),
                                        stderr=subprocess.STDOUT)
        if not xp.wait_port(HOST, self.lb_port, 10):
            raise RuntimeError("haproxy did not start: %s" % open(d + "/haproxy.log").read())
        self.ports["lb"] = {"s2s": self.lb_port}

    def close(self):
        self.haproxy.terminate()
        self.haproxy.wait()
        self.origin.stop()
        self.o_sink.close()
        for g in self.gw.values():
            g.stop()
        self.sink.close()
        self.auth.close()
        self.db_remote.close()

    def cert(self, domain, pki="pki"):
        return (self.dir + "/%s/%s.crt" % (pki, domain), self.dir + "/%s/%s.key" % (pki, domain))


class Remote:
    """A remote server's TLS client side: one SSLContext whose sessions it
    keeps and offers again (as a server reconnecting would)."""

    def __init__(self, env, cert="remote.test", pki="pki", tls12=False):
        self.env = env
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if tls12:
            self.ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.load_verify_locations(env.dir + "/pki/ca.crt")
        if cert is not None:  # None: no client certificate (dialback only)
            self.ctx.load_cert_chain(*env.cert(cert, pki))
        self.session = None

    def _wrap(self, p, name):
        p.sock = self.ctx.wrap_socket(p.sock, server_hostname=name, session=self.session)
        p.tls = True
        p.reader.reset()
        p.pending = []

    def connect(self, gw, frm="remote.test", to="b.test", direct=False):
        """A stream to instance |gw| past TLS; returns (peer, features, resumed)."""
        port = self.env.ports[gw]["tls" if direct else "s2s"]
        p = xp.Peer.connect(HOST, port)
        if direct:
            self.ctx.set_alpn_protocols(["xmpp-server"])
            self._wrap(p, to)
        else:
            p.open_stream(to, frm)
            p.read_header()
            p.read_features()
            p.send("<starttls xmlns='%s'/>" % xp.NS_TLS)
            assert p.read_element().tag == xp.q(xp.NS_TLS, "proceed")
            self._wrap(p, to)
        p.open_stream(to, frm)
        p.read_header()
        feats = p.read_features()
        # The server's ticket came before its stream header: the session
        # now holds it (TLS 1.3 sends tickets after the handshake).
        resumed = p.sock.session_reused
        self.session = p.sock.session
        return p, feats, resumed


def offers_external(feats):
    mechs = feats.find(xp.q(xp.NS_SASL, "mechanisms"))
    return mechs is not None and any(m.text == "EXTERNAL" for m in mechs)


def wait_metric(gw, name, want_at_least, timeout=10):
    deadline = time.time() + timeout
    while True:
        got = gw.metric(name)
        if got >= want_at_least or time.time() > deadline:
            return got
        time.sleep(0.05)


def expect_delivered(env, body, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for _, el in env.sink.stanzas:
            got = el.find(xp.q(xp.NS_SERVER, "body"))
            if got is not None and got.text == body:
                return el
        env.sink.wait_stanzas(len(env.sink.stanzas) + 1, timeout=0.2)
    raise AssertionError("%r not delivered to the backend" % body)


def external_and_deliver(p, body):
    cond, _ = p.sasl_external()
    assert cond == "success", cond
    p.open_stream("b.test", "remote.test")
    p.read_header()
    p.read_features()
    p.send_message("alice@remote.test/x", "bob@b.test", body)


def resume_across(env, tls12, direct):
    r = Remote(env, tls12=tls12)
    p, feats, resumed = r.connect("a", direct=direct)
    assert not resumed and offers_external(feats)
    p.close()
    before = env.gw["b"].metric("tls_resumed_inbound_total")
    p, feats, resumed = r.connect("b", direct=direct)
    assert resumed, "a ticket of instance A did not resume on B"
    assert p.sock.version() == ("TLSv1.2" if tls12 else "TLSv1.3"), p.sock.version()
    assert offers_external(feats), "a valid certificate, resumed, lost EXTERNAL"
    body = "resumed-%s-%s" % ("12" if tls12 else "13", "direct" if direct else "starttls")
    external_and_deliver(p, body)
    expect_delivered(env, body)
    p.close()
    assert env.gw["b"].metric("tls_resumed_inbound_total") == before + 1


# --- tests (RFC / XEP section in each name) ---

def test_rfc8446_4_6_1_tls13_full_on_a_resumed_on_b_sasl_external(env):
    resume_across(env, tls12=False, direct=False)


def test_rfc5077_tls12_full_on_a_resumed_on_b_sasl_external(env):
    resume_across(env, tls12=True, direct=False)


def test_xep0368_direct_tls_full_on_a_resumed_on_b(env):
    resume_across(env, tls12=False, direct=True)


def s_client(env, gw, sess_flag, sess_file):
    """`openssl s_client -tls1_2` to |gw|'s direct TLS listener, with
    remote.test's certificate; returns its output."""
    c, k = env.cert("remote.test")
    r = subprocess.run(
        ["openssl", "s_client", "-tls1_2", "-connect", "%s:%d" % (HOST, env.ports[gw]["tls"]),
         "-servername", "b.test", "-alpn", "xmpp-server", "-CAfile", env.dir + "/pki/ca.crt",
         "-cert", c, "-key", k, "-verify_return_error", sess_flag, sess_file],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    return r.stdout + r.stderr


def test_rfc5077_openssl_s_client_tls12_ticket_of_a_resumes_on_b(env):
    # A TLS 1.2-only client other than Python's: OpenSSL's s_client keeps
    # the session (with A's RFC 5077 ticket) in a file and offers it to B.
    sess = env.dir + "/s_client.sess"
    before = env.gw["b"].metric("tls_resumed_inbound_total")
    out = s_client(env, "a", "-sess_out", sess)
    assert "New, TLSv1.2" in out and "Verify return code: 0 (ok)" in out, out[-1500:]
    assert "TLS session ticket:" in out, out[-1500:]
    out = s_client(env, "b", "-sess_in", sess)
    assert "Reused, TLSv1.2" in out, out[-1500:]
    assert wait_metric(env.gw["b"], "tls_resumed_inbound_total", before + 1) == before + 1
    # C shares the key file too; a server without it (a fresh key set of
    # its own) would answer "New".
    out = s_client(env, "c", "-sess_in", sess)
    assert "Reused, TLSv1.2" in out, out[-1500:]


def test_rfc8446_2_2_behind_haproxy_tcp_mode_resumes_on_the_other_instance(env):
    r = Remote(env)
    served = []
    for i in range(4):
        before = {g: env.gw[g].metric("streams_in_accepted_total") for g in ("a", "b")}
        p, feats, resumed = r.connect("lb")
        body = "through haproxy %d" % i
        external_and_deliver(p, body)
        expect_delivered(env, body)
        p.close()
        served.append([g for g in ("a", "b")
                       if env.gw[g].metric("streams_in_accepted_total") > before[g]])
        assert resumed == (i > 0), "connection %d: resumed %s" % (i, resumed)
    # Round robin: the instances took turns, each resuming the other's ticket.
    assert served in ([["a"], ["b"], ["a"], ["b"]], [["b"], ["a"], ["b"], ["a"]]), served


def test_rfc6120_13_7_resumed_rejected_certificate_gets_no_external(env):
    # The full handshake's certificate (another CA) earned no EXTERNAL...
    r = Remote(env, cert="remote.test", pki="rogue")
    p, feats, resumed = r.connect("a")
    assert not resumed and not offers_external(feats)
    p.close()
    for gw in ("a", "b"):
        p, feats, resumed = r.connect(gw)
        assert resumed, gw
        # ...and the resumed session earns none either, on either instance.
        assert not offers_external(feats), gw
        cond, _ = p.sasl_external()
        assert cond == "failure", cond
        p.close()
    # XEP-0344: nor may the certificate spare the dialback round trip.
    p, feats, resumed = r.connect("b")
    assert resumed
    asked = len(env.auth.verify_questions)
    p.dialback_result("remote.test", "b.test", "not-a-valid-key")
    assert p.read_dialback_result().get("type") == "invalid"
    assert len(env.auth.verify_questions) == asked + 1
    p.close()


def test_rfc6120_13_7_session_of_a_dialback_only_stream_stays_dialback_only(env):
    # A remote server without a client certificate (dialback only): its
    # session, resumed on the other instance, carries no certificate to earn
    # EXTERNAL with, and dialback asks the authoritative server as before.
    r = Remote(env, cert=None)
    p, feats, resumed = r.connect("a")
    assert not resumed and not offers_external(feats)
    p.close()
    resumed_without_external(r, "b", "a session without a certificate")
    p, feats, resumed = r.connect("b")
    assert resumed and feats.find(xp.q(xp.NS_DB_FEATURE, "dialback")) is not None
    asked = len(env.auth.verify_questions)
    env.valid_keys["key-after-resumption"] = True
    p.dialback_result("remote.test", "b.test", "key-after-resumption")
    assert p.read_dialback_result().get("type") == "valid"
    assert [q[3] for q in env.auth.verify_questions[asked:]] == ["key-after-resumption"]
    p.close()


def test_rfc6120_13_7_session_of_one_domain_does_not_authenticate_another(env):
    r = Remote(env)  # remote.test's certificate
    p, feats, resumed = r.connect("a", frm="remote.test")
    assert offers_external(feats)
    p.close()
    p, feats, resumed = r.connect("b", frm="other.test")
    assert resumed
    assert not offers_external(feats), "a remote.test session authenticated other.test"
    cond, _ = p.sasl_external("other.test")
    assert cond == "failure", cond
    p.close()


def resumed_without_external(r, gw, why):
    """|r| resumes its session on |gw| and gets no SASL EXTERNAL (|why| says
    why it must not), neither offered nor granted."""
    p, feats, resumed = r.connect(gw)
    assert resumed, "%s: the ticket should open (same keys)" % gw
    assert not offers_external(feats), "%s offered EXTERNAL: %s" % (gw, why)
    cond, _ = p.sasl_external()
    assert cond == "failure", cond
    p.close()


def test_rfc6120_13_7_instance_without_the_ca_refuses_the_resumed_certificate(env):
    r = Remote(env)
    p, feats, resumed = r.connect("a")
    assert offers_external(feats)
    p.close()
    # C shares the key file but not the trust store: the ticket opens, the
    # certificate inside does not authenticate.
    resumed_without_external(r, "c", "C does not trust the CA")


def reload_trust(gw, trust):
    """Points |gw|'s tls.trust_file at |trust| and reloads it."""
    text = re.sub(r"(?m)^  trust_file: .*$", "  trust_file: %s" % trust, open(gw.cfgfile).read())
    with open(gw.cfgfile, "w") as f:
        f.write(text)
    rc, out, err = fp.ctl(FEDGATE, gw.admin_port, "reload")
    assert rc == 0, (rc, out, err)


def test_rfc6120_13_7_reload_that_drops_the_ca_voids_the_sessions_it_trusted(env):
    # A session (and a cached verdict) made while A trusted the CA...
    r = Remote(env)
    p, feats, resumed = r.connect("a")
    assert offers_external(feats)
    external_and_deliver(p, "before the CA was dropped")
    expect_delivered(env, "before the CA was dropped")
    p.close()
    reload_trust(env.gw["a"], "rogue/ca.crt")
    try:
        # ...resumes after a reload that no longer trusts it, but the
        # certificate inside earns no EXTERNAL, on every worker.
        for _ in range(4):
            resumed_without_external(r, "a", "a session of a dropped CA")
    finally:
        reload_trust(env.gw["a"], "pki/ca.crt")
    p, feats, resumed = r.connect("a")
    assert offers_external(feats), "trusted again after the second reload"
    p.close()


def internal_sender(env, gw="o", local="o.test", to="b.test"):
    """|local|'s internal server, authenticated on |gw|'s internal listener."""
    p = xp.Peer.connect(HOST, env.ports[gw]["internal"])
    p.open_secured(to, local, certfile=env.dir + "/pki/%s.crt" % local,
                   keyfile=env.dir + "/pki/%s.key" % local)
    assert p.sasl_external()[0] == "success"
    p.open_stream(to, local)
    p.read_header()
    p.read_features()
    return p


def test_rfc8446_2_2_outbound_link_reopened_resumes_with_the_carried_verdict(env):
    p = internal_sender(env)
    p.send_message("alice@o.test/x", "bob@b.test", "outbound full handshake")
    expect_delivered(env, "outbound full handshake")
    opened = env.origin.metric("remote_streams_opened_total")
    closed = env.gw["a"].metric("streams_in_closed_total")
    resumed = env.origin.metric("tls_resumed_outbound_total")
    # A's limits.idle_timeout ends the quiet stream; the next stanza opens
    # another link.
    deadline = time.time() + 10
    while env.gw["a"].metric("streams_in_closed_total") == closed and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # O sees the end of its link
    p.send_message("alice@o.test/x", "bob@b.test", "outbound resumed")
    expect_delivered(env, "outbound resumed")
    assert env.origin.metric("remote_streams_opened_total") == opened + 1, "no second link"
    assert env.origin.metric("tls_resumed_outbound_total") == resumed + 1
    assert env.origin.metric("tls_resumed_outbound_refused_total") == 0
    # The remote authenticated o.test by certificate on the resumed link too,
    # and O still holds A proved by PKIX: the verdict of the full handshake,
    # carried by the session (no certificate was verified this time).
    log = open(env.origin.logfile).read()
    assert "(resumed), sasl-external, peer proved by pkix" in log, log[-2000:]
    p.close()


def test_xep0220_2_1_2_key_made_by_one_instance_verifies_on_another(env):
    # A originates a link to dialback.test, which offers dialback only; the
    # remote then asks b.test's authoritative server, which behind a load
    # balancer may be another instance: every instance reading the same
    # dialback secret file verifies A's key (XEP-0185), and refuses it
    # altered or for another stream.
    p = internal_sender(env, gw="a", local="b.test", to="dialback.test")
    p.send_message("bob@b.test/x", "dave@dialback.test", "dialback across instances")
    deadline = time.time() + 10
    while not env.db_remote.results and time.time() < deadline:
        time.sleep(0.05)
    assert env.db_remote.results, "A sent no dialback key"
    frm, to, sid, key = env.db_remote.results[-1]
    assert (frm, to) == ("b.test", "dialback.test")
    assert re.fullmatch(r"[0-9a-f]{64}", key), key
    p.close()

    def verify(gw, k, stream_id):
        q = xp.Peer.connect(HOST, env.ports[gw]["s2s"])
        q.open_secured("b.test", "dialback.test", cafile=env.dir + "/pki/ca.crt")
        q.send("<db:verify from='dialback.test' to='b.test' id='%s'>%s</db:verify>"
               % (stream_id, k))
        el = q.read_element()
        q.close()
        assert el.tag == xp.q(xp.NS_DB, "verify"), el.tag
        return el.get("type")

    altered = ("0" if key[0] != "0" else "1") + key[1:]
    for gw in ("b", "a", "c"):
        assert verify(gw, key, sid) == "valid", gw
        assert verify(gw, altered, sid) == "invalid", gw
        assert verify(gw, key, sid + "x") == "invalid", gw


def test_ticket_keys_rotation_reread_previous_resumes_retired_does_not(env):
    r_prev, r_old = Remote(env), Remote(env)
    for r in (r_prev, r_old):
        p, _, _ = r.connect("a")
        p.close()
    before = {g: env.gw[g].metric("ticket_keys_reloaded_total") for g in env.gw}
    subprocess.run([FEDGATE, "ticket-keys", "rotate", env.keys], check=True,
                   stdout=subprocess.DEVNULL)
    for g in env.gw:  # re-read without restart
        assert wait_metric(env.gw[g], "ticket_keys_reloaded_total", before[g] + 1) > before[g], g
    p, feats, resumed = r_prev.connect("b")
    assert resumed, "a ticket under the previous key did not resume"
    assert offers_external(feats)
    p.close()
    subprocess.run([FEDGATE, "ticket-keys", "rotate", env.keys, "--keep", "1"], check=True,
                   stdout=subprocess.DEVNULL)
    for g in env.gw:
        assert wait_metric(env.gw[g], "ticket_keys_reloaded_total", before[g] + 2) > before[g] + 1
    unknown = env.gw["b"].metric("tls_tickets_unknown_key_total")
    p, feats, resumed = r_old.connect("b")
    assert not resumed, "a ticket under a retired key resumed"
    assert offers_external(feats)  # a full handshake, which succeeded
    p.close()
    assert wait_metric(env.gw["b"], "tls_tickets_unknown_key_total", unknown + 1) > unknown


def test_ticket_keys_reread_by_a_reload_without_waiting_for_the_check(env):
    # Instance D looks at the file only every hour: a rotation reaches it
    # by a configuration reload. Until then a ticket sealed with the new key
    # (by A, which re-read the file) falls back to a full handshake on D.
    p = fp.listener_ports()
    cfg = fp.gateway_yaml(
        p, [("b.test", "sink", None)], [("sink", [env.sink_port])], default_cert="pki/b.test",
        tls={"ticket_key_file": env.keys, "ticket_key_check_interval": "1h"})
    d = fp.Fedgate(FEDGATE, env.dir, "fedgate-d", cfg, p["admin"])
    env.ports["d"] = p
    try:
        before_a = env.gw["a"].metric("ticket_keys_reloaded_total")
        subprocess.run([FEDGATE, "ticket-keys", "rotate", env.keys], check=True,
                       stdout=subprocess.DEVNULL)
        assert wait_metric(env.gw["a"], "ticket_keys_reloaded_total", before_a + 1) > before_a
        early, late = Remote(env), Remote(env)
        for r in (early, late):
            q, _, resumed = r.connect("a")
            q.close()
        q, feats, resumed = early.connect("d")
        assert not resumed, "D resumed a ticket under a key it has not read"
        assert offers_external(feats)
        q.close()
        reloaded = d.metric("ticket_keys_reloaded_total")
        rc, out, err = fp.ctl(FEDGATE, p["admin"], "reload")
        assert rc == 0, (rc, out, err)
        assert d.metric("ticket_keys_reloaded_total") == reloaded + 1
        q, feats, resumed = late.connect("d")
        assert resumed, "the reload did not bring the new key"
        assert offers_external(feats)
        q.close()
    finally:
        del env.ports["d"]
        d.stop()


def test_ticket_keys_corrupt_file_refused_counted_old_keys_stay(env):
    r = Remote(env)
    p, _, _ = r.connect("a")
    p.close()
    saved = env.keys + ".saved"
    shutil.copyfile(env.keys, saved)
    before = env.gw["b"].metric("ticket_keys_refused_total")
    with open(env.keys + ".tmp", "w") as f:
        f.write("# broken\nnot-a-key\n")
    os.replace(env.keys + ".tmp", env.keys)
    assert wait_metric(env.gw["b"], "ticket_keys_refused_total", before + 1) == before + 1
    time.sleep(0.5)  # more checks of the same file: refused once, not again
    assert env.gw["b"].metric("ticket_keys_refused_total") == before + 1
    log = open(env.gw["b"].logfile).read()
    assert "TLS ticket keys not re-read" in log and "line 2" in log, log[-2000:]
    p, feats, resumed = r.connect("b")
    assert resumed, "the keys in use were dropped with the corrupt file"
    p.close()
    os.replace(saved, env.keys)
    reloaded = env.gw["b"].metric("ticket_keys_reloaded_total")
    assert wait_metric(env.gw["b"], "ticket_keys_reloaded_total", reloaded + 1) > reloaded


if __name__ == "__main__":
    sys.exit(fp.main_of(Env, globals()))
