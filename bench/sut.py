"""sut: the three systems under test of `make bench`, started the same way.

Each one terminates direct-TLS s2s streams (XEP-0368, ALPN xmpp-server) from
the load generator's remote servers on 127.0.0.1 and delivers their stanzas
in plaintext on loopback to the generator's sink:

  fedgate  `fedgate run`, one worker; hop to the sink = internal_hop mode
           dialback, plaintext (the sink is a plain s2s receiving server)
  prosody  Prosody 0.12.3 (Lua, one thread; with gc="generational", its
           generational Lua 5.4 collector); s2s_direct_tls_ports, SASL
           EXTERNAL for the remote servers' certificates, the sink connected
           as an XEP-0114 component for the target domain
  haproxy  HAProxy 2.6, one thread, mode tcp: TLS terminated and bytes
           forwarded to the sink with no XML work at all (the floor)

Every process is pinned to one CPU with taskset (the generator gets the
other), logs only warnings, and is stopped by PID. `pids()` are the
processes whose CPU time and RSS the generator measures.

Equal terms for TLS: fedgate and the generator use Debian's Android
BoringSSL, which cannot narrow the TLS 1.3 suites (no
SSL_CTX_set_ciphersuites) and negotiates TLS_AES_128_GCM_SHA256 on
machines with AES instructions; Prosody (LuaSec `ciphersuites`) and HAProxy
(`ssl-default-bind-ciphersuites`) are pinned to that suite. For TLS 1.2
(the AES-256-GCM comparison, s2sload --tls12-cipher) all three accept
ECDHE-ECDSA-AES256-GCM-SHA384 and the generator offers only that.
"""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import time

HOST = "127.0.0.1"
# Scheduling priority (nice) of every system under test and of the load
# generator, the same for all; set by bench/suite.py --nice. Each of them
# runs in a session of its own, and the kernel's autogroup scheduling
# (sched(7), /proc/PID/autogroup) shares CPU time between sessions first:
# the nice value is the session's, so that other work on a shared machine
# (builds, tests) preempts the measured processes less. 0: neither.
NICE = 0
SINK_DOMAIN = "sink.bench.test"
# Establishments in flight during churn: as many as tls_bench keeps through
# the runtime for the ceilings it is compared with. With 16, fedgate's
# worker sat idle 15-40 % of the time between round trips (the generator
# waiting on its own peers), and each sleep and wake-up was counted in the
# worker's CPU time per establishment; with 64 the worker is 90-95 % busy
# and the generator still below 90 % of its CPU.
CHURN_CONCURRENCY = 64
COMPONENT_SECRET = "bench-component-secret"
# What fedgate negotiates in TLS 1.3 (see above), and the TLS 1.2 suites
# fedgate offers for ECDSA certificates (crypto/tls.c), AES-256 first.
TLS13_SUITE = "TLS_AES_128_GCM_SHA256"
TLS12_SUITES = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"


def _prioritise():
    """In the child before exec: a session (so an autogroup) of its own,
    at autogroup nice NICE."""
    os.setsid()
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(NICE))
    except OSError:
        pass  # no autogroups, or not allowed: setpriority still applies
    try:
        os.setpriority(os.PRIO_PROCESS, 0, NICE)
    except OSError:
        pass


def priority():
    """Keyword arguments for subprocess that start a measured process at
    priority NICE (none when NICE is 0)."""
    return {"preexec_fn": _prioritise} if NICE else {}


def perf_sample(gen_argv, tid, seconds, data, settle):
    """Starts the generator |gen_argv|, waits |settle| seconds, samples
    thread |tid| with `perf record -g` (cpu-clock) for |seconds| into the
    file |data|, waits for the generator, and returns report(*args): the
    lines of `perf report` of that file with those arguments."""
    gen = subprocess.Popen(gen_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(settle)
    subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "1999", "-g", "-o", data,
                    "-t", str(tid), "--", "sleep", str(seconds)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gen.communicate(timeout=180)

    def report(*args):
        p = subprocess.run(["perf", "report", "-i", data, "--stdio", "-g", "none"] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return [ln for ln in p.stdout.splitlines() if ln.strip() and not ln.startswith("#")]
    return report


try:
    # tests/e2e/ports.py, on the path when `make test` runs the bench's own
    # tests beside the end-to-end suites: ports are then reserved in the
    # registry those suites share, so no suite picks a port another holds
    # between two of its runs. Absent under `make bench`, which runs alone.
    import ports as test_ports
except ImportError:
    test_ports = None


def free_port():
    """A loopback port nobody listens on, outside the ephemeral range."""
    if test_ports:
        return test_ports.free_port()
    import random
    for _ in range(1000):
        port = random.randrange(20000, 32000)
        s = socket.socket()
        try:
            s.bind((HOST, port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port")


def dev_pki(fedgate, directory, remotes):
    """Mints the suite's PKI with `fedgate dev-pki` in |directory|: a CA,
    SINK_DOMAIN's certificate and those of the |remotes| remote domains
    r1.bench.test .. rN.bench.test (the generator's --remotes)."""
    cmd = [fedgate, "dev-pki", directory, "--domain", SINK_DOMAIN]
    for i in range(1, remotes + 1):
        cmd += ["--domain", "r%d.bench.test" % i]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return directory


def workspace(bazel_bin, prefix, remotes):
    """The binaries of an opt build in |bazel_bin| and a fresh work folder
    with the suite's PKI: (fedgate, s2sload, work folder, PKI folder)."""
    import tempfile
    fedgate = os.path.join(bazel_bin, "gateway", "fedgate")
    work = tempfile.mkdtemp(prefix=prefix)
    pki = dev_pki(fedgate, os.path.join(work, "pki"), remotes)
    return fedgate, os.path.join(bazel_bin, "bench", "s2sload"), work, pki


def wait_state(pid, state, timeout):
    """Waits until process |pid| is in /proc state |state| (e.g. "T":
    stopped); False when it is not within |timeout| seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == state:
                    return True
        except (OSError, IndexError):
            return False
        time.sleep(0.01)
    return False


def wait_port(port, timeout, proc=None):
    """Waits until something accepts on |port|; False after |timeout|
    seconds, or as soon as |proc| (if given) has exited."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class _Process:
    """A child process pinned to |cpu|, with its output in |logfile|."""

    name = "?"

    def _spawn(self, argv, cpu, logfile, port, env=None):
        self.logfile = logfile
        self._log = open(logfile, "w")
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + argv
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     **priority())
        if not wait_port(port, 20, self.proc):
            self.stop()
            raise RuntimeError("%s did not start listening on %d (%s):\n%s" %
                               (self.name, port, self.exit_text(), self.log_tail()))

    def pids(self):
        return [self.proc.pid]

    def log_tail(self, n=30):
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def answers(self, timeout=5):
        """Whether the system still answers a TLS ClientHello on its
        direct-TLS port within |timeout| seconds (any answer: a handshake, or
        an alert). A process that is alive but hung (stopped, spinning,
        deadlocked) still has its connections accepted by the kernel, and
        never answers."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["xmpp-server"])
        try:
            with socket.create_connection((HOST, self.port), timeout=timeout) as raw:
                raw.settimeout(timeout)
                with ctx.wrap_socket(raw):
                    return True
        except ssl.SSLError:
            return True  # it answered, if only to refuse
        except OSError:  # refused, reset, or no answer in time
            return False

    def exit_text(self):
        """How the process ended ("exit 3", "killed by signal 9"), or
        "running"."""
        rc = self.proc.poll()
        if rc is None:
            return "running"
        return "killed by signal %d" % -rc if rc < 0 else "exit %d" % rc

    def tids(self):
        """The thread ids of every process of pids() (none of a process that
        is gone)."""
        out = []
        for pid in self.pids():
            try:
                out += [int(t) for t in os.listdir("/proc/%d/task" % pid)]
            except OSError:
                pass
        return out

    def busiest_thread(self):
        """The thread that used the most CPU so far: after some load, the
        event loop (fedgate's one worker, Prosody's Lua thread, HAProxy's one
        thread); the main and helper threads only wait."""
        best, best_ticks = None, -1
        task = "/proc/%d/task" % self.proc.pid
        for tid in self.tids():
            try:
                with open("%s/%d/stat" % (task, tid)) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            ticks = int(fields[11]) + int(fields[12])  # utime + stime
            if ticks > best_ticks:
                best, best_ticks = int(tid), ticks
        return best

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a paused system (SIGSTOP) ends too
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class Fedgate(_Process):
    """fedgate with one worker: s2s-tls for the remote servers, the sink as
    the backend of SINK_DOMAIN over a plaintext dialback hop."""

    name = "fedgate"
    sink_kind = "s2s-listen"

    def __init__(self, fedgate, workdir, pki, cpu, sink_port, extra_limits=None,
                 log_level="warn", extra_config=""):
        self.port = free_port()
        self.starttls_port = free_port()  # the s2s listener (RFC 6120 §5 STARTTLS)
        self.sink_port = sink_port
        admin = free_port()
        secret = os.path.join(workdir, "dialback.secret")
        with open(secret, "w") as f:
            f.write(os.urandom(24).hex() + "\n")
        os.chmod(secret, 0o600)
        limits = {"streams_per_ip": 1000000, "handshake_timeout": "60s",
                  "queue_stanzas": 1000000, "queue_bytes": 268435456}
        limits.update(extra_limits or {})
        cfg = """# written by bench/sut.py
log_level: %(log)s
workers: 1
listeners:
  s2s: {address: %(h)s, port: %(s2s)d}
  s2s-tls: {address: %(h)s, port: %(port)d, enabled: true}
  internal: {address: %(h)s, port: %(internal)d}
  admin: {address: %(h)s, port: %(admin)d}
domains:
  - name: %(domain)s
    backend: sink
    cert: %(pki)s/%(domain)s.crt
    key: %(pki)s/%(domain)s.key
backends:
  - name: sink
    addresses: ["%(h)s:%(sink)d"]
tls:
  trust_file: %(pki)s/ca.crt
dialback:
  secret_file: %(secret)s
internal_hop:
  mode: dialback
  plaintext: true
limits:
%(limits)s
%(extra)s""" % {"h": HOST, "s2s": self.starttls_port, "port": self.port, "internal": free_port(),
       "admin": admin, "domain": SINK_DOMAIN, "pki": pki, "sink": sink_port,
       "secret": secret, "log": log_level, "extra": extra_config,
       "limits": "\n".join("  %s: %s" % kv for kv in sorted(limits.items()))}
        self.cfgfile = os.path.join(workdir, "fedgate.yaml")
        with open(self.cfgfile, "w") as f:
            f.write(cfg)
        self.admin_port = admin
        self._spawn([fedgate, "run", "--config", self.cfgfile], cpu,
                    os.path.join(workdir, "fedgate.log"), self.port)

    def sink_args(self):
        return ["--sink", "s2s-listen", "%s:%d" % (HOST, self.sink_port)]

    def metric_values(self, names):
        """The counters fedgate_NAME of /metrics for |names| (0 when absent)."""
        vals = dict.fromkeys(names, 0)
        for line in self.metrics().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].startswith("fedgate_") and parts[0][8:] in vals:
                vals[parts[0][8:]] = int(float(parts[1]))
        return vals

    def metrics(self):
        import urllib.request
        with urllib.request.urlopen("http://%s:%d/metrics" % (HOST, self.admin_port),
                                    timeout=5) as r:
            return r.read().decode()


class Prosody(_Process):
    """Prosody 0.12.3 terminating direct-TLS s2s; the sink is a component."""

    name = "prosody"
    sink_kind = "component"

    def __init__(self, workdir, pki, cpu, gc=None):
        if gc:
            self.name = "prosody_gc"
        self.port = free_port()
        self.component_port = free_port()
        d = os.path.join(workdir, "prosody")
        os.makedirs(d + "/data", exist_ok=True)
        os.makedirs(d + "/certs", exist_ok=True)
        for ext in ("crt", "key"):
            shutil.copy("%s/%s.%s" % (pki, SINK_DOMAIN, ext), "%s/certs/%s.%s" % (d, SINK_DOMAIN,
                                                                               ext))
        shutil.copy(pki + "/ca.crt", d + "/certs/ca.crt")
        # No mod_limits (Debian's default config throttles s2s to 30 kb/s),
        # warnings only, epoll; SASL EXTERNAL needs saslauth + tls and a
        # trusted chain (s2s_secure_auth).
        cfg = """-- written by bench/sut.py
pidfile = "%(d)s/prosody.pid"
data_path = "%(d)s/data"
certificates = "%(d)s/certs"
daemonize = false
log = { warn = "%(d)s/prosody.log" }
network_backend = "epoll"
interfaces = { "%(h)s" }
c2s_ports = {}
c2s_direct_tls_ports = {}
s2s_ports = {}
s2s_direct_tls_ports = { %(port)d }
component_ports = { %(cport)d }
component_interfaces = { "%(h)s" }
http_ports = {}
https_ports = {}
modules_enabled = { "saslauth"; "tls"; "dialback" }
modules_disabled = { "s2s_bidi"; "posix" }
s2s_require_encryption = true
s2s_secure_auth = true
limits = {}
%(gc)s
ssl = {
  certificate = "%(d)s/certs/%(domain)s.crt";
  key = "%(d)s/certs/%(domain)s.key";
  cafile = "%(d)s/certs/ca.crt";
  ciphers = "%(tls12)s";
  ciphersuites = "%(tls13)s";
}
VirtualHost "host.bench.test"
Component "%(domain)s"
  component_secret = "%(secret)s"
""" % {"d": d, "h": HOST, "port": self.port, "cport": self.component_port,
       "domain": SINK_DOMAIN, "secret": COMPONENT_SECRET, "tls12": TLS12_SUITES,
       "tls13": TLS13_SUITE, "gc": 'gc = { mode = "%s" }' % gc if gc else ""}
        self.cfgfile = d + "/prosody.cfg.lua"
        with open(self.cfgfile, "w") as f:
            f.write(cfg)
        subprocess.run(["chown", "-R", "prosody", d], check=False)
        self._spawn(["prosody", "--config", self.cfgfile], cpu, d + "/stdout.log", self.port)
        if not wait_port(self.component_port, 10):
            raise RuntimeError("prosody: component port not open:\n" + self.log_tail())
        self.logfile_prosody = d + "/prosody.log"

    def sink_args(self):
        return ["--sink", "component", "%s:%d" % (HOST, self.component_port),
                "--component-secret", COMPONENT_SECRET]


class Haproxy(_Process):
    """HAProxy 2.6, one thread, TLS termination and a plain TCP forward."""

    name = "haproxy"
    sink_kind = "plain-listen"

    def __init__(self, workdir, pki, cpu, sink_port):
        self.port = free_port()
        self.sink_port = sink_port
        pem = os.path.join(workdir, "haproxy.pem")
        with open(pem, "w") as out:
            for ext in ("crt", "key"):
                with open("%s/%s.%s" % (pki, SINK_DOMAIN, ext)) as f:
                    out.write(f.read())
        os.chmod(pem, 0o600)
        cfg = """# written by bench/sut.py
global
  nbthread 1
  maxconn 8000
  ssl-default-bind-ciphersuites %(tls13)s
  ssl-default-bind-ciphers %(tls12)s
defaults
  mode tcp
  timeout connect 5s
  timeout client 120s
  timeout server 120s
frontend s2s_tls
  bind %(h)s:%(port)d ssl crt %(pem)s alpn xmpp-server
  default_backend sink
backend sink
  server sink1 %(h)s:%(sink)d
""" % {"h": HOST, "port": self.port, "pem": pem, "sink": sink_port, "tls13": TLS13_SUITE,
       "tls12": TLS12_SUITES}
        self.cfgfile = os.path.join(workdir, "haproxy.cfg")
        with open(self.cfgfile, "w") as f:
            f.write(cfg)
        self._spawn(["haproxy", "-db", "-f", self.cfgfile], cpu,
                    os.path.join(workdir, "haproxy.log"), self.port)

    def sink_args(self):
        return ["--sink", "plain-listen", "%s:%d" % (HOST, self.sink_port)]
