"""signed_dns: DNSSEC-signed test zones on loopback, for the DANE suites.

Zones are signed in the test with ldns (ldns-keygen, ldns-signzone), served
by nsd and validated by unbound, whose trust anchors are the zones' own KSKs
(stub zones, no root needed). unbound answers with the AD bit for data it
validated and SERVFAIL for bogus data (RFC 4035 §5.5), like the validating
resolver a provider runs beside fedgate (docs/dane.md).
"""

import socket
import struct
import subprocess
import time

import ports

HOST = "127.0.0.1"

# The head of every test zone: SOA, NS and the name server's address.
SOA = ("$ORIGIN {o}.\n$TTL 300\n@ IN SOA ns.{o}. admin.{o}. 1 3600 600 86400 300\n"
       "@ IN NS ns.{o}.\nns IN A 127.0.0.1\n")


def _run(*args):
    return subprocess.run(list(args), check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True).stdout


def sign_zone(origin, text, expired=False):
    """Writes |origin|.zone in the current directory, signs it with a new KSK
    and ZSK (ECDSA P-256) into |origin|.zone.signed and returns the KSK's .key
    file (the trust anchor). |expired|: RRSIGs valid only in January 2020."""
    with open(origin + ".zone", "w") as f:
        f.write(text)
    ksk = _run("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", origin).strip()
    zsk = _run("ldns-keygen", "-a", "ECDSAP256SHA256", origin).strip()
    args = ["ldns-signzone"]
    if expired:
        args += ["-i", "20200101", "-e", "20200201"]
    _run(*(args + [origin + ".zone", zsk, ksk]))
    return ksk + ".key"


def _query(name, qtype=1):
    """A DNS question for |name| with EDNS0 and the DO bit (RFC 3225)."""
    return (struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 1) +
            b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) +
            b"\0" + struct.pack(">HH", qtype, 1) + b"\0\0\x29\x04\xd0\0\0\x80\0\0\0")


class SignedDns:
    """nsd serving |zones| (origins whose |origin|.zone.signed files are in
    |directory|; an unsigned zone is simply one no anchor covers) and unbound
    validating them with the KSK files |anchors|. .unbound_port is the
    validating resolver's port on 127.0.0.1. Ready when unbound returned a
    validated answer (AD bit) for |probe| (an A record)."""

    def __init__(self, directory, zones, anchors, probe):
        self.dir = directory
        self.procs = []
        self.nsd_port = ports.free_port()
        self.unbound_port = ports.free_port()
        d = directory
        with open(d + "/nsd.conf", "w") as f:
            f.write("server:\n  ip-address: 127.0.0.1\n  port: %d\n  username: \"\"\n"
                    "  chroot: \"\"\n  zonesdir: \"%s\"\n  pidfile: \"%s/nsd.pid\"\n"
                    "  database: \"\"\n  xfrdfile: \"%s/xfrd.state\"\n"
                    "  zonelistfile: \"%s/zone.list\"\n  logfile: \"%s/nsd.log\"\n"
                    "  server-count: 1\n  verbosity: 1\n"
                    "remote-control:\n  control-enable: no\n" % (self.nsd_port, d, d, d, d, d))
            for z in zones:
                f.write("zone:\n  name: %s\n  zonefile: %s.zone.signed\n" % (z, z))
        self._start("nsd", ["nsd", "-d", "-c", d + "/nsd.conf"])
        with open(d + "/unbound.conf", "w") as f:
            f.write("server:\n  interface: 127.0.0.1\n  port: %d\n  do-ip6: no\n"
                    "  username: \"\"\n  chroot: \"\"\n  directory: \"%s\"\n"
                    "  pidfile: \"%s/unbound.pid\"\n  use-syslog: no\n"
                    "  logfile: \"%s/unbound.log\"\n  verbosity: 1\n  val-log-level: 2\n"
                    "  num-threads: 1\n  do-not-query-localhost: no\n"
                    "  module-config: \"validator iterator\"\n  qname-minimisation: no\n"
                    "  access-control: 127.0.0.0/8 allow\n" % (self.unbound_port, d, d, d))
            for a in anchors:
                f.write("  trust-anchor-file: \"%s/%s\"\n" % (d, a))
            # Each zone and its top-level domain: unbound answers some TLDs
            # itself (test., invalid.: RFC 6761) unless told not to.
            for name in sorted(set(zones) | {z.rsplit(".", 1)[-1] for z in zones}):
                f.write("  local-zone: \"%s.\" nodefault\n" % name)
            f.write("remote-control:\n  control-enable: no\n")
            for z in zones:
                f.write("stub-zone:\n  name: \"%s\"\n  stub-addr: 127.0.0.1@%d\n" % (
                    z, self.nsd_port))
        self._start("unbound", ["unbound", "-d", "-c", d + "/unbound.conf"])
        self._wait_validated(probe)

    def _start(self, name, args):
        self.procs.append(subprocess.Popen(args, stdout=open(self.dir + "/" + name + ".out", "w"),
                                           stderr=subprocess.STDOUT))

    def _wait_validated(self, name):
        """Until unbound answers a validated question (nsd and unbound up)."""
        q = _query(name)
        deadline = time.time() + 15
        while time.time() < deadline:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.5)
            try:
                s.sendto(q, (HOST, self.unbound_port))
                r = s.recv(4096)
                if r[3] & 0x0F == 0 and r[3] & 0x20:  # NOERROR with AD
                    return
            except OSError:
                pass
            finally:
                s.close()
            time.sleep(0.2)
        self.close()
        raise RuntimeError("unbound never validated %s:\n%s%s" % (
            name, self._tail("unbound.log", 2000), self._tail("nsd.out", 1000)))

    def _tail(self, name, n):
        try:
            return open(self.dir + "/" + name).read()[-n:]
        except OSError:
            return ""

    def close(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []
