#!/usr/bin/python3
"""Fault injection between two gateways: nothing is lost silently.

a.test's internal server (a scripted xmpp_peer.Peer on A's internal
listener) sends numbered messages to bob@b.test: A -> fault proxy -> B ->
B's sink backend. Bounces come back through A's hop to A's sink. The proxy
(tests/e2e/fault_proxy.py) cuts, half-closes, stalls, slows, fragments,
refuses and reorders the A -> B connections; B is also killed and started
again. In the DNS scenarios A finds B through a resolver on loopback
(tests/e2e/flaky_resolver.py: unbound) that stops answering, answers
SERVFAIL, or moves B's SRV record to a new target. Every scenario ends with its invariants checked on exact counts:

- sent = delivered + bounced: every message id reaches B's sink or comes
  back to A's sink as an error (with XEP-0198 between the gateways); where
  B does not speak XEP-0198, the missing ones are at most A's
  fedgate_stanzas_unconfirmed_total (written to a stream that broke);
- duplicates at most what A resent (none without faults, and none where
  the stream was resumed: XEP-0198 §5 between the two gateways);
- order kept per input stream (first arrivals in sending order);
- both gateways' counters add up (stanzas in = delivered + bounced + not
  bounced, once acks are in).

usage: faults_test.py FEDGATE_BINARY [SCENARIO ...]
soak:  faults_test.py FEDGATE_BINARY --soak SECONDS
"""

import os
import random
import shutil
import json
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collections  # noqa: E402
import fault_proxy  # noqa: E402
import flaky_resolver  # noqa: E402
import fedgate_proc as fp  # noqa: E402
import xmpp_peer as xp  # noqa: E402

S2SLOAD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
                       "s2sload.py")
FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = fp.HOST
# The held and the unacknowledged stanzas of a link are bounded by
# queue_stanzas: every burst of a scenario fits while the link connects.
# handshake_timeout bounds each gateway's hop handshake with its Python sink
# and A's handshakes through the proxy, which may hold an attempt for 2 s
# (the reordered scenario) before it starts: on a loaded machine 3 s ran
# out there (B's hop "timeout", its 20 held stanzas bounced) although no
# scenario waits for a handshake to time out.
LIMITS = {"queue_stanzas": 400, "handshake_timeout": "10s"}
SM = "stream_management:\n  request_every: 8\n  request_interval: 100ms\n"
# How long A keeps a broken stream's stanzas for a replacement stream
# (stream_management.give_up_after), unless a scenario says otherwise.
GIVE_UP = "2s"


def port_open(port):
    try:
        socket.create_connection((HOST, port), timeout=0.5).close()
        return True
    except OSError:
        return False


class World:
    """A and B with their sinks, and the proxy on A's way to B."""

    def __init__(self, base, b_sm=True, a_limits=None, silent_ipv6_first=False, dns=False,
                 give_up=GIVE_UP, load=False):
        self.base = base
        self.pa, self.pb = ({k: fp.free_port() for k in ("s2s", "tls", "internal", "admin", "sink")}
                            for _ in range(2))
        ica = base + "/ica/ca.crt"
        # With |load|, bench/s2sload.py plays both internal servers instead
        # (the scenario starts it).
        self.sink_a = self.sink_b = None
        if not load:
            self.sink_a = xp.ReceivingServer(HOST, self.pa["sink"], "pki/a.test.crt",
                                             "pki/a.test.key", client_ca=ica)
            self.sink_b = xp.ReceivingServer(HOST, self.pb["sink"], "pki/b.test.crt",
                                             "pki/b.test.key", client_ca=ica)
        self.proxy = fault_proxy.FaultProxy(self.pb["s2s"])
        limits = dict(LIMITS, **(a_limits or {}))
        # With |dns|, A finds B by its SRV record (RFC 6120 §3.2.1) on a
        # resolver the scenario breaks; otherwise by dns.static.
        self.resolver = flaky_resolver.FlakyResolver(
            base + "/dns-%d" % self.proxy.port, "b.test", self.proxy.port) if dns else None
        dns_keys = {"nameservers": '["127.0.0.1:%d"]' % self.resolver.port, "timeout": "1s",
                    "allowed_networks": '["127.0.0.0/8"]'} if dns else None
        a_config = fp.gateway_yaml(
            self.pa, [("a.test", "sink", "pki/a.test")], [("sink", [self.pa["sink"]])],
            secret="secret-a", static=[] if dns else [("b.test", self.proxy.port)],
            limits=limits, dns=dns_keys) + SM + "  give_up_after: %s\n" % give_up
        self.silent = []
        if silent_ipv6_first:
            # An IPv6 candidate whose SYNs go unanswered (a listener with a
            # full backlog) before the working IPv4 one.
            ls = socket.socket(socket.AF_INET6)
            ls.bind(("::1", 0))
            ls.listen(0)
            self.silent.append(ls)
            for _ in range(3):
                c = socket.socket(socket.AF_INET6)
                c.setblocking(False)
                c.connect_ex(("::1", ls.getsockname()[1]))
                self.silent.append(c)
            old = 'targets: ["%s:%d"]' % (HOST, self.proxy.port)
            assert old in a_config
            a_config = a_config.replace(old, 'targets: ["[::1]:%d", "%s:%d"]' % (
                ls.getsockname()[1], HOST, self.proxy.port))
        self.a = fp.Fedgate(FEDGATE, base, "a", a_config, self.pa["admin"])
        self.b_config = fp.gateway_yaml(
            self.pb, [("b.test", "sink", "pki/b.test")], [("sink", [self.pb["sink"]])],
            secret="secret-b", static=[("a.test", self.pa["s2s"])], limits=LIMITS)
        self.b_config += SM if b_sm else "stream_management:\n  enabled: false\n"
        # One worker: the stream that replaces a broken one may be accepted
        # by another worker than the old one, whose hop stream to the sink
        # is another connection; order is kept per stream, so the seam
        # between the two could interleave at the sink (stream-management.md).
        self.b_config = self.b_config.replace("workers: 2", "workers: 1")
        self.b = fp.Fedgate(FEDGATE, base, "b", self.b_config, self.pb["admin"])
        self.senders = []

    def restart_b(self, sig=signal.SIGKILL):
        self.b.proc.send_signal(sig)
        self.b.proc.wait()
        # The kernel tears a killed process's io_uring down after the process
        # has gone: until then its listening sockets still take connections
        # (and SO_REUSEPORT would share them with the new B's), which are
        # reset when the teardown ends. Start B again once they are gone.
        deadline = time.time() + 10
        while time.time() < deadline and any(
                port_open(self.pb[k]) for k in ("s2s", "admin")):
            time.sleep(0.02)
        self.b.log.close()
        os.rename(self.b.logfile, self.b.logfile + ".%d" % time.time())
        self.b = fp.Fedgate(FEDGATE, self.base, "b", self.b_config, self.pb["admin"])

    def sender(self):
        """a.test's internal server, authenticated on A's internal listener."""
        p = xp.Peer.connect(HOST, self.pa["internal"])
        p.open_authenticated("b.test", "a.test", certfile="pki/a.test.crt",
                             keyfile="pki/a.test.key")
        self.senders.append(p)
        return p

    def close(self):
        for p in self.senders:
            p.close()
        for g in (self.a, self.b):
            g.stop()
        self.proxy.close()
        if self.resolver is not None:
            self.resolver.close()
        for sock in self.silent:
            sock.close()
        for sink in (self.sink_a, self.sink_b):
            if sink is not None:
                sink.close()


def send(p, tag, first, n):
    for i in range(first, first + n):
        p.send("<message from='alice@a.test/x' to='bob@b.test' id='%s-%d' type='chat'>"
               "<body>%d</body></message>" % (tag, i, i))


def outcome(w, tags):
    """Message ids delivered to B's sink (in arrival order, duplicates kept)
    and bounced to A's sink, for the given tags."""
    delivered, bounced = [], set()
    for _, el in list(w.sink_b.stanzas):
        mid = el.get("id") or ""
        if mid.split("-")[0] in tags and el.get("type") != "error":
            delivered.append(mid)
    for _, el in list(w.sink_a.stanzas):
        mid = el.get("id") or ""
        if mid.split("-")[0] in tags and el.get("type") == "error":
            bounced.add(mid)
    return delivered, bounced


def bounce_conditions(w, tags):
    """How many of the bounces A's sink got for |tags| carry each RFC 6120
    §8.3.3 condition (one per message id)."""
    seen, out = set(), collections.Counter()
    for _, el in list(w.sink_a.stanzas):
        mid = el.get("id") or ""
        if mid.split("-")[0] not in tags or el.get("type") != "error" or mid in seen:
            continue
        seen.add(mid)
        err = el.find("{%s}error" % xp.NS_SERVER)
        kids = list(err) if err is not None else []
        out[kids[0].tag.split("}")[-1] if kids else "none"] += 1
    return out


def settle(w, sent, timeout=40):
    """Waits until every id sent is delivered or bounced, or |timeout|;
    returns (delivered list, bounced set)."""
    tags = {t for t, _ in sent}
    want = {"%s-%d" % (t, i) for t, n in sent for i in range(n)}
    deadline = time.time() + timeout
    while True:
        delivered, bounced = outcome(w, tags)
        if want <= set(delivered) | bounced or time.time() > deadline:
            return want, delivered, bounced
        time.sleep(0.1)


# Summed over the scenarios run (make soak prints them).
TOTALS = {k: 0 for k in ("sent", "delivered", "duplicates", "bounced", "missing", "resent",
                         "unconfirmed")}


def check(w, sent, name, sm_end_to_end=True, expect_bounces=None, expect_resent=None,
          resumed=False, condition=None):
    want, delivered, bounced = settle(w, sent)
    unique = set(delivered)
    missing = want - unique - bounced
    dups = len(delivered) - len(unique)
    ma = w.a.assert_accounted(timeout=15)
    w.b.assert_accounted(timeout=15)
    resent = w.a.metric("stanzas_resent_total")
    unconfirmed = w.a.metric("stanzas_unconfirmed_total")
    print("     %s: sent=%d delivered=%d duplicates=%d bounced=%d missing=%d resent=%d "
          "unconfirmed=%d acked=%d proxy_conns=%d cuts=%d" % (
              name, len(want), len(unique), dups, len(bounced), len(missing), resent,
              unconfirmed, w.a.metric("stanzas_acked_total"), w.proxy.accepted, w.proxy.cuts),
          flush=True)
    for k, v in (("sent", len(want)), ("delivered", len(unique)), ("duplicates", dups),
                 ("bounced", len(bounced)), ("missing", len(missing)), ("resent", resent),
                 ("unconfirmed", unconfirmed)):
        TOTALS[k] += v
    if sm_end_to_end:
        assert not missing, "lost without a bounce: %s" % sorted(missing)[:10]
    else:
        assert len(missing) <= unconfirmed, "%d missing > %d unconfirmed" % (
            len(missing), unconfirmed)
    assert dups <= resent, "%d duplicates but only %d resent" % (dups, resent)
    # Order per input stream: first arrivals in sending order.
    for tag, _ in sent:
        seen, order = set(), []
        for mid in delivered:
            if mid.startswith(tag + "-") and mid not in seen:
                seen.add(mid)
                order.append(int(mid.split("-")[1]))
        assert order == sorted(order), "order broken for %s: %s" % (tag, order[:40])
    if expect_bounces is not None:
        assert expect_bounces(len(bounced)), "bounced %d" % len(bounced)
    if expect_resent is not None:
        assert expect_resent(resent), "resent %d" % resent
    if condition is not None:
        # RFC 6120 §8.3.3.15 (not resolved) against §8.3.3.16 (resolved, not
        # reached in time): every bounce names the failure.
        conds = bounce_conditions(w, {t for t, _ in sent})
        assert set(conds) <= {condition}, "bounce conditions %s, want %s" % (dict(conds),
                                                                            condition)
    if resumed:
        # XEP-0198 §5 end to end: B said what it had handled, A sent only
        # the rest again.
        assert w.a.metric("sm_links_resumed_total") >= 1
        assert w.b.metric("sm_streams_in_resumed_total") >= 1
        assert dups == 0, "%d duplicates despite resumption" % dups
    return ma


# --- scenarios ---

def cut_mid_stream(w, how, tag, name):
    """A -> B cut after 12000 bytes (handshake and part of a 300-message
    burst): the stream is resumed on a new connection, nothing is lost or
    duplicated."""
    w.proxy.cut(12000, how)
    send(w.sender(), tag, 0, 300)
    check(w, [(tag, 300)], name, expect_bounces=lambda b: b == 0, resumed=True)
    assert w.proxy.cuts == 1 and w.proxy.accepted >= 2, (w.proxy.cuts, w.proxy.accepted)
    # The new stream either resumed the old one (XEP-0198 §5) or, when B had
    # not yet seen the old one end, enabled stream management afresh.
    enabled, resumed_links = (w.a.metric("sm_links_enabled_total"),
                              w.a.metric("sm_links_resumed_total"))
    assert enabled >= 1 and enabled + resumed_links >= 2, (enabled, resumed_links)


def scenario_xep0198_rst_after_n_bytes_resends_unacked(w):
    cut_mid_stream(w, "rst", "r", "rst")


def scenario_xep0198_half_close_mid_stream(w):
    cut_mid_stream(w, "fin", "h", "half-close")


def scenario_xep0198_server_to_client_cut_loses_acks(w):
    # B's answers (acks included) stop: A resends what B may have handled.
    p = w.sender()
    send(p, "d", 0, 10)
    settle(w, [("d", 10)])
    w.proxy.cut(100, "rst", direction="down", from_now=True)
    send(p, "d", 10, 290)
    check(w, [("d", 300)], "acks-cut", expect_bounces=lambda b: b == 0, resumed=True)
    assert w.proxy.cuts == 1


def scenario_stall_then_resume_loses_nothing(w):
    p = w.sender()
    send(p, "s", 0, 10)
    settle(w, [("s", 10)])
    w.proxy.stall()
    send(p, "s", 10, 590)  # beyond the window of 400 unacked: A holds, then pauses the sender
    time.sleep(1.0)
    w.proxy.unstall()
    check(w, [("s", 600)], "stall", expect_bounces=lambda b: b == 0,
          expect_resent=lambda r: r == 0)


def all_through(w, tag, n, name):
    """|n| messages sent at once: every one delivered, none bounced or resent."""
    send(w.sender(), tag, 0, n)
    check(w, [(tag, n)], name, expect_bounces=lambda b: b == 0, expect_resent=lambda r: r == 0)


def scenario_rfc8305_happy_eyeballs_races_a_silent_ipv6_candidate(w):
    # The IPv6 candidate never answers: 250 ms later the IPv4 one races it
    # and wins, instead of waiting for the first to time out.
    all_through(w, "e", 50, "happy-eyeballs")
    assert w.a.metric("connect_races_total") >= 1
    assert w.a.metric("connect_races_won_by_later_total") >= 1


def scenario_one_byte_at_a_time(w):
    w.proxy.one_byte = True
    all_through(w, "o", 60, "one-byte")


def scenario_added_latency(w):
    w.proxy.latency = 0.02
    all_through(w, "l", 200, "latency")


def scenario_rfc6120_10_4_3_refused_connection_bounces(w):
    w.proxy.refuse = 1
    p = w.sender()
    send(p, "f", 0, 50)
    # The first link fails: what it held bounces; B is then remembered as
    # unreachable for a while (RFC 6120 §3.3), so the rest bounces too.
    check(w, [("f", 50)], "refused", expect_bounces=lambda b: b == 50,
          condition="remote-server-timeout")
    assert w.proxy.refused == 1


def scenario_rfc6120_10_4_3_cut_and_unreachable_bounces_unacked(w):
    p = w.sender()
    send(p, "u", 0, 20)
    settle(w, [("u", 20)])
    wait_acked(w, 20)
    w.proxy.refuse = -1  # B stays unreachable from now on
    w.proxy.stall()      # nothing more is acknowledged
    send(p, "u", 20, 30)
    time.sleep(0.5)
    w.proxy.drop_all()
    w.proxy.unstall()
    # The 30 unacknowledged come back as errors, and only they, once the
    # replacement stream gave up (stream_management.give_up_after): B was
    # resolved but could not be reached (RFC 6120 §8.3.3.16).
    check(w, [("u", 50)], "unreachable", expect_bounces=lambda b: b == 30,
          condition="remote-server-timeout")
    assert w.a.metric("link_reconnects_gave_up_total") == 1
    assert w.a.metric("link_reconnects_total") >= 1


def scenario_reordered_connection_attempts_keep_order_per_stream(w):
    w.proxy.hold = 2
    senders = [w.sender() for _ in range(4)]
    threads = [threading.Thread(target=send, args=(p, "o%d" % i, 0, 100))
               for i, p in enumerate(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(w, [("o%d" % i, 100) for i in range(4)], "reordered", expect_bounces=lambda b: b == 0)


def scenario_peer_without_xep0198_counts_unconfirmed(w):
    w.proxy.cut(12000, "rst")
    p = w.sender()
    send(p, "n", 0, 300)
    check(w, [("n", 300)], "no-sm", sm_end_to_end=False)
    assert w.a.metric("sm_links_enabled_total") == 0
    assert w.a.metric("stanzas_unconfirmed_total") > 0


def wait_acked(w, n, timeout=20):
    deadline = time.time() + timeout
    while w.a.metric("stanzas_acked_total") < n and time.time() < deadline:
        time.sleep(0.05)
    assert w.a.metric("stanzas_acked_total") >= n


def scenario_sigkill_peer_gateway_and_restart(w):
    p = w.sender()
    send(p, "k", 0, 100)
    settle(w, [("k", 100)])
    wait_acked(w, 100)
    w.proxy.stall()        # A notices nothing until B is back
    send(p, "k", 100, 30)  # written to A's link, never acknowledged
    time.sleep(0.5)
    w.restart_b()          # SIGKILL: B forgets the stream (no resumption)
    w.proxy.unstall()      # A sees the old stream end and resends the 30
    send(p, "k", 130, 70)
    check(w, [("k", 200)], "sigkill", expect_bounces=lambda b: b == 0,
          expect_resent=lambda r: r >= 30)
    assert w.a.metric("sm_links_resumed_total") == 0


def scenario_peer_down_for_seconds_then_back_loses_nothing(w):
    # The link breaks and B stays unreachable for 3 s: the replacement
    # stream keeps the stanzas through its failed attempts instead of
    # bouncing them at the first one, and delivers all once B is back.
    p = w.sender()
    send(p, "b", 0, 20)
    settle(w, [("b", 20)])
    wait_acked(w, 20)
    w.proxy.refuse = -1
    w.proxy.drop_all()
    send(p, "b", 20, 30)
    time.sleep(3.0)
    w.proxy.refuse = 0
    check(w, [("b", 50)], "down-then-back", expect_bounces=lambda b: b == 0)
    assert w.a.metric("link_reconnects_total") >= 1
    assert w.a.metric("link_reconnects_gave_up_total") == 0
    assert w.proxy.refused >= 1


def broken_with_dns(w, tag, n_before):
    """B reached through its SRV record; |n_before| delivered and
    acknowledged; returns the sender."""
    p = w.sender()
    send(p, tag, 0, n_before)
    settle(w, [(tag, n_before)])
    wait_acked(w, n_before)
    return p


def scenario_dns_resolver_silent_then_back_loses_nothing(w):
    # The resolver stops answering and the link breaks: the replacement
    # stream's lookups time out (and their failure is remembered for 10 s,
    # io/dns), it keeps the stanzas until the resolver answers again.
    p = broken_with_dns(w, "q", 20)
    w.resolver.stop()
    w.proxy.drop_all()
    send(p, "q", 20, 30)
    time.sleep(2.5)
    w.resolver.cont()
    check(w, [("q", 50)], "dns-silent", expect_bounces=lambda b: b == 0)
    assert w.a.metric("link_reconnects_total") >= 1
    assert w.a.metric("link_reconnects_gave_up_total") == 0


def scenario_rfc6120_8_3_3_15_dns_servfail_bounces_remote_server_not_found(w):
    # The resolver answers SERVFAIL for b.test from now on and the link
    # breaks: the replacement gives up after give_up_after, and what it kept
    # (the unacknowledged and the new) bounces as remote-server-not-found:
    # the domain cannot be resolved (RFC 6120 §8.3.3.15), unlike a target
    # that does not answer (§8.3.3.16, the unreachable scenario).
    p = broken_with_dns(w, "v", 20)
    w.proxy.stall()  # nothing more is acknowledged
    send(p, "v", 20, 30)
    time.sleep(0.5)
    w.resolver.set_mode("servfail")
    w.proxy.drop_all()
    w.proxy.unstall()
    check(w, [("v", 50)], "dns-servfail", expect_bounces=lambda b: b == 30,
          condition="remote-server-not-found")
    assert w.a.metric("link_reconnects_gave_up_total") == 1


def scenario_srv_record_moves_to_a_new_target_mid_run(w):
    # B's SRV record moves to a new target (another proxy to B) and the old
    # target is killed: the replacement stream looks the domain up again
    # and reaches B at its new address; nothing lost, order kept.
    p = broken_with_dns(w, "m", 50)
    new = fault_proxy.FaultProxy(w.pb["s2s"])
    try:
        w.resolver.set_mode("ok", port=new.port)
        w.proxy.refuse = -1
        w.proxy.drop_all()
        send(p, "m", 50, 50)
        check(w, [("m", 100)], "srv-moved", expect_bounces=lambda b: b == 0)
        assert new.accepted >= 1, "the new target was never used"
    finally:
        new.close()


def scenario_dns_faults_under_s2sload_counts_add_up(w):
    # bench/s2sload.py plays a.test's and b.test's internal servers: 400
    # messages at 20/s from a.test to b.test, while B's resolver goes silent
    # with the link cut, comes back, and then B's SRV record moves to a new
    # target whose predecessor dies. Exact counts from s2sload and /metrics:
    # sent = delivered + bounced, nothing lost, no duplicate (B resumes A's
    # broken streams, XEP-0198 §5), first arrivals in sending order.
    new = fault_proxy.FaultProxy(w.pb["s2s"])
    load = subprocess.Popen(
        [sys.executable, S2SLOAD, "--pki", "pki", "--client-ca", "ica/ca.crt",
         "--server-ca", "none", "--serve", "a.test=%s:%d" % (HOST, w.pa["sink"]),
         "--serve", "b.test=%s:%d" % (HOST, w.pb["sink"]),
         "--send", "a.test=%s:%d" % (HOST, w.pa["internal"]), "--to", "a.test=b.test",
         "--count", "400", "--rate", "20", "--mix", "message=1", "--grace", "30", "--json",
         "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Traffic flows on A's link to B (XEP-0198 acknowledges it) before
        # the first fault: s2sload.py may take seconds to start on a loaded
        # machine, and a cut before the link exists cuts nothing.
        deadline = time.time() + 30
        while w.a.metric("stanzas_acked_total") < 10 and time.time() < deadline:
            time.sleep(0.1)
        assert w.a.metric("stanzas_acked_total") >= 10, "no traffic acknowledged on A's link"
        w.resolver.stop()
        w.proxy.drop_all()
        time.sleep(2.0)
        w.resolver.cont()
        # The lookup that timed out is remembered as failed for 10 s
        # (io/dns); the replacement stream gets through after that.
        deadline = time.time() + 20
        while w.a.metric("sm_links_resumed_total") < 1 and time.time() < deadline:
            time.sleep(0.2)
        w.resolver.set_mode("ok", port=new.port)
        w.proxy.refuse = -1
        w.proxy.drop_all()
        out, err = load.communicate(timeout=90)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
        new.close()
    assert out.strip(), "s2sload printed no summary:\n" + err[-2000:]
    r = json.loads(out)
    w.a.assert_accounted(timeout=15)
    w.b.assert_accounted(timeout=15)
    print("     s2sload: sent=%d delivered=%d bounced=%d lost=%d duplicates=%d out_of_order=%d "
          "conditions=%s resumed=%d reconnects=%d" % (
              r["sent"], r["delivered"], r["bounced"], r["lost"], r["duplicates"],
              r["out_of_order"], r["bounce_conditions"], w.a.metric("sm_links_resumed_total"),
              w.a.metric("link_reconnects_total")), flush=True)
    for k, v in (("sent", r["sent"]), ("delivered", r["delivered"]), ("bounced", r["bounced"]),
                 ("missing", r["lost"]), ("duplicates", r["duplicates"])):
        TOTALS[k] += v
    assert r["sent"] == 400 and r["sent"] == r["delivered"] + r["bounced"], r
    assert r["lost"] == 0 and r["bounced"] == 0, r
    assert r["duplicates"] == 0 and r["out_of_order"] == 0, r["problems"]
    assert r["corrupted"] == 0 and r["misrouted"] == 0, r["problems"]
    assert w.a.metric("sm_links_resumed_total") >= 2, "the stream was not resumed twice"
    assert new.accepted >= 1, "the new target was never used"


SCENARIOS = {n: f for n, f in sorted(globals().items()) if n.startswith("scenario_")}
OPTIONS = {"scenario_peer_without_xep0198_counts_unconfirmed": {"b_sm": False},
           "scenario_rfc8305_happy_eyeballs_races_a_silent_ipv6_candidate":
               {"silent_ipv6_first": True},
           "scenario_reordered_connection_attempts_keep_order_per_stream":
               {"a_limits": {"streams_per_pair": 2}},
           "scenario_peer_down_for_seconds_then_back_loses_nothing": {"give_up": "20s"},
           "scenario_dns_resolver_silent_then_back_loses_nothing": {"dns": True,
                                                                     "give_up": "30s"},
           "scenario_rfc6120_8_3_3_15_dns_servfail_bounces_remote_server_not_found":
               {"dns": True},
           "scenario_dns_faults_under_s2sload_counts_add_up": {"dns": True, "give_up": "30s",
                                                               "load": True},
           "scenario_srv_record_moves_to_a_new_target_mid_run": {"dns": True,
                                                                  "give_up": "20s"}}


def run(base, name):
    w = World(base, **OPTIONS.get(name, {}))
    try:
        SCENARIOS[name](w)
    except Exception:
        print("---- A log\n" + w.a.log_tail(30) + "---- B log\n" + w.b.log_tail(20), flush=True)
        raise
    finally:
        w.close()


def main():
    args = sys.argv[2:]
    base = tempfile.mkdtemp(prefix="fedgate-faults-")
    os.chdir(base)
    fp.dev_pki(FEDGATE, "pki", "a.test", "b.test")
    fp.dev_pki(FEDGATE, "ica", "unused.test")
    fp.write_secret("secret-a", "secret of a.test")
    fp.write_secret("secret-b", "secret of b.test")
    passed = failed = 0
    try:
        soak_end = time.time() + float(args[1]) if args[:1] == ["--soak"] else None
        names = list(args or SCENARIOS) if soak_end is None else []
        while names or (soak_end is not None and time.time() < soak_end):
            name = names.pop(0) if names else random.choice(list(SCENARIOS))
            p, f = fp.run_suite([(name, run)], base, name)
            passed += p
            failed += f
    finally:
        if not os.environ.get("FEDGATE_E2E_KEEP"):
            shutil.rmtree(base, ignore_errors=True)
        print("totals: %s" % " ".join("%s=%d" % kv for kv in TOTALS.items()))
        print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
