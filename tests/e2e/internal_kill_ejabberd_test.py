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
import fedgate_proc as fp  # noqa: E402
import internal_kill_test as ik  # noqa: E402


class EjabberdScenario(ik.Scenario):
    """internal_kill_test.Scenario with ejabberd as b.test."""

    BACKEND = "ejabberd"

    def __init__(self, w, name, smacks):
        assert not smacks, "ejabberd 23.01 has no XEP-0198 on s2s streams"
        super().__init__(w, name, smacks)

    def start_internal(self, w, name, smacks):
        pki = w.dir + "/pki/"
        # ejabberd runs as the ejabberd user, which needs to traverse its
        # directory: one under /tmp of its own.
        self.ejdir = tempfile.mkdtemp(prefix="fedgate-kill-ejabberd-", dir="/tmp")
        os.chmod(self.ejdir, 0o755)
        self.args = dict(workdir=self.ejdir + "/b", name="kill-" + name, domain="b.test",
                         c2s_port=fp.free_port(), s2s_port=fp.free_port(),
                         certfile=pki + "b.test.crt", keyfile=pki + "b.test.key",
                         cafile=w.dir + "/ica/ca.crt", modules=("mod_offline",),
                         loglevel=os.environ.get("FEDGATE_E2E_EJABBERD_LOGLEVEL", "info"))
        e = ej.Ejabberd(users=[("bob", "secret")], **self.args)
        w.procs.append(self)
        return e

    def kill_process(self):
        """ejabberdctl, su, sh, beam.smp and its helpers; its listening
        sockets are closed when this returns."""
        self.internal.kill()

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
    if ej.missing():
        print("FAIL setup: %s" % ej.missing())
        print("0 passed, 1 failed")
        return 1
    return fp.main_of(World, globals())


if __name__ == "__main__":
    sys.exit(main())
