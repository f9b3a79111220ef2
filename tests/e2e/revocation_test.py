#!/usr/bin/python3
"""End-to-end tests of revocation checking of remote servers' certificates.

A test CA made with `openssl`, whose leaves name a real OCSP responder
(`openssl ocsp` on loopback, reading the CA's index file) or a CRL served
over HTTP; a real `fedgate run` checking them (revocation mode hard-fail,
with per-domain soft-fail and off); scripted remote peers (xmpp_peer.Peer);
a ReceivingServer as a remote server presenting a revoked certificate for
the outbound case. Every test asserts the authentication outcome and the
counters.

usage: revocation_test.py FEDGATE_BINARY
"""

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

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "bazel-bin/gateway/fedgate")
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
    """A CA and its leaves; index.txt says which are revoked."""

    def __init__(self, d, ocsp_port, crl_port):
        self.d = d
        self.ocsp_url = "http://%s:%d/" % (HOST, ocsp_port)
        self.crl_url = "http://%s:%d/ca.crl" % (HOST, crl_port)
        run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", d + "/ca.key")
        run("openssl", "req", "-x509", "-new", "-key", d + "/ca.key", "-subj", "/CN=Revocation Test CA",
            "-days", "30", "-out", d + "/ca.crt", "-addext", "basicConstraints=critical,CA:true",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.index = []
        self.serial = 0x1000
        with open(d + "/ca.cnf", "w") as f:
            f.write("[ca]\ndefault_ca=ca\n[ca]\ndatabase=%s/index.txt\ncrlnumber=%s/crlnumber\n"
                    "default_md=sha256\ndefault_crl_days=1\n" % (d, d))
        with open(d + "/crlnumber", "w") as f:
            f.write("01\n")

    def leaf(self, name, aia=True, cdp=False, revoked=False):
        d = self.d
        self.serial += 1
        serial = "%X" % self.serial
        run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
            "-out", "%s/%s.key" % (d, name))
        run("openssl", "req", "-new", "-key", "%s/%s.key" % (d, name), "-subj", "/CN=" + name,
            "-out", "%s/%s.csr" % (d, name))
        ext = ["subjectAltName=DNS:%s" % name, "extendedKeyUsage=serverAuth,clientAuth",
               "keyUsage=critical,digitalSignature", "basicConstraints=critical,CA:false"]
        if aia:
            ext.append("authorityInfoAccess=OCSP;URI:%s" % self.ocsp_url)
        if cdp:
            ext.append("crlDistributionPoints=URI:%s" % self.crl_url)
        with open("%s/%s.ext" % (d, name), "w") as f:
            f.write("\n".join(ext) + "\n")
        run("openssl", "x509", "-req", "-in", "%s/%s.csr" % (d, name), "-CA", d + "/ca.crt",
            "-CAkey", d + "/ca.key", "-set_serial", "0x" + serial, "-days", "20",
            "-extfile", "%s/%s.ext" % (d, name), "-out", "%s/%s.crt" % (d, name))
        expiry = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() + 20 * 86400))
        if revoked:
            when = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() - 3600))
            self.index.append("R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=%s" % (expiry, when, serial,
                                                                              name))
        else:
            self.index.append("V\t%s\t\t%s\tunknown\t/CN=%s" % (expiry, serial, name))
        with open(d + "/index.txt", "w") as f:
            f.write("\n".join(self.index) + "\n")
        return "%s/%s" % (d, name)

    def crl(self):
        run("openssl", "ca", "-gencrl", "-config", self.d + "/ca.cnf", "-keyfile", self.d + "/ca.key",
            "-cert", self.d + "/ca.crt", "-out", self.d + "/ca.crl.pem")
        run("openssl", "crl", "-in", self.d + "/ca.crl.pem", "-outform", "DER",
            "-out", self.d + "/ca.crl")


class CrlServer:
    """Serves the CA's CRL over HTTP, counting requests."""

    def __init__(self, port, path):
        served = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                served.requests += 1
                with open(path, "rb") as f:
                    body = f.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/pkix-crl")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.requests = 0
        self.httpd = http.server.ThreadingHTTPServer((HOST, port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-revocation-")
        d = self.dir
        p = self.p = {k: fp.free_port() for k in ("s2s", "tls", "internal", "admin", "sink", "dead",
                                                 "ocsp", "crl", "closed", "remote")}
        os.makedirs(d + "/ca")
        self.pki = Pki(d + "/ca", p["ocsp"], p["crl"])
        self.good = self.pki.leaf("good.test")
        self.revoked = self.pki.leaf("revoked.test", revoked=True)
        self.crl_revoked = self.pki.leaf("crlrevoked.test", aia=False, cdp=True, revoked=True)
        self.crl_good = self.pki.leaf("crlgood.test", aia=False, cdp=True)
        self.noinfo = self.pki.leaf("noinfo.test", aia=False)
        self.soft = self.pki.leaf("soft.test", aia=False)
        self.outbound = self.pki.leaf("outbound.test", revoked=True)
        self.pki.crl()
        self.crl_server = CrlServer(p["crl"], d + "/ca/ca.crl")
        self.ocsp = subprocess.Popen(
            ["openssl", "ocsp", "-index", d + "/ca/index.txt", "-port", str(p["ocsp"]),
             "-rsigner", d + "/ca/ca.crt", "-rkey", d + "/ca/ca.key", "-CA", d + "/ca/ca.crt",
             "-nmin", "5", "-ignore_err"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait for the listening socket without connecting to it: OpenSSL's
        # one-at-a-time responder stays stuck on a connection closed without
        # a request.
        assert wait_listening(p["ocsp"], 10), "openssl ocsp did not start"
        fp.dev_pki(FEDGATE, d + "/pki", "b.test", "c.test")
        fp.dev_pki(FEDGATE, d + "/ica", "unused.test")
        fp.write_secret(d + "/secret", "revocation-test-secret")
        self.sink = xp.ReceivingServer(HOST, p["sink"], d + "/pki/b.test.crt", d + "/pki/b.test.key",
                                       client_ca=d + "/ica/ca.crt")
        # A remote server for outbound.test presenting a revoked certificate.
        self.remote = xp.ReceivingServer(HOST, p["remote"], self.outbound + ".crt",
                                         self.outbound + ".key", client_ca=d + "/pki/ca.crt")
        with open(d + "/trust.crt", "w") as f:
            f.write(open(d + "/ca/ca.crt").read() + open(d + "/pki/ca.crt").read())
        os.chdir(d)
        ports = {k: p[k] for k in ("s2s", "tls", "internal", "admin")}
        cfg = fp.gateway_yaml(
            ports, [("b.test", "sink", "pki/b.test"), ("c.test", "dead", "pki/c.test")],
            [("sink", [p["sink"]]), ("dead", [p["dead"]])], trust="trust.crt",
            default_cert="pki/b.test", static=[("outbound.test", p["remote"])])
        cfg += ("revocation:\n  mode: hard-fail\n  timeout: 2s\n"
                "  allowed_networks: [\"127.0.0.0/8\"]\n"
                "  domains:\n    - {domain: soft.test, mode: soft-fail}\n")
        self.gw = fp.Fedgate(FEDGATE, d, "fedgate", cfg, p["admin"])

    def close(self):
        self.gw.stop()
        self.ocsp.terminate()
        self.ocsp.wait()
        self.crl_server.close()
        self.sink.close()
        self.remote.close()


def counters(env, *names):
    return {n: env.gw.metric(n) for n in names}


def delta(env, before):
    return {n: env.gw.metric(n) - v for n, v in before.items()}


def offers_external(feats):
    mechs = feats.find(xp.q(xp.NS_SASL, "mechanisms"))
    return mechs is not None and any(m.text == "EXTERNAL" for m in mechs)


def features_after_tls(env, domain, leaf, to="b.test"):
    p = xp.Peer.connect(HOST, env.p["s2s"])
    p.open_stream(to, domain)
    p.read_header()
    p.read_features()
    p.starttls(to, cafile=env.dir + "/pki/ca.crt", certfile=leaf + ".crt", keyfile=leaf + ".key")
    p.open_stream(to, domain)
    p.read_header()
    return p, p.read_features()


NAMES = ("revocation_ocsp_fetches_ok_total", "revocation_ocsp_fetches_failed_total",
         "revocation_crl_fetches_ok_total", "peers_refused_revoked_total",
         "revocation_hard_fail_refused_total", "revocation_soft_fail_accepted_total",
         "revocation_cache_hits_total", "auth_sasl_external_total")


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
    # The second stream is answered from the shared cache: no new fetch.
    before = counters(env, *NAMES)
    p, feats = features_after_tls(env, "good.test", env.good)
    assert offers_external(feats)
    p.close()
    d = delta(env, before)
    assert d["revocation_ocsp_fetches_ok_total"] == 0, d
    assert d["revocation_cache_hits_total"] >= 1, d


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
    n = env.crl_server.requests
    p, feats = features_after_tls(env, "crlrevoked.test", env.crl_revoked)
    assert not offers_external(feats), "EXTERNAL offered to a certificate the CRL revokes"
    p.close()
    p, feats = features_after_tls(env, "crlgood.test", env.crl_good)
    assert offers_external(feats), "EXTERNAL not offered to a certificate the CRL does not list"
    p.close()
    d = delta(env, before)
    assert env.crl_server.requests - n >= 1
    assert d["revocation_crl_fetches_ok_total"] >= 2, d
    assert d["peers_refused_revoked_total"] >= 1, d


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


def test_rfc6960_revoked_remote_server_not_trusted_outbound(env):
    """A link to a remote server whose certificate is revoked is not trusted:
    the server never sees a stream past TLS, and the stanza is bounced."""
    before = counters(env, *NAMES)
    # The outbound link: an internal server's stanza for outbound.test.
    ip = xp.Peer.connect(HOST, env.p["internal"])
    ip.open_stream("outbound.test", "b.test")
    ip.read_header()
    ip.read_features()
    ip.starttls("outbound.test", certfile=env.dir + "/pki/b.test.crt",
                keyfile=env.dir + "/pki/b.test.key")
    ip.open_stream("outbound.test", "b.test")
    ip.read_header()
    ip.read_features()
    cond, _ = ip.sasl_external()
    assert cond == "success", cond
    ip.open_stream("outbound.test", "b.test")
    ip.read_header()
    ip.read_features()
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
