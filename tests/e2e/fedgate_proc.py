"""fedgate_proc: run `fedgate run` for end-to-end tests."""

import signal
import socket
import subprocess
import urllib.request

import xmpp_peer as xp

HOST = "127.0.0.1"


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def dev_pki(fedgate, directory, *domains):
    args = [fedgate, "dev-pki", directory]
    for d in domains:
        args += ["--domain", d]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


class Fedgate:
    """One gateway process with its config file, log and admin endpoint."""

    def __init__(self, fedgate, directory, name, config_text, admin_port):
        self.cfgfile = "%s/%s.yaml" % (directory, name)
        self.logfile = "%s/%s.log" % (directory, name)
        with open(self.cfgfile, "w") as f:
            f.write(config_text)
        self.admin_port = admin_port
        self.log = open(self.logfile, "w")
        self.proc = subprocess.Popen([fedgate, "run", "--config", self.cfgfile],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if not xp.wait_port(HOST, admin_port, 10):
            raise RuntimeError("fedgate %s did not start:\n%s" % (name, self.log_tail()))

    def metric(self, name):
        url = "http://%s:%d/metrics" % (HOST, self.admin_port)
        for line in urllib.request.urlopen(url, timeout=5).read().decode().splitlines():
            if line.startswith("fedgate_" + name + " "):
                return int(line.split()[1])
        raise KeyError(name)

    def log_tail(self, n=60):
        try:
            return "".join(open(self.logfile).readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
