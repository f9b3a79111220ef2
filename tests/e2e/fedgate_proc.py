"""fedgate_proc: run `fedgate run` for end-to-end tests."""

import os
import signal
import socket
import subprocess
import urllib.request

import ports
import xmpp_peer as xp

HOST = "127.0.0.1"


def free_port():
    """A loopback port no other test process holds (tests/e2e/ports.py)."""
    return ports.free_port()


def dev_pki(fedgate, directory, *domains):
    # FEDGATE_PKI_TOOL: another fedgate binary for dev-pki (e.g. a normal build
    # when the gateway under test is a TSan build, whose minting fails).
    args = [os.environ.get("FEDGATE_PKI_TOOL", fedgate), "dev-pki", directory]
    for d in domains:
        args += ["--domain", d]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


class Child:
    """A server run as a child process: .proc, its output in .logfile
    (open as .log). Stopped by PID with SIGTERM (SIGKILL after 10 s)."""

    def log_tail(self, n=60):
        try:
            return "".join(open(self.logfile).readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Fedgate(Child):
    """One gateway process with its config file, log and admin endpoint."""

    def __init__(self, fedgate, directory, name, config_text, admin_port, prefix=()):
        self.cfgfile = "%s/%s.yaml" % (directory, name)
        self.logfile = "%s/%s.log" % (directory, name)
        with open(self.cfgfile, "w") as f:
            f.write(config_text)
        self.admin_port = admin_port
        self.log = open(self.logfile, "w")
        self.proc = subprocess.Popen(list(prefix) + [fedgate, "run", "--config", self.cfgfile],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if not xp.wait_port(HOST, admin_port, 10):
            raise RuntimeError("fedgate %s did not start:\n%s" % (name, self.log_tail()))

    def stop(self):
        # SIGINT stops at once; SIGTERM would drain for up to shutdown.grace
        # while peers a test left open keep their streams (drain_test.py
        # tests the drain itself).
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def metric(self, name):
        url = "http://%s:%d/metrics" % (HOST, self.admin_port)
        for line in urllib.request.urlopen(url, timeout=5).read().decode().splitlines():
            if line.startswith("fedgate_" + name + " "):
                return int(line.split()[1])
        raise KeyError(name)

    def assert_accounted(self, timeout=10):
        """Nothing lost silently (DESIGN.md): once the queues are empty,
        stanzas_in = delivered + bounced + not bounced, and every bounce was
        sent or counted undeliverable."""
        import time
        deadline = time.time() + timeout
        while True:
            m = {k: self.metric(k) for k in (
                "stanzas_in_total", "stanzas_delivered_total", "stanzas_bounced_total",
                "stanzas_undeliverable_not_bounced_total", "bounces_sent_total",
                "bounces_undeliverable_total")}
            ok = (m["stanzas_in_total"] == m["stanzas_delivered_total"] +
                  m["stanzas_bounced_total"] + m["stanzas_undeliverable_not_bounced_total"] and
                  m["stanzas_bounced_total"] == m["bounces_sent_total"] +
                  m["bounces_undeliverable_total"])
            if ok:
                return m
            if time.time() > deadline:
                raise AssertionError("counters do not add up: %r" % m)
            time.sleep(0.2)



def listener_ports():
    """Free ports for one gateway's four listeners."""
    return {k: free_port() for k in ("s2s", "tls", "internal", "admin")}


def write_secret(path, text):
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)


def gateway_yaml(ports, domains, backends, trust="pki/ca.crt", secret="secret",
                 hop_mode="internal-ca", ica="ica", static=(), limits=None, dns=None,
                 default_cert=None, log_level="debug", tls=None, dialback=None,
                 proxy_trusted=None, hop=None):
    """A fedgate configuration for tests.

    domains: (name, backend, cert) with cert a path prefix ("pki/b.test") or
    None for the default certificate; backends: (name, [port, ...]) on
    loopback; static: (domain, port) pinned targets; limits: extra limits
    keys; dns: extra dns keys (nameservers, timeout); tls, dialback: extra keys
    of those sections (plaintext_peers, enabled); proxy_trusted: networks
    of the public listeners' proxy_protocol.trusted_networks; hop: extra
    keys of internal_hop (plaintext)."""
    out = ["log_level: %s" % log_level, "workers: 2", "listeners:"]
    proxy = ""
    if proxy_trusted:
        proxy = ", proxy_protocol: {trusted_networks: [%s]}" % ", ".join(proxy_trusted)
    out.append("  s2s: {address: %s, port: %d%s}" % (HOST, ports["s2s"], proxy))
    out.append("  s2s-tls: {address: %s, port: %d, enabled: true%s}" % (HOST, ports["tls"], proxy))
    out.append("  internal: {address: %s, port: %d}" % (HOST, ports["internal"]))
    out.append("  admin: {address: %s, port: %d}" % (HOST, ports["admin"]))
    out.append("domains:")
    for name, backend, cert in domains:
        out.append('  - name: "%s"' % name)
        out.append("    backend: %s" % backend)
        if cert:
            out.append("    cert: %s.crt" % cert)
            out.append("    key: %s.key" % cert)
    out.append("backends:")
    for name, bports in backends:
        addrs = ", ".join('"%s:%d"' % (HOST, p) for p in bports)
        out.append("  - name: %s" % name)
        out.append("    addresses: [%s]" % addrs)
    out.append("tls:")
    out.append("  trust_file: %s" % trust)
    if default_cert:
        out.append("  default_cert: %s.crt" % default_cert)
        out.append("  default_key: %s.key" % default_cert)
    out.extend("  %s: %s" % kv for kv in (tls or {}).items())
    out.append("dialback:")
    out.append("  secret_file: %s" % secret)
    out.extend("  %s: %s" % kv for kv in (dialback or {}).items())
    out.append("internal_hop:")
    out.append("  mode: %s" % hop_mode)
    out.append("  ca_cert: %s/ca.crt" % ica)
    out.append("  ca_key: %s/ca.key" % ica)
    out.extend("  %s: %s" % kv for kv in (hop or {}).items())
    if limits:
        out.append("limits:")
        out.extend("  %s: %s" % kv for kv in limits.items())
    out.append("dns:")
    for k, v in (dns or {}).items():
        out.append("  %s: %s" % (k, v))
    if static:
        out.append("  static:")
        for domain, port in static:
            out.append("    - domain: %s" % domain)
            out.append('      targets: ["%s:%d"]' % (HOST, port))
    return "\n".join(out) + "\n"


class HostedGateway:
    """A fedgate hosting b.test (backend `sink`, a ReceivingServer) with
    |extra| appended to its configuration, and remote.test's own server
    (`auth`, pinned by dns.static) receiving what fedgate sends there. The
    PKI in DIR/pki has b.test, remote.test and |remotes|."""

    def __init__(self, fedgate, prefix, remotes, extra):
        import tempfile
        import xmpp_peer as xp
        self.dir = d = tempfile.mkdtemp(prefix=prefix)
        dev_pki(fedgate, d + "/pki", "remote.test", "b.test", *remotes)
        dev_pki(fedgate, d + "/ica", "unused.test")
        write_secret(d + "/secret", "test-dialback-secret")
        self.ports = p = {k: free_port() for k in ("s2s", "tls", "internal", "admin", "sink",
                                                    "auth")}
        cfg = gateway_yaml(p, [("b.test", "sink", None)], [("sink", [p["sink"]])],
                           default_cert="pki/b.test", static=[("remote.test", p["auth"])])
        self.sink = xp.ReceivingServer(HOST, p["sink"], d + "/pki/b.test.crt",
                                       d + "/pki/b.test.key", client_ca=d + "/ica/ca.crt")
        self.auth = xp.ReceivingServer(HOST, p["auth"], d + "/pki/remote.test.crt",
                                       d + "/pki/remote.test.key", client_ca=d + "/pki/ca.crt")
        os.chdir(d)
        self.gw = Fedgate(fedgate, d, "fedgate", cfg + extra, p["admin"])

    def metric(self, name):
        return self.gw.metric(name)

    def close(self):
        self.gw.stop()
        self.sink.close()
        self.auth.close()


def ctl(fedgate, admin_port, *args):
    """Runs `fedgate ctl --admin 127.0.0.1:PORT ARGS`; returns (exit status,
    stdout, stderr)."""
    import subprocess
    argv = [fedgate, "ctl", "--admin", "%s:%d" % (HOST, admin_port)]
    r = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def run_suite(tests, *args, on_failure=None):
    """Runs each (name, fn) with |args|; prints one line per test and the
    summary line; returns the number failed."""
    import traceback
    passed = failed = 0
    for name, fn in tests:
        try:
            fn(*args)
            passed += 1
            print("ok   %s" % name, flush=True)
        except Exception as e:  # noqa: BLE001
            failed += 1
            print("FAIL %s: %r" % (name, e), flush=True)
            traceback.print_exc(limit=3)
    return passed, failed


def tests_of(module_globals):
    """The test_* functions of a module, sorted by name."""
    return [(n, f) for n, f in sorted(module_globals.items()) if n.startswith("test_")]


class Skip(Exception):
    """Raised by a suite's make_env when the suite cannot run on this machine
    (a component that cannot be had): main_of reports its cases skipped."""


def stop_all(children):
    """Stops every child (an object with .stop()), the last started first;
    one that fails to stop does not keep the others running."""
    for c in reversed(children):
        try:
            c.stop()
        except Exception:  # noqa: BLE001
            pass


def keep_for_diagnosis(directory, max_bytes=8 << 20):
    """Under `bazel test`, copies the regular files of a failed suite's
    |directory| (the logs of fedgate and of the servers it ran with, their
    configurations; none above |max_bytes|) to the test's undeclared outputs
    (bazel-testlogs/.../test.outputs/outputs.zip), so that a failure seen
    once in `make test` or CI can be read afterwards."""
    import shutil
    import stat
    out = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR")
    if not out:
        return
    dest = os.path.join(out, os.path.basename(directory.rstrip("/")))
    for root, _dirs, files in os.walk(directory):
        for name in files:
            src = os.path.join(root, name)
            try:
                st = os.lstat(src)
                if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
                    continue
                target = os.path.join(dest, os.path.relpath(src, directory))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(src, target)
            except OSError:
                continue
    print("kept for diagnosis: %s" % dest)


def main_of(make_env, module_globals):
    """The main() of a suite: its test_* functions run against one
    make_env() (an object with .dir and .close()), whose directory is removed
    afterwards unless FEDGATE_E2E_KEEP is set. Prints the summary line and
    returns the exit status; a make_env that raises Skip makes every case
    skipped (exit 0)."""
    import shutil
    try:
        env = make_env()
    except Skip as e:
        print("skipped: %s" % e)
        print("0 passed, 0 failed, %d skipped" % len(tests_of(module_globals)))
        return 0
    counts = (0, 1)
    try:
        counts = run_suite(tests_of(module_globals), env)
    finally:
        env.close()
        if counts[1] > 0:
            keep_for_diagnosis(env.dir)
        if not os.environ.get("FEDGATE_E2E_KEEP"):
            shutil.rmtree(env.dir, ignore_errors=True)
        print("%d passed, %d failed" % counts)
    return 0 if counts[1] == 0 else 1
