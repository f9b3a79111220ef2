#!/usr/bin/python3
"""suite: the side-by-side benchmark of `make bench`.

Runs one workload through fedgate, Prosody and HAProxy (bench/sut.py) in one
run on this machine: the system under test pinned to CPU 0, the C load
generator (bench/s2sload) pinned to CPU 1. Measures relay throughput against
stanza size, latency against offered load, s2s session establishments (full
and resumed) and memory per idle authenticated stream, adds the
micro-benchmarks of `tools/bench.sh` (bench/results/latest.jsonl), and writes
bench/results/<date>-<host>.json; bench/report.py turns that into
bench/RESULTS.md and the plots.

  suite.py --bin DIR [--quick] [--json] [--only fedgate,prosody,haproxy,revocation,abuse]
           [--revocation] [--abuse] [--rounds N] [--seconds S]

The full run (not --quick) ends with the revocation comparison: churn through
a fedgate checking revocation (hard-fail, answers cached from a real `openssl
ocsp` responder) and one that does not, in alternating rounds; --revocation
runs only that. Then the abuse control comparison: relay through a fedgate
with a 100,000-entry block list and every inbound limit on (never refusing)
and one without, in alternating rounds; --abuse runs only that.

DIR holds gateway/fedgate and bench/s2sload (an opt build's `bazel info --config=opt bazel-bin`).
Exit status: 0 when every run completed with nothing lost, 1 otherwise.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import sut  # noqa: E402

HERE = os.path.dirname(os.path.realpath(__file__))
SUT_CPU, GEN_CPU = 0, 1
# Eight remote servers with one stream each: enough streams to spread the
# work, few enough that paced (open-loop) traffic still fills TLS records
# with more than one stanza (with 32 streams, 20 µs pacing ticks send a
# record per stanza and the loopback TCP work per segment dominates both
# the system under test and the generator).
REMOTES = 8
STREAMS_PER_REMOTE = 1


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Suite:
    def __init__(self, args):
        self.args = args
        self.fedgate = os.path.join(args.bin, "gateway", "fedgate")
        self.s2sload = os.path.join(args.bin, "bench", "s2sload")
        self.work = tempfile.mkdtemp(prefix="fedgate-bench.")
        self.pki = os.path.join(self.work, "pki")
        domains = [sut.SINK_DOMAIN] + ["r%d.bench.test" % i for i in range(1, REMOTES + 1)]
        cmd = [self.fedgate, "dev-pki", self.pki]
        for d in domains:
            cmd += ["--domain", d]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        self.quick = args.quick
        self.seconds = args.seconds or (2 if self.quick else 5)
        self.rounds = args.rounds
        self.failures = []
        self.generator_bound = []

    # --- running the generator -------------------------------------------

    def gen(self, label, system, mode, extra, timeout=180, pki=None, port=None):
        """Runs s2sload |mode| against |system| (its remote servers' PKI:
        |pki|, default the suite's; |port|, default its direct-TLS port);
        returns its JSON object."""
        argv = ["taskset", "-c", str(GEN_CPU), self.s2sload, mode, "--json",
                "--target", "%s:%d" % (sut.HOST, port or system.port), "--pki", pki or self.pki,
                "--remotes", str(REMOTES), "--streams-per-remote", str(STREAMS_PER_REMOTE),
                "--sink-domain", sut.SINK_DOMAIN]
        argv += system.sink_args()
        for pid in system.pids():
            argv += ["--sut-pid", str(pid)]
        argv += [str(a) for a in extra]
        log("  %-28s %s" % (label, " ".join(argv[3:])))
        try:
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.failures.append("%s: s2sload timed out after %d s" % (label, timeout))
            return None
        try:
            r = json.loads(p.stdout)
        except ValueError:
            self.failures.append("%s: s2sload exit %d, no JSON: %s" %
                                 (label, p.returncode, p.stderr.strip()[-600:]))
            return None
        if p.returncode != 0:
            self.failures.append("%s: s2sload exit %d (lost %s, duplicated %s, errors %s): %s" %
                                 (label, p.returncode, r.get("lost"), r.get("duplicated"),
                                  r.get("errors"), p.stderr.strip()[-400:]))
        if r.get("generator_bound"):
            self.generator_bound.append(label)
        if not system.alive():
            self.failures.append("%s: %s died:\n%s" % (label, system.name, system.log_tail()))
        return r

    def start(self, name):
        sink_port = sut.free_port()
        if name == "fedgate":
            return sut.Fedgate(self.fedgate, self.work, self.pki, SUT_CPU, sink_port)
        if name == "prosody":
            return sut.Prosody(self.work, self.pki, SUT_CPU)
        return sut.Haproxy(self.work, self.pki, SUT_CPU, sink_port)

    # --- the measurements -----------------------------------------------

    def relay_sizes(self):
        # 256 B is the smallest stanza that holds these JIDs and the id.
        return [256, 1024] if self.quick else [256, 512, 1024, 2048, 4096]

    def run_system(self, name, out):
        log("== %s" % name)
        system = self.start(name)
        try:
            relay = {}
            for size in self.relay_sizes():
                r = self.gen("relay %s %d B" % (name, size), system, "relay",
                             ["--size", size, "--seconds", self.seconds, "--warmup", 1])
                if r:
                    relay[str(size)] = r
                    log("    %10.0f stanzas/s  p99 %s us  sut cpu %.0f%%  gen cpu %.0f%%" %
                        (r["delivered_per_s"], r["latency_us"]["p99"],
                         100 * r["sut_cpu_util"], 100 * r["gen_cpu_util"]))
            out["relay"][name] = relay
            if name == "fedgate":
                self.fedgate_only(system, out)
            else:
                self.latency_curve(name, system, out)
        finally:
            system.stop()

    def latency_points(self, max_rate):
        fracs = [0.5] if self.quick else [0.1, 0.25, 0.5, 0.75, 0.9]
        return [(f, int(max_rate * f)) for f in fracs]

    def latency_curve(self, name, system, out):
        """Open-loop runs at fractions of fedgate's 256 B maximum, so that
        the three curves share their x values; Prosody stops at its own
        maximum."""
        top = out.get("fedgate_max_256")
        if not top:
            return
        own_max = out["relay"].get(name, {}).get("256", {}).get("delivered_per_s", 0)
        pts = []
        for frac, rate in self.latency_points(top):
            if rate > own_max * 1.05:
                continue
            r = self.gen("latency %s %d/s" % (name, rate), system, "relay",
                         ["--size", 256, "--rate", rate, "--seconds", self.seconds,
                          "--warmup", 1])
            if r:
                pts.append({"fraction": frac, "offered_per_s": rate, "result": r})
                log("    %10.0f stanzas/s offered: p50 %s us, p99 %s us  sut cpu %.0f%%  gen cpu "
                    "%.0f%%" % (rate, r["latency_us"]["p50"], r["latency_us"]["p99"],
                                100 * r["sut_cpu_util"], 100 * r["gen_cpu_util"]))
        out["latency"][name] = pts

    def fedgate_only(self, system, out):
        top = out["relay"]["fedgate"].get("256", {}).get("delivered_per_s", 0)
        out["fedgate_max_256"] = top
        self.latency_curve("fedgate", system, out)
        churn = {}
        for label, extra in (("full", []), ("resumed", ["--resume"])):
            r = self.gen("churn %s" % label, system, "churn",
                         ["--seconds", self.seconds, "--concurrency", 16] + extra)
            if r:
                churn[label] = r
                log("    %s: %.0f establishments/s, sut cpu %.0f%%" %
                    (label, r["establishments_per_s"], 100 * r["sut_cpu_util"]))
        out["churn"]["fedgate"] = churn
        n = 2000 if self.quick else 10000
        r = self.gen("idle fedgate %d" % n, system, "idle", ["--streams", n, "--hold", 2],
                     timeout=300)
        if r:
            out["idle"]["fedgate"] = r
            log("    %d idle streams: %s bytes each" % (n, r["bytes_per_idle_stream"]))

    # --- revocation checking on against off ------------------------------

    def revocation_pki(self, ocsp_port):
        """The remote servers' certificates again, now naming an OCSP
        responder (AIA) on loopback: same CA, key type and names as the
        suite's dev-pki, minted with the openssl CLI. Returns (directory,
        index file) for `openssl ocsp`."""
        d = os.path.join(self.work, "pki-revocation")
        os.makedirs(d)
        for f in ("ca.crt", "%s.crt" % sut.SINK_DOMAIN, "%s.key" % sut.SINK_DOMAIN):
            shutil.copy(os.path.join(self.pki, f), d)
        ca, ca_key = os.path.join(self.pki, "ca.crt"), os.path.join(self.pki, "ca.key")
        expiry = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() + 30 * 86400))
        index = []
        for i in range(1, REMOTES + 1):
            name = "r%d.bench.test" % i
            base = os.path.join(d, name)
            serial = "%X" % (0x5200 + i)

            def openssl(*a):
                subprocess.run(("openssl",) + a, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)

            openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", base + ".key")
            openssl("req", "-new", "-key", base + ".key", "-subj", "/CN=" + name,
                    "-out", base + ".csr")
            with open(base + ".ext", "w") as f:
                f.write("basicConstraints=critical,CA:false\n"
                        "keyUsage=critical,digitalSignature\n"
                        "extendedKeyUsage=serverAuth,clientAuth\n"
                        "subjectAltName=DNS:%s,otherName:1.3.6.1.5.5.7.8.7;IA5STRING:"
                        "_xmpp-server.%s\n"
                        "authorityInfoAccess=OCSP;URI:http://%s:%d/\n" %
                        (name, name, sut.HOST, ocsp_port))
            openssl("x509", "-req", "-in", base + ".csr", "-CA", ca, "-CAkey", ca_key,
                    "-set_serial", "0x" + serial, "-days", "30", "-sha256",
                    "-extfile", base + ".ext", "-out", base + ".crt")
            index.append("V\t%s\t\t%s\tunknown\t/CN=%s" % (expiry, serial, name))
        idx = os.path.join(d, "index.txt")
        with open(idx, "w") as f:
            f.write("\n".join(index) + "\n")
        return d, idx

    def start_ocsp_responder(self, port, index):
        """`openssl ocsp` answering for the suite's CA (signed by the CA
        itself), on loopback, pinned beside the generator."""
        ca, ca_key = os.path.join(self.pki, "ca.crt"), os.path.join(self.pki, "ca.key")
        proc = subprocess.Popen(
            ["taskset", "-c", str(GEN_CPU), "openssl", "ocsp", "-index", index, "-port", str(port),
             "-rsigner", ca, "-rkey", ca_key, "-CA", ca, "-ndays", "1", "-ignore_err"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait for the listening socket without connecting to it: OpenSSL's
        # one-at-a-time responder stays stuck on a connection closed without
        # a request.
        deadline = time.time() + 10
        while time.time() < deadline:
            out = subprocess.run(["ss", "-Hltn", "sport = :%d" % port],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            if out.stdout.strip():
                return proc
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
        proc.wait()
        raise RuntimeError("openssl ocsp did not start listening on %d" % port)

    def revocation(self, out):
        """Churn (full and resumed) through two fedgates that differ only in
        revocation checking (hard-fail, every answer already in the cache,
        against off), in alternating rounds of one run, with remote
        certificates that name a real OCSP responder. Rates per CPU-second of
        each fedgate's worker thread. Both transports: direct TLS (XEP-0368,
        the suite's churn) and STARTTLS (RFC 6120 §5)."""
        log("== revocation checking: on (answers cached) against off, %d rounds" % self.rounds)
        ocsp_port = sut.free_port()
        pki, index = self.revocation_pki(ocsp_port)
        ocsp = self.start_ocsp_responder(ocsp_port, index)
        configs = {
            "on": 'revocation: {mode: hard-fail, allowed_networks: ["127.0.0.0/8"]}\n',
            "off": 'revocation: {mode: "off"}\n',
        }
        systems = {}
        res = {"rounds": [], "metrics": {}}
        try:
            for name, extra in configs.items():
                d = os.path.join(self.work, "revocation-" + name)
                os.makedirs(d)
                systems[name] = sut.Fedgate(self.fedgate, d, self.pki, SUT_CPU, sut.free_port(),
                                            extra_config=extra)
            # Only a STARTTLS stream asks the responder (fedgate fetches when
            # the STARTTLS handshake completes; a direct-TLS stream is only
            # answered from the cache), so the warm-up starts with STARTTLS.
            # After it every answer is cached.
            kinds = [(kind, transport) for transport in ("starttls", "direct")
                     for kind in ("full", "resumed")]
            for name, system in systems.items():
                for kind, transport in kinds:
                    self.revocation_churn("revocation %s warm-up %s %s" % (name, kind, transport),
                                          system, kind, transport, pki, 1, ["--warmup", 0])
            tids = {name: system.busiest_thread() for name, system in systems.items()}
            names = list(systems)
            for rnd in range(self.rounds):
                order = names if rnd % 2 == 0 else names[::-1]  # ABBA against drift
                row = {}
                for kind, transport in kinds[::-1]:
                    for name in order:
                        r = self.revocation_churn(
                            "revocation %s %s %s round %d" % (name, kind, transport, rnd + 1),
                            systems[name], kind, transport, pki, self.seconds,
                            ["--sut-tid", tids[name]])
                        if r:
                            row[revocation_key(name, kind, transport)] = r
                            log("    %s %s %s: %s per worker CPU-second (%.0f/s, worker %.0f%%)"
                                % (name, kind, transport, r["establishments_per_sut_worker_cpu_s"],
                                   r["establishments_per_s"],
                                   100 * (r["sut_worker_cpu_s"] or 0) / r["seconds"]))
                res["rounds"].append(row)
            for name, system in systems.items():
                res["metrics"][name] = system.metric_values(REVOCATION_METRICS)
                if not system.alive():
                    self.failures.append("revocation %s: fedgate died:\n%s" %
                                         (name, system.log_tail()))
            m = res["metrics"]["on"]
            if m["revocation_cache_hits_total"] == 0 or m["revocation_ocsp_fetches_ok_total"] == 0:
                self.failures.append("revocation on: the OCSP answers were not fetched and "
                                     "cached: %s" % m)
        finally:
            for system in systems.values():
                system.stop()
            ocsp.terminate()
            ocsp.wait()
        out["revocation"] = res

    # --- abuse control on against off ------------------------------------

    def abuse(self, out):
        """Relay (256 B stanzas) through two fedgates that differ only in
        abuse control: a 100,000-entry block list (domains none of the
        senders is in, plus suffixes and JID digests, so every stanza is
        looked up in all three kinds) and every inbound limit on, set high
        enough never to refuse, against none. Alternating rounds of one run;
        rates per CPU-second of each fedgate's worker thread."""
        log("== abuse control: 100,000-entry block list and limits on, against off, %d rounds"
            % self.rounds)
        lines = ["abuse:", "  block:"]
        for i in range(100000):
            if i % 10 == 0:
                lines.append('    - "*.s%d.blocked.test"' % i)
            elif i % 10 == 1:
                lines.append("    - %s" % hashlib.sha256(b"u%d@blocked.test" % i).hexdigest())
            else:
                lines.append("    - d%d.blocked.test" % i)
        lines += ["  limits:", "    domain_stanzas: 100000000", "    domain_bytes: 1000000000",
                  "    address_stanzas: 100000000", "    address_bytes: 1000000000",
                  "    unsolicited_per_minute: 1000000000", "    connections: 100000",
                  "    sender_stanzas: 100000000"]
        configs = {"on": "\n".join(lines) + "\n", "off": ""}
        systems = {}
        res = {"rounds": [], "metrics": {}, "entries": {}}
        try:
            for name, extra in configs.items():
                d = os.path.join(self.work, "abuse-" + name)
                os.makedirs(d)
                systems[name] = sut.Fedgate(self.fedgate, d, self.pki, SUT_CPU, sut.free_port(),
                                            extra_config=extra)
            for name, system in systems.items():
                self.gen("abuse %s warm-up" % name, system, "relay",
                         ["--size", 256, "--seconds", 1, "--warmup", 0])
            tids = {name: system.busiest_thread() for name, system in systems.items()}
            names = list(systems)
            for rnd in range(self.rounds):
                order = names if rnd % 2 == 0 else names[::-1]  # ABBA against drift
                row = {}
                for name in order:
                    r = self.gen("abuse %s relay round %d" % (name, rnd + 1), systems[name],
                                 "relay", ["--size", 256, "--seconds", self.seconds, "--warmup", 1,
                                           "--sut-tid", tids[name]])
                    if r:
                        row[name] = r
                        log("    %s: %s stanzas per worker CPU-second (%.0f/s)" % (
                            name, r["delivered_per_sut_worker_cpu_s"], r["delivered_per_s"]))
                res["rounds"].append(row)
            for name, system in systems.items():
                res["metrics"][name] = system.metric_values(ABUSE_METRICS)
                res["entries"][name] = sum(
                    int(line.split()[1]) for line in system.metrics().splitlines()
                    if line.startswith("fedgate_blocklist_entries{"))
                if not system.alive():
                    self.failures.append("abuse %s: fedgate died:\n%s" % (name, system.log_tail()))
            if res["entries"]["on"] != 100000:
                self.failures.append("abuse on: %s block list entries, not 100000" %
                                     res["entries"]["on"])
            refused = {k: v for k, v in res["metrics"]["on"].items() if v}
            if refused:
                self.failures.append("abuse on: limits refused stanzas: %s" % refused)
        finally:
            for system in systems.values():
                system.stop()
        out["abuse"] = res

    def revocation_churn(self, label, system, kind, transport, pki, seconds, extra):
        argv = ["--seconds", seconds, "--concurrency", 16] + extra
        if kind == "resumed":
            argv.append("--resume")
        port = None
        if transport == "starttls":
            argv.append("--starttls")
            port = system.starttls_port
        return self.gen(label, system, "churn", argv, pki=pki, port=port)

    # --- the result file ----------------------------------------------------

    def summary(self, out):
        def relay(name, size):
            return out["relay"].get(name, {}).get(str(size), {}).get("delivered_per_s")

        def per_core(r):
            if not r or not r.get("sut_cpu_s"):
                return None
            return r["establishments"] / r["sut_cpu_s"]

        lat = [p for p in out["latency"].get("fedgate", []) if p["fraction"] == 0.5]
        churn = out["churn"].get("fedgate", {})
        s = {
            "relay_256_fedgate": relay("fedgate", 256),
            "relay_256_prosody": relay("prosody", 256),
            "relay_256_haproxy": relay("haproxy", 256),
            "relay_1k_fedgate": relay("fedgate", 1024),
            "relay_1k_prosody": relay("prosody", 1024),
            "relay_1k_haproxy": relay("haproxy", 1024),
            "p99_us_at_50pct": lat[0]["result"]["latency_us"]["p99"] if lat else None,
            "full_est_per_s": per_core(churn.get("full")),
            "resumed_est_per_s": per_core(churn.get("resumed")),
            "full_est_per_s_wall": (churn.get("full") or {}).get("establishments_per_s"),
            "resumed_est_per_s_wall": (churn.get("resumed") or {}).get("establishments_per_s"),
            "bytes_per_idle_stream": (out["idle"].get("fedgate") or {}).get(
                "bytes_per_idle_stream"),
            "generator_bound": self.generator_bound,
        }
        for size in ("256", "1k"):
            f, p, h = (s["relay_%s_%s" % (size, n)] for n in ("fedgate", "prosody", "haproxy"))
            s["ratio_%s_fedgate_prosody" % size] = f / p if f and p else None
            s["ratio_%s_fedgate_haproxy" % size] = f / h if f and h else None
        s.update(revocation_summary(out.get("revocation")))
        s.update(abuse_summary(out.get("abuse")))
        return s


REVOCATION_METRICS = ("revocation_cache_hits_total", "revocation_ocsp_fetches_ok_total",
                      "revocation_ocsp_fetches_failed_total", "revocation_hard_fail_refused_total",
                      "revocation_waits_total", "certificate_verdict_cache_hits_total",
                      "auth_sasl_external_total")


ABUSE_METRICS = ("limited_stanzas_in_total", "limited_unsolicited_total",
                 "limited_streams_closed_total", "limited_connections_total",
                 "blocked_streams_total", "blocked_stanzas_in_total")


def abuse_summary(res):
    """Stanzas relayed per worker CPU-second over every round, abuse control
    on and off, and the ratio on/off."""
    s = {}
    for name in ("on", "off"):
        runs = [r[name] for r in (res or {}).get("rounds", [])
                if (r.get(name) or {}).get("sut_worker_cpu_s")]
        cpu = sum(r["sut_worker_cpu_s"] for r in runs)
        # delivered in the measured window = its rate per CPU-second x CPU-seconds
        done = sum(r["delivered_per_sut_worker_cpu_s"] * r["sut_worker_cpu_s"] for r in runs)
        s["relay_abuse_%s_per_cpu_s" % name] = done / cpu if cpu > 0 else None
    on, off = s["relay_abuse_on_per_cpu_s"], s["relay_abuse_off_per_cpu_s"]
    s["ratio_relay_abuse_on_off"] = on / off if on and off else None
    return s


def revocation_key(name, kind, transport):
    """on_full (direct TLS, the suite's churn), on_full_starttls, ..."""
    return "%s_%s%s" % (name, kind, "_starttls" if transport == "starttls" else "")


def revocation_summary(rev):
    """Establishments per worker CPU-second over every round (their sum over
    the sum of worker CPU seconds), on and off, and the ratios on/off."""
    s = {}
    for transport in ("direct", "starttls"):
        for kind in ("full", "resumed"):
            rate = {}
            for name in ("on", "off"):
                key = revocation_key(name, kind, transport)
                runs = [r[key] for r in (rev or {}).get("rounds", [])
                        if (r.get(key) or {}).get("sut_worker_cpu_s")]
                cpu = sum(r["sut_worker_cpu_s"] for r in runs)
                rate[name] = sum(r["establishments"] for r in runs) / cpu if cpu > 0 else None
                s["churn_revocation_%s_per_s" % key] = rate[name]
            on, off = rate["on"], rate["off"]
            s["ratio_revocation_%s" % revocation_key("x", kind, transport)[2:]] = (
                on / off if on and off else None)
    return s


def ceiling_summary(micro, summary):
    """BoringSSL's own in-memory resumed TLS 1.3 handshakes per core, measured
    by tls_bench in the same make bench run, beside resumed_est_per_s (whole
    s2s establishments through fedgate per worker CPU-second) and their
    ratio."""
    ceiling = (micro.get("tls_bench") or {}).get("ceiling_resumed_hs_per_s")
    est = summary.get("resumed_est_per_s")
    return {"resumed_ceiling_per_s": ceiling,
            "ratio_resumed_est_to_ceiling": est / ceiling if est and ceiling else None}


def micro_results():
    """The micro-benchmarks' JSON lines from tools/bench.sh, by name."""
    path = os.path.join(HERE, "results", "latest.jsonl")
    res = {}
    try:
        with open(path) as f:
            for line in f:
                try:
                    o = json.loads(line)
                    res[o["bench"]] = o["result"]
                except (ValueError, KeyError):
                    pass
    except OSError:
        pass
    return res


def versions(fedgate):
    def first_line(cmd):
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=20)
            return p.stdout.strip().splitlines()[0] if p.stdout.strip() else None
        except (OSError, subprocess.TimeoutExpired):
            return None

    def dpkg(pkg):
        return first_line(["dpkg-query", "-W", "-f=${Version}", pkg])

    return {"fedgate": first_line([fedgate, "--version"]), "prosody": dpkg("prosody"),
            "haproxy": dpkg("haproxy"), "kernel": platform.release()}


def machine():
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"host": socket.gethostname(), "cpus": os.cpu_count(), "cpu_model": model}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="bazel-bin of an opt build (bazel info --config=opt bazel-bin)")
    ap.add_argument("--quick", action="store_true", help="bench-quick: at most 2 minutes")
    ap.add_argument("--json", action="store_true", help="print the result object on stdout")
    ap.add_argument("--only", default="fedgate,prosody,haproxy",
                    help="systems to run (revocation: the revocation on/off comparison)")
    ap.add_argument("--revocation", action="store_true",
                    help="only the revocation on/off comparison (same as --only revocation)")
    ap.add_argument("--abuse", action="store_true",
                    help="only the abuse control on/off comparison (same as --only abuse)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved rounds of the revocation comparison (3)")
    ap.add_argument("--seconds", type=float, default=None,
                    help="measured seconds per run (5; --quick 2)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    if (os.cpu_count() or 1) < 2:
        log("bench: needs 2 CPUs (system under test and generator on one each)")
        return 2
    suite = Suite(args)
    started = time.time()
    out = {"relay": {}, "latency": {}, "churn": {}, "idle": {}}
    only = args.only.split(",")
    if args.revocation:
        only = ["revocation"]
    elif args.abuse:
        only = ["abuse"]
    elif not args.quick and args.only == ap.get_default("only"):
        only += ["revocation", "abuse"]  # about 90 s and 60 s: make bench, not bench-quick
    for name in [n for n in ("fedgate", "prosody", "haproxy") if n in only]:
        try:
            suite.run_system(name, out)
        except RuntimeError as e:
            suite.failures.append("%s: %s" % (name, e))
    if "revocation" in only:
        try:
            suite.revocation(out)
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            suite.failures.append("revocation: %s" % e)
    if "abuse" in only:
        try:
            suite.abuse(out)
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            suite.failures.append("abuse: %s" % e)
    now = datetime.datetime.now(datetime.timezone.utc)
    m = machine()
    result = {"date": now.strftime("%Y-%m-%d"), "time": now.strftime("%H:%M:%SZ"),
              "quick": args.quick, "seconds_per_run": suite.seconds,
              "duration_s": round(time.time() - started, 1), "machine": m,
              "versions": versions(suite.fedgate)}
    result.update(suite.summary(out))
    micro = micro_results()
    result.update(ceiling_summary(micro, result))
    xml = micro.get("xml_bench") or {}
    # The XML parser's dispatched build and its baseline x86-64 build, measured
    # by one binary in one run (bench/xml_bench.c).
    result["xml_mbps_best"] = xml.get("fedgate_mbps")
    result["xml_mbps_baseline"] = xml.get("fedgate_baseline_mbps")
    result.update({"runs": out, "micro": micro, "failures": suite.failures})
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "%s-%s%s.json" % (result["date"], m["host"],
                                                  "-quick" if args.quick else ""))
    with open(path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    log("results: %s (%.0f s)" % (path, result["duration_s"]))
    for fl in suite.failures:
        log("FAILED: " + fl)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    return 1 if suite.failures else 0


if __name__ == "__main__":
    sys.exit(main())
