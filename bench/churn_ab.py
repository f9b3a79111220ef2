#!/usr/bin/python3
"""churn_ab: fedgate's churn (full and resumed establishments) per CPU-second
of its worker thread, for two fedgate binaries side by side in one session:
rounds alternate A and B so that the machine's drifting speed falls on both
alike, and the per-round ratios B/A are printed with their median. With one
binary it measures that one; --perf DIR also samples each churn kind with
`perf record -g` (cpu-clock) on the worker thread and writes to DIR the
shares by binary, the share of the XMPP handling and the top symbols.

  churn_ab.py --bin BAZEL_BIN [--a FEDGATE_A] [--b FEDGATE_B] [--rounds N] [--seconds S]
              [--perf DIR] [--events]

--events also counts, with `perf stat` tracepoints on the worker thread,
what each accepted connection costs the worker in kernel work: io_uring
requests and completions, socket sends and receives, TCP resets, system
calls. Counts do not drift with the machine's load as CPU time does, so
they show a change of a few percent that the timing noise hides.
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

REMOTES = 8
KINDS = (("full", []), ("resumed", ["--resume"]))


def churn_argv(s2sload, pki, system, seconds, extra):
    return ["taskset", "-c", "1", s2sload, "churn", "--json", "--target",
            "%s:%d" % (sut.HOST, system.port), "--pki", pki, "--remotes", str(REMOTES),
            "--streams-per-remote", "1", "--sink-domain", sut.SINK_DOMAIN,
            "--sut-pid", str(system.proc.pid), "--seconds", str(seconds),
            "--concurrency", str(sut.CHURN_CONCURRENCY)] + extra + system.sink_args()


def churn(s2sload, pki, system, tid, seconds, extra):
    argv = churn_argv(s2sload, pki, system, seconds, ["--sut-tid", str(tid)] + extra)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {"failed": p.stderr.strip()[-400:]}


def perf_top(system, s2sload, pki, tid, seconds, extra, data):
    report = sut.perf_sample(churn_argv(s2sload, pki, system, seconds + 1, extra), tid, seconds,
                             data, 0.7)
    # By binary (self time), then the XMPP handling with everything it
    # calls (on_data: streams, SASL, routing, and the TLS writes of its
    # answers), then the top symbols.
    out = ["# by binary or library"] + report("--no-children", "--sort", "dso")
    out += ["# XMPP handling, children included"]
    out += [ln for ln in report("--children", "--sort", "sym") if ln.split()[-1] == "on_data"]
    out += ["# top symbols"] + report("--no-children", "--sort", "dso,sym", "--percent-limit",
                                      "0.4")
    return out


# Tracepoints counted by --events; getpeername runs once per accepted
# connection and is the denominator.
EVENTS = (("syscalls:sys_enter_getpeername", "accepted"),
          ("io_uring:io_uring_submit_req", "io_uring requests"),
          ("io_uring:io_uring_complete", "io_uring completions"),
          ("io_uring:io_uring_task_add", "io_uring task work"),
          ("sock:sock_send_length", "socket sends"),
          ("sock:sock_recv_length", "socket receives"),
          ("tcp:tcp_send_reset", "TCP resets sent"),
          ("raw_syscalls:sys_enter", "system calls"))


def event_counts(system, s2sload, pki, tid, seconds, extra):
    """Per accepted connection: {label: count} over |seconds| of churn."""
    gen = subprocess.Popen(churn_argv(s2sload, pki, system, seconds + 1.5, extra),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.7)
    p = subprocess.run(["perf", "stat", "-x,", "-e", ",".join(e for e, _ in EVENTS), "-t",
                        str(tid), "--", "sleep", str(seconds)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    gen.communicate(timeout=120)
    counts = {}
    for ln in p.stderr.splitlines():
        f = ln.split(",")
        if len(f) > 2 and f[0].replace(".", "", 1).isdigit():
            counts[f[2]] = float(f[0])
    accepted = counts.get(EVENTS[0][0]) or 0
    if not accepted:
        return None
    return {label: counts.get(ev, 0) / accepted for ev, label in EVENTS[1:]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="bazel-bin of an opt build (binary A)")
    ap.add_argument("--a", help="the fedgate binary A (default: the one in --bin)")
    ap.add_argument("--b", help="a second fedgate binary (B)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--perf", help="folder for perf data and top-symbol lists")
    ap.add_argument("--events", action="store_true",
                    help="count kernel work per accepted connection (perf stat tracepoints)")
    args = ap.parse_args()
    fedgate, s2sload, work, pki = sut.workspace(args.bin, "fedgate-churn.", REMOTES)
    bins = {"A": args.a or fedgate}
    if args.b:
        bins["B"] = args.b
    systems, tids = {}, {}
    try:
        for name, path in bins.items():
            d = os.path.join(work, name)
            os.makedirs(d)
            systems[name] = sut.Fedgate(path, d, pki, 0, sut.free_port())
        for name, s in systems.items():
            churn(s2sload, pki, s, s.proc.pid, 1, [])  # warm-up: caches, worker thread
            tids[name] = s.busiest_thread()
        rates = {(n, k): [] for n in systems for k, _ in KINDS}
        for rnd in range(args.rounds):
            order = list(systems) if rnd % 2 == 0 else list(reversed(list(systems)))
            for kind, extra in KINDS:
                for name in order:
                    r = churn(s2sload, pki, systems[name], tids[name], args.seconds, extra)
                    v = r.get("establishments_per_sut_worker_cpu_s")
                    rates[(name, kind)].append(v)
                    print("round %d %-7s %s: %s per worker CPU-s (%s/s, %s resumed)%s" % (
                        rnd + 1, kind, name, v, r.get("establishments_per_s"),
                        r.get("resumed"), " FAILED " + r["failed"] if r.get("failed") else ""),
                        flush=True)
        for kind, _ in KINDS:
            line = "%-7s" % kind
            for name in systems:
                vals = [v for v in rates[(name, kind)] if v]
                line += "  %s median %.0f" % (name, statistics.median(vals) if vals else 0)
            if "B" in systems:
                rs = [b / a for a, b in zip(rates[("A", kind)], rates[("B", kind)]) if a and b]
                line += "  B/A per round %s, median %.3f" % (
                    ["%.3f" % x for x in rs], statistics.median(rs) if rs else 0)
            print(line, flush=True)
        if args.events:
            for kind, extra in KINDS:
                per = {n: event_counts(s, s2sload, pki, tids[n], args.seconds, extra)
                       for n, s in systems.items()}
                for ev, label in EVENTS[1:]:
                    print("events %-7s %-22s %s" % (kind, label, "  ".join(
                        "%s %.2f" % (n, v[label]) if v else "%s ?" % n
                        for n, v in per.items())), flush=True)
        if args.perf:
            os.makedirs(args.perf, exist_ok=True)
            for name, s in systems.items():
                for kind, extra in KINDS:
                    top = perf_top(s, s2sload, pki, tids[name], args.seconds, extra,
                                   os.path.join(args.perf, "%s-%s.data" % (name, kind)))
                    with open(os.path.join(args.perf, "%s-%s.txt" % (name, kind)), "w") as f:
                        f.write("\n".join(top) + "\n")
                    print("perf %s %s: %s" % (name, kind, os.path.join(args.perf, "%s-%s.txt" %
                                                                     (name, kind))))
    finally:
        for s in systems.values():
            s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
