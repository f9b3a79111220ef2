#!/usr/bin/python3
"""End-to-end tests of DNSSEC and outbound DANE (RFC 7673, RFC 7671, RFC 7672).

Real components on loopback: zones signed in the test (ldns-keygen and
ldns-signzone), served by nsd; unbound as the validating resolver with the
zones' KSKs as trust anchors (stub zones, no root needed); one fedgate whose
dns.nameservers is unbound, trusted as a validating resolver. Remote servers
are scripted TLS s2s peers (xmpp_peer.ReceivingServer) serving the
certificate each case needs. The gateway hosts gw.example; its backend is a
sink that also receives the bounces.

Zones: dane.example (signed; one domain per case), expired.example (signed
with RRSIGs that expired in 2020) and plain.example (unsigned: insecure).

usage: dane_test.py FEDGATE_BINARY
"""

import os
import re
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import signed_dns as sd  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "bazel-bin/gateway/fedgate")
HOST = fp.HOST


def run(*args, **kw):
    return subprocess.run(list(args), check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw).stdout


def self_signed(name, cn):
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-days", "30",
        "-subj", "/CN=" + cn, "-addext", "subjectAltName=DNS:" + cn)


def private_ca_leaf(ca, name, dns_names):
    """A private CA |ca| (not in fedgate's trust store) and a leaf |name|
    it issued; |name|.chain holds leaf then CA, as a server sends them."""
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", ca + ".key", "-out", ca + ".crt", "-days", "30",
        "-subj", "/CN=private DANE-TA CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign")
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + dns_names[0])
    with open(name + ".ext", "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n" %
                ",".join("DNS:" + d for d in dns_names))
    run("openssl", "x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey",
        ca + ".key", "-CAcreateserial", "-days", "30", "-extfile", name + ".ext",
        "-out", name + ".crt")
    with open(name + ".chain", "w") as f:
        f.write(open(name + ".crt").read() + open(ca + ".crt").read())


def tlsa_rdata(cert, *opts):
    """fedgate tlsa's RDATA for |cert|."""
    return run(FEDGATE, "tlsa", cert, *opts).strip()


def openssl_spki_sha256(cert):
    """SHA-256 of the SubjectPublicKeyInfo, by the openssl command line alone."""
    pub = run("openssl", "x509", "-in", cert, "-noout", "-pubkey")
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub.encode(),
                         check=True, stdout=subprocess.PIPE).stdout
    return subprocess.run(["openssl", "dgst", "-sha256", "-r"], input=der, check=True,
                          stdout=subprocess.PIPE).stdout.decode().split()[0]


class World:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-dane-")
        os.chdir(self.dir)
        self.procs = []
        self.servers = []
        fp.dev_pki(FEDGATE, "pki", "gw.example", "mismatch.dane.example", "plain.example",
                   "unusable.dane.example")
        fp.dev_pki(FEDGATE, "ica", "unused.example")
        fp.write_secret("secret", "dane test secret")
        self_signed("ee", "self-signed.invalid")
        self_signed("other", "other.invalid")
        private_ca_leaf("privca", "ta", ["ta.dane.example"])
        self.gp = fp.listener_ports()
        self.gp["sink"] = fp.free_port()
        self.port = {k: fp.free_port() for k in ("ee", "mm", "ta", "plain", "un", "bogus")}
        self.sink = xp.ReceivingServer(HOST, self.gp["sink"], "pki/gw.example.crt",
                                       "pki/gw.example.key", client_ca=self.dir + "/ica/ca.crt")
        self.servers.append(self.sink)
        # The remote servers: each serves the certificate its case needs and
        # accepts gw.example by SASL EXTERNAL (dev-pki CA).
        cafile = "pki/ca.crt"
        self.remote = {
            "ee": xp.ReceivingServer(HOST, self.port["ee"], "ee.crt", "ee.key", client_ca=cafile),
            "mm": xp.ReceivingServer(HOST, self.port["mm"], "pki/mismatch.dane.example.crt",
                                     "pki/mismatch.dane.example.key", client_ca=cafile),
            "ta": xp.ReceivingServer(HOST, self.port["ta"], "ta.chain", "ta.key",
                                     client_ca=cafile),
            "plain": xp.ReceivingServer(HOST, self.port["plain"], "pki/plain.example.crt",
                                        "pki/plain.example.key", client_ca=cafile),
            "un": xp.ReceivingServer(HOST, self.port["un"], "pki/unusable.dane.example.crt",
                                     "pki/unusable.dane.example.key", client_ca=cafile),
        }
        self.servers += list(self.remote.values())
        self.tlsa_ee = tlsa_rdata("ee.crt")
        p = self.port
        dane = sd.SOA.format(o="dane.example") + "".join([
            "_xmpp-server._tcp.ee IN SRV 0 0 %d host-ee\n" % p["ee"],
            "host-ee IN A 127.0.0.1\n",
            "_%d._tcp.host-ee IN TLSA %s\n" % (p["ee"], self.tlsa_ee),
            "_xmpp-server._tcp.mismatch IN SRV 0 0 %d host-mm\n" % p["mm"],
            "host-mm IN A 127.0.0.1\n",
            "_%d._tcp.host-mm IN TLSA %s\n" % (p["mm"], tlsa_rdata("other.crt")),
            "_xmpp-server._tcp.ta IN SRV 0 0 %d host-ta\n" % p["ta"],
            "host-ta IN A 127.0.0.1\n",
            "_%d._tcp.host-ta IN TLSA %s\n" % (p["ta"], tlsa_rdata(
                "privca.crt", "--usage", "2", "--selector", "0", "--match", "1")),
            "_xmpp-server._tcp.bogus IN SRV 0 0 %d host-bogus\n" % p["bogus"],
            "_xmpp-server._tcp.bogus IN SRV 10 0 %d host-ee\n" % p["ee"],
            "host-bogus IN A 127.0.0.1\n",
            "_xmpp-server._tcp.allbogus IN SRV 0 0 %d host-bogus\n" % p["bogus"],
            "_xmpp-server._tcp.unusable IN SRV 0 0 %d host-un\n" % p["un"],
            "host-un IN A 127.0.0.1\n",
            "_%d._tcp.host-un IN TLSA 4 1 1 %s\n" % (p["un"], "ab" * 32),
            "_%d._tcp.host-un IN TLSA 3 1 1 %s\n" % (p["un"], "ab" * 31),
            "_%d._tcp.host-un IN TLSA 3 1 2 %s\n" % (p["un"], "ab" * 32),
        ])
        anchors = [sd.sign_zone("dane.example", dane)]
        # Zone data changed after signing: its RRSIG no longer verifies.
        signed = open("dane.example.zone.signed").read()
        signed, n = re.subn(r"^(host-bogus\.dane\.example\.\s+\d+\s+IN\s+A\s+)127\.0\.0\.1$",
                            r"\g<1>127.0.0.3", signed, flags=re.M)
        assert n == 1, "host-bogus A not found in the signed zone"
        with open("dane.example.zone.signed", "w") as f:
            f.write(signed)
        expired = sd.SOA.format(o="expired.example") + (
            "_xmpp-server._tcp IN SRV 0 0 %d host\nhost IN A 127.0.0.1\n" % p["ee"])
        anchors.append(sd.sign_zone("expired.example", expired, expired=True))
        with open("plain.example.zone.signed", "w") as f:  # unsigned, same file naming
            f.write(sd.SOA.format(o="plain.example") +
                    "_xmpp-server._tcp IN SRV 0 0 %d host\nhost IN A 127.0.0.1\n" % p["plain"] +
                    "_%d._tcp.host IN TLSA %s\n" % (p["plain"], tlsa_rdata("other.crt")))
        self.dns = sd.SignedDns(self.dir, ("dane.example", "expired.example", "plain.example"),
                                anchors, "host-ee.dane.example")
        self.unbound_port = self.dns.unbound_port
        ns = '["127.0.0.1:%d"]' % self.unbound_port
        dns = {"nameservers": ns, "timeout": "2s", "allowed_networks": '["127.0.0.0/8"]',
               "dnssec": "{trusted_resolvers: %s}" % ns}
        self.gw = fp.Fedgate(FEDGATE, self.dir, "gw", fp.gateway_yaml(
            self.gp, [("gw.example", "sink", "pki/gw.example")], [("sink", [self.gp["sink"]])],
            limits={"handshake_timeout": "5s"}, dns=dns, tls={"dane_inbound": "true"}),
            self.gp["admin"])
        self.procs.append(self.gw)

    def internal_sender(self, to):
        """The internal server of gw.example, authenticated on the internal
        listener for a stream to |to|."""
        p = xp.Peer.connect(HOST, self.gp["internal"])
        p.open_authenticated(to, "gw.example", certfile="pki/gw.example.crt",
                             keyfile="pki/gw.example.key")
        return p

    def close(self):
        for s in self.servers:
            s.close()
        for p in reversed(self.procs):
            if isinstance(p, fp.Fedgate):
                p.stop()
            else:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.dns.close()


wait_for, body_is, bounce_of = xp.wait_for, xp.body_is, xp.bounce_of


def method_count(w, method):
    return w.gw.metric('peers_authenticated_total{direction="outbound",method="%s"}' % method)


def send(w, to, msg_id, body):
    p = w.internal_sender(to.split("@")[-1])
    p.send("<message from='alice@gw.example/x' to='%s' id='%s' type='chat'>"
           "<body>%s</body></message>" % (to, msg_id, body))
    return p


def log_has(w, *words):
    log = open(w.gw.logfile).read()
    return any(all(word in line for word in words) for line in log.splitlines())


def test_fedgate_tlsa_agrees_with_openssl(w):
    # RFC 6698 §2.1: 3 1 1 = DANE-EE, SPKI, SHA-256, as openssl computes it.
    assert w.tlsa_ee == "3 1 1 " + openssl_spki_sha256("ee.crt"), w.tlsa_ee
    full = tlsa_rdata("ee.crt", "--selector", "0", "--match", "0")
    der = subprocess.run(["openssl", "x509", "-in", "ee.crt", "-outform", "DER"], check=True,
                         stdout=subprocess.PIPE).stdout
    assert full == "3 0 0 " + der.hex(), full[:40]


def test_rfc7673_dane_ee_authenticates_a_self_signed_peer(w):
    before = method_count(w, "dane-ee")
    p = send(w, "bob@ee.dane.example", "ee1", "over DANE-EE")
    el = wait_for(w.remote["ee"], body_is("over DANE-EE"))
    assert el.get("to") == "bob@ee.dane.example"
    assert method_count(w, "dane-ee") == before + 1
    assert log_has(w, "ee.dane.example", "peer proved by dane-ee")
    streams = urllib.request.urlopen("http://%s:%d/streams" % (HOST, w.gp["admin"]),
                                     timeout=5).read().decode()
    assert "remote=ee.dane.example" in streams and "peer_auth=dane-ee" in streams, streams
    p.close()


def test_rfc7672_2_2_tlsa_mismatch_bounces_without_downgrade(w):
    # The peer's certificate is PKIX-valid for the domain, but the secure
    # TLSA RRset names another key: no link, no fallback to PKIX or dialback.
    before = w.gw.metric("dane_mismatch_total")
    p = send(w, "bob@mismatch.dane.example", "mm1", "must not arrive")
    el = wait_for(w.sink, bounce_of("mm1", "remote-server-not-found"))
    assert el.get("to") == "alice@gw.example/x"
    assert w.gw.metric("dane_mismatch_total") > before
    assert log_has(w, "mismatch.dane.example", "does not match its TLSA records")
    assert not any(body_is("must not arrive")(e) for _, e in w.remote["mm"].stanzas)
    p.close()


def test_rfc7671_5_2_2_dane_ta_private_ca(w):
    before = method_count(w, "dane-ta")
    p = send(w, "bob@ta.dane.example", "ta1", "over DANE-TA")
    wait_for(w.remote["ta"], body_is("over DANE-TA"))
    assert method_count(w, "dane-ta") == before + 1
    p.close()


def test_rfc7673_insecure_zone_keeps_pkix_rules(w):
    # plain.example is unsigned: its (wrong) TLSA record is not even asked
    # for, and the PKIX-valid certificate authenticates the peer.
    before = method_count(w, "pkix")
    p = send(w, "bob@plain.example", "pl1", "over PKIX")
    wait_for(w.remote["plain"], body_is("over PKIX"))
    assert method_count(w, "pkix") == before + 1
    p.close()


def test_rfc4035_5_5_bogus_target_is_not_used(w):
    # bogus.dane.example: the first target's A record was changed after
    # signing; the validating resolver refuses it, so the second is used.
    before = w.gw.metric("dane_targets_refused_total")
    p = send(w, "bob@bogus.dane.example", "bg1", "around the bogus target")
    el = wait_for(w.remote["ee"], body_is("around the bogus target"))
    assert el.get("to") == "bob@bogus.dane.example"
    assert w.gw.metric("dane_targets_refused_total") > before
    assert log_has(w, "DNSSEC", "host-bogus.dane.example", "bogus")
    p.close()
    # Every target bogus: nothing to connect to.
    p = send(w, "bob@allbogus.dane.example", "bg2", "nowhere")
    wait_for(w.sink, bounce_of("bg2", "remote-server-not-found"))
    p.close()


def test_rfc4035_5_3_1_expired_rrsig_is_bogus(w):
    p = send(w, "bob@expired.example", "ex1", "expired signatures")
    wait_for(w.sink, bounce_of("ex1", "remote-server-not-found"))
    assert log_has(w, "expired.example", "DNSSEC bogus")
    assert not any(body_is("expired signatures")(e) for _, e in w.remote["ee"].stanzas)
    p.close()


def test_rfc7671_4_1_unusable_tlsa_records_are_ignored(w):
    # Unknown usage, a SHA-256 digest of 31 bytes, a SHA-512 digest of 32:
    # no usable record, so the PKIX rules apply, and each is logged.
    before = w.gw.metric("dane_tlsa_unusable_total")
    pkix = method_count(w, "pkix")
    p = send(w, "bob@unusable.dane.example", "un1", "PKIX despite unusable TLSA")
    wait_for(w.remote["un"], body_is("PKIX despite unusable TLSA"))
    assert w.gw.metric("dane_tlsa_unusable_total") == before + 3
    assert method_count(w, "pkix") == pkix + 1
    assert log_has(w, "TLSA record 4 1 1", "unknown-usage")
    assert log_has(w, "TLSA record 3 1 1", "bad-digest-length")
    p.close()


def offers_external_then_auth(p):
    """The features after TLS: whether SASL EXTERNAL is offered, and the SASL
    answer when it is."""
    p.read_header()
    feats = p.read_features()
    mechs = feats.find(xp.q(xp.NS_SASL, "mechanisms"))
    offered = mechs is not None and any((m.text or "").strip() == "EXTERNAL" for m in mechs)
    return offered, p.sasl_external()[0] if offered else None


def inbound_offers_external(w, frm, cert):
    """A remote server |frm| presenting |cert| on STARTTLS: whether fedgate
    offers it SASL EXTERNAL, and the SASL answer when it does."""
    p = xp.Peer.connect(HOST, w.gp["s2s"])
    try:
        p.open_stream("gw.example", frm)
        p.read_header()
        p.read_features()
        p.starttls("gw.example", certfile=cert + ".crt", keyfile=cert + ".key")
        p.open_stream("gw.example", frm)
        return offers_external_then_auth(p)
    finally:
        p.close()


def test_rfc7673_inbound_dane_ee_authenticates_sasl_external(w):
    # tls.dane_inbound: ee.dane.example's self-signed certificate (PKIX
    # refuses it) matches the TLSA record of its own SRV target.
    before = w.gw.metric("dane_inbound_authenticated_total")
    assert inbound_offers_external(w, "ee.dane.example", "ee") == (True, "success")
    assert w.gw.metric("dane_inbound_authenticated_total") == before + 1
    assert log_has(w, "ee.dane.example", "inbound DANE: certificate authenticated", "dane-ee")


def inbound_direct_offers_external(w, frm, cert):
    """The same over direct TLS (XEP-0368): the peer names its domain only in
    the first header after the handshake."""
    p = xp.Peer.connect(HOST, w.gp["tls"])
    try:
        p.wrap_tls("gw.example", certfile=cert + ".crt", keyfile=cert + ".key",
                   alpn=["xmpp-server"])
        p.open_stream("gw.example", frm)
        return offers_external_then_auth(p)
    finally:
        p.close()


def test_rfc7673_xep0368_inbound_dane_over_direct_tls_authenticates_sasl_external(w):
    before = w.gw.metric("dane_inbound_authenticated_total")
    assert inbound_direct_offers_external(w, "ee.dane.example", "ee") == (True, "success")
    assert w.gw.metric("dane_inbound_authenticated_total") == before + 1
    failed = w.gw.metric("dane_inbound_failed_total")
    assert inbound_direct_offers_external(w, "ee.dane.example", "other") == (False, None)
    assert w.gw.metric("dane_inbound_failed_total") == failed + 1


def test_rfc7673_inbound_dane_mismatch_offers_no_external(w):
    before = w.gw.metric("dane_inbound_failed_total")
    assert inbound_offers_external(w, "ee.dane.example", "other") == (False, None)
    assert w.gw.metric("dane_inbound_failed_total") == before + 1
    assert log_has(w, "ee.dane.example", "inbound DANE: not authenticated")


def test_zz_nothing_lost_silently(w):
    w.gw.assert_accounted()


if __name__ == "__main__":
    sys.exit(fp.main_of(World, globals()))
