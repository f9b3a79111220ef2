#!/usr/bin/python3
"""End-to-end tests of the PROXY protocol and of failover behind HAProxy.

A real `fedgate run` whose public listeners speak the PROXY protocol
(listeners.*.proxy_protocol.trusted_networks: [127.0.0.1/32]) behind a real
HAProxy 2.6 in TCP mode: one frontend with `send-proxy-v2` in front of the
direct TLS listener, one with `send-proxy` (v1) in front of the STARTTLS
listener. Scripted remote peers (xmpp_peer.Peer) connect through HAProxy
from their own loopback addresses (127.0.0.2, 127.0.0.3): fedgate must see
those, not HAProxy's 127.0.0.1, in its log, /streams and per-IP limits,
with SASL EXTERNAL and with dialback (remote.test's authoritative server
answers fedgate's questions).
Connections straight to fedgate, from untrusted addresses or without a
valid header, are refused with the reason counted.

Failover: two more fedgate instances behind one HAProxy backend
(roundrobin, health checks, send-proxy-v2); bench/s2sload sends through it
with --reconnect; instance A is SIGKILLed mid-run; its streams reconnect
through HAProxy to B. Afterwards sent = delivered + bounced + lost, where
lost are the stanzas s2sload had written on A's dead connections and that
never arrived, and B lost nothing (its stanzas in = delivered + bounced).

Proxy protocol sections cited in test names are those of HAProxy's
proxy-protocol.txt (§2.1 version 1, §2.2 version 2).

usage: proxy_test.py FEDGATE_BINARY S2SLOAD_BINARY
"""

import json
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import haproxy  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "bazel-bin/gateway/fedgate")
S2SLOAD = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "bazel-bin/bench/s2sload")
HOST = "127.0.0.1"
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2_header(cmd=1, fam=0x11, payload=None, length=None):
    if payload is None:
        payload = bytes([192, 0, 2, 7, 127, 0, 0, 1]) + struct.pack(">HH", 40000, 5269)
    length = len(payload) if length is None else length
    return V2_SIG + bytes([0x20 | cmd, fam]) + struct.pack(">H", length) + payload


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-proxy-")
        d = self.dir
        fp.dev_pki(FEDGATE, d + "/pki", "remote.test", "other.test", "b.test")
        fp.dev_pki(FEDGATE, d + "/ica", "unused.test")
        fp.write_secret(d + "/secret", "test-dialback-secret")
        self.ports = {k: fp.free_port() for k in ("s2s", "tls", "internal", "admin", "sink",
                                                  "hp_v1", "hp_v2", "hp_crc", "auth")}
        p = self.ports
        cfg = fp.gateway_yaml(
            p, [("b.test", "sink", None)], [("sink", [p["sink"]])], default_cert="pki/b.test",
            limits={"streams_per_ip": 2, "handshake_timeout": "2s"},
            proxy_trusted=["127.0.0.1/32"], static=[("remote.test", p["auth"])])
        self.sink = xp.ReceivingServer(HOST, p["sink"], d + "/pki/b.test.crt",
                                       d + "/pki/b.test.key", client_ca=d + "/ica/ca.crt")
        # remote.test's authoritative server: answers fedgate's dialback
        # questions (XEP-0220) from |valid_keys|.
        self.valid_keys = {}
        self.auth = xp.ReceivingServer(HOST, p["auth"], d + "/pki/remote.test.crt",
                                       d + "/pki/remote.test.key", client_ca=d + "/pki/ca.crt",
                                       verify_keys=self.valid_keys)
        os.chdir(d)
        self.gw = fp.Fedgate(FEDGATE, d, "fedgate", cfg, p["admin"])
        self.hp = haproxy.HAProxy(d + "/haproxy", """
frontend via_v2
  bind %(h)s:%(v2)d
  default_backend gw_v2
backend gw_v2
  server gw %(h)s:%(tls)d send-proxy-v2

frontend via_v1
  bind %(h)s:%(v1)d
  default_backend gw_v1
backend gw_v1
  server gw %(h)s:%(s2s)d send-proxy

frontend via_v2_crc
  bind %(h)s:%(crc)d
  default_backend gw_v2_crc
backend gw_v2_crc
  server gw %(h)s:%(tls)d send-proxy-v2 proxy-v2-options crc32c
""" % {"h": HOST, "v1": p["hp_v1"], "v2": p["hp_v2"], "tls": p["tls"], "s2s": p["s2s"],
       "crc": p["hp_crc"]},
            [p["hp_v1"], p["hp_v2"], p["hp_crc"]])

    def metric(self, name):
        return self.gw.metric(name)

    def refused(self, reason):
        return labeled(self.ports["admin"], "proxy_header_refused_total", "reason", reason)

    def cert(self, domain):
        return (self.dir + "/pki/%s.crt" % domain, self.dir + "/pki/%s.key" % domain)

    def close(self):
        self.hp.stop()
        self.gw.stop()
        self.sink.close()
        self.auth.close()


def labeled(admin_port, name, label, value):
    url = "http://%s:%d/metrics" % (HOST, admin_port)
    want = 'fedgate_%s{%s="%s"} ' % (name, label, value)
    for line in urllib.request.urlopen(url, timeout=5).read().decode().splitlines():
        if line.startswith(want):
            return int(line.split()[1])
    raise KeyError(want)


def connect_from(source, port):
    """A TCP connection to HOST:|port| from the loopback address |source|."""
    return socket.create_connection((HOST, port), timeout=10, source_address=(source, 0))


def streams_text(env):
    url = "http://%s:%d/streams" % (HOST, env.ports["admin"])
    return urllib.request.urlopen(url, timeout=5).read().decode()


def wait_streams_closed(env, timeout=10):
    deadline = time.time() + timeout
    while env.metric("streams_in_accepted_total") != env.metric("streams_in_closed_total"):
        if time.time() > deadline:
            raise AssertionError("inbound streams still open:\n" + streams_text(env))
        time.sleep(0.05)


def wait_value(fn, want, timeout=10):
    deadline = time.time() + timeout
    while True:
        got = fn()
        if got == want or time.time() > deadline:
            return got
        time.sleep(0.05)


def expect_closed_without_a_byte(sock, timeout=5):
    """The peer closes |sock| and sends nothing: no stream, no TLS alert."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except ConnectionResetError:
        data = b""
    assert data == b"", "fedgate answered %r instead of closing" % data[:80]


def expect_refused_as(env, source, port, data, reason, shut=False):
    """|data| sent from |source| to |port| (then the write side shut, with
    |shut|) is refused without a byte in answer, counted once under
    |reason| and logged with the connecting address."""
    before = env.refused(reason)
    s = connect_from(source, port)
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # already closed
    expect_closed_without_a_byte(s)
    s.close()
    got = wait_value(lambda: env.refused(reason), before + 1)
    assert got == before + 1, "%r: %s moved by %d" % (data[:30], reason, got - before)
    log = open(env.gw.logfile).read()
    assert "peer=%s: connection refused: PROXY protocol %s" % (source, reason) in log, \
        env.gw.log_tail(10)


def expect_delivered(env, body, before, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for _, el in env.sink.stanzas[before:]:
            got = el.find(xp.q(xp.NS_SERVER, "body"))
            if got is not None and got.text == body:
                return
        env.sink.wait_stanzas(len(env.sink.stanzas) + 1, timeout=0.2)
    raise AssertionError("%r not delivered to the backend" % body)


def authenticated_via(env, source, v2, frontend=None):
    """A remote.test stream from |source| through HAProxy: direct TLS behind
    the send-proxy-v2 frontend (or |frontend|), or STARTTLS behind the
    send-proxy one; SASL EXTERNAL; restarted."""
    c, k = env.cert("remote.test")
    ca = env.dir + "/pki/ca.crt"
    p = xp.Peer(connect_from(source, env.ports[frontend or ("hp_v2" if v2 else "hp_v1")]))
    if v2:
        p.wrap_tls("b.test", cafile=ca, certfile=c, keyfile=k, alpn=["xmpp-server"])
    else:
        p.open_stream("b.test", "remote.test")
        p.read_header()
        p.read_features()
        p.starttls("b.test", cafile=ca, certfile=c, keyfile=k)
    p.open_stream("b.test", "remote.test")
    p.read_header()
    p.read_features()
    assert p.sasl_external()[0] == "success"
    p.open_stream("b.test", "remote.test")
    p.read_header()
    p.read_features()
    return p


def check_seen_as(env, p, source, version):
    """/streams and the log show stream |p| with the peer address |source|,
    come through HAProxy (127.0.0.1) with PROXY protocol |version|."""
    mine = [l for l in streams_text(env).splitlines() if "stream=%s " % p.stream_id in l]
    assert len(mine) == 1 and " ip=%s " % source in mine[0], mine
    assert mine[0].endswith(" proxy=v%d via=127.0.0.1" % version), mine
    log = open(env.gw.logfile).read()
    assert re.search(r"peer=remote\.test: authenticated by sasl-external, proved by \S+ "
                     r"\(from %s\)" % re.escape(source), log), env.gw.log_tail(20)


# --- tests ---

def test_pp_2_2_send_proxy_v2_before_direct_tls_names_the_peer(env):
    wait_streams_closed(env)
    accepted = env.metric("proxy_header_accepted_total")
    before = len(env.sink.stanzas)
    p = authenticated_via(env, "127.0.0.2", v2=True)
    assert p.sock.selected_alpn_protocol() == "xmpp-server"
    p.send_message("carol@remote.test", "bob@b.test", "through send-proxy-v2")
    expect_delivered(env, "through send-proxy-v2", before)
    check_seen_as(env, p, "127.0.0.2", 2)
    assert env.metric("proxy_header_accepted_total") == accepted + 1
    p.close()


def crc_header(payload, flip=0):
    """A PROXY v2 TCP4 header naming 192.0.2.9, with a CRC32C TLV whose value
    is the header's checksum (xored with |flip|), computed by the test."""
    def crc32c(data):
        c = 0xFFFFFFFF
        for b in data:
            c ^= b
            for _ in range(8):
                c = (c >> 1) ^ (0x82F63B78 & -(c & 1))
        return c ^ 0xFFFFFFFF
    hdr = bytearray(v2_header(payload=payload + b"\x03\x00\x04\x00\x00\x00\x00"))
    hdr[-4:] = struct.pack(">I", crc32c(bytes(hdr)) ^ flip)
    return bytes(hdr)


def test_pp_2_2_3_haproxy_crc32c_checked_and_a_wrong_one_refused(env):
    # HAProxy's proxy-v2-options crc32c: fedgate checks the checksum HAProxy
    # computed (and so agrees with it) and serves the stream...
    wait_streams_closed(env)
    before = len(env.sink.stanzas)
    p = authenticated_via(env, "127.0.0.7", v2=True, frontend="hp_crc")
    p.send_message("frank@remote.test", "bob@b.test", "through crc32c")
    expect_delivered(env, "through crc32c", before)
    check_seen_as(env, p, "127.0.0.7", 2)
    p.close()
    # ...as it does the test's own right checksum; one bit off is refused.
    addrs = bytes([192, 0, 2, 9, 127, 0, 0, 1]) + struct.pack(">HH", 40009, 5269)
    q = xp.Peer(connect_from("127.0.0.1", env.ports["s2s"]))
    send_first_with(q, crc_header(addrs))
    q.open_stream("b.test", "remote.test")
    q.read_header()
    q.read_features()
    assert " ip=192.0.2.9 " in stream_line(env, q.stream_id)
    q.close()
    expect_refused_as(env, "127.0.0.1", env.ports["s2s"],
                      crc_header(addrs, flip=1 << 13) + b"<?xml version='1.0'?>", "bad-checksum")


def test_pp_2_1_send_proxy_v1_before_the_stream_header_names_the_peer(env):
    wait_streams_closed(env)
    before = len(env.sink.stanzas)
    p = authenticated_via(env, "127.0.0.3", v2=False)
    p.send_message("dave@remote.test", "bob@b.test", "through send-proxy")
    expect_delivered(env, "through send-proxy", before)
    check_seen_as(env, p, "127.0.0.3", 1)
    p.close()


def test_pp_streams_per_ip_counts_the_real_peer_not_the_balancer(env):
    # limits.streams_per_ip is 2. Every connection comes from HAProxy's
    # 127.0.0.1; counted by that, the fourth stream below would be refused.
    wait_streams_closed(env)
    refused = env.metric("streams_in_refused_per_ip_total")
    held = []
    try:
        for _ in range(2):
            p = xp.Peer(connect_from("127.0.0.2", env.ports["hp_v1"]))
            p.open_stream("b.test", "remote.test")
            p.read_header()
            p.read_features()
            held.append(p)
        third = xp.Peer(connect_from("127.0.0.2", env.ports["hp_v1"]))
        third.open_stream("b.test", "remote.test")
        assert third.expect_stream_error() == "policy-violation"
        third.close()
        other = xp.Peer(connect_from("127.0.0.3", env.ports["hp_v1"]))
        other.open_stream("b.test", "remote.test")
        other.read_header()
        feats = other.read_features()
        assert feats.find(xp.q(xp.NS_TLS, "starttls")) is not None
        held.append(other)
        assert env.metric("streams_in_refused_per_ip_total") == refused + 1
        log = open(env.gw.logfile).read()
        assert "peer=127.0.0.2: too many streams from this address" in log, \
            env.gw.log_tail(10)
    finally:
        for p in held:
            p.close()


def dialback_via_v2(env, source, key):
    """A remote.test stream from |source| through the send-proxy-v2
    frontend, direct TLS without a client certificate, authenticated by
    dialback (XEP-0220) with |key|."""
    p = xp.Peer(connect_from(source, env.ports["hp_v2"]))
    p.wrap_tls("b.test", cafile=env.dir + "/pki/ca.crt", alpn=["xmpp-server"])
    p.open_stream("b.test", "remote.test")
    p.read_header()
    feats = p.read_features()
    assert feats.find(xp.q(xp.NS_DB_FEATURE, "dialback")) is not None
    env.valid_keys[key] = True
    p.dialback_result("remote.test", "b.test", key)
    res = p.read_dialback_result()
    assert res.get("type") == "valid", xp.ET.tostring(res)
    return p


def test_pp_2_2_xep0220_dialback_and_streams_per_ip_behind_send_proxy_v2(env):
    # Dialback through HAProxy's send-proxy-v2: the authoritative server is
    # asked about this stream, the log names the remote's address, and
    # limits.streams_per_ip (2) counts 127.0.0.4, not HAProxy's 127.0.0.1.
    wait_streams_closed(env)
    before = len(env.sink.stanzas)
    refused = env.metric("streams_in_refused_per_ip_total")
    held = []
    try:
        asked = len(env.auth.verify_questions)
        p = dialback_via_v2(env, "127.0.0.4", "key-behind-v2")
        held.append(p)
        q = env.auth.verify_questions[asked:]
        assert [x[2] for x in q] == [p.stream_id], q
        p.send_message("erin@remote.test", "bob@b.test", "dialback through send-proxy-v2")
        expect_delivered(env, "dialback through send-proxy-v2", before)
        line = stream_line(env, p.stream_id)
        assert " ip=127.0.0.4 " in line and line.endswith(" proxy=v2 via=127.0.0.1"), line
        assert " authenticated auth=dialback " in line, line
        log = open(env.gw.logfile).read()
        assert re.search(r"peer=remote\.test: authenticated by dialback, proved by dialback "
                         r"\(from 127\.0\.0\.4\)", log), env.gw.log_tail(20)
        held.append(dialback_via_v2(env, "127.0.0.4", "key-behind-v2-2"))
        third = xp.Peer(connect_from("127.0.0.4", env.ports["hp_v2"]))
        third.wrap_tls("b.test", cafile=env.dir + "/pki/ca.crt", alpn=["xmpp-server"])
        third.open_stream("b.test", "remote.test")
        assert third.expect_stream_error() == "policy-violation"
        third.close()
        # Another remote address through the same balancer is not affected.
        held.append(dialback_via_v2(env, "127.0.0.6", "key-behind-v2-3"))
        assert env.metric("streams_in_refused_per_ip_total") == refused + 1
        log = open(env.gw.logfile).read()
        assert "peer=127.0.0.4: too many streams from this address" in log, env.gw.log_tail(10)
    finally:
        for p in held:
            p.close()


def haproxy_v2_in_front(env, name, front, ports):
    """HAProxy in TCP mode on |front| taking turns (roundrobin) between the
    gateway ports |ports|, writing a send-proxy-v2 header to each."""
    servers = "".join("  server s%d %s:%d send-proxy-v2\n" % (i, HOST, port)
                      for i, port in enumerate(ports))
    return haproxy.HAProxy(env.dir + "/" + name, "frontend f\n  bind %s:%d\n  default_backend b\n"
                           "backend b\n  balance roundrobin\n%s" % (HOST, front, servers), [front])


def reaches_stream(source, port):
    """Opens a stream from |source| to |port|: True when the gateway answers
    with its stream header, False when it closes the connection first."""
    try:
        p = xp.Peer(connect_from(source, port))
        p.open_stream("b.test", "remote.test")
        p.read_header()
        p.read_features()
    except (xp.StreamClosed, OSError):
        return False
    p.close()
    return True


def test_pp_abuse_limits_connections_count_the_real_peer_not_the_balancer(env):
    # abuse.limits.connections (1 a second, burst of 1) behind send-proxy-v2:
    # three remote servers each open a stream through the one balancer, and
    # none is refused; the same one at once again is, under its own address.
    # Counted by the balancer's address, the second connection would be.
    ports = fp.listener_ports()
    hp_port = fp.free_port()
    cfg = fp.gateway_yaml(
        ports, [("b.test", "sink", None)], [("sink", [env.ports["sink"]])],
        default_cert="pki/b.test", proxy_trusted=["127.0.0.1/32"])
    cfg += "abuse:\n  limits:\n    connections: 1\n    burst: 1s\n"
    gw = fp.Fedgate(FEDGATE, env.dir, "fedgate-conn-limit", cfg, ports["admin"])
    hp = None
    try:
        hp = haproxy_v2_in_front(env, "haproxy-conn-limit", hp_port, [ports["s2s"]])
        limited = gw.metric("limited_connections_total")
        for source in ("127.0.0.11", "127.0.0.12", "127.0.0.13"):
            assert reaches_stream(source, hp_port), "%s refused" % source
        assert gw.metric("limited_connections_total") == limited
        refused = sum(not reaches_stream("127.0.0.11", hp_port) for _ in range(3))
        assert refused >= 1, "the same address three times at once was never refused"
        assert wait_value(lambda: gw.metric("limited_connections_total"), limited + refused) \
            == limited + refused
        log = open(gw.logfile).read()
        assert "peer=127.0.0.11: connections refused after the PROXY header: over " \
            "abuse.limits.connections" in log, gw.log_tail(10)
        assert "peer=127.0.0.1: connections refused" not in log, gw.log_tail(10)
    finally:
        if hp is not None:
            hp.stop()
        gw.stop()


def test_pp_untrusted_source_with_a_header_is_refused(env):
    # Straight to fedgate from 127.0.0.5, which is not a trusted balancer,
    # claiming to speak for 192.0.2.7.
    for port, hdr in ((env.ports["s2s"], b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 5269\r\n"),
                      (env.ports["tls"], v2_header())):
        expect_refused_as(env, "127.0.0.5", port, hdr + b"<?xml version='1.0'?>",
                          "untrusted-source")


def reload_proxy(env, networks):
    """Rewrites the public listeners' proxy_protocol (|networks|, or none:
    off) and asks for a reload; returns (exit status, output)."""
    proxy = ", proxy_protocol: {trusted_networks: [%s]}" % ", ".join(networks) if networks else ""
    text = re.sub(r"(?m)^(  s2s(?:-tls)?: \{[^\n]*?)(, proxy_protocol: \{[^}]*\})?\}$",
                  lambda m: m.group(1) + proxy + "}", open(env.gw.cfgfile).read())
    with open(env.gw.cfgfile, "w") as f:
        f.write(text)
    rc, out, err = fp.ctl(FEDGATE, env.ports["admin"], "reload")
    return rc, out + err


def answered_through_v1(source, port):
    """A v1 header naming 192.0.2.9, then a stream header, from |source|:
    returns what fedgate answers (b'' when it closes)."""
    s = connect_from(source, port)
    try:
        s.sendall(b"PROXY TCP4 192.0.2.9 127.0.0.1 40000 5269\r\n<?xml version='1.0'?>"
                  b"<stream:stream xmlns='jabber:server' xmlns:stream="
                  b"'http://etherx.jabber.org/streams' to='b.test' version='1.0'>")
        got = b""
        while b"<stream:features" not in got:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        return got
    except OSError:
        return b""
    finally:
        s.close()


def test_pp_reload_changes_the_trusted_networks_and_refuses_turning_it_off(env):
    # A balancer added by a reload is trusted at once, and one removed is
    # refused at once, on every worker; turning the protocol off (what the
    # first bytes of every connection are) needs a restart.
    port = env.ports["s2s"]
    assert answered_through_v1("127.0.0.5", port) == b""
    try:
        rc, out = reload_proxy(env, ["127.0.0.1/32", "127.0.0.5/32"])
        assert rc == 0, out
        for _ in range(4):  # the workers take connections in turn
            assert b"<stream:features" in answered_through_v1("127.0.0.5", port)
        rc, out = reload_proxy(env, None)
        assert rc != 0 and "listeners.s2s.proxy_protocol: changed from 'on' to 'off'" in out, out
        rc, out = reload_proxy(env, ["127.0.0.1/32"])
        assert rc == 0, out
        for _ in range(4):
            expect_refused_as(env, "127.0.0.5", port,
                              b"PROXY TCP4 192.0.2.9 127.0.0.1 40000 5269\r\n", "untrusted-source")
    finally:
        reload_proxy(env, ["127.0.0.1/32"])
    wait_streams_closed(env)


def test_pp_trusted_source_without_a_header_is_refused(env):
    # From the balancer's address, but a stream header (5269) or a
    # ClientHello (5270) where the PROXY header must be.
    cases = ((env.ports["s2s"], b"<?xml version='1.0'?><stream:stream xmlns='jabber:server'>"),
             (env.ports["tls"], b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"))
    for port, first in cases:
        expect_refused_as(env, "127.0.0.1", port, first, "bad-signature")


def test_pp_2_1_2_2_malformed_headers_close_the_connection(env):
    cases = [
        ("bad-signature", b"PROXZ TCP4 1.2.3.4 5.6.7.8 1 2\r\n", False),
        ("bad-line", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", False),
        ("bad-line", b"PROXY UNKNOWN " + b"A" * 120, False),
        ("bad-address", b"PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", False),
        ("bad-family", b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", False),
        ("bad-signature", V2_SIG[:6] + b"X" + V2_SIG[7:] + b"\x21\x11\x00\x0c", False),
        ("bad-version", v2_header()[:12] + b"\x11" + v2_header()[13:], False),
        ("bad-command", v2_header(cmd=2), False),
        ("bad-family", v2_header(fam=0x41, payload=b"\0" * 216), False),
        ("bad-family", v2_header(fam=0x13), False),
        ("bad-length", v2_header(fam=0x31, payload=b"\0" * 215), False),
        ("bad-length", v2_header(length=0xFFFF), False),
        ("bad-length", v2_header(payload=b"\0" * 11), False),
        ("bad-tlv", v2_header(payload=b"\0" * 12 + b"\x01\x00\x10abc"), False),
        # Truncated: the connection ends inside the header.
        ("truncated", v2_header()[:20], True),
        ("truncated", b"PROXY TCP4 1.2.3.4 ", True),
    ]
    for reason, data, shut in cases:
        expect_refused_as(env, "127.0.0.1", env.ports["s2s"], data, reason, shut)


def empty_connections(port, n, reset):
    """|n| connections from 127.0.0.1 (a balancer) to |port| that send
    nothing: closed with a FIN, or reset at once (SO_LINGER 0), as TCP
    health checks do; the reset often arrives before fedgate accepts."""
    for _ in range(n):
        s = connect_from("127.0.0.1", port)
        if reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


def test_pp_empty_connections_from_a_balancer_are_not_untrusted_or_malformed(env):
    # A connection that ends before its first byte (a TCP health check) is
    # neither an untrusted source nor a malformed header: counted as
    # `empty`, each once, logged at info, whether the reset came before
    # fedgate could read the peer's address or after.
    counts = {r: env.refused(r) for r in ("empty", "untrusted-source", "truncated")}
    logged = len(open(env.gw.logfile).read())
    empty_connections(env.ports["s2s"], 10, reset=True)
    empty_connections(env.ports["tls"], 10, reset=True)
    empty_connections(env.ports["s2s"], 5, reset=False)
    got = wait_value(lambda: env.refused("empty"), counts["empty"] + 25)
    assert got == counts["empty"] + 25, "empty moved by %d, want 25" % (got - counts["empty"])
    assert env.refused("untrusted-source") == counts["untrusted-source"]
    assert env.refused("truncated") == counts["truncated"]
    log = open(env.gw.logfile).read()[logged:]
    assert "info peer=127.0.0.1: connection refused: PROXY protocol empty" in log, log[-2000:]
    assert "connection refused: PROXY protocol empty: " in log, log[-2000:]
    assert "warn" not in log, log[-2000:]


def test_pp_incomplete_header_times_out(env):
    # limits.handshake_timeout is 2 s: a header that never completes.
    before = env.refused("timeout")
    s = connect_from("127.0.0.1", env.ports["tls"])
    s.sendall(V2_SIG[:8])
    expect_closed_without_a_byte(s, timeout=10)
    s.close()
    assert wait_value(lambda: env.refused("timeout"), before + 1) == before + 1


def test_pp_2_2_local_command_keeps_the_connection_address(env):
    # A LOCAL header (HAProxy's health checks) is accepted; the stream is
    # the balancer's own, 127.0.0.1.
    wait_streams_closed(env)
    s = connect_from("127.0.0.1", env.ports["s2s"])
    p = xp.Peer(s)
    p.send(V2_SIG + b"\x20\x00\x00\x00")
    p.open_stream("b.test", "remote.test")
    p.read_header()
    p.read_features()
    mine = [l for l in streams_text(env).splitlines() if "stream=%s " % p.stream_id in l]
    assert len(mine) == 1 and " ip=127.0.0.1 " in mine[0], mine
    assert mine[0].endswith(" proxy=v2 via=127.0.0.1"), mine
    p.close()


def send_first_with(p, prefix):
    """Makes |p|'s next send carry |prefix| before its bytes, in one write:
    the PROXY header and the stream header in the same segment."""
    plain = p.send

    def send(data):
        p.send = plain
        plain(prefix + (data.encode() if isinstance(data, str) else data))
    p.send = send


def tls_after_header(sock, header, server_hostname, ca):
    """A TLS client handshake over |sock| whose ClientHello goes out in the
    same write as |header|; returns the finished ssl.SSLObject and its two
    memory BIOs."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.set_alpn_protocols(["xmpp-server"])
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=server_hostname)
    first = True
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            pending = out.read()
            if first:
                sock.sendall(header + pending)
                first = False
            elif pending:
                sock.sendall(pending)
            data = sock.recv(65536)
            assert data, "closed during the TLS handshake"
            inc.write(data)
    pending = out.read()
    if pending:
        sock.sendall(pending)
    return obj, inc, out


def tls_exchange_until(sock, obj, inc, out, data, marker):
    obj.write(data)
    sock.sendall(out.read())
    got = b""
    while marker not in got:
        try:
            got += obj.read(65536)
        except ssl.SSLWantReadError:
            chunk = sock.recv(65536)
            assert chunk, "closed before %r: %r" % (marker, got[:200])
            inc.write(chunk)
    return got


def stream_line(env, stream_id):
    mine = [l for l in streams_text(env).splitlines() if "stream=%s " % stream_id in l]
    assert len(mine) == 1, mine
    return mine[0]


def test_pp_2_1_2_2_header_and_first_bytes_in_one_segment_on_5269_and_5270(env):
    # Nothing after the header may be lost or read twice: a v1 header and the
    # stream header in one write (5269), a v2 header and the ClientHello in
    # one write (5270, direct TLS).
    wait_streams_closed(env)
    accepted = env.metric("proxy_header_accepted_total")
    p = xp.Peer(connect_from("127.0.0.1", env.ports["s2s"]))
    send_first_with(p, b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 5269\r\n")
    p.open_stream("b.test", "remote.test")
    p.read_header()
    feats = p.read_features()
    assert feats.find(xp.q(xp.NS_TLS, "starttls")) is not None
    assert " ip=192.0.2.7 " in stream_line(env, p.stream_id)
    p.close()

    s = connect_from("127.0.0.1", env.ports["tls"])
    hdr = v2_header(payload=bytes([192, 0, 2, 8, 127, 0, 0, 1]) + struct.pack(">HH", 40001, 5270))
    obj, inc, out = tls_after_header(s, hdr, "b.test", env.dir + "/pki/ca.crt")
    assert obj.selected_alpn_protocol() == "xmpp-server"
    opened = tls_exchange_until(
        s, obj, inc, out,
        b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
        b"xmlns:stream='http://etherx.jabber.org/streams' to='b.test' from='remote.test' "
        b"version='1.0'>", b"</stream:features>")
    sid = re.search(rb"<stream:stream[^>]* id=['\"]([^'\"]+)['\"]", opened)
    assert sid is not None, opened[:300]
    line = stream_line(env, sid.group(1).decode())
    assert " ip=192.0.2.8 " in line and " proxy=v2 via=127.0.0.1" in line, line
    s.close()
    assert env.metric("proxy_header_accepted_total") == accepted + 2


def test_pp_2_2_header_written_a_byte_at_a_time(env):
    # The header in 28 writes (Nagle off: as many segments as the stack
    # sends), then the stream header: the header waits for its last byte.
    wait_streams_closed(env)
    s = connect_from("127.0.0.1", env.ports["s2s"])
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    hdr = v2_header(payload=bytes([192, 0, 2, 10, 127, 0, 0, 1]) + struct.pack(">HH", 40010, 5269))
    for b in hdr:
        s.sendall(bytes([b]))
    p = xp.Peer(s)
    p.open_stream("b.test", "remote.test")
    p.read_header()
    p.read_features()
    assert " ip=192.0.2.10 " in stream_line(env, p.stream_id)
    p.close()


def test_pp_2_2_udp_and_unix_families_fall_back_to_the_connection_address(env):
    # §2.2: a receiver falls back to UNSPEC for the valid combinations it
    # does not implement: UNIX stream (216-byte block of two paths, a TLV
    # after it) and UDP over IPv4 are accepted, and the stream is the
    # balancer's own, 127.0.0.1, as under LOCAL.
    wait_streams_closed(env)
    unix_block = b"/run/lb.sock".ljust(108, b"\0") + b"/run/fedgate.sock".ljust(108, b"\0")
    for hdr in (v2_header(fam=0x31, payload=unix_block + b"\x04\x00\x01\x00"),
                v2_header(fam=0x12), v2_header(fam=0x32, payload=unix_block)):
        accepted = env.metric("proxy_header_accepted_total")
        p = xp.Peer(connect_from("127.0.0.1", env.ports["s2s"]))
        send_first_with(p, hdr)
        p.open_stream("b.test", "remote.test")
        p.read_header()
        p.read_features()
        line = stream_line(env, p.stream_id)
        assert " ip=127.0.0.1 " in line and line.endswith(" proxy=v2 via=127.0.0.1"), line
        assert env.metric("proxy_header_accepted_total") == accepted + 1
        p.close()


def test_zz_nothing_lost_silently_by_the_counters(env):
    env.gw.assert_accounted(timeout=15)


# --- failover: two instances behind one HAProxy backend ----------------------------

def ticket_gateway(env, name, keys):
    """An instance of a pair sharing the TLS ticket key file |keys|, its
    direct-TLS listener behind the balancer (PROXY protocol v2), b.test
    delivered to the suite's sink."""
    ports = fp.listener_ports()
    cfg = fp.gateway_yaml(
        ports, [("b.test", "sink", None)], [("sink", [env.ports["sink"]])],
        default_cert="pki/b.test", limits={"streams_per_ip": 2}, log_level="info",
        tls={"ticket_key_file": keys}, proxy_trusted=["127.0.0.1/32"])
    return fp.Fedgate(FEDGATE, env.dir, name, cfg, ports["admin"]), ports


def test_pp_2_2_rfc8446_two_instances_behind_send_proxy_v2_resume_each_others_tickets(env):
    """Two instances share a ticket key file behind HAProxy (TCP mode,
    roundrobin, send-proxy-v2): a remote server that reconnects lands on
    the other instance and resumes there without a full handshake, and
    both instances see the remote's address, not HAProxy's, in their logs
    and per-IP limits."""
    import ssl
    keys = env.dir + "/tickets.keys"
    subprocess.run([FEDGATE, "ticket-keys", "new", keys], check=True, stdout=subprocess.DEVNULL)
    a, pa = ticket_gateway(env, "tk-a", keys)
    b, pb = ticket_gateway(env, "tk-b", keys)
    front = fp.free_port()
    hp = None
    try:
        hp = haproxy_v2_in_front(env, "tk-haproxy", front, [pa["tls"], pb["tls"]])
        c, k = env.cert("remote.test")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(env.dir + "/pki/ca.crt")
        ctx.load_cert_chain(c, k)
        ctx.set_alpn_protocols(["xmpp-server"])
        session, served, resumed = None, [], []
        for i in range(4):
            before = {n: g.metric("streams_in_accepted_total") for n, g in (("a", a), ("b", b))}
            p = xp.Peer(connect_from("127.0.0.2", front))
            p.sock = ctx.wrap_socket(p.sock, server_hostname="b.test", session=session)
            p.tls = True
            p.reader.reset()
            p.pending = []
            p.open_stream("b.test", "remote.test")
            p.read_header()
            p.read_features()
            resumed.append(p.sock.session_reused)
            session = p.sock.session
            assert p.sasl_external()[0] == "success"
            p.close()
            deadline = time.time() + 5
            while True:
                now = {n: g.metric("streams_in_accepted_total") for n, g in (("a", a), ("b", b))}
                took = [n for n in ("a", "b") if now[n] > before[n]]
                if took or time.time() > deadline:
                    break
                time.sleep(0.05)
            served.append(took)
        # Round robin: the instances took turns, each resuming the other's ticket.
        assert served in ([["a"], ["b"], ["a"], ["b"]], [["b"], ["a"], ["b"], ["a"]]), served
        assert resumed == [False, True, True, True], resumed
        assert a.metric("tls_resumed_inbound_total") + b.metric("tls_resumed_inbound_total") == 3
        for g in (a, b):
            log = open(g.logfile).read()
            assert re.search(r"peer=remote\.test: authenticated by sasl-external.*\(from "
                             r"127\.0\.0\.2\)", log), g.log_tail(20)
            assert "(from 127.0.0.1)" not in log, g.log_tail(20)
        # Per-IP limits count 127.0.0.2 (limit 2 per instance), not HAProxy's
        # 127.0.0.1: three held streams from .2 fill both instances' budget for
        # .2 in turn, and a stream from .3 is still accepted.
        held = []
        for _ in range(4):
            p = xp.Peer(connect_from("127.0.0.2", front))
            p.sock = ctx.wrap_socket(p.sock, server_hostname="b.test")
            p.tls = True
            p.reader.reset()
            p.pending = []
            p.open_stream("b.test", "remote.test")
            p.read_header()
            held.append(p)
        refused_before = a.metric("streams_in_refused_per_ip_total") + b.metric(
            "streams_in_refused_per_ip_total")
        p = xp.Peer(connect_from("127.0.0.2", front))
        p.sock = ctx.wrap_socket(p.sock, server_hostname="b.test")
        p.tls = True
        p.reader.reset()
        p.pending = []
        p.open_stream("b.test", "remote.test")
        try:
            p.read_header()
            p.read_features()
        except Exception:  # noqa: BLE001 - refused: the stream error ends it
            pass
        p.close()
        q = xp.Peer(connect_from("127.0.0.3", front))
        q.sock = ctx.wrap_socket(q.sock, server_hostname="b.test")
        q.tls = True
        q.reader.reset()
        q.pending = []
        q.open_stream("b.test", "remote.test")
        q.read_header()
        assert q.read_features() is not None
        q.close()
        refused_after = a.metric("streams_in_refused_per_ip_total") + b.metric(
            "streams_in_refused_per_ip_total")
        assert refused_after == refused_before + 1, (refused_before, refused_after)
        for p in held:
            p.close()
    finally:
        if hp is not None:
            hp.stop()
        a.stop()
        b.stop()


SINK_DOMAIN = "sink.bench.test"


def failover_gateway(env, name, pki, sink_port):
    """One of the instances: s2s-tls behind the balancer (PROXY protocol),
    the s2sload sink as the backend of SINK_DOMAIN over a plaintext dialback
    hop, the dialback secret shared with the other instance."""
    ports = fp.listener_ports()
    cfg = fp.gateway_yaml(
        ports, [(SINK_DOMAIN, "sink", "%s/%s" % (pki, SINK_DOMAIN))], [("sink", [sink_port])],
        trust=pki + "/ca.crt", secret="fo.secret", hop_mode="dialback", hop={"plaintext": "true"},
        limits={"streams_per_ip": 100}, log_level="info", proxy_trusted=["127.0.0.1/32"])
    return fp.Fedgate(FEDGATE, env.dir, name, cfg, ports["admin"]), ports


def test_zz_failover_instance_killed_mid_run_streams_move_to_the_other(env):
    pki = env.dir + "/fo-pki"
    fp.dev_pki(FEDGATE, pki, SINK_DOMAIN, "r1.bench.test", "r2.bench.test")
    fp.write_secret(env.dir + "/fo.secret", "shared-dialback-secret-of-the-instances")
    sink_port, front = fp.free_port(), fp.free_port()
    a, pa = failover_gateway(env, "fo-a", pki, sink_port)
    b, pb = failover_gateway(env, "fo-b", pki, sink_port)
    hp = None
    load = None
    try:
        hp = haproxy.HAProxy(env.dir + "/fo-haproxy", """
frontend xmpps
  bind %(h)s:%(front)d
  default_backend gateways
backend gateways
  balance roundrobin
  option httpchk GET /ready
  http-check expect status 200
  server a %(h)s:%(a)d send-proxy-v2 check port %(a_admin)d inter 200ms fall 1 rise 2
  server b %(h)s:%(b)d send-proxy-v2 check port %(b_admin)d inter 200ms fall 1 rise 2
""" % {"h": HOST, "front": front, "a": pa["tls"], "b": pb["tls"], "a_admin": pa["admin"],
       "b_admin": pb["admin"]}, [front])
        deadline = time.time() + 10
        while not (hp.server_state("gateways", "a") == "UP" and
                   hp.server_state("gateways", "b") == "UP"):
            assert time.time() < deadline, "servers not UP: %s" % hp.log_tail()
            time.sleep(0.1)
        # Open loop at 1,000 stanzas/s over 8 streams (4 per instance).
        load = subprocess.Popen(
            [S2SLOAD, "relay", "--target", "%s:%d" % (HOST, front), "--sink", "s2s-listen",
             "%s:%d" % (HOST, sink_port), "--pki", pki, "--remotes", "2",
             "--streams-per-remote", "4", "--rate", "1000", "--warmup", "0.5", "--seconds", "5",
             "--drain", "3", "--reconnect", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Kill A once both instances carry traffic.
        deadline = time.time() + 20
        while a.metric("stanzas_in_total") < 500 or b.metric("stanzas_in_total") < 500:
            assert load.poll() is None, "s2sload ended early: %s" % load.communicate()[1]
            assert time.time() < deadline, "no traffic through both instances"
            time.sleep(0.05)
        a_in = a.metric("stanzas_in_total")
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        out, err = load.communicate(timeout=60)
        r = json.loads(out)
        print("failover: sent %d delivered %d bounced %d lost on A's dead streams %d, "
              "reconnects %d (A had taken %d+ stanzas)" %
              (r["sent"], r["delivered"], r["bounced"], r["lost_on_dead_streams"],
               r["reconnects"], a_in))
        assert r["reconnects"] >= 4, "A's 4 streams did not reconnect: %s" % err[-2000:]
        assert r["sent"] == r["delivered"] + r["bounced"] + r["lost_on_dead_streams"], r
        assert r["duplicated"] == 0 and r["errors"] == 0, (r, err[-2000:])
        assert load.returncode == 0, err[-2000:]
        # Every stream ended on B: its 4 first ones and A's 4 reconnected.
        assert b.metric("auth_sasl_external_total") >= 8
        assert b.metric("proxy_header_accepted_total") >= 8
        # B lost nothing: stanzas in = delivered + bounced (+ not bounced).
        m = b.assert_accounted(timeout=15)
        assert m["stanzas_in_total"] > 0 and m["stanzas_undeliverable_not_bounced_total"] == 0, m
    finally:
        if load is not None and load.poll() is None:
            load.kill()
            load.wait()
        if hp is not None:
            hp.stop()
        a.stop()
        b.stop()


def main():
    if not os.path.exists("/usr/sbin/haproxy"):
        print("FAIL: haproxy is not installed (tools/debian-packages.txt lists it)")
        print("0 passed, 1 failed")
        return 1
    return fp.main_of(Env, globals())


if __name__ == "__main__":
    sys.exit(main())
