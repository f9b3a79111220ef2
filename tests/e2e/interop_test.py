#!/usr/bin/python3
"""make interop: Prosody 0.12.3 for a.test -> fedgate A -> fedgate B ->
Prosody 0.12.3 for b.test, with slixmpp users on both sides exchanging
messages, a presence subscription and an iq in both directions, plus a
message to an unresolvable domain that comes back as
remote-server-not-found. Each Prosody sends its outbound s2s to its own
gateway (contrib/prosody/mod_fedgate_route.lua); the gateways find each other
through dns.static and authenticate with SASL EXTERNAL.

usage: interop_test.py FEDGATE_BINARY
"""

import os
import shutil
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import prosody as pr  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = fp.HOST


def gateway_config(ports, domain, backend_port, peer, peer_port):
    return fp.gateway_yaml(ports, [(domain, "prosody", "pki/" + domain)],
                           [("prosody", [backend_port])], secret="secret-" + domain,
                           static=[(peer, peer_port)], log_level="info")


class World:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-interop-")
        os.chmod(self.dir, 0o755)  # prosodyctl drops to the prosody user
        os.chdir(self.dir)
        fp.dev_pki(FEDGATE, "pki", "a.test", "b.test")
        fp.dev_pki(FEDGATE, "ica", "unused.test")
        for d in ("a.test", "b.test"):
            fp.write_secret("secret-" + d, "interop secret " + d)
        self.procs = []
        pa, pb = fp.listener_ports(), fp.listener_ports()
        # Each Prosody trusts its gateway's internal CA (mode internal-ca) and
        # routes its outbound s2s to its gateway's internal listener.
        self.pro_a = self.add(pr.Prosody(self.dir + "/pa", "a.test", fp.free_port(),
                                         fp.free_port(), "pki/a.test.crt", "pki/a.test.key",
                                         "ica/ca.crt", fedgate_port=pa["internal"],
                                         users=[("alice", "secret")]))
        self.pro_b = self.add(pr.Prosody(self.dir + "/pb", "b.test", fp.free_port(),
                                         fp.free_port(), "pki/b.test.crt", "pki/b.test.key",
                                         "ica/ca.crt", fedgate_port=pb["internal"],
                                         users=[("bob", "secret")]))
        # The internal servers present certificates from the dev CA to their gateway.
        self.gw_a = self.add(fp.Fedgate(FEDGATE, self.dir, "gw-a",
                                        gateway_config(pa, "a.test", self.pro_a.s2s_port, "b.test",
                                                       pb["s2s"]), pa["admin"]))
        self.gw_b = self.add(fp.Fedgate(FEDGATE, self.dir, "gw-b",
                                        gateway_config(pb, "b.test", self.pro_b.s2s_port, "a.test",
                                                       pa["s2s"]), pb["admin"]))

    def add(self, p):
        self.procs.append(p)
        return p

    def client(self, jid, port, *commands):
        return self.add(pr.Client(jid, "secret", port, commands=commands))

    def close(self):
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception:  # noqa: BLE001
                pass


def run(w):
    results = []

    def check(name, fn):
        try:
            fn()
            results.append((name, None))
        except Exception as e:  # noqa: BLE001
            results.append((name, e))

    bob = w.client("bob@b.test/e2e", w.pro_b.c2s_port)
    bob.wait_for("online")
    alice = w.client("alice@a.test/e2e", w.pro_a.c2s_port,
                     ("send", "bob@b.test", "hello bob from a.test"),
                     ("subscribe", "bob@b.test"),
                     ("ping", "bob@b.test/e2e"),
                     ("send", "nobody@unresolvable.invalid", "into the void"))
    check("message a.test -> b.test",
          lambda: bob.wait_for("message alice@a.test/e2e chat hello bob from a.test", 30))
    check("presence subscription a.test -> b.test",
          lambda: bob.wait_for("presence alice@a.test subscribe", 30))
    check("subscription approved b.test -> a.test",
          lambda: alice.wait_for("presence bob@b.test subscribed", 30))
    check("iq a.test -> b.test (ping answered)", lambda: alice.wait_for("pong bob@b.test/e2e", 30))
    check("unresolvable domain bounces remote-server-not-found",
          lambda: alice.wait_for(
              "message-error nobody@unresolvable.invalid remote-server-not-found", 30))
    bob2 = w.client("bob@b.test/e2e2", w.pro_b.c2s_port,
                    ("send", "alice@a.test", "hello alice from b.test"),
                    ("ping", "alice@a.test/e2e"))
    check("message b.test -> a.test",
          lambda: alice.wait_for("message bob@b.test/e2e2 chat hello alice from b.test", 30))
    check("iq b.test -> a.test (ping answered)", lambda: bob2.wait_for("pong alice@a.test/e2e", 30))
    check("every stanza delivered or bounced, by the counters",
          lambda: (w.gw_a.assert_accounted(), w.gw_b.assert_accounted()))
    check("gateways authenticated with SASL EXTERNAL",
          lambda: (w.gw_a.metric("auth_sasl_external_total") >= 1 and
                   w.gw_b.metric("auth_sasl_external_total") >= 1) or
          (_ for _ in ()).throw(AssertionError("no SASL EXTERNAL on the gateways")))
    check("Prosody's stanzas forwarded as received, and fedgate's by the other gateway",
          lambda: forwarded_as_received(w.gw_a, w.gw_b))
    return results


def forwarded_as_received(*gateways):
    """Every stanza was passed on as the bytes received, none written anew
    (fedgate_stanzas_rewritten_total): Prosody writes its stanzas in the form
    fedgate's writer uses and declares what the hop's header declares."""
    for g in gateways:
        n, total = g.metric("stanzas_rewritten_total"), g.metric("stanzas_in_total")
        assert total > 0, "%s relayed nothing" % g.cfgfile
        assert n == 0, "%s wrote %d of %d stanzas anew" % (g.cfgfile, n, total)


def main():
    w = None
    passed = failed = 0
    try:
        w = World()
        for name, err in run(w):
            if err is None:
                passed += 1
                print("ok   %s" % name, flush=True)
            else:
                failed += 1
                print("FAIL %s: %s" % (name, err), flush=True)
    except Exception as e:  # noqa: BLE001
        failed += 1
        print("FAIL setup: %r" % e)
        traceback.print_exc()
    finally:
        if w is not None:
            if failed or os.environ.get("E2E_VERBOSE"):
                for g in (w.gw_a, w.gw_b):
                    print("---- %s ----\n%s" % (g.cfgfile, g.log_tail(30)))
                for p in (w.pro_a, w.pro_b):
                    print("---- prosody %s ----\n%s" % (p.domain, p.log_tail(25)))
            w.close()
            shutil.rmtree(w.dir, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
