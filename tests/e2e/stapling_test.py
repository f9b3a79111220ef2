#!/usr/bin/python3
"""End-to-end tests of OCSP stapling of fedgate's own certificates.

A CA made with `openssl`; the hosted domain b.test presents a leaf of it
whose AIA names a real OCSP responder (`openssl ocsp -nmin 1` on loopback:
every response is valid for one minute); `openssl s_client -starttls
xmpp-server -status` as the remote server asking for the staple. The refresh
comes at a tenth of the window (FEDGATE_TEST_STAPLE_REFRESH_FRACTION), so a
revocation is seen within seconds. The tests run in order: a good staple is
served and saved; a restart serves the saved one with the responder down; a
revocation withdraws it; with stapling disabled nothing is stapled; an
outbound link to a remote server (a second fedgate) that staples takes the
staple as its revocation answer instead of asking the responder. Then the
stapler and the expiry warnings follow reloads (docs/reload.md): the same
certificate keeps its staple without a fetch, a renewed one (new key, later
notAfter) is shown, gauged and stapled, runtime domains gain and lose their
entries, and a renewed certificate is no longer warned about.

usage: stapling_test.py FEDGATE_BINARY
"""

import calendar
import hashlib
import os
import re
import signal
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import xmpp_peer as xp  # noqa: E402
from revocation_test import HOST, Pki, wait_listening  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-stapling-")
        d = self.dir
        self.p = p = {k: fp.free_port() for k in ("s2s", "tls", "internal", "admin", "sink",
                                                 "ocsp", "r_s2s", "r_tls", "r_internal",
                                                 "r_admin")}
        os.makedirs(d + "/state", mode=0o700)
        self.pki = Pki(d + "/ca", "Revocation Test CA", ocsp_url="http://%s:%d/" % (HOST, p["ocsp"]))
        for name in ("b.test", "r.test"):
            leaf = self.pki.leaf(name)
            with open("%s/%s.crt" % (d, name), "w") as f:  # the chain: leaf, then its issuer
                f.write(open(leaf + ".crt").read() + open(d + "/ca/ca.crt").read())
            shutil.copy(leaf + ".key", "%s/%s.key" % (d, name))
            os.chmod("%s/%s.key" % (d, name), 0o600)
        # Certificates issued later (renewals: new key, other notAfter), in
        # the index before the responder starts (it reads it once).
        self.spare = {}
        with open(d + "/ca/index.txt.attr", "w") as f:  # several certificates of CN=b.test
            f.write("unique_subject = no\n")
        for spare, name, days in (("b25", "b.test", 25), ("c", "c.test", 20),
                                  ("b5", "b.test", 5), ("b25b", "b.test", 25)):
            leaf = self.pki.leaf(name, days=days)
            for ext in (".crt", ".key"):
                os.rename(leaf + ext, "%s/ca/spare-%s%s" % (d, spare, ext))
            self.spare[spare] = (name, "%s/ca/spare-%s" % (d, spare))
        fp.dev_pki(FEDGATE, d + "/ica", "unused.test")
        fp.write_secret(d + "/secret", "stapling-test-secret")
        os.chdir(d)
        self.ocsp = None
        self.gw = None
        self.remote = None
        self.start_responder()

    def start_responder(self):
        d = self.dir + "/ca"
        self.ocsp = subprocess.Popen(
            ["openssl", "ocsp", "-index", d + "/index.txt", "-port", str(self.p["ocsp"]),
             "-rsigner", d + "/ca.crt", "-rkey", d + "/ca.key", "-CA", d + "/ca.crt",
             "-nmin", "1", "-ignore_err"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Never connect without a request: the responder would wait on it.
        assert wait_listening(self.p["ocsp"], 10), "openssl ocsp did not start"

    def stop_responder(self):
        if self.ocsp is not None:
            self.ocsp.terminate()
            self.ocsp.wait()
            self.ocsp = None

    def set_revoked(self, revoked):
        entry = self.pki.entries[0]  # b.test's line in the CA's index
        line = entry[0].split("\t")
        if revoked:
            when = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() - 60))
            line[0], line[2] = "R", when + ",keyCompromise"
        else:
            line[0], line[2] = "V", ""
        entry[0] = "\t".join(line)
        self.pki.write_index(everything=False)

    def start_gateway(self, enabled=True, static=()):
        self.stop_gateway()
        ports = {k: self.p[k] for k in ("s2s", "tls", "internal", "admin")}
        cfg = fp.gateway_yaml(ports, [("b.test", "sink", "b.test")], [("sink", [self.p["sink"]])],
                              trust="ca/ca.crt", static=static)
        cfg += ("revocation:\n  timeout: 2s\n  allowed_networks: [\"127.0.0.0/8\"]\n"
                "  stapling:\n    enabled: %s\n    state_dir: state\n"
                % ("true" if enabled else "false"))
        os.environ["FEDGATE_TEST_STAPLE_REFRESH_FRACTION"] = "0.1"
        self.gw = fp.Fedgate(FEDGATE, self.dir, "fedgate", cfg, self.p["admin"])

    def stop_gateway(self):
        if self.gw is not None:
            self.gw.stop()
            self.gw = None

    def start_remote(self):
        """A second gateway, the remote server r.test, stapling its own
        certificate (no state_dir)."""
        ports = {k: self.p["r_" + k] for k in ("s2s", "tls", "internal", "admin")}
        # Its own dialback secret: a shared one makes the gateways one
        # service, and a link between them a loop.
        fp.write_secret(self.dir + "/secret-r", "stapling-test-remote")
        cfg = fp.gateway_yaml(ports, [("r.test", "sink", "r.test")], [("sink", [self.p["sink"]])],
                              trust="ca/ca.crt", secret="secret-r")
        cfg += "revocation:\n  allowed_networks: [\"127.0.0.0/8\"]\n"
        self.remote = fp.Fedgate(FEDGATE, self.dir, "remote", cfg, self.p["r_admin"])

    def certs(self):
        url = "http://%s:%d/certs" % (HOST, self.p["admin"])
        return urllib.request.urlopen(url, timeout=5).read().decode()

    def wait_certs(self, pattern, timeout):
        deadline = time.time() + timeout
        while True:
            out = self.certs()
            if re.search(pattern, out):
                return out
            if time.time() > deadline:
                raise AssertionError("/certs never matched %r:\n%s\n%s" %
                                     (pattern, out, self.gw.log_tail(30)))
            time.sleep(0.3)

    def state_files(self):
        return [f for f in os.listdir(self.dir + "/state") if f.endswith(".der")]

    def close(self):
        self.stop_gateway()
        if self.remote is not None:
            self.remote.stop()
        self.stop_responder()


def s_client_status(env, domain="b.test"):
    """The output of `openssl s_client -status` against the STARTTLS port:
    the server's certificate and the OCSP response it stapled."""
    r = subprocess.run(
        ["openssl", "s_client", "-connect", "%s:%d" % (HOST, env.p["s2s"]), "-starttls",
         "xmpp-server", "-xmpphost", domain, "-servername", domain, "-status"],
        input=b"", capture_output=True, timeout=20)
    out = r.stdout.decode(errors="replace")
    assert "BEGIN CERTIFICATE" in out or "Server certificate" in out, out + r.stderr.decode()
    return out


def assert_stapled_good(out):
    assert "OCSP Response Status: successful" in out, out
    assert "Cert Status: good" in out, out


def assert_not_stapled(out):
    assert "OCSP response: no response sent" in out, out
    assert "Cert Status" not in out, out


def test_1_rfc6066_8_good_staple_served_and_saved(env):
    env.start_gateway()
    out = env.wait_certs(r"staple=good", 15)
    line = out.strip()
    assert line.startswith("cert domains=b.test subject=CN=b.test issuer=CN=Revocation\\20Test\\20CA"
                           " not_after="), line
    assert re.search(r" days_left=(19|20) staple=good staple_this_update=\S+Z "
                     r"staple_next_update=\S+Z staple_age_s=\d+ responder=http://", line), line
    assert_stapled_good(s_client_status(env))
    assert env.gw.metric("staples_current") == 1
    assert env.gw.metric("staple_fetches_ok_total") >= 1
    metrics = urllib.request.urlopen("http://%s:%d/metrics" % (HOST, env.p["admin"]),
                                     timeout=5).read().decode()
    assert re.search(r'^fedgate_staple_age_seconds\{cert="b.test"\} \d+$', metrics, re.M), metrics
    assert re.search(r'^fedgate_certificate_expiry_timestamp_seconds\{cert="b.test"\} \d{10}$',
                     metrics, re.M), metrics
    files = env.state_files()
    assert len(files) == 1 and re.fullmatch(r"[0-9a-f]{64}\.der", files[0]), files
    mode = stat.S_IMODE(os.stat(env.dir + "/state/" + files[0]).st_mode)
    assert mode == 0o600, oct(mode)


def test_2_restart_serves_saved_staple_without_responder(env):
    env.stop_gateway()
    env.stop_responder()
    env.start_gateway()
    # The first handshake after start-up already carries the saved response.
    assert_stapled_good(s_client_status(env))
    assert "staple=good" in env.certs()
    assert "serving the saved OCSP response" in env.gw.log_tail(200)


def test_3_rfc6960_revoked_answer_never_stapled(env):
    env.set_revoked(True)
    env.start_responder()
    # The restarted gateway's fetch failed (responder down): it retries
    # within 10 s and learns the revocation.
    out = env.wait_certs(r"staple=none", 40)
    assert "staple_this_update=- " in out, out
    assert_not_stapled(s_client_status(env))
    assert env.gw.metric("staples_current") == 0
    assert env.gw.metric("staple_fetches_failed_total") >= 1
    assert env.state_files() == []
    assert "revoked" in env.gw.log_tail(200)


def test_4_disabled_staples_nothing(env):
    env.set_revoked(False)
    env.start_gateway(enabled=False)
    time.sleep(2)
    assert_not_stapled(s_client_status(env))
    out = env.certs()
    assert "staple=none" in out, out
    assert env.gw.metric("staple_fetches_ok_total") == 0
    assert env.gw.metric("staple_fetches_failed_total") == 0


def internal_stream(env, remote, local):
    """An internal server's stream for local -> remote, authenticated with
    SASL EXTERNAL after STARTTLS, ready for stanzas."""
    ip = xp.Peer.connect(HOST, env.p["internal"])
    for step in ("starttls", "sasl", "stanzas"):
        ip.open_stream(remote, local)
        ip.read_header()
        ip.read_features()
        if step == "starttls":
            ip.starttls(remote, certfile="%s/%s.crt" % (env.dir, local),
                        keyfile="%s/%s.key" % (env.dir, local))
        elif step == "sasl":
            cond, _ = ip.sasl_external()
            assert cond == "success", cond
    return ip


def test_5_rfc6066_8_remote_staple_answers_outbound_revocation_check(env):
    env.start_remote()
    deadline = time.time() + 15
    while "staple=good" not in urllib.request.urlopen(
            "http://%s:%d/certs" % (HOST, env.p["r_admin"]), timeout=5).read().decode():
        assert time.time() < deadline, env.remote.log_tail(30)
        time.sleep(0.3)
    env.start_gateway(static=[("r.test", env.p["r_s2s"])])
    # An internal server's stanza for r.test opens the outbound link.
    ip = internal_stream(env, "r.test", "b.test")
    ip.send_message("bob@b.test/x", "alice@r.test", "checked by the staple")
    deadline = time.time() + 15
    while env.gw.metric("revocation_staples_used_total") == 0:
        assert time.time() < deadline, env.gw.log_tail(40)
        time.sleep(0.2)
    ip.close()
    # The staple was the answer: the responder was not asked about r.test.
    assert env.gw.metric("revocation_ocsp_fetches_ok_total") == 0
    assert env.gw.metric("revocation_staples_invalid_total") == 0
    assert env.gw.metric("peers_refused_revoked_total") == 0


# --- reloads (docs/reload.md): the stapler and the expiry warnings follow ---

def admin_post(env, path, params=None):
    """(status, body) of POST |path| on the admin endpoint."""
    data = urllib.parse.urlencode(params or {}).encode()
    req = urllib.request.Request("http://%s:%d%s" % (HOST, env.p["admin"], path), data=data,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def reload_ok(env):
    status, body = admin_post(env, "/reload")
    assert status == 200, (status, body, env.gw.log_tail(20))


def not_after_of(path):
    out = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", path],
                         capture_output=True, check=True).stdout.decode()
    return calendar.timegm(time.strptime(out.strip().split("=", 1)[1], "%b %d %H:%M:%S %Y GMT"))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def install_leaf(env, spare):
    """The spare certificate |spare| (a new key) written over the files the
    gateway's configuration names for its domain. Returns (its PEM, its
    notAfter, the name of its state file)."""
    name, leaf = env.spare[spare]
    pem = open(leaf + ".crt").read()
    with open("%s/%s.crt" % (env.dir, name), "w") as f:
        f.write(pem + open(env.dir + "/ca/ca.crt").read())
    shutil.copy(leaf + ".key", "%s/%s.key" % (env.dir, name))
    os.chmod("%s/%s.key" % (env.dir, name), 0o600)
    der = subprocess.run(["openssl", "x509", "-outform", "DER", "-in", leaf + ".crt"],
                         capture_output=True, check=True).stdout
    return pem, not_after_of(leaf + ".crt"), hashlib.sha256(der).hexdigest() + ".der"


def served_leaf(out):
    """The server certificate s_client printed (after the staple, which
    carries its signer's certificate), without line breaks."""
    m = re.search(r"Server certificate\s*-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----",
                  out, re.S)
    assert m, out
    return "".join(m.group(1).split())


def pem_body(pem):
    m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem, re.S)
    return "".join(m.group(1).split())


def expiry_gauges(env):
    text = urllib.request.urlopen("http://%s:%d/metrics" % (HOST, env.p["admin"]),
                                  timeout=5).read().decode()
    return re.findall(r'^fedgate_certificate_expiry_timestamp_seconds\{cert="([^"]*)"\} (\d+)$',
                      text, re.M), text


def log_size(env):
    return os.path.getsize(env.gw.logfile)


def log_since(env, offset):
    with open(env.gw.logfile, errors="replace") as f:
        f.seek(offset)
        return f.read()


def cert_lines(out):
    return [line for line in out.splitlines() if line.startswith("cert ")]


def test_6_rfc6066_8_reload_keeps_the_staple_of_an_unchanged_certificate(env):
    env.start_gateway()
    env.wait_certs(r"staple=good", 15)
    env.stop_responder()
    offset = log_size(env)
    reload_ok(env)
    # The reload's certificate object is new; it carries the staple at once,
    # neither fetched (the responder is down) nor read from the state file.
    assert_stapled_good(s_client_status(env))
    out = env.certs()
    assert len(cert_lines(out)) == 1 and "staple=good" in out, out
    log = log_since(env, offset)
    assert "reload: configuration generation 2 in force" in log, log
    assert "serving the saved OCSP response" not in log, log
    assert env.gw.metric("staples_current") == 1
    env.start_responder()


def test_7_rfc6066_8_renewed_certificate_reloaded_is_shown_gauged_and_stapled(env):
    old_leaf = served_leaf(s_client_status(env))
    gauges, _ = expiry_gauges(env)
    assert len(gauges) == 1 and gauges[0][0] == "b.test", gauges
    old_not_after = int(gauges[0][1])
    fetched = env.gw.metric("staple_fetches_ok_total")
    pem, not_after, state_file = install_leaf(env, "b25")
    assert not_after > old_not_after
    reload_ok(env)
    # The new certificate has its own entry: fetched from the responder.
    out = env.wait_certs(r"not_after=%s days_left=24 staple=good" % iso(not_after), 15)
    assert len(cert_lines(out)) == 1, out
    assert iso(old_not_after) not in out, out
    gauges, text = expiry_gauges(env)
    assert gauges == [("b.test", str(not_after))], text
    assert re.search(r'^fedgate_staple_age_seconds\{cert="b.test"\} \d+$', text, re.M), text
    served = s_client_status(env)
    assert_stapled_good(served)
    assert served_leaf(served) == pem_body(pem) != old_leaf, served
    assert env.gw.metric("staples_current") == 1
    assert env.gw.metric("staple_fetches_ok_total") > fetched
    assert state_file in env.state_files(), env.state_files()


def test_8_rfc6066_8_runtime_domain_add_staples_and_remove_retires(env):
    pem, _, _ = install_leaf(env, "c")
    add = {"domain": "c.test", "backend": "sink", "cert": env.dir + "/c.test.crt",
           "key": env.dir + "/c.test.key"}
    status, body = admin_post(env, "/domains/add", add)
    assert status == 200, (status, body)
    out = env.wait_certs(r"cert domains=c.test subject=CN=c.test .* staple=good", 15)
    assert len(cert_lines(out)) == 2, out
    served = s_client_status(env, "c.test")
    assert_stapled_good(served)
    assert served_leaf(served) == pem_body(pem), served
    status, body = admin_post(env, "/domains/remove", {"domain": "c.test"})
    assert status == 200, (status, body)
    out = env.certs()
    assert len(cert_lines(out)) == 1 and "c.test" not in out, out
    gauges, text = expiry_gauges(env)
    assert [c for c, _ in gauges] == ["b.test"], text
    assert 'cert="c.test"' not in text, text
    # Removed while its first fetch may still be under way: the request is
    # cancelled with the entry, and the gateway goes on serving.
    for _ in range(3):
        assert admin_post(env, "/domains/add", add)[0] == 200
        assert admin_post(env, "/domains/remove", {"domain": "c.test"})[0] == 200
    out = env.certs()
    assert len(cert_lines(out)) == 1 and "c.test" not in out, out
    assert_stapled_good(s_client_status(env))
    assert env.gw.metric("staples_current") == 1


def test_9_expiry_warning_stops_once_the_renewed_certificate_is_reloaded(env):
    install_leaf(env, "b5")
    env.start_gateway()
    warned = re.compile(r"certificate \S*b\.test\.crt \(b\.test\) expires in [45] days")
    assert warned.search(env.gw.log_tail(200)), env.gw.log_tail(40)
    env.wait_certs(r"days_left=[45] staple=good", 15)
    # A reload warns at once about the certificates it brings.
    offset = log_size(env)
    reload_ok(env)
    assert warned.search(log_since(env, offset)), log_since(env, offset)
    # Renewed, then reloaded by SIGHUP (certbot's deploy hook): not warned
    # about again.
    _, not_after, _ = install_leaf(env, "b25b")
    offset = log_size(env)
    env.gw.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 15
    while "configuration generation 3 in force" not in log_since(env, offset):
        assert time.time() < deadline, log_since(env, offset)
        time.sleep(0.2)
    log = log_since(env, offset)
    assert not re.search(r"b\.test\.crt .*expire", log), log
    out = env.wait_certs(r"not_after=%s days_left=24 staple=good" % iso(not_after), 15)
    assert len(cert_lines(out)) == 1, out
    gauges, text = expiry_gauges(env)
    assert gauges == [("b.test", str(not_after))], text


if __name__ == "__main__":
    sys.exit(fp.main_of(Env, globals()))
