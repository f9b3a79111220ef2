"""prosody: start and stop private Prosody 0.12 instances for tests.

Each instance gets its own config, data directory and loopback ports, runs
in the foreground as a child process, and is stopped by PID. Users are
created with prosodyctl. See ../shared/interop-notes.md for the quirks.
"""

import os
import shutil
import subprocess
import time

import fedgate_proc as fp
import xmpp_peer as xp

CONTRIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "contrib",
                       "prosody")


class Prosody(fp.Child):
    def __init__(self, workdir, domain, c2s_port, s2s_port, cert, key, cafile,
                 fedgate_port=None, users=(), extra="", modules=(), smacks=False,
                 global_config="", env=None, bidi=False):
        """extra: settings of the VirtualHost; modules: more modules to
        enable; smacks: XEP-0198 on s2s (mod_smacks); global_config: more
        global settings (Lua), after the defaults so that they override
        them; env: extra environment variables for the prosody and prosodyctl
        processes; bidi: keep mod_s2s_bidi (XEP-0288) loaded."""
        self.dir = workdir
        os.makedirs(workdir + "/data", exist_ok=True)
        os.makedirs(workdir + "/certs", exist_ok=True)
        # Prosody drops to its own user for prosodyctl; let it write and read.
        shutil.copy(cert, workdir + "/certs/server.crt")
        shutil.copy(key, workdir + "/certs/server.key")
        shutil.copy(cafile, workdir + "/certs/ca.crt")
        route = ""
        mods = '"roster"; "saslauth"; "tls"; "dialback"; "disco"; "ping"; "presence"; "message"; "iq"'
        if fedgate_port is not None:
            route = 'plugin_paths = { "%s" }\nfedgate_host = "127.0.0.1"\nfedgate_port = %d\n' % (
                os.path.abspath(CONTRIB), fedgate_port)
            mods += '; "fedgate_route"'
        mods += "".join('; "%s"' % m for m in modules)
        if smacks:
            # XEP-0198 on s2s streams, with unacked stanzas resent on a new
            # stream (docs/stream-management.md).
            mods += '; "smacks"'
            route += "smacks_enabled_s2s = true\nsmacks_s2s_resend = true\n"
        self.c2s_port, self.s2s_port, self.domain = c2s_port, s2s_port, domain
        disabled = '"posix"' if bidi else '"s2s_bidi"; "posix"'
        if bidi:
            mods += '; "s2s_bidi"'
        cfg = f"""
pidfile = "{workdir}/prosody.pid"
data_path = "{workdir}/data"
certificates = "{workdir}/certs"
daemonize = false
log = {{ debug = "{workdir}/prosody.log" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s_port} }}
s2s_ports = {{ {s2s_port} }}
c2s_direct_tls_ports = {{}}
s2s_direct_tls_ports = {{}}
http_ports = {{}}
https_ports = {{}}
{route}
modules_enabled = {{ {mods} }}
modules_disabled = {{ {disabled} }}
authentication = "internal_plain"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
s2s_require_encryption = true
s2s_secure_auth = false
limits = {{}}
ssl = {{
  certificate = "{workdir}/certs/server.crt";
  key = "{workdir}/certs/server.key";
  cafile = "{workdir}/certs/ca.crt";
}}
{global_config}
VirtualHost "{domain}"
{extra}
"""
        self.cfgfile = workdir + "/prosody.cfg.lua"
        with open(self.cfgfile, "w") as f:
            f.write(cfg)
        subprocess.run(["chown", "-R", "prosody", workdir], check=False)
        self.env = dict(os.environ, **(env or {}))
        for user, password in users:
            subprocess.run(["prosodyctl", "--config", self.cfgfile, "register", user, domain,
                            password], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=self.env)
        self.out = self.log = open(workdir + "/stdout.log", "w")
        self.logfile = workdir + "/prosody.log"  # fp.Child.log_tail reads it
        self.proc = subprocess.Popen(["prosody", "--config", self.cfgfile], stdout=self.out,
                                     stderr=subprocess.STDOUT, env=self.env)
        if not (xp.wait_port("127.0.0.1", c2s_port, 15) and xp.wait_port("127.0.0.1", s2s_port, 5)):
            raise RuntimeError("prosody for %s did not start:\n%s" % (domain, self.log_tail()))


class RawClient:
    """A user on a raw c2s stream (no TLS, SASL PLAIN, bind, optional initial
    presence) for tests that need stanzas slixmpp would hide: iq() waits for
    the answer to one request; next_message() returns the next <message/>."""

    def __init__(self, port, domain, user, password, available=False):
        import base64
        import socket
        self.domain = domain
        self.p = xp.Peer(socket.create_connection(("127.0.0.1", port), timeout=10))
        self.n = 0
        self.messages = []
        self._open()
        self.p.read_features()
        creds = base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()
        self.p.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (xp.NS_SASL, creds))
        el = self.p.read_element()
        assert el.tag == xp.q(xp.NS_SASL, "success"), el.tag
        self._open()
        self.p.read_features()
        self.iq("set", None, "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>")
        if available:
            self.p.send("<presence/>")

    def _open(self):
        self.p.reader.reset()
        self.p.pending = []
        self.p.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                    "xmlns:stream='%s' to='%s' version='1.0'>" % (xp.NS_STREAM, self.domain))
        self.p.read_header()

    def iq(self, type_, to, payload):
        self.n += 1
        sid = "raw-%d" % self.n
        self.p.send("<iq type='%s' id='%s'%s>%s</iq>" % (
            type_, sid, " to='%s'" % to if to else "", payload))
        while True:
            el = self.p.read_element()
            if el.get("id") == sid:
                assert el.get("type") == "result", xp.ET.tostring(el)
                return el
            if el.tag.endswith("}message"):
                self.messages.append(el)

    def next_message(self):
        while not self.messages:
            el = self.p.read_element()
            if el.tag.endswith("}message"):
                self.messages.append(el)
        return self.messages.pop(0)

    def close(self):
        self.p.close()


class Client:
    """A slixmpp user (tests/e2e/xmpp_client.py) in a child process."""

    def __init__(self, jid, password, port, sends=(), commands=()):
        args = ["/usr/bin/python3", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "xmpp_client.py"), jid, password, "127.0.0.1",
                str(port)]
        for to, body in sends:
            args += ["send", to, body]
        for cmd in commands:
            args += list(cmd)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines = []
        import threading
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, prefix, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.lines:
                if line.startswith(prefix):
                    return line
            time.sleep(0.05)
        raise AssertionError("client never printed %r; got %r" % (prefix, self.lines[-10:]))

    def stop(self):
        self.proc.kill()
        self.proc.wait()
