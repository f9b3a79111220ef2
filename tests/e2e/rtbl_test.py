#!/usr/bin/python3
"""End-to-end tests of real-time block lists (RTBL, XEP-0060) with Prosody.

Prosody 0.12.3 on loopback runs the block list service: a `pubsub`
component pubsub.rtbl.test (node "spam"), published to by pub@rtbl.test
over a raw c2s stream. Its outbound s2s goes to fedgate's public listener
(contrib/prosody/mod_fedgate_route.lua); fedgate reaches it by dns.static.
fedgate (hosting b.test, backend `sink`) follows the node as rtbl@b.test.
Scripted peers play remote.test and spam.test; remote.test's server (a
ReceivingServer) receives bounces. Prosody is restarted with a fresh node
to show that fedgate fetches and subscribes again.

usage: rtbl_test.py FEDGATE_BINARY
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import prosody as pr  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = "127.0.0.1"
SERVICE = "pubsub.rtbl.test"
NODE = "spam"
SOURCE = "rtbl:%s/%s" % (SERVICE, NODE)
# What explain shows for an item with a XEP-0377 spam report and |text|.
WHY = "blocked (" + SOURCE + ": spam: %s)"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"


class Publisher(pr.RawClient):
    """pub@rtbl.test on a raw c2s stream, publishing to the service; every
    request waits for its result."""

    def __init__(self, port):
        super().__init__(port, "rtbl.test", "pub", "secret-pw")

    def create(self):
        self.iq("set", SERVICE, "<pubsub xmlns='%s'><create node='%s'/></pubsub>" % (NS_PUBSUB, NODE))

    def publish(self, item_id, text="spam wave"):
        self.iq("set", SERVICE,
                "<pubsub xmlns='%s'><publish node='%s'><item id='%s'><report "
                "xmlns='urn:xmpp:reporting:1' reason='urn:xmpp:reporting:spam'><text>%s</text>"
                "</report></item></publish></pubsub>" % (NS_PUBSUB, NODE, item_id, text))

    def retract(self, item_id):
        self.iq("set", SERVICE,
                "<pubsub xmlns='%s'><retract node='%s' notify='true'><item id='%s'/></retract>"
                "</pubsub>" % (NS_PUBSUB, NODE, item_id))


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-rtbl-")
        os.chmod(self.dir, 0o755)  # prosodyctl drops to the prosody user
        d = self.dir
        os.chdir(d)
        fp.dev_pki(FEDGATE, "pki", "remote.test", "spam.test", "b.test", SERVICE)
        fp.dev_pki(FEDGATE, "ica", "unused.test")
        fp.write_secret("secret", "test-dialback-secret")
        self.ports = {k: fp.free_port() for k in ("s2s", "tls", "internal", "admin", "sink",
                                                  "auth", "c2s", "ps2s")}
        p = self.ports
        self.prosody = None
        self.start_prosody("p1")
        pub = Publisher(p["c2s"])
        pub.create()
        pub.publish("old.test", "listed before fedgate started")
        pub.close()
        cfg = fp.gateway_yaml(p, [("b.test", "sink", None)], [("sink", [p["sink"]])],
                              default_cert="pki/b.test",
                              static=[("remote.test", p["auth"]), (SERVICE, p["ps2s"])])
        cfg += ("abuse:\n  rtbl:\n    - {service: %s, node: %s, jid: rtbl@b.test}\n"
                % (SERVICE, NODE))
        self.sink = xp.ReceivingServer(HOST, p["sink"], d + "/pki/b.test.crt",
                                       d + "/pki/b.test.key", client_ca=d + "/ica/ca.crt")
        self.auth = xp.ReceivingServer(HOST, p["auth"], d + "/pki/remote.test.crt",
                                       d + "/pki/remote.test.key", client_ca=d + "/pki/ca.crt")
        self.gw = fp.Fedgate(FEDGATE, d, "fedgate", cfg, p["admin"])

    def start_prosody(self, name):
        p = self.ports
        extra = 'Component "%s" "pubsub"\n  admins = { "pub@rtbl.test" }\n' % SERVICE
        self.prosody = pr.Prosody(self.dir + "/" + name, "rtbl.test", p["c2s"], p["ps2s"],
                                  "pki/%s.crt" % SERVICE, "pki/%s.key" % SERVICE, "pki/ca.crt",
                                  fedgate_port=p["s2s"], users=[("pub", "secret-pw")],
                                  extra=extra)

    def metric(self, name):
        return self.gw.metric(name)

    def close(self):
        self.gw.stop()
        if self.prosody is not None:
            self.prosody.stop()
        self.sink.close()
        self.auth.close()


def ctl(env, *args):
    return fp.ctl(FEDGATE, env.ports["admin"], *args)


def wait_explain(env, name, want, timeout=30):
    """Polls `fedgate ctl explain NAME` until its line is |want|."""
    deadline = time.time() + timeout
    out = ""
    while time.time() < deadline:
        _, out, _ = ctl(env, "explain", name)
        if out == "%s: %s\n" % (name, want):
            return
        time.sleep(0.1)
    raise AssertionError("explain %s: %r, wanted %r\n%s" % (
        name, out, want, env.gw.log_tail(30)))


def peer(env, frm):
    d = env.dir + "/pki"
    return xp.authenticated(HOST, env.ports["s2s"], "b.test", frm, d + "/ca.crt",
                            "%s/%s.crt" % (d, frm), "%s/%s.key" % (d, frm))


def header_refusal(env, frm):
    return xp.header_refusal(HOST, env.ports["s2s"], "b.test", frm)


def wait_stanza(server, pred, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for _, el in list(server.stanzas):
            if pred(el):
                return el
        time.sleep(0.05)
    raise AssertionError("stanza not received")


def body_is(text):
    def pred(el):
        b = el.find(xp.q(xp.NS_SERVER, "body"))
        return b is not None and b.text == text
    return pred


def error_of(el):
    err = el.find(xp.q(xp.NS_SERVER, "error"))
    return err[0].tag.split("}", 1)[1] if err is not None else None


def test_xep0060_6_5_items_fetched_at_start_replace_the_source(env):
    wait_explain(env, "old.test", WHY % "listed before fedgate started")
    assert env.metric("rtbl_requests_total") >= 2
    _, out, _ = ctl(env, "list", "blocks")
    assert "source=%s kind=domain key=old.test" % SOURCE in out, out


def test_xep0060_7_1_publish_closes_open_stream_and_refuses_new(env):
    p = peer(env, "spam.test")
    p.send_message("s@spam.test/x", "bob@b.test", "spam.test before")
    wait_stanza(env.sink, body_is("spam.test before"))
    pub = Publisher(env.ports["c2s"])
    t0 = time.time()
    pub.publish("spam.test")
    try:
        while True:
            p.read_element()
    except xp.StreamClosed as e:
        assert e.error == "policy-violation", e.error
    print("     open stream closed %.2f s after the publish" % (time.time() - t0))
    p.close()
    assert header_refusal(env, "spam.test") == "policy-violation"
    wait_explain(env, "spam.test", WHY % "spam wave")
    # Retracted: accepted again.
    pub.retract("spam.test")
    wait_explain(env, "spam.test", "allowed")
    p = peer(env, "spam.test")
    p.send_message("s@spam.test/x", "bob@b.test", "spam.test after the retract")
    wait_stanza(env.sink, body_is("spam.test after the retract"))
    p.close()
    pub.close()


def test_rfc6120_8_3_3_4_hashed_jid_refuses_only_that_sender(env):
    digest = hashlib.sha256(b"mallory@remote.test").hexdigest()
    pub = Publisher(env.ports["c2s"])
    pub.publish(digest, "spammer")
    pub.close()
    wait_explain(env, "mallory@remote.test", WHY % "spammer")
    p = peer(env, "remote.test")
    sid = p.send_message("mallory@remote.test/bot", "bob@b.test", "from mallory")
    p.send_message("alice@remote.test/x", "bob@b.test", "from alice")
    wait_stanza(env.sink, body_is("from alice"))
    el = wait_stanza(env.auth, lambda e: e.get("id") == sid and e.get("type") == "error")
    assert error_of(el) == "forbidden", xp.ET.tostring(el)
    assert not any(body_is("from mallory")(e) for _, e in list(env.sink.stanzas))
    p.close()


def test_rfc7622_3_2_the_rtbl_address_however_spelled_is_fedgate_s(env):
    # Case and a trailing dot do not make another address (RFC 7622 §3.2):
    # a stanza to fedgate's RTBL JID so spelled, from one not the service, is
    # fedgate's to ignore, never the backend's.
    ignored = env.metric("rtbl_ignored_total")
    p = peer(env, "remote.test")
    for to in ("RTBL@b.test./fedgate", "rtbl@B.TEST."):
        p.send_message("mallory@remote.test/bot", to, "to the rtbl as " + to)
    p.send_message("alice@remote.test/x", "bob@b.test", "after the rtbl spellings")
    wait_stanza(env.sink, body_is("after the rtbl spellings"))
    assert env.metric("rtbl_ignored_total") == ignored + 2
    assert not any((e.findtext(xp.q(xp.NS_SERVER, "body")) or "").startswith("to the rtbl")
                   for _, e in list(env.sink.stanzas))
    p.close()


def test_xep0060_malformed_item_is_skipped_and_the_list_stays(env):
    invalid = env.metric("rtbl_items_invalid_total")
    pub = Publisher(env.ports["c2s"])
    pub.publish("not a domain..", "garbage")
    pub.publish("*.wildcards.test", "suffixes are not list items")
    pub.close()
    deadline = time.time() + 15
    while env.metric("rtbl_items_invalid_total") < invalid + 2 and time.time() < deadline:
        time.sleep(0.05)
    assert env.metric("rtbl_items_invalid_total") == invalid + 2
    wait_explain(env, "old.test", WHY % "listed before fedgate started")
    wait_explain(env, "x.wildcards.test", "allowed")
    assert "id neither a domain nor a SHA-256 digest" in env.gw.log_tail(100)


def test_xep0060_service_restart_fetches_and_subscribes_again(env):
    resyncs = env.metric("rtbl_resyncs_total")
    env.prosody.stop()
    shutil.rmtree(env.dir + "/p1", ignore_errors=True)
    env.start_prosody("p2")  # a fresh service: the old items and subscriptions are gone
    pub = Publisher(env.ports["c2s"])
    pub.create()
    pub.publish("new.test", "listed while fedgate was away")
    # Fetched again: the whole source replaced (old.test gone, new.test in).
    wait_explain(env, "new.test", WHY % "listed while fedgate was away")
    wait_explain(env, "old.test", "allowed")
    assert env.metric("rtbl_resyncs_total") > resyncs
    # Subscribed again: a later publish arrives as a notification.
    pub.publish("later.test", "after the restart")
    wait_explain(env, "later.test", WHY % "after the restart")
    pub.close()


def test_zz_rtbl_stanzas_never_reach_the_backend_and_nothing_is_lost(env):
    assert env.metric("rtbl_stanzas_total") > 0
    assert env.metric("rtbl_notifications_total") >= 3
    for _, el in list(env.sink.stanzas):
        assert not (el.get("to") or "").startswith("rtbl@"), xp.ET.tostring(el)
    env.gw.assert_accounted(timeout=15)


if __name__ == "__main__":
    sys.exit(fp.main_of(Env, globals()))
