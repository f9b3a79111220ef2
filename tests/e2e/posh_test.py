"""End-to-end tests of POSH (RFC 7711, PKIX over Secure HTTP).

A real `fedgate run` with tls.posh enabled; a local HTTPS server (Python's
http.server with ssl, certificates from the test CA fedgate trusts, one per
host name by SNI) on port 443 of a loopback address serves the POSH files of
several *.posh.test domains; dnsmasq resolves those names to it. Remote
servers present self-signed certificates, which PKIX refuses:
  - a scripted peer (xmpp_peer.Peer) is offered SASL EXTERNAL only when its
    domain publishes its certificate's fingerprint (directly, or through a
    "url" reference), else dialback only;
  - fedgate's outbound link to a domain's authoritative server (dialback
    verification) is proved by POSH;
  - a short "expires" is honoured: a changed file is fetched again;
  - a slow, huge, malformed, redirecting or unreachable POSH server, or one
    whose HTTPS certificate does not name the domain, gives one log line, a
    fedgate_posh_failed_total{reason} count and dialback.

usage: posh_test.py FEDGATE_BINARY
"""

import base64
import hashlib
import http.server
import json
import os
import random
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "bazel-bin/gateway/fedgate")
HOST = "127.0.0.1"
WEB_NAMES = ["in.posh.test", "wrong.posh.test", "exp.posh.test", "slow.posh.test",
             "huge.posh.test", "bad.posh.test", "redir.posh.test", "ref.posh.test",
             "hosting.posh.test", "out.posh.test", "direct.posh.test", "nodb-ok.posh.test",
             "nodb-bad.posh.test"]


def self_signed(directory, name):
    """A self-signed certificate for |name| (PKIX refuses it)."""
    crt, key = "%s/%s.crt" % (directory, name), "%s/%s.key" % (directory, name)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt, "-days",
                    "2", "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return crt, key


def posh_doc(certfile, expires=None):
    der = ssl.PEM_cert_to_DER_cert(open(certfile).read())
    doc = {"fingerprints": [{
        "sha-256": base64.b64encode(hashlib.sha256(der).digest()).decode(),
        "sha-512": base64.b64encode(hashlib.sha512(der).digest()).decode()}]}
    if expires is not None:
        doc["expires"] = expires
    return json.dumps(doc).encode()


class PoshServer:
    """HTTPS on |addr|:443; |files| maps host -> bytes, or a callable
    (handler) -> None for special behaviour."""

    def __init__(self, addr, pki, files):
        self.files = files
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0]
                outer.requests.append((host, self.path))
                body = outer.files.get(host)
                if callable(body):
                    body(self)
                    return
                if body is None or self.path != "/.well-known/posh/xmpp-server.json":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki + "/in.posh.test.crt", pki + "/in.posh.test.key")
        by_name = {}
        for n in WEB_NAMES:
            c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            c.load_cert_chain("%s/%s.crt" % (pki, n), "%s/%s.key" % (pki, n))
            by_name[n] = c

        def pick(sslobj, name, _ctx):
            if name in by_name:
                sslobj.context = by_name[name]
        ctx.sni_callback = pick
        self.httpd = http.server.ThreadingHTTPServer((addr, 443), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def bind_443():
    """A loopback address whose port 443 is free (other suites may hold some)."""
    for _ in range(50):
        addr = "127.%d.%d.1" % (random.randint(1, 250), random.randint(1, 250))
        s = socket.socket()
        try:
            s.bind((addr, 443))
            s.close()
            return addr
        except OSError:
            s.close()
    raise RuntimeError("no loopback address with port 443 free")


def slow(handler):
    time.sleep(4)  # beyond tls.posh.timeout


def huge(handler):
    body = b"{\"x\": \"" + b"a" * 200000 + b"\"}"
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    try:
        handler.wfile.write(body)
    except OSError:
        pass  # fedgate stops reading at its size cap


def redirect(handler):
    handler.send_response(302)
    handler.send_header("Location", "https://in.posh.test/.well-known/posh/xmpp-server.json")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-posh-")
        d = self.dir
        fp.dev_pki(FEDGATE, d + "/pki", "b.test", *WEB_NAMES)
        fp.dev_pki(FEDGATE, d + "/ica", "unused.test")
        fp.write_secret(d + "/secret", "test-dialback-secret")
        os.makedirs(d + "/self")
        self.certs = {n: self_signed(d + "/self", n) for n in
                      ["in.posh.test", "wrong.posh.test", "exp.posh.test", "slow.posh.test",
                       "huge.posh.test", "bad.posh.test", "redir.posh.test", "ref.posh.test",
                       "gone.posh.test", "out.posh.test", "other.posh.test",
                       "misnamed.posh.test", "direct.posh.test", "nodb-ok.posh.test",
                       "nodb-bad.posh.test"]}
        other = self.certs["other.posh.test"][0]
        self.files = {
            "in.posh.test": posh_doc(self.certs["in.posh.test"][0], 3600),
            "wrong.posh.test": posh_doc(other, 3600),
            "exp.posh.test": posh_doc(other, 1),
            "slow.posh.test": slow,
            "huge.posh.test": huge,
            "bad.posh.test": b"{\"fingerprints\": [{\"sha-256\": ",
            "redir.posh.test": redirect,
            "ref.posh.test": json.dumps({"url": "https://hosting.posh.test/.well-known/posh/"
                                         "xmpp-server.json", "expires": 600}).encode(),
            "hosting.posh.test": posh_doc(self.certs["ref.posh.test"][0]),
            "out.posh.test": posh_doc(self.certs["out.posh.test"][0]),
            "direct.posh.test": posh_doc(self.certs["direct.posh.test"][0]),
            "nodb-ok.posh.test": posh_doc(self.certs["nodb-ok.posh.test"][0]),
            "nodb-bad.posh.test": posh_doc(other),
            # Served, but under another name's certificate: HTTPS refused.
            "misnamed.posh.test": posh_doc(self.certs["misnamed.posh.test"][0]),
        }
        self.web_addr = bind_443()
        gone = self.web_addr[:-1] + "2"  # nothing listens there
        self.web = PoshServer(self.web_addr, d + "/pki", self.files)
        self.ports = {k: fp.free_port() for k in ("s2s", "tls", "internal", "admin", "sink",
                                                  "dns", "out")}
        p = self.ports
        self.dnsmasq = subprocess.Popen([
            "dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces",
            "--listen-address=127.0.0.1", "--port=%d" % p["dns"], "--local-ttl=0",
            "--address=/posh.test/%s" % self.web_addr, "--address=/gone.posh.test/%s" % gone],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        cfg = fp.gateway_yaml(
            p, [("b.test", "sink", None)], [("sink", [p["sink"]])], default_cert="pki/b.test",
            static=[("out.posh.test", p["out"])],
            dns={"nameservers": '["127.0.0.1:%d"]' % p["dns"], "timeout": "1s"},
            tls={"posh": '{enabled: true, timeout: 1s, negative_ttl: 30s, '
                         'allowed_networks: ["127.0.0.0/8"]}'})
        # One worker: the POSH cache is per worker, and the tests of what
        # it remembers must not depend on which worker takes a stream.
        cfg = cfg.replace("workers: 2\n", "workers: 1\n")
        self.sink = xp.ReceivingServer(HOST, p["sink"], d + "/pki/b.test.crt",
                                       d + "/pki/b.test.key", client_ca=d + "/ica/ca.crt")
        # out.posh.test's authoritative server, with a self-signed certificate.
        self.valid_keys = {}
        self.out = xp.ReceivingServer(HOST, p["out"], *self.certs["out.posh.test"],
                                      verify_keys=self.valid_keys)
        os.chdir(d)
        self.gw = fp.Fedgate(FEDGATE, d, "fedgate", cfg, p["admin"])
        # A second gateway without dialback: only PKIX or POSH proves the
        # remote servers its internal server sends to.
        self.p2 = fp.listener_ports()
        self.p2.update({k: fp.free_port() for k in ("sink", "ok", "bad")})
        p2 = self.p2
        cfg2 = fp.gateway_yaml(
            p2, [("b.test", "sink", None)], [("sink", [p2["sink"]])], default_cert="pki/b.test",
            static=[("nodb-ok.posh.test", p2["ok"]), ("nodb-bad.posh.test", p2["bad"])],
            dns={"nameservers": '["127.0.0.1:%d"]' % p["dns"], "timeout": "1s"},
            tls={"posh": '{enabled: true, timeout: 1s, allowed_networks: ["127.0.0.0/8"]}'},
            dialback={"enabled": "false"})
        self.sink2 = xp.ReceivingServer(HOST, p2["sink"], d + "/pki/b.test.crt",
                                        d + "/pki/b.test.key", client_ca=d + "/ica/ca.crt")
        self.remote_ok = xp.ReceivingServer(HOST, p2["ok"], *self.certs["nodb-ok.posh.test"],
                                            client_ca=d + "/pki/ca.crt")
        self.remote_bad = xp.ReceivingServer(HOST, p2["bad"], *self.certs["nodb-bad.posh.test"],
                                             client_ca=d + "/pki/ca.crt")
        self.gw2 = fp.Fedgate(FEDGATE, d, "fedgate-nodb", cfg2, p2["admin"])

    def metrics(self):
        url = "http://%s:%d/metrics" % (HOST, self.ports["admin"])
        return urllib.request.urlopen(url, timeout=5).read().decode()

    def metric(self, line_start):
        for line in self.metrics().splitlines():
            if line.startswith("fedgate_" + line_start + " "):
                return int(line.split()[-1])
        raise KeyError(line_start)

    def streams(self):
        url = "http://%s:%d/streams" % (HOST, self.ports["admin"])
        return urllib.request.urlopen(url, timeout=5).read().decode()

    def close(self):
        self.gw.stop()
        self.gw2.stop()
        for s in (self.sink2, self.remote_ok, self.remote_bad):
            s.close()
        self.sink.close()
        self.out.close()
        self.web.close()
        self.dnsmasq.kill()
        self.dnsmasq.wait()


def mechanisms(feats):
    return [m.text for m in feats.iter("{%s}mechanism" % xp.NS_SASL)]


def negotiate(env, domain, cert_of=None):
    """A peer for |domain| with its self-signed certificate (or that of
    |cert_of|), past STARTTLS and the restart: returns (peer, features)."""
    crt, key = env.certs[cert_of or domain]
    p = xp.Peer.connect(HOST, env.ports["s2s"])
    return p, p.open_secured("b.test", domain, cafile=env.dir + "/pki/ca.crt", certfile=crt,
                             keyfile=key)


def wait_until(pred, what, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("never happened: " + what)


def test_rfc7711_inbound_sasl_external_by_posh(env):
    matched = env.metric("posh_matched_total")
    p, feats = negotiate(env, "in.posh.test")
    assert mechanisms(feats) == ["EXTERNAL"], mechanisms(feats)
    p.close()
    crt, key = env.certs["in.posh.test"]
    p = xp.authenticated(HOST, env.ports["s2s"], "b.test", "in.posh.test",
                         env.dir + "/pki/ca.crt", crt, key)
    p.send_message("alice@in.posh.test/x", "bob@b.test", "hello by posh")
    wait_until(lambda: any("hello by posh" in (el.findtext("{jabber:server}body") or "")
                           for _, el in env.sink.stanzas), "delivery to the backend")
    assert env.metric("posh_matched_total") > matched
    assert "auth=posh" in env.streams(), env.streams()
    assert env.metric('peers_authenticated_total{direction="inbound",method="posh"}') >= 1
    p.close()


def test_rfc7711_xep0368_direct_tls_features_wait_for_posh(env):
    # Direct TLS: the domain is named only in the first header, after the
    # handshake; the features wait for its POSH document.
    crt, key = env.certs["direct.posh.test"]
    p = xp.Peer.connect(HOST, env.ports["tls"])
    p.wrap_tls("b.test", cafile=env.dir + "/pki/ca.crt", certfile=crt, keyfile=key,
               alpn=["xmpp-server"])
    p.open_stream("b.test", "direct.posh.test")
    p.read_header()
    feats = p.read_features()
    assert mechanisms(feats) == ["EXTERNAL"], mechanisms(feats)
    cond, _ = p.sasl_external()
    assert cond == "success", cond
    p.close()


def test_rfc7711_3_3_reference_followed_once(env):
    p, feats = negotiate(env, "ref.posh.test")
    assert mechanisms(feats) == ["EXTERNAL"], mechanisms(feats)
    assert ("hosting.posh.test", "/.well-known/posh/xmpp-server.json") in env.web.requests
    p.close()


def test_rfc7711_wrong_fingerprint_falls_to_dialback(env):
    mismatched = env.metric("posh_mismatched_total")
    p, feats = negotiate(env, "wrong.posh.test")
    assert mechanisms(feats) == [], mechanisms(feats)
    assert feats.find("{%s}dialback" % xp.NS_DB_FEATURE) is not None
    cond, _ = p.sasl_external()
    assert cond == "failure", cond
    assert env.metric("posh_mismatched_total") > mismatched
    p.close()


def test_rfc7711_expires_cache_refreshed(env):
    p, feats = negotiate(env, "exp.posh.test")
    assert mechanisms(feats) == [], mechanisms(feats)
    p.close()
    fetched = env.metric("posh_fetched_total")
    # The domain now publishes the right certificate; "expires": 1 lets the
    # cached document go after a second.
    env.files["exp.posh.test"] = posh_doc(env.certs["exp.posh.test"][0], 1)
    time.sleep(1.5)
    p, feats = negotiate(env, "exp.posh.test")
    assert mechanisms(feats) == ["EXTERNAL"], mechanisms(feats)
    assert env.metric("posh_fetched_total") > fetched
    p.close()


def test_bad_posh_servers_fall_to_dialback(env):
    cases = [("slow.posh.test", "timeout"), ("huge.posh.test", "too-large"),
             ("bad.posh.test", "malformed"), ("redir.posh.test", "http-status"),
             ("gone.posh.test", "connect"), ("misnamed.posh.test", "tls")]
    for domain, reason in cases:
        key = 'posh_failed_total{reason="%s"}' % reason
        before = env.metric(key)
        p, feats = negotiate(env, domain)
        assert mechanisms(feats) == [], (domain, mechanisms(feats))
        assert feats.find("{%s}dialback" % xp.NS_DB_FEATURE) is not None, domain
        assert env.metric(key) == before + 1, (domain, reason, env.metric(key))
        p.close()
        log = open(env.gw.logfile).read()
        lines = [ln for ln in log.splitlines() if "POSH fetch failed (%s)" % reason in ln]
        assert len(lines) == 1 and domain in lines[0], (domain, lines)
    # A failure is remembered (tls.posh.negative_ttl): the next stream of
    # the domain neither waits nor asks the server again.
    asked = len([r for r in env.web.requests if r[0] == "bad.posh.test"])
    before = env.metric('posh_failed_total{reason="malformed"}')
    p, feats = negotiate(env, "bad.posh.test")
    assert mechanisms(feats) == [], mechanisms(feats)
    p.close()
    assert len([r for r in env.web.requests if r[0] == "bad.posh.test"]) == asked
    assert env.metric('posh_failed_total{reason="malformed"}') == before


def test_rfc7711_outbound_link_proved_by_posh(env):
    # A dialback request from out.posh.test (by a peer whose certificate
    # proves nothing) makes fedgate ask the domain's authoritative server,
    # whose self-signed certificate POSH proves.
    env.valid_keys["posh-key-1"] = True
    p, feats = negotiate(env, "out.posh.test", cert_of="other.posh.test")
    p.dialback_result("out.posh.test", "b.test", "posh-key-1")
    res = p.read_dialback_result()
    assert res.get("type") == "valid", res.attrib
    wait_until(lambda: "peer proved by posh" in open(env.gw.logfile).read(), "outbound log")
    assert env.metric('peers_authenticated_total{direction="outbound",method="posh"}') >= 1
    p.close()


def internal_sender(env, to):
    """b.test's internal server on the dialback-less gateway's internal
    listener (SASL EXTERNAL with b.test's certificate)."""
    return xp.authenticated(HOST, env.p2["internal"], to, "b.test", None,
                            env.dir + "/pki/b.test.crt", env.dir + "/pki/b.test.key")


def test_rfc7711_outbound_without_dialback_posh_or_nothing(env):
    p = internal_sender(env, "nodb-ok.posh.test")
    p.send_message("bob@b.test/x", "alice@nodb-ok.posh.test", "proved by posh alone")
    got = env.remote_ok.wait_stanzas(1)
    assert any("proved by posh alone" in (el.findtext("{jabber:server}body") or "")
               for _, el in got), got
    p.close()
    # The certificate is not the one the domain publishes, and dialback is
    # off: the link is refused and the message comes back as an error.
    p = internal_sender(env, "nodb-bad.posh.test")
    p.send_message("bob@b.test/x", "alice@nodb-bad.posh.test", "nobody proves this one",
                   id="nodb-bad-1")
    wait_until(lambda: any(el.get("id") == "nodb-bad-1" and el.get("type") == "error"
                           for _, el in env.sink2.stanzas), "the bounce", timeout=15)
    assert env.remote_bad.stanzas == []
    log = open(env.gw2.logfile).read()
    assert "certificate refused: not valid by PKIX, POSH mismatch, dialback off" in log
    p.close()


if __name__ == "__main__":
    sys.exit(fp.main_of(Env, globals()))
