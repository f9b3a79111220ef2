#!/usr/bin/python3
"""relay_ab: fedgate's closed-loop relay (stanzas per CPU-second of its
worker thread) for two fedgate binaries side by side in one session, with
HAProxy 2.6 as the reference floor: every system is up for the whole run,
pinned as in `make bench` (systems on CPU 0, s2sload on CPU 1), and rounds
alternate the order so that the machine's drifting speed falls on all of them
alike. Prints each run, then per size the medians, the per-round ratios B/A
and each binary's per-round ratio to HAProxy, with their medians. --perf DIR
also samples each system at each size with `perf record -g` (cpu-clock) on
its event-loop thread and writes the shares by binary and the top symbols to
DIR.

--open-loop measures paced 256 B traffic instead (s2sload --rate, 8 streams,
its 20 us pacer: a few stanzas per TLS record per stream), per round and
system: p99 latency and worker CPU per stanza at one fixed offered rate
(--rate), and the capacity, the highest rate of the --ladder delivered with
less than 1 % shortfall and nothing lost (the ladder is climbed by all
systems together, a system leaving it at its first miss). --events adds,
at the fixed rate, the kernel's count of the event loop's system calls and
io_uring requests per stanza (perf stat on its thread's tracepoints).

  relay_ab.py --bin BAZEL_BIN [--a FEDGATE_A] [--b FEDGATE_B] [--no-haproxy]
              [--sizes 256,1024] [--rounds N] [--seconds S] [--perf DIR]
  relay_ab.py --bin BAZEL_BIN --open-loop [--rate R] [--ladder R1,R2,..]
              [--events] ...
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import sut  # noqa: E402

REMOTES = 8  # as bench/suite.py: eight remote servers, one stream each
SUT_CPU, GEN_CPU = 0, 1
WARMUP_S = 1


def relay_argv(s2sload, pki, system, size, seconds, tid, rate=None):
    argv = ["taskset", "-c", str(GEN_CPU), s2sload, "relay", "--json", "--target",
            "%s:%d" % (sut.HOST, system.port), "--pki", pki, "--remotes", str(REMOTES),
            "--streams-per-remote", "1", "--sink-domain", sut.SINK_DOMAIN]
    argv += system.sink_args()
    argv += ["--sut-pid", str(system.proc.pid)]
    if tid:
        argv += ["--sut-tid", str(tid)]
    if rate:
        argv += ["--rate", str(int(rate))]
    return argv + ["--size", str(size), "--seconds", str(seconds), "--warmup", str(WARMUP_S)]


def relay(s2sload, pki, system, size, seconds, tid, rate=None):
    p = subprocess.run(relay_argv(s2sload, pki, system, size, seconds, tid, rate),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180,
                       **sut.priority())
    try:
        r = json.loads(p.stdout)
    except ValueError:
        return {"failed": "exit %d: %s" % (p.returncode, p.stderr.strip()[-400:])}
    if p.returncode != 0:
        r["failed"] = "exit %d (lost %s, corrupted %s): %s" % (
            p.returncode, r.get("lost"), r.get("corrupted"), p.stderr.strip()[-300:])
    return r


def perf_top(system, s2sload, pki, tid, seconds, data, size=256):
    report = sut.perf_sample(relay_argv(s2sload, pki, system, size, seconds + 1, tid), tid,
                             seconds, data, WARMUP_S + 0.5)
    out = ["# by binary or library"] + report("--no-children", "--sort", "dso")
    out += ["# top symbols"] + report("--no-children", "--sort", "dso,sym", "--percent-limit",
                                      "0.4")
    return out


# Tracepoints counted on the event loop's thread (--events): every system
# call it makes, the io_uring requests it submits and their completions.
EVENTS = ["raw_syscalls:sys_enter", "syscalls:sys_enter_io_uring_enter",
          "io_uring:io_uring_submit_req", "io_uring:io_uring_complete"]


def event_counts(argv, tid, seconds, settle):
    """Starts the generator |argv|, waits |settle| seconds and counts EVENTS
    on thread |tid| with `perf stat` for |seconds|. Returns ({event: count},
    the generator's JSON result)."""
    gen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           **sut.priority())
    time.sleep(settle)
    p = subprocess.run(["perf", "stat", "-x", ",", "-e", ",".join(EVENTS), "-t", str(tid), "--",
                        "sleep", str(seconds)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    out, _ = gen.communicate(timeout=180)
    counts = {}
    for line in p.stderr.splitlines():
        f = line.split(",")
        if len(f) > 2 and f[2] in EVENTS:
            try:
                counts[f[2]] = int(float(f[0]))
            except ValueError:
                counts[f[2]] = None
    try:
        r = json.loads(out)
    except ValueError:
        r = {"failed": "no JSON from the generator"}
    return counts, r


def paced(s2sload, pki, system, seconds, tid, rate):
    """One open-loop run at |rate|, run again (twice at most) while other
    work on the machine kept the system's worker or the generator from
    their CPUs 5 % of the time or more (s2sload's cpu_contended): such a
    run measures the machine, not the system."""
    for _ in range(3):
        r = relay(s2sload, pki, system, 256, seconds, tid, rate)
        if not r.get("cpu_contended"):
            break
    return r


def open_loop(args, systems, tids, s2sload, pki):
    """--open-loop: see the module's comment. Returns 1 when a fixed-rate
    run failed (lost or corrupted stanzas), else 0."""
    ladder = [float(x) for x in args.ladder.split(",")]
    names = list(systems)
    fixed = {n: [] for n in names}  # per round: the generator's result
    capacity = {n: [] for n in names}
    events = {n: [] for n in names}
    failed = False
    for rnd in range(args.rounds):
        k = rnd % len(names)
        order = names[k:] + names[:k]
        order = order[::-1] if rnd % 2 else order
        for name in order:
            m0 = io_metrics(systems[name])
            r = paced(s2sload, pki, systems[name], args.seconds, tids[name], args.rate)
            m1 = io_metrics(systems[name])
            if m0 and m1 and r.get("delivered"):
                # Over the whole run (warm-up and drain included): per stanza sent.
                r["io_per_stanza"] = {k: (m1[k] - m0[k]) / r["delivered"] for k in m0}
                print("round %d %-7s event loop per stanza: %s" % (rnd + 1, name, ", ".join(
                    "%s %.4f" % kv for kv in r["io_per_stanza"].items())), flush=True)
            failed = failed or bool(r.get("failed"))
            fixed[name].append(r)
            lat = r.get("latency_us") or {}
            print("round %d %-7s at %d/s: delivered %s/s, p50 %s us, p99 %s us, worker %s %%, "
                  "%s ns worker CPU per stanza, waits sut/gen %s/%s%s" % (
                      rnd + 1, name, args.rate, r.get("delivered_per_s"), lat.get("p50"),
                      lat.get("p99"), r.get("sut_cpu_util") and round(100 * r["sut_cpu_util"]),
                      ns_per(r), share(r.get("sut_runq_wait_share")),
                      share(r.get("gen_runq_wait_share")),
                      " FAILED " + r["failed"] if r.get("failed") else ""), flush=True)
        if args.events:
            for name in order:
                argv = relay_argv(s2sload, pki, systems[name], 256, args.seconds + 1, tids[name],
                                  args.rate)
                c, r = event_counts(argv, tids[name], args.seconds - 0.5, WARMUP_S + 0.5)
                stanzas = args.rate * (args.seconds - 0.5)
                per = {e: (v / stanzas if v is not None else None) for e, v in c.items()}
                events[name].append(per)
                print("round %d %-7s events per stanza: %s" % (rnd + 1, name, ", ".join(
                    "%s %.3f" % (e.split(":")[1], v) for e, v in per.items() if v is not None)),
                    flush=True)
        best = {n: 0 for n in names}
        left = list(order)
        for m in ladder:
            rate = int(m * 1e6)
            for name in list(left):
                r = paced(s2sload, pki, systems[name], args.ladder_seconds, tids[name], rate)
                got = r.get("delivered_per_s") or 0
                ok = not r.get("failed") and got >= 0.99 * rate
                if not ok and r.get("cpu_contended"):
                    # Kept from its CPU three times over: no verdict at
                    # this rate, the next one decides.
                    print("round %d %-7s ladder %d/s: contended, no verdict (delivered %d/s)" % (
                        rnd + 1, name, rate, got), flush=True)
                    continue
                print("round %d %-7s ladder %d/s: delivered %d/s, p99 %s us, worker %s %%, "
                      "generator %s %% (send lag p99 %s us), waits sut/gen %s/%s%s%s" % (
                          rnd + 1, name, rate, got, (r.get("latency_us") or {}).get("p99"),
                          r.get("sut_cpu_util") and round(100 * r["sut_cpu_util"]),
                          r.get("gen_cpu_util") and round(100 * r["gen_cpu_util"]),
                          (r.get("send_lag_us") or {}).get("p99"),
                          share(r.get("sut_runq_wait_share")),
                          share(r.get("gen_runq_wait_share")),
                          " (contended)" if r.get("cpu_contended") else "",
                          "" if ok else " (miss)"), flush=True)
                if ok:
                    best[name] = rate
                else:
                    left.remove(name)
            if not left:
                break
        for name in names:
            capacity[name].append(best[name])
        print("round %d capacity: %s" % (rnd + 1, ", ".join(
            "%s %s/s" % (n, best[n] or "-") for n in names)), flush=True)
    print("summary (medians over %d rounds):" % args.rounds)
    for name in names:
        p99 = [get_p99(r) for r in fixed[name] if get_p99(r)]
        ns = [ns_per(r) for r in fixed[name] if ns_per(r)]
        caps = [c for c in capacity[name] if c]
        line = "  %-7s capacity %s/s (%d rounds with a verdict), p99 at %d/s %.0f us, " \
            "%s ns worker CPU per stanza" % (
            name, int(statistics.median(caps)) if caps else "-", len(caps), args.rate,
            statistics.median(p99) if p99 else 0, statistics.median(ns) if ns else None)
        if events[name]:
            keys = events[name][0].keys()
            line += "; per stanza: " + ", ".join("%s %.3f" % (e.split(":")[1], statistics.median(
                [d[e] for d in events[name] if d.get(e) is not None])) for e in keys)
        print(line)
    pairs = [("B", "A")] if "B" in systems else []
    if "haproxy" in systems:
        pairs += [(n, "haproxy") for n in names if n != "haproxy"]
    for num, den in pairs:
        cap = [b / a for a, b in zip(capacity[den], capacity[num]) if a and b]
        p99 = [get_p99(b) / get_p99(a) for a, b in zip(fixed[den], fixed[num])
               if get_p99(a) and get_p99(b)]
        print("  %s/%s capacity per round %s, median %.3f; p99 per round %s, median %.3f" % (
            num, den, ["%.3f" % x for x in cap], statistics.median(cap) if cap else 0,
            ["%.2f" % x for x in p99], statistics.median(p99) if p99 else 0), flush=True)
    return 1 if failed else 0


IO_METRICS = ["io_loop_turns_total", "io_completions_total", "io_sends_early_total"]


def io_metrics(system):
    """fedgate's event-loop counters (None for other systems, or a fedgate
    without them)."""
    if not isinstance(system, sut.Fedgate):
        return None
    try:
        text = system.metrics()
    except OSError:
        return None
    if "fedgate_io_loop_turns_total" not in text:
        return None
    return system.metric_values(IO_METRICS)


def get_p99(r):
    """p99 of a run that neither failed nor was kept from its CPU."""
    if r.get("failed") or r.get("cpu_contended"):
        return None
    return (r.get("latency_us") or {}).get("p99")


def ns_per(r):
    """Worker CPU nanoseconds per stanza delivered."""
    v = r.get("delivered_per_sut_worker_cpu_s")
    return round(1e9 / v) if v else None


def share(v):
    return "-" if v is None else "%d %%" % round(100 * v)


def per_round(rates, num, den):
    rs = [b / a for a, b in zip(rates[den], rates[num]) if a and b]
    return rs, (statistics.median(rs) if rs else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="bazel-bin of an opt build (s2sload, binary A)")
    ap.add_argument("--a", help="the fedgate binary A (default: the one in --bin)")
    ap.add_argument("--b", help="a second fedgate binary (B)")
    ap.add_argument("--no-haproxy", action="store_true", help="leave HAProxy out")
    ap.add_argument("--sizes", default="256,1024")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--perf", help="folder for perf data and top-symbol lists")
    ap.add_argument("--open-loop", action="store_true", help="paced 256 B traffic instead")
    ap.add_argument("--rate", type=int, default=1000000, help="open loop: the fixed rate")
    ap.add_argument("--ladder", default="1.0,1.2,1.4,1.6,1.8,2.0,2.2",
                    help="open loop: offered rates in M stanzas/s for the capacity")
    ap.add_argument("--ladder-seconds", type=float, default=2)
    ap.add_argument("--events", action="store_true",
                    help="open loop: system calls and io_uring requests per stanza (perf stat)")
    ap.add_argument("--nice", type=int, default=-10,
                    help="autogroup nice of the systems and the generator (as bench/suite.py)")
    args = ap.parse_args()
    sut.NICE = args.nice
    sizes = [int(s) for s in args.sizes.split(",")]
    fedgate, s2sload, work, pki = sut.workspace(args.bin, "fedgate-relay-ab.", REMOTES)
    bins = {"A": args.a or fedgate}
    if args.b:
        bins["B"] = args.b
    systems, tids = {}, {}
    failed = False
    try:
        for name, path in bins.items():
            d = os.path.join(work, name)
            os.makedirs(d)
            systems[name] = sut.Fedgate(path, d, pki, SUT_CPU, sut.free_port())
        if not args.no_haproxy:
            d = os.path.join(work, "haproxy")
            os.makedirs(d)
            systems["haproxy"] = sut.Haproxy(d, pki, SUT_CPU, sut.free_port())
        for name, s in systems.items():
            relay(s2sload, pki, s, 256, 1, None)  # warm-up: caches, the worker thread
            tids[name] = s.busiest_thread()
        if args.open_loop:
            return open_loop(args, systems, tids, s2sload, pki)
        rates = {(n, size): [] for n in systems for size in sizes}
        names = list(systems)
        for rnd in range(args.rounds):
            k = rnd % len(names)
            order = names[k:] + names[:k]
            order = order[::-1] if rnd % 2 else order
            for size in sizes:
                for name in order:
                    r = relay(s2sload, pki, systems[name], size, args.seconds, tids[name])
                    v = None if r.get("failed") else r.get("delivered_per_sut_worker_cpu_s")
                    failed = failed or bool(r.get("failed"))
                    rates[(name, size)].append(v)
                    print("round %d %5d B %-7s: %s per worker CPU-s (%s/s, worker %s %%, "
                          "generator %s %%)%s" % (
                              rnd + 1, size, name, v and int(v), r.get("delivered_per_s"),
                              r.get("sut_cpu_util") and round(100 * r["sut_cpu_util"]),
                              r.get("gen_cpu_util") and round(100 * r["gen_cpu_util"]),
                              " FAILED " + r["failed"] if r.get("failed") else ""), flush=True)
        for size in sizes:
            line = "%5d B" % size
            for name in systems:
                vals = [v for v in rates[(name, size)] if v]
                line += "  %s median %.0f" % (name, statistics.median(vals) if vals else 0)
            print(line)
            pairs = [("B", "A")] if "B" in systems else []
            if "haproxy" in systems:
                pairs += [(n, "haproxy") for n in bins]
            for num, den in pairs:
                rs, med = per_round({n: rates[(n, size)] for n in systems}, num, den)
                print("        %s/%s per round %s, median %.3f" % (
                    num, den, ["%.3f" % x for x in rs], med), flush=True)
        if args.perf:
            os.makedirs(args.perf, exist_ok=True)
            for name in systems:
                for size in sizes:
                    base = os.path.join(args.perf, "%s-%d" % (name, size))
                    top = perf_top(systems[name], s2sload, pki, tids[name], args.seconds,
                                   base + ".data", size)
                    with open(base + ".txt", "w") as f:
                        f.write("\n".join(top) + "\n")
                    print("perf %s %d B: %s.txt" % (name, size, base))
    finally:
        for s in systems.values():
            s.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
