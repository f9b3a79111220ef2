#!/usr/bin/python3
"""End-to-end tests of revocation checking of remote servers' certificates.

A test CA made with `openssl`, whose leaves name a real OCSP responder
(`openssl ocsp` on loopback, reading the CA's index file: signing as the
CA, as a delegated responder the CA certified for OCSPSigning, or as a
responder certified by another CA) or a CRL served over HTTP; responses
made beforehand by `openssl ocsp -reqin ... -respout` (under `faketime` for
stale and not-yet-valid ones) served as files; a root and an intermediate
CA the root revoked; a real `fedgate run` checking them (revocation mode
hard-fail, with per-domain soft-fail and off; a second gateway with
leaf_only); scripted remote peers (xmpp_peer.Peer); a ReceivingServer as a
remote server presenting a revoked certificate for the outbound case.
Every test asserts the authentication outcome and exactly which
revocation counters moved.

usage: revocation_test.py FEDGATE_BINARY
"""

import contextlib
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = "127.0.0.1"


def wait_listening(port, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = subprocess.run(["ss", "-Hltn", "sport = :%d" % port], capture_output=True,
                             text=True).stdout
        if out.strip():
            return True
        time.sleep(0.05)
    return False


def run(*args, **kw):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


class Pki:
    """A CA and the certificates it issues; index.txt says which are revoked
    (what `openssl ocsp` answers and `openssl ca -gencrl` lists).

    The CA is self-signed, or issued by |parent| (an intermediate, whose own
    revocation |parent| answers)."""

    def __init__(self, d, cn, ocsp_url=None, crl_url=None, parent=None, parent_ext=(),
                 revoked=False):
        os.makedirs(d)
        self.d = d
        self.ocsp_url = ocsp_url
        self.crl_url = crl_url
        self.entries = []  # [index line, listed for the OCSP responder]
        self.serial = 0x1000
        ca_ext = ["basicConstraints=critical,CA:true", "keyUsage=critical,keyCertSign,cRLSign"]
        if parent is None:
            run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
                "-out", d + "/ca.key")
            args = []
            for e in ca_ext:
                args += ["-addext", e]
            run("openssl", "req", "-x509", "-new", "-key", d + "/ca.key", "-subj", "/CN=" + cn,
                "-days", "30", "-out", d + "/ca.crt", *args)
        else:
            base = parent.issue(cn, ca_ext + list(parent_ext), revoked=revoked)
            shutil.copy(base + ".key", d + "/ca.key")
            shutil.copy(base + ".crt", d + "/ca.crt")
        self.crt = d + "/ca.crt"
        self.key = d + "/ca.key"
        with open(d + "/ca.cnf", "w") as f:
            f.write("[ca]\ndefault_ca=ca\n[ca]\ndatabase=%s/index.txt\ncrlnumber=%s/crlnumber\n"
                    "default_md=sha256\ndefault_crl_days=1\n" % (d, d))
        with open(d + "/crlnumber", "w") as f:
            f.write("01\n")
        self.write_index(everything=False)

    def write_index(self, everything):
        with open(self.d + "/index.txt", "w") as f:
            f.writelines(line + "\n" for line, listed in self.entries if listed or everything)

    def issue(self, name, ext, revoked=False, listed=True, crl_only=False, days=20):
        """A certificate for /CN=|name| with extensions |ext|, valid for |days|.
        |listed|: in the index at all (else `openssl ocsp` answers unknown);
        |crl_only|: in the CRL's index only."""
        d = self.d
        self.serial += 1
        serial = "%X" % self.serial
        run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
            "-out", "%s/%s.key" % (d, name))
        run("openssl", "req", "-new", "-key", "%s/%s.key" % (d, name), "-subj", "/CN=" + name,
            "-out", "%s/%s.csr" % (d, name))
        with open("%s/%s.ext" % (d, name), "w") as f:
            f.write("\n".join(ext) + "\n")
        run("openssl", "x509", "-req", "-in", "%s/%s.csr" % (d, name), "-CA", self.crt,
            "-CAkey", self.key, "-set_serial", "0x" + serial, "-days", str(days),
            "-extfile", "%s/%s.ext" % (d, name), "-out", "%s/%s.crt" % (d, name))
        expiry = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() + days * 86400))
        if revoked:
            when = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() - 3600))
            line = "R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=%s" % (expiry, when, serial, name)
        else:
            line = "V\t%s\t\t%s\tunknown\t/CN=%s" % (expiry, serial, name)
        if listed or crl_only:
            self.entries.append([line, listed and not crl_only])
        self.write_index(everything=False)
        return "%s/%s" % (d, name)

    def leaf(self, name, aia=True, cdp=False, revoked=False, ocsp_url=None, listed=True,
             crl_only=False, days=20):
        ext = ["subjectAltName=DNS:%s" % name, "extendedKeyUsage=serverAuth,clientAuth",
               "keyUsage=critical,digitalSignature", "basicConstraints=critical,CA:false"]
        if aia:
            ext.append("authorityInfoAccess=OCSP;URI:%s" % (ocsp_url or self.ocsp_url))
        if cdp:
            ext.append("crlDistributionPoints=URI:%s" % self.crl_url)
        return self.issue(name, ext, revoked=revoked, listed=listed, crl_only=crl_only,
                          days=days)

    def responder(self, name, ocsp_signing=True):
        """A certificate for a delegated OCSP responder (RFC 6960 §4.2.2.2)."""
        ext = ["keyUsage=critical,digitalSignature", "basicConstraints=critical,CA:false"]
        if ocsp_signing:
            ext.append("extendedKeyUsage=OCSPSigning")
        return self.issue(name, ext)

    def crl(self, name="ca"):
        """Writes |name|.crl (DER) from the whole index, CRL-only entries too."""
        self.write_index(everything=True)
        run("openssl", "ca", "-gencrl", "-config", self.d + "/ca.cnf", "-keyfile", self.key,
            "-cert", self.crt, "-out", "%s/%s.crl.pem" % (self.d, name))
        run("openssl", "crl", "-in", "%s/%s.crl.pem" % (self.d, name), "-outform", "DER",
            "-out", "%s/%s.crl" % (self.d, name))
        self.write_index(everything=False)
        return "%s/%s.crl" % (self.d, name)

    def ocsp_response(self, cert, out, signer, fake_time=None):
        """Answers `openssl ocsp -no_nonce` would get for |cert| from this CA's
        index, signed by |signer| (path prefix of .crt and .key), valid for
        one minute from now, or from |fake_time| (a `faketime` time spec)."""
        run("openssl", "ocsp", "-issuer", self.crt, "-cert", cert + ".crt", "-no_nonce",
            "-reqout", out + ".req")
        cmd = ["openssl", "ocsp", "-index", self.d + "/index.txt", "-CA", self.crt,
               "-rsigner", signer + ".crt", "-rkey", signer + ".key", "-reqin", out + ".req",
               "-respout", out, "-nmin", "1"]
        run(*(["faketime", fake_time] + cmd if fake_time else cmd))
        return out


class FileServer:
    """Serves files over HTTP (GET and POST) by path prefix, counting the
    requests of each prefix: CRLs, and OCSP responses made beforehand (the
    same answer whatever the request)."""

    def __init__(self, port, routes):
        served = self
        self.routes = dict(routes)
        self.requests = {prefix: 0 for prefix in self.routes}

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self):
                prefix = max((r for r in served.routes if self.path.startswith(r)), key=len,
                             default=None)
                if prefix is None:
                    self.send_error(404)
                    return
                served.requests[prefix] += 1
                path = served.routes[prefix]
                with open(path, "rb") as f:
                    body = f.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/pkix-crl" if path.endswith(".crl")
                                 else "application/ocsp-response")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                self.answer()

            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.answer()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer((HOST, port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def start_responder(pki, port, signer):
    """`openssl ocsp` answering from |pki|'s index on |port|, signing as
    |signer| (path prefix of .crt and .key)."""
    proc = subprocess.Popen(
        ["openssl", "ocsp", "-index", pki.d + "/index.txt", "-port", str(port),
         "-rsigner", signer + ".crt", "-rkey", signer + ".key", "-CA", pki.crt,
         "-nmin", "5", "-ignore_err"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc


FILES_URL = [""]  # the test's file server, set when the environment starts


def revocation_yaml(mode, leaf_only):
    return ("revocation:\n  mode: %s\n  leaf_only: %s\n  timeout: 2s\n"
            "  allowed_networks: [\"127.0.0.0/8\"]\n"
            "  domains:\n"
            "    - {domain: soft.test, mode: soft-fail}\n"
            "    - {domain: downsoft.test, mode: soft-fail}\n"
            "    - {domain: stalesoft.test, mode: soft-fail}\n"
            "    - {domain: direct.test, mode: soft-fail}\n"
            "    - {domain: off.test, mode: off}\n"
            "  responders:\n"
            "    - {issuer: cfgca/ca.crt, crl: \"%s/cfg.crl\"}\n"
            % (mode, "true" if leaf_only else "false", FILES_URL[0]))


class Env:
    def __init__(self):
        # `openssl ocsp` stamps answers with the current time: stale and
        # not-yet-valid ones are made under faketime.
        assert shutil.which("faketime"), "faketime missing (tools/debian-packages.txt: make deps)"
        self.dir = tempfile.mkdtemp(prefix="fedgate-revocation-")
        d = self.dir
        p = self.p = {k: fp.free_port() for k in ("s2s", "tls", "internal", "admin", "sink", "dead",
                                                 "ocsp", "files", "closed", "remote", "delegated",
                                                 "otherca")}
        files = "http://%s:%d" % (HOST, p["files"])
        FILES_URL[0] = files
        self.pki = Pki(d + "/ca", "Revocation Test CA", "http://%s:%d/" % (HOST, p["ocsp"]),
                       files + "/ca.crl")
        pki = self.pki
        self.good = pki.leaf("good.test")
        self.revoked = pki.leaf("revoked.test", revoked=True)
        self.crl_revoked = pki.leaf("crlrevoked.test", aia=False, cdp=True, revoked=True)
        self.crl_good = pki.leaf("crlgood.test", aia=False, cdp=True)
        self.noinfo = pki.leaf("noinfo.test", aia=False)
        self.soft = pki.leaf("soft.test", aia=False)
        # Responders that are down (nothing listens on the port).
        down = "http://%s:%d/" % (HOST, p["closed"])
        self.down_hard = pki.leaf("downhard.test", ocsp_url=down)
        self.down_soft = pki.leaf("downsoft.test", ocsp_url=down)
        self.outbound = pki.leaf("outbound.test", revoked=True)
        # Answers the responders do not give: stale, not yet valid, signed by
        # a certificate of the CA that is not an OCSP signer.
        self.stale = pki.leaf("stale.test", ocsp_url=files + "/stale/")
        self.stale_soft = pki.leaf("stalesoft.test", ocsp_url=files + "/stalesoft/")
        self.future = pki.leaf("future.test", ocsp_url=files + "/future/")
        self.noeku = pki.leaf("noeku.test", ocsp_url=files + "/noeku/")
        not_signer = pki.responder("not-an-ocsp-signer", ocsp_signing=False)
        # A delegated responder, and a responder certified by another CA.
        self.delegate = pki.responder("delegated-responder")
        self.delegated_good = pki.leaf("delegated.test",
                                       ocsp_url="http://%s:%d/" % (HOST, p["delegated"]))
        self.delegated_revoked = pki.leaf("delegatedrevoked.test", revoked=True,
                                          ocsp_url="http://%s:%d/" % (HOST, p["delegated"]))
        self.other = Pki(d + "/other", "Another CA")
        self.other_responder = self.other.responder("other-responder")
        self.otherca = pki.leaf("otherca.test", ocsp_url="http://%s:%d/" % (HOST, p["otherca"]))
        # Not in the responder's index: `unknown`; once alone, once with a
        # CRL that revokes it.
        self.unknown = pki.leaf("unknown.test", listed=False)
        self.unknown_crl = pki.leaf("unknowncrl.test", cdp=True, revoked=True, crl_only=True)
        # Per-domain mode off: revoked, with a responder and a CRL that would
        # say so if they were asked.
        self.off = pki.leaf("off.test", revoked=True, ocsp_url=files + "/off/")
        # Revoked, valid for off.test (not checked) and soft.test (checked).
        self.off_soft = pki.issue("offsoft", [
            "subjectAltName=DNS:off.test,DNS:soft.test", "extendedKeyUsage=serverAuth,clientAuth",
            "keyUsage=critical,digitalSignature", "basicConstraints=critical,CA:false",
            "authorityInfoAccess=OCSP;URI:%s" % pki.ocsp_url], revoked=True)
        # Revoked, for a soft-fail domain of a gateway whose mode is off.
        self.direct = pki.leaf("direct.test", revoked=True)
        self.direct_good = pki.leaf("directgood.test")
        # A root, an intermediate it revoked (its CRL says so), a good leaf of
        # the intermediate; the peer presents leaf + intermediate.
        self.root = Pki(d + "/root", "Revocation Test Root")
        self.inter = Pki(d + "/inter", "Revoked Intermediate", crl_url=files + "/inter.crl",
                         parent=self.root,
                         parent_ext=["crlDistributionPoints=URI:%s/root.crl" % files],
                         revoked=True)
        self.inter_leaf = self.inter.leaf("intermediate.test", aia=False, cdp=True)
        with open(self.inter_leaf + ".chain.crt", "w") as f:
            f.write(open(self.inter_leaf + ".crt").read() + open(self.inter.crt).read())
        # A CA whose certificates name neither responder nor CRL: its CRL URL
        # is configured (revocation.responders[].crl).
        self.cfgca = Pki(d + "/cfgca", "Configured CRL CA")
        self.cfg_revoked = self.cfgca.leaf("cfgrevoked.test", aia=False, revoked=True)
        self.cfg_good = self.cfgca.leaf("cfggood.test", aia=False)
        routes = {"/ca.crl": pki.crl(), "/root.crl": self.root.crl(),
                  "/cfg.crl": self.cfgca.crl(),
                  "/inter.crl": self.inter.crl(),
                  "/off/": pki.ocsp_response(self.off, d + "/off.ocsp", pki.d + "/ca")}
        for name, cert, signer, fake in (
                ("stale", self.stale, pki.d + "/ca", "2 days ago"),
                ("stalesoft", self.stale_soft, pki.d + "/ca", "2 days ago"),
                ("future", self.future, pki.d + "/ca", "+2 days"),
                ("noeku", self.noeku, not_signer, None)):
            routes["/%s/" % name] = pki.ocsp_response(cert, "%s/%s.ocsp" % (d, name), signer, fake)
        self.files = FileServer(p["files"], routes)
        self.responders = [start_responder(pki, p["ocsp"], pki.d + "/ca"),
                           start_responder(pki, p["delegated"], self.delegate),
                           start_responder(pki, p["otherca"], self.other_responder)]
        # Wait for the listening sockets without connecting to them: OpenSSL's
        # one-at-a-time responder stays stuck on a connection closed without
        # a request.
        for port in ("ocsp", "delegated", "otherca"):
            assert wait_listening(p[port], 10), "openssl ocsp did not start"
        fp.dev_pki(FEDGATE, d + "/pki", "b.test", "c.test")
        fp.dev_pki(FEDGATE, d + "/ica", "unused.test")
        fp.write_secret(d + "/secret", "revocation-test-secret")
        self.sink = xp.ReceivingServer(HOST, p["sink"], d + "/pki/b.test.crt", d + "/pki/b.test.key",
                                       client_ca=d + "/ica/ca.crt")
        # A remote server for outbound.test presenting a revoked certificate.
        self.remote = xp.ReceivingServer(HOST, p["remote"], self.outbound + ".crt",
                                         self.outbound + ".key", client_ca=d + "/pki/ca.crt")
        with open(d + "/trust.crt", "w") as f:
            for ca in (pki.crt, d + "/pki/ca.crt", self.root.crt, self.cfgca.crt):
                f.write(open(ca).read())
        os.chdir(d)
        self.ports = {k: p[k] for k in ("s2s", "tls", "internal", "admin")}
        self.gw = self.gateway("fedgate", self.ports, "hard-fail", leaf_only=False)

    def gateway(self, name, ports, mode, leaf_only):
        p = self.p
        cfg = fp.gateway_yaml(
            ports, [("b.test", "sink", "pki/b.test"), ("c.test", "dead", "pki/c.test")],
            [("sink", [p["sink"]]), ("dead", [p["dead"]])], trust="trust.crt",
            default_cert="pki/b.test", static=[("outbound.test", p["remote"])])
        return fp.Fedgate(FEDGATE, self.dir, name, cfg + revocation_yaml(mode, leaf_only),
                          ports["admin"])

    @contextlib.contextmanager
    def second_gateway(self, name, mode, leaf_only):
        """Another gateway with the same domains and trust but another
        revocation section, as env.gw (and its ports as env.ports) while the
        block runs."""
        saved = self.gw, self.ports
        self.ports = fp.listener_ports()
        self.gw = self.gateway(name, self.ports, mode, leaf_only)
        try:
            yield
        finally:
            self.gw.stop()
            self.gw, self.ports = saved

    def close(self):
        self.gw.stop()
        for r in self.responders:
            r.terminate()
            r.wait()
        self.files.close()
        self.sink.close()
        self.remote.close()


def counters(env, *names):
    return {n: env.gw.metric(n) for n in names}


def delta(env, before):
    return {n: env.gw.metric(n) - v for n, v in before.items()}


def offers_external(feats):
    mechs = feats.find(xp.q(xp.NS_SASL, "mechanisms"))
    return mechs is not None and any(m.text == "EXTERNAL" for m in mechs)


def features_after_tls(env, domain, leaf, to="b.test", certfile=None):
    """A stream from |domain| presenting |leaf| (or the chain in |certfile|):
    the peer and the features offered after TLS."""
    p = xp.Peer.connect(HOST, env.ports["s2s"])
    return p, p.open_secured(to, domain, cafile=env.dir + "/pki/ca.crt",
                             certfile=certfile or leaf + ".crt", keyfile=leaf + ".key")


NAMES = ("revocation_ocsp_fetches_ok_total", "revocation_ocsp_fetches_failed_total",
         "revocation_crl_fetches_ok_total", "revocation_crl_fetches_failed_total",
         "peers_refused_revoked_total", "revocation_hard_fail_refused_total",
         "revocation_soft_fail_accepted_total", "revocation_cache_hits_total",
         "revocation_waits_total", "auth_sasl_external_total")


def assert_moved(env, before, **expected):
    """Exactly the counters named in |expected| moved, by that much; every
    other one of NAMES stayed put. Names are given without the _total."""
    want = {n: expected.pop(n[:-len("_total")], 0) for n in NAMES}
    assert not expected, "unknown counters %r" % expected
    got = delta(env, before)
    assert got == want, "counters moved %r, expected %r" % (
        {k: v for k, v in got.items() if v}, {k: v for k, v in want.items() if v})


def authenticates(env, domain, leaf, **kw):
    """A stream from |domain| with |leaf|: EXTERNAL offered and succeeding."""
    p, feats = features_after_tls(env, domain, leaf, **kw)
    assert offers_external(feats), "EXTERNAL not offered to %s" % domain
    cond, _ = p.sasl_external()
    assert cond == "success", cond
    p.close()


def refused(env, domain, leaf, **kw):
    """A stream from |domain| with |leaf|: no EXTERNAL offered, and asking
    for it fails."""
    p, feats = features_after_tls(env, domain, leaf, **kw)
    assert not offers_external(feats), "EXTERNAL offered to %s" % domain
    cond, _ = p.sasl_external()
    assert cond == "failure", cond
    p.close()


def test_rfc6960_good_certificate_authenticates(env):
    before = counters(env, *NAMES)
    p, feats = features_after_tls(env, "good.test", env.good)
    assert offers_external(feats), "EXTERNAL not offered to a good certificate"
    cond, _ = p.sasl_external()
    assert cond == "success", cond
    p.close()
    d = delta(env, before)
    assert d["revocation_ocsp_fetches_ok_total"] == 1, d
    assert d["auth_sasl_external_total"] == 1, d
    # The second stream is answered from memory: the worker's certificate
    # verdict (which lives no longer than the answer it relied on) or the
    # shared cache; no new fetch, no wait.
    before = counters(env, *NAMES)
    vc = env.gw.metric("certificate_verdict_cache_hits_total")
    p, feats = features_after_tls(env, "good.test", env.good)
    assert offers_external(feats)
    p.close()
    d = delta(env, before)
    assert d["revocation_ocsp_fetches_ok_total"] == 0, d
    assert d["revocation_waits_total"] == 0, d
    assert d["revocation_cache_hits_total"] + env.gw.metric(
        "certificate_verdict_cache_hits_total") - vc >= 1, d


def test_rfc6960_revoked_certificate_refused_inbound(env):
    before = counters(env, *NAMES)
    p, feats = features_after_tls(env, "revoked.test", env.revoked)
    assert not offers_external(feats), "EXTERNAL offered to a revoked certificate"
    cond, _ = p.sasl_external()
    assert cond == "failure", cond
    p.close()
    d = delta(env, before)
    assert d["revocation_ocsp_fetches_ok_total"] == 1, d
    assert d["peers_refused_revoked_total"] >= 1, d
    assert d["auth_sasl_external_total"] == 0, d
    assert "revoked" in env.gw.log_tail(200)


def test_rfc5280_crl_fallback_without_ocsp_url(env):
    before = counters(env, *NAMES)
    n = env.files.requests["/ca.crl"]
    p, feats = features_after_tls(env, "crlrevoked.test", env.crl_revoked)
    assert not offers_external(feats), "EXTERNAL offered to a certificate the CRL revokes"
    p.close()
    p, feats = features_after_tls(env, "crlgood.test", env.crl_good)
    assert offers_external(feats), "EXTERNAL not offered to a certificate the CRL does not list"
    p.close()
    d = delta(env, before)
    assert env.files.requests["/ca.crl"] - n >= 1
    assert d["revocation_crl_fetches_ok_total"] >= 2, d
    assert d["peers_refused_revoked_total"] >= 1, d


def refused_without_answer(env, domain, leaf, why):
    """Under hard-fail, a peer whose responder's answer fedgate rejects (for
    |why|, as logged) and that has no CRL: one failed fetch the stream waited
    for, then the refusal."""
    before = counters(env, *NAMES)
    refused(env, domain, leaf)
    assert_moved(env, before, revocation_ocsp_fetches_failed=1, revocation_cache_hits=1,
                 revocation_waits=1, revocation_hard_fail_refused=1)
    assert why in env.gw.log_tail(200), why


def test_hard_fail_without_answer_refuses_soft_fail_accepts(env):
    before = counters(env, *NAMES)
    # No responder URL and no CRL: no answer. revocation.mode is hard-fail...
    p, feats = features_after_tls(env, "noinfo.test", env.noinfo)
    assert not offers_external(feats), "hard-fail accepted a certificate without an answer"
    p.close()
    # ...and soft.test is soft-fail (revocation.domains).
    p, feats = features_after_tls(env, "soft.test", env.soft)
    assert offers_external(feats), "soft-fail refused a certificate without an answer"
    cond, _ = p.sasl_external()
    assert cond == "success", cond
    p.close()
    d = delta(env, before)
    assert d["revocation_hard_fail_refused_total"] >= 1, d
    assert d["revocation_soft_fail_accepted_total"] >= 1, d


def test_rfc5280_configured_crl_url_for_a_ca(env):
    """revocation.responders[].crl: certificates of that CA that name no CRL
    are checked against the configured one."""
    before = counters(env, *NAMES)
    n = env.files.requests["/cfg.crl"]
    p, feats = features_after_tls(env, "cfgrevoked.test", env.cfg_revoked)
    assert not offers_external(feats), "EXTERNAL offered to a certificate the configured CRL revokes"
    p.close()
    p, feats = features_after_tls(env, "cfggood.test", env.cfg_good)
    assert offers_external(feats), "EXTERNAL not offered to a certificate the CRL does not list"
    p.close()
    d = delta(env, before)
    assert env.files.requests["/cfg.crl"] - n >= 1
    assert d["revocation_crl_fetches_ok_total"] >= 1, d
    assert d["peers_refused_revoked_total"] >= 1, d


def test_responder_down_hard_fail_refuses_soft_fail_accepts(env):
    """A responder that does not answer (connection refused) is no answer:
    hard-fail refuses, soft-fail accepts and counts; the failed fetch is
    counted and remembered (a second stream does not ask again)."""
    before = counters(env, *NAMES)
    p, feats = features_after_tls(env, "downhard.test", env.down_hard)
    assert not offers_external(feats), "hard-fail accepted a certificate its responder is down for"
    p.close()
    p, feats = features_after_tls(env, "downsoft.test", env.down_soft)
    assert offers_external(feats), "soft-fail refused a certificate its responder is down for"
    cond, _ = p.sasl_external()
    assert cond == "success", cond
    p.close()
    d = delta(env, before)
    assert d["revocation_ocsp_fetches_failed_total"] == 2, d
    assert d["revocation_hard_fail_refused_total"] >= 1, d
    assert d["revocation_soft_fail_accepted_total"] >= 1, d
    assert d["auth_sasl_external_total"] == 1, d
    before = counters(env, *NAMES)
    p, feats = features_after_tls(env, "downhard.test", env.down_hard)
    assert not offers_external(feats)
    p.close()
    assert delta(env, before)["revocation_ocsp_fetches_failed_total"] == 0


def test_rfc6960_revoked_remote_server_not_trusted_outbound(env):
    """A link to a remote server whose certificate is revoked is not trusted:
    the server never sees a stream past TLS, and the stanza is bounced."""
    before = counters(env, *NAMES)
    # The outbound link: an internal server's stanza for outbound.test.
    ip = xp.Peer.connect(HOST, env.p["internal"])
    ip.open_authenticated("outbound.test", "b.test", certfile=env.dir + "/pki/b.test.crt",
                          keyfile=env.dir + "/pki/b.test.key")
    ip.send_message("bob@b.test/x", "alice@outbound.test", "to a revoked server")
    deadline = time.time() + 15
    while time.time() < deadline and env.gw.metric("peers_refused_revoked_total") == \
            before["peers_refused_revoked_total"]:
        time.sleep(0.2)
    ip.close()
    d = delta(env, before)
    assert d["peers_refused_revoked_total"] >= 1, d
    assert env.remote.auth == [], env.remote.auth
    assert "certificate refused" in env.gw.log_tail(300)
    time.sleep(0.5)
    assert env.gw.metric("remote_streams_ready_total") == 0


def test_rfc6960_4_2_2_1_stale_response_is_no_answer(env):
    """A response past its nextUpdate (made two days ago, valid one minute)
    is no answer: hard-fail refuses, soft-fail accepts and counts."""
    refused_without_answer(env, "stale.test", env.stale,
                           "stale/: expired (nextUpdate has passed)")
    before = counters(env, *NAMES)
    authenticates(env, "stalesoft.test", env.stale_soft)
    assert_moved(env, before, revocation_ocsp_fetches_failed=1, revocation_cache_hits=1,
                 revocation_waits=1, revocation_soft_fail_accepted=1, auth_sasl_external=1)
    assert env.files.requests["/stale/"] == 1 and env.files.requests["/stalesoft/"] == 1


def test_rfc6960_4_2_2_1_response_not_yet_valid_is_no_answer(env):
    """A response whose thisUpdate is two days ahead is no answer."""
    refused_without_answer(env, "future.test", env.future,
                           "future/: not-yet-valid (thisUpdate is in the future)")
    assert env.files.requests["/future/"] == 1


def test_rfc6960_4_2_2_2_signer_certified_by_another_ca_is_no_answer(env):
    """A responder whose certificate (OCSPSigning) another CA issued is not
    authorized for this CA's certificates: no answer, hard-fail refuses."""
    refused_without_answer(
        env, "otherca.test", env.otherca,
        "unauthorized-signer (responder certificate not issued by the certificate's issuer)")


def test_rfc6960_4_2_2_2_signer_without_ocsp_signing_is_no_answer(env):
    """A certificate of the CA itself signs, but without id-kp-OCSPSigning it
    is not a delegated responder: no answer, hard-fail refuses."""
    refused_without_answer(env, "noeku.test", env.noeku,
                           "unauthorized-signer (responder certificate lacks id-kp-OCSPSigning)")
    assert env.files.requests["/noeku/"] == 1


def test_rfc6960_4_2_2_2_delegated_responder_answers(env):
    """A responder the CA certified for OCSPSigning answers for the CA: its
    good certificate authenticates, its revoked one is refused."""
    before = counters(env, *NAMES)
    authenticates(env, "delegated.test", env.delegated_good)
    assert_moved(env, before, revocation_ocsp_fetches_ok=1, revocation_cache_hits=1,
                 revocation_waits=1, auth_sasl_external=1)
    before = counters(env, *NAMES)
    refused(env, "delegatedrevoked.test", env.delegated_revoked)
    assert_moved(env, before, revocation_ocsp_fetches_ok=1, revocation_cache_hits=1,
                 revocation_waits=1, peers_refused_revoked=1)


def test_rfc6960_2_2_unknown_is_no_answer_unless_a_crl_answers(env):
    """`unknown` (the responder's index does not list the certificate) is no
    answer: hard-fail refuses. With a CRL distribution point the CRL
    decides, here that the certificate is revoked."""
    before = counters(env, *NAMES)
    refused(env, "unknown.test", env.unknown)
    assert_moved(env, before, revocation_ocsp_fetches_ok=1, revocation_cache_hits=1,
                 revocation_waits=1, revocation_hard_fail_refused=1)
    before = counters(env, *NAMES)
    n = env.files.requests["/ca.crl"]
    refused(env, "unknowncrl.test", env.unknown_crl)
    assert_moved(env, before, revocation_ocsp_fetches_ok=1, revocation_crl_fetches_ok=1,
                 revocation_cache_hits=1, revocation_waits=1, peers_refused_revoked=1)
    assert env.files.requests["/ca.crl"] == n + 1


def test_rfc5280_6_1_3_revoked_intermediate_refused_unless_leaf_only(env):
    """Every certificate of the path but the anchor is checked: an
    intermediate its root's CRL revokes refuses the peer; with leaf_only
    (a second gateway) only the leaf is checked and the peer authenticates."""
    chain = env.inter_leaf + ".chain.crt"
    before = counters(env, *NAMES)
    n_root, n_inter = env.files.requests["/root.crl"], env.files.requests["/inter.crl"]
    refused(env, "intermediate.test", env.inter_leaf, certfile=chain)
    assert_moved(env, before, revocation_crl_fetches_ok=2, revocation_cache_hits=2,
                 revocation_waits=1, peers_refused_revoked=1)
    assert env.files.requests["/root.crl"] == n_root + 1
    assert env.files.requests["/inter.crl"] == n_inter + 1
    assert "depth 1 revoked" in env.gw.log_tail(200)
    with env.second_gateway("fedgate-leaf-only", "hard-fail", leaf_only=True):
        before = counters(env, *NAMES)
        authenticates(env, "intermediate.test", env.inter_leaf, certfile=chain)
        assert_moved(env, before, revocation_crl_fetches_ok=1, revocation_cache_hits=1,
                     revocation_waits=1, auth_sasl_external=1)
    assert env.files.requests["/root.crl"] == n_root + 1
    assert env.files.requests["/inter.crl"] == n_inter + 2


def test_revocation_domains_mode_off_fetches_nothing(env):
    """A domain whose mode is off is not checked: its revoked certificate
    authenticates, nothing is fetched and no revocation counter moves."""
    before = counters(env, *NAMES)
    authenticates(env, "off.test", env.off)
    assert_moved(env, before, auth_sasl_external=1)
    assert env.files.requests["/off/"] == 0


def test_revocation_domains_checked_domain_not_proven_on_an_unchecked_stream(env):
    """A stream from off.test (not checked, so nothing was fetched) asks to
    authenticate soft.test by dialback with its certificate (XEP-0344): the
    certificate, revoked, is not taken for soft.test unchecked; the
    dialback round trip decides (here: invalid)."""
    before = counters(env, *NAMES)
    p, _ = features_after_tls(env, "off.test", env.off_soft)
    p.dialback_result("soft.test", "b.test", "0123456789abcdef")
    result = p.read_dialback_result()
    assert result.get("type") != "valid", result.attrib
    p.close()
    assert_moved(env, before)
    assert env.gw.metric("auth_dialback_certificate_total") == 0
    assert "its revocation was not checked on this stream" in env.gw.log_tail(200)


def direct_tls_features(env, domain, leaf):
    """A direct TLS stream (XEP-0368) from |domain| presenting |leaf|."""
    p = xp.Peer.connect(HOST, env.ports["tls"])
    p.wrap_tls("b.test", cafile=env.dir + "/pki/ca.crt", certfile=leaf + ".crt",
               keyfile=leaf + ".key", alpn=["xmpp-server"])
    p.open_stream("b.test", domain)
    p.read_header()
    return p, p.read_features()


def test_xep0368_direct_tls_checked_before_the_peer_names_itself(env):
    """On direct TLS the certificate arrives before the stream names its
    domain, and the stream opens without a STARTTLS: its answers are fetched
    all the same. Under hard-fail a good certificate authenticates; on a
    gateway whose mode is off but with a soft-fail domain, that domain's
    revoked certificate does not."""
    before = counters(env, *NAMES)
    p, feats = direct_tls_features(env, "directgood.test", env.direct_good)
    assert offers_external(feats), "EXTERNAL not offered to a good certificate on direct TLS"
    assert p.sasl_external()[0] == "success"
    p.close()
    assert_moved(env, before, revocation_ocsp_fetches_ok=1, revocation_cache_hits=1,
                 revocation_waits=1, auth_sasl_external=1)
    with env.second_gateway("fedgate-mode-off", "off", leaf_only=False):
        before = counters(env, *NAMES)
        p, feats = direct_tls_features(env, "direct.test", env.direct)
        assert not offers_external(feats), "EXTERNAL offered to a revoked certificate"
        assert p.sasl_external()[0] == "failure"
        p.close()
        assert_moved(env, before, revocation_ocsp_fetches_ok=1, revocation_cache_hits=1,
                     revocation_waits=1, peers_refused_revoked=1)

def main():
    env = Env()
    try:
        passed, failed = fp.run_suite(fp.tests_of(globals()), env)
    finally:
        env.close()
        if not os.environ.get("FEDGATE_E2E_KEEP"):
            shutil.rmtree(env.dir, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
