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

  suite.py --bin DIR [--quick] [--json] [--only fedgate,prosody,haproxy]

DIR holds gateway/fedgate and bench/s2sload (an opt build's bazel-bin).
Exit status: 0 when every run completed with nothing lost, 1 otherwise.
"""

import argparse
import datetime
import json
import os
import platform
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
        self.seconds = 2 if self.quick else 5
        self.failures = []
        self.generator_bound = []

    # --- running the generator -------------------------------------------

    def gen(self, label, system, mode, extra, timeout=180):
        """Runs s2sload |mode| against |system|; returns its JSON object."""
        argv = ["taskset", "-c", str(GEN_CPU), self.s2sload, mode, "--json",
                "--target", "%s:%d" % (sut.HOST, system.port), "--pki", self.pki,
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
        return s


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
    ap.add_argument("--bin", required=True, help="bazel-bin of an opt build")
    ap.add_argument("--quick", action="store_true", help="bench-quick: at most 2 minutes")
    ap.add_argument("--json", action="store_true", help="print the result object on stdout")
    ap.add_argument("--only", default="fedgate,prosody,haproxy")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    if (os.cpu_count() or 1) < 2:
        log("bench: needs 2 CPUs (system under test and generator on one each)")
        return 2
    suite = Suite(args)
    started = time.time()
    out = {"relay": {}, "latency": {}, "churn": {}, "idle": {}}
    for name in [n for n in ("fedgate", "prosody", "haproxy") if n in args.only.split(",")]:
        try:
            suite.run_system(name, out)
        except RuntimeError as e:
            suite.failures.append("%s: %s" % (name, e))
    now = datetime.datetime.now(datetime.timezone.utc)
    m = machine()
    result = {"date": now.strftime("%Y-%m-%d"), "time": now.strftime("%H:%M:%SZ"),
              "quick": args.quick, "seconds_per_run": suite.seconds,
              "duration_s": round(time.time() - started, 1), "machine": m,
              "versions": versions(suite.fedgate)}
    result.update(suite.summary(out))
    result.update({"runs": out, "micro": micro_results(), "failures": suite.failures})
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
