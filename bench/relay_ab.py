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

  relay_ab.py --bin BAZEL_BIN [--a FEDGATE_A] [--b FEDGATE_B] [--no-haproxy]
              [--sizes 256,1024] [--rounds N] [--seconds S] [--perf DIR]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import sut  # noqa: E402

REMOTES = 8  # as bench/suite.py: eight remote servers, one stream each
SUT_CPU, GEN_CPU = 0, 1
WARMUP_S = 1


def relay_argv(s2sload, pki, system, size, seconds, tid):
    argv = ["taskset", "-c", str(GEN_CPU), s2sload, "relay", "--json", "--target",
            "%s:%d" % (sut.HOST, system.port), "--pki", pki, "--remotes", str(REMOTES),
            "--streams-per-remote", "1", "--sink-domain", sut.SINK_DOMAIN]
    argv += system.sink_args()
    argv += ["--sut-pid", str(system.proc.pid)]
    if tid:
        argv += ["--sut-tid", str(tid)]
    return argv + ["--size", str(size), "--seconds", str(seconds), "--warmup", str(WARMUP_S)]


def relay(s2sload, pki, system, size, seconds, tid):
    p = subprocess.run(relay_argv(s2sload, pki, system, size, seconds, tid),
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
    args = ap.parse_args()
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
