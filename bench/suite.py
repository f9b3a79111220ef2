#!/usr/bin/python3
"""suite: the side-by-side benchmark of `make bench`.

Runs one workload through fedgate, Prosody (twice: its default incremental
Lua GC, and `gc = { mode = "generational" }`) and HAProxy (bench/sut.py) in
one run on this machine. All four systems are up at once, each pinned to
CPU 0 (while a latency run measures one, the others are stopped with
SIGSTOP); the C load generator (bench/s2sload) is pinned to CPU 1; each of
them runs in a session of its own at autogroup nice --nice (-10), so that
other sessions' work on a shared machine preempts them less (bench/sut.py).
The
measurements run in rounds (--rounds, at least 3), each round going through
every system in another order, so that drift in the machine (other load,
frequency, caches) falls on all of them alike; each figure is the median over
the rounds, with its range, and each ratio is the median of the per-round
ratios. Measures relay throughput against stanza size (also per CPU-second
of each system's busiest thread, its event loop), latency against offered
load, the same relay with every system on TLS 1.2
ECDHE-ECDSA-AES256-GCM-SHA384, s2s session establishments (full and
resumed) and memory per idle authenticated stream, records what TLS each
system negotiated and whether its sockets used kernel TLS, adds the
micro-benchmarks of `tools/bench.sh` (bench/results/latest.jsonl), and
writes bench/results/<date>-<host>.json; bench/report.py turns that into
bench/RESULTS.md and the plots.

  suite.py --bin DIR [--quick] [--json]
           [--only fedgate,prosody,prosody_gc,haproxy,revocation,abuse]
           [--revocation] [--abuse] [--rounds N] [--seconds S] [--nice N]
           [--trace-latency]

A run that fails or comes back with figures missing is recorded as such (in
its round, in `failures`, and in RESULTS.md), and the suite goes on; the exit
status is 1 at the end when anything failed.

The full run (not --quick) ends with the revocation comparison: churn through
a fedgate checking revocation (hard-fail, answers cached from a real `openssl
ocsp` responder) and one that does not, in alternating rounds; --revocation
runs only that. Then the abuse control comparison: relay through a fedgate
with a 100,000-entry block list and every inbound limit on (never refusing)
and one without, in alternating rounds; --abuse runs only that.

DIR holds gateway/fedgate and bench/s2sload (an opt build's `bazel info --config=opt bazel-bin`).
Exit status: 0 when every run completed with nothing lost or corrupted, 1 otherwise.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import sched_trace  # noqa: E402
import sut  # noqa: E402
from report import get  # noqa: E402  (a figure deep in a run, or None)

HERE = os.path.dirname(os.path.realpath(__file__))
SUT_CPU, GEN_CPU = 0, 1
SYSTEMS = ("fedgate", "prosody", "prosody_gc", "haproxy")
# Eight remote servers with one stream each: enough streams to spread the
# work, few enough that paced (open-loop) traffic still fills TLS records
# with more than one stanza (with 32 streams, 20 µs pacing ticks send a
# record per stanza and the loopback TCP work per segment dominates both
# the system under test and the generator).
REMOTES = 8
STREAMS_PER_REMOTE = 1
# The AES-256-GCM comparison: BoringSSL (fedgate, s2sload) cannot narrow TLS
# 1.3's suites, so the generator offers TLS 1.2 with this one suite and
# every system negotiates it.
AES256_TLS12 = "ECDHE-ECDSA-AES256-GCM-SHA384"
# Equal terms: the suite every run must have negotiated (RFC 8446 §B.4 and
# RFC 5289 names, as s2sload reports them), by the --tls12-cipher it offered
# (None: TLS 1.3, every system pinned to sut.TLS13_SUITE). A run on other
# terms is recorded as failed: its figures would compare unlike work.
PINNED_SUITE = {None: sut.TLS13_SUITE, AES256_TLS12: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}
WARMUP_S = 1
OPEN_LOOP_DRAIN_S = 30

# Figures each kind of run must return (None = incomplete run).
REQUIRED = {
    "relay": ("delivered_per_s", "sut_cpu_util", "gen_cpu_util", "delivered_per_sut_worker_cpu_s",
              "latency_us"),
    "churn": ("establishments_per_s", "sut_cpu_s", "sut_cpu_util", "establishments_per_sut_cpu_s"),
    "idle": ("bytes_per_idle_stream", "sut_rss_kb"),
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def pct(v):
    """A share as a percentage for the progress lines ('?' when missing)."""
    return "?" if v is None else "%.0f%%" % (100 * v)


def num(v):
    return "?" if v is None else "%.0f" % v


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def spread(vals):
    vals = [v for v in vals if v is not None]
    return [min(vals), max(vals)] if vals else None


def ratio(a, b):
    return a / b if a is not None and b else None


def summarise(runs, key):
    """A figure over rounds: the median run's object (by |key|) with the
    median, the range and every round's run (failed ones as {"failed": ...})."""
    ok = [r for r in runs if r and not r.get("failed") and r.get(key) is not None]
    out = {"rounds": runs, "median": median(r[key] for r in ok),
           "range": spread(r[key] for r in ok), "key": key}
    if ok:
        mid = sorted(ok, key=lambda r: r[key])[(len(ok) - 1) // 2]
        for k in ("delivered_per_s", "sut_cpu_util", "gen_cpu_util", "sut_cpu_s",
                  "delivered_per_sut_worker_cpu_s", "delivered_per_sut_cpu_s",
                  "establishments_per_s", "establishments", "establishments_per_sut_cpu_s",
                  "establishments_per_sut_worker_cpu_s", "resumed", "generator_bound",
                  "sut_runq_wait_share", "gen_runq_wait_share", "cpu_contended"):
            vals = [r.get(k) for r in ok]
            bool_key = k in ("generator_bound", "cpu_contended")
            out[k] = median(vals) if not bool_key else any(v for v in vals)
        out["latency_us"] = mid.get("latency_us")
        # Open loop: the generator's own lateness (scheduled -> written), p99
        # over the rounds; the part of the latency that is not the system's.
        out["send_lag_p99_us"] = median(get(r, "send_lag_us", "p99") for r in ok)
    return out


def ss_ktls(port):
    """Whether the established TCP sockets on local |port| carry the kernel
    TLS ULP (`ss -i` prints tcp-ulp-tls for them); None when ss shows none."""
    try:
        p = subprocess.run(["ss", "-Htni", "state", "established", "sport", "=", ":%d" % port],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                           timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if not p.stdout.strip():
        return None
    return "tcp-ulp-tls" in p.stdout


class Suite:
    def __init__(self, args):
        self.args = args
        self.fedgate = os.path.join(args.bin, "gateway", "fedgate")
        self.s2sload = os.path.join(args.bin, "bench", "s2sload")
        self.work = tempfile.mkdtemp(prefix="fedgate-bench.")
        self.pki = sut.dev_pki(self.fedgate, os.path.join(self.work, "pki"), REMOTES)
        self.quick = args.quick
        self.seconds = args.seconds or (1 if self.quick else 5)
        # Side by side: at least three rounds (a median and a range need
        # them); the revocation comparison takes --rounds as given.
        self.rounds = max(3, args.rounds)
        self.revocation_rounds = args.rounds
        self.failures = []
        self.hung = {}  # id(system): the label of the run after which it stopped answering
        self.generator_bound = []
        self.cpu_contended = []
        self.systems = {}
        self.tids = {}
        # --trace-latency: the scheduler's events on both CPUs during each
        # latency run (bench/sched_trace.py), summed up in the run's result.
        self.trace = args.trace_latency and sched_trace.available()
        if args.trace_latency and not self.trace:
            log("bench: --trace-latency needs a writable tracefs (root); not tracing")

    # --- running the generator -------------------------------------------

    def gen(self, label, system, mode, extra, timeout=180, pki=None, port=None, probe=None):
        """Runs s2sload |mode| against |system| (its remote servers' PKI:
        |pki|, default the suite's; |port|, default its direct-TLS port);
        returns its JSON object, with "failed" set when the run failed or
        came back incomplete (recorded in self.failures too). |probe|, a
        dict, gets "ktls" from `ss` while the run is measuring. A system
        that is down, or alive but no longer answering, is not run against:
        the run is recorded as failed."""
        if not system.alive():
            return self.failed(label, "not run: %s is down (%s)" % (system.name,
                                                                     system.exit_text()))
        hung = self.hung.get(id(system))
        if hung:
            return self.failed(label, "not run: %s does not answer (since %s)" % (system.name,
                                                                                hung))
        r = self.run_gen(label, system, mode, extra, timeout, pki, port, probe)
        # A failed run against a system that is still alive: is it hung?
        # Every later run against it would otherwise wait for its setup
        # timeout, to fail the same way.
        if r.get("failed") and system.alive() and not system.answers():
            self.hung[id(system)] = label
            self.failed(label, "%s is alive but does not answer a TLS handshake within 5 s: "
                        "no later run against it" % system.name)
        return r

    def run_gen(self, label, system, mode, extra, timeout, pki, port, probe):
        argv = ["taskset", "-c", str(GEN_CPU), self.s2sload, mode, "--json",
                "--target", "%s:%d" % (sut.HOST, port or system.port), "--pki", pki or self.pki,
                "--remotes", str(REMOTES), "--streams-per-remote", str(STREAMS_PER_REMOTE),
                "--sink-domain", sut.SINK_DOMAIN]
        argv += system.sink_args()
        if getattr(self.args, "setup_timeout", None):
            argv += ["--setup-timeout", str(self.args.setup_timeout)]
        for pid in system.pids():
            argv += ["--sut-pid", str(pid)]
        tid = self.tids.get(id(system))
        if tid and "--sut-tid" not in [str(a) for a in extra]:
            argv += ["--sut-tid", str(tid)]
        argv += [str(a) for a in extra]
        log("  %-34s %s" % (label, " ".join(argv[3:])))
        timer = None
        if probe is not None:
            def look():
                probe["ktls"] = ss_ktls(port or system.port)
            timer = threading.Timer(WARMUP_S + self.seconds / 2, look)
            timer.start()
        try:
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, timeout=timeout, **sut.priority())
        except subprocess.TimeoutExpired:
            return self.failed(label, "s2sload timed out after %d s" % timeout)
        finally:
            if timer:
                timer.join()
        try:
            r = json.loads(p.stdout)
        except ValueError:
            return self.failed(label, "s2sload exit %d, no JSON: %s" %
                               (p.returncode, p.stderr.strip()[-600:]))
        if not isinstance(r, dict):
            return self.failed(label, "s2sload exit %d, no result object (%s): %s" % (
                p.returncode, p.stdout.strip()[:40], p.stderr.strip()[-600:]))
        r["label"] = label
        if p.returncode != 0:
            self.failed(label, "s2sload exit %d (lost %s, duplicated %s, corrupted %s, errors %s): "
                        "%s" % (p.returncode, r.get("lost"), r.get("duplicated"),
                                r.get("corrupted"), r.get("errors"), p.stderr.strip()[-400:]), r)
        missing = [k for k in REQUIRED.get(mode, ()) if r.get(k) is None
                   and not (k == "latency_us" and r.get("delivered") == 0)]
        if mode == "relay" and not tid:
            missing = [k for k in missing if k != "delivered_per_sut_worker_cpu_s"]
        if missing and not r.get("failed"):
            self.failed(label, "incomplete figures: %s missing" % ", ".join(missing), r)
        extra = [str(a) for a in extra]
        offered = extra[extra.index("--tls12-cipher") + 1] if "--tls12-cipher" in extra else None
        want, cipher = PINNED_SUITE.get(offered), get(r, "tls", "cipher")
        if cipher is not None and want is not None and not r.get("failed") and (
                cipher != want or get(r, "tls", "other_negotiations")):
            self.failed(label, "unequal terms: %s negotiated %s (%s streams negotiated yet "
                        "another), every system is pinned to %s" % (
                            system.name, cipher, get(r, "tls", "other_negotiations"), want), r)
        if r.get("generator_bound"):
            self.generator_bound.append(label)
        if r.get("cpu_contended"):
            self.cpu_contended.append(label)
        if not system.alive():
            self.failed(label, "%s died during the run (%s):\n%s" % (
                system.name, system.exit_text(), system.log_tail()), r)
        return r

    def failed(self, label, why, r=None):
        self.failures.append("%s: %s" % (label, why))
        log("    FAILED: %s" % why)
        r = r if r is not None else {"label": label}
        r["failed"] = why
        return r

    def start(self, name):
        sink_port = sut.free_port()
        d = os.path.join(self.work, name)
        os.makedirs(d, exist_ok=True)
        if name == "fedgate":
            return sut.Fedgate(self.fedgate, d, self.pki, SUT_CPU, sink_port)
        if name == "prosody":
            return sut.Prosody(d, self.pki, SUT_CPU)
        if name == "prosody_gc":
            return sut.Prosody(d, self.pki, SUT_CPU, gc="generational")
        return sut.Haproxy(d, self.pki, SUT_CPU, sink_port)

    def start_all(self, names):
        for name in names:
            try:
                self.systems[name] = self.start(name)
            except (RuntimeError, OSError) as e:
                self.failed("start %s" % name, str(e))

    def stop_all(self):
        for system in self.systems.values():
            system.stop()

    def order(self, rnd):
        """The systems in round |rnd|'s order: rotated by one each round,
        reversed every other round."""
        names = list(self.systems)
        k = rnd % len(names) if names else 0
        names = names[k:] + names[:k]
        return names[::-1] if rnd % 2 else names

    # --- the measurements -----------------------------------------------

    def relay_sizes(self):
        # 256 B is the smallest stanza that holds these JIDs and the id.
        return [256, 1024] if self.quick else [256, 512, 1024, 2048, 4096]

    def latency_fractions(self):
        # 5 %: a load at which nothing is saturated, the floor of each curve.
        return [0.05, 0.25, 0.5] if self.quick else [0.05, 0.1, 0.25, 0.5, 0.75, 0.9]

    def relay_args(self, size, rate=None, cipher=None):
        a = ["--size", size, "--seconds", self.seconds, "--warmup", WARMUP_S]
        if rate:
            # Open loop: a system that fell behind the pacer (a busy machine,
            # or an offered rate above what it does paced) still holds a
            # backlog when sending stops. Its stanzas count as delivered
            # when they arrive within OPEN_LOOP_DRAIN_S (s2sload stops
            # waiting as soon as all have), not as lost after s2sload's 5 s.
            a += ["--rate", rate, "--drain", OPEN_LOOP_DRAIN_S]
        if cipher:
            a += ["--tls12-cipher", cipher]
        return a

    def warm_up(self, out):
        """A short relay through every system, then the thread that did the
        work (its event loop: fedgate's one worker, Prosody's Lua thread,
        HAProxy's one thread) is the one whose CPU time counts per
        CPU-second; the TLS it negotiated and kTLS are recorded."""
        for name, system in self.systems.items():
            probe = {}
            r = self.gen("warm-up %s" % name, system, "relay",
                         ["--size", 256, "--seconds", max(1, self.seconds), "--warmup", WARMUP_S],
                         probe=probe)
            self.tids[id(system)] = system.busiest_thread()
            out["tls"][name] = tls_record(r, probe)
            log("    %s: %s %s, kTLS %s, worker thread %s" % (
                name, out["tls"][name]["version"], out["tls"][name]["cipher"],
                out["tls"][name]["ktls"], self.tids[id(system)]))

    def relay_round(self, rnd, out, raw):
        for name in self.order(rnd):
            system = self.systems[name]
            for size in self.relay_sizes():
                r = self.gen("relay %s %d B round %d" % (name, size, rnd + 1), system, "relay",
                             self.relay_args(size))
                raw["relay"].setdefault(name, {}).setdefault(str(size), []).append(r)
                log("    %s stanzas/s, %s per worker CPU-s, p99 %s us, sut cpu %s, gen cpu %s" % (
                    num(r.get("delivered_per_s")), num(r.get("delivered_per_sut_worker_cpu_s")),
                    num(get(r, "latency_us", "p99")), pct(r.get("sut_cpu_util")),
                    pct(r.get("gen_cpu_util"))))
            probe = {} if rnd == 0 else None
            r = self.gen("relay %s 1024 B AES-256 round %d" % (name, rnd + 1), system, "relay",
                         self.relay_args(1024, cipher=AES256_TLS12), probe=probe)
            raw["aes256"].setdefault(name, []).append(r)
            if rnd == 0:
                out["tls_aes256"][name] = tls_record(r, probe)
            log("    %s stanzas/s, %s per worker CPU-s (%s)" % (
                num(r.get("delivered_per_s")), num(r.get("delivered_per_sut_worker_cpu_s")),
                get(r, "tls", "cipher")))

    def latency_round(self, rnd, top, out, raw):
        """Open-loop runs at fractions of fedgate's 256 B maximum (median
        over the relay rounds), so that the curves share their x values; a
        system stops at its own maximum."""
        for name in self.order(rnd):
            own = get(out, "relay", name, "256", "delivered_per_s") or 0
            for frac in self.latency_fractions():
                rate = int(top * frac)
                if rate <= 0 or rate > own * 1.05:
                    continue
                r = self.latency_run("latency %s %d/s round %d" % (name, rate, rnd + 1), name,
                                     rate)
                raw["latency"].setdefault(name, {}).setdefault(frac, []).append(r)
                log("    p50 %s us, p99 %s us (generator's send lag p99 %s us), sut cpu %s, "
                    "gen cpu %s, waiting for a CPU: sut %s, gen %s" % (
                        num(get(r, "latency_us", "p50")), num(get(r, "latency_us", "p99")),
                        num(get(r, "send_lag_us", "p99")), pct(r.get("sut_cpu_util")),
                        pct(r.get("gen_cpu_util")), pct(r.get("sut_runq_wait_share")),
                        pct(r.get("gen_runq_wait_share"))))

    def latency_run(self, label, name, rate):
        """One open-loop run through |name| with the other systems stopped
        (SIGSTOP: their timers, garbage collectors and health checks stay off
        the measured CPU while it measures; SIGCONT after), traced with
        --trace-latency."""
        stopped = self.pause_others(name)
        trace = path = None
        if self.trace:
            path = os.path.join(self.work, "trace-%s.txt" % label.replace(" ", "-").replace("/", ""))
            trace = sched_trace.Trace([SUT_CPU, GEN_CPU])
            try:
                trace.start()
            except OSError as e:
                log("    tracing failed to start: %s" % e)
                trace = None
        sut_tids = self.systems[name].tids()  # none when it is down
        try:
            r = self.gen(label, self.systems[name], "relay", self.relay_args(256, rate=rate))
        finally:
            if trace:
                trace.stop(path)
            self.resume()
        r["others_stopped"] = sorted(stopped)
        if trace:
            # The measured processes by thread id: other sessions may run
            # processes of the same names on these CPUs.
            gen_tids = r.get("tids") or []
            watch = [t for t in (self.tids.get(id(self.systems[name])), gen_tids) if t]
            summary = sched_trace.summarise(path, watch, r.get("stalls") or [],
                                            r.get("window_ns"))
            r["sched"] = sched_trace.compact(summary, own=sut_tids + gen_tids)
            os.unlink(path)
            log("    other tasks ran %s ms on the system's CPU, %s ms on the generator's; "
                "worst stalls held by %s" % (
                    get(r, "sched", "cpus", str(SUT_CPU), "other_tasks_ms"),
                    get(r, "sched", "cpus", str(GEN_CPU), "other_tasks_ms"),
                    "; ".join(",".join("%s %s us" % tuple(v) for v in st["other_tasks"].values())
                              or "nothing else" for st in r["sched"]["stalls"][:3])))
        return r

    def pause_others(self, name):
        """SIGSTOPs every system but |name|; returns the names of those seen
        stopped (state T in /proc)."""
        stopped = []
        for other, system in self.systems.items():
            if other == name or not system.alive():
                continue
            for pid in system.pids():
                os.kill(pid, signal.SIGSTOP)
            if all(sut.wait_state(pid, "T", 2.0) for pid in system.pids()):
                stopped.append(other)
            system.paused = True
        return stopped

    def resume(self):
        """SIGCONTs every system pause_others stopped."""
        for system in self.systems.values():
            if getattr(system, "paused", False):
                for pid in system.pids():
                    try:
                        os.kill(pid, signal.SIGCONT)
                    except ProcessLookupError:
                        pass
                system.paused = False

    def churn_round(self, rnd, raw):
        system = self.systems.get("fedgate")
        if system is None:
            return
        for label, extra in (("full", []), ("resumed", ["--resume"])):
            r = self.gen("churn %s round %d" % (label, rnd + 1), system, "churn",
                         ["--seconds", self.seconds, "--concurrency", sut.CHURN_CONCURRENCY] + extra)
            raw["churn"].setdefault(label, []).append(r)
            log("    %s establishments/s, %s per CPU-s, sut cpu %s" % (
                num(r.get("establishments_per_s")), num(r.get("establishments_per_sut_cpu_s")),
                pct(r.get("sut_cpu_util"))))

    def idle(self, out):
        """Memory per idle stream, on a fedgate started for it alone: the
        figure does not depend on what the relay rounds left in the
        allocator, and --quick measures as many streams as the full run."""
        if "fedgate" not in self.systems:
            return
        n = self.args.idle_streams or 10000
        d = os.path.join(self.work, "fedgate-idle")
        os.makedirs(d, exist_ok=True)
        try:
            system = sut.Fedgate(self.fedgate, d, self.pki, SUT_CPU, sut.free_port())
        except (RuntimeError, OSError) as e:
            self.failed("start fedgate for the idle streams", str(e))
            return
        try:
            r = self.gen("idle fedgate %d" % n, system, "idle", ["--streams", n, "--hold", 2],
                         timeout=300)
        finally:
            system.stop()
        out["idle"]["fedgate"] = r
        log("    %d idle streams: %s bytes each at the margin, %s from the start" % (
            n, num(r.get("bytes_per_idle_stream")), num(r.get("bytes_per_idle_stream_from_start"))))

    def run_interleaved(self, names, out):
        raw = {"relay": {}, "aes256": {}, "latency": {}, "churn": {}}
        self.start_all(names)
        try:
            if not self.systems:
                return
            log("== warm-up, TLS and kTLS of each system")
            self.warm_up(out)
            for rnd in range(self.rounds):
                log("== relay round %d of %d: %s" % (rnd + 1, self.rounds,
                                                       ", ".join(self.order(rnd))))
                self.relay_round(rnd, out, raw)
            for name, sizes in raw["relay"].items():
                out["relay"][name] = {size: summarise(runs, "delivered_per_s")
                                      for size, runs in sizes.items()}
            out["relay_aes256"] = {name: summarise(runs, "delivered_per_s")
                                   for name, runs in raw["aes256"].items()}
            top = get(out, "relay", "fedgate", "256", "delivered_per_s")
            out["fedgate_max_256"] = top
            for rnd in range(self.rounds):
                if top:
                    log("== latency round %d of %d" % (rnd + 1, self.rounds))
                    self.latency_round(rnd, top, out, raw)
                log("== churn round %d of %d (fedgate)" % (rnd + 1, self.rounds))
                self.churn_round(rnd, raw)
            for name, fracs in raw["latency"].items():
                out["latency"][name] = []
                for frac, runs in sorted(fracs.items()):
                    p = summarise([dict(r, p99=get(r, "latency_us", "p99")) for r in runs], "p99")
                    p.update({"fraction": frac, "offered_per_s": int(top * frac), "result": {
                        "latency_us": p.get("latency_us"),
                        "delivered_per_s": p.get("delivered_per_s"),
                        "send_lag_p99_us": p.get("send_lag_p99_us"),
                        "sut_runq_wait_share": p.get("sut_runq_wait_share"),
                        "gen_runq_wait_share": p.get("gen_runq_wait_share"),
                        "cpu_contended": p.get("cpu_contended"),
                        # Who else ran on the two CPUs (--trace-latency),
                        # medians over the rounds.
                        "other_tasks_ms_sut_cpu": median(
                            get(r, "sched", "cpus", str(SUT_CPU), "other_tasks_ms") for r in runs),
                        "other_tasks_ms_gen_cpu": median(
                            get(r, "sched", "cpus", str(GEN_CPU), "other_tasks_ms") for r in runs)}})
                    out["latency"][name].append(p)
            out["churn"]["fedgate"] = {k: summarise(runs, "establishments_per_sut_cpu_s")
                                       for k, runs in raw["churn"].items()}
            log("== idle streams (fedgate)")
            self.idle(out)
        finally:
            self.stop_all()

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
        log("== revocation checking: on (answers cached) against off, %d rounds" %
            self.revocation_rounds)
        ocsp_port = sut.free_port()
        pki, index = self.revocation_pki(ocsp_port)
        ocsp = self.start_ocsp_responder(ocsp_port, index)
        configs = {
            "on": 'revocation: {mode: hard-fail, allowed_networks: ["127.0.0.0/8"]}\n',
            "off": 'revocation: {mode: "off"}\n',
        }
        systems = {}
        res = out["revocation"] = {"rounds": [], "metrics": {}}  # kept if a part fails
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
            for rnd in range(self.revocation_rounds):
                order = names if rnd % 2 == 0 else names[::-1]  # ABBA against drift
                row = {}
                for kind, transport in kinds[::-1]:
                    for name in order:
                        r = self.revocation_churn(
                            "revocation %s %s %s round %d" % (name, kind, transport, rnd + 1),
                            systems[name], kind, transport, pki, self.seconds,
                            ["--sut-tid", tids[name]])
                        row[revocation_key(name, kind, transport)] = r
                        log("    %s %s %s: %s per worker CPU-second (%s/s)" % (
                            name, kind, transport, num(r.get("establishments_per_sut_worker_cpu_s")),
                            num(r.get("establishments_per_s"))))
                res["rounds"].append(row)
            for name, system in systems.items():
                if not system.alive():  # no /metrics to read
                    self.failures.append("revocation %s: fedgate died (%s):\n%s" %
                                         (name, system.exit_text(), system.log_tail()))
                    res["metrics"][name] = None
                    continue
                res["metrics"][name] = system.metric_values(REVOCATION_METRICS)
            m = res["metrics"]["on"] or {}
            if not m.get("revocation_cache_hits_total") or \
                    not m.get("revocation_ocsp_fetches_ok_total"):
                self.failures.append("revocation on: the OCSP answers were not fetched and "
                                     "cached: %s" % m)
        finally:
            for system in systems.values():
                system.stop()
            ocsp.terminate()
            ocsp.wait()

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
        res = out["abuse"] = {"rounds": [], "metrics": {}, "entries": {}}  # kept if a part fails
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
                    row[name] = r
                    log("    %s: %s stanzas per worker CPU-second (%s/s)" % (
                        name, num(r.get("delivered_per_sut_worker_cpu_s")),
                        num(r.get("delivered_per_s"))))
                res["rounds"].append(row)
            for name, system in systems.items():
                if not system.alive():  # no /metrics to read
                    self.failures.append("abuse %s: fedgate died (%s):\n%s" % (
                        name, system.exit_text(), system.log_tail()))
                    res["metrics"][name] = res["entries"][name] = None
                    continue
                res["metrics"][name] = system.metric_values(ABUSE_METRICS)
                res["entries"][name] = sum(
                    int(line.split()[1]) for line in system.metrics().splitlines()
                    if line.startswith("fedgate_blocklist_entries{"))
            if res["entries"]["on"] != 100000:
                self.failures.append("abuse on: %s block list entries, not 100000" %
                                     res["entries"]["on"])
            refused = {k: v for k, v in (res["metrics"]["on"] or {}).items() if v}
            if refused:
                self.failures.append("abuse on: limits refused stanzas: %s" % refused)
        finally:
            for system in systems.values():
                system.stop()

    def revocation_churn(self, label, system, kind, transport, pki, seconds, extra):
        argv = ["--seconds", seconds, "--concurrency", sut.CHURN_CONCURRENCY] + extra
        if kind == "resumed":
            argv.append("--resume")
        port = None
        if transport == "starttls":
            argv.append("--starttls")
            port = system.starttls_port
        return self.gen(label, system, "churn", argv, pki=pki, port=port)

    # --- the result file ----------------------------------------------------

    def summary(self, out, micro):
        def relay(name, size, key="delivered_per_s"):
            return get(out, "relay", name, str(size), key)

        def per_round(a_runs, b_runs, key):
            """The median over the rounds of round i's a/b."""
            a_runs, b_runs = (a_runs or {}).get("rounds", []), (b_runs or {}).get("rounds", [])
            vals = [ratio(get(a, key), get(b, key)) for a, b in zip(a_runs, b_runs)
                    if not (a or {}).get("failed") and not (b or {}).get("failed")]
            return median(vals)

        def lat(name, frac):
            return [p for p in out["latency"].get(name, []) if p["fraction"] == frac]

        churn = out["churn"].get("fedgate", {})
        s = {"generator_bound": self.generator_bound, "cpu_contended": self.cpu_contended,
             "rounds": self.rounds, "nice": sut.NICE, "latency_traced": bool(self.trace)}
        for size, key in ((256, "256"), (1024, "1k")):
            for name in SYSTEMS:
                s["relay_%s_%s" % (key, name)] = relay(name, size)
                s["relay_cpu_%s_%s" % (key, name)] = relay(name, size,
                                                           "delivered_per_sut_worker_cpu_s")
                s["relay_%s_%s_range" % (key, name)] = relay(name, size, "range")
            f = get(out, "relay", "fedgate", str(size))
            for other in ("prosody", "prosody_gc", "haproxy"):
                o = get(out, "relay", other, str(size))
                s["ratio_%s_fedgate_%s" % (key, other)] = per_round(f, o, "delivered_per_s")
                s["ratio_cpu_%s_fedgate_%s" % (key, other)] = per_round(
                    f, o, "delivered_per_sut_worker_cpu_s")
        for name in SYSTEMS:
            s["relay_1k_aes256_%s" % name] = get(out, "relay_aes256", name, "delivered_per_s")
            s["relay_cpu_1k_aes256_%s" % name] = get(out, "relay_aes256", name,
                                                     "delivered_per_sut_worker_cpu_s")
        fa, ha = get(out, "relay_aes256", "fedgate"), get(out, "relay_aes256", "haproxy")
        s["ratio_1k_aes256_fedgate_haproxy"] = per_round(fa, ha, "delivered_per_s")
        s["ratio_cpu_1k_aes256_fedgate_haproxy"] = per_round(fa, ha,
                                                             "delivered_per_sut_worker_cpu_s")
        f50, h50 = lat("fedgate", 0.5), lat("haproxy", 0.5)
        s["p99_us_at_50pct"] = get(f50[0], "median") if f50 else None
        s["p99_us_at_25pct"] = get(lat("fedgate", 0.25)[0], "median") if lat("fedgate",
                                                                             0.25) else None
        s["p99_ratio_at_50pct"] = per_round(f50[0], h50[0], "p99") if f50 and h50 else None
        s["full_est_per_s"] = get(churn, "full", "median")
        s["resumed_est_per_s"] = get(churn, "resumed", "median")
        s["full_est_per_s_wall"] = get(churn, "full", "establishments_per_s")
        s["resumed_est_per_s_wall"] = get(churn, "resumed", "establishments_per_s")
        s["full_est_per_worker_cpu_s"] = get(churn, "full", "establishments_per_sut_worker_cpu_s")
        s["resumed_est_per_worker_cpu_s"] = get(churn, "resumed",
                                                "establishments_per_sut_worker_cpu_s")
        # Full handshakes per worker CPU-second over BoringSSL's server-side
        # full handshakes per CPU-second in memory (bench/tls_bench, this run).
        s["full_est_ratio_to_ceiling"] = ratio(s["full_est_per_worker_cpu_s"],
                                               get(micro, "tls_bench", "ceiling_full_hs_per_s"))
        s["bytes_per_idle_stream"] = get(out, "idle", "fedgate", "bytes_per_idle_stream")
        s.update(revocation_summary(out.get("revocation")))
        s.update(abuse_summary(out.get("abuse")))
        return s


def tls_record(r, probe):
    """What a system negotiated with the generator (the client's view) and
    whether its sockets used kernel TLS (`ss` on its port while measuring)."""
    return {"version": get(r, "tls", "version"), "cipher": get(r, "tls", "cipher"),
            "other_negotiations": get(r, "tls", "other_negotiations"),
            "ktls": (probe or {}).get("ktls"),
            "generator_ktls_attached": get(r, "tls", "generator_ktls_attached")}


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
                if (r.get(name) or {}).get("sut_worker_cpu_s") and not r[name].get("failed")]
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
                        if (r.get(key) or {}).get("sut_worker_cpu_s")
                        and r[key].get("establishments") is not None
                        and not r[key].get("failed")]
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
    tls = micro.get("tls_bench") or {}
    ceiling = tls.get("ceiling_resumed_hs_per_s")
    est = summary.get("resumed_est_per_s")
    out = {"resumed_ceiling_per_s": ceiling,
           "ratio_resumed_est_to_ceiling": ratio(est, ceiling)}
    # The ceilings above have no client certificate; an s2s peer sends one
    # (SASL EXTERNAL): the server checks its CertificateVerify in every full
    # handshake, and a resumed session carries it. Like-for-like ratios
    # against tls_bench's ceilings with a client certificate (the chain
    # verdict cached, as fedgate's verdict cache does; "chain": checked every
    # time), per worker CPU-second as the ceilings are.
    full = summary.get("full_est_per_worker_cpu_s")
    resumed = summary.get("resumed_est_per_worker_cpu_s")
    out["full_ceiling_mtls_per_s"] = tls.get("ceiling_full_mtls_hs_per_s")
    out["full_ceiling_mtls_chain_per_s"] = tls.get("ceiling_full_mtls_chain_hs_per_s")
    out["resumed_ceiling_mtls_per_s"] = tls.get("ceiling_resumed_mtls_hs_per_s")
    out["full_est_ratio_to_mtls_ceiling"] = ratio(full, out["full_ceiling_mtls_per_s"])
    out["resumed_est_ratio_to_mtls_ceiling"] = ratio(resumed, out["resumed_ceiling_mtls_per_s"])
    # The same TLS with the client certificate over loopback TCP through
    # fedgate's runtime and nothing else (accept, handshake, one byte,
    # close): what is left between it and the whole establishment is XMPP
    # (streams, SASL EXTERNAL, routing the stanza) and its round trips.
    out["full_tls_over_tcp_per_s"] = tls.get("full_mtls_hs_per_s")
    out["resumed_tls_over_tcp_per_s"] = tls.get("resumed_mtls_hs_per_s")
    out["full_est_ratio_to_tls_over_tcp"] = ratio(full, out["full_tls_over_tcp_per_s"])
    out["resumed_est_ratio_to_tls_over_tcp"] = ratio(resumed, out["resumed_tls_over_tcp_per_s"])
    return out


def micro_results(path, failures):
    """The micro-benchmarks' JSON lines from tools/bench.sh (|path|), by
    name. A benchmark that failed ({"bench": NAME, "failed": WHY}) or whose
    line is not a result object is appended to |failures|."""
    res = {}
    try:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                try:
                    o = json.loads(line)
                    if o.get("failed"):
                        failures.append("micro-benchmark %s: %s" % (o.get("bench"), o["failed"]))
                        continue
                    if not isinstance(o["result"], dict):
                        raise ValueError("no result object")
                    res[o["bench"]] = o["result"]
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    failures.append("micro-benchmark line %d of %s: %s (%s)" % (
                        n, path, line.strip()[:120], e))
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
    ap.add_argument("--bin", required=True,
                    help="bazel-bin of an opt build (bazel info --config=opt bazel-bin)")
    ap.add_argument("--quick", action="store_true", help="bench-quick: a few minutes")
    ap.add_argument("--json", action="store_true", help="print the result object on stdout")
    ap.add_argument("--only", default=",".join(SYSTEMS),
                    help="systems to run (revocation: the revocation on/off comparison)")
    ap.add_argument("--revocation", action="store_true",
                    help="only the revocation on/off comparison (same as --only revocation)")
    ap.add_argument("--abuse", action="store_true",
                    help="only the abuse control on/off comparison (same as --only abuse)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved rounds, at least 3 (3)")
    ap.add_argument("--seconds", type=float, default=None,
                    help="measured seconds per run (5; --quick 1)")
    ap.add_argument("--idle-streams", type=int, default=None,
                    help="idle streams for the memory figure (10000, --quick too)")
    ap.add_argument("--nice", type=int, default=-10,
                    help="scheduling priority of the systems under test and the generator, "
                         "each in a session (autogroup) of its own (-10; 0: as started)")
    ap.add_argument("--trace-latency", action="store_true",
                    help="record the scheduler's events on both CPUs during each latency run "
                         "(tracefs, root) and keep who else ran there in the result")
    ap.add_argument("--setup-timeout", type=float, default=None,
                    help="seconds each run allows to open its streams (s2sload's, 60)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--micro", default=os.path.join(HERE, "results", "latest.jsonl"),
                    help="the micro-benchmarks' results (tools/bench.sh writes them)")
    args = ap.parse_args()
    sut.NICE = args.nice
    if (os.cpu_count() or 1) < 2:
        log("bench: needs 2 CPUs (system under test and generator on one each)")
        return 2
    suite = Suite(args)
    started = time.time()
    out = {"relay": {}, "latency": {}, "churn": {}, "idle": {}, "relay_aes256": {}, "tls": {},
           "tls_aes256": {}}
    only = args.only.split(",")
    if args.revocation:
        only = ["revocation"]
    elif args.abuse:
        only = ["abuse"]
    elif not args.quick and args.only == ap.get_default("only"):
        only += ["revocation", "abuse"]  # about 90 s and 60 s: make bench, not bench-quick
    names = [n for n in SYSTEMS if n in only]
    # Whatever goes wrong in one part is recorded and the suite goes on:
    # the result file is always written.
    try:
        if names:
            suite.run_interleaved(names, out)
    except Exception as e:  # noqa: BLE001 (recorded, then the next part)
        suite.failed("side by side", "%s: %s" % (type(e).__name__, e))
    if "revocation" in only:
        try:
            suite.revocation(out)
        except Exception as e:  # noqa: BLE001
            suite.failed("revocation", "%s: %s" % (type(e).__name__, e))
    if "abuse" in only:
        try:
            suite.abuse(out)
        except Exception as e:  # noqa: BLE001
            suite.failed("abuse", "%s: %s" % (type(e).__name__, e))
    now = datetime.datetime.now(datetime.timezone.utc)
    m = machine()
    result = {"date": now.strftime("%Y-%m-%d"), "time": now.strftime("%H:%M:%SZ"),
              "quick": args.quick, "seconds_per_run": suite.seconds,
              "duration_s": round(time.time() - started, 1), "machine": m,
              "versions": versions(suite.fedgate), "systems": names}
    micro = micro_results(args.micro, suite.failures)
    try:
        result.update(suite.summary(out, micro))
        result.update(ceiling_summary(micro, result))
    except Exception as e:  # noqa: BLE001
        suite.failed("summary", "%s: %s" % (type(e).__name__, e))
    xml = micro.get("xml_bench") or {}
    # The XML parser's dispatched copy and its baseline x86-64 copy, measured
    # by one binary in one run (bench/xml_bench.c).
    # Stanzas are read as the relay reads them (the root's view; every check
    # made); xml_bench_full_tree also builds every node's view.
    result["xml_mbps_best"] = xml.get("fedgate_mbps")
    result["xml_mbps_baseline"] = xml.get("fedgate_baseline_mbps")
    full_tree = micro.get("xml_bench_full_tree") or {}
    result["xml_mbps_best_full_tree"] = full_tree.get("fedgate_mbps")
    result["xml_mbps_baseline_full_tree"] = full_tree.get("fedgate_baseline_mbps")
    result["tls"] = out["tls"]
    result["tls_aes256"] = out["tls_aes256"]
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
