#!/usr/bin/python3
"""A lost remote link closes the internal server's streams of that domain,
with stock Prosody 0.12.3 on both sides of the gateway:

  prosody remote.test (carol) <-> fault proxies <-> fedgate <-> prosody b.test (bob)
                                                               (internal server)

Behind a gateway the internal server never sees the remote side go away: its
s2s streams end at fedgate. When fedgate loses its link with remote.test
without a clean close (the outbound link reset, or the inbound stream from
remote.test dropped), it closes the hop streams of remote.test with
</stream:stream>, and Prosody b.test logs the end of its s2s sessions with
remote.test, so its own recovery (XEP-0410 self-ping and the like) can run.
Nothing is lost meanwhile: every message is delivered or bounced to its
sender. docs/stream-management.md, "When a remote link is lost".

usage: linkloss_prosody_test.py FEDGATE_BINARY
"""

import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fault_proxy  # noqa: E402
import fedgate_proc as fp  # noqa: E402
import prosody as pr  # noqa: E402
import prosody_test  # noqa: E402

OUT_CLOSED = "Outgoing s2s stream b.test->remote.test closed"
IN_CLOSED = "Incoming s2s stream remote.test->b.test closed"


class World(prosody_test.World):
    def __init__(self):
        super().__init__()
        self.ports = fp.listener_ports()
        pki = self.dir + "/pki/"
        # Prosody remote.test reaches fedgate through |from_remote|, fedgate
        # reaches it through |to_remote|.
        self.from_remote = fault_proxy.FaultProxy(self.ports["s2s"])
        with open(self.dir + "/internal-trust.crt", "w") as f:
            f.write(open(pki + "ca.crt").read() + open(self.dir + "/ica/ca.crt").read())
        self.internal = pr.Prosody(self.dir + "/b", "b.test", fp.free_port(), fp.free_port(),
                                   pki + "b.test.crt", pki + "b.test.key",
                                   self.dir + "/internal-trust.crt",
                                   fedgate_port=self.ports["internal"], users=[("bob", "secret")])
        self.procs.append(self.internal)
        self.remote = pr.Prosody(self.dir + "/r", "remote.test", fp.free_port(), fp.free_port(),
                                 pki + "remote.test.crt", pki + "remote.test.key", pki + "ca.crt",
                                 fedgate_port=self.from_remote.port, users=[("carol", "secret")],
                                 smacks=True)
        self.procs.append(self.remote)
        self.to_remote = fault_proxy.FaultProxy(self.remote.s2s_port)
        text = fp.gateway_yaml(self.ports, [("b.test", "prosody", None)],
                               [("prosody", [self.internal.s2s_port])], default_cert="pki/b.test",
                               static=[("remote.test", self.to_remote.port)])
        text += ("stream_management:\n  request_every: 4\n  request_interval: 200ms\n"
                 "  resume_timeout: 1s\n  give_up_after: 2s\n")
        self.gw = self.fedgate("gw", text, self.ports["admin"])
        self.bob = self.client("bob@b.test/e2e", "secret", self.internal.c2s_port)
        self.bob.wait_for("online")
        self.carol = self.client("carol@remote.test/e2e", "secret", self.remote.c2s_port)
        self.carol.wait_for("online")

    def close(self):
        super().close()
        self.to_remote.close()
        self.from_remote.close()


def wait_until(pred, timeout=20):
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            return False
        time.sleep(0.1)
    return True


def prosody_log_count(p, text):
    with open(p.logfile, errors="replace") as f:
        return f.read().count(text)


def count_lines(client, prefix):
    return len([l for l in list(client.lines) if l.startswith(prefix)])


def exchange(w, tag):
    """One message each way, both delivered: both s2s sessions of b.test
    with remote.test are up (through fedgate)."""
    c = w.client("carol@remote.test/" + tag, "secret", w.remote.c2s_port,
                 sends=[("bob@b.test/e2e", tag + "-in")])
    b = w.client("bob@b.test/" + tag, "secret", w.internal.c2s_port,
                 sends=[("carol@remote.test/e2e", tag + "-out")])
    for client, line in ((w.bob, "message carol@remote.test/%s chat %s-in" % (tag, tag)),
                         (w.carol, "message bob@b.test/%s chat %s-out" % (tag, tag))):
        assert wait_until(lambda: count_lines(client, line) >= 1, 30), "%r never arrived" % line
    return c, b


def test_outbound_remote_link_reset_closes_internal_server_s2s_sessions(w):
    g = w.gw
    exchange(w, "o1")
    out0, in0 = prosody_log_count(w.internal, OUT_CLOSED), prosody_log_count(w.internal, IN_CLOSED)
    lost0 = g.metric("remote_links_lost_total")
    # remote.test becomes unreachable and the link to it is reset.
    w.to_remote.refuse = -1
    w.to_remote.drop_all()
    assert wait_until(lambda: g.metric("remote_links_lost_total") > lost0), "loss not counted"
    # Prosody b.test sees both of its sessions with remote.test end: the
    # stream it sent to remote.test on, and the one fedgate opened as
    # remote.test (each closed with </stream:stream>).
    assert wait_until(lambda: prosody_log_count(w.internal, OUT_CLOSED) > out0), \
        "Prosody's outgoing session to remote.test stayed up:\n" + w.internal.log_tail(20)
    assert wait_until(lambda: prosody_log_count(w.internal, IN_CLOSED) > in0), \
        "Prosody's incoming session from remote.test stayed up:\n" + w.internal.log_tail(20)
    assert g.metric("hop_streams_closed_on_link_loss_total") >= 2
    assert "link with remote.test lost" in g.log_tail(200)
    # While remote.test is unreachable, bob's messages come back as errors
    # (once stream_management.give_up_after has passed).
    o2 = w.client("bob@b.test/o2", "secret", w.internal.c2s_port,
                  sends=[("carol@remote.test/e2e", "o2-%d" % i) for i in range(3)])
    assert wait_until(lambda: count_lines(o2, "message-error carol@remote.test") >= 3, 30), \
        o2.lines[-5:]
    assert count_lines(w.carol, "message bob@b.test/o2") == 0
    # Once it is back (after the unreachable memory's first retry time of
    # at most 6.25 s), messages flow again on new sessions.
    w.to_remote.refuse = 0
    time.sleep(6.5)
    exchange(w, "o3")
    # Every message of bob's was delivered or bounced: fedgate's counters add up.
    g.assert_accounted()
    assert g.metric("stanzas_bounced_total") >= 3


def test_inbound_stream_drop_closes_hop_session_of_that_domain(w):
    g = w.gw
    exchange(w, "i1")
    in0 = prosody_log_count(w.internal, IN_CLOSED)
    lost0 = g.metric("remote_links_lost_total")
    # The stream Prosody remote.test opened to fedgate breaks (RST); no
    # resumption follows within stream_management.resume_timeout.
    w.from_remote.drop_all()
    assert wait_until(lambda: g.metric("remote_links_lost_total") > lost0), "loss not counted"
    assert wait_until(lambda: prosody_log_count(w.internal, IN_CLOSED) > in0), \
        "Prosody's incoming session from remote.test stayed up:\n" + w.internal.log_tail(20)
    exchange(w, "i2")
    g.assert_accounted()


def test_graceful_close_tells_nothing(w):
    g = w.gw
    exchange(w, "g1")
    lost0 = g.metric("remote_links_lost_total")
    closed0 = g.metric("hop_streams_closed_on_link_loss_total")
    # The operator closes fedgate's links to remote.test the RFC 6120 §4.4
    # way (</stream:stream> after what they hold): a clean close, not a loss.
    url = "http://%s:%d/streams" % (fp.HOST, g.admin_port)
    ids = [f.split("=", 1)[1] for line in urllib.request.urlopen(url, timeout=5).read().decode()
           .splitlines() if line.startswith("link ") and " kind=remote " in line
           and " remote=remote.test " in line for f in line.split() if f.startswith("stream=")]
    assert ids, "no link to remote.test"
    for i in ids:
        rc, out, err = fp.ctl(prosody_test.FEDGATE, g.admin_port, "close", "stream", i)
        assert rc == 0, (rc, out, err)
    time.sleep(2.0)
    assert g.metric("remote_links_lost_total") == lost0
    assert g.metric("hop_streams_closed_on_link_loss_total") == closed0
    exchange(w, "g2")


def main():
    return fp.main_of(World, globals())


if __name__ == "__main__":
    sys.exit(main())
