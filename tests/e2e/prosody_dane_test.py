#!/usr/bin/python3
"""Prosody 0.12.3 (Debian) with `use_dane = true` authenticates fedgate by DANE.

Prosody's DANE (RFC 7673 with the DANE-EE rules of RFC 7672 §3.1) needs
lua-unbound: libunbound validates the SRV, A, AAAA and TLSA answers itself,
and only when all of them are secure does Prosody hand the TLSA records to
LuaSec (`setdane`, `settlsa`: OpenSSL's DANE verification) for the
connection. lua-unbound is not installed system-wide (every other Prosody
would switch to libunbound): tools/lua-unbound-cache.sh unpacks Debian's
package into a cache and this suite's Prosody alone loads it through
LUA_CPATH.

Real components on loopback: the zone dane.test signed in the test (ldns),
served by nsd, validated by unbound (tests/e2e/signed_dns.py); libunbound in
Prosody forwards to that unbound and validates again with the zone's KSK as
its trust anchor. fedgate hosts three domains, each with a self-signed
certificate (no CA Prosody trusts issued it, so only DANE can authenticate
it); its backend is a scripted sink. The zone publishes:

  gw.dane.test      _xmpp-server (STARTTLS), TLSA 3 1 1 of its certificate
                    (`fedgate tlsa`)
  direct.dane.test  _xmpps-server (direct TLS, XEP-0368), TLSA likewise
  bad.dane.test     _xmpp-server, TLSA 3 1 1 of another key
  nodane.dane.test  _xmpp-server, no TLSA (the control: PKIX alone refuses)

Prosody (remote.test, `s2s_secure_auth = true`, a certificate from the CA
fedgate trusts) sends a message from its user alice to each.

usage: prosody_dane_test.py FEDGATE_BINARY
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import prosody as pr  # noqa: E402
import signed_dns as sd  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = fp.HOST
CACHE_TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                          "lua-unbound-cache.sh")


def lua_unbound_env():
    """The environment that gives one Prosody lua-unbound, from
    tools/lua-unbound-cache.sh; fp.Skip when it cannot be had here (exit 77)."""
    r = subprocess.run(["sh", CACHE_TOOL], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode == 77:
        why = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "exit 77"
        raise fp.Skip("Prosody cannot have lua-unbound here, so it has no DANE: " + why)
    if r.returncode != 0:
        raise RuntimeError("tools/lua-unbound-cache.sh failed (%d): %s" % (r.returncode,
                                                                            r.stderr))
    env = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    env["LUA_CPATH_5_4"] = env["LUA_CPATH"]  # Lua 5.4 reads this one first when set
    return env


def self_signed(name, domain):
    """A self-signed certificate naming |domain| (DNS-ID) in |name|.crt."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key", "-out",
                    name + ".crt", "-days", "30", "-subj", "/CN=" + domain, "-addext",
                    "subjectAltName=DNS:" + domain], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def tlsa_rdata(cert):
    return subprocess.run([FEDGATE, "tlsa", cert], check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


class World:
    def __init__(self):
        self.procs = []
        self.dns = None
        self.ub_env = lua_unbound_env()
        self.dir = tempfile.mkdtemp(prefix="fedgate-prosody-dane-")
        try:
            self._start()
        except BaseException:
            self.close()
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def _start(self):
        os.chmod(self.dir, 0o755)  # prosodyctl drops to the prosody user
        os.chdir(self.dir)
        fp.dev_pki(FEDGATE, "pki", "remote.test", "gw.dane.test", "direct.dane.test")
        fp.dev_pki(FEDGATE, "ica", "unused.test")
        fp.write_secret("secret", "prosody dane test secret")
        self_signed("gw", "gw.dane.test")
        self_signed("bad", "bad.dane.test")
        self_signed("direct", "direct.dane.test")
        self_signed("nodane", "nodane.dane.test")
        self_signed("other", "other.invalid")
        self.gp = fp.listener_ports()
        self.gp["sink"] = fp.free_port()
        # The backend of every domain, answering each by its name (SNI).
        self.sink = xp.ReceivingServer(
            HOST, self.gp["sink"], "pki/gw.dane.test.crt", "pki/gw.dane.test.key",
            client_ca=self.dir + "/ica/ca.crt", sni_certs={"direct.dane.test": (
                "pki/direct.dane.test.crt", "pki/direct.dane.test.key")})
        s2s, tls = self.gp["s2s"], self.gp["tls"]
        # gw, bad and nodane: only _xmpp-server (STARTTLS); Prosody's
        # _xmpps-server question gets a signed NXDOMAIN. direct: only
        # _xmpps-server (direct TLS, XEP-0368). The TLSA owner is the SRV
        # target and port (RFC 7673 §3.3); nodane has none (a signed NXDOMAIN).
        zone = sd.SOA.format(o="dane.test") + "".join([
            "_xmpp-server._tcp.gw IN SRV 0 0 %d host-gw\n" % s2s,
            "host-gw IN A 127.0.0.1\n",
            "_%d._tcp.host-gw IN TLSA %s\n" % (s2s, tlsa_rdata("gw.crt")),
            "_xmpp-server._tcp.bad IN SRV 0 0 %d host-bad\n" % s2s,
            "host-bad IN A 127.0.0.1\n",
            "_%d._tcp.host-bad IN TLSA %s\n" % (s2s, tlsa_rdata("other.crt")),
            "_xmpps-server._tcp.direct IN SRV 0 0 %d host-direct\n" % tls,
            "host-direct IN A 127.0.0.1\n",
            "_%d._tcp.host-direct IN TLSA %s\n" % (tls, tlsa_rdata("direct.crt")),
            "_xmpp-server._tcp.nodane IN SRV 0 0 %d host-nodane\n" % s2s,
            "host-nodane IN A 127.0.0.1\n",
        ])
        self.anchor = sd.sign_zone("dane.test", zone)
        self.dns = sd.SignedDns(self.dir, ["dane.test"], [self.anchor], "host-gw.dane.test")
        ns = '["127.0.0.1:%d"]' % self.dns.unbound_port
        # gw.dane.test is not the first domain, so its certificate is not
        # fedgate's default: Prosody's SNI on STARTTLS with DANE is the SRV
        # target (host-gw.dane.test), and fedgate must pick by the stream's 'to'.
        domains = [(n + ".dane.test", "sink", n) for n in ("nodane", "bad", "direct", "gw")]
        self.gw = fp.Fedgate(FEDGATE, self.dir, "gw", fp.gateway_yaml(
            self.gp, domains,
            [("sink", [self.gp["sink"]])], dns={"nameservers": ns, "timeout": "2s"}),
            self.gp["admin"])
        self.procs.append(self.gw)
        # libunbound: no /etc/resolv.conf, no /etc/hosts; the test's unbound
        # as forwarder; its own validation from the zone's KSK; *.test is
        # not answered locally (RFC 6761 default zone).
        unbound = ('unbound = {{ resolvconf = false; hoststxt = false; '
                   'forward = "127.0.0.1@{port}"; trustfile = "{anchor}"; options = {{ '
                   '["do-not-query-localhost:"] = "no"; ["local-zone:"] = "test. transparent" '
                   '}} }}').format(port=self.dns.unbound_port, anchor=self.dir + "/" + self.anchor)
        self.prosody = pr.Prosody(
            self.dir + "/remote", "remote.test", fp.free_port(), fp.free_port(),
            self.dir + "/pki/remote.test.crt", self.dir + "/pki/remote.test.key",
            self.dir + "/pki/ca.crt", users=[("alice", "secret")], env=self.ub_env,
            global_config="use_dane = true\ns2s_secure_auth = true\n" + unbound)
        self.procs.append(self.prosody)

    def prosody_log_size(self):
        return os.path.getsize(self.prosody.dir + "/prosody.log")

    def prosody_log_since(self, offset):
        """Prosody's log lines written after |offset| (one case's connection)."""
        with open(self.prosody.dir + "/prosody.log") as f:
            f.seek(offset)
            return f.read().splitlines()

    def close(self):
        fp.stop_all(self.procs)
        if getattr(self, "sink", None):
            self.sink.close()
        if self.dns:
            self.dns.close()


def lines_with(lines, *words):
    """The lines holding every one of |words|."""
    return [line for line in lines if all(w in line for w in words)]


def session_of(lines, words):
    """The name (s2sout...) of the session whose log line holds |words|."""
    found = lines_with(lines, "s2sout", words)
    assert found, "no s2sout line with %r in Prosody's log:\n%s" % (words, "\n".join(lines))
    return found[0].split()[3]


def test_prosody_loads_lua_unbound_from_the_cache_only(w):
    about = subprocess.run(["prosodyctl", "--config", w.prosody.cfgfile, "about"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=w.prosody.env).stdout
    assert any(line.startswith("luaunbound:") for line in about.splitlines()), about
    assert any(line.startswith("libunbound:") for line in about.splitlines()), about
    # Not installed system-wide: other suites' Prosody keeps its own resolver.
    st = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", "lua-unbound"],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    assert "ok installed" not in st, st


def tlsa_answer(w, host, listener="s2s"):
    """libunbound's secure answer of one TLSA record for |host| at the port
    of fedgate's |listener|, as Prosody logs it."""
    return "Results for _%d._tcp.%s IN TLSA: 1 items (Secure" % (w.gp[listener], host)


def dump(log):
    return "\n".join(log[-40:])


def alice_sends(w, resource, domain, body):
    """alice@remote.test/|resource| sends |body| to bob@|domain|; returns her
    client and the size of Prosody's log before."""
    offset = w.prosody_log_size()
    c = pr.Client("alice@remote.test/" + resource, "secret", w.prosody.c2s_port,
                  sends=[("bob@" + domain, body)])
    w.procs.append(c)
    return c, offset


def delivered(w, resource, domain, body):
    """|body| from alice reaches fedgate's backend for bob@|domain| over a
    connection Prosody verified by DANE; returns that attempt's log lines."""
    _, offset = alice_sends(w, resource, domain, body)
    try:
        el = xp.wait_for(w.sink, xp.body_is(body))
    except AssertionError:
        print(w.prosody.log_tail(40))
        print(w.gw.log_tail(20))
        raise
    assert el.get("to") == "bob@" + domain
    assert el.get("from") == "alice@remote.test/" + resource
    log = w.prosody_log_since(offset)
    sid = session_of(log, "Outgoing s2s connection remote.test->%s complete" % domain)
    # libunbound found the SRV, address and TLSA answers secure, so Prosody
    # handed the TLSA RRset to LuaSec's setdane/settlsa for the connection...
    assert lines_with(log, "Enabling DANE with 1 TLSA records"), dump(log)
    # ...and OpenSSL's DANE-EE check accepted the self-signed certificate,
    # which no CA Prosody trusts issued.
    assert lines_with(log, sid, "certificate chain validation result: valid"), sid
    assert lines_with(log, sid, "certificate identity validation result: valid"), sid
    assert not lines_with(log, "Forbidding insecure connection")
    return log


def refused(w, resource, domain, body):
    """Prosody refuses fedgate's certificate for |domain|: alice's message
    bounces and never reaches the backend. Returns that attempt's log lines
    and the name of the refused session."""
    c, offset = alice_sends(w, resource, domain, body)
    # Prosody bounces what it queued for a stream it opened and then closed
    # with remote-server-timeout.
    line = c.wait_for("message-error bob@" + domain)
    assert line == "message-error bob@%s remote-server-timeout" % domain, line
    log = w.prosody_log_since(offset)
    sid = session_of(log, "Outgoing s2s stream remote.test->%s closed" % domain)
    assert lines_with(log, sid, "Forbidding insecure connection to/from " + domain,
                      "is not trusted"), sid
    assert not any(xp.body_is(body)(e) for _, e in w.sink.stanzas)
    return log, sid


def test_rfc7673_prosody_authenticates_fedgate_by_dane_ee(w):
    sasl = w.gw.metric('peers_authenticated_total{direction="inbound",method="pkix"}')
    log = delivered(w, "dane", "gw.dane.test", "authenticated by DANE")
    assert lines_with(log, tlsa_answer(w, "host-gw.dane.test")), dump(log)
    assert not lines_with(w.prosody_log_since(0), "Using legacy DNS API")
    # fedgate authenticated Prosody by its certificate (SASL EXTERNAL).
    assert lines_with(log, "SASL EXTERNAL with gw.dane.test succeeded")
    assert w.gw.metric('peers_authenticated_total{direction="inbound",method="pkix"}') > sasl


def test_rfc7673_xep0368_prosody_authenticates_fedgate_by_dane_on_direct_tls(w):
    # _xmpps-server: Prosody sends SNI direct.dane.test (fedgate picks the
    # certificate by it) and checks the certificate against the TLSA record
    # of the direct TLS port at the SRV target.
    log = delivered(w, "direct", "direct.dane.test", "direct TLS and DANE")
    assert lines_with(log, tlsa_answer(w, "host-direct.dane.test", "tls")), dump(log)


def test_rfc7672_2_2_prosody_refuses_fedgate_on_tlsa_mismatch(w):
    log, sid = refused(w, "bad", "bad.dane.test", "must not arrive")
    assert lines_with(log, tlsa_answer(w, "host-bad.dane.test")), dump(log)
    assert lines_with(log, "Enabling DANE with 1 TLSA records"), dump(log)
    assert lines_with(log, sid, "certificate chain validation result: invalid"), sid
    assert lines_with(log, sid, "certificate error(s) at depth 0: no matching DANE TLSA records")
    assert lines_with(w.gw.log_tail(200).splitlines(), "peer=remote.test",
                      "peer closed the stream with error not-authorized")


def test_rfc7673_3_3_without_tlsa_prosody_refuses_the_self_signed_certificate(w):
    # The control: the same kind of certificate with a secure denial of the
    # TLSA records leaves Prosody with PKIX alone, which refuses it.
    log, sid = refused(w, "nodane", "nodane.dane.test", "no DANE, no trust")
    assert lines_with(log, "_%d._tcp.host-nodane.dane.test IN TLSA: NXDomain (Secure" %
                      w.gp["s2s"]), dump(log)
    assert not lines_with(log, "Enabling DANE"), dump(log)
    assert lines_with(log, sid, "certificate error(s) at depth 0: self-signed certificate"), sid


def test_zz_nothing_lost_silently(w):
    w.gw.assert_accounted()


if __name__ == "__main__":
    sys.exit(fp.main_of(World, globals()))
