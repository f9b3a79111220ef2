#!/usr/bin/python3
"""XEP-0288 bidirectional streams on the internal hop, with Prosody 0.12.3
(mod_s2s_bidi, mod_smacks s2s acks) as the internal server.

  prosody remote.test (carol) --\\                      /--> proxy "hop" --> prosody b.test (bob)
                                 >-- fedgate (1 worker) <                     (internal server)
  prosody far.test (dave) -----/                      \\<-- proxy "in" <--/

"hop" carries the hop links fedgate opens to Prosody b.test; "in" carries
the streams Prosody b.test opens to fedgate's internal listener. Counting
the connections each proxy accepted shows which side opened what: with
bidi, the first stream of a domain pair, whichever side opened it, carries
both directions and the other side opens none. Killing that stream loses
nothing silently: what was unacknowledged arrives (sent again, XEP-0198) and
the gateway's counters add up. A scripted internal server for c.test that
sends back a stanza for a domain its stream did not authenticate loses the
hop link (invalid-from) and nothing it sent is routed.

usage: bidi_hop_test.py FEDGATE_BINARY
"""

import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bidi_test  # noqa: E402
import fault_proxy  # noqa: E402
import fedgate_proc as fp  # noqa: E402
import prosody as pr  # noqa: E402
import prosody_test  # noqa: E402
import smacks_prosody_test  # noqa: E402
from smacks_prosody_test import received, wait_metric  # noqa: E402

HOST = fp.HOST
FEDGATE = prosody_test.FEDGATE


class World(prosody_test.World):
    """Prosody b.test (internal, bidi and smacks), two remote Prosody
    servers (remote.test, far.test) and one fedgate between them."""

    def __init__(self):
        super().__init__()
        fp.dev_pki(FEDGATE, "pki2", "far.test")
        fp.dev_pki(FEDGATE, "pki3", "c.test")
        self.ports = fp.listener_ports()
        d = self.dir
        pki = d + "/pki/"
        # The internal server trusts the internal CA (fedgate's hop streams
        # authenticate by SASL EXTERNAL, then Prosody offers XEP-0198).
        with open(d + "/internal-trust.crt", "w") as f:
            f.write(open(pki + "ca.crt").read() + open(d + "/ica/ca.crt").read())
        with open(d + "/trust.crt", "w") as f:
            for ca in (pki + "ca.crt", d + "/pki2/ca.crt", d + "/pki3/ca.crt"):
                f.write(open(ca).read())
        self.into_gw = fault_proxy.FaultProxy(self.ports["internal"])
        self.internal = pr.Prosody(d + "/b", "b.test", fp.free_port(), fp.free_port(),
                                   pki + "b.test.crt", pki + "b.test.key",
                                   d + "/internal-trust.crt", fedgate_port=self.into_gw.port,
                                   users=[("bob", "secret")], smacks=True, bidi=True)
        self.procs.append(self.internal)
        self.hop = fault_proxy.FaultProxy(self.internal.s2s_port)
        self.remote = pr.Prosody(d + "/r", "remote.test", fp.free_port(), fp.free_port(),
                                 pki + "remote.test.crt", pki + "remote.test.key", pki + "ca.crt",
                                 fedgate_port=self.ports["s2s"], users=[("carol", "secret")],
                                 smacks=True)
        self.procs.append(self.remote)
        self.far = pr.Prosody(d + "/f", "far.test", fp.free_port(), fp.free_port(),
                              d + "/pki2/far.test.crt", d + "/pki2/far.test.key", pki + "ca.crt",
                              fedgate_port=self.ports["s2s"], users=[("dave", "secret")],
                              smacks=True)
        self.procs.append(self.far)
        # c.test: a scripted internal server that sends back a stanza from
        # b.test, which its stream never authenticated.
        self.spoofer = bidi_test.BidiPeer(
            d + "/pki3/c.test.crt", d + "/pki3/c.test.key", d + "/ica/ca.crt",
            "<message xmlns='jabber:server' from='bob@b.test/x' to='dave@far.test' "
            "type='chat' id='spoof'><body>spoofed</body></message>")
        text = fp.gateway_yaml(self.ports, [("b.test", "prosody", None),
                                            ("c.test", "scripted", "pki3/c.test")],
                               [("prosody", [self.hop.port]), ("scripted", [self.spoofer.port])],
                               trust="trust.crt",
                               default_cert="pki/b.test",
                               static=[("remote.test", self.remote.s2s_port),
                                       ("far.test", self.far.s2s_port)])
        # One worker: a bidirectional stream serves the worker that owns it.
        # One worker: a bidirectional stream serves the worker that owns it.
        smacks_prosody_test.World.start_gateway(self, text.replace("workers: 2", "workers: 1"))

    def close(self):
        super().close()
        self.into_gw.close()
        self.hop.close()
        self.spoofer.close()


def streams(g):
    url = "http://%s:%d/streams" % (HOST, g.admin_port)
    return urllib.request.urlopen(url, timeout=5).read().decode().splitlines()


def stream_lines(g, *words):
    return [l for l in streams(g) if all(w in l.split() for w in words)]


def exchange(w, user, port, peer, peer_port, tag, n, peer_first):
    """|n| messages each way between bob and |user| (a user of the Prosody
    on |port|); |peer_first|: |user| writes first, else bob. Returns the
    remote user's client."""
    if peer_first:
        far = w.client(user + "/" + tag, "secret", port,
                       sends=[("bob@b.test", "%s-in%d" % (tag, i)) for i in range(n)])
        far.wait_for("online")
        got, _ = received(w.bob, "message %s/%s chat %s-in" % (user, tag, tag), n)
        assert got == n, "%d of %d arrived at bob" % (got, n)
    else:
        far = w.client(user + "/" + tag, "secret", port)
        far.wait_for("online")
    sender = w.client("bob@b.test/" + tag, "secret", w.internal.c2s_port,
                      sends=[(user + "/" + tag, "%s-out%d" % (tag, i)) for i in range(n)])
    sender.wait_for("online")
    got, _ = received(far, "message bob@b.test/%s chat %s-out" % (tag, tag), n)
    assert got == n, "%d of %d arrived at %s" % (got, n, user)
    if not peer_first:
        late = w.client(user + "/" + tag + "2", "secret", port,
                        sends=[("bob@b.test", "%s-in%d" % (tag, i)) for i in range(n)])
        late.wait_for("online")
        got, _ = received(w.bob, "message %s/%s2 chat %s-in" % (user, tag, tag), n)
        assert got == n, "%d of %d arrived at bob" % (got, n)
    return far


def test_xep0288_2_2_1_backend_opened_stream_carries_both_directions(w):
    """bob writes first: Prosody b.test opens one stream to the internal
    listener and makes it bidirectional; carol's answers to bob take it, no
    hop link is opened."""
    g = w.gw
    hop, into = w.hop.accepted, w.into_gw.accepted
    sent = g.metric("hop_bidi_stanzas_sent_total")
    exchange(w, "carol@remote.test", w.remote.c2s_port, "remote.test", w.remote.s2s_port,
             "p", 6, peer_first=False)
    assert wait_metric(g, "hop_bidi_stanzas_sent_total", lambda v: v >= sent + 6) >= sent + 6
    assert w.into_gw.accepted == into + 1, "Prosody opened %d streams" % (
        w.into_gw.accepted - into)
    assert w.hop.accepted == hop, "fedgate opened %d hop links" % (w.hop.accepted - hop)
    lines = stream_lines(g, "listener=internal", "peer=b.test", "local=remote.test", "bidi=on")
    assert len(lines) == 1, streams(g)
    assert not stream_lines(g, "kind=hop", "local=remote.test"), streams(g)
    g.assert_accounted()


def test_xep0288_2_2_2_hop_link_carries_both_directions(w):
    """dave writes first: fedgate opens one hop link to Prosody b.test as
    far.test and makes it bidirectional; bob's answers come back on it and
    leave for far.test as if Prosody had opened its own stream."""
    g = w.gw
    hop, into = w.hop.accepted, w.into_gw.accepted
    back = g.metric("hop_bidi_stanzas_received_total")
    exchange(w, "dave@far.test", w.far.c2s_port, "far.test", w.far.s2s_port, "h", 6,
             peer_first=True)
    assert wait_metric(g, "hop_bidi_stanzas_received_total",
                       lambda v: v >= back + 6) >= back + 6
    assert w.hop.accepted == hop + 1, "fedgate opened %d hop links" % (w.hop.accepted - hop)
    assert w.into_gw.accepted == into, "Prosody opened %d streams" % (w.into_gw.accepted - into)
    lines = stream_lines(g, "kind=hop", "local=far.test", "remote=b.test", "bidi=on")
    assert len(lines) == 1, streams(g)
    assert not stream_lines(g, "listener=internal", "local=far.test"), streams(g)
    g.assert_accounted()


def killed_loses_nothing(w, sender, sender_port, rcpt, rcpt_port, tag, gateway_resends):
    """|sender| writes 12 messages to |rcpt| while the hop streams (both
    proxies) are stalled, then they are killed: |rcpt| gets all 12, the
    counters add up, and with |gateway_resends| (fedgate wrote them on the
    hop) fedgate sent the unacknowledged ones again; otherwise the internal
    server did (Prosody's smacks_s2s_resend), fedgate only acknowledged."""
    g = w.gw
    to = w.client(rcpt + "/" + tag, "secret", rcpt_port)
    to.wait_for("online")
    warm = w.client(sender + "/" + tag + "w", "secret", sender_port,
                    sends=[(rcpt + "/" + tag, tag + "-warm")])
    warm.wait_for("online")
    received(to, "message %s/%sw chat %s-warm" % (sender, tag, tag), 1)
    wait_metric(g, "stanzas_in_total", lambda v: False, timeout=1.0)  # its ack comes back
    resent = g.metric("stanzas_resent_total")
    opened = w.hop.accepted + w.into_gw.accepted
    proxies = (w.hop, w.into_gw)
    came_in = g.metric("stanzas_in_total")
    for p in proxies:
        p.stall()  # nothing is acknowledged from now on
    c = w.client(sender + "/" + tag, "secret", sender_port,
                 sends=[(rcpt + "/" + tag, "%s%d" % (tag, i)) for i in range(12)])
    c.wait_for("online")
    if gateway_resends:
        # All twelve reached fedgate, which writes each on the stalled hop
        # stream as it routes it: they are unacknowledged there when it dies.
        n = wait_metric(g, "stanzas_in_total", lambda v: v >= came_in + 12)
        assert n >= came_in + 12, "%d of 12 stanzas reached fedgate" % (n - came_in)
    else:
        # They stay in Prosody or the stalled proxy, where fedgate cannot
        # see them; any that leave Prosody only after the kill ride the
        # replacement stream, which this case checks as well.
        wait_metric(g, "stanzas_in_total", lambda v: False, timeout=1.5)
    # The streams die with their stanzas unacknowledged. Only those open
    # now: Prosody replaces a dead stream at once, and the replacement
    # (which carries what it sends again) must live.
    doomed = [(p, p.open_now()) for p in proxies]
    for p, conns in doomed:
        p.drop_all(only=conns)
    for p in proxies:
        p.unstall()
    distinct, total = received(to, "message %s/%s chat %s" % (sender, tag, tag), 12)
    assert distinct == 12, "%s: %d of 12 arrived (resent %d, hop links %d, internal streams %d)" % (
        tag, distinct, g.metric("stanzas_resent_total") - resent, w.hop.accepted,
        w.into_gw.accepted)
    if gateway_resends:
        now_resent = wait_metric(g, "stanzas_resent_total", lambda v: v > resent)
        assert now_resent - resent >= 1, "nothing was resent"
        assert total - distinct <= now_resent - resent  # duplicates only among those resent
    assert w.hop.accepted + w.into_gw.accepted > opened  # on a new stream
    g.assert_accounted()


def test_xep0288_2_2_3_xep0198_killed_backend_stream_loses_nothing(w):
    # carol -> bob rides Prosody's own bidirectional stream (case 1).
    killed_loses_nothing(w, "carol@remote.test", w.remote.c2s_port, "bob@b.test",
                         w.internal.c2s_port, "kb", True)


def test_xep0288_2_2_4_xep0198_killed_hop_link_loses_nothing(w):
    # dave -> bob rides fedgate's bidirectional hop link (case 2).
    killed_loses_nothing(w, "dave@far.test", w.far.c2s_port, "bob@b.test", w.internal.c2s_port,
                         "kh", True)


def test_xep0288_2_2_5_hop_link_refuses_a_domain_its_backend_did_not_prove(w):
    """RFC 6120 §4.9.3.9: the backend of c.test sends back a stanza from
    b.test on the hop link it made bidirectional; fedgate ends the link with
    invalid-from and routes nothing of it."""
    g = w.gw
    refused = g.metric("bidi_stanzas_refused_total")
    back = g.metric("hop_bidi_stanzas_received_total")
    dave = w.client("dave@far.test/s", "secret", w.far.c2s_port,
                    sends=[("user@c.test", "to-the-spoofer")])
    dave.wait_for("online")
    assert w.spoofer.done.wait(30), "the scripted backend never got a stanza"
    assert w.spoofer.error == "invalid-from", w.spoofer.error
    assert w.spoofer.got[0] == "{urn:xmpp:bidi}bidi", w.spoofer.got  # fedgate asked for bidi
    assert wait_metric(g, "bidi_stanzas_refused_total", lambda v: v > refused) > refused
    assert g.metric("hop_bidi_stanzas_received_total") == back
    assert not [l for l in list(dave.lines) if "spoofed" in l]
    g.assert_accounted()


def test_xep0288_2_2_6_xep0198_killed_hop_loses_nothing_sent_back(w):
    # bob -> dave: Prosody writes on the hop stream of the pair (sent back
    # on fedgate's hop link, or its own stream); killed, it sends again.
    killed_loses_nothing(w, "bob@b.test", w.internal.c2s_port, "dave@far.test", w.far.c2s_port,
                         "kr", False)


def main():
    return fp.main_of(World, globals())


if __name__ == "__main__":
    sys.exit(main())
