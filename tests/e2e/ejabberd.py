"""ejabberd: start and stop private ejabberd 23.01 instances for tests.

Each instance gets its own config directory (ejabberd.yml, ejabberdctl.cfg,
inetrc), spool, logs and loopback ports, and runs `ejabberdctl foreground`
(as the ejabberd user: ejabberdctl switches to it when run as root) in its
own session, so that it is stopped with `ejabberdctl stop` and, failing
that, by signalling its process group. Erlang distribution uses a fixed
port (ERL_DIST_PORT), so no epmd is started.

ejabberd has no option that routes a remote domain to a host and port: its
outbound s2s is steered by DNS, as contrib/README.md explains. An
instance created with |outgoing_port| runs in a private mount namespace
whose /etc/resolv.conf names a dnsmasq (class Dns) that answers every name
with 127.0.0.1; SRV lookups (Erlang inet_res, configured by inetrc) go to
the same dnsmasq and fail, so ejabberd falls back to the domain's address
and `outgoing_s2s_port`: every outbound s2s connection reaches that port.
"""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time

import fedgate_proc as fp
import xmpp_peer as xp

CONTRIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "contrib",
                       "ejabberd")
EJABBERDCTL = "/usr/sbin/ejabberdctl"


class Dns:
    """dnsmasq on 127.53.X.Y:53 answering every A query with 127.0.0.1.

    glibc reads /etc/resolv.conf, which has no port field, so the server must
    listen on port 53; a random 127/8 address keeps parallel tests apart.
    """

    def __init__(self, workdir, answer="127.0.0.1"):
        os.makedirs(workdir, exist_ok=True)
        self.dir = workdir
        self.resolv_conf = workdir + "/resolv.conf"
        self.log = workdir + "/dnsmasq.log"
        # CONTRIB/dnsmasq.conf is the configuration the README documents;
        # only the address and the answer differ here.
        conf = open(os.path.join(CONTRIB, "dnsmasq.conf")).read()
        for old, new in (("address=/#/10.0.0.1", "address=/#/" + answer),
                         ("listen-address=127.0.0.153\n", "")):
            if old not in conf:
                raise RuntimeError("contrib/ejabberd/dnsmasq.conf: no %r" % old)
            conf = conf.replace(old, new)
        last = None
        for _ in range(20):
            self.address = "127.53.%d.%d" % (random.randint(0, 255), random.randint(1, 254))
            with open(workdir + "/dnsmasq.conf", "w") as f:
                f.write(conf)
                f.write("\nlisten-address=%s\nport=53\nlog-queries\n"
                        "log-facility=%s\npid-file=\n" % (self.address, self.log))
            with open(workdir + "/stderr.log", "w") as err:
                self.proc = subprocess.Popen(["dnsmasq", "--keep-in-foreground",
                                              "--conf-file=" + workdir + "/dnsmasq.conf"],
                                             stdout=subprocess.DEVNULL, stderr=err)
            time.sleep(0.3)
            if self.proc.poll() is None:
                break
            last = open(workdir + "/stderr.log").read()
        else:
            raise RuntimeError("dnsmasq did not start: %s" % last)
        with open(self.resolv_conf, "w") as f:
            f.write("nameserver %s\noptions attempts:1 timeout:1\n" % self.address)

    def inetrc(self):
        """The contrib inetrc, pointed at this server."""
        text = open(os.path.join(CONTRIB, "inetrc")).read()
        if "{127,0,0,153}" not in text:
            raise RuntimeError("contrib/ejabberd/inetrc: no {127,0,0,153}")
        return text.replace("{127,0,0,153}", "{%s}" % self.address.replace(".", ","))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def missing():
    """Why ejabberd cannot run here (None when it can): ejabberdctl switches
    to the ejabberd user, and the DNS steering bind-mounts resolv.conf, both
    as root; `make deps` installs ejabberd."""
    if os.geteuid() != 0 or not os.path.exists(EJABBERDCTL):
        return "needs root and Debian's ejabberd package"
    return None


def _accepts(port):
    """Whether something accepts TCP connections on 127.0.0.1:|port|."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Ejabberd:
    """One ejabberd node hosting |domain|.

    cafile: s2s_cafile (the CA whose certificates ejabberd accepts for SASL
    EXTERNAL and checks on outbound s2s), None to leave it out (mode
    dialback); outgoing_port and dns: see the module comment; users: (name,
    password) pairs registered after start.
    """

    def __init__(self, workdir, name, domain, c2s_port, s2s_port, certfile, keyfile, cafile,
                 outgoing_port=None, dns=None, users=(), loglevel="info", more_hosts=(),
                 modules=()):
        self.dir = workdir
        self.name = name
        self.domain = domain
        # more_hosts: (domain, certfile, keyfile, users) of further virtual hosts.
        self.more_hosts = list(more_hosts)
        self.modules = list(modules)  # further module names (e.g. mod_offline), default options
        self.c2s_port, self.s2s_port = c2s_port, s2s_port
        self.proc = None
        for sub in ("etc", "spool", "logs"):
            os.makedirs(workdir + "/" + sub, exist_ok=True)
        etc = workdir + "/etc"
        # ejabberd wants the certificate and its key in one PEM file.
        with open(etc + "/server.pem", "w") as out:
            out.write(open(certfile).read())
            out.write(open(keyfile).read())
        os.chmod(etc + "/server.pem", 0o600)
        for host, hcert, hkey, _ in self.more_hosts:
            with open("%s/%s.pem" % (etc, host), "w") as out:
                out.write(open(hcert).read())
                out.write(open(hkey).read())
            os.chmod("%s/%s.pem" % (etc, host), 0o600)
        if cafile is not None:
            shutil.copy(cafile, etc + "/s2s-ca.crt")
        self.dist_port = fp.free_port()
        self.node = "ejabberd-%s@localhost" % name
        with open(etc + "/ejabberdctl.cfg", "w") as f:
            f.write('ERLANG_NODE=%s\nERL_DIST_PORT=%d\nEJABBERD_PID_PATH=%s/ejabberd.pid\n'
                    'ERL_OPTIONS="-kernel inet_dist_use_interface {127,0,0,1}"\n'
                    'EJABBERD_BYPASS_WARNINGS=true\n' % (self.node, self.dist_port, workdir))
        inetrc = dns.inetrc() if dns else "{lookup, [file]}.\n"
        with open(etc + "/inetrc", "w") as f:
            f.write(inetrc)
        with open(etc + "/ejabberd.yml", "w") as f:
            f.write(self._config(etc, cafile is not None, outgoing_port, loglevel))
        subprocess.run(["chown", "-R", "ejabberd:ejabberd", workdir], check=True)
        self.out = open(workdir + "/stdout.log", "w")
        cmd = self._ctl("foreground")
        if dns is not None:
            # A private /etc/resolv.conf for this process tree only.
            cmd = ["unshare", "-m", "sh", "-c",
                   'mount --bind "$0" /etc/resolv.conf && exec "$@"', dns.resolv_conf] + cmd
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self._env(),
                                     start_new_session=True)
        if not (xp.wait_port("127.0.0.1", c2s_port, 30) and
                xp.wait_port("127.0.0.1", s2s_port, 5)):
            self.stop()
            raise RuntimeError("ejabberd %s did not start:\n%s" % (name, self.log_tail()))
        for user, password in users:
            self.ctl("register", user, domain, password)
        for host, _, _, host_users in self.more_hosts:
            for user, password in host_users:
                self.ctl("register", user, host, password)

    def _config(self, etc, with_ca, outgoing_port, loglevel):
        """CONTRIB/ejabberd.yml with this instance's names, ports and paths,
        plus what a test needs besides s2s (a c2s listener, users)."""
        text = open(os.path.join(CONTRIB, "ejabberd.yml")).read()

        def sub(pattern, repl):
            nonlocal text
            text, n = re.subn(pattern, repl, text, count=1, flags=re.M)
            if n != 1:
                raise RuntimeError("contrib/ejabberd/ejabberd.yml: no line %r" % pattern)

        sub(r"^  - example\.com$", "".join(["  - " + self.domain] +
                                            ["\n  - " + h[0] for h in self.more_hosts]))
        sub(r"^  - /etc/ejabberd/example\.com\.pem.*$", "".join(
            ["  - %s/server.pem" % etc] + ["\n  - %s/%s.pem" % (etc, h[0])
                                            for h in self.more_hosts]))
        sub(r"^    port: 5269$", "    port: %d" % self.s2s_port)
        sub(r'^    ip: "10\.0\.0\.3".*$', '    ip: "127.0.0.1"')
        sub(r"^s2s_cafile: .*$", "s2s_cafile: %s/s2s-ca.crt" % etc if with_ca else "")
        sub(r"^s2s_max_retry_delay: .*$", "s2s_max_retry_delay: 5")
        if outgoing_port is not None:
            sub(r"^outgoing_s2s_port: .*$", "outgoing_s2s_port: %d" % outgoing_port)
        else:
            sub(r"^outgoing_s2s_port: .*$", "")
        sub(r"^listen:$", "listen:\n  -\n    port: %d\n    ip: \"127.0.0.1\"\n"
            "    module: ejabberd_c2s" % self.c2s_port)
        sub(r"^access_rules:$", "access_rules:\n  c2s:\n    allow: all")
        sub(r"^modules:$", "modules:\n  mod_disco: {}\n  mod_ping: {}\n  mod_roster: {}" +
            "".join("\n  %s: {}" % m for m in self.modules))
        return text + """
loglevel: %s
log_rotate_count: 0
auth_method: internal
auth_password_format: plain
acl:
  local:
    user_regexp: ""
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
""" % loglevel

    def _env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("EJABBERD", "ERL_", "CONTRIB_"))}
        env["HOME"] = "/var/lib/ejabberd"
        return env

    def _ctl(self, *args):
        return [EJABBERDCTL, "--config-dir", self.dir + "/etc", "--spool", self.dir + "/spool",
                "--logs", self.dir + "/logs"] + list(args)

    def ctl(self, *args, timeout=30):
        r = subprocess.run(self._ctl(*args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, env=self._env(), timeout=timeout,
                           text=True)
        if r.returncode != 0:
            raise RuntimeError("ejabberdctl %s: %d %s" % (" ".join(args), r.returncode,
                                                         r.stdout.strip()))
        return r.stdout

    def wait_log(self, text, timeout=10):
        """Waits until ejabberd.log contains |text|."""
        deadline = time.time() + timeout
        while True:
            try:
                if text in open(self.dir + "/logs/ejabberd.log").read():
                    return
            except OSError:
                pass
            if time.time() > deadline:
                raise AssertionError("ejabberd %s never logged %r" % (self.name, text))
            time.sleep(0.1)

    def log_tail(self, n=40):
        try:
            return "".join(open(self.dir + "/logs/ejabberd.log").readlines()[-n:])
        except OSError:
            return open(self.dir + "/stdout.log").read()[-4000:]

    def kill(self):
        """SIGKILL, as when the machine loses the process: the process group
        of ejabberdctl and the Erlang VM with everything it started. Returns
        once its listening ports refuse connections (the VM's sockets close
        when its last thread has exited)."""
        self._kill_vm()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        deadline = time.time() + 10
        while time.time() < deadline and any(
                _accepts(p) for p in (self.c2s_port, self.s2s_port)):
            time.sleep(0.02)

    def _kill_vm(self):
        """SIGKILL to this instance's Erlang VM and every process it started
        (erl_child_setup, eimp, memsup). su starts the VM in a session of its
        own, out of ejabberdctl's process group, and its helpers have their
        own too: the VM is found by this instance's spool directory on its
        command line, the rest by their parents."""
        spool = (self.dir + "/spool").encode()
        parents, tree = {}, set()
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if spool in f.read():
                        tree.add(pid)
                with open("/proc/%s/stat" % pid) as f:
                    parents[pid] = f.read().rsplit(")", 1)[1].split()[1]
            except (OSError, IndexError):
                pass
        grown = True
        while grown:
            more = {p for p, pp in parents.items() if pp in tree} - tree
            tree |= more
            grown = bool(more)
        for pid in tree:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.ctl("stop", timeout=15)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of this instance (su, sh, beam.smp, its helpers).
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._kill_vm()
        if self.proc.poll() is None:
            self.proc.wait()
        self.out.close()
