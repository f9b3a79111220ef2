#!/usr/bin/python3
"""perf_breakdown: where each system under test of `make bench` spends its
CPU, per target of the suite, from Linux perf (Debian's linux-perf) samples.

Relay: starts fedgate, Prosody and HAProxy as bench/suite.py does
(bench/sut.py, each pinned to CPU 0, the generator to CPU 1), drives each
with the same closed-loop relay of 256 B stanzas (bench/s2sload) and samples
the system's process with `perf record` while the generator measures.
Establishments: fedgate's full and resumed s2s establishments (s2sload
churn, as in `make bench`). XML parser: bench/xml_bench on its mixed corpus,
fedgate's parser only, both instruction-set copies. Writes bench/PERF.md:
per run, the shares of samples by binary or library, by kind of work (XML
parser, the rest of fedgate, TLS, kernel, allocator and libc) with the time
per stanza or establishment they stand for, and the top symbols. Run it
again to regenerate the page (`make bench-perf`).

  perf_breakdown.py --bin DIR [--seconds S] [--out FILE]

Where perf cannot sample (no perf_event access in a VM or container), the
page says so and why. Exit status: 0 when every system was profiled.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import sut  # noqa: E402

HERE = os.path.dirname(os.path.realpath(__file__))
REMOTES = 8
TOP = 15


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def perf_lines(data, sort, limit=0.5):
    """`perf report` of |data| by |sort| as [(percent, name)], self time."""
    p = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none",
                        "--sort", sort, "--percent-limit", str(limit)],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=300)
    rows = []
    for line in p.stdout.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "%" not in line.split()[0]:
            continue
        pct, rest = line.split(None, 1)
        rows.append((float(pct.rstrip("%")), " ".join(rest.split())))
    return rows


def load_argv(mode, system, s2sload, pki, seconds, extra):
    """bench/s2sload against |system| as `make bench` runs it, on CPU 1."""
    return (["taskset", "-c", "1", s2sload, mode, "--json", "--target",
             "%s:%d" % (sut.HOST, system.port), "--pki", pki, "--remotes", str(REMOTES),
             "--streams-per-remote", "1", "--sink-domain", sut.SINK_DOMAIN,
             "--seconds", str(seconds), "--sut-pid", str(system.proc.pid)] + extra +
            system.sink_args())


def relay_argv(system, s2sload, pki, seconds):
    return load_argv("relay", system, s2sload, pki, seconds, ["--size", "256", "--warmup", "1"])


def churn_argv(system, s2sload, pki, seconds, resume):
    return load_argv("churn", system, s2sload, pki, seconds,
                     ["--concurrency", str(sut.CHURN_CONCURRENCY)] + (["--resume"] if resume else []))


# What kind of work a sample is, by binary and symbol: fedgate's XML parser
# (gateway/xml: its tokenizer, tree, namespaces and the per-copy names of
# xml_isa_rename.h), the rest of fedgate, HAProxy's or Prosody's own code,
# xml_bench's harness, TLS, the kernel, the allocator and libc.
PARSER_WORDS = ("xml", "element_fast", "xidx", "begin_element", "finish_stag", "tokeniz",
                "attr_", "scan_", "utf8")
KINDS = ("XML parser (gateway/xml)", "fedgate's other code", "the system's own code",
         "the benchmark's own code (corpus, timing)", "TLS (libcrypto, libssl)", "kernel",
         "allocator and libc", "other libraries")


def kind_of(dso, sym):
    if dso in ("fedgate", "xml_bench"):
        if any(w in sym.lower() for w in PARSER_WORDS):
            return KINDS[0]
        return KINDS[1] if dso == "fedgate" else KINDS[3]
    if dso == "haproxy" or dso.startswith("lua"):  # HAProxy; Prosody's Lua interpreter
        return KINDS[2]
    if dso.startswith(("libcrypto", "libssl")):
        return KINDS[4]
    if dso.startswith("[kernel"):
        return KINDS[5]
    if dso.startswith(("libjemalloc", "libc.", "libc-")):
        return KINDS[6]
    return KINDS[7]


def by_kind(all_syms):
    """Shares by kind of work from `perf report --sort dso,sym` rows."""
    shares = dict.fromkeys(KINDS, 0.0)
    for pct, name in all_syms:
        words = name.split()
        if len(words) < 3:
            continue
        shares[kind_of(words[0], " ".join(words[2:]))] += pct
    return shares


def kind_table(shares, unit_ns, unit):
    """Markdown rows: each kind's share and the time per |unit| it stands
    for (|unit_ns|: CPU nanoseconds per unit, None when unknown)."""
    rows = ["| kind of work | share | %s |" % ("ns per " + unit if unit_ns else ""),
            "| --- | --- | --- |"]
    for k in KINDS:
        if shares[k] < 0.05:
            continue
        ns = "%s" % format(round(shares[k] / 100 * unit_ns), ",") if unit_ns else ""
        rows.append("| %s | %.1f %% | %s |" % (k, shares[k], ns))
    return rows


def profile(name, system, argv, seconds, work):
    """Runs the load |argv| against |system| for |seconds| while perf
    samples the system's process."""
    data = os.path.join(work, "%s.perf.data" % name)
    gen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.2)
    rec = subprocess.run(["perf", "record", "-o", data, "-F", "997", "-g", "-p",
                          str(system.proc.pid), "--", "sleep", str(max(1, seconds - 0.5))],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, err = gen.communicate(timeout=120)
    if rec.returncode != 0 or not os.path.exists(data):
        return None, "perf record failed: " + rec.stdout.strip()[-300:]
    if gen.returncode != 0:
        return None, "the load failed: " + err.strip()[-300:]
    try:
        run = json.loads(out)
    except ValueError:
        run = {}
    return samples(data, run), None


def samples(data, run):
    return {"dso": perf_lines(data, "dso"), "sym": perf_lines(data, "dso,sym"),
            "kinds": by_kind(perf_lines(data, "dso,sym", 0)), "run": run}


def parser_profile(xml_bench, seconds, work):
    """bench/xml_bench (fedgate's parser only, mixed corpus, every
    instruction-set copy the CPU has, interleaved) under perf on CPU 0."""
    data = os.path.join(work, "xml.perf.data")
    mb = max(16, int(seconds * 60))
    rec = subprocess.run(["perf", "record", "-o", data, "-F", "997", "-g", "--", "taskset",
                          "-c", "0", xml_bench, "--json", "--fedgate-only", "--cpu-time",
                          "--mb", str(mb)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    if rec.returncode != 0 or not os.path.exists(data):
        return None, "xml_bench under perf failed: " + rec.stderr.strip()[-300:]
    try:
        run = json.loads(rec.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        run = {}
    return samples(data, run), None


def top_rows(res):
    L = ["| binary or library | share |", "| --- | --- |"]
    L += ["| %s | %.1f %% |" % (n, p) for p, n in res["dso"][:8]]
    L += ["", "| top symbols (binary, symbol) | share |", "| --- | --- |"]
    L += ["| `%s` | %.1f %% |" % (n.replace("|", "/"), p) for p, n in res["sym"][:TOP]]
    if any(n.split()[-1].startswith("0x") for _, n in res["sym"][:TOP]):
        L += ["", "Rows named by address: that binary carries no symbols (Debian strips "
              "it), so only its share as a whole says something."]
    return L


def relay_section(L, name, res):
    run = res["run"]
    util = run.get("sut_cpu_util")
    per_cpu = run.get("delivered_per_sut_cpu_s")
    L += ["Relayed %s stanzas/s with %s %% of its core (%s per CPU-second) while sampled." %
          (run.get("delivered_per_s"), "?" if util is None else "%.0f" % (100 * util), per_cpu),
          ""]
    L += kind_table(res["kinds"], 1e9 / per_cpu if per_cpu else None, "stanza") + [""]
    L += top_rows(res) + [""]


def churn_section(L, res):
    run = res["run"]
    per_cpu = run.get("establishments_per_sut_cpu_s")
    L += ["%s establishments/s (%s resumed) with %s per CPU-second of the process while "
          "sampled." % (run.get("establishments_per_s"), run.get("resumed"), per_cpu), ""]
    L += kind_table(res["kinds"], 1e9 / per_cpu if per_cpu else None, "establishment") + [""]
    L += top_rows(res) + [""]


def parser_section(L, res):
    run = res["run"]
    levels = run.get("fedgate_level_mbps") or {}
    L += ["Mixed corpus (`xml_bench --fedgate-only --cpu-time`), every instruction-set copy this "
          "CPU runs, interleaved pass by pass: %s. Symbols of the x86-64-v3 copy end in "
          "`_x86_64_v3`; its static functions carry no suffix." %
          (", ".join("%s %s MB/s" % kv for kv in sorted(levels.items())) or "?"), ""]
    L += kind_table(res["kinds"], None, "") + [""]
    L += top_rows(res) + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="bazel-bin of an opt build")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--out", default=os.path.join(HERE, "PERF.md"))
    args = ap.parse_args()
    fedgate, s2sload, work, pki = sut.workspace(args.bin, "fedgate-perf.", REMOTES)
    xml_bench = os.path.join(args.bin, "bench", "xml_bench")
    probe = subprocess.run(["perf", "record", "-o", os.path.join(work, "probe.data"), "--",
                            "true"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    L = ["# Where the systems under test spend their CPU (perf)", "",
         "Generated by `make bench-perf` (bench/perf_breakdown.py) on %s. Do not edit: run it "
         "again. Each run below is sampled by `perf record -F 997 -g` for %.0f s: the systems "
         "pinned to CPU 0 with bench/s2sload on CPU 1, as in `make bench`. Shares are self time "
         "over all samples of that process; the time per stanza or establishment is the share "
         "times the process's CPU time per unit while sampled. On a shared machine the absolute "
         "rates mean nothing; the shares say where the time goes. Latency is not a CPU figure "
         "(bench/README.md has where it comes from), and the memory per idle stream is broken "
         "down by allocation in bench/README.md (heaptrack)." %
         (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%MZ"),
          args.seconds), ""]
    failures = []
    if probe.returncode != 0:
        L += ["perf cannot sample here: `%s`" % probe.stdout.strip()[-300:], ""]
        failures.append("perf unavailable")
    else:
        ev = subprocess.run(["perf", "evlist", "-i", os.path.join(work, "probe.data")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        L += ["Sampling event: `%s` (a VM without a virtual PMU falls back to the cpu-clock "
              "software timer)." % (ev.stdout.strip() or "?"), ""]
        L += ["## Relay: 256 B stanzas, closed loop, 8 direct-TLS streams", ""]
        churn = {}  # fedgate's establishments, sampled while it is up
        for name in ("fedgate", "prosody", "haproxy"):
            d = os.path.join(work, name)
            os.makedirs(d)
            try:
                if name == "fedgate":
                    system = sut.Fedgate(fedgate, d, pki, 0, sut.free_port())
                elif name == "prosody":
                    system = sut.Prosody(d, pki, 0)
                else:
                    system = sut.Haproxy(d, pki, 0, sut.free_port())
            except RuntimeError as e:
                failures.append("%s: %s" % (name, e))
                L += ["### %s" % name, "", "not profiled: %s" % e, ""]
                continue
            try:
                log("perf: relay %s" % name)
                res, err = profile(name, system, relay_argv(system, s2sload, pki, args.seconds),
                                   args.seconds, work)
                if name == "fedgate" and not err:
                    for kind, resume in (("full", False), ("resumed", True)):
                        log("perf: %s establishments" % kind)
                        churn[kind] = profile("churn-" + kind, system,
                                              churn_argv(system, s2sload, pki, args.seconds,
                                                         resume), args.seconds, work)
            finally:
                system.stop()
            L += ["### %s" % name, ""]
            if err:
                failures.append("%s: %s" % (name, err))
                L += ["not profiled: %s" % err, ""]
                continue
            relay_section(L, name, res)
        L += ["## Establishments: fedgate, s2s streams opened, authenticated and closed", "",
              "bench/s2sload churn, %d at a time from 8 remote domains: TCP, TLS 1.3 with the "
              "remote's certificate, stream, SASL EXTERNAL, one stanza to the internal server, "
              "close; resumed: TLS session resumption with the ticket of an earlier one."
              % sut.CHURN_CONCURRENCY, ""]
        for kind in ("full", "resumed"):
            L += ["### %s" % kind, ""]
            res, err = churn.get(kind, (None, "fedgate was not profiled"))
            if err:
                failures.append("%s establishments: %s" % (kind, err))
                L += ["not profiled: %s" % err, ""]
                continue
            churn_section(L, res)
        L += ["## XML parser: bench/xml_bench", ""]
        log("perf: xml parser")
        res, err = parser_profile(xml_bench, args.seconds, work)
        if err:
            failures.append("xml parser: %s" % err)
            L += ["not profiled: %s" % err, ""]
        else:
            parser_section(L, res)
    with open(args.out, "w") as f:
        f.write("\n".join(L))
    log("perf: %s" % args.out)
    for fl in failures:
        log("FAILED: " + fl)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
