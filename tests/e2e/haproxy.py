"""haproxy: a private HAProxy 2.6 (Debian's `haproxy`) for end-to-end tests.

TCP mode only: the frontends and backends are given as text, written into a
configuration file of the test's own directory, checked with `haproxy -c`,
and run in the foreground (`-db`) as a child process on loopback, stopped
by PID. Nothing of the system's HAProxy (service, /etc/haproxy) is used.
"""

import os
import subprocess

import fedgate_proc as fp
import xmpp_peer as xp

HOST = "127.0.0.1"

GLOBAL = """global
  maxconn 4096
  nbthread 1
  stats socket %(sock)s mode 600 level admin

defaults
  mode tcp
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  # A server refusing the connection (an instance that died) is retried on
  # another one of the backend.
  retries 3
  option redispatch
"""


class HAProxy(fp.Child):
    def __init__(self, workdir, sections, listen_ports):
        """|sections|: the frontend/backend text; |listen_ports|: the ports
        its frontends bind on HOST (waited for)."""
        import tempfile
        os.makedirs(workdir, exist_ok=True)
        self.dir = workdir
        # A Unix socket path has at most 107 bytes: not under Bazel's long
        # test directories.
        self.sockdir = tempfile.mkdtemp(prefix="fg-haproxy-", dir="/tmp")
        self.sock = os.path.join(self.sockdir, "stats.sock")
        self.cfgfile = os.path.join(workdir, "haproxy.cfg")
        self.logfile = os.path.join(workdir, "haproxy.log")
        with open(self.cfgfile, "w") as f:
            f.write(GLOBAL % {"sock": self.sock} + "\n" + sections)
        check = subprocess.run(["haproxy", "-c", "-f", self.cfgfile], capture_output=True,
                               text=True)
        if check.returncode != 0:
            raise RuntimeError("haproxy -c refused the configuration:\n%s%s" %
                               (check.stdout, check.stderr))
        self.log = open(self.logfile, "w")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.cfgfile], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        for port in listen_ports:
            if not xp.wait_port(HOST, port, 10):
                raise RuntimeError("haproxy did not listen on %d:\n%s" % (port, self.log_tail()))

    def server_state(self, backend, server):
        """The operational state of |server| in |backend| ("UP", "DOWN", ...)
        from the stats socket, or None."""
        import socket
        s = socket.socket(socket.AF_UNIX)
        try:
            try:
                s.connect(self.sock)
            except (FileNotFoundError, ConnectionRefusedError):
                return None  # not listening yet: ask again
            s.sendall(b"show stat\n")
            data = s.makefile("rb").read()  # HAProxy closes after the answer
        finally:
            s.close()
        lines = data.decode().splitlines()
        if not lines:
            return None
        cols = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(cols, line.split(",")))
            if row.get("pxname") == backend and row.get("svname") == server:
                return row.get("status")
        return None

    def stop(self):
        fp.Child.stop(self)
        import shutil
        shutil.rmtree(self.sockdir, ignore_errors=True)
