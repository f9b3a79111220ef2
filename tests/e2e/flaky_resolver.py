"""A DNS resolver on loopback whose answers a test changes: unbound, with
dnsmasq beside it as a forwarder that refuses everything.

Modes (set_mode rewrites unbound's configuration and reloads it, SIGHUP):
- "ok": DOMAIN's _xmpp-server._tcp SRV record points to gw.DOMAIN at PORT,
  gw.DOMAIN is 127.0.0.1; every other name of DOMAIN does not exist (a
  static local zone, TTL 0: nothing is cached downstream);
- "servfail": DOMAIN is forwarded to the refusing dnsmasq, so unbound
  answers SERVFAIL at once (RFC 1035 rcode 2).
stop() / cont() make it stop answering (SIGSTOP) and answer again.
"""

import os
import signal
import socket
import struct
import subprocess
import time

import ports

HOST = "127.0.0.1"


def _query(name, qtype=33):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split("."))
    return struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + labels + b"\0" + \
        struct.pack(">HH", qtype, 1)


def _skip_name(msg, i):
    """The offset after the (possibly compressed) domain name at |i|."""
    while msg[i] != 0:
        if msg[i] & 0xC0 == 0xC0:
            return i + 2
        i += msg[i] + 1
    return i + 1


def _srv_port(msg):
    """The port of the first SRV record in the answer section of |msg|
    (RFC 2782), or None."""
    try:
        i = _skip_name(msg, 12) + 4  # the question
        for _ in range(struct.unpack(">H", msg[6:8])[0]):
            i = _skip_name(msg, i)
            rtype, _, _, rdlen = struct.unpack(">HHIH", msg[i:i + 10])
            if rtype == 33:
                return struct.unpack(">H", msg[i + 14:i + 16])[0]
            i += 10 + rdlen
    except (IndexError, struct.error):
        pass
    return None


class FlakyResolver:
    def __init__(self, directory, domain, port):
        self.dir, self.domain = directory, domain
        os.makedirs(directory, exist_ok=True)
        self.port = ports.free_port()
        self.refuser_port = ports.free_port()
        self.refuser = subprocess.Popen(
            ["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces",
             "--listen-address=" + HOST, "--port=%d" % self.refuser_port],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.mode, self.target_port = "ok", port
        self._write()
        self.unbound = subprocess.Popen(["unbound", "-d", "-c", self.dir + "/unbound.conf"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_rcode(0)

    def _write(self):
        d = self.domain
        lines = ["server:", "  interface: %s" % HOST, "  port: %d" % self.port,
                 "  do-ip6: no", '  username: ""', '  chroot: ""',
                 '  directory: "%s"' % self.dir, '  pidfile: "%s/unbound.pid"' % self.dir,
                 "  use-syslog: no", '  logfile: "%s/unbound.log"' % self.dir,
                 "  num-threads: 1", "  do-not-query-localhost: no",
                 '  module-config: "iterator"', "  access-control: 127.0.0.0/8 allow",
                 "  cache-max-ttl: 0", "  cache-max-negative-ttl: 0",
                 # test. is answered by unbound itself (RFC 6761) unless told not to.
                 '  local-zone: "test." nodefault']
        if self.mode == "ok":
            lines += ['  local-zone: "%s." static' % d,
                      '  local-data: "_xmpp-server._tcp.%s. 0 IN SRV 0 5 %d gw.%s."' % (
                          d, self.target_port, d),
                      '  local-data: "gw.%s. 0 IN A %s"' % (d, HOST)]
        else:
            lines += ["forward-zone:", '  name: "%s."' % d,
                      "  forward-addr: %s@%d" % (HOST, self.refuser_port)]
        with open(self.dir + "/unbound.conf", "w") as f:
            f.write("\n".join(lines) + "\n")

    def answer(self, name=None, timeout=0.5):
        """unbound's answer to the domain's SRV question, None when silent."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        try:
            s.sendto(_query(name or "_xmpp-server._tcp." + self.domain), (HOST, self.port))
            return s.recv(4096)
        except OSError:
            return None
        finally:
            s.close()

    def rcode(self, name=None, timeout=0.5):
        """unbound's rcode for the domain's SRV question, None when silent."""
        msg = self.answer(name, timeout)
        return None if msg is None else msg[3] & 0x0F

    def wait_rcode(self, want, timeout=10):
        """Waits until unbound answers with rcode |want| and, in "ok" mode,
        an SRV record with this configuration's port (a reload that has not
        happened yet still gives rcode 0 with the previous port)."""
        deadline = time.time() + timeout
        while True:
            msg = self.answer()
            if msg is not None and msg[3] & 0x0F == want and (
                    self.mode != "ok" or _srv_port(msg) == self.target_port):
                return
            if time.time() > deadline:
                raise RuntimeError("unbound never answered rcode %d%s (%s mode)" % (
                    want, " with port %d" % self.target_port if self.mode == "ok" else "",
                    self.mode))
            time.sleep(0.05)

    def set_mode(self, mode, port=None):
        """Changes the answers ("ok" with the SRV target's |port|, or
        "servfail") and waits until unbound gives them."""
        self.mode = mode
        if port is not None:
            self.target_port = port
        self._write()
        self.unbound.send_signal(signal.SIGHUP)
        self.wait_rcode(0 if mode == "ok" else 2)

    def stop(self):
        self.unbound.send_signal(signal.SIGSTOP)

    def cont(self):
        self.unbound.send_signal(signal.SIGCONT)

    def close(self):
        for p in (self.unbound, self.refuser):
            try:
                p.send_signal(signal.SIGCONT)
                p.kill()
                p.wait()
            except OSError:
                pass
