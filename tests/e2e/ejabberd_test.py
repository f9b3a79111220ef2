#!/usr/bin/python3
"""Federation with ejabberd 23.01 from Debian, as internal and remote server.

  1. ejabberd as the internal server (mode internal-ca): a scripted remote
     peer sends a message and an iq through fedgate; a slixmpp user on
     ejabberd receives both. ejabberd trusts fedgate's internal CA
     (s2s_cafile) and authenticates fedgate's minted certificate with SASL
     EXTERNAL.
  2. The same with mode dialback: ejabberd verifies fedgate's db:result by
     connecting back "to remote.test"; DNS steering (contrib/ejabberd:
     dnsmasq.conf, inetrc, outgoing_s2s_port) takes that connection to
     fedgate's internal listener, which answers the db:verify.
  3. ejabberd as a remote server (remote.test) with a certificate fedgate
     trusts: its outbound s2s to b.test is steered by the same DNS trick to
     fedgate's public listener; fedgate authenticates it by SASL EXTERNAL and
     delivers to the user on the internal ejabberd of test 1.
  4. ejabberd as a remote server (e.test) takes several domain pairs on one
     stream from fedgate (XEP-0220 §4.3, limits.pairs_per_stream at its
     default): the first pair authenticates with SASL EXTERNAL, the others
     ride on that stream with a db:result each, which ejabberd checks with a
     db:verify connection of its own to fedgate (steered by DNS); a user on
     ejabberd receives every pair's message.
  5. ejabberd as the internal server hosting b.test and c.test, with
     backends[].pairs_per_stream: the pair remote.test -> c.test rides on
     the hop stream remote.test -> b.test (one hop stream, not two):
     ejabberd checks its db:result with a db:verify that its DNS steering
     takes to fedgate's internal listener; both users receive their message.

usage: ejabberd_test.py FEDGATE_BINARY
"""

import os
import shutil
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ejabberd as ej  # noqa: E402
import fedgate_proc as fp  # noqa: E402
import prosody as pr  # noqa: E402  (Client: the slixmpp user)
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".bazel/bin/gateway/fedgate")
HOST = fp.HOST


MUX_DOMAINS = ["m%d.test" % i for i in range(4)]


def gateway_config(ports, mode, backend_port):
    return fp.gateway_yaml(ports, [("b.test", "ejabberd", None)], [("ejabberd", [backend_port])],
                           hop_mode=mode, default_cert="pki/b.test")


class World:
    def __init__(self):
        # Under /tmp, not Bazel's TEST_TMPDIR: ejabberd runs as the ejabberd
        # user, which cannot traverse /root/.cache.
        self.dir = tempfile.mkdtemp(prefix="fedgate-ejabberd-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        os.chdir(self.dir)
        fp.dev_pki(FEDGATE, "pki", "remote.test", "b.test", "c.test", "e.test", *MUX_DOMAINS)
        fp.dev_pki(FEDGATE, "ica", "unused.test")
        fp.write_secret("secret", "ejabberd-e2e-secret")
        self.procs = []
        self.dns = None

    def ports(self):
        return fp.listener_ports()

    def resolver(self):
        if self.dns is None:
            self.dns = ej.Dns(self.dir + "/dns")
            self.procs.insert(0, self.dns)  # stopped last
        return self.dns

    def ejabberd(self, name, domain, cafile, outgoing_port=None, users=(), more_hosts=()):
        dns = self.resolver() if outgoing_port is not None else None
        e = ej.Ejabberd(self.dir + "/" + name, name, domain, fp.free_port(), fp.free_port(),
                        "%s/pki/%s.crt" % (self.dir, domain),
                        "%s/pki/%s.key" % (self.dir, domain), cafile,
                        outgoing_port=outgoing_port, dns=dns, users=users,
                        more_hosts=[(h, "%s/pki/%s.crt" % (self.dir, h),
                                     "%s/pki/%s.key" % (self.dir, h), u) for h, u in more_hosts])
        self.procs.append(e)
        return e

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
            except Exception as e:  # noqa: BLE001
                print("cleanup: %r" % e)

    def sanitizer_reports(self):
        """Number of fedgate logs with an ASan/UBSan report (--config=asan)."""
        n = 0
        for p in self.procs:
            if isinstance(p, fp.Fedgate):
                text = p.log_tail(100000)
                if "ERROR: AddressSanitizer" in text or "runtime error:" in text:
                    print("FAIL sanitizer report in %s:\n%s" % (p.logfile, text[-4000:]))
                    n += 1
        return n


def scripted_remote_sends(gw_ports, w, tag):
    """remote.test (scripted, SASL EXTERNAL) sends a message and an iq to bob."""
    return xp.remote_sends_message_and_ping(HOST, gw_ports["s2s"], w.dir + "/pki", tag)


def dump(*things):
    for t in things:
        print(t.log_tail(40))


def known_crash(b):
    """The message that explains ejabberd 23.01's XmppAddr crash, if it happened."""
    try:
        log = open(b.dir + "/logs/ejabberd.log").read()
    except OSError:
        return None
    if "xmpp_stream_pkix,get_cert_domains" in log:
        return ("ejabberd %s crashed checking fedgate's certificate: p1_xmpp 1.6.1 "
                "(xmpp_stream_pkix:get_domains_from_san) fails on a bare-domain XmppAddr; "
                "minted certificates must carry DNS-ID and SRV-ID only" % b.name)
    return None


def test_1_ejabberd_internal_server_mode_internal_ca(w, env):
    g, b1, bob = env["gw1"], env["b1"], env["bob"]
    p = scripted_remote_sends(env["gw1_ports"], w, "ca")
    try:
        bob.wait_for("message alice@remote.test/x chat hello bob ca")
        bob.wait_for("iq alice@remote.test/x get ping-ca")
    except AssertionError:
        dump(b1, g)
        raise AssertionError(known_crash(b1) or "not delivered")
    assert g.metric("hop_streams_ready_total") >= 1
    b1.wait_log("Accepted inbound s2s EXTERNAL authentication remote.test -> b.test")
    p.close()


def test_2_ejabberd_internal_server_mode_dialback(w, env):
    ports = w.ports()
    # As contrib/ejabberd/ejabberd.yml says for mode dialback: no s2s_cafile.
    b2 = w.ejabberd("b2", "b.test", None, outgoing_port=ports["internal"],
                    users=[("bob", "secret")])
    g2 = w.fedgate("gw-dialback", gateway_config(ports, "dialback", b2.s2s_port),
                   ports["admin"])
    bob2 = w.client("bob@b.test/e2e", "secret", b2.c2s_port)
    bob2.wait_for("online")
    p = scripted_remote_sends(ports, w, "db")
    try:
        bob2.wait_for("message alice@remote.test/x chat hello bob db")
        bob2.wait_for("iq alice@remote.test/x get ping-db")
    except AssertionError:
        dump(b2, g2)
        raise
    assert g2.metric("hop_streams_ready_total") >= 1
    # ejabberd looked up remote.test in the steering DNS, took its db:verify
    # to fedgate's internal listener and accepted the answer.
    assert "query[A] remote.test" in open(w.dns.log).read()
    b2.wait_log("Accepted inbound s2s dialback authentication remote.test -> b.test")
    assert "hop link remote.test -> b.test ready" in g2.log_tail(200)
    p.close()


def test_3_ejabberd_remote_server_trusted_certificate_sasl_external(w, env):
    g = env["gw1"]
    before = g.metric("auth_sasl_external_total")
    stanzas, rewritten = g.metric("stanzas_in_total"), g.metric("stanzas_rewritten_total")
    r = w.ejabberd("r1", "remote.test", w.dir + "/pki/ca.crt",
                   outgoing_port=env["gw1_ports"]["s2s"], users=[("carol", "secret")])
    carol = w.client("carol@remote.test/e2e", "secret", r.c2s_port,
                     sends=[("bob@b.test", "hi from ejabberd remote.test")])
    carol.wait_for("online")
    try:
        env["bob"].wait_for("message carol@remote.test/e2e chat hi from ejabberd remote.test")
    except AssertionError:
        dump(r, g)
        raise AssertionError(known_crash(env["b1"]) or "not delivered")
    assert g.metric("auth_sasl_external_total") > before
    r.wait_log("Accepted outbound s2s EXTERNAL authentication remote.test -> b.test")
    # ejabberd's stanzas went on as received (fedgate_stanzas_rewritten_total).
    relayed = g.metric("stanzas_in_total") - stanzas
    anew = g.metric("stanzas_rewritten_total") - rewritten
    assert relayed > 0 and anew == 0, "%d of %d stanzas written anew" % (anew, relayed)


def test_4_ejabberd_remote_server_takes_several_pairs_on_one_stream(w, env):
    ports = w.ports()
    e = w.ejabberd("e1", "e.test", w.dir + "/pki/ca.crt", outgoing_port=ports["s2s"],
                   users=[("erin", "secret")])
    # limits.pairs_per_stream is left at its default.
    cfg = fp.gateway_yaml(ports, [(d, "none", "pki/" + d) for d in MUX_DOMAINS],
                          [("none", [fp.free_port()])], secret="secret",
                          static=[("e.test", e.s2s_port)])
    g = w.fedgate("gw-mux", cfg.replace("workers: 2", "workers: 1"), ports["admin"])
    erin = w.client("erin@e.test/e2e", "secret", e.c2s_port)
    erin.wait_for("online")
    try:
        for d in MUX_DOMAINS:
            # d's internal server, authenticated on fedgate's internal listener.
            p = xp.authenticated(HOST, ports["internal"], "e.test", d, None,
                                 "%s/pki/%s.crt" % (w.dir, d), "%s/pki/%s.key" % (w.dir, d))
            p.send_message("u@%s/x" % d, "erin@e.test", "hello erin from %s" % d)
            erin.wait_for("message u@%s/x chat hello erin from %s" % (d, d))
            p.close()
    except AssertionError:
        dump(e, g)
        raise
    assert g.metric("remote_streams_ready_total") == 1
    assert g.metric("mux_pairs_ready_total") == len(MUX_DOMAINS) - 1
    assert g.metric("mux_pairs_refused_total") == 0
    # Each further pair was checked by ejabberd with a db:verify to fedgate.
    assert g.metric("dialback_verify_answered_total") == len(MUX_DOMAINS) - 1
    for d in MUX_DOMAINS[1:]:
        e.wait_log("Accepted inbound s2s dialback authentication %s -> e.test" % d)
    g.assert_accounted()


def test_5_ejabberd_internal_server_takes_two_pairs_on_one_hop_stream(w, env):
    ports = w.ports()
    h = w.ejabberd("h1", "b.test", w.dir + "/ica/ca.crt", outgoing_port=ports["internal"],
                   users=[("bob", "secret")], more_hosts=[("c.test", [("carol", "secret")])])
    cfg = fp.gateway_yaml(ports, [("b.test", "ejabberd", "pki/b.test"),
                                  ("c.test", "ejabberd", "pki/c.test")],
                          [("ejabberd", [h.s2s_port])])
    backend = "    addresses: [\"%s:%d\"]\n" % (HOST, h.s2s_port)
    assert backend in cfg, cfg
    cfg = cfg.replace(backend, backend + "    pairs_per_stream: 8\n")
    g = w.fedgate("gw-hopmux", cfg.replace("workers: 2", "workers: 1"), ports["admin"])
    bob = w.client("bob@b.test/e2e", "secret", h.c2s_port)
    carol = w.client("carol@c.test/e2e", "secret", h.c2s_port)
    bob.wait_for("online")
    carol.wait_for("online")
    peers = []
    try:
        # One pair after the other: the second finds the first's hop stream
        # ready (a pair never waits for a hop stream still connecting).
        for dom, user, client in (("b.test", "bob", bob), ("c.test", "carol", carol)):
            p = xp.authenticated(HOST, ports["s2s"], dom, "remote.test", w.dir + "/pki/ca.crt",
                                 w.dir + "/pki/remote.test.crt", w.dir + "/pki/remote.test.key")
            peers.append(p)
            p.send_message("alice@remote.test/x", "%s@%s" % (user, dom), "hop pair %s" % dom)
            client.wait_for("message alice@remote.test/x chat hop pair %s" % dom)
    except AssertionError:
        dump(h, g)
        raise
    finally:
        for p in peers:
            p.close()
    assert g.metric("hop_streams_ready_total") == 1
    assert g.metric("mux_pairs_asked_total") == 1
    assert g.metric("mux_pairs_ready_total") == 1
    # ejabberd checked the further pair with a db:verify (from c.test, on a
    # connection of its own) that fedgate answered, and accepted it on the
    # stream it had authenticated by SASL EXTERNAL (logged under the
    # stream's own pair).
    assert g.metric("dialback_verify_answered_total") == 1
    h.wait_log("Accepted outbound s2s EXTERNAL authentication c.test -> remote.test")
    h.wait_log("Accepted inbound s2s dialback authentication remote.test -> b.test")
    g.assert_accounted()


def main():
    if ej.missing():
        print("FAIL setup: %s" % ej.missing())
        print("0 passed, 1 failed")
        return 1
    w = World()
    passed = failed = 0
    try:
        env = {}
        ports = w.ports()
        b1 = w.ejabberd("b1", "b.test", w.dir + "/ica/ca.crt", outgoing_port=ports["internal"],
                        users=[("bob", "secret")])
        gw1 = w.fedgate("gw-ca", gateway_config(ports, "internal-ca", b1.s2s_port),
                        ports["admin"])
        bob = w.client("bob@b.test/e2e", "secret", b1.c2s_port)
        bob.wait_for("online")
        env.update(bob=bob, gw1=gw1, gw1_ports=ports, b1=b1)
        passed, failed = fp.run_suite(fp.tests_of(globals()), w, env)
    except Exception as e:  # noqa: BLE001
        failed += 1
        print("FAIL setup: %r" % e)
        traceback.print_exc()
    finally:
        w.close()
        failed += w.sanitizer_reports()
        if os.environ.get("FEDGATE_E2E_KEEP"):
            print("kept %s" % w.dir)
        else:
            shutil.rmtree(w.dir, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
