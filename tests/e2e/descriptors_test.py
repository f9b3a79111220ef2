#!/usr/bin/python3
"""End-to-end: fedgate out of file descriptors.

`fedgate run` under `prlimit --nofile=N:N` (a limit it cannot raise) while
the test opens more connections than it has descriptors for: accepting
pauses with one log line and the counters on /metrics, the waiting
connections are refused with a reset instead of left hanging, and once the
connections are gone fedgate accepts and serves again.

usage: descriptors_test.py FEDGATE_BINARY
"""

import os
import socket
import sys
import tempfile
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

    def close(self):
        self.gw.stop()


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


if __name__ == "__main__":
    sys.exit(fp.main_of(Env, globals()))
