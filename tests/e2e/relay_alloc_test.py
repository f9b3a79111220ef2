#!/usr/bin/python3
"""End-to-end test: relaying allocates nothing per stanza once warm.

bench/s2sload sends stanzas over eight direct-TLS streams (XEP-0368) from
eight remote domains through fedgate to its sink, the backend of
sink.bench.test over a plaintext dialback hop, as in the benchmarks. Between
two reads of /metrics taken while the traffic flows (with no flow-control
pause between them), the bytes fedgate's
worker threads allocated (`fedgate_worker_heap_allocated_bytes_total`:
jemalloc's thread.allocated, read on each worker; frees are not
subtracted, so a malloc and free per stanza shows), less what was
allocated inside TLS record reads
(`fedgate_worker_heap_allocated_tls_read_bytes_total`: BoringSSL frees its
read buffer whenever a read empties it and allocates one for the next
record, so a peer sending a stanza per record, as here, costs an allocation
per stanza there) and what was allocated for output chunks
(`fedgate_worker_heap_allocated_output_chunk_bytes_total`: a backlog to the
sink deeper than the workers' pools of free chunks hold, by backlog and not
by stanza), must stay below one allocation per hundred stanzas relayed
between them, plus 64 KiB in all for buffers that reach a new high-water
mark once. A connection's input buffer grows (doubling, up to about twice
the worker's 64 KiB decrypted-records buffer) whenever a stall of the
machine longer than any before lets more bytes pile up in its socket; eight
streams may each do so in the same window. Such growth is bounded and does
not recur, while an allocation per stanza shows in every window: so the
windows follow one another until one passes, and the test fails when none
of them does before s2sload's traffic ends. Every stanza is still
counted delivered (stanzas_in = delivered + bounced + not bounced, and
s2sload delivered what it sent).

usage: relay_alloc_test.py FEDGATE_BINARY S2SLOAD_BINARY
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedgate_proc as fp  # noqa: E402

FEDGATE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "bazel-bin/gateway/fedgate")
S2SLOAD = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "bazel-bin/bench/s2sload")
HOST = "127.0.0.1"
SINK_DOMAIN = "sink.bench.test"
REMOTES = 8
# jemalloc's smallest size class: one allocation adds at least this much.
MIN_ALLOCATION = 8
# Stanzas per allocation that would still pass: fewer than one per hundred.
STANZAS_PER_ALLOCATION = 100
# Buffers that grow to a new high-water mark once, when a hiccup of the
# machine makes the batches larger than before (a parser's buffer for an
# element that straddles reads, a queue's array): let pass up to this much
# in all. An allocation of 8 bytes per stanza over the 20,000 or more
# stanzas measured is 160 KB or more.
ONE_OFF_GROWTH = 64 * 1024


class Env:
    def __init__(self):
        version = subprocess.run([FEDGATE, "--version"], stdout=subprocess.PIPE, text=True).stdout
        if not any(line.startswith("jemalloc: ") and line.endswith("(process allocator)")
                   for line in version.splitlines()):
            # Sanitizer builds link no jemalloc: the counters are absent.
            raise fp.Skip("jemalloc is not this build's allocator (fedgate --version)")
        self.dir = tempfile.mkdtemp(prefix="fedgate-relay-alloc-")
        d = self.dir
        self.pki = d + "/pki"
        fp.dev_pki(FEDGATE, self.pki, SINK_DOMAIN,
                   *["r%d.bench.test" % i for i in range(1, REMOTES + 1)])
        fp.dev_pki(FEDGATE, d + "/ica", "unused.test")  # internal_hop's CA keys (unused here)
        fp.write_secret(d + "/secret", "relay-alloc-dialback-secret")
        self.ports = fp.listener_ports()
        self.sink_port = fp.free_port()
        cfg = fp.gateway_yaml(
            self.ports, [(SINK_DOMAIN, "sink", "%s/%s" % (self.pki, SINK_DOMAIN))],
            [("sink", [self.sink_port])], trust=self.pki + "/ca.crt", secret=d + "/secret",
            hop_mode="dialback", hop={"plaintext": "true"}, limits={"streams_per_ip": 100},
            log_level="info")
        os.chdir(d)
        self.gw = fp.Fedgate(FEDGATE, d, "fedgate", cfg, self.ports["admin"])

    def metric(self, name):
        return self.gw.metric(name)

    def close(self):
        self.gw.stop()


def relay(env, size_args, rate, seconds):
    """Starts s2sload (open loop at |rate| stanzas/s for |seconds| after a
    second of warm-up); returns the process."""
    argv = [S2SLOAD, "relay", "--json", "--target", "%s:%d" % (HOST, env.ports["tls"]),
            "--sink", "s2s-listen", "%s:%d" % (HOST, env.sink_port), "--pki", env.pki,
            "--remotes", str(REMOTES), "--streams-per-remote", "1", "--sink-domain",
            SINK_DOMAIN, "--rate", str(rate), "--warmup", "1", "--seconds", str(seconds),
            "--drain", "15"] + size_args
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_stanzas(env, load, at_least, timeout=30):
    deadline = time.time() + timeout
    while env.metric("stanzas_in_total") < at_least:
        assert load.poll() is None, "s2sload ended early: %s" % load.communicate()[1][-2000:]
        assert time.time() < deadline, "fewer than %d stanzas relayed" % at_least
        time.sleep(0.1)


def scrape(env):
    """/metrics once: stanzas in; bytes the workers allocated outside TLS
    record reads and output chunks (`other`), inside TLS record reads
    (`tls`), for output chunks (`chunks`); flow-control pauses. The workers'
    16 KiB output chunks (io/worker.c) are allocated when a hop's backlog goes
    deeper than their pool of free ones holds, which a hiccup of the machine
    may bring at any time: by backlog, not by stanza, and counted apart."""
    url = "http://%s:%d/metrics" % (HOST, env.ports["admin"])
    values = {}
    for line in urllib.request.urlopen(url, timeout=5).read().decode().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].startswith("fedgate_"):
            values[parts[0][8:]] = int(float(parts[1]))
    if "worker_heap_allocated_bytes_total" not in values:
        raise AssertionError("fedgate_worker_heap_allocated_bytes_total missing from /metrics "
                             "(a build without jemalloc?)")
    tls = values["worker_heap_allocated_tls_read_bytes_total"]
    chunks = values["worker_heap_allocated_output_chunk_bytes_total"]
    return {"stanzas": values["stanzas_in_total"], "tls": tls, "chunks": chunks,
            "other": values["worker_heap_allocated_bytes_total"] - tls - chunks,
            "pauses": values.get("flow_control_pauses_total", 0)}


def clean_window(env, deadline, first=None):
    """Two reads of /metrics with at least 20,000 stanzas relayed between
    them and no flow-control pause: a pause (the sink's socket full while a
    busy machine kept the sink from reading) holds the paused streams'
    input in buffers allocated for it, by episode and not by stanza, so a
    window with one starts again. The window starts at |first| (a read of
    /metrics) or now. Returns (first, last, reads of /metrics after the
    first), or None at |deadline|."""
    first, reads = first or scrape(env), 0
    while time.time() < deadline:
        time.sleep(1)
        last = scrape(env)
        reads += 1
        if last["pauses"] != first["pauses"]:
            first, reads = last, 0
        elif last["stanzas"] - first["stanzas"] >= 20000:
            return first, last, reads
    return None


def no_allocation_per_stanza(env, size_args, what):
    before_run = env.metric("stanzas_in_total")
    load = relay(env, size_args, 20000, 20)
    try:
        # Warm: every stream authenticated, its parser, pair and route made,
        # the hop link up, the output chunks in the worker's pool.
        wait_stanzas(env, load, before_run + 20000)
        # A read of /metrics allocates on the workers itself (the admin
        # connection, the fan-out): two reads in a row measure it; it is
        # subtracted for each read in the window.
        s0 = scrape(env)
        s1 = scrape(env)
        read_cost = s1["other"] - s0["other"]
        # Windows one after another until one stays within the bound (see
        # the module's comment); each window's figures are printed.
        deadline, start, passed, windows = time.time() + 17, None, False, 0
        while not passed:
            window = clean_window(env, deadline, start)
            if window is None:
                break
            windows += 1
            first, last, reads = window
            relayed = last["stanzas"] - first["stanzas"]
            tls, chunks = last["tls"] - first["tls"], last["chunks"] - first["chunks"]
            allocated = (last["other"] - first["other"]) - reads * read_cost
            print("  %s: %d stanzas relayed in window %d; the workers allocated %d bytes "
                  "besides the reads of /metrics (%d each), %d inside TLS record reads (%.1f per "
                  "stanza) and %d for output chunks" % (
                      what, relayed, windows, allocated, read_cost, tls, tls / max(relayed, 1),
                      chunks))
            passed = allocated < (relayed * MIN_ALLOCATION / STANZAS_PER_ALLOCATION +
                                  ONE_OFF_GROWTH)
            start = last
        out, err = load.communicate(timeout=60)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
    r = json.loads(out)
    assert windows > 0, "no window of 20,000 stanzas without a flow-control pause while s2sload ran"
    assert r["sent"] > 0 and r["delivered"] == r["sent"] and r["errors"] == 0, (r, err[-2000:])
    assert passed, ("in each of %d windows the workers allocated more than one allocation per "
                    "%d stanzas plus %d bytes (the last: %d bytes over %d stanzas)" % (
                        windows, STANZAS_PER_ALLOCATION, ONE_OFF_GROWTH, allocated, relayed))
    env.gw.assert_accounted()


def test_relay_256_byte_messages_allocate_nothing_per_stanza(env):
    no_allocation_per_stanza(env, ["--size", "256"], "256 B messages")


def test_relay_mixed_stanzas_allocate_nothing_per_stanza(env):
    # Messages, presence and iq of 200 B to 2 KiB (s2sload's mix).
    no_allocation_per_stanza(env, [], "mixed stanzas")


def main():
    return fp.main_of(Env, globals())


if __name__ == "__main__":
    sys.exit(main())
