#!/usr/bin/python3
"""The internal server goes away and comes back: which pairs wait for it.

  remote.test, third.test (scripted peers, SASL EXTERNAL) -> fedgate (one worker)
      -> internal server b.test (xmpp_peer.ReceivingServer, SASL EXTERNAL with
         the minted certificates)

The internal server stops (its listening socket and every stream close at
once, as when the process dies) and a new one starts on the same port later.
docs/stream-management.md ("When the internal server dies"): the hop stream
that broke gets a replacement that keeps its pair's stanzas through failed
attempts, on the hop's schedule (100 ms doubling to 1 s), within
stream_management.give_up_after; a pair without a hop stream, whose stanza
comes while that replacement waits for the backend, waits with it instead of
bouncing; the attempt that succeeds marks the address up. Without a broken
stream (the backend was never reached), a stanza bounces as before
(remote-server-timeout, RFC 6120 §8.3.3.16). What a hop link keeps is
bounced when the operator closes it (/streams/close) and at the end of a
SIGTERM drain (shutdown.grace), and goes on through a reload, to the
backend's new address when the reload moved it; the pair's later stanzas
wait behind it even when the new configuration has a healthy address for
them (RFC 6120 §10.1). Counts are exact.

usage: hop_outage_test.py FEDGATE_BINARY
"""

import os
import re
import signal
import socket
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = fp.HOST
MANY = tuple("many%d.test" % i for i in range(6))  # pairs that wait together


class World:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-hop-outage-")
        os.chdir(self.dir)
        fp.dev_pki(FEDGATE, "pki", "remote.test", "third.test", "b.test", *MANY)
        fp.dev_pki(FEDGATE, "ica", "unused.test")
        fp.write_secret("secret", "hop-outage-e2e-secret")
        self.closers = []

    def sink(self, port):
        s = xp.ReceivingServer(HOST, port, "pki/b.test.crt", "pki/b.test.key",
                               client_ca="ica/ca.crt")
        self.closers.append(lambda: (s.close(), s.drop_connections()))
        return s

    def gateway(self, name, sink_port, give_up="30s", extra="", limits=None):
        ports = fp.listener_ports()
        text = fp.gateway_yaml(ports, [("b.test", "sink", "pki/b.test")], [("sink", [sink_port])],
                               limits=limits)
        text = text.replace("workers: 2", "workers: 1")  # one worker: one set of hop links
        text += "stream_management:\n  give_up_after: %s\n" % give_up + extra
        g = fp.Fedgate(FEDGATE, self.dir, name, text, ports["admin"])
        self.closers.append(g.stop)
        return g, ports

    def peer(self, ports, domain):
        p = xp.authenticated(HOST, ports["s2s"], "b.test", domain, "pki/ca.crt",
                             "pki/%s.crt" % domain, "pki/%s.key" % domain)
        self.closers.append(p.close)
        return p

    def close(self):
        for c in reversed(self.closers):
            try:
                c()
            except Exception:  # noqa: BLE001
                pass


def wait_until(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def admin(g, method, path, params=None):
    """The body of one admin request (urllib raises on an error status)."""
    data = urllib.parse.urlencode(params or {}).encode() if method == "POST" else None
    req = urllib.request.Request("http://%s:%d%s" % (HOST, g.admin_port, path), data=data,
                                 method=method)
    return urllib.request.urlopen(req, timeout=30).read().decode()


def health(g):
    """The health of the backend's one address, as GET /backends shows it."""
    url = "http://%s:%d/backends" % (HOST, g.admin_port)
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    return [w.split("=", 1)[1] for w in text.split() if w.startswith("health=")]


def bodies(sink):
    out = []
    for _, el in list(sink.stanzas):
        b = el.find("{jabber:server}body")
        if b is not None and b.text:
            out.append(b.text)
    return out


def bounced_reaches(g, base, n):
    """Whether fedgate counts |n| stanzas bounced since |base|, within 15 s."""
    return wait_until(lambda: g.metric("stanzas_bounced_total") ==
                      base["stanzas_bounced_total"] + n, 15)


def settled(g, base):
    """fedgate's counters once they add up, as growths since |base|."""
    g.assert_accounted(timeout=10)
    return {k: g.metric(k) - v for k, v in base.items()}


def stop(sink):
    """The internal server dies: no new connection, every stream cut."""
    sink.closed = True
    # shutdown wakes the thread blocked in accept(); a close alone leaves
    # the listening socket open in the kernel until that accept returns.
    try:
        sink.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sink.close()
    sink.drop_connections()


KEYS = ("stanzas_in_total", "stanzas_delivered_total", "stanzas_bounced_total",
        "link_reconnects_total", "link_reconnects_gave_up_total")


def test_rfc6120_8_3_3_16_pairs_wait_for_a_restarted_internal_server(w):
    sink_port = fp.free_port()
    sink1 = w.sink(sink_port)
    g, ports = w.gateway("gw-restart", sink_port)
    remote = w.peer(ports, "remote.test")
    remote.send_message("carol@remote.test/x", "bob@b.test", "r-0")
    assert wait_until(lambda: "r-0" in bodies(sink1), 15), bodies(sink1)
    base = {k: g.metric(k) for k in KEYS}
    stop(sink1)
    # The replacement of the broken hop stream failed its first attempt and
    # marked the address down: stanzas now find every address down.
    assert wait_until(lambda: health(g) == ["down"], 15), health(g)
    third = w.peer(ports, "third.test")  # a pair that never had a hop stream
    for i in range(1, 6):
        remote.send_message("carol@remote.test/x", "bob@b.test", "r-%d" % i)
        third.send_message("dave@third.test/x", "bob@b.test", "t-%d" % i)
    time.sleep(1.5)  # down a while: attempts fail meanwhile
    assert g.metric("stanzas_bounced_total") == base["stanzas_bounced_total"]
    sink2 = w.sink(sink_port)
    want = {"r-%d" % i for i in range(1, 6)} | {"t-%d" % i for i in range(1, 6)}
    assert wait_until(lambda: set(bodies(sink2)) >= want, 15), sorted(bodies(sink2))
    m = settled(g, base)
    got = bodies(sink2)
    print("     received=%s | %s" % (len(got), m), flush=True)
    # Each once, in order per pair, nothing bounced, no give-up.
    assert sorted(got) == sorted(want), got
    assert [b for b in got if b.startswith("r-")] == ["r-%d" % i for i in range(1, 6)], got
    assert [b for b in got if b.startswith("t-")] == ["t-%d" % i for i in range(1, 6)], got
    assert m["stanzas_in_total"] == 10 and m["stanzas_delivered_total"] == 10, m
    assert m["stanzas_bounced_total"] == 0 and m["link_reconnects_gave_up_total"] == 0, m
    # The replacement and the waiting pair's link both tried again.
    assert m["link_reconnects_total"] >= 2, m
    # The successful attempt marked the address up at once, long before the
    # mark of the failure (10 s) would have expired.
    assert health(g) == ["up"], health(g)


def test_rfc6120_8_3_3_16_one_probe_per_backend_however_many_pairs_wait(w):
    sink_port = fp.free_port()
    sink1 = w.sink(sink_port)
    g, ports = w.gateway("gw-many", sink_port)
    peers = [w.peer(ports, d) for d in MANY]
    for p, d in zip(peers, MANY):
        p.send_message("u@%s/x" % d, "bob@b.test", "%s-0" % d)
    assert wait_until(lambda: len(bodies(sink1)) == len(MANY), 15), bodies(sink1)
    base = {k: g.metric(k) for k in KEYS}
    stop(sink1)
    # Every pair's hop stream broke: each has a replacement that keeps its
    # stanzas, and they all wait for one backend.
    assert wait_until(lambda: health(g) == ["down"], 15), health(g)
    for p, d in zip(peers, MANY):
        p.send_message("u@%s/x" % d, "bob@b.test", "%s-1" % d)
    time.sleep(2.5)
    tries = g.metric("link_reconnects_total") - base["link_reconnects_total"]
    # One of them probes (100 ms doubling to 1 s: about 5 attempts in 2.5 s,
    # a few more brought forward by the stanzas); six probing pairs would
    # make about six times as many.
    print("     attempts while down: %d for %d waiting pairs" % (tries, len(MANY)), flush=True)
    assert 1 <= tries <= 9, tries
    sink2 = w.sink(sink_port)
    # The probe's success wakes the others: everything arrives, nothing bounces.
    want = {"%s-1" % d for d in MANY}
    assert wait_until(lambda: set(bodies(sink2)) == want, 15), sorted(bodies(sink2))
    m = settled(g, base)
    assert m["stanzas_delivered_total"] == len(MANY) and m["stanzas_bounced_total"] == 0, m


def broken_hop(w, name, tag, **gateway_args):
    """A gateway whose one hop stream (remote.test's pair, which carried
    TAG-0) broke when its internal server went away, the address marked
    down: (gateway, remote peer, counters then, the sink's port)."""
    sink_port = fp.free_port()
    sink = w.sink(sink_port)
    g, ports = w.gateway(name, sink_port, **gateway_args)
    remote = w.peer(ports, "remote.test")
    remote.send_message("carol@remote.test/x", "bob@b.test", "%s-0" % tag)
    assert wait_until(lambda: "%s-0" % tag in bodies(sink), 15), bodies(sink)
    stop(sink)
    assert wait_until(lambda: health(g) == ["down"], 15), health(g)
    return g, remote, {k: g.metric(k) for k in KEYS}, sink_port


def test_rfc6120_8_3_a_kept_backlog_beyond_the_output_limit_goes_out_whole(w):
    # What the replacement keeps may exceed what one connection may have in
    # its output (4 MiB): it goes out as the socket drains, never
    # overflowing the new stream (which would end it and lose the rest).
    g, remote, base, sink_port = broken_hop(
        w, "gw-backlog", "b", limits={"queue_stanzas": 100000, "queue_bytes": 67108864})
    n, pad = 2500, "x" * 2000  # about 5 MB kept
    for i in range(1, n + 1):
        remote.send_message("carol@remote.test/x", "bob@b.test", "b-%d %s" % (i, pad))
    assert wait_until(lambda: g.metric("stanzas_in_total") == base["stanzas_in_total"] + n, 30)
    sink2 = w.sink(sink_port)
    want = ["b-%d" % i for i in range(1, n + 1)]
    assert wait_until(lambda: len(bodies(sink2)) >= n, 60), len(bodies(sink2))
    assert [b.split()[0] for b in bodies(sink2)] == want
    assert g.proc.poll() is None
    m = settled(g, base)
    assert m["stanzas_delivered_total"] == n and m["stanzas_bounced_total"] == 0, m


def test_rfc6120_8_3_3_16_never_reached_backend_bounces_at_once(w):
    sink_port = fp.free_port()  # nothing listens there
    g, ports = w.gateway("gw-never", sink_port)
    remote = w.peer(ports, "remote.test")
    base = {k: g.metric(k) for k in KEYS}
    # No hop stream broke: nothing keeps stanzas for the backend; the first
    # failed connect bounces, and so does the next stanza while the address
    # is marked down (RFC 6120 §8.3.3.16).
    for i in range(2):
        remote.send_message("carol@remote.test/x", "bob@b.test", "n-%d" % i)
        assert bounced_reaches(g, base, i + 1), i
    m = settled(g, base)
    assert m["stanzas_in_total"] == 2 and m["stanzas_bounced_total"] == 2, m
    assert m["link_reconnects_total"] == 0, m
    assert health(g) == ["down"], health(g)


def kept_outage(w, name, extra="", limits=None):
    """A gateway whose hop stream broke: the internal server is gone, and
    the replacement keeps three stanzas of remote.test's pair."""
    g, remote, base, sink_port = broken_hop(w, name, "k", extra=extra, limits=limits)
    for i in range(1, 4):
        remote.send_message("carol@remote.test/x", "bob@b.test", "k-%d" % i)

    def held():
        return [ln for ln in admin(g, "GET", "/streams").splitlines()
                if " kind=hop " in ln and " queued=3 " in ln]
    assert wait_until(lambda: len(held()) == 1, 15), admin(g, "GET", "/streams")
    assert g.metric("stanzas_bounced_total") == base["stanzas_bounced_total"]
    return g, remote, base, sink_port, held()[0].split(" stream=")[1].split()[0]


def test_rfc6120_8_3_3_16_operator_close_bounces_what_the_hop_kept(w):
    g, remote, base, _, link_id = kept_outage(w, "gw-close")
    assert admin(g, "POST", "/streams/close", {"id": link_id}).startswith("ok:")
    assert bounced_reaches(g, base, 3)
    # Nothing waits for the backend any more: the next stanza bounces at once.
    remote.send_message("carol@remote.test/x", "bob@b.test", "k-4")
    assert bounced_reaches(g, base, 4)
    m = settled(g, base)
    assert m["stanzas_in_total"] == 4 and m["stanzas_delivered_total"] == 0, m
    assert m["link_reconnects_gave_up_total"] == 0, m


def test_rfc6120_8_3_3_16_sigterm_drain_bounces_what_the_hop_kept(w):
    g, _, _, _, _ = kept_outage(w, "gw-term", extra="shutdown:\n  grace: 2s\n")
    g.proc.send_signal(signal.SIGTERM)
    assert g.proc.wait(timeout=20) == 0
    # The drain let the kept link go on trying, then bounced what it held
    # shortly before the grace ended: the last line adds up.
    last = [ln for ln in open(g.logfile) if " stopped: " in ln][-1]
    m = re.search(r"stanzas in (\d+), delivered (\d+), bounced (\d+), not bounced (\d+)", last)
    assert m and [int(v) for v in m.groups()] == [4, 1, 3, 0], last


def test_rfc6120_8_3_reload_keeps_what_the_hop_kept(w):
    g, remote, base, sink_port, link_id = kept_outage(w, "gw-reload")
    assert admin(g, "POST", "/reload").startswith("ok:")
    # The new configuration starts with the address healthy; the kept link
    # goes on, and takes the pair's next stanza too (one stream, in order).
    remote.send_message("carol@remote.test/x", "bob@b.test", "k-4")
    sink2 = w.sink(sink_port)
    want = ["k-%d" % i for i in range(1, 5)]
    assert wait_until(lambda: bodies(sink2) == want, 15), bodies(sink2)
    m = settled(g, base)
    assert m["stanzas_in_total"] == 4 and m["stanzas_delivered_total"] == 4, m
    assert m["stanzas_bounced_total"] == 0, m


def move_backend(g, old_port, new_port):
    """Rewrites the gateway's configuration: the backend listens on
    |new_port| now."""
    with open(g.cfgfile) as f:
        text = f.read()
    moved = text.replace(":%d" % old_port, ":%d" % new_port)
    assert moved != text
    with open(g.cfgfile, "w") as f:
        f.write(moved)


def all_in_order_on(g, base, sink, n):
    want = ["k-%d" % i for i in range(1, n + 1)]
    assert wait_until(lambda: bodies(sink) == want, 15), (bodies(sink), g.log_tail())
    assert any("follows the reloaded configuration" in ln for ln in open(g.logfile)), \
        g.log_tail()
    m = settled(g, base)
    assert m["stanzas_in_total"] == n and m["stanzas_delivered_total"] == n, m
    assert m["stanzas_bounced_total"] == 0, m


def test_rfc6120_8_3_reload_moves_the_kept_link_to_the_new_address(w):
    # The operator brings the internal server back elsewhere (another port)
    # and reloads while the hop link keeps stanzas for it: the kept link
    # follows the new configuration, the pair's next stanza waits behind
    # what it kept, and the new server gets them all, in order.
    g, remote, base, old_port, _ = kept_outage(w, "gw-move")
    new_port = fp.free_port()
    sink2 = w.sink(new_port)
    move_backend(g, old_port, new_port)
    remote.send_message("carol@remote.test/x", "bob@b.test", "k-4")
    assert admin(g, "POST", "/reload").startswith("ok:")
    remote.send_message("carol@remote.test/x", "bob@b.test", "k-5")
    all_in_order_on(g, base, sink2, 5)


def test_rfc6120_10_1_pair_waits_behind_its_kept_link_after_a_reload(w):
    # RFC 6120 §10.1 (in-order processing): the reload comes while the kept
    # link's attempt hangs (the old address accepts TCP and says nothing),
    # so it cannot move yet. The pair's next stanza, which the new
    # configuration routes to a healthy address, waits behind what the link
    # keeps instead of overtaking it on a new link.
    g, remote, base, old_port, _ = kept_outage(w, "gw-order",
                                               limits={"handshake_timeout": "2s"})
    silent = socket.socket()
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    silent.bind((HOST, old_port))
    silent.listen(8)
    w.closers.append(silent.close)
    silent.settimeout(15)
    conn, _ = silent.accept()  # the kept link's attempt, which now hangs
    w.closers.append(conn.close)
    new_port = fp.free_port()
    sink2 = w.sink(new_port)
    move_backend(g, old_port, new_port)
    assert admin(g, "POST", "/reload").startswith("ok:")
    remote.send_message("carol@remote.test/x", "bob@b.test", "k-4")
    all_in_order_on(g, base, sink2, 4)


def main():
    return fp.main_of(World, globals())


if __name__ == "__main__":
    sys.exit(main())
