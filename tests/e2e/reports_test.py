#!/usr/bin/python3
"""End-to-end tests of abuse report forwarding (XEP-0377 to XEP-0157).

Prosody 0.12.3 on loopback serves two remote domains: reports.test, whose
server information (mod_server_contact_info) names xmpp:abuse@reports.test
(and a mailto: address), and plain.test, which names none. Its outbound s2s
goes to fedgate's public listener (contrib/prosody/mod_fedgate_route.lua);
fedgate reaches both by dns.static. b.test's internal server (a scripted
peer on the internal listener, backend `sink` for the answers) reports a
spammer to each remote domain.

usage: reports_test.py FEDGATE_BINARY
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import prosody as pr  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = "127.0.0.1"
NS_REPORTING = "urn:xmpp:reporting:1"


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-reports-")
        os.chmod(self.dir, 0o755)  # prosodyctl drops to the prosody user
        d = self.dir
        os.chdir(d)
        fp.dev_pki(FEDGATE, "pki", "b.test", "reports.test", "plain.test")
        fp.dev_pki(FEDGATE, "ica", "unused.test")
        fp.write_secret("secret", "test-dialback-secret")
        self.ports = {k: fp.free_port() for k in ("s2s", "tls", "internal", "admin", "sink",
                                                  "c2s", "ps2s")}
        p = self.ports
        extra = ('contact_info = { abuse = { "mailto:abuse@reports.test", '
                 '"xmpp:abuse@reports.test" } }\n'
                 'VirtualHost "plain.test"\n'
                 '  ssl = { certificate = "%s/pki/plain.test.crt"; key = "%s/pki/plain.test.key" }\n'
                 % (d, d))
        self.prosody = pr.Prosody(d + "/prosody", "reports.test", p["c2s"], p["ps2s"],
                                  "pki/reports.test.crt", "pki/reports.test.key", "pki/ca.crt",
                                  fedgate_port=p["s2s"], users=[("abuse", "abuse-pw")],
                                  extra=extra, modules=["server_contact_info"])
        cfg = fp.gateway_yaml(p, [("b.test", "sink", None)], [("sink", [p["sink"]])],
                              default_cert="pki/b.test",
                              static=[("reports.test", p["ps2s"]), ("plain.test", p["ps2s"])])
        self.sink = xp.ReceivingServer(HOST, p["sink"], d + "/pki/b.test.crt",
                                       d + "/pki/b.test.key", client_ca=d + "/ica/ca.crt")
        self.gw = fp.Fedgate(FEDGATE, d, "fedgate", cfg, p["admin"])

    def metric(self, name):
        return self.gw.metric(name)

    def close(self):
        self.gw.stop()
        self.prosody.stop()
        self.sink.close()


def internal_sender(env, to):
    """b.test's internal server, authenticated on the internal listener."""
    return xp.authenticated(HOST, env.ports["internal"], to, "b.test", None, "pki/b.test.crt",
                            "pki/b.test.key")


def report(p, domain, sid):
    p.send("<message from='bob@b.test/pc' to='%s' id='%s'><report xmlns='%s' "
           "reason='urn:xmpp:reporting:spam'><jid xmlns='urn:xmpp:jid:0'>spammer@%s</jid>"
           "<text>unsolicited links</text></report><body>abuse report</body></message>"
           % (domain, sid, NS_REPORTING, domain))


def test_xep0157_report_forwarded_to_the_domains_abuse_address(env):
    abuse = pr.RawClient(env.ports["c2s"], "reports.test", "abuse", "abuse-pw", available=True)
    p = internal_sender(env, "reports.test")
    before = env.metric("abuse_reports_forwarded_total")
    report(p, "reports.test", "rep-1")
    m = abuse.next_message()
    assert m.get("from", "").startswith("bob@b.test"), xp.ET.tostring(m)
    rep = m.find(xp.q(NS_REPORTING, "report"))
    assert rep is not None and rep.get("reason") == "urn:xmpp:reporting:spam", xp.ET.tostring(m)
    assert rep.find(xp.q("urn:xmpp:jid:0", "jid")).text == "spammer@reports.test"
    assert env.metric("abuse_reports_forwarded_total") == before + 1
    assert env.metric("abuse_reports_received_total") >= 1
    # The disco#info answer was fedgate's: nothing for b.test/fedgate-abuse at the backend.
    assert not any("fedgate-abuse" in (el.get("to") or "") for _, el in list(env.sink.stanzas))
    abuse.close()
    p.close()


def test_rfc6120_8_3_3_19_report_to_a_domain_without_abuse_address_bounced(env):
    p = internal_sender(env, "plain.test")
    before = env.metric("abuse_reports_failed_total")
    report(p, "plain.test", "rep-2")
    deadline = time.time() + 20
    err = None
    while err is None and time.time() < deadline:
        for _, el in list(env.sink.stanzas):
            if el.get("id") == "rep-2" and el.get("type") == "error":
                err = el
        time.sleep(0.05)
    assert err is not None, env.gw.log_tail(30)
    cond = err.find(xp.q(xp.NS_SERVER, "error"))[0].tag.split("}", 1)[1]
    assert cond == "service-unavailable", cond
    assert env.metric("abuse_reports_failed_total") == before + 1
    assert "publishes no xmpp: abuse address" in env.gw.log_tail(200)
    p.close()


def test_zz_nothing_lost_silently_by_the_counters(env):
    env.gw.assert_accounted(timeout=15)


if __name__ == "__main__":
    sys.exit(fp.main_of(Env, globals()))
