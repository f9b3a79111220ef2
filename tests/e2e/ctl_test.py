#!/usr/bin/python3
"""End-to-end tests of `fedgate ctl` and the admin actions.

A real `fedgate run` (two workers) on loopback with four backends: `sink`
(b.test), `pool` with two addresses (p.test), `solo` (s.test) and `silent`
(h.test: accepts TCP and never answers, so its hop stream holds what it is
given). A scripted remote peer (xmpp_peer.Peer, remote.test) sends stanzas;
remote.test's own server (a ReceivingServer pinned by dns.static) receives
the bounces. Every action goes through the `fedgate ctl` binary, and the
counters prove that no stanza is lost.

usage: ctl_test.py FEDGATE_BINARY
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402
import xmpp_peer as xp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "bazel-bin/gateway/fedgate")
HOST = "127.0.0.1"


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fedgate-ctl-")
        d = self.dir
        fp.dev_pki(FEDGATE, d + "/pki", "remote.test", "b.test", "p.test", "s.test", "h.test")
        fp.dev_pki(FEDGATE, d + "/ica", "unused.test")
        fp.write_secret(d + "/secret", "test-dialback-secret")
        self.ports = {k: fp.free_port() for k in ("s2s", "tls", "internal", "admin", "sink",
                                                  "pa", "pb", "solo", "auth")}
        p = self.ports
        # A backend that accepts connections (the kernel's backlog) and never answers.
        self.silent = socket.socket()
        self.silent.bind((HOST, 0))
        self.silent.listen(16)
        p["silent"] = self.silent.getsockname()[1]
        cfg = fp.gateway_yaml(
            p, [("b.test", "sink", None), ("p.test", "pool", "pki/p.test"),
                ("s.test", "solo", "pki/s.test"), ("h.test", "silent", "pki/h.test")],
            [("sink", [p["sink"]]), ("pool", [p["pa"], p["pb"]]), ("solo", [p["solo"]]),
             ("silent", [p["silent"]])],
            default_cert="pki/b.test", static=[("remote.test", p["auth"])])
        # Only 127.0.0.1 may use the admin endpoint (127.0.0.2 is loopback too).
        cfg += "admin:\n  allowed_networks: [127.0.0.1/32]\n"

        def backend(port, domain):
            return xp.ReceivingServer(HOST, port, d + "/pki/%s.crt" % domain,
                                      d + "/pki/%s.key" % domain, client_ca=d + "/ica/ca.crt")
        self.sink = backend(p["sink"], "b.test")
        self.pa = backend(p["pa"], "p.test")
        self.pb = backend(p["pb"], "p.test")
        self.solo = backend(p["solo"], "s.test")
        self.auth = xp.ReceivingServer(HOST, p["auth"], d + "/pki/remote.test.crt",
                                       d + "/pki/remote.test.key", client_ca=d + "/pki/ca.crt")
        os.chdir(d)
        self.gw = fp.Fedgate(FEDGATE, d, "fedgate", cfg, p["admin"])

    def metric(self, name):
        return self.gw.metric(name)

    def close(self):
        self.gw.stop()
        for s in (self.sink, self.pa, self.pb, self.solo, self.auth):
            s.close()
        self.silent.close()


def ctl(env, *args, admin=True):
    """Runs `fedgate ctl [--admin ...] ARGS`; returns (exit status, stdout, stderr)."""
    argv = [FEDGATE, "ctl"]
    if admin:
        argv += ["--admin", "%s:%d" % (HOST, env.ports["admin"])]
    r = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def peer(env, to):
    """remote.test authenticated (SASL EXTERNAL) towards |to|."""
    d = env.dir + "/pki"
    return xp.authenticated(HOST, env.ports["s2s"], to, "remote.test", d + "/ca.crt",
                            d + "/remote.test.crt", d + "/remote.test.key")


def wait_metric(env, name, want, timeout=10):
    deadline = time.time() + timeout
    while True:
        got = env.metric(name)
        if got >= want or time.time() > deadline:
            return got
        time.sleep(0.05)


def bodies(server):
    out = []
    for _, el in list(server.stanzas):
        b = el.find(xp.q(xp.NS_SERVER, "body"))
        if b is not None:
            out.append(b.text)
    return out


def wait_body(servers, body, timeout=10):
    """Waits until one of |servers| received |body|; returns that server."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for s in servers:
            if body in bodies(s):
                return s
        time.sleep(0.05)
    raise AssertionError("%r delivered to no backend" % body)


def wait_bounces(env, ids, timeout=15):
    """Waits for error stanzas with |ids| at remote.test's server; returns
    {id: condition}."""
    deadline = time.time() + timeout
    found = {}
    while time.time() < deadline and len(found) < len(ids):
        for _, el in list(env.auth.stanzas):
            if el.get("type") == "error" and el.get("id") in ids:
                err = el.find(xp.q(xp.NS_SERVER, "error"))
                found[el.get("id")] = err[0].tag.split("}", 1)[1] if err is not None else None
        time.sleep(0.05)
    return found


# --- command line ---

def test_ctl_unknown_arguments_print_usage_and_exit_2(env):
    cases = [
        [], ["frobnicate"], ["close"], ["close", "stream"], ["close", "socket", "x"],
        ["close", "stream", "a", "b"], ["close", "stream", "a", "--force"],
        ["drain", "backend"], ["status", "extra"], ["add", "domain", "d.test"],
        ["add", "domain", "d.test", "--backend", "sink", "--cert", "c.pem"],
        ["add", "domain", "d.test", "--backend"], ["--admin", "nope", "status"],
        ["--admin", "127.0.0.1:0", "status"], ["--admin"], ["--verbose", "status"],
        ["--admin", "127.0.0.1:1", "--socket", "/tmp/x", "status"],
    ]
    for args in cases:
        rc, out, err = ctl(env, *args, admin=False)
        assert rc == 2, (args, rc, out, err)
        assert "usage: fedgate ctl" in err and "drain backend" in err, (args, err)
        assert err.startswith("fedgate ctl: "), (args, err)


def test_ctl_cannot_connect_exits_3_with_the_address(env):
    dead = fp.free_port()
    rc, out, err = ctl(env, "--admin", "%s:%d" % (HOST, dead), "status", admin=False)
    assert rc == 3, (rc, out, err)
    assert "%s:%d" % (HOST, dead) in err and "refused" in err.lower(), err
    rc, out, err = ctl(env, "--socket", env.dir + "/no-such.sock", "status", admin=False)
    assert rc == 3 and "no-such.sock" in err, (rc, err)


def test_ctl_status_and_backends(env):
    rc, out, err = ctl(env, "status")
    assert rc == 0 and out.startswith("ready"), (rc, out, err)
    rc, out, err = ctl(env, "backends")
    assert rc == 0, (rc, err)
    lines = out.splitlines()
    assert len(lines) == 5, out
    want = "backend=pool address=%s:%d health=up drain=active" % (HOST, env.ports["pb"])
    assert want in lines, out


# --- close a stream ---

def test_rfc6120_4_9_3_14_ctl_close_stream_sends_policy_violation(env):
    p = peer(env, "b.test")
    p.send_message("ann@remote.test/x", "bob@b.test", "before close")
    wait_body([env.sink], "before close")
    rc, out, err = ctl(env, "streams")
    assert rc == 0 and "stream=%s " % p.stream_id in out, (rc, out, err)
    closed = env.metric("streams_closed_by_admin_total")
    rc, out, err = ctl(env, "close", "stream", p.stream_id, "--reason", "maintenance window")
    assert rc == 0 and out == "ok: stream %s closed\n" % p.stream_id, (rc, out, err)
    try:
        while True:
            p.read_element()
    except xp.StreamClosed as e:
        assert e.error == "policy-violation", e.error
        assert e.text == "maintenance window", e.text
    assert env.metric("streams_closed_by_admin_total") == closed + 1
    assert "closed by the operator" in env.gw.log_tail(200)
    # The stream is gone: a second close is refused with the server's message.
    refused = env.metric("admin_actions_refused_total")
    rc, out, err = ctl(env, "close", "stream", p.stream_id)
    assert rc == 1 and out == "", (rc, out, err)
    assert err.startswith("error: no stream with id '%s'" % p.stream_id), err
    assert env.metric("admin_actions_refused_total") == refused + 1
    p.close()


def test_rfc6120_10_4_3_ctl_close_link_bounces_held_stanzas(env):
    p = peer(env, "h.test")
    ids = ["held-%d" % i for i in range(3)]
    for i in ids:
        p.send_message("ann@remote.test/x", "hal@h.test", "to a silent backend", id=i)
    deadline = time.time() + 10
    link = None
    while link is None and time.time() < deadline:
        _, out, _ = ctl(env, "streams")
        link = next((l for l in out.splitlines() if l.startswith("link ") and
                     "remote=h.test" in l and "queued=3" in l), None)
        time.sleep(0.05)
    assert link is not None, out
    assert "state=connecting" in link, link
    link_id = next(f for f in link.split() if f.startswith("stream=")).split("=", 1)[1]
    assert link_id.startswith("out-"), link
    bounced = env.metric("stanzas_bounced_total")
    rc, out, err = ctl(env, "close", "stream", link_id)
    assert rc == 0 and out == "ok: stream %s closed\n" % link_id, (rc, out, err)
    got = wait_bounces(env, ids)
    assert got == {i: "remote-server-timeout" for i in ids}, got
    assert wait_metric(env, "stanzas_bounced_total", bounced + 3) == bounced + 3
    _, out, _ = ctl(env, "streams")
    assert "stream=%s " % link_id not in out, out
    p.close()


# --- drain ---

def test_ctl_drain_one_address_moves_new_stanzas_to_the_other(env):
    p = peer(env, "p.test")
    p.send_message("ann@remote.test/x", "pat@p.test", "drain-1")
    first = wait_body([env.pa, env.pb], "drain-1")
    other = env.pb if first is env.pa else env.pa
    port = env.ports["pa"] if first is env.pa else env.ports["pb"]
    drained = env.metric("hop_streams_drained_total")
    rc, out, err = ctl(env, "drain", "backend", "pool/%s:%d" % (HOST, port))
    assert rc == 0, (rc, out, err)
    assert out.startswith("ok: backend pool address %s:%d drained" % (HOST, port)), out
    _, out, _ = ctl(env, "backends")
    assert "backend=pool address=%s:%d health=up drain=drained" % (HOST, port) in out, out
    # The hop stream to the drained address finishes and closes.
    assert wait_metric(env, "hop_streams_drained_total", drained + 1) >= drained + 1
    p.send_message("ann@remote.test/x", "pat@p.test", "drain-2")
    assert wait_body([env.pa, env.pb], "drain-2") is other
    assert "drain-2" not in bodies(first)
    rc, out, err = ctl(env, "undrain", "backend", "pool/%s:%d" % (HOST, port))
    assert rc == 0 and out.startswith("ok: backend pool address"), (rc, out, err)
    # Rendezvous hashing gives the domain its address back.
    p.send_message("ann@remote.test/x", "pat@p.test", "drain-3")
    assert wait_body([env.pa, env.pb], "drain-3") is first
    p.close()


def test_rfc6120_8_3_3_16_ctl_drained_backend_bounces_remote_server_timeout(env):
    p = peer(env, "s.test")
    p.send_message("ann@remote.test/x", "sam@s.test", "solo-1")
    wait_body([env.solo], "solo-1")
    refused = env.metric("stanzas_refused_backend_drained_total")
    rc, out, err = ctl(env, "drain", "backend", "solo")
    assert rc == 0 and out.startswith("ok: backend solo drained"), (rc, out, err)
    p.send_message("ann@remote.test/x", "sam@s.test", "solo-2", id="solo-2")
    assert wait_bounces(env, ["solo-2"]) == {"solo-2": "remote-server-timeout"}
    assert env.metric("stanzas_refused_backend_drained_total") == refused + 1
    assert "solo-2" not in bodies(env.solo)
    rc, out, err = ctl(env, "undrain", "backend", "solo")
    assert rc == 0, (rc, out, err)
    p.send_message("ann@remote.test/x", "sam@s.test", "solo-3")
    wait_body([env.solo], "solo-3")
    p.close()


def test_ctl_drain_unknown_backend_is_refused(env):
    rc, out, err = ctl(env, "drain", "backend", "nope")
    assert rc == 1 and out == "", (rc, out, err)
    assert err.startswith("error: no backend named 'nope' (backends: sink, pool, solo, silent)"), err
    rc, out, err = ctl(env, "drain", "backend", "pool/%s:1" % HOST)
    assert rc == 1 and err.startswith("error: backend 'pool' has no address"), err


# --- access and actions of other builds ---

def raw_request(env, source, request):
    s = socket.socket()
    s.bind((source, 0))
    s.connect((HOST, env.ports["admin"]))
    s.sendall(request)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode()


def test_admin_refuses_sources_outside_allowed_networks_with_403(env):
    before = env.metric("admin_requests_refused_source_total")
    got = raw_request(env, "127.0.0.2", b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert got.startswith("HTTP/1.1 403 "), got
    assert "error: 127.0.0.2 may not use the admin endpoint" in got, got
    body = b"id=whatever"
    got = raw_request(env, "127.0.0.2", b"POST /streams/close HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    assert got.startswith("HTTP/1.1 403 "), got
    assert env.metric("admin_requests_refused_source_total") == before + 2
    assert "127.0.0.2 is not in admin.allowed_networks" in env.gw.log_tail(200)
    # The allowed address is still answered.
    got = raw_request(env, "127.0.0.1", b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")
    assert got.startswith("HTTP/1.1 200 "), got


def test_admin_bad_form_and_unknown_action_are_refused(env):
    got = raw_request(env, HOST, b"POST /streams/close HTTP/1.1\r\nContent-Length: 5\r\n\r\nid=%z")
    assert got.startswith("HTTP/1.1 400 ") and "error: form key 'id'" in got, got
    got = raw_request(env, HOST, b"POST /streams/close HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    assert got.startswith("HTTP/1.1 400 ") and "error: missing form key 'id'" in got, got
    got = raw_request(env, HOST, b"HELLO\r\n\r\n")
    assert got.startswith("HTTP/1.1 400 ") and got.endswith("\r\n\r\nerror: not an HTTP/1.x "
                                                             "request\n"), got
    got = raw_request(env, HOST, b"POST /nothing HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    assert got.startswith("HTTP/1.1 404 ") and "/backends/drain" in got, got


def test_ctl_reload_and_domains_print_the_servers_answer(env):
    # Where this build has no such action the server's error is printed and
    # ctl exits 1; where it has, the answer is ok or a refusal of its own.
    for args in (["reload"], ["add", "domain", "new.test", "--backend", "sink"],
                 ["remove", "domain", "new.test"]):
        rc, out, err = ctl(env, *args)
        if rc == 0:
            assert out.startswith("ok: "), (args, out)
            continue
        assert rc == 1 and out == "", (args, rc, out, err)
        assert err.startswith("error: "), (args, err)
        if "no action" in err:
            path = "/reload" if args[0] == "reload" else "/domains/" + args[0]
            assert err.startswith("error: no action POST %s in this build" % path), err


def test_ctl_over_the_admin_unix_socket_only(env):
    """listeners.admin.socket: a second gateway whose admin endpoint is a
    Unix socket (mode 0660) and nothing else."""
    import shutil
    import stat
    sock_dir = tempfile.mkdtemp(prefix="fgs-", dir="/tmp")  # short: sun_path is 108 bytes
    path = sock_dir + "/admin.sock"
    ports = {k: fp.free_port() for k in ("s2s", "tls", "internal", "admin")}
    cfg = fp.gateway_yaml(ports, [("b.test", "sink", None)], [("sink", [env.ports["sink"]])],
                          default_cert="pki/b.test")
    line = "  admin: {address: %s, port: %d}" % (HOST, ports["admin"])
    assert line in cfg
    cfg = cfg.replace(line, line[:-1] + ", socket: %s}" % path)
    cfgfile = env.dir + "/socket.yaml"
    with open(cfgfile, "w") as f:
        f.write(cfg)
    log = open(env.dir + "/socket.log", "w")
    proc = subprocess.Popen([FEDGATE, "run", "--config", cfgfile], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 10
        while not os.path.exists(path) and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert os.path.exists(path), open(env.dir + "/socket.log").read()
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660, oct(os.stat(path).st_mode)
        rc, out, err = ctl(env, "--socket", path, "status", admin=False)
        assert rc == 0 and out.startswith("ready"), (rc, out, err)
        rc, out, err = ctl(env, "--socket", path, "backends", admin=False)
        assert rc == 0 and out.startswith("backend=sink "), (rc, out, err)
        rc, out, err = ctl(env, "--socket", path, "close", "stream", "nope", admin=False)
        assert rc == 1 and err.startswith("error: no stream with id 'nope'"), (rc, err)
        # The TCP admin port is not opened.
        rc, out, err = ctl(env, "--admin", "%s:%d" % (HOST, ports["admin"]), "status",
                           admin=False)
        assert rc == 3, (rc, out, err)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
    assert not os.path.exists(path), "the socket outlived the gateway"
    shutil.rmtree(sock_dir, ignore_errors=True)


def test_zz_nothing_lost_silently_by_the_counters(env):
    env.gw.assert_accounted(timeout=15)


if __name__ == "__main__":
    sys.exit(fp.main_of(Env, globals()))
