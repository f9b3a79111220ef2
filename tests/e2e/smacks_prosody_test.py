#!/usr/bin/python3
"""XEP-0198 between fedgate and Prosody 0.12.3 (mod_smacks, s2s acks with
smacks_enabled_s2s and smacks_s2s_resend) on both sides of the gateway.

  prosody remote.test (carol) <-> fault proxy <-> fedgate <-> fault proxy <-> prosody b.test (bob)
                                                                  (internal server)

Acks flow in all four stream directions: Prosody enables stream management
on the streams it opens to fedgate (fedgate answers its <r/>), and fedgate
enables it on the streams it opens to Prosody (Prosody acknowledges what
fedgate wrote). A stream killed while stanzas are unacknowledged loses
nothing: fedgate sends them again on a new stream, and the users get every
message.

usage: smacks_prosody_test.py FEDGATE_BINARY
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fault_proxy  # noqa: E402
import fedgate_proc as fp  # noqa: E402
import prosody as pr  # noqa: E402
import prosody_test  # noqa: E402

HOST = fp.HOST


class World(prosody_test.World):
    """prosody_test's world (directory, PKI, processes) with the two
    Prosody servers, their fault proxies and the gateway between them."""

    def __init__(self):
        super().__init__()
        self.ports = fp.listener_ports()
        pki = self.dir + "/pki/"
        # The internal server trusts the internal CA too: fedgate's hop
        # streams authenticate by SASL EXTERNAL, after which Prosody offers
        # XEP-0198 (it does not before authentication, so not to dialback).
        with open(self.dir + "/internal-trust.crt", "w") as f:
            f.write(open(pki + "ca.crt").read() + open(self.dir + "/ica/ca.crt").read())
        self.internal = pr.Prosody(self.dir + "/b", "b.test", fp.free_port(), fp.free_port(),
                                   pki + "b.test.crt", pki + "b.test.key",
                                   self.dir + "/internal-trust.crt",
                                   fedgate_port=self.ports["internal"], users=[("bob", "secret")],
                                   smacks=True)
        self.procs.append(self.internal)
        self.remote = pr.Prosody(self.dir + "/r", "remote.test", fp.free_port(), fp.free_port(),
                                 pki + "remote.test.crt", pki + "remote.test.key", pki + "ca.crt",
                                 fedgate_port=self.ports["s2s"], users=[("carol", "secret")],
                                 smacks=True)
        self.procs.append(self.remote)
        self.to_internal = fault_proxy.FaultProxy(self.internal.s2s_port)
        self.to_remote = fault_proxy.FaultProxy(self.remote.s2s_port)
        text = fp.gateway_yaml(self.ports, [("b.test", "prosody", None)],
                               [("prosody", [self.to_internal.port])], default_cert="pki/b.test",
                               static=[("remote.test", self.to_remote.port)])
        self.start_gateway(text)

    def start_gateway(self, text):
        """Starts the gateway of |text| with frequent ack requests, and bob
        on the internal Prosody."""
        text += "stream_management:\n  request_every: 4\n  request_interval: 200ms\n"
        self.gw = self.fedgate("gw", text, self.ports["admin"])
        self.bob = self.client("bob@b.test/e2e", "secret", self.internal.c2s_port)
        self.bob.wait_for("online")

    def close(self):
        super().close()
        self.to_internal.close()
        self.to_remote.close()


def wait_metric(g, name, pred, timeout=20):
    deadline = time.time() + timeout
    while True:
        v = g.metric(name)
        if pred(v) or time.time() > deadline:
            return v
        time.sleep(0.1)


def received(client, prefix, n, timeout=30):
    """Waits until |client| printed |n| distinct lines starting with |prefix|;
    returns (distinct, total)."""
    deadline = time.time() + timeout
    while True:
        lines = [l for l in list(client.lines) if l.startswith(prefix)]
        if len(set(lines)) >= n or time.time() > deadline:
            return len(set(lines)), len(lines)
        time.sleep(0.1)


def user_sends(w, jid, port, to, tag, n, rcpt):
    """|jid| (a user of the Prosody on |port|) sends |n| messages to |to|;
    waits until |rcpt| got each; returns the sending client."""
    c = w.client(jid, "secret", port, sends=[(to, "%s%d" % (tag, i)) for i in range(n)])
    c.wait_for("online")
    distinct, _ = received(rcpt, "message %s chat %s" % (jid, tag), n)
    assert distinct == n, "%d of %d arrived" % (distinct, n)
    return c


def test_xep0198_acks_flow_with_prosody_as_remote_and_internal_server(w):
    g = w.gw
    carol = user_sends(w, "carol@remote.test/e2e", w.remote.c2s_port, "bob@b.test", "c", 10,
                       w.bob)
    # Prosody remote.test enabled XEP-0198 on its stream to fedgate and asked
    # for acks; fedgate enabled it on its hop stream to Prosody b.test, which
    # acknowledged every stanza.
    assert wait_metric(g, "sm_streams_in_enabled_total", lambda v: v >= 1) >= 1
    # Prosody enables it after flushing what waited for the stream, and asks
    # for acks of what it writes from then on.
    user_sends(w, "carol@remote.test/e2e2", w.remote.c2s_port, "bob@b.test", "d", 5, w.bob)
    assert wait_metric(g, "sm_acks_sent_total", lambda v: v >= 1) >= 1
    assert wait_metric(g, "sm_links_enabled_total", lambda v: v >= 1) >= 1
    assert wait_metric(g, "stanzas_acked_total", lambda v: v >= 10) >= 10
    # And the other way: Prosody b.test through fedgate to Prosody remote.test.
    user_sends(w, "bob@b.test/out", w.internal.c2s_port, "carol@remote.test", "b", 10, carol)
    assert wait_metric(g, "sm_streams_in_enabled_total", lambda v: v >= 2) >= 2
    assert wait_metric(g, "sm_links_enabled_total", lambda v: v >= 2) >= 2
    assert wait_metric(g, "stanzas_acked_total", lambda v: v >= 20) >= 20
    g.assert_accounted()


def killed_stream_loses_nothing(w, proxy, sender_jid, sender_port, to, rcpt, tag):
    g = w.gw
    # The stream exists and is acknowledged before the fault.
    warm = w.client(sender_jid + "w", "secret", sender_port, sends=[(to, tag + "-warm")])
    warm.wait_for("online")
    received(rcpt, "message %sw chat %s-warm" % (sender_jid, tag), 1)
    wait_metric(g, "stanzas_in_total", lambda v: False, timeout=1.0)  # its ack comes back
    resent = g.metric("stanzas_resent_total")
    links = proxy.accepted
    came_in = g.metric("stanzas_in_total")
    proxy.stall()  # nothing is acknowledged from now on
    sender = w.client(sender_jid, "secret", sender_port,
                      sends=[(to, "%s%d" % (tag, i)) for i in range(12)])
    sender.wait_for("online")
    # All twelve reached fedgate, which writes each on the stalled stream as
    # it routes it: they are unacknowledged there when it dies.
    n = wait_metric(g, "stanzas_in_total", lambda v: v >= came_in + 12)
    assert n >= came_in + 12, "%d of 12 stanzas reached fedgate" % (n - came_in)
    proxy.drop_all()  # the stream dies with its stanzas unacknowledged
    proxy.unstall()
    distinct, total = received(rcpt, "message %s chat %s" % (sender_jid, tag), 12)
    assert distinct == 12, "%d of 12 arrived" % distinct
    now_resent = wait_metric(g, "stanzas_resent_total", lambda v: v > resent)
    assert now_resent - resent >= 1, "nothing was resent"
    assert total - distinct <= now_resent - resent  # duplicates only among those resent
    assert proxy.accepted > links  # on a new stream
    g.assert_accounted()


def test_xep0198_killed_remote_stream_loses_nothing(w):
    killed_stream_loses_nothing(w, w.to_remote, "bob@b.test/k", w.internal.c2s_port,
                                "carol@remote.test", w.client("carol@remote.test/k", "secret",
                                                              w.remote.c2s_port), "kr")


def test_xep0198_killed_internal_stream_loses_nothing(w):
    bob = w.client("bob@b.test/k2", "secret", w.internal.c2s_port)
    bob.wait_for("online")
    killed_stream_loses_nothing(w, w.to_internal, "carol@remote.test/k2", w.remote.c2s_port,
                                "bob@b.test/k2", bob, "ki")


def main():
    return fp.main_of(World, globals())


if __name__ == "__main__":
    sys.exit(main())
