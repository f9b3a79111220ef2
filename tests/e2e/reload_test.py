#!/usr/bin/python3
"""End-to-end tests of hot reload (docs/reload.md).

A real `fedgate run` on loopback with two sink backends
(xmpp_peer.ReceivingServer, "one" and "two"); a scripted remote peer
(xmpp_peer.Peer) authenticated with SASL EXTERNAL sends messages. The
configuration file is rewritten and reloaded by SIGHUP and by POST /reload on
the admin endpoint; the tests check what the next handshake, the next stanza
and the admin endpoint see, that refused reloads change nothing, and, with a
second pair of gateways relaying bench/s2sload.py's traffic, that ten reloads
under load lose no stanza.

usage: reload_test.py FEDGATE_BINARY [S2SLOAD]
"""

import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "bazel-bin/gateway/fedgate")
HERE = os.path.dirname(os.path.abspath(__file__))
S2SLOAD = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else
                          os.path.join(HERE, "../../bench/s2sload.py"))
HOST = "127.0.0.1"
DOMAINS = ("b.test", "c.test", "new.test")


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-reload-")
        d = self.dir
        fp.dev_pki(FEDGATE, d + "/pki", "remote.test", *DOMAINS)
        # Renewed certificates for b.test (another CA: a different fingerprint).
        fp.dev_pki(FEDGATE, d + "/pki2", "b.test")
        fp.dev_pki(FEDGATE, d + "/ica", "unused.test")
        fp.write_secret(d + "/secret", "test-dialback-secret")
        self.ports = {k: fp.free_port() for k in ("s2s", "tls", "internal", "admin", "one",
                                                  "two")}
        p = self.ports
        sni = {n: (d + "/pki/%s.crt" % n, d + "/pki/%s.key" % n) for n in DOMAINS}
        self.sinks = {
            name: xp.ReceivingServer(HOST, p[name], d + "/pki/b.test.crt", d + "/pki/b.test.key",
                                     client_ca=d + "/ica/ca.crt", sni_certs=sni)
            for name in ("one", "two")}
        os.chdir(d)  # relative paths in the configuration
        self.gw = fp.Fedgate(FEDGATE, d, "fedgate", self.config(), p["admin"])

    def config(self, b_cert="pki/b.test", c_backend="one", s2s_port=None, new_test=False):
        p = dict(self.ports)
        if s2s_port:
            p["s2s"] = s2s_port
        domains = [("b.test", "one", b_cert), ("c.test", c_backend, "pki/c.test")]
        if new_test:
            domains.append(("new.test", "one", "pki/new.test"))
        return fp.gateway_yaml(p, domains, [("one", [p["one"]]), ("two", [p["two"]])])

    def write(self, text):
        """Replaces the configuration file the way an editor does (new file,
        rename), so no reload ever reads it half written by this test."""
        tmp = self.gw.cfgfile + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.gw.cfgfile)

    def metric(self, name):
        return self.gw.metric(name)

    def close(self):
        self.gw.stop()
        for s in self.sinks.values():
            s.close()


# --- the admin endpoint ---

def admin(port, method, path, params=None):
    """(status, body) of one admin request."""
    data = urllib.parse.urlencode(params or {}).encode() if method == "POST" else None
    req = urllib.request.Request("http://%s:%d%s" % (HOST, port, path), data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def reload_post(env, **params):
    return admin(env.ports["admin"], "POST", "/reload", params)


def ready(env):
    status, body = admin(env.ports["admin"], "GET", "/ready")
    assert status == 200, (status, body)
    return body


def metric_line(port, name):
    _, body = admin(port, "GET", "/metrics")
    for line in body.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise KeyError(name)


def generation(env):
    return metric_line(env.ports["admin"], "fedgate_config_generation")


def reloads(env, result):
    return metric_line(env.ports["admin"], 'fedgate_reloads_total{result="%s"}' % result)


# --- peers ---

def open_stream(env, to):
    """A remote.test stream to |to| past STARTTLS and SASL EXTERNAL."""
    p = xp.Peer.connect(HOST, env.ports["s2s"])
    p.open_authenticated(to, "remote.test", cafile=env.dir + "/pki/ca.crt",
                         certfile=env.dir + "/pki/remote.test.crt",
                         keyfile=env.dir + "/pki/remote.test.key")
    return p


def expect_at(env, sink, body, timeout=10):
    """Waits until backend |sink| received a message with |body|."""
    s = env.sinks[sink]
    deadline = time.time() + timeout
    while time.time() < deadline:
        for _, el in list(s.stanzas):
            got = el.find(xp.q(xp.NS_SERVER, "body"))
            if got is not None and got.text == body:
                return
        s.wait_stanzas(len(s.stanzas) + 1, timeout=0.2)
    raise AssertionError("%r not delivered to backend %s" % (body, sink))


def served_cert(env, name):
    """The DER certificate a fresh direct-TLS handshake (XEP-0368) for SNI
    |name| is served."""
    import socket
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["xmpp-server"])
    with socket.create_connection((HOST, env.ports["tls"]), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as t:
            return t.getpeercert(binary_form=True)


def file_cert(path):
    pem = open(path).read()
    end = pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
    return ssl.PEM_cert_to_DER_cert(pem[:end] + "\n")


def restore(env):
    """Back to the configuration the suite started with (a good reload)."""
    env.write(env.config())
    status, body = reload_post(env)
    assert status == 200, (status, body)


def wait_until(check, what, timeout=10):
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, what
        time.sleep(0.05)


def expect_refused(env, status, want_status, body, needle):
    assert status == want_status, (status, body)
    assert needle in body, body
    assert "refused" in body, body


# --- tests ---

def test_reload_new_certificate_served_old_stream_kept(env):
    old = open_stream(env, "b.test")
    old.send_message("remote.test", "b.test", "before-cert-reload")
    expect_at(env, "one", "before-cert-reload")
    assert served_cert(env, "b.test") == file_cert(env.dir + "/pki/b.test.crt")
    gen = generation(env)
    env.write(env.config(b_cert="pki2/b.test"))
    status, body = reload_post(env)
    assert status == 200, (status, body)
    assert body.startswith("ok: generation %d" % (gen + 1)), body
    assert generation(env) == gen + 1
    # A fresh handshake sees the renewed certificate ...
    assert served_cert(env, "b.test") == file_cert(env.dir + "/pki2/b.test.crt")
    assert served_cert(env, "b.test") != file_cert(env.dir + "/pki/b.test.crt")
    # ... while the stream opened before the reload goes on.
    old.send_message("remote.test", "b.test", "after-cert-reload")
    expect_at(env, "one", "after-cert-reload")
    old.close()
    restore(env)


def test_reload_route_change_applies_to_next_stanza(env):
    s = open_stream(env, "c.test")
    s.send_message("remote.test", "c.test", "c-on-one")
    expect_at(env, "one", "c-on-one")
    env.write(env.config(c_backend="two"))
    gen = generation(env)
    os.kill(env.gw.proc.pid, signal.SIGHUP)
    # The generation moves once every worker uses the new configuration.
    wait_until(lambda: generation(env) == gen + 1, "SIGHUP did not reload")
    assert "c.test backend=two" in admin(env.ports["admin"], "GET", "/domains")[1]
    # The same stream's next stanza takes the new route.
    s.send_message("remote.test", "c.test", "c-on-two")
    expect_at(env, "two", "c-on-two")
    s.close()
    restore(env)


def test_reload_keeps_the_operators_drains(env):
    port = env.ports["admin"]
    status, body = admin(port, "POST", "/backends/drain", {"name": "two"})
    assert status == 200, (status, body)
    assert "backend=two address=127.0.0.1:%d health=up drain=drained" % env.ports["two"] in \
        admin(port, "GET", "/backends")[1]
    assert reload_post(env)[0] == 200
    backends = admin(port, "GET", "/backends")[1]
    assert "backend=two address=127.0.0.1:%d health=up drain=drained" % env.ports["two"] in \
        backends, backends
    assert "backend=one address=127.0.0.1:%d health=up drain=active" % env.ports["one"] in \
        backends, backends
    assert admin(port, "POST", "/backends/undrain", {"name": "two"})[0] == 200
    restore(env)
    assert "drain=drained" not in admin(port, "GET", "/backends")[1]


def refused_case(env, make_bad, want_status, needle, by_signal=False):
    """Writes a bad configuration (make_bad() returns its text or None when
    it arranged the files itself), reloads, checks the refusal, that the old
    configuration still serves and /ready tells; then a good reload clears
    it."""
    gen = generation(env)
    failed = reloads(env, "failed")
    bad = make_bad()
    if bad is not None:
        env.write(bad)
    if by_signal:
        os.kill(env.gw.proc.pid, signal.SIGHUP)
        wait_until(lambda: reloads(env, "failed") > failed, "SIGHUP reload not counted")
    else:
        status, body = reload_post(env)
        expect_refused(env, status, want_status, body, needle)
    assert reloads(env, "failed") == failed + 1
    assert generation(env) == gen, "a refused reload changed the generation"
    r = ready(env)
    assert r.startswith("ready\n"), r
    assert "last reload failed at " in r and needle in r, r
    # The old configuration still serves: b.test on backend one.
    tag = "still-serving-%d" % failed
    s = open_stream(env, "b.test")
    s.send_message("remote.test", "b.test", tag)
    expect_at(env, "one", tag)
    s.close()
    assert needle in env.gw.log_tail(200), env.gw.log_tail(30)
    restore(env)
    assert "last reload failed" not in ready(env)
    assert generation(env) == gen + 1


def test_reload_refuses_yaml_syntax_error_with_file_line(env):
    cfg = env.gw.cfgfile
    # Line 3 of the file gets an unclosed flow mapping.
    def bad():
        lines = env.config().splitlines(True)
        lines[2] = "listeners: {s2s: [\n"
        return "".join(lines)
    refused_case(env, bad, 422, "%s:" % cfg)
    log = env.gw.log_tail(300)
    assert any(("%s:" % cfg) in l and l.split(cfg + ":", 1)[1][:1].isdigit()
               for l in log.splitlines()), "no FILE:LINE diagnostic in the log"


def test_reload_refuses_half_written_file(env):
    text = env.config()
    refused_case(env, lambda: text[:text.index("backends:")], 422, "backend")


def only_certificate(env):
    """A configuration whose b.test key file does not exist (its certificate does)."""
    os.makedirs(env.dir + "/nokey", exist_ok=True)
    with open(env.dir + "/nokey/b.test.crt", "w") as f:
        f.write(open(env.dir + "/pki/b.test.crt").read())
    return env.config(b_cert="nokey/b.test")


def test_reload_refuses_missing_key_file(env):
    refused_case(env, lambda: only_certificate(env), 422, "nokey/b.test.key")


def test_reload_refuses_mismatched_certificate_and_key(env):
    d = env.dir
    os.makedirs(d + "/mixed", exist_ok=True)
    with open(d + "/mixed/b.crt", "w") as f:
        f.write(open(d + "/pki2/b.test.crt").read())
    with open(d + "/mixed/b.key", "w") as f:
        f.write(open(d + "/pki/b.test.key").read())
    os.chmod(d + "/mixed/b.key", 0o600)
    refused_case(env, lambda: env.config(b_cert="mixed/b"), 422, "does not belong")


def test_reload_refuses_unreadable_file(env):
    d = env.dir
    os.makedirs(d + "/unreadable", exist_ok=True)

    def bad():
        key = d + "/unreadable/b.test.key"
        if os.geteuid() == 0:
            # root reads any mode: a key path that is a directory cannot be read.
            os.makedirs(key, exist_ok=True)
        else:
            with open(key, "w") as f:
                f.write(open(d + "/pki/b.test.key").read())
            os.chmod(key, 0)
        with open(d + "/unreadable/b.test.crt", "w") as f:
            f.write(open(d + "/pki/b.test.crt").read())
        return env.config(b_cert="unreadable/b.test")
    refused_case(env, bad, 422, "b.test.key")


def test_reload_refuses_changed_listener_port_naming_the_key(env):
    refused_case(env, lambda: env.config(s2s_port=fp.free_port()), 409, "listeners.s2s.port")


def test_reload_by_sighup_refused_shows_on_ready(env):
    refused_case(env, lambda: only_certificate(env), 422, "nokey/b.test.key", by_signal=True)


def add_new_test(env):
    """POST /domains/add of new.test on backend two with its own certificate."""
    status, body = admin(env.ports["admin"], "POST", "/domains/add",
                         {"domain": "new.test", "backend": "two",
                          "cert": env.dir + "/pki/new.test.crt",
                          "key": env.dir + "/pki/new.test.key"})
    assert status == 200, (status, body)


def test_reload_runtime_domain_add_remove(env):
    port = env.ports["admin"]
    # Checked like a file entry: an unknown backend is refused.
    status, body = admin(port, "POST", "/domains/add",
                         {"domain": "new.test", "backend": "nowhere"})
    assert status == 422 and "nowhere" in body, (status, body)
    add_new_test(env)
    _, domains = admin(port, "GET", "/domains")
    assert "domain new.test backend=two source=overlay" in domains, domains
    assert "domain b.test backend=one source=file" in domains, domains
    s = open_stream(env, "new.test")
    s.send_message("remote.test", "new.test", "to-new")
    expect_at(env, "two", "to-new")
    s.close()
    # A reload of the unchanged file keeps the overlay and warns about it;
    # a refused one changes nothing, the overlay included.
    status, body = reload_post(env)
    assert status == 200 and "not in this file" in body, (status, body)
    assert "new.test backend=two source=overlay" in admin(port, "GET", "/domains")[1]
    env.write(env.config(s2s_port=fp.free_port()))
    assert reload_post(env)[0] == 409
    env.write(env.config())
    assert "new.test backend=two source=overlay" in admin(port, "GET", "/domains")[1]
    status, body = admin(port, "POST", "/domains/remove", {"domain": "new.test"})
    assert status == 200, (status, body)
    # Removing what the overlay added leaves no trace in the overlay.
    assert "new.test" not in admin(port, "GET", "/domains")[1]
    p = xp.Peer.connect(HOST, env.ports["s2s"])
    p.open_stream("new.test", "remote.test")
    assert p.expect_stream_error() == "host-unknown"
    p.close()
    status, body = admin(port, "POST", "/domains/remove", {"domain": "nothere.test"})
    assert status == 422 and "not hosted" in body, (status, body)
    # The file decides: once it hosts a domain the overlay added, the
    # overlay's entry goes.
    add_new_test(env)
    env.write(env.config(new_test=True))
    status, body = reload_post(env)
    assert status == 200 and "no longer applies" in body, (status, body)
    assert "domain new.test backend=one source=file" in admin(port, "GET", "/domains")[1]
    restore(env)
    assert "new.test" not in admin(port, "GET", "/domains")[1]


def test_rfc6120_4_9_3_6_domain_removed_refuses_the_next_stanza_of_an_open_stream(env):
    """A stream that routed a pair before its domain was removed gets, for
    the pair's next stanza, what a stream's first stanza to it gets
    (host-unknown): the remembered pair does not outlive the configuration
    that judged it, and nothing goes to a backend or out to the federation."""
    port = env.ports["admin"]
    add_new_test(env)
    s = open_stream(env, "new.test")
    s.send_message("remote.test", "new.test", "before-removal")
    expect_at(env, "two", "before-removal")
    status, body = admin(port, "POST", "/domains/remove", {"domain": "new.test"})
    assert status == 200, (status, body)
    s.send_message("remote.test", "new.test", "after-removal")
    assert s.expect_stream_error() == "host-unknown"
    s.close()
    for sink in env.sinks.values():
        got = [el.find(xp.q(xp.NS_SERVER, "body")) for _, el in list(sink.stanzas)]
        assert all(b is None or b.text != "after-removal" for b in got)


# --- ten reloads under load, two gateways ---

LOAD_CONFIG = """log_level: info
workers: 2
listeners:
  s2s: {address: 127.0.0.1, port: %(s2s)d}
  s2s-tls: {address: 127.0.0.1, port: %(tls)d, enabled: false}
  internal: {address: 127.0.0.1, port: %(int)d}
  admin: {address: 127.0.0.1, port: %(adm)d}
domains:
  - name: %(domain)s
    backend: internal
    cert: pki/%(domain)s.crt
    key: pki/%(domain)s.key
backends:
  - name: internal
    addresses: ["127.0.0.1:%(srv)d"]
tls:
  trust_file: pki/ca.crt
dialback:
  secret_file: secret-%(side)s
internal_hop:
  mode: internal-ca
  ca_cert: ica-%(side)s/ca.crt
  ca_key: ica-%(side)s/ca.key
limits:
  queue_stanzas: %(queue)d
dns:
  static:
    - domain: %(other)s
      targets: ["127.0.0.1:%(other_s2s)d"]
"""


def test_reload_ten_times_under_load_loses_nothing(env):
    d = env.dir + "/load"
    os.makedirs(d)
    fp.dev_pki(FEDGATE, d + "/pki", "a.test", "b.test")
    for side in ("a", "b"):
        fp.dev_pki(FEDGATE, d + "/ica-" + side, "internal.%s.test" % side)
        fp.write_secret(d + "/secret-" + side, "load-secret-" + side)
    ports = {side: {k: fp.free_port() for k in ("s2s", "tls", "int", "adm", "srv")}
             for side in ("a", "b")}
    domain = {"a": "a.test", "b": "b.test"}
    other = {"a": "b", "b": "a"}

    def config(side, queue):
        p = ports[side]
        return LOAD_CONFIG % dict(p, side=side, domain=domain[side], other=domain[other[side]],
                                  other_s2s=ports[other[side]]["s2s"], queue=queue)
    os.chdir(d)
    gws = {s: fp.Fedgate(FEDGATE, d, s, config(s, 1000), ports[s]["adm"]) for s in ("a", "b")}
    try:
        load = subprocess.Popen(
            ["/usr/bin/python3", S2SLOAD, "--pki", d + "/pki",
             "--client-ca", "a.test=%s/ica-a/ca.crt" % d,
             "--client-ca", "b.test=%s/ica-b/ca.crt" % d,
             "--server-ca", "a.test=%s/ica-a/ca.crt" % d,
             "--server-ca", "b.test=%s/ica-b/ca.crt" % d,
             "--serve", "a.test=127.0.0.1:%d" % ports["a"]["srv"],
             "--serve", "b.test=127.0.0.1:%d" % ports["b"]["srv"],
             "--send", "a.test=127.0.0.1:%d" % ports["a"]["int"],
             "--send", "b.test=127.0.0.1:%d" % ports["b"]["int"],
             "--count", "3000", "--rate", "500", "--strict", "--json", "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # traffic flowing
        for i in range(10):
            for s in ("a", "b"):
                with open(gws[s].cfgfile + ".tmp", "w") as f:
                    f.write(config(s, 1000 + i + 1))
                os.rename(gws[s].cfgfile + ".tmp", gws[s].cfgfile)
                if i % 2 == 0:
                    gws[s].proc.send_signal(signal.SIGHUP)
                else:
                    status, body = admin(ports[s]["adm"], "POST", "/reload")
                    assert status == 200, (s, status, body)
            time.sleep(0.35)
        # Every reload happened while traffic flowed.
        assert load.poll() is None, "the traffic ended before the last reload"
        out, err = load.communicate(timeout=120)
        summary = json.loads(out)
        assert load.returncode == 0, (load.returncode, err[-2000:])
        assert summary["sent"] > 0 and summary["lost"] == 0, summary
        assert summary["bounced"] == 0, summary
        assert summary["sent"] == summary["delivered"], summary
        print("     s2sload: sent %d delivered %d bounced %d lost %d during 10 reloads of each "
              "gateway" % (summary["sent"], summary["delivered"], summary["bounced"],
                           summary["lost"]), flush=True)
        for s in ("a", "b"):
            wait_until(lambda: metric_line(ports[s]["adm"], "fedgate_config_generation") == 11,
                       "gateway %s: not every reload applied" % s)
            assert metric_line(ports[s]["adm"], 'fedgate_reloads_total{result="ok"}') == 10
            assert metric_line(ports[s]["adm"], 'fedgate_reloads_total{result="failed"}') == 0
            m = gws[s].assert_accounted()
            assert m["stanzas_bounced_total"] == 0, (s, m)
            assert gws[s].proc.poll() is None, "gateway %s died" % s
    finally:
        for g in gws.values():
            g.stop()
        os.chdir(env.dir)
    # Under a sanitizer build, a use-after-free or a leak of a retired
    # snapshot fails the gateway's exit status and leaves a report.
    for s, g in gws.items():
        assert g.proc.returncode == 0, "gateway %s exited with %s" % (s, g.proc.returncode)
        assert "Sanitizer" not in open(g.logfile).read(), "gateway %s: sanitizer report" % s


def main():
    return fp.main_of(Env, globals())


if __name__ == "__main__":
    sys.exit(main())
