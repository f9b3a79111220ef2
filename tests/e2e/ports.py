#!/usr/bin/python3
"""ports: loopback ports for test servers, never handed out twice at once.

Several suites run at the same time (Bazel runs tests in parallel), each
starting servers (fedgate, Prosody, ejabberd, dnsmasq) on ports it picks
before they bind. A port is free when it binds now *and* no other process
reserved it: a reservation is a file /tmp/fedgate-test-ports/<port> created
exclusively, given up when the reserving process exits, and considered stale
after 20 minutes (a killed suite). Ports come from 20000-31999, below the
kernel's ephemeral range, so no outgoing connection takes one meanwhile.

As a program: prints one reserved port (kept until it goes stale).
"""

import atexit
import os
import random
import socket
import time

HOST = "127.0.0.1"
DIR = "/tmp/fedgate-test-ports"
STALE_S = 1200
_mine = []


def _release():
    for path in _mine:
        try:
            os.unlink(path)
        except OSError:
            pass


def _reserve(port):
    os.makedirs(DIR, exist_ok=True)
    path = os.path.join(DIR, str(port))
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        try:
            if time.time() - os.path.getmtime(path) < STALE_S:
                return None
            os.unlink(path)  # a suite that died without cleaning up
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except OSError:
            return None
    return path


def free_port(keep=False):
    """A loopback TCP port that binds now and that no other test process
    holds. With |keep| the reservation outlives this process (until stale)."""
    for _ in range(2000):
        port = random.randrange(20000, 32000)
        s = socket.socket()
        try:
            s.bind((HOST, port))
        except OSError:
            continue
        finally:
            s.close()
        path = _reserve(port)
        if path is None:
            continue
        if not keep:
            if not _mine:
                atexit.register(_release)
            _mine.append(path)
        return port
    raise RuntimeError("no free port")


if __name__ == "__main__":
    print(free_port(keep=True))
