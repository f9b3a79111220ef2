#!/usr/bin/python3
"""sched_trace: who had the measured CPUs while a latency run measured.

Records the scheduler's sched_switch and sched_waking events on the given
CPUs with the kernel's tracefs (/sys/kernel/tracing, an instance of its own;
root) on the CLOCK_MONOTONIC trace clock, the clock of s2sload's stanza
stamps and of its `stalls` records, and summarises them:

  - per CPU, the time each task ran, its longest slice and how often it ran,
    and the time the CPU sat idle;
  - per watched thread (the system's event loop, the generator's worker):
    its wake-up delays (sched_waking to running) with, for the long ones,
    whether the CPU was idle meanwhile (the virtual CPU itself was not
    running: the host's share) or which tasks ran first (the guest's);
    and the time it was preempted while runnable, by whom;
  - for each stall s2sload reported (`stalls`: scheduled time, arrival
    time), what ran on every traced CPU in between.

As a module (bench/suite.py --trace-latency): Trace(cpus).start(),
.stop(path), then summarise(path, watch, stalls, window) and compact(...).
As a command, around any command:

  sched_trace.py --cpus 0,1 --watch TID|NAME[,...] [--out FILE] -- COMMAND...

prints the summary as JSON (and keeps the raw trace in FILE).
"""

import argparse
import bisect
import json
import os
import re
import subprocess
import sys

TRACEFS = "/sys/kernel/tracing"
EVENTS = ("sched/sched_switch", "sched/sched_waking")
LINE = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(\w+):\s+(.*)$")
SWITCH = re.compile(r"prev_comm=(.*) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> "
                    r"next_comm=(.*) next_pid=(\d+) next_prio=\d+")
WAKING = re.compile(r"comm=(.*) pid=(\d+) prio=\d+ target_cpu=(\d+)")
# A wake-up or preemption counts as long from this many microseconds.
LONG_US = 200


def available():
    return os.access(os.path.join(TRACEFS, "instances"), os.W_OK)


class Trace:
    """The scheduler's events on |cpus| into a tracefs instance of its own
    (instances/NAME: its own buffer, clock, CPU mask and events), so that
    other users of tracefs are left alone and two runs never mix."""

    def __init__(self, cpus, buffer_kb=65536):
        self.cpus = list(cpus)
        self.buffer_kb = buffer_kb
        self.dir = os.path.join(TRACEFS, "instances", "fedgate-bench-%d" % os.getpid())

    def _write(self, name, value):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(value)

    def start(self):
        if not os.path.isdir(self.dir):
            os.mkdir(self.dir)
        self._write("tracing_on", "0")
        self._write("trace", "")
        self._write("trace_clock", "mono")
        self._write("buffer_size_kb", str(self.buffer_kb))
        self._write("tracing_cpumask", "%x" % sum(1 << c for c in self.cpus))
        for ev in EVENTS:
            self._write("events/%s/enable" % ev, "1")
        self._write("tracing_on", "1")

    def stop(self, path):
        """Stops recording, writes the trace as text to |path| and removes
        the instance."""
        try:
            self._write("tracing_on", "0")
            with open(os.path.join(self.dir, "trace"), "rb") as src, open(path, "wb") as dst:
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    dst.write(chunk)
        finally:
            for ev in EVENTS:
                try:
                    self._write("events/%s/enable" % ev, "0")
                except OSError:
                    pass
            try:
                os.rmdir(self.dir)
            except OSError:
                pass


def parse(path):
    """Slices per CPU [(start_us, end_us, pid, comm)] and wakings
    [(t_us, pid, cpu)] from a text trace."""
    slices, current, wakings = {}, {}, []
    first = last = None
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            cpu, t, ev, rest = int(m.group(3)), float(m.group(4)) * 1e6, m.group(5), m.group(6)
            first = t if first is None else first
            last = t
            if ev == "sched_switch":
                s = SWITCH.match(rest)
                if not s:
                    continue
                prev_pid, next_pid = int(s.group(2)), int(s.group(5))
                start = current.get(cpu, (None,))[0]
                if start is not None:
                    slices.setdefault(cpu, []).append((start, t, prev_pid, s.group(1),
                                                       s.group(3)))
                current[cpu] = (t, next_pid, s.group(4))
            elif ev == "sched_waking":
                w = WAKING.match(rest)
                if w:
                    wakings.append((t, int(w.group(2)), int(w.group(3))))
    return slices, wakings, first, last


def name(pid, comm):
    return "idle" if pid == 0 else "%s/%d" % (comm, pid)


def between(cpu_slices, a, b, min_us=20):
    """What ran on one CPU between times a and b: [(name, us)] in order,
    adjacent slices of one task merged, short ones left out."""
    out = []
    for s, e, pid, comm, _ in cpu_slices:
        if e <= a or s >= b:
            continue
        d = min(e, b) - max(s, a)
        n = name(pid, comm)
        if out and out[-1][0] == n:
            out[-1][1] += d
        else:
            out.append([n, d])
    return [(n, round(d)) for n, d in out if d >= min_us]


def busiest(slices, which):
    """The thread that ran the longest among |which|: thread ids, or a name
    (a generator's worker among its threads)."""
    total = {}
    for sl in slices.values():
        for s, e, pid, c, _ in sl:
            if (c == which) if isinstance(which, str) else (pid in which):
                total[pid] = total.get(pid, 0) + e - s
    return max(total, key=total.get) if total else None


def pct(vals, p):
    if not vals:
        return None
    vals = sorted(vals)
    return round(vals[min(len(vals) - 1, int(p / 100 * len(vals)))], 1)


def summarise(path, watch=(), stalls=(), window=None):
    """The summary of the trace at |path| (see the module's doc); |watch|:
    threads, each a thread id, a name or a list of thread ids (the one of
    them that ran longest); |stalls|: s2sload's records; |window|: (start,
    end) CLOCK_MONOTONIC ns, the part of the trace summarised."""
    slices, wakings, first, last = parse(path)
    lo, hi = (window[0] / 1e3, window[1] / 1e3) if window else (first or 0, last or 0)
    out = {"window_us": round(hi - lo), "cpus": {}, "threads": {}, "stalls": []}
    for cpu, sl in sorted(slices.items()):
        per = {}
        for s, e, pid, comm, _ in sl:
            if e <= lo or s >= hi:
                continue
            d = min(e, hi) - max(s, lo)
            p = per.setdefault(name(pid, comm), [0.0, 0.0, 0])
            p[0] += d
            p[1] = max(p[1], d)
            p[2] += 1
        tasks = sorted(per.items(), key=lambda kv: -kv[1][0])
        out["cpus"][str(cpu)] = [{"task": n, "ms": round(v[0] / 1e3, 2),
                                   "longest_us": round(v[1]), "slices": v[2]}
                                  for n, v in tasks]
    for tid in watch:
        if isinstance(tid, (list, tuple, set)) or (isinstance(tid, str) and not tid.isdigit()):
            tid = busiest(slices, tid)
            if tid is None:
                continue
        tid = int(tid)
        on = [(cpu, s, e, st) for cpu, sl in slices.items() for s, e, pid, _, st in sl
              if pid == tid]
        if not on:
            continue
        on.sort(key=lambda x: x[1])
        cpu = on[0][0]
        cpu_sl = slices[cpu]
        starts = [s for _, s, _, _ in on]
        delays, long_wakes = [], []
        for t, pid, _ in wakings:
            if pid != tid or t < lo or t > hi:
                continue
            i = bisect.bisect_left(starts, t)
            if i == len(starts) or (i > 0 and on[i - 1][2] >= t):
                continue  # woken while still on its CPU (about to sleep)
            d = starts[i] - t
            delays.append(d)
            if d >= LONG_US:
                long_wakes.append({"at_us": round(t - lo), "delay_us": round(d),
                                   "meanwhile": between(cpu_sl, t, starts[i])})
        preempted = []
        for (_, s, e, st), nxt in zip(on, on[1:]):
            if st.startswith("R") and lo <= e <= hi:
                gap = nxt[1] - e
                if gap >= LONG_US:
                    preempted.append({"at_us": round(e - lo), "gap_us": round(gap),
                                      "meanwhile": between(cpu_sl, e, nxt[1])})
        long_wakes.sort(key=lambda x: -x["delay_us"])
        preempted.sort(key=lambda x: -x["gap_us"])
        idle_share = sum(d for w in long_wakes for n, d in w["meanwhile"] if n == "idle")
        out["threads"][str(tid)] = {
            "cpu": cpu, "wakeups": len(delays),
            "wake_delay_us": {"p50": pct(delays, 50), "p99": pct(delays, 99),
                              "p999": pct(delays, 99.9), "max": pct(delays, 100)},
            "wakes_over_%dus" % LONG_US: len(long_wakes),
            "long_wake_us_cpu_idle": round(idle_share),
            "long_wake_us_total": round(sum(w["delay_us"] for w in long_wakes)),
            "longest_wakes": long_wakes[:8],
            "preempted_over_%dus" % LONG_US: len(preempted),
            "longest_preemptions": preempted[:8]}
    for st in list(stalls)[:12]:
        a, b = st["sched_ns"] / 1e3, st["arrive_ns"] / 1e3
        out["stalls"].append({"latency_us": st.get("latency_us"), "at_us": round(a - lo),
                              "cpus": {str(c): between(sl, a, b) for c, sl in
                                       sorted(slices.items())}})
    return out


def compact(summary, own):
    """The few figures of |summary| a result file keeps per latency run:
    per traced CPU, the milliseconds other tasks ran (anything but idle and
    the thread ids in |own|: the measured processes' threads; other
    processes of the same name are other tasks) and the longest such slice;
    per watched thread its wake-up delays; per stall the other task that
    held each CPU longest meanwhile."""
    own = {int(t) for t in own}

    def foreign(task):
        return task != "idle" and int(task.rsplit("/", 1)[1]) not in own

    out = {"window_us": summary["window_us"], "cpus": {}, "threads": {}, "stalls": []}
    for cpu, tasks in summary["cpus"].items():
        other = [t for t in tasks if foreign(t["task"])]
        longest = max(other, key=lambda t: t["longest_us"]) if other else None
        out["cpus"][cpu] = {
            "other_tasks_ms": round(sum(t["ms"] for t in other), 2),
            "longest_other_slice_us": longest["longest_us"] if longest else 0,
            "longest_other_task": longest["task"] if longest else None,
            "idle_ms": sum(t["ms"] for t in tasks if t["task"] == "idle")}
    for tid, t in summary["threads"].items():
        out["threads"][tid] = {"cpu": t["cpu"], "wake_delay_us": t["wake_delay_us"],
                               "long_wakes": t["wakes_over_%dus" % LONG_US],
                               "long_preemptions": t["preempted_over_%dus" % LONG_US]}
    for st in summary["stalls"][:5]:
        held = {}
        for cpu, seq in st["cpus"].items():
            per = {}
            for task, us in seq:
                if foreign(task):
                    per[task] = per.get(task, 0) + us
            if per:
                task = max(per, key=per.get)
                held[cpu] = [task, per[task]]
        out["stalls"].append({"latency_us": st["latency_us"], "other_tasks": held})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cpus", default="0,1")
    ap.add_argument("--watch", default="", help="thread ids or names (the busiest thread of that name), comma-separated")
    ap.add_argument("--out", default="/tmp/sched_trace.txt", help="the raw trace")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd or not available():
        ap.error("needs a command, and tracefs writable (root)")
    tr = Trace([int(c) for c in a.cpus.split(",")])
    tr.start()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    finally:
        tr.stop(a.out)
    stalls, window = [], None
    try:
        r = json.loads(p.stdout)
        stalls = r.get("stalls") or []
        if r.get("window_ns"):
            window = r["window_ns"]
    except ValueError:
        pass
    watch = [t for t in a.watch.split(",") if t]
    json.dump(summarise(a.out, watch, stalls, window), sys.stdout, indent=1)
    print()
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
