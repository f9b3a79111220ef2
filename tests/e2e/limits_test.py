#!/usr/bin/python3
"""End-to-end tests of abuse.limits (docs/abuse.md).

A real `fedgate run` (two workers) on loopback hosting b.test (backend
`sink`), with low limits: 20 stanzas/s per remote domain (1 s of burst,
1 s sustained), 2 unsolicited stanzas a minute per (sender, recipient),
1 new connection per second per address, 2 stanzas/s per local sender.
Scripted peers play flood.test and remote.test; remote.test's server (a
ReceivingServer) receives bounces and outbound stanzas.

usage: limits_test.py FEDGATE_BINARY
"""

import os
import select
import socket
import ssl
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = "127.0.0.1"


def make_env():
    return fp.HostedGateway(FEDGATE, "fedgate-limits-", ("flood.test",),
                            ("abuse:\n  limits:\n    domain_stanzas: 20\n    unsolicited_per_minute: 2\n"
                "    connections: 1\n    domain_connections: 1\n    sender_stanzas: 2\n"
                "    outbound_domain_stanzas: 3\n    burst: 1s\n    sustained: 1s\n"))


def connect_when_admitted(env, fn, timeout=15):
    """Runs |fn| until the connection limit lets it through (tests share
    one address, so each waits for its token)."""
    deadline = time.time() + timeout
    while True:
        try:
            return fn()
        except (OSError, xp.StreamClosed, AssertionError):
            if time.time() > deadline:
                raise
            time.sleep(0.3)


def peer(env, frm):
    d = env.dir + "/pki"
    return connect_when_admitted(env, lambda: xp.authenticated(
        HOST, env.ports["s2s"], "b.test", frm, d + "/ca.crt", "%s/%s.crt" % (d, frm),
        "%s/%s.key" % (d, frm)))


def internal_sender(env):
    """b.test's internal server, authenticated on the internal listener."""
    return xp.authenticated(HOST, env.ports["internal"], "remote.test", "b.test", None,
                            "pki/b.test.crt", "pki/b.test.key")


def errors_by_id(server, ids, timeout=10):
    deadline = time.time() + timeout
    found = {}
    while time.time() < deadline and len(found) < len(ids):
        for _, el in list(server.stanzas):
            if el.get("type") == "error" and el.get("id") in ids:
                err = el.find(xp.q(xp.NS_SERVER, "error"))
                found[el.get("id")] = err[0].tag.split("}", 1)[1] if err is not None else None
        time.sleep(0.05)
    return found


def delivered_ids(server, ids):
    return {el.get("id") for _, el in list(server.stanzas)
            if el.get("id") in ids and el.get("type") != "error"}


def wait_settled(server, ids, timeout=10):
    """Waits until every id was delivered to |server| or bounced to env.auth;
    returns (delivered, {id: condition})."""
    deadline = time.time() + timeout
    while True:
        got = delivered_ids(server, ids)
        if len(got) == len(ids) or time.time() > deadline:
            return got
        time.sleep(0.05)


def test_connections_over_the_rate_refused_before_any_tls_work(env):
    """Direct TLS (XEP-0368): a refused connection is closed before the
    ServerHello; the handshakes completed plus those refused make the burst."""
    before = env.metric("limited_connections_total")
    time.sleep(1.1)  # a full bucket (1 token)
    ctx = ssl.create_default_context(cafile=env.dir + "/pki/ca.crt")
    ctx.set_alpn_protocols(["xmpp-server"])
    done = 0
    for _ in range(10):
        s = socket.create_connection((HOST, env.ports["tls"]), timeout=5)
        try:
            t = ctx.wrap_socket(s, server_hostname="b.test")
            done += 1
            t.close()
        except (ssl.SSLError, OSError):
            s.close()
    refused = env.metric("limited_connections_total") - before
    print("     %d handshakes, %d connections refused at accept" % (done, refused))
    assert done + refused == 10, (done, refused)
    assert done >= 1 and refused >= 1, (done, refused)
    assert "connections refused at accept" in env.gw.log_tail(200)


def test_rfc6120_4_9_3_12_new_streams_of_one_domain_over_the_rate_refused_before_tls(env):
    """abuse.limits.domain_connections: streams naming one remote domain,
    from different addresses (each within its own address budget), are
    refused at the stream header with policy-violation beyond the domain's
    rate, on 5269 before STARTTLS; the refusal is logged once."""
    before = env.metric("limited_domain_connections_total")
    time.sleep(1.1)  # a full bucket (1 token)
    offered, refused = 0, 0
    for i in range(2, 8):
        s = socket.create_connection((HOST, env.ports["s2s"]), timeout=5,
                                     source_address=("127.0.0.%d" % i, 0))
        p = xp.Peer(s)
        p.open_stream("b.test", "dcflood.test")
        try:
            p.read_header()
            feats = p.read_features()
            if feats.find(xp.q(xp.NS_TLS, "starttls")) is not None:
                offered += 1
        except xp.StreamClosed as e:
            assert "policy-violation" in str(e), e
            refused += 1
        p.close()
    counted = env.metric("limited_domain_connections_total") - before
    print("     %d streams offered STARTTLS, %d refused at the header" % (offered, refused))
    assert offered >= 1 and refused >= 1 and offered + refused == 6, (offered, refused)
    assert counted == refused, (counted, refused)
    assert env.gw.log_tail(200).count("over abuse.limits.domain_connections") == 1


def test_rfc6120_8_3_3_18_domain_over_its_rate_gets_resource_constraint_then_policy_violation(env):
    p = peer(env, "flood.test")
    rc_before = bounces_by(env, "resource-constraint")
    limited = env.metric("limited_stanzas_in_total")
    closed = env.metric("limited_streams_closed_total")
    sent = 0
    deadline = time.time() + 30
    try:
        # Over the rate until the stream is closed (a stream error to read).
        while time.time() < deadline and not select.select([p.sock], [], [], 0.02)[0]:
            for _ in range(10):
                p.send_message("f@flood.test/x", "bob@b.test", "flood", id="flood-%d" % sent)
                sent += 1
    except OSError:
        pass
    error = p.expect_stream_error()
    p.close()
    assert error == "policy-violation", error
    assert env.metric("limited_streams_closed_total") == closed + 1
    assert env.metric("limited_stanzas_in_total") > limited
    assert "closed: over the limit of stanzas per domain" in env.gw.log_tail(300)
    # The refused stanzas were answered with resource-constraint (their
    # sender's domain has no server here: the bounces are counted).
    assert bounces_by(env, "resource-constraint") > rc_before


def bounces_by(env, condition):
    url = "http://%s:%d/metrics" % (HOST, env.ports["admin"])
    want = 'fedgate_bounces_by_condition_total{condition="%s"} ' % condition
    for line in urllib.request.urlopen(url, timeout=5).read().decode().splitlines():
        if line.startswith(want):
            return int(line.split()[-1])
    raise KeyError(condition)


def unsolicited_over_budget_then_replies(env, tag, sender, recipients, written_to, replier):
    """|sender| sends a subscription request to each of |recipients| (one
    local user however spelled): the budget (2) lets the first two through
    and the rest are refused with policy-violation. Then bob writes to
    |written_to| and |replier|'s messages to him, replies now, all pass."""
    p = peer(env, "remote.test")
    before = env.metric("limited_unsolicited_total")
    ids = ["%s-%d" % (tag, n) for n in range(len(recipients))]
    for i, to in zip(ids, recipients):
        p.send("<presence from='%s' to='%s' type='subscribe' id='%s'/>" % (sender, to, i))
    got = errors_by_id(env.auth, ids[2:])
    assert got == {i: "policy-violation" for i in ids[2:]}, got
    assert wait_settled(env.sink, ids[:2]) == set(ids[:2])
    refused = len(ids) - 2
    assert env.metric("limited_unsolicited_total") == before + refused
    o = internal_sender(env)
    o.send_message("bob@b.test/pc", written_to, "hello", id="to-" + tag)
    deadline = time.time() + 10
    while "to-" + tag not in delivered_ids(env.auth, {"to-" + tag}) and time.time() < deadline:
        time.sleep(0.05)
    replies = ["%s-reply-%d" % (tag, i) for i in range(4)]
    for i in replies:
        p.send_message(replier, "bob@b.test", "reply", id=i)
    assert wait_settled(env.sink, replies) == set(replies)
    assert env.metric("limited_unsolicited_total") == before + refused
    o.close()
    p.close()


def test_unsolicited_subscription_requests_over_budget_refused_replies_pass(env):
    unsolicited_over_budget_then_replies(env, "sub", "spammer@remote.test", ["bob@b.test"] * 4,
                                         "friend@remote.test", "friend@remote.test/x")


def test_rfc7622_3_2_unsolicited_budget_holds_however_the_pair_is_spelled(env):
    """abuse.limits.unsolicited_per_minute is per (sender, recipient) as
    RFC 7622 compares them: spelling the recipient in other cases or with a
    trailing dot does not buy another budget, and a local user's message to
    a remote JID spelled otherwise still makes that JID's messages replies."""
    unsolicited_over_budget_then_replies(
        env, "spell", "speller@remote.test",
        ["carol@b.test", "Carol@b.test", "carol@B.test.", "CAROL@b.test", "cArol@b.test.",
         "caRol@B.TEST"], "Dora@REMOTE.test.", "dora@remote.test/x")


def test_rfc6120_8_3_3_18_local_sender_over_its_rate_refused(env):
    o = internal_sender(env)
    time.sleep(1.1)  # a full bucket for bob
    before = env.metric("limited_stanzas_out_total")
    ids = ["out-%d" % i for i in range(8)]
    for i in ids:
        o.send_message("carol@b.test/pc", "dave@remote.test", "outbound", id=i)
    deadline = time.time() + 10
    while time.time() < deadline:
        refused = env.metric("limited_stanzas_out_total") - before
        passed = len(delivered_ids(env.auth, set(ids)))
        if refused + passed == len(ids):
            break
        time.sleep(0.05)
    assert refused + passed == len(ids), (refused, passed)
    assert refused >= 1 and passed >= 1, (refused, passed)
    got = errors_by_id(env.sink, set(ids) - delivered_ids(env.auth, set(ids)))
    assert set(got.values()) == {"resource-constraint"}, got
    o.close()


def outbound_over_one_domain_budget(env, tag, recipients):
    """Ten local senders, each within its own budget, send one stanza each
    to |recipients| (ten JIDs of remote.test) at once: remote.test's budget
    (3 tokens) lets 1 to 4 through and the rest get resource-constraint
    bounces; nothing is dropped silently."""
    o = internal_sender(env)
    time.sleep(1.1)  # a full bucket for remote.test (3 tokens)
    before = env.metric("limited_stanzas_out_total")
    ids = ["%s-%d" % (tag, n) for n in range(len(recipients))]
    for n, (i, to) in enumerate(zip(ids, recipients)):
        o.send_message("%s%d@b.test/pc" % (tag, n), to, "outbound", id=i)
    deadline = time.time() + 10
    while time.time() < deadline:
        refused = env.metric("limited_stanzas_out_total") - before
        passed = len(delivered_ids(env.auth, set(ids)))
        if refused + passed == len(ids):
            break
        time.sleep(0.05)
    assert refused + passed == len(ids), (refused, passed)
    assert 1 <= passed <= 4 and refused >= 6, (refused, passed)
    got = errors_by_id(env.sink, set(ids) - delivered_ids(env.auth, set(ids)))
    assert set(got.values()) == {"resource-constraint"}, got
    o.close()


def test_rfc6120_8_3_3_18_outbound_to_one_remote_domain_over_its_rate_refused(env):
    """abuse.limits.outbound_domain_stanzas: many local senders together over
    the rate of one remote domain."""
    outbound_over_one_domain_budget(env, "od", ["erin@remote.test"] * 10)


def test_rfc7622_3_2_outbound_domain_budget_holds_however_the_domain_is_spelled(env):
    """abuse.limits.outbound_domain_stanzas: one remote domain has one budget
    whatever case or trailing dot 'to' spells it with (RFC 7622 §3.2: the
    domain the stanza is routed to); ten spellings do not make ten."""
    outbound_over_one_domain_budget(env, "os", [
        "erin@" + d for d in ("remote.test", "REMOTE.test", "remote.test.", "Remote.Test",
                              "rEmote.test.", "reMote.test", "remOte.TEST.", "remoTe.test",
                              "remotE.tesT", "REMOTE.TEST.")])


def test_zz_nothing_lost_silently_by_the_counters(env):
    env.gw.assert_accounted(timeout=15)


if __name__ == "__main__":
    sys.exit(fp.main_of(make_env, globals()))
