#!/usr/bin/python3
"""mux_test: several domain pairs on one stream (XEP-0220 §4.3 multiplexing).

Gateway A hosts 100 domains (d0.mux .. d99.mux, one certificate each) with
limits.pairs_per_stream 40 and one worker; gateway B hosts b.test and
b2.test. A's internal server (scripted, one authenticated internal stream
per domain) sends through A. Checked with exact counts:

- the 100 pairs to b.test use 3 of A's outbound streams, not 100 (/streams
  and remote_streams_ready_total), every pair beyond the first ones riding
  on a shared stream after B accepted its db:result (B verifies each with
  A as the authoritative server, all questions on one verify stream);
- 20 pairs to b2.test starting at once share one stream (they wait for the
  first one's stream instead of connecting side by side);
- every stanza is delivered once and in order per pair; A's counters add up;
- Prosody 0.12.3 as the remote server accepts further pairs on one stream;
- a shared stream closed by the operator: its pairs' next stanzas go out;
- a pair the peer refuses on a shared stream opens its own stream and its
  stanzas are delivered;
- a server that breaks the stream over a further pair's db:result (instead
  of answering it) gets no further pairs on its streams: the pair and the
  next ones open their own streams, nothing lost;
- a pair whose db:result the peer never answers opens its own stream once
  limits.handshake_timeout has passed, nothing lost (counted);
- fairness on a shared stream: while one pair has a backlog (a burst of
  large stanzas to a peer that stopped reading), another pair's few small
  stanzas are read (its input is not paused, the bursting one is) and
  arrive before the tail of the burst (order of arrival, counted);
- a shared stream that breaks closes the hop streams of every remote domain
  that rode on it (link loss), not only of the domain it was opened for;
- on B, a stanza of a pair nobody authorised on a stream ends it with
  invalid-from (RFC 6120 §4.9.3.9), counted.

Usage: mux_test.py FEDGATE
"""

import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import prosody as pr  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = fp.HOST
N_DOMAINS = 100
PAIRS_PER_STREAM = 40
PER_PAIR = 3
# A's limits.handshake_timeout, which also bounds the wait for the answer to
# a further pair's db:result on a shared stream.
HANDSHAKE_TIMEOUT_S = 8


def domain(i):
    return "d%d.mux" % i


class Env:
    def __init__(self):
        self.dir = d = tempfile.mkdtemp(prefix="fedgate-mux-")
        os.chdir(d)
        self.procs = []
        os.chmod(d, 0o755)  # prosodyctl drops to the prosody user
        fp.dev_pki(FEDGATE, "pki", "b.test", "b2.test", "r.test", "p.test", "s.test", "f.test", "x.test",
                   *[domain(i) for i in range(N_DOMAINS)])
        fp.dev_pki(FEDGATE, "ica", "unused.test")
        fp.write_secret("secret-a", "mux secret of A")
        fp.write_secret("secret-b", "mux secret of B")
        self.pa, self.pb = ({k: fp.free_port() for k in ("s2s", "tls", "internal", "admin",
                                                         "sink")} for _ in range(2))
        self.pr = fp.free_port()
        self.pp = fp.free_port()
        self.ps = fp.free_port()
        self.pm = fp.free_port()
        self.pf = fp.free_port()
        self.px = fp.free_port()
        # x.test: a server that ends the stream over any further pair.
        self.remote_x = xp.ReceivingServer(HOST, self.px, "pki/x.test.crt", "pki/x.test.key",
                                           client_ca="pki/ca.crt", break_on_results=True)
        # f.test: a remote server that stops reading while a burst comes.
        self.remote_f = xp.ReceivingServer(HOST, self.pf, "pki/f.test.crt", "pki/f.test.key",
                                           client_ca="pki/ca.crt")
        # s.test: a remote server that never answers a db:result for d5.mux.
        self.remote_s = xp.ReceivingServer(HOST, self.ps, "pki/s.test.crt", "pki/s.test.key",
                                           client_ca="pki/ca.crt", ignore_results=["d5.mux"])
        # m.test: one server whose certificate names m.test and m2.test.
        two_names_cert("pki", "m.test", "m2.test")
        self.remote_m = xp.ReceivingServer(HOST, self.pm, "pki/m.test.crt", "pki/m.test.key",
                                           client_ca="pki/ca.crt")
        ica = d + "/ica/ca.crt"
        self.sink_a = xp.ReceivingServer(HOST, self.pa["sink"], "pki/d0.mux.crt",
                                         "pki/d0.mux.key", client_ca=ica)
        self.sink_b = xp.ReceivingServer(HOST, self.pb["sink"], "pki/b.test.crt",
                                         "pki/b.test.key", client_ca=ica,
                                         sni_certs={"b2.test": ("pki/b2.test.crt",
                                                                "pki/b2.test.key")})
        # r.test: a remote server that refuses dialback for d2.mux.
        self.remote_r = xp.ReceivingServer(HOST, self.pr, "pki/r.test.crt", "pki/r.test.key",
                                           client_ca="pki/ca.crt", refuse_results=["d2.mux"])
        cfg_a = fp.gateway_yaml(
            self.pa, [(domain(i), "sink", "pki/" + domain(i)) for i in range(N_DOMAINS)],
            [("sink", [self.pa["sink"]])], secret="secret-a",
            static=[("b.test", self.pb["s2s"]), ("b2.test", self.pb["s2s"]), ("r.test", self.pr),
                    ("p.test", self.pp), ("s.test", self.ps), ("m.test", self.pm),
                    ("m2.test", self.pm), ("f.test", self.pf), ("x.test", self.px)],
            limits={"pairs_per_stream": PAIRS_PER_STREAM,
                    "handshake_timeout": "%ds" % HANDSHAKE_TIMEOUT_S}, log_level="info")
        cfg_b = fp.gateway_yaml(
            self.pb, [("b.test", "sink", "pki/b.test"), ("b2.test", "sink", "pki/b2.test")],
            [("sink", [self.pb["sink"]])],
            secret="secret-b", static=[(domain(i), self.pa["s2s"]) for i in range(N_DOMAINS)],
            log_level="info")
        # One worker: which worker an internal stream lands on is the
        # kernel's choice, and each worker keeps its own streams.
        cfg_a = cfg_a.replace("workers: 2", "workers: 1")
        self.a = fp.Fedgate(FEDGATE, d, "a", cfg_a, self.pa["admin"])
        self.procs.append(self.a)
        self.b = fp.Fedgate(FEDGATE, d, "b", cfg_b, self.pb["admin"])
        self.procs.append(self.b)
        # p.test: Prosody 0.12.3 as the remote server; its own s2s (the
        # db:verify questions for A's pairs) goes to A's s2s listener.
        self.prosody = pr.Prosody(d + "/p", "p.test", fp.free_port(), self.pp,
                                  "pki/p.test.crt", "pki/p.test.key", "pki/ca.crt",
                                  fedgate_port=self.pa["s2s"], users=[("bob", "secret")])
        self.procs.append(self.prosody)

    def internal_sender(self, dom, to):
        """|dom|'s internal server, authenticated on A's internal listener."""
        return xp.authenticated(HOST, self.pa["internal"], to, dom, None, "pki/%s.crt" % dom,
                                "pki/%s.key" % dom)

    def send_one(self, dom, remote, sink, body, n):
        """|dom|'s internal server sends |body| to a user of |remote|; |sink|
        then holds |n| stanzas."""
        p = self.internal_sender(dom, remote)
        p.send_message("u@%s/x" % dom, "someone@" + remote, body)
        wait_count(sink, n)
        p.close()

    def streams(self, g):
        url = "http://%s:%d/streams" % (HOST, g.admin_port)
        return urllib.request.urlopen(url, timeout=5).read().decode().splitlines()

    def remote_links(self, remote):
        out = []
        for line in self.streams(self.a):
            if not line.startswith("link ") or " kind=remote " not in line:
                continue
            f = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
            if f.get("remote") == remote:
                out.append(f)
        return out

    def close(self):
        fp.stop_all(self.procs)
        for s in (self.sink_a, self.sink_b, self.remote_r, self.remote_s, self.remote_m,
                  self.remote_f, self.remote_x):
            s.close()


def two_names_cert(pki, first, second):
    """Mints PKI/FIRST.crt (and .key), signed by PKI/ca, naming FIRST and SECOND."""
    key, crt, csr = ("%s/%s.%s" % (pki, first, ext) for ext in ("key", "crt", "csr"))
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=" + first, "-addext",
                    "subjectAltName=DNS:%s,DNS:%s" % (first, second)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", pki + "/ca.crt", "-CAkey",
                    pki + "/ca.key", "-CAcreateserial", "-days", "2", "-copy_extensions", "copy",
                    "-out", crt], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stream_ends(p):
    """Reads |p| until its stream ends (closed or with an error): True then."""
    try:
        while True:
            p.read_element()
    except xp.StreamClosed:
        return True


def bodies_from(sink, dom):
    return [el.findtext(xp.q("jabber:server", "body")) for _, el in list(sink.stanzas)
            if (el.get("from") or "").endswith("@" + dom + "/x")]


def wait_count(sink, n, timeout=30):
    got = sink.wait_stanzas(n, timeout=timeout)
    assert len(got) >= n, "%d stanzas arrived, %d expected" % (len(got), n)


def test_xep0220_4_3_a_burst_of_new_pairs_shares_one_stream(env):
    # Twenty pairs to b2.test start at once: the first opens the stream, the
    # others wait for it instead of connecting side by side.
    n = 20
    senders = [env.internal_sender(domain(i), "b2.test") for i in range(n)]
    base = len(env.sink_b.stanzas)
    for i, p in enumerate(senders):
        p.send_message("u@%s/x" % domain(i), "bob@b2.test", "burst %d" % i)
    wait_count(env.sink_b, base + n)
    for p in senders:
        p.close()
    for i in range(n):
        assert "burst %d" % i in bodies_from(env.sink_b, domain(i)), i
    links = env.remote_links("b2.test")
    own = [l for l in links if l["carrier"] == "-"]
    assert len(own) == 1, links
    assert own[0]["pairs"] == str(n), own
    assert len([l for l in links if l["carrier"] == own[0]["stream"]]) == n - 1
    env.a.assert_accounted()


def test_xep0220_4_3_hundred_local_domains_share_a_handful_of_streams(env):
    sent = len(env.sink_b.stanzas)  # other cases' stanzas
    ready = env.a.metric("remote_streams_ready_total")
    asked = env.a.metric("mux_pairs_asked_total")
    accepted = env.a.metric("mux_pairs_ready_total")
    for i in range(N_DOMAINS):
        p = env.internal_sender(domain(i), "b.test")
        for j in range(PER_PAIR):
            p.send_message("u@%s/x" % domain(i), "bob@b.test", "pair %d stanza %d" % (i, j))
        sent += PER_PAIR
        # One pair after the other: each finds the streams the earlier ones
        # opened ready (a burst would open streams side by side).
        wait_count(env.sink_b, sent)
        p.close()
    time.sleep(0.5)  # nothing more may arrive: duplicates would show
    assert len(env.sink_b.stanzas) == sent, (len(env.sink_b.stanzas), sent)
    for i in range(N_DOMAINS):
        mine = [b for b in bodies_from(env.sink_b, domain(i)) if b.startswith("pair ")]
        assert mine == ["pair %d stanza %d" % (i, j) for j in range(PER_PAIR)], (domain(i), mine)
    links = env.remote_links("b.test")
    own = [l for l in links if l["carrier"] == "-"]
    riders = [l for l in links if l["carrier"] != "-"]
    # At most 40 pairs a stream: 100 pairs need 3 streams.
    assert len(own) == 3, "%d streams for %d pairs" % (len(own), N_DOMAINS)
    assert len(own) + len(riders) == N_DOMAINS, len(links)
    assert sum(int(l["pairs"]) for l in own) == N_DOMAINS
    assert all(int(l["pairs"]) <= PAIRS_PER_STREAM for l in own)
    opened = env.a.metric("remote_streams_ready_total") - ready
    assert opened == len(own), "%d streams became ready, %d listed" % (opened, len(own))
    assert env.a.metric("mux_pairs_ready_total") - accepted == len(riders)
    assert env.a.metric("mux_pairs_asked_total") - asked == len(riders)
    m = env.a.assert_accounted()
    assert m["stanzas_delivered_total"] >= N_DOMAINS * PER_PAIR, m


def test_xep0220_2_4_refused_pair_opens_its_own_stream(env):
    refused = env.a.metric("mux_pairs_refused_total")
    ready = env.a.metric("remote_streams_ready_total")
    for i, dom in enumerate(("d1.mux", "d2.mux", "d3.mux")):
        p = env.internal_sender(dom, "r.test")
        p.send_message("u@%s/x" % dom, "rita@r.test", "to r from %s" % dom)
        wait_count(env.remote_r, i + 1)
        p.close()
    assert env.a.metric("mux_pairs_refused_total") == refused + 1
    # d1's stream, then d2's own after the refusal; d3 rides on one of them.
    opened = env.a.metric("remote_streams_ready_total") - ready
    assert opened == 2, "%d streams opened" % opened
    assert ("d2.mux", "refused") in env.remote_r.auth
    for dom in ("d1.mux", "d2.mux", "d3.mux"):
        assert bodies_from(env.remote_r, dom) == ["to r from %s" % dom], dom
    links = env.remote_links("r.test")
    assert len([l for l in links if l["carrier"] == "-"]) == 2, links
    env.a.assert_accounted()


def test_xep0220_2_4_server_breaking_the_stream_over_a_pair_gets_no_more_pairs(env):
    x = env.remote_x
    refused = env.a.metric("mux_pairs_refused_total")
    asked = env.a.metric("mux_pairs_asked_total")
    for i, dom in enumerate(("d10.mux", "d11.mux", "d12.mux", "d13.mux")):
        env.send_one(dom, "x.test", x, "to x from %s" % dom, i + 1)
    # d11 asked once; its stream broke; d11 and the later pairs went alone.
    assert [a for a in x.auth if a[1] == "broke"] == [("d11.mux", "broke")], x.auth
    assert env.a.metric("mux_pairs_asked_total") == asked + 1
    assert env.a.metric("mux_pairs_refused_total") == refused + 1
    for dom in ("d10.mux", "d11.mux", "d12.mux", "d13.mux"):
        assert bodies_from(x, dom) == ["to x from %s" % dom], dom
    links = env.remote_links("x.test")
    assert all(l["carrier"] == "-" for l in links), links
    env.a.assert_accounted()


def test_xep0220_2_4_unanswered_pair_opens_its_own_stream(env):
    # s.test accepts d4.mux's stream (SASL EXTERNAL) and never answers the
    # db:result of d5.mux riding on it: after limits.handshake_timeout the
    # pair connects on its own and its held stanzas go out there, in order.
    timed_out = env.a.metric("mux_pairs_timed_out_total")
    ready = env.a.metric("remote_streams_ready_total")
    env.send_one("d4.mux", "s.test", env.remote_s, "first pair", 1)
    p = env.internal_sender("d5.mux", "s.test")
    for j in range(3):
        p.send_message("u@d5.mux/x", "sam@s.test", "unanswered pair %d" % j)
    wait_count(env.remote_s, 4, timeout=HANDSHAKE_TIMEOUT_S + 20)
    p.close()
    assert ("d5.mux", "unanswered") in env.remote_s.auth, env.remote_s.auth
    assert env.a.metric("mux_pairs_timed_out_total") == timed_out + 1
    assert env.a.metric("remote_streams_ready_total") - ready == 2
    assert bodies_from(env.remote_s, "d5.mux") == ["unanswered pair %d" % j for j in range(3)]
    own = [l for l in env.remote_links("s.test") if l["carrier"] == "-"]
    assert sorted(l["local"] for l in own) == ["d4.mux", "d5.mux"], own
    env.a.assert_accounted()


def test_xep0220_4_3_broken_shared_stream_is_a_loss_for_every_remote_domain_on_it(env):
    # m.test's certificate names m2.test: d7.mux -> m2.test rides on the
    # stream d6.mux opened to m.test. That stream breaks (no closing tag):
    # the internal servers' streams to both remote domains are closed.
    lost = env.a.metric("remote_links_lost_total")
    closed = env.a.metric("hop_streams_closed_on_link_loss_total")
    p6 = env.internal_sender("d6.mux", "m.test")
    p6.send_message("u@d6.mux/x", "mia@m.test", "to m")
    wait_count(env.remote_m, 1)
    p7 = env.internal_sender("d7.mux", "m2.test")
    p7.send_message("u@d7.mux/x", "max@m2.test", "to m2")
    wait_count(env.remote_m, 2)
    links = env.remote_links("m2.test")
    own_m = [l for l in env.remote_links("m.test") if l["carrier"] == "-"]
    assert len(own_m) == 1 and len(links) == 1 and links[0]["carrier"] == own_m[0]["stream"], (
        own_m, links)
    env.remote_m.drop_connections()
    assert stream_ends(p7), "the internal stream to m2.test stayed open"
    assert stream_ends(p6), "the internal stream to m.test stayed open"
    p6.close()
    p7.close()
    assert env.a.metric("remote_links_lost_total") == lost + 2
    assert env.a.metric("hop_streams_closed_on_link_loss_total") >= closed + 2
    # The broken stream's replacement (opened at once) is ready before the
    # next case counts streams.
    deadline = time.time() + 10
    while not any(l["state"] == "ready" for l in env.remote_links("m.test")):
        assert time.time() < deadline, env.remote_links("m.test")
        time.sleep(0.1)
    env.a.assert_accounted()


BURST = 1000           # large stanzas of one pair: 8 MB, beyond the sockets' buffers
BURST_BODY = 8000
SMALL = 3


def link_of(env, local, remote):
    for l in env.remote_links(remote):
        if l["local"] == local:
            return l
    return None


def poll(pred, what, timeout=30):
    deadline = time.time() + timeout
    while not pred():
        assert time.time() < deadline, what
        time.sleep(0.05)


def test_xep0220_4_3_drr_small_stanzas_pass_another_pairs_burst(env):
    import threading
    f = env.remote_f
    px = env.internal_sender("d8.mux", "f.test")  # the stream's own pair: bursts
    px.send_message("u@d8.mux/x", "fay@f.test", "warm x")
    wait_count(f, 1)
    py = env.internal_sender("d9.mux", "f.test")  # rides on it: a few small stanzas
    py.send_message("u@d9.mux/x", "fay@f.test", "warm y")
    wait_count(f, 2)
    carrier = link_of(env, "d8.mux", "f.test")
    assert link_of(env, "d9.mux", "f.test")["carrier"] == carrier["stream"], env.remote_links(
        "f.test")
    pauses = env.a.metric("flow_control_pauses_total")
    f.reading.clear()  # the peer stops reading: the shared stream's output fills
    big = "b" * BURST_BODY
    sent = threading.Event()

    def burst():
        for i in range(BURST):
            px.send_message("u@d8.mux/x", "fay@f.test", "burst %d %s" % (i, big))
        sent.set()
    t = threading.Thread(target=burst, daemon=True)
    t.start()
    try:
        # The bursting pair gets a backlog and its input stream is paused.
        poll(lambda: env.a.metric("flow_control_pauses_total") > pauses and
             int(link_of(env, "d8.mux", "f.test")["queued"]) > 0, "no backlog, no pause")
        for j in range(SMALL):
            py.send_message("u@d9.mux/x", "fay@f.test", "small %d" % j)
        # The other pair's input is still read: its stanzas wait in its own
        # queue, beside the burst's backlog, while the peer reads nothing (a
        # paused input would leave them unread in the socket). The flow
        # control counter is no witness here: the bursting input may resume
        # and pause again meanwhile, as the kernel's buffers of the peer's
        # socket take a little more of the shared stream's output.
        poll(lambda: int(link_of(env, "d9.mux", "f.test")["queued"]) == SMALL,
             "the small stanzas were not read: %s" % env.remote_links("f.test"))
        assert int(link_of(env, "d8.mux", "f.test")["queued"]) > 0
    finally:
        f.reading.set()
    t.join(60)
    assert sent.is_set(), "the burst was not taken"
    wait_count(f, 2 + BURST + SMALL, timeout=60)
    arrived = [(el.get("from"), el.findtext(xp.q("jabber:server", "body")))
               for _, el in list(f.stanzas)[2:]]
    burst_seen = [b.split()[1] for frm, b in arrived if b.startswith("burst ")]
    assert burst_seen == [str(i) for i in range(BURST)], "burst out of order"
    smalls = [i for i, (frm, b) in enumerate(arrived) if b.startswith("small ")]
    assert [arrived[i][1] for i in smalls] == ["small %d" % j for j in range(SMALL)]
    after = sum(1 for frm, b in arrived[smalls[-1] + 1:] if b.startswith("burst "))
    before = BURST - after
    print("fairness: %d burst stanzas before the last small one, %d after it" % (before, after))
    # First in, first out would put the small ones after the whole burst.
    assert after > 0, "the small stanzas waited for the whole burst"
    assert len(arrived) == BURST + SMALL
    px.close()
    py.close()
    env.a.assert_accounted()


def test_xep0220_4_3_prosody_takes_further_pairs_on_one_stream(env):
    bob = pr.RawClient(env.prosody.c2s_port, "p.test", "bob", "secret", available=True)
    try:
        refused = env.a.metric("mux_pairs_refused_total")
        for i in range(5):
            p = env.internal_sender(domain(i), "p.test")
            p.send_message("u@%s/x" % domain(i), "bob@p.test", "prosody pair %d" % i)
            el = bob.next_message()
            assert el.findtext("{jabber:client}body") == "prosody pair %d" % i, xp.ET.tostring(el)
            assert el.get("from") == "u@%s/x" % domain(i)
            p.close()
    except Exception:
        print(env.prosody.log_tail(40))
        raise
    finally:
        bob.close()
    links = env.remote_links("p.test")
    own = [l for l in links if l["carrier"] == "-"]
    assert len(own) == 1 and own[0]["pairs"] == "5", links
    assert len([l for l in links if l["carrier"] == own[0]["stream"]]) == 4, links
    assert env.a.metric("mux_pairs_refused_total") == refused


def test_xep0220_4_3_shared_stream_closed_its_pairs_go_on_elsewhere(env):
    # Runs after the hundred pairs: b.test has three shared streams.
    links = env.remote_links("b.test")
    own = [l for l in links if l["carrier"] == "-"]
    assert own, links
    victim = own[0]
    riders = [l for l in links if l["carrier"] == victim["stream"]]
    moved = env.a.metric("mux_pairs_moved_total")
    rc, out, err = fp.ctl(FEDGATE, env.pa["admin"], "close", "stream", victim["stream"])
    assert rc == 0, (out, err)
    deadline = time.time() + 10
    while any(l["stream"] == victim["stream"] for l in env.remote_links("b.test")):
        assert time.time() < deadline, "stream %s still listed" % victim["stream"]
        time.sleep(0.1)
    assert env.a.metric("mux_pairs_moved_total") - moved == len(riders)
    # The pairs that rode on it: their next stanzas go out (on another
    # shared stream or a new one), none is lost.
    base = len(env.sink_b.stanzas)
    for r in riders[:5] + [victim]:
        p = env.internal_sender(r["local"], "b.test")
        p.send_message("u@%s/x" % r["local"], "bob@b.test", "after close %s" % r["local"])
        p.close()
    wait_count(env.sink_b, base + len(riders[:5]) + 1)
    for r in riders[:5] + [victim]:
        assert "after close %s" % r["local"] in bodies_from(env.sink_b, r["local"]), r["local"]
    env.a.assert_accounted()


def test_rfc6120_4_9_3_9_stanza_of_an_unauthorised_pair_is_invalid_from(env):
    before = invalid_from(env.b)
    p = xp.authenticated(HOST, env.pb["s2s"], "b.test", "d0.mux", "pki/ca.crt",
                         "pki/d0.mux.crt", "pki/d0.mux.key")
    # d0.mux is authenticated by its certificate; d7.mux never asked.
    p.send_message("u@d7.mux/x", "bob@b.test", "not authorised")
    assert p.expect_stream_error() == "invalid-from"
    assert invalid_from(env.b) == before + 1
    assert not bodies_from(env.sink_b, "d7.mux") or all(
        b != "not authorised" for b in bodies_from(env.sink_b, "d7.mux"))


def test_xep0220_2_4_bad_key_for_a_further_pair_is_invalid_and_stream_stays(env):
    p = xp.authenticated(HOST, env.pb["s2s"], "b.test", "d0.mux", "pki/ca.crt",
                         "pki/d0.mux.crt", "pki/d0.mux.key")
    # A further pair with a key A never issued: B asks A, which says invalid.
    p.dialback_result("d8.mux", "b.test", "00" * 32)
    el = p.read_dialback_result()
    assert el.get("type") == "invalid", el.attrib
    # The stream's own pair still flows.
    p.send_message("u@d0.mux/x", "bob@b.test", "still up")
    xp.wait_for(env.sink_b, xp.body_is("still up"))
    p.send_message("u@d8.mux/x", "bob@b.test", "refused pair")
    assert p.expect_stream_error() == "invalid-from"


def invalid_from(g):
    url = "http://%s:%d/metrics" % (HOST, g.admin_port)
    for line in urllib.request.urlopen(url, timeout=5).read().decode().splitlines():
        if line.startswith('fedgate_stream_errors_by_condition_total{condition="invalid-from"}'):
            return int(line.split()[1])
    raise KeyError("invalid-from")


if __name__ == "__main__":
    sys.exit(fp.main_of(Env, globals()))
