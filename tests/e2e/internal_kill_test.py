#!/usr/bin/python3
"""Fault scenario: the internal server (Prosody 0.12.3) is killed with
SIGKILL in the middle of a run and restarted (same configuration, same data
directory), while a remote user keeps sending through fedgate.

  prosody remote.test (carol) -> fedgate (one worker) -> proxy -> prosody b.test (bob)
                                                                 (internal server,
                                                                  mod_offline)

carol sends N uniquely numbered chat messages to bob, a few milliseconds
apart, on one c2s stream (one input stream). Once bob has some of them, the
hop stream stalls for a moment (what fedgate writes then is in flight,
unacknowledged, when the server dies), Prosody b.test gets SIGKILL (bob's
client goes with it), stays down for a moment and starts again; carol keeps
sending meanwhile. The hop link that replaces the killed stream keeps what
it holds and what comes meanwhile through failed attempts
(stream_management.give_up_after), so one probe after carol's run is
delivered; 50 more messages go into bob's offline storage, and bob logs in
again and fetches them. The invariants, with exact counts:

- nothing bounces: sent = received (distinct ids, live plus offline), and
  without acks the missing ones are exactly those written on the killed
  stream and not received (fedgate_stanzas_unconfirmed_total counts them);
- duplicates only where fedgate wrote a stanza again on a new hop stream
  without resumption (Prosody does not resume s2s streams), so at most the
  growth of fedgate_stanzas_resent_total;
- order kept per input stream: the first arrivals of carol's ids increase in
  each of bob's sessions (live, then what offline storage kept);
- fedgate's counters add up: stanzas_in = delivered + bounced (+ not
  bounced), once the queues are empty, and equal carol's and bob's counts:
  in = sent, bounced = 0, delivered = received + missing.

The scenario runs twice: with XEP-0198 on the hop (Prosody's mod_smacks with
smacks_enabled_s2s) and without it (Prosody without mod_smacks: nothing is
acknowledged, so what was written to the killed stream counts as written,
not known to be delivered). A third scenario kills the internal server for
good: what the hop link kept bounces once stream_management.give_up_after
has passed (remote-server-timeout, RFC 6120 §8.3.3.16), with one give-up.

usage: internal_kill_test.py FEDGATE_BINARY
"""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fault_proxy  # noqa: E402
import fedgate_proc as fp  # noqa: E402
import prosody as pr  # noqa: E402
import prosody_test  # noqa: E402
from linkloss_prosody_test import wait_until  # noqa: E402
import xmpp_peer as xp  # noqa: E402

N = 300  # messages carol sends
PAUSE_MS = 10  # between two of them
KILL_AFTER = 60  # bob has this many when Prosody b.test is killed
DOWN_SECONDS = 1.5  # how long it stays down
STALL_SECONDS = 0.3  # the hop stream carries nothing before the kill


class World(prosody_test.World):
    """prosody_test's directory and PKI; each scenario starts its own pair of
    Prosody servers and its own gateway."""

    def __init__(self):
        super().__init__()
        pki = self.dir + "/pki/"
        # The internal server trusts the internal CA too (SASL EXTERNAL on
        # the hop, after which Prosody offers XEP-0198).
        self.internal_trust = self.dir + "/internal-trust.crt"
        with open(self.internal_trust, "w") as f:
            f.write(open(pki + "ca.crt").read() + open(self.dir + "/ica/ca.crt").read())
        self.proxies = []

    def close(self):
        super().close()
        for p in self.proxies:
            p.close()


class Scenario:
    """Prosody b.test as the internal server behind a fault proxy, Prosody
    remote.test as the remote server, and one fedgate between them.
    Subclasses change the internal server (start_internal, kill_process,
    restart_internal)."""

    BACKEND, HOP_MODE = "prosody", "internal-ca"

    def __init__(self, w, name, smacks, give_up=None):
        self.w, self.name = w, name
        pki = w.dir + "/pki/"
        self.ports = fp.listener_ports()
        self.internal = self.start_internal(w, name, smacks)
        self.remote = pr.Prosody(w.dir + "/r-" + name, "remote.test", fp.free_port(),
                                 fp.free_port(), pki + "remote.test.crt",
                                 pki + "remote.test.key", pki + "ca.crt",
                                 fedgate_port=self.ports["s2s"], users=[("carol", "secret")],
                                 smacks=True)
        w.procs.append(self.remote)
        self.hop_proxy = fault_proxy.FaultProxy(self.internal.s2s_port)
        w.proxies.append(self.hop_proxy)
        text = fp.gateway_yaml(self.ports, [("b.test", self.BACKEND, None)],
                               [(self.BACKEND, [self.hop_proxy.port])],
                               hop_mode=self.HOP_MODE, default_cert="pki/b.test",
                               static=[("remote.test", self.remote.s2s_port)])
        # One worker: one hop stream, so order holds up to the internal server.
        text = text.replace("workers: 2", "workers: 1")
        text += "stream_management:\n  request_every: 4\n  request_interval: 200ms\n"
        if give_up:
            text += "  give_up_after: %s\n" % give_up
        self.gw = w.fedgate("gw-" + name, text, self.ports["admin"])

    def start_internal(self, w, name, smacks):
        pki = w.dir + "/pki/"
        p = pr.Prosody(w.dir + "/b-" + name, "b.test", fp.free_port(), fp.free_port(),
                       pki + "b.test.crt", pki + "b.test.key", w.internal_trust,
                       fedgate_port=self.ports["internal"], users=[("bob", "secret")],
                       modules=("offline",), smacks=smacks)
        w.procs.append(p)
        return p

    def bob(self, resource):
        c = self.w.client("bob@b.test/" + resource, "secret", self.internal.c2s_port,
                          commands=[("ping", "b.test")])
        # The server answered an iq sent after bob's presence: it handled
        # the presence, so messages to bob's bare JID now reach this session
        # instead of offline storage (which would hand them over later, out
        # of order with those that follow).
        c.wait_for("pong b.test", timeout=30)
        return c

    def kill_internal(self):
        """SIGKILL while what fedgate wrote last is still in flight: no
        stream is closed, nothing is flushed."""
        self.hop_proxy.stall()
        time.sleep(STALL_SECONDS)
        self.kill_process()
        self.hop_proxy.drop_all()  # the connections died with the process
        self.hop_proxy.unstall()

    def kill_process(self):
        p = self.internal
        p.proc.send_signal(signal.SIGKILL)
        p.proc.wait()

    def restart_internal(self):
        """The same configuration and data directory (offline storage)."""
        p = self.internal
        p.proc = subprocess.Popen(["prosody", "--config", p.cfgfile], stdout=p.out,
                                  stderr=subprocess.STDOUT, env=p.env)
        if not (xp.wait_port("127.0.0.1", p.c2s_port, 15) and
                xp.wait_port("127.0.0.1", p.s2s_port, 5)):
            raise RuntimeError("prosody b.test did not restart:\n" + p.log_tail())


def ids_received(clients, prefix):
    """carol's ids as bob's clients printed them, in arrival order."""
    out = []
    for c in clients:
        for line in list(c.lines):
            words = line.split()
            if line.startswith("message carol@remote.test/") and words[-1].startswith(prefix):
                out.append(words[-1])
    return out


def ids_bounced(senders, prefix):
    """The ids of carol's messages that came back as errors (RFC 6120 §8.3)."""
    out = []
    for c in senders:
        for line in list(c.lines):
            words = line.split()
            if words[:1] == ["message-error"] and len(words) == 4 and words[3].startswith(prefix):
                out.append(words[3])
    return out


def in_order(received, prefix):
    """Whether the first arrivals of one input stream's ids (PREFIX0,
    PREFIX1, ...) are in sending order."""
    firsts, seen = [], set()
    for i in received:
        if i.startswith(prefix) and i not in seen:
            seen.add(i)
            firsts.append(int(i[len(prefix):]))
    return firsts == sorted(firsts)


KEYS = ("stanzas_in_total", "stanzas_delivered_total", "stanzas_bounced_total",
        "stanzas_resent_total", "stanzas_unconfirmed_total", "link_reconnects_total",
        "link_reconnects_gave_up_total")


def run(w, name, smacks, scenario=None):
    """One kill-and-restart run; |scenario| (Scenario's interface: gw,
    remote, bob(), kill_internal(), restart_internal()) makes the servers."""
    s = (scenario or Scenario)(w, name, smacks)
    g = s.gw
    bob1 = s.bob("live")
    # remote.test's stream to fedgate and fedgate's hop stream are up before
    # the run: Prosody 0.12.3 may send the stanza routed at the moment its
    # outgoing stream authenticates ahead of those it queued while
    # connecting (its debug log shows it), which is not fedgate's order to
    # keep.
    w.client("carol@remote.test/warm-up", "secret", s.remote.c2s_port,
             sends=[("bob@b.test", "warm-up")])
    bob1.wait_for("message carol@remote.test/warm-up chat warm-up", 30)
    g.assert_accounted(timeout=10)
    base = {k: g.metric(k) for k in KEYS}
    sent, senders = set(), []

    def carol_sends(tag, n, pause_ms):
        prefix = "%s-%s" % (name, tag)
        c = w.client("carol@remote.test/%s-%s" % (name, tag), "secret", s.remote.c2s_port,
                     commands=[("sendn", "bob@b.test", prefix, str(n), str(pause_ms))])
        sent.update(prefix + str(i) for i in range(n))
        senders.append(c)
        return c

    main = carol_sends("m", N, PAUSE_MS)
    assert wait_until(lambda: len(ids_received([bob1], name)) >= KILL_AFTER, 30), \
        "bob got %d before the kill" % len(ids_received([bob1], name))
    s.kill_internal()
    at_kill = len(set(ids_received([bob1], name)))
    bob1.stop()
    time.sleep(DOWN_SECONDS)  # the hop reconnects and fails meanwhile
    s.restart_internal()
    main.wait_for("sent " + name + "-m", 60)
    # The hop link kept what came while the server was down and reached it
    # again: a probe is delivered (bob is offline: stored), not bounced.
    d0 = g.metric("stanzas_delivered_total")
    probe = carol_sends("p", 1, 0)
    assert wait_until(lambda: g.metric("stanzas_delivered_total") > d0 or
                      ids_bounced([probe], name), 20), "probe: no outcome"
    assert not ids_bounced([probe], name), "the probe bounced"
    k = 1
    late = carol_sends("l", 50, 5)  # into bob's offline storage
    late.wait_for("sent " + name + "-l", 30)
    bob2 = s.bob("after")  # fetches what was stored offline

    def settled():
        got = set(ids_received([bob1, bob2], name)) | set(ids_bounced(senders, name))
        return got >= sent
    wait_until(settled, 30)
    g.assert_accounted(timeout=20)
    m = {k: g.metric(k) - v for k, v in base.items()}
    received = ids_received([bob1, bob2], name)
    distinct = set(received)
    bounced = ids_bounced(senders, name)
    both = distinct & set(bounced)
    missing = sent - distinct - set(bounced)
    dups = len(received) - len(distinct)
    print("     %s: sent=%d received=%d (before the kill %d, probes %d) duplicates=%d "
          "bounced=%d both=%d missing=%d | fedgate in=%d delivered=%d bounced=%d resent=%d "
          "unconfirmed=%d" % (
              name, len(sent), len(distinct), at_kill, k, dups, len(bounced), len(both),
              len(missing), m["stanzas_in_total"], m["stanzas_delivered_total"],
              m["stanzas_bounced_total"], m["stanzas_resent_total"],
              m["stanzas_unconfirmed_total"]), flush=True)
    assert not distinct - sent and not set(bounced) - sent
    assert len(bounced) == len(set(bounced)), "a message bounced twice"
    # The server was back long before stream_management.give_up_after:
    # nothing bounced, the hop link reconnected (counted) and never gave up.
    assert not bounced and m["stanzas_bounced_total"] == 0, sorted(bounced)[:20]
    assert m["link_reconnects_total"] >= 1 and m["link_reconnects_gave_up_total"] == 0, m
    # Lost only what fedgate wrote to a stream without acks and says so.
    assert len(missing) <= m["stanzas_unconfirmed_total"], "lost without a bounce: %s" % (
        sorted(missing)[:20])
    # Delivered twice: only what was written again after the kill.
    assert not both and dups <= m["stanzas_resent_total"], \
        "%d duplicates, but %d resent" % (dups, m["stanzas_resent_total"])
    # fedgate's counts are carol's, exactly: everything reached it and it
    # counted everything delivered.
    assert m["stanzas_in_total"] == len(sent)
    assert m["stanzas_delivered_total"] == len(distinct) + len(missing)
    # Order per delivery: what bob's live session got, and what his second
    # session fetched from offline storage. Across the two it may differ
    # legitimately: a message Prosody stored offline (say, before bob's
    # first presence was in) reaches only the second.
    for c in (bob1, bob2):
        got = ids_received([c], name)
        assert in_order(got, name + "-m") and in_order(got, name + "-l"), \
            "order broken: %s" % got
    assert len(set(ids_received([bob2], name + "-l"))) >= 1, "nothing reached offline storage"
    return s, m, missing, set(ids_received([bob1], name)), distinct, sent


def test_rfc6120_8_3_xep0198_internal_server_sigkill_restart_loses_nothing(w):
    s, m, missing, _, distinct, sent = run(w, "sm", smacks=True)
    # Acks flowed before the kill; what the killed stream left
    # unacknowledged (written during the stall) was written again, never
    # counted unconfirmed, never lost.
    assert s.gw.metric("sm_links_enabled_total") >= 1
    assert m["stanzas_resent_total"] >= 1, "nothing was resent after the kill"
    assert m["stanzas_unconfirmed_total"] == 0 and not missing
    # Everything carol sent reached bob, exactly once counted: what came
    # during the outage and after the restart too (nothing bounced above).
    assert distinct == sent, "not received: %s" % sorted(sent - distinct)[:20]
    assert m["stanzas_delivered_total"] == len(sent) == m["stanzas_in_total"], (len(sent), m)


def test_rfc6120_8_3_internal_server_sigkill_restart_without_acks_counts_unconfirmed(w):
    s, m, missing, live, distinct, sent = run(w, "nosm", smacks=False)
    # What was written during the stall never reached Prosody: nothing was
    # resent (nothing says what to resend), and every stanza written on the
    # killed stream counts unconfirmed: those bob got live and those lost.
    assert m["stanzas_resent_total"] == 0 and missing
    # (+1: the warm-up message, when it was written on the killed stream)
    assert len(live) + len(missing) <= m["stanzas_unconfirmed_total"] <= \
        len(live) + len(missing) + 1, (m["stanzas_unconfirmed_total"], len(live), len(missing))


def test_rfc6120_8_3_3_16_internal_server_gone_kept_until_give_up_after(w):
    s = Scenario(w, "gone", smacks=True, give_up="5s")
    g = s.gw
    bob = s.bob("live")
    base = {k: g.metric(k) for k in KEYS}

    def carol_sends(tag, n):
        return w.client("carol@remote.test/gone-" + tag, "secret", s.remote.c2s_port,
                        commands=[("sendn", "bob@b.test", "gone-" + tag, str(n), "0")])
    first = carol_sends("a", 5)
    assert wait_until(lambda: len(set(ids_received([bob], "gone-a"))) == 5, 30)
    p = s.internal
    p.proc.send_signal(signal.SIGKILL)  # and never started again
    p.proc.wait()
    s.hop_proxy.drop_all()
    bob.stop()
    later = carol_sends("b", 10)
    later.wait_for("sent gone-b", 30)
    assert wait_until(lambda: len(ids_bounced([later], "gone-b")) == 10, 30), \
        "bounced: %s" % ids_bounced([later], "gone-b")
    g.assert_accounted(timeout=20)
    m = {k: g.metric(k) - v for k, v in base.items()}
    # Of the first five (all received), those Prosody had not acknowledged
    # when it died were written again: kept and bounced too.
    early = ids_bounced([first], "gone-a")
    assert len(early) <= m["stanzas_resent_total"], (early, m)
    conditions = {l.split()[2] for c in (first, later) for l in list(c.lines)
                  if l.startswith("message-error ")}
    assert conditions == {"remote-server-timeout"}, conditions
    assert m["stanzas_in_total"] == 15 and m["stanzas_bounced_total"] == 10 + len(early), m
    # The replacement hop link kept them all through its failed attempts,
    # then gave up once: they bounced together, not one by one on arrival.
    assert m["link_reconnects_total"] >= 1 and m["link_reconnects_gave_up_total"] == 1, m
    gave_up = [l for l in open(g.logfile) if "giving up after" in l]
    assert len(gave_up) == 1 and ("%d kept stanzas bounce with remote-server-timeout" %
                                  (10 + len(early))) in gave_up[0], gave_up


def main():
    return fp.main_of(World, globals())


if __name__ == "__main__":
    sys.exit(main())
