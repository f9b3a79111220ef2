#!/usr/bin/python3
"""End-to-end: fedgate out of file descriptors.

`fedgate run` under `prlimit --nofile=N:N` (a limit it cannot raise) while
the test opens more connections than it has descriptors for: accepting
pauses with one log line and the counters on /metrics, the waiting
connections are refused with a reset instead of left hanging, and once the
connections are gone fedgate accepts and serves again. Then every public
listener in turn (5269, 5270 and the internal one): one log line per
listener and worker, no busy loop while paused (the process's CPU time while
connections keep arriving), and each serves again afterwards.

usage: descriptors_test.py FEDGATE_BINARY
"""

import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "bazel-bin/gateway/fedgate")
HOST = "127.0.0.1"
LIMIT = 64


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-descriptors-")
        d = self.dir
        fp.dev_pki(FEDGATE, d + "/pki", "b.test")
        fp.dev_pki(FEDGATE, d + "/ica", "unused.test")
        fp.write_secret(d + "/secret", "test-dialback-secret")
        self.ports = {k: fp.free_port() for k in ("s2s", "tls", "internal", "admin", "sink")}
        cfg = fp.gateway_yaml(self.ports, [("b.test", "sink", None)],
                              [("sink", [self.ports["sink"]])], default_cert="pki/b.test",
                              limits={"streams_per_ip": 1000}, log_level="info")
        self.gw = fp.Fedgate(FEDGATE, d, "gw", cfg, self.ports["admin"],
                             prefix=["prlimit", "--nofile=%d:%d" % (LIMIT, LIMIT)])
        # A second one for the every-listener case: its log lines are its own.
        self.ports2 = {k: fp.free_port() for k in ("s2s", "tls", "internal", "admin", "sink")}
        cfg = fp.gateway_yaml(self.ports2, [("b.test", "sink", None)],
                              [("sink", [self.ports2["sink"]])], default_cert="pki/b.test",
                              limits={"streams_per_ip": 1000}, log_level="info")
        self.gw2 = fp.Fedgate(FEDGATE, d, "gw2", cfg, self.ports2["admin"],
                              prefix=["prlimit", "--nofile=%d:%d" % (LIMIT, LIMIT)])

    def close(self):
        self.gw.stop()
        self.gw2.stop()


def test_out_of_descriptors_pauses_refuses_and_resumes(env):
    held, reset = [], 0
    for _ in range(3 * LIMIT):
        try:
            held.append(socket.create_connection((HOST, env.ports["s2s"]), timeout=5))
        except ConnectionResetError:
            reset += 1  # refused before connect() returned
    time.sleep(1.0)
    for s in held:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                reset += 1
        except ConnectionResetError:
            reset += 1
        except BlockingIOError:
            pass
    assert reset > 0, "no connection was refused while descriptors ran out"
    log = env.gw.log_tail(400)
    assert log.count("accepting paused") >= 1, log
    assert "Too many open files" in log, log
    for s in held:
        s.close()
    # Descriptors free again: the admin endpoint and the listeners serve.
    deadline = time.time() + 15
    while True:
        try:
            pauses = env.gw.metric("accept_pauses_total")
            refused = env.gw.metric("connections_refused_no_descriptors_total")
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
    assert pauses >= 1 and refused >= 1, (pauses, refused)
    s = socket.create_connection((HOST, env.ports["s2s"]), timeout=5)
    s.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
              b"xmlns:stream='http://etherx.jabber.org/streams' to='b.test' version='1.0'>")
    s.settimeout(5)
    assert b"stream:stream" in s.recv(4096), "no stream header after the shortage"
    s.close()
    assert "accepting resumed" in env.gw.log_tail(400)
    print("refused %d of %d connections; pauses %d" % (reset, 3 * LIMIT, pauses))


def flood(port, n):
    """Opens |n| connections to |port|; returns (held sockets, how many were
    reset before connect returned)."""
    held, reset = [], 0
    for _ in range(n):
        try:
            held.append(socket.create_connection((HOST, port), timeout=5))
        except (ConnectionResetError, ConnectionRefusedError):
            reset += 1
    return held, reset


def still_open(held):
    """The sockets of |held| the server has neither reset nor closed."""
    out = []
    for s in held:
        s.setblocking(False)
        try:
            if s.recv(1) != b"":
                out.append(s)
        except ConnectionResetError:
            pass
        except BlockingIOError:
            out.append(s)
    return out


def cpu_ticks(pid):
    """utime + stime of process |pid| (every thread), in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def metrics_when_served(gw, names, timeout=15):
    """The counters |names| from /metrics, retrying while the admin listener
    cannot accept (no descriptor free)."""
    deadline = time.time() + timeout
    while True:
        try:
            return {n: gw.metric(n) for n in names}
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def stream_header_answered(port, tls=False):
    """A new connection to |port| is accepted and served: its stream header
    (RFC 6120 §4.2) is answered with one; on the direct-TLS port (XEP-0368)
    after the TLS handshake."""
    import ssl
    s = socket.create_connection((HOST, port), timeout=5)
    try:
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["xmpp-server"])
            s = ctx.wrap_socket(s, server_hostname="b.test")
        s.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
                  b"xmlns:stream='http://etherx.jabber.org/streams' to='b.test' version='1.0'>")
        s.settimeout(5)
        return b"stream:stream" in s.recv(4096)
    except OSError:
        return False
    finally:
        s.close()


def test_every_listener_pauses_once_without_spinning_and_resumes(env):
    """5269 (s2s), 5270 (s2s-tls) and the internal listener, each out of
    descriptors in turn: each pauses with one log line per worker and the
    counter, the process does not spin while paused (CPU time and the
    loop's turns), and each serves new connections again once descriptors
    are free."""
    import re
    gw = env.gw2
    with open(gw.logfile) as f:
        start = len(f.read())
    ports = {"s2s": env.ports2["s2s"], "s2s-tls": env.ports2["tls"],
             "internal": env.ports2["internal"]}
    before = metrics_when_served(gw, ["accept_pauses_total",
                                      "connections_refused_no_descriptors_total"])
    held, reset, accepted = [], {}, {}
    for name, n in (("s2s", 3 * LIMIT), ("s2s-tls", LIMIT), ("internal", LIMIT)):
        h, r = flood(ports[name], n)
        held += h
        reset[name] = [r, h]
    time.sleep(1.0)
    for name in reset:
        accepted[name] = still_open(reset[name][1])
        reset[name] = reset[name][0] + len(reset[name][1]) - len(accepted[name])
    with open(gw.logfile) as f:
        log = f.read()[start:]
    paused = re.findall(r"accepting paused on worker (\d+), port (\d+): (.*?);", log)
    for name, port in ports.items():
        assert reset[name] > 0, "no connection to %s was refused: %s" % (name, reset)
        lines = [p for p in paused if int(p[1]) == port]
        workers = [p[0] for p in lines]
        assert lines and len(workers) == len(set(workers)), \
            "%s (port %d): want one 'accepting paused' line per worker, got %s\n%s" % (
                name, port, lines, log[-3000:])
        assert all(p[2] == "Too many open files" for p in lines), lines
    # No busy loop while paused: the process's CPU time over two seconds of
    # shortage while new connections keep arriving at every listener (an
    # accept re-armed at once would fail at once, again and again, on a
    # whole CPU).
    pid = gw.proc.pid
    stop = threading.Event()
    knocks = [0]

    def knock():
        while not stop.is_set():
            for port in ports.values():
                try:
                    socket.create_connection((HOST, port), timeout=1).close()
                except OSError:
                    pass
                knocks[0] += 1
            time.sleep(0.02)

    knocker = threading.Thread(target=knock)
    knocker.start()
    time.sleep(0.2)
    t0 = cpu_ticks(pid)
    time.sleep(2.0)
    spent = (cpu_ticks(pid) - t0) / os.sysconf("SC_CLK_TCK")
    stop.set()
    knocker.join()
    assert spent < 0.3, "fedgate used %.2f s of CPU in 2 s while paused" % spent
    with open(gw.logfile) as f:
        log = f.read()[start:]
    paused = re.findall(r"accepting paused on worker (\d+), port (\d+)", log)
    for s in held:
        s.close()
    after = metrics_when_served(gw, ["accept_pauses_total",
                                     "connections_refused_no_descriptors_total"])
    # Every pause is counted; at most one per listener in ten seconds is
    # logged (a listener at the limit may pause many times a second).
    assert after["accept_pauses_total"] - before["accept_pauses_total"] >= len(paused), \
        (before, after, paused)
    assert after["connections_refused_no_descriptors_total"] > \
        before["connections_refused_no_descriptors_total"], (before, after)
    # Descriptors free again: every listener accepts and serves, ten new
    # connections in a row each. Until then a worker that resumes may still
    # run short: the knocks that waited in its queue (closed by now) are
    # accepted first, and at the limit it pauses again and refuses what is
    # still queued. A worker that never resumed would fail about every
    # second connection (each such one waits out its 5 s), and a run of ten
    # would hardly come before the deadline.
    for name, port in ports.items():
        deadline = time.time() + 20
        streak, seen = 0, []
        while streak < 10:
            assert time.time() < deadline, "%s (port %d) not served after the shortage: %s" % (
                name, port, seen[-20:])
            ok = stream_header_answered(port, tls=name == "s2s-tls")
            seen.append(ok)
            streak = streak + 1 if ok else 0
            if not ok:
                time.sleep(0.2)
    with open(gw.logfile) as f:
        log = f.read()[start:]
    for name, port in ports.items():
        assert re.search(r"accepting resumed on worker \d+, port %d " % port, log), \
            "%s: no 'accepting resumed' line\n%s" % (name, log[-3000:])
    print("refused %s; %.2f s CPU in 2 s while paused, %d connection attempts meanwhile" % (
        reset, spent, knocks[0]))


if __name__ == "__main__":
    sys.exit(fp.main_of(Env, globals()))
