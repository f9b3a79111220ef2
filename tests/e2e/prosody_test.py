#!/usr/bin/python3
"""Inbound federation with Prosody 0.12.3 from Debian on both sides.

  1. Prosody as the internal server (mode internal-ca): a scripted remote
     peer sends a message and an iq through fedgate; a slixmpp user on
     Prosody receives both. fedgate authenticates to Prosody with a
     certificate minted by its internal CA (SASL EXTERNAL).
  2. The same with mode dialback: Prosody verifies fedgate's dialback key by
     connecting back through contrib/prosody/mod_fedgate_route.lua.
  3. Prosody as a remote server with a certificate fedgate trusts: its users
     reach the internal Prosody through fedgate, authenticated by SASL
     EXTERNAL.
  4. A remote Prosody whose certificate fedgate does not trust: dialback.

usage: prosody_test.py FEDGATE_BINARY
"""

import os
import shutil
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import prosody as pr  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = fp.HOST


def gateway_config(ports, mode, backend_port, static):
    return fp.gateway_yaml(ports, [("b.test", "prosody", None)], [("prosody", [backend_port])],
                           hop_mode=mode, static=static, default_cert="pki/b.test")


class World:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-prosody-")
        os.chmod(self.dir, 0o755)  # prosodyctl drops to the prosody user
        os.chdir(self.dir)
        fp.dev_pki(FEDGATE, "pki", "remote.test", "b.test")
        fp.dev_pki(FEDGATE, "ica", "unused.test")
        fp.dev_pki(FEDGATE, "rogue", "other.test")
        fp.write_secret("secret", "prosody-e2e-secret")
        self.procs = []

    def ports(self):
        return fp.listener_ports()

    def prosody(self, name, domain, cert, key, cafile, fedgate_port=None, users=()):
        p = pr.Prosody(self.dir + "/" + name, domain, fp.free_port(), fp.free_port(), cert, key,
                       cafile, fedgate_port, users)
        self.procs.append(p)
        return p

    def fedgate(self, name, text, admin_port):
        g = fp.Fedgate(FEDGATE, self.dir, name, text, admin_port)
        self.procs.append(g)
        return g

    def client(self, *args, **kw):
        c = pr.Client(*args, **kw)
        self.procs.append(c)
        return c

    def close(self):
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception:  # noqa: BLE001
                pass


def scripted_remote_sends(gw_ports, w, tag):
    """remote.test (scripted, SASL EXTERNAL) sends a message and an iq to bob."""
    return xp.remote_sends_message_and_ping(HOST, gw_ports["s2s"], w.dir + "/pki", tag)


def test_prosody_internal_server_mode_internal_ca(w, env):
    bob = env["bob"]
    p = scripted_remote_sends(env["gw1_ports"], w, "ca")
    line = bob.wait_for("message alice@remote.test/x chat hello bob ca")
    assert line
    bob.wait_for("iq alice@remote.test/x get ping-ca")
    g = env["gw1"]
    assert g.metric("hop_streams_ready_total") >= 1
    assert g.metric("internal_certs_minted_total") >= 1
    p.close()


def test_prosody_internal_server_mode_dialback(w, env):
    ports = w.ports()
    b2 = w.prosody("b2", "b.test", w.dir + "/pki/b.test.crt", w.dir + "/pki/b.test.key",
                   w.dir + "/pki/ca.crt", fedgate_port=ports["internal"],
                   users=[("bob", "secret")])
    g2 = w.fedgate("gw-dialback", gateway_config(ports, "dialback", b2.s2s_port, []),
                   ports["admin"])
    bob2 = w.client("bob@b.test/e2e", "secret", b2.c2s_port)
    bob2.wait_for("online")
    p = scripted_remote_sends(ports, w, "db")
    try:
        bob2.wait_for("message alice@remote.test/x chat hello bob db")
        bob2.wait_for("iq alice@remote.test/x get ping-db")
    except AssertionError:
        print(b2.log_tail(30))
        print(g2.log_tail(30))
        raise
    assert g2.metric("hop_streams_ready_total") >= 1
    # Prosody checked fedgate's dialback key with fedgate itself.
    assert g2.metric("dialback_verify_answered_total") >= 1
    p.close()


def test_prosody_remote_server_trusted_certificate_sasl_external(w, env):
    g = env["gw1"]
    before = g.metric("auth_sasl_external_total")
    r = w.prosody("r1", "remote.test", w.dir + "/pki/remote.test.crt",
                  w.dir + "/pki/remote.test.key", w.dir + "/pki/ca.crt",
                  fedgate_port=env["gw1_ports"]["s2s"], users=[("carol", "secret")])
    carol = w.client("carol@remote.test/e2e", "secret", r.c2s_port,
                     sends=[("bob@b.test", "hi from prosody remote.test")])
    carol.wait_for("online")
    try:
        env["bob"].wait_for("message carol@remote.test/e2e chat hi from prosody remote.test")
    except AssertionError:
        print(r.log_tail(30))
        print(g.log_tail(30))
        raise
    assert g.metric("auth_sasl_external_total") > before


def test_prosody_remote_server_untrusted_certificate_dialback(w, env):
    g = env["gw1"]
    before = g.metric("auth_dialback_total")
    r = env["r2"]
    dave = w.client("dave@other.test/e2e", "secret", r.c2s_port,
                    sends=[("bob@b.test", "hi from untrusted other.test")])
    dave.wait_for("online")
    try:
        env["bob"].wait_for("message dave@other.test/e2e chat hi from untrusted other.test")
    except AssertionError:
        print(r.log_tail(40))
        print(g.log_tail(30))
        raise
    assert g.metric("auth_dialback_total") > before


def main():
    w = World()
    passed = failed = 0
    try:
        env = {}
        ports = w.ports()
        b1 = w.prosody("b1", "b.test", w.dir + "/pki/b.test.crt", w.dir + "/pki/b.test.key",
                       w.dir + "/ica/ca.crt", users=[("bob", "secret")])
        # other.test: a remote Prosody with a certificate from a CA fedgate does not trust.
        r2 = w.prosody("r2", "other.test", w.dir + "/rogue/other.test.crt",
                       w.dir + "/rogue/other.test.key", w.dir + "/pki/ca.crt",
                       fedgate_port=ports["s2s"], users=[("dave", "secret")])
        gw1 = w.fedgate("gw-ca", gateway_config(ports, "internal-ca", b1.s2s_port,
                                                [("other.test", r2.s2s_port)]), ports["admin"])
        bob = w.client("bob@b.test/e2e", "secret", b1.c2s_port)
        bob.wait_for("online")
        env.update(bob=bob, gw1=gw1, gw1_ports=ports, b1=b1, r2=r2)
        passed, failed = fp.run_suite(fp.tests_of(globals()), w, env)
    except Exception as e:  # noqa: BLE001
        failed += 1
        print("FAIL setup: %r" % e)
        traceback.print_exc()
    finally:
        w.close()
        shutil.rmtree(w.dir, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
