#!/usr/bin/python3
"""Fault scenario: the internal server is ejabberd 23.01 (Debian), killed
with SIGKILL in the middle of a run and started again (same configuration,
same Mnesia spool, so offline storage survives), while a remote user keeps
sending through fedgate.

  prosody remote.test (carol) -> fedgate (one worker) -> proxy -> ejabberd b.test (bob)
                                                                 (internal server,
                                                                  mod_offline)

The same run as internal_kill_test.py (read its docstring for the
invariants, all checked here with exact counts), with the other internal
server fedgate supports. ejabberd 23.01 acknowledges nothing on s2s streams
(its XEP-0198 is for clients), so this is the case without acks: the hop
link that replaces the killed stream keeps what comes while ejabberd is down
and while it boots (several seconds, longer than Prosody's), within
stream_management.give_up_after, and delivers it when ejabberd is back;
nothing bounces; what was written on the killed stream and never received
is exactly what fedgate counts unconfirmed; order holds in each of bob's
sessions.

usage: internal_kill_ejabberd_test.py FEDGATE_BINARY
"""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ejabberd as ej  # noqa: E402
import fault_proxy  # noqa: E402
import fedgate_proc as fp  # noqa: E402
import internal_kill_test as ik  # noqa: E402
import prosody as pr  # noqa: E402
import xmpp_peer as xp  # noqa: E402


class EjabberdScenario:
    """internal_kill_test.Scenario's interface, with ejabberd as b.test."""

    def __init__(self, w, name, smacks):
        assert not smacks, "ejabberd 23.01 has no XEP-0198 on s2s streams"
        self.w, self.name = w, name
        pki = w.dir + "/pki/"
        self.ports = fp.listener_ports()
        # ejabberd runs as the ejabberd user, which needs to traverse its
        # directory: one under /tmp of its own.
        self.ejdir = tempfile.mkdtemp(prefix="fedgate-kill-ejabberd-", dir="/tmp")
        os.chmod(self.ejdir, 0o755)
        self.args = dict(workdir=self.ejdir + "/b", name="kill-" + name, domain="b.test",
                         c2s_port=fp.free_port(), s2s_port=fp.free_port(),
                         certfile=pki + "b.test.crt", keyfile=pki + "b.test.key",
                         cafile=w.dir + "/ica/ca.crt", modules=("mod_offline",),
                         loglevel=os.environ.get("FEDGATE_E2E_EJABBERD_LOGLEVEL", "info"))
        self.internal = ej.Ejabberd(users=[("bob", "secret")], **self.args)
        w.procs.append(self)
        self.remote = pr.Prosody(w.dir + "/r-" + name, "remote.test", fp.free_port(),
                                 fp.free_port(), pki + "remote.test.crt",
                                 pki + "remote.test.key", pki + "ca.crt",
                                 fedgate_port=self.ports["s2s"], users=[("carol", "secret")],
                                 smacks=True)
        w.procs.append(self.remote)
        self.hop_proxy = fault_proxy.FaultProxy(self.internal.s2s_port)
        w.proxies.append(self.hop_proxy)
        text = fp.gateway_yaml(self.ports, [("b.test", "ejabberd", None)],
                               [("ejabberd", [self.hop_proxy.port])],
                               hop_mode="internal-ca", default_cert="pki/b.test",
                               static=[("remote.test", self.remote.s2s_port)])
        text = text.replace("workers: 2", "workers: 1")  # one hop stream: order
        self.gw = w.fedgate("gw-" + name, text, self.ports["admin"])

    def bob(self, resource):
        c = self.w.client("bob@b.test/" + resource, "secret", self.internal.c2s_port,
                          commands=[("ping", "b.test")])
        c.wait_for("pong b.test", timeout=30)  # bob's presence is in (as in Scenario)
        return c

    def kill_internal(self):
        """SIGKILL to ejabberd (ejabberdctl, su, sh, beam.smp) while
        what fedgate wrote last is still in flight."""
        self.hop_proxy.stall()
        ik.time.sleep(ik.STALL_SECONDS)
        self.internal.kill()
        # Its listening sockets went with the Erlang VM.
        assert not xp.wait_port(fp.HOST, self.internal.s2s_port, 0.5)
        self.hop_proxy.drop_all()  # the connections died with the process
        self.hop_proxy.unstall()

    def restart_internal(self):
        """The same configuration, ports and spool (bob is registered there)."""
        self.internal.out.close()
        self.internal = ej.Ejabberd(**self.args)

    def stop(self):
        try:
            self.internal.stop()
        finally:
            if not os.environ.get("FEDGATE_E2E_KEEP"):
                shutil.rmtree(self.ejdir, ignore_errors=True)


class World(ik.World):
    pass


def test_rfc6120_8_3_ejabberd_internal_server_sigkill_restart_counts_unconfirmed(w):
    s, m, missing, live, distinct, sent = ik.run(w, "ej", smacks=False,
                                                 scenario=EjabberdScenario)
    # Nothing acknowledges hop stanzas: nothing was resent, and every stanza
    # written on the killed stream counts unconfirmed, those bob got live
    # and those lost (written while the proxy held them back).
    assert m["stanzas_resent_total"] == 0 and missing
    # (+1: the warm-up message, when it was written on the killed stream)
    assert len(live) + len(missing) <= m["stanzas_unconfirmed_total"] <= \
        len(live) + len(missing) + 1, (m["stanzas_unconfirmed_total"], len(live), len(missing))
    # Everything sent after the kill reached bob (kept through ejabberd's
    # boot, then delivered).
    assert distinct | missing == sent


def main():
    if os.geteuid() != 0 or not os.path.exists(ej.EJABBERDCTL):
        print("FAIL setup: needs root and Debian's ejabberd package")
        print("0 passed, 1 failed")
        return 1
    return fp.main_of(World, globals())


if __name__ == "__main__":
    sys.exit(main())
