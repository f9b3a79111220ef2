#!/usr/bin/python3
"""drain_test: operating `fedgate run` as a service.

- the graceful drain on SIGTERM (RFC 6120 §4.4 closing handshake): under
  load from bench/s2sload.py through two gateways, every stanza sent is
  delivered or bounced (the generator's counts and the gateways' counters),
  the gateway exits 0 within shutdown.grace, /ready answers 503 while it
  drains, and a remote peer sees </stream:stream> and no stream error;
- a second signal stops at once; SIGINT alone does not drain;
- systemd's notify protocol on a real Unix datagram socket (NOTIFY_SOCKET):
  READY=1, STATUS=, WATCHDOG=1, STOPPING=1;
- log.format kv and json lines parse; log.file is reopened on SIGUSR1 after
  logrotate renamed it;
- a certificate that expires in 5 days is warned about at start;
- backends[].hop_mode: one backend reached with internal-ca (SASL EXTERNAL
  with a minted certificate), another with dialback;
- contrib/systemd/fedgate.service passes `systemd-analyze verify`.

Usage: drain_test.py FEDGATE
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "bazel-bin/gateway/fedgate"
HOST = "127.0.0.1"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
S2SLOAD = os.path.join(ROOT, "bench", "s2sload.py")
UNIT = os.path.join(ROOT, "contrib", "systemd", "fedgate.service")
HOOK = os.path.join(ROOT, "contrib", "certbot", "fedgate-deploy-hook")


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-drain-")
        d = self.dir
        fp.dev_pki(FEDGATE, d + "/pki", "a.test", "b.test", "remote.test", "x.test", "y.test")
        fp.dev_pki(FEDGATE, d + "/ica-a", "internal.a.test")
        fp.dev_pki(FEDGATE, d + "/ica-b", "internal.b.test")
        fp.write_secret(d + "/secret-a", "drain-secret-a")
        fp.write_secret(d + "/secret-b", "drain-secret-b")
        self.procs = []

    def gateway(self, name, cfg, environ=None):
        saved = dict(os.environ)
        os.environ.update(environ or {})
        try:
            g = fp.Fedgate(FEDGATE, self.dir, name, cfg, self.admin_port_of(cfg))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.procs.append(g)
        return g

    @staticmethod
    def admin_port_of(cfg):
        return int(re.search(r"admin: \{address: [0-9.]+, port: (\d+)\}", cfg).group(1))

    def close(self):
        for g in self.procs:
            if g.proc.poll() is None:
                g.proc.kill()
                g.proc.wait()


def config(ports, domain, backend_port, ica, secret, static=(), extra="", log_level="info"):
    cfg = fp.gateway_yaml(ports, [(domain, "internal", "pki/" + domain)],
                          [("internal", [backend_port])], secret=secret, ica=ica,
                          static=static, log_level=log_level)
    return cfg + extra


def http_get(port, path):
    try:
        with urllib.request.urlopen("http://%s:%d%s" % (HOST, port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_exit(g, timeout):
    try:
        return g.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("fedgate did not exit within %s s:\n%s" % (timeout, g.log_tail()))


def log_text(g):
    with open(g.logfile) as f:
        return f.read()


def wait_log(g, pattern, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = re.search(pattern, log_text(g))
        if m:
            return m
        time.sleep(0.05)
    raise AssertionError("no log line matching %r:\n%s" % (pattern, g.log_tail()))


class Silent:
    """A TCP server that accepts and never answers: an s2s peer whose
    stream never becomes ready, so what is sent to it stays queued."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, port))
        self.sock.listen(16)
        self.conns = []
        import threading
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_drain_under_load_everything_delivered_or_bounced(env):
    """SIGTERM to gateway A while s2sload sends a.test -> b.test, a.test ->
    c.test (a silent server: held until the end of the grace period) and
    b.test -> a.test: A exits 0 within shutdown.grace, sent = delivered +
    bounced, the held stanzas are bounced remote-server-timeout, /ready said
    503, and a remote peer's idle stream is closed with </stream:stream>."""
    grace = 8
    pa, pb = fp.listener_ports(), fp.listener_ports()
    srv_a, srv_b, silent_port = fp.free_port(), fp.free_port(), fp.free_port()
    silent = Silent(silent_port)
    try:
        a = env.gateway("a", config(pa, "a.test", srv_a, "ica-a", "secret-a",
                                    static=[("b.test", pb["s2s"]), ("c.test", silent_port)],
                                    extra="shutdown:\n  grace: %ds\n" % grace, log_level="debug"))
        # B's stanzas for A, once A is gone, wait for A's return for
        # give_up_after, then bounce: within s2sload's grace.
        b = env.gateway("b", config(pb, "b.test", srv_b, "ica-b", "secret-b",
                                    static=[("a.test", pa["s2s"])],
                                    extra="stream_management:\n  give_up_after: 2s\n"))
        d = env.dir
        load = subprocess.Popen(
            ["/usr/bin/python3", S2SLOAD, "--pki", d + "/pki",
             "--client-ca", "a.test=%s/ica-a/ca.crt" % d,
             "--client-ca", "b.test=%s/ica-b/ca.crt" % d,
             "--server-ca", "a.test=%s/ica-a/ca.crt" % d,
             "--server-ca", "b.test=%s/ica-b/ca.crt" % d,
             "--serve", "a.test=%s:%d" % (HOST, srv_a), "--serve", "b.test=%s:%d" % (HOST, srv_b),
             "--send", "a.test=%s:%d" % (HOST, pa["internal"]),
             "--send", "b.test=%s:%d" % (HOST, pb["internal"]),
             "--to", "a.test=b.test,c.test", "--to", "b.test=a.test",
             "--rate", "80", "--duration", "5", "--grace", "20", "--no-iq-replies",
             "--json", "--progress", "off"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # A remote server with an idle, authenticated stream into A.
        peer = xp.authenticated(HOST, pa["s2s"], "a.test", "remote.test", d + "/pki/ca.crt",
                                d + "/pki/remote.test.crt", d + "/pki/remote.test.key")
        wait_log(a, r"remote link a\.test -> b\.test ready", 15)
        time.sleep(1.5)  # traffic flowing both ways
        assert http_get(pa["admin"], "/ready") == (200, "ready\n")
        t0 = time.time()
        a.proc.send_signal(signal.SIGTERM)
        wait_log(a, r"drain: started")
        status, body = http_get(pa["admin"], "/ready")
        assert (status, body) == (503, "draining\n"), (status, body)
        assert a.metric("draining") == 1 and a.metric("drains_started_total") == 1
        # RFC 6120 §4.4: the peer's stream ends with a closing tag, no error.
        ev = peer.next_event()
        assert ev[0] == "close", "expected </stream:stream>, got %r" % (ev,)
        peer.close_stream()
        # Listeners are closed at once.
        try:
            socket.create_connection((HOST, pa["s2s"]), timeout=2).close()
            raise AssertionError("the s2s listener still accepts during the drain")
        except ConnectionRefusedError:
            pass
        rc = wait_exit(a, grace + 10)
        took = time.time() - t0
        assert rc == 0, "exit status %d:\n%s" % (rc, a.log_tail())
        text = log_text(a)
        assert "drain: grace period over" in text or "drain: finished" in text, a.log_tail()
        bounced_at_drain = int(re.search(r"(\d+) stanzas bounced", text).group(1))
        assert bounced_at_drain > 0, "nothing was held for c.test:\n" + a.log_tail()
        out, err = load.communicate(timeout=60)
        r = json.loads(out)
        if os.environ.get("DRAIN_DEBUG"):
            print(json.dumps(r, indent=1), err)
        assert r["sent"] > 0 and r["lost"] == 0, "lost %d of %d\n%s" % (r["lost"], r["sent"], err)
        assert r["sent"] == r["delivered"] + r["bounced"], r
        assert r["corrupted"] == 0 and r["misrouted"] == 0 and r["duplicates"] == 0, r
        assert r["bounce_conditions"].get("remote-server-timeout", 0) >= bounced_at_drain, r
        # Gateway B's counters add up too (what it bounced after A left).
        b.assert_accounted()
        m = re.search(r"stopped: stanzas in (\d+), delivered (\d+), bounced (\d+), not bounced "
                      r"(\d+)", text)
        s_in, s_del, s_bnc, s_not = map(int, m.groups())
        assert s_in == s_del + s_bnc + s_not, m.group(0)
        print("  drain took %.1f s (grace %d s); s2sload sent %d, delivered %d, bounced %d; "
              "A bounced %d at the end" % (took, grace, r["sent"], r["delivered"], r["bounced"],
                                           bounced_at_drain))
    finally:
        silent.close()


def test_drain_second_signal_stops_at_once(env):
    """A peer that never answers our closing tag keeps the drain going for
    the whole grace period (60 s); a second SIGTERM ends it at once."""
    p = fp.listener_ports()
    a = env.gateway("second", config(p, "a.test", fp.free_port(), "ica-a", "secret-a",
                                     extra="shutdown:\n  grace: 60s\n"))
    d = env.dir
    peer = xp.authenticated(HOST, p["s2s"], "a.test", "remote.test", d + "/pki/ca.crt",
                            d + "/pki/remote.test.crt", d + "/pki/remote.test.key")
    a.proc.send_signal(signal.SIGTERM)
    assert peer.next_event()[0] == "close"
    time.sleep(0.5)
    assert a.proc.poll() is None, "the drain ended although the peer did not close"
    a.proc.send_signal(signal.SIGTERM)
    rc = wait_exit(a, 15)
    assert rc == 0
    assert "again: stopping at once" in log_text(a)
    peer.close()


def test_sigint_stops_without_drain(env):
    p = fp.listener_ports()
    a = env.gateway("sigint", config(p, "a.test", fp.free_port(), "ica-a", "secret-a",
                                     extra="shutdown:\n  grace: 60s\n"))
    a.proc.send_signal(signal.SIGINT)
    assert wait_exit(a, 15) == 0
    text = log_text(a)
    assert "drain: started" not in text and "stopping" in text, text


def test_systemd_notify_socket_messages(env):
    """READY=1 once listening, STATUS=, WATCHDOG=1 while the workers answer,
    STOPPING=1 and draining status on SIGTERM: on a real AF_UNIX datagram
    socket named by NOTIFY_SOCKET."""
    path = os.path.join(env.dir, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    p = fp.listener_ports()
    a = env.gateway("notify", config(p, "a.test", fp.free_port(), "ica-a", "secret-a",
                                     extra="shutdown:\n  grace: 5s\n"),
                    environ={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    seen = []

    def until(pred, what):
        deadline = time.time() + 10
        while time.time() < deadline:
            msg = sock.recv(4096).decode()
            seen.append(msg)
            if pred(msg):
                return msg
        raise AssertionError("no %s among %r" % (what, seen))

    until(lambda m: "READY=1" in m.split("\n"), "READY=1")
    until(lambda m: m.startswith("STATUS=serving"), "STATUS=serving")
    until(lambda m: m == "WATCHDOG=1", "WATCHDOG=1")
    until(lambda m: m == "WATCHDOG=1", "a second WATCHDOG=1")
    a.proc.send_signal(signal.SIGTERM)
    until(lambda m: m == "STOPPING=1", "STOPPING=1")
    until(lambda m: m.startswith("STATUS=draining"), "STATUS=draining")
    assert wait_exit(a, 15) == 0
    sock.close()


def parse_logfmt(line):
    """A strict logfmt reader: key=value or key="quoted \\" value"."""
    out, i = {}, 0
    while i < len(line):
        m = re.match(r'([a-z_]+)=("((?:[^"\\]|\\.)*)"|[^ "=]*)( |$)', line[i:])
        if not m:
            raise AssertionError("not logfmt at %d: %r" % (i, line))
        out[m.group(1)] = (json.loads('"%s"' % m.group(3)) if m.group(3) is not None
                           else m.group(2))
        i += m.end()
    return out


def test_log_format_kv_and_json_lines_parse(env):
    for fmt in ("kv", "json"):
        p = fp.listener_ports()
        logf = os.path.join(env.dir, "fmt-%s.out" % fmt)
        a = env.gateway("fmt-" + fmt, config(
            p, "a.test", fp.free_port(), "ica-a", "secret-a",
            extra="log:\n  format: %s\n  file: %s\n" % (fmt, logf)))
        # A stream error logged with stream id and peer: the header names a
        # domain this gateway does not serve.
        peer = xp.Peer.connect(HOST, p["s2s"])
        peer.open_stream("nowhere.test", "remote.test")
        peer.read_header()
        peer.close()
        time.sleep(0.3)
        a.proc.send_signal(signal.SIGINT)
        assert wait_exit(a, 15) == 0
        lines = open(logf).read().splitlines()
        assert len(lines) >= 3, lines
        recs = [parse_logfmt(l) if fmt == "kv" else json.loads(l) for l in lines]
        for r in recs:
            assert {"ts", "level", "msg"} <= set(r), r
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["ts"]), r
            assert r["level"] in ("error", "warn", "info", "debug"), r
        assert any(r["msg"].startswith("ready: s2s port") for r in recs), recs
        assert any(r.get("stream") and r.get("peer") == "remote.test" for r in recs), recs


def test_journal_priority_prefix_when_stderr_is_the_journal(env):
    """systemd names the journal stream in JOURNAL_STREAM (device:inode of
    stderr): then text lines carry <N> priorities (sd-daemon.h) and no time;
    a JOURNAL_STREAM naming something else changes nothing."""
    p = fp.listener_ports()
    cfgfile = os.path.join(env.dir, "journal.yaml")
    with open(cfgfile, "w") as f:
        f.write(config(p, "a.test", fp.free_port(), "ica-a", "secret-a"))
    for matching in (True, False):
        out = os.path.join(env.dir, "journal-%d.out" % matching)
        with open(out, "w") as f:
            st = os.fstat(f.fileno())
            ident = "%d:%d" % (st.st_dev, st.st_ino if matching else st.st_ino + 1)
            proc = subprocess.Popen([FEDGATE, "run", "--config", cfgfile], stdout=f,
                                    stderr=subprocess.STDOUT,
                                    env=dict(os.environ, JOURNAL_STREAM=ident))
        assert xp.wait_port(HOST, p["admin"], 10)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        lines = [l for l in open(out).read().splitlines() if "ready: s2s port" in l]
        assert len(lines) == 1, open(out).read()
        if matching:
            assert lines[0].startswith("<6>info: ready: s2s port"), lines
        else:
            assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ info: ready: s2s port", lines[0]), lines


def test_log_file_reopened_on_sigusr1_after_rename(env):
    p = fp.listener_ports()
    logf = os.path.join(env.dir, "rot.log")
    a = env.gateway("rot", config(p, "a.test", fp.free_port(), "ica-a", "secret-a",
                                  extra="log:\n  file: %s\n" % logf))
    deadline = time.time() + 10
    while "ready:" not in open(logf).read() and time.time() < deadline:
        time.sleep(0.05)
    os.rename(logf, logf + ".1")  # what logrotate does
    a.proc.send_signal(signal.SIGUSR1)
    deadline = time.time() + 10
    while not os.path.exists(logf) and time.time() < deadline:
        time.sleep(0.05)
    a.proc.send_signal(signal.SIGINT)
    assert wait_exit(a, 15) == 0
    old, new = open(logf + ".1").read(), open(logf).read()
    assert "ready:" in old and "ready:" not in new, (old, new)
    assert "reopened" in new and "stopped:" in new, new
    assert "stopped:" not in old


def test_certificate_expiring_in_5_days_is_warned_about(env):
    d = env.dir
    # a.test's certificate from the test CA, valid for 5 more days.
    key, csr, crt = d + "/soon.key", d + "/soon.csr", d + "/soon.crt"
    ext = d + "/soon.ext"
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:a.test\n")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=a.test"], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", d + "/pki/ca.crt",
                    "-CAkey", d + "/pki/ca.key", "-CAcreateserial", "-days", "5",
                    "-extfile", ext, "-out", crt], check=True, capture_output=True)
    p = fp.listener_ports()
    cfg = config(p, "a.test", fp.free_port(), "ica-a", "secret-a").replace(
        "cert: pki/a.test.crt", "cert: soon.crt").replace("key: pki/a.test.key", "key: soon.key")
    a = env.gateway("soon", cfg)
    m = wait_log(a, r"warn: certificate (\S+) \(a\.test\) expires in (\d+) days")
    # Whole days left: 5, or 4 once a second has passed since signing.
    assert m.group(1) == crt and m.group(2) in ("4", "5"), m.group(0)
    a.proc.send_signal(signal.SIGINT)
    assert wait_exit(a, 15) == 0


def test_hop_mode_per_backend_internal_ca_and_dialback(env):
    """x.test's backend is reached with internal-ca (a minted certificate and
    SASL EXTERNAL), y.test's with dialback (no client certificate at all),
    in one gateway, whatever internal_hop.mode says."""
    d = env.dir
    p = fp.listener_ports()
    bx, by = fp.free_port(), fp.free_port()
    sx = xp.ReceivingServer(HOST, bx, d + "/pki/x.test.crt", d + "/pki/x.test.key",
                            client_ca=d + "/ica-a/ca.crt")
    sy = xp.ReceivingServer(HOST, by, d + "/pki/y.test.crt", d + "/pki/y.test.key",
                            client_ca=d + "/ica-a/ca.crt")
    try:
        cfg = fp.gateway_yaml(p, [("x.test", "bx", "pki/x.test"), ("y.test", "by", "pki/y.test")],
                              [("bx", [bx]), ("by", [by])], secret="secret-a", ica="ica-a",
                              hop_mode="dialback")
        cfg = cfg.replace("  - name: bx\n", "  - name: bx\n    hop_mode: internal-ca\n")
        a = env.gateway("hop", cfg)
        for to in ("x.test", "y.test"):
            peer = xp.authenticated(HOST, p["s2s"], to, "remote.test", d + "/pki/ca.crt",
                                    d + "/pki/remote.test.crt", d + "/pki/remote.test.key")
            peer.send_message("alice@remote.test", "bob@" + to, "hop mode " + to)
        got_x, got_y = sx.wait_stanzas(1), sy.wait_stanzas(1)
        assert len(got_x) == 1 and len(got_y) == 1, (got_x, got_y, a.log_tail())
        assert sx.auth == [("remote.test", "sasl-external")], sx.auth
        assert sy.auth == [("remote.test", "dialback")], sy.auth
        a.proc.send_signal(signal.SIGINT)
        assert wait_exit(a, 15) == 0
    finally:
        sx.close()
        sy.close()


def test_hop_mode_config_errors_name_the_backend(env):
    p = fp.listener_ports()
    cfg = fp.gateway_yaml(p, [("x.test", "bx", "pki/x.test")], [("bx", [fp.free_port()])],
                          secret="secret-a", ica="ica-a", dialback={"enabled": "false"})
    cfg = cfg.replace("  - name: bx\n", "  - name: bx\n    hop_mode: dialback\n")
    path = os.path.join(env.dir, "bad-hop.yaml")
    with open(path, "w") as f:
        f.write(cfg)
    r = subprocess.run([FEDGATE, "check-config", path], capture_output=True, text=True)
    assert r.returncode != 0
    assert re.search(r"bad-hop\.yaml:\d+: backends\[0\]\.hop_mode: dialback mode needs "
                     r"dialback\.enabled: true \(value 'dialback'\)", r.stderr + r.stdout), r.stderr
    bad = cfg.replace("hop_mode: dialback", "hop_mode: sideways")
    with open(path, "w") as f:
        f.write(bad)
    r = subprocess.run([FEDGATE, "check-config", path], capture_output=True, text=True)
    assert "backends[0].hop_mode: expected internal-ca or dialback (value 'sideways')" in (
        r.stderr + r.stdout), r.stderr


def test_systemd_unit_verifies(env):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        print("  skipped: systemd-analyze is not installed")
        return
    # verify resolves ExecStart: point it at the binary under test.
    unit = os.path.join(env.dir, "fedgate.service")
    text = open(UNIT).read().replace("/usr/local/bin/fedgate", FEDGATE)
    with open(unit, "w") as f:
        f.write(text)
    r = subprocess.run([tool, "verify", unit], capture_output=True, text=True)
    problems = [l for l in (r.stdout + r.stderr).splitlines()
                if "fedgate.service" in l and "Failed to" not in l]
    assert r.returncode == 0 and not problems, r.stdout + r.stderr
    for key in ("Type=notify", "WatchdogSec=", "ProtectSystem=strict", "NoNewPrivileges=yes",
                "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "ExecReload=/bin/kill -HUP $MAINPID",
                "KillSignal=SIGTERM"):
        assert key in text, key
    stop = int(re.search(r"TimeoutStopSec=(\d+)", text).group(1))
    assert stop > 30, "TimeoutStopSec must be above the default shutdown.grace (30 s)"


def test_certbot_deploy_hook_checks_then_reloads(env):
    """The deploy hook installs a renewed pair, runs check-config and
    reloads; a pair that fails the check is rolled back, not reloaded."""
    d = env.dir
    certs = d + "/certs"
    os.makedirs(certs, exist_ok=True)
    shutil.copy(d + "/pki/a.test.crt", certs + "/a.test.crt")
    shutil.copy(d + "/pki/a.test.key", certs + "/a.test.key")
    p = fp.listener_ports()
    cfg = config(p, "a.test", fp.free_port(), "ica-a", "secret-a").replace(
        "cert: pki/a.test.crt", "cert: certs/a.test.crt").replace(
        "key: pki/a.test.key", "key: certs/a.test.key")
    path = d + "/hook.yaml"
    with open(path, "w") as f:
        f.write(cfg)
    marker = d + "/reloaded"
    base = dict(os.environ, FEDGATE_BIN=FEDGATE, FEDGATE_CONFIG=path, FEDGATE_CERT_DIR=certs,
                FEDGATE_OWNER="nobody-here", FEDGATE_RELOAD="touch " + marker)
    # A renewal: a new certificate and key for a.test (another dev PKI run).
    fp.dev_pki(FEDGATE, d + "/renewed", "a.test")
    live = d + "/live/a.test"
    os.makedirs(live, exist_ok=True)
    shutil.copy(d + "/pki/a.test.crt", live + "/fullchain.pem")  # same CA as tls.trust_file
    shutil.copy(d + "/pki/a.test.key", live + "/privkey.pem")
    r = subprocess.run(["/bin/sh", HOOK], env=dict(base, RENEWED_LINEAGE=live,
                                                     RENEWED_DOMAINS="a.test"),
                       capture_output=True, text=True)
    assert r.returncode == 0 and os.path.exists(marker), r.stderr
    os.unlink(marker)
    # A broken renewal: the key does not belong to the certificate.
    shutil.copy(d + "/renewed/a.test.key", live + "/privkey.pem")
    before = open(certs + "/a.test.key").read()
    r = subprocess.run(["/bin/sh", HOOK], env=dict(base, RENEWED_LINEAGE=live,
                                                     RENEWED_DOMAINS="a.test"),
                       capture_output=True, text=True)
    assert r.returncode == 1 and not os.path.exists(marker), r.stderr
    assert "check-config failed" in r.stderr and "not reloading" in r.stderr, r.stderr
    assert open(certs + "/a.test.key").read() == before, "the previous key was not restored"


if __name__ == "__main__":
    sys.exit(fp.main_of(Env, globals()))
