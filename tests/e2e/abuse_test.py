#!/usr/bin/python3
"""End-to-end tests of the block lists (docs/abuse.md).

A real `fedgate run` (two workers) on loopback hosting b.test (backend
`sink`). Scripted remote peers (xmpp_peer.Peer) play remote.test and
spam.test; remote.test's own server (a ReceivingServer pinned by dns.static)
receives bounces. The configuration blocks config-blocked.test and
*.bad.test; the rest is blocked and unblocked at run time through the
`fedgate ctl` binary. The counters prove that nothing is lost silently.

usage: abuse_test.py FEDGATE_BINARY
"""

import hashlib
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = "127.0.0.1"
DIGEST = hashlib.sha256(b"listed@remote.test").hexdigest()


def make_env():
    return fp.HostedGateway(FEDGATE, "fedgate-abuse-", ("spam.test",),
                            "abuse:\n  block: [config-blocked.test, \"*.bad.test\", %s]\n"
                            % DIGEST.upper())


def ctl(env, *args):
    return fp.ctl(FEDGATE, env.ports["admin"], *args)


def peer(env, frm, to="b.test"):
    """|frm| (remote.test or spam.test) authenticated by SASL EXTERNAL."""
    d = env.dir + "/pki"
    return xp.authenticated(HOST, env.ports["s2s"], to, frm, d + "/ca.crt",
                            "%s/%s.crt" % (d, frm), "%s/%s.key" % (d, frm))


def header_refusal(env, frm):
    return xp.header_refusal(HOST, env.ports["s2s"], "b.test", frm)


def internal_sender(env, to):
    """b.test's internal server, authenticated on the internal listener."""
    return xp.authenticated(HOST, env.ports["internal"], to, "b.test", None, "pki/b.test.crt",
                            "pki/b.test.key")


def wait_error(server, stanza_id, timeout=10):
    """The condition of the error stanza with |stanza_id| |server| received."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for _, el in list(server.stanzas):
            if el.get("type") == "error" and el.get("id") == stanza_id:
                err = el.find(xp.q(xp.NS_SERVER, "error"))
                return err[0].tag.split("}", 1)[1] if err is not None else None
        time.sleep(0.05)
    raise AssertionError("no error stanza with id %s" % stanza_id)


def wait_body(server, body, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for _, el in list(server.stanzas):
            b = el.find(xp.q(xp.NS_SERVER, "body"))
            if b is not None and b.text == body:
                return
        time.sleep(0.05)
    raise AssertionError("%r not delivered" % body)


# --- configuration ---

def test_check_config_reports_bad_block_entries_at_their_line(env):
    bad = os.path.join(env.dir, "bad.yaml")
    text = open(os.path.join(env.dir, "fedgate.yaml")).read()
    text = text.split("abuse:")[0] + (
        "abuse:\n  block:\n    - ok.test\n    - \"bad..test\"\n    - \"a.*.test\"\n"
        "  allow_only: [%s]\n"
        "  rtbl:\n    - {service: rtbl.test, node: spam, jid: rtbl@elsewhere.test}\n" % DIGEST)
    open(bad, "w").write(text)
    r = subprocess.run([FEDGATE, "check-config", bad], capture_output=True, text=True)
    assert r.returncode == 1, r
    lines = text.splitlines()
    want = {
        "abuse.block[1]": lines.index("    - \"bad..test\"") + 1,
        "abuse.block[2]": lines.index("    - \"a.*.test\"") + 1,
        "abuse.allow_only[0]": next(i for i, l in enumerate(lines) if "allow_only" in l) + 1,
        "abuse.rtbl[0].jid": next(i for i, l in enumerate(lines) if "rtbl@" in l) + 1,
    }
    for key, line in want.items():
        assert "%s:%d: %s:" % (bad, line, key) in r.stderr, (key, line, r.stderr)
    assert "must be on a hosted domain" in r.stderr, r.stderr


def test_rfc6120_4_9_3_14_config_block_refuses_the_stream_header(env):
    before = env.metric("blocked_streams_total")
    assert header_refusal(env, "config-blocked.test") == "policy-violation"
    assert header_refusal(env, "deep.sub.bad.test") == "policy-violation"
    assert env.metric("blocked_streams_total") == before + 2
    assert "stream from 127.0.0.1 refused: domain blocked (config)" in env.gw.log_tail(200)


def test_ctl_explain_names_the_list(env):
    for d, want in (("config-blocked.test", "blocked (config)"),
                    ("x.bad.test", "blocked (config)"), ("bad.test", "allowed"),
                    ("remote.test", "allowed"), ("listed@remote.test", "blocked (config)"),
                    ("other@remote.test", "allowed")):
        rc, out, err = ctl(env, "explain", d)
        assert rc == 0 and out == "%s: %s\n" % (d, want), (d, rc, out, err)
    rc, out, err = ctl(env, "explain", "not a domain")
    assert rc == 1 and "error:" in err, (rc, out, err)


def test_rfc6120_4_9_3_14_ctl_block_closes_open_stream_and_refuses_new_ones(env):
    p = peer(env, "spam.test")
    p.send_message("s@spam.test/x", "bob@b.test", "before the block")
    wait_body(env.sink, "before the block")
    before = env.metric("blocked_streams_total")
    rc, out, err = ctl(env, "block", "domain", "spam.test", "--reason", "spam wave")
    assert rc == 0 and out.startswith("ok: spam.test blocked (admin: spam wave)"), (rc, out, err)
    t0 = time.time()
    try:
        while True:
            p.read_element()
    except xp.StreamClosed as e:
        assert e.error == "policy-violation", e.error
        assert "spam wave" in (e.text or ""), e.text
    print("     open stream closed %.2f s after the block" % (time.time() - t0))
    p.close()
    assert header_refusal(env, "spam.test") == "policy-violation"
    assert env.metric("blocked_streams_total") == before + 2
    rc, out, _ = ctl(env, "explain", "spam.test")
    assert out == "spam.test: blocked (admin: spam wave)\n", out
    rc, out, _ = ctl(env, "list", "blocks")
    assert "list=block source=admin kind=domain key=spam.test reason=spam wave" in out, out
    assert "list=block source=config kind=suffix key=*.bad.test reason=-" in out, out
    # Unblocked, it authenticates again.
    rc, out, err = ctl(env, "unblock", "domain", "spam.test")
    assert rc == 0 and out == "ok: spam.test unblocked\n", (rc, out, err)
    rc, out, _ = ctl(env, "explain", "spam.test")
    assert out == "spam.test: allowed\n", out
    p = peer(env, "spam.test")
    p.send_message("s@spam.test/x", "bob@b.test", "after the unblock")
    wait_body(env.sink, "after the unblock")
    p.close()
    rc, out, err = ctl(env, "unblock", "domain", "spam.test")
    assert rc == 1 and "not on the admin block list" in err, (rc, out, err)


def test_rfc6120_8_3_3_4_blocked_sender_gets_forbidden_others_pass(env):
    p = peer(env, "remote.test")
    refused = env.metric("blocked_stanzas_in_total")
    rc, out, err = ctl(env, "block", "sender", "Mallory@remote.test")
    assert rc == 0 and out.startswith("ok: mallory@remote.test (sha256 "), (rc, out, err)
    i1 = p.send_message("mallory@remote.test/phone", "bob@b.test", "spam from mallory")
    i2 = p.send_message("listed@remote.test/x", "bob@b.test", "spam from a listed digest")
    p.send_message("alice@remote.test/x", "bob@b.test", "hello from alice")
    assert wait_error(env.auth, i1) == "forbidden"
    assert wait_error(env.auth, i2) == "forbidden"
    wait_body(env.sink, "hello from alice")
    assert env.metric("blocked_stanzas_in_total") == refused + 2
    rc, out, err = ctl(env, "unblock", "sender", "mallory@remote.test")
    assert rc == 0, (rc, out, err)
    p.send_message("mallory@remote.test/phone", "bob@b.test", "mallory again")
    wait_body(env.sink, "mallory again")
    p.close()


def test_rfc7622_3_2_blocked_sender_spelled_otherwise_still_gets_forbidden(env):
    """The sender's bare JID is blocked however the peer spells its domainpart
    (RFC 7622 §3.2: one trailing dot is stripped before any comparison; case
    is not significant), and the stream's cache of its last clean sender
    does not let a blocked one through after a clean one."""
    p = peer(env, "remote.test")
    refused = env.metric("blocked_stanzas_in_total")
    rc, out, err = ctl(env, "block", "sender", "mallory@remote.test")
    assert rc == 0, (rc, out, err)
    try:
        p.send_message("alice@remote.test/x", "bob@b.test", "clean first")
        ids = [p.send_message(frm, "bob@b.test", "spelled otherwise")
               for frm in ("mallory@remote.test./phone", "Mallory@REMOTE.test.",
                           "MALLORY@remote.test/x", "mallory@remote.test")]
        wait_body(env.sink, "clean first")
        for i in ids:
            assert wait_error(env.auth, i) == "forbidden", i
        assert env.metric("blocked_stanzas_in_total") == refused + len(ids)
        for _, el in list(env.sink.stanzas):
            b = el.find(xp.q(xp.NS_SERVER, "body"))
            assert b is None or b.text != "spelled otherwise", el.get("from")
    finally:
        assert ctl(env, "unblock", "sender", "mallory@remote.test")[0] == 0
        p.close()


def test_rfc6120_8_3_3_4_sender_blocked_after_passing_is_refused_on_the_same_stream(env):
    """The stream's cache of its last clean sender is per block-list
    generation: a sender that passed, then blocked, gets forbidden for its
    next stanza on the same stream, and passes again once unblocked."""
    p = peer(env, "remote.test")
    try:
        p.send_message("trudy@remote.test/a", "bob@b.test", "trudy clean")
        wait_body(env.sink, "trudy clean")
        rc, out, err = ctl(env, "block", "sender", "trudy@remote.test")
        assert rc == 0, (rc, out, err)
        sid = p.send_message("trudy@remote.test/a", "bob@b.test", "trudy blocked")
        assert wait_error(env.auth, sid) == "forbidden"
        assert ctl(env, "unblock", "sender", "trudy@remote.test")[0] == 0
        p.send_message("trudy@remote.test/a", "bob@b.test", "trudy again")
        wait_body(env.sink, "trudy again")
        for _, el in list(env.sink.stanzas):
            b = el.find(xp.q(xp.NS_SERVER, "body"))
            assert b is None or b.text != "trudy blocked"
    finally:
        ctl(env, "unblock", "sender", "trudy@remote.test")
        p.close()


def test_rfc6120_8_3_3_12_outbound_to_blocked_domain_bounced_policy_violation(env):
    p = internal_sender(env, "x.bad.test")
    before = env.metric("blocked_stanzas_out_total")
    sid = p.send_message("bob@b.test/x", "eve@x.bad.test", "to a blocked domain")
    assert wait_error(env.sink, sid) == "policy-violation"
    assert env.metric("blocked_stanzas_out_total") == before + 1
    p.close()


def test_metrics_show_the_list_size_and_bytes(env):
    url = "http://%s:%d/metrics" % (HOST, env.ports["admin"])
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    assert 'fedgate_blocklist_entries{kind="domain"} 1\n' in text, text
    assert 'fedgate_blocklist_entries{kind="suffix"} 1\n' in text, text
    assert 'fedgate_blocklist_entries{kind="jid"} 1\n' in text, text
    assert int(text.split("\nfedgate_blocklist_bytes ")[1].split()[0]) > 0


def test_reload_replaces_the_config_entries_and_keeps_admin_ones(env):
    rc, out, err = ctl(env, "block", "domain", "kept.test", "--reason", "by hand")
    assert rc == 0, (rc, out, err)
    text = open(env.gw.cfgfile).read()
    new = text.replace("config-blocked.test", "reloaded.test")
    tmp = env.gw.cfgfile + ".new"
    with open(tmp, "w") as f:
        f.write(new)
    os.rename(tmp, env.gw.cfgfile)
    try:
        rc, out, err = ctl(env, "reload")
        assert rc == 0 and out.startswith("ok: generation"), (rc, out, err)
        for d, want in (("reloaded.test", "blocked (config)"), ("config-blocked.test", "allowed"),
                        ("x.bad.test", "blocked (config)"), ("kept.test", "blocked (admin: by hand)")):
            rc, out, _ = ctl(env, "explain", d)
            assert out == "%s: %s\n" % (d, want), (d, out)
        # A limit is read at start: changing one needs a restart.
        with open(tmp, "w") as f:
            f.write(new + "  limits:\n    domain_stanzas: 5\n")
        os.rename(tmp, env.gw.cfgfile)
        rc, out, err = ctl(env, "reload")
        assert rc == 1 and "abuse.limits.domain_stanzas" in err and "needs a restart" in err, err
    finally:
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, env.gw.cfgfile)
        assert ctl(env, "reload")[0] == 0
        assert ctl(env, "unblock", "domain", "kept.test")[0] == 0


def test_y_block_closes_open_outbound_links(env):
    p = internal_sender(env, "remote.test")
    p.send_message("bob@b.test/x", "ann@remote.test", "before the link block")
    wait_body(env.auth, "before the link block")
    _, out, _ = ctl(env, "streams")
    assert any(l.startswith("link ") and "remote=remote.test" in l for l in out.splitlines()), out
    closed = env.metric("blocked_links_closed_total")
    rc, out, err = ctl(env, "block", "domain", "remote.test")
    assert rc == 0, (rc, out, err)
    deadline = time.time() + 10
    while env.metric("blocked_links_closed_total") == closed and time.time() < deadline:
        time.sleep(0.05)
    # One link per worker may lead there (earlier bounces opened some).
    assert env.metric("blocked_links_closed_total") >= closed + 1
    sid = p.send_message("bob@b.test/x", "ann@remote.test", "after the link block")
    assert wait_error(env.sink, sid) == "policy-violation"
    rc, out, err = ctl(env, "unblock", "domain", "remote.test")
    assert rc == 0, (rc, out, err)
    p.close()


def test_zz_nothing_lost_silently_by_the_counters(env):
    env.gw.assert_accounted(timeout=15)


if __name__ == "__main__":
    sys.exit(fp.main_of(make_env, globals()))
