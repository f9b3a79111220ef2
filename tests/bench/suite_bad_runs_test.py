#!/usr/bin/python3
"""suite_bad_runs_test: bench/suite.py survives bad runs.

The suite's own main() and Suite methods run in this process against real
systems that fail in each way a `make bench` run can: a fedgate that exits
at start, a fedgate killed in the middle of a run, a fedgate that hangs, a target port nobody
listens on, a generator killed in the middle of a run, a generator that
returns figures missing, and a system that negotiates another TLS suite
than the one every system is pinned to. Each bad run must be recorded as
failed (in its round, in `failures`, and on the page report.py writes), the
suite must go on with everything else, write the result file with every
fixed key, and exit 1. No timing thresholds.

Then bench/scale.py (`make bench-scale`) on a few streams: a fedgate that
exits at start and a generator killed mid-run are recorded in the scale
result file (always written) and exit 1; a good run holds every stream.

usage: suite_bad_runs_test.py SUITE_PY S2SLOAD FEDGATE REPORT_PY SCALE_PY
"""

import glob
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading

SUITE_PY, S2SLOAD, FEDGATE, REPORT, SCALE = [os.path.realpath(a) for a in sys.argv[1:6]]
sys.dont_write_bytecode = True
# The port registry the end-to-end suites running beside this one share
# (tests/e2e/ports.py): bench/sut.py reserves its ports there, here and in
# the scale.py this test starts.
E2E = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e")
sys.path.insert(0, E2E)
os.environ["PYTHONPATH"] = E2E + (":" + os.environ["PYTHONPATH"]
                                  if os.environ.get("PYTHONPATH") else "")
sys.path.insert(0, os.path.dirname(SUITE_PY))
import suite  # noqa: E402
import sut  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checks  # noqa: E402
from checks import check  # noqa: E402

# The result object's keys fixed for acceptance (present even when null).
FIXED_KEYS = ("ratio_cpu_256_fedgate_haproxy", "ratio_cpu_1k_fedgate_haproxy",
              "relay_256_prosody_gc", "relay_1k_prosody_gc", "xml_mbps_best",
              "xml_mbps_baseline", "p99_ratio_at_50pct", "p99_us_at_25pct",
              "bytes_per_idle_stream", "full_est_ratio_to_ceiling", "failures", "tls",
              "tls_aes256", "generator_bound")

# Measured seconds per generator run. Each run's figures come from its
# window: the SUT's CPU time (/proc ticks of 10 ms), the latency samples,
# the establishments completed. On a loaded machine a 0.3 s window could
# hold none of them (the SUT waited for a CPU 80 % of the time), and the
# run was recorded incomplete besides the bad runs this test makes.
SECONDS = 1

WORK = tempfile.mkdtemp(prefix="suite-bad-runs.", dir=os.environ.get("TEST_TMPDIR"))


def bin_dir(name, fedgate_wrapper=None):
    """A --bin folder: the real binaries, or wrappers of them. The s2sload
    wrapper obeys two variables the test sets around one run:
    BAD_GEN_KILL (kill -9 the generator 0.5 s into the run) and
    BAD_GEN_NULL (that figure of its JSON comes back null; "*": all of it)."""
    d = os.path.join(WORK, name)
    os.makedirs(d + "/gateway")
    os.makedirs(d + "/bench")
    if fedgate_wrapper:
        with open(d + "/gateway/fedgate", "w") as f:
            f.write(fedgate_wrapper.replace("REAL", FEDGATE))
        os.chmod(d + "/gateway/fedgate", 0o755)
    else:
        os.symlink(FEDGATE, d + "/gateway/fedgate")
    with open(d + "/bench/s2sload", "w") as f:
        f.write("""#!/bin/sh
if [ -n "${BAD_GEN_KILL:-}" ]; then
  "%(real)s" "$@" &
  pid=$!
  sleep 0.5
  kill -9 $pid
  wait $pid
  exit $?
fi
if [ -n "${BAD_GEN_NULL:-}" ]; then
  "%(real)s" "$@" >"%(d)s/gen.out"
  rc=$?
  /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); \\
r = None if sys.argv[2] == '*' else dict(r, **{sys.argv[2]: None}); print(json.dumps(r))" \\
    "%(d)s/gen.out" "$BAD_GEN_NULL"
  exit $rc
fi
exec "%(real)s" "$@"
""" % {"real": S2SLOAD, "d": d})
    os.chmod(d + "/bench/s2sload", 0o755)
    return d


def run_main(name, bin_, only="fedgate", before=None, micro=None, extra_args=()):
    """suite.main() with --quick short runs; |before|(suite, label, system)
    is called before each generator run that starts (a system found down or
    hung gets none) and may return a function called after it; |micro|: the
    text of the micro-benchmarks' file (none by default). Returns (exit
    status, result object, the page report.py wrote or None)."""
    real_gen = suite.Suite.run_gen

    def gen(self, label, system, *rest):
        undo = before(self, label, system) if before else None
        try:
            return real_gen(self, label, system, *rest)
        finally:
            if undo:
                undo()

    out = os.path.join(WORK, name + "-results")
    micro_path = os.path.join(WORK, name + "-micro.jsonl")
    if micro is not None:
        with open(micro_path, "w") as f:
            f.write(micro)
    sys.argv = ["suite.py", "--bin", bin_, "--quick", "--only", only, "--rounds", "3",
                "--seconds", str(SECONDS), "--idle-streams", "50", "--nice", "0", "--out", out,
                "--micro", micro_path] + list(extra_args)
    suite.Suite.run_gen = gen
    try:
        rc = suite.main()
    finally:
        suite.Suite.run_gen = real_gen
    files = glob.glob(out + "/*.json")
    r = json.load(open(files[0])) if len(files) == 1 else {}
    page = os.path.join(WORK, name + ".md")
    p = subprocess.run([sys.executable, REPORT, files[0] if files else "/nonexistent", page,
                        os.path.join(WORK, name + "-plots")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    text = open(page).read() if p.returncode == 0 and os.path.exists(page) else None
    return rc, r, text


def common_checks(what, rc, r, page, n_failures):
    check("%s: the suite exits 1" % what, rc == 1, rc)
    check("%s: the result file is written with every fixed key" % what,
          all(k in r for k in FIXED_KEYS), [k for k in FIXED_KEYS if k not in r])
    check("%s: no part of the suite was cut short by an exception" % what,
          not any(f.split(":")[0] in ("side by side", "summary", "revocation", "abuse")
                  for f in r.get("failures", [])), r.get("failures"))
    check("%s: report.py writes the page, listing the %d failures" % (what, n_failures),
          page is not None and "Runs that failed or came back incomplete (%d)" % n_failures
          in page, (page or "")[:1500])


def rounds(r, *path):
    node = r.get("runs") or {}
    for k in path:
        node = (node or {}).get(k) or {}
    return node.get("rounds") or []


def test_a_fedgate_that_exits_at_start():
    # With it, the micro-benchmarks tools/bench.sh ran: one failed, one
    # wrote something that is not JSON, one is fine.
    micro = ('{"bench":"tls_bench","failed":"exit 134"}\n'
             '{"bench":"identity_bench","result":Segmentation fault}\n'
             '{"bench":"xml_bench","result":{"fedgate_mbps":1234.5,'
             '"fedgate_baseline_mbps":1100.0}}\n')
    rc, r, page = run_main("exits", bin_dir("exits-bin", EXITS_AT_START), micro=micro)
    fails = r.get("failures") or []
    check("a fedgate that exits at start: recorded as a failure, with its exit status",
          [f for f in fails if f.startswith("start fedgate:") and "exit 3" in f], fails)
    check("a micro-benchmark that failed: recorded as a failure",
          "micro-benchmark tls_bench: exit 134" in fails, fails)
    check("a micro-benchmark whose output is not JSON: recorded as a failure",
          [f for f in fails if f.startswith("micro-benchmark line 2 ")], fails)
    check("the good micro-benchmark's figures are kept",
          r.get("xml_mbps_best") == 1234.5 and r.get("xml_mbps_baseline") == 1100.0,
          (r.get("xml_mbps_best"), r.get("xml_mbps_baseline")))
    common_checks("a fedgate that exits at start", rc, r, page, 3)


def test_b_fedgate_killed_mid_run():
    state = {}

    def before(s, label, system):
        if label == "relay fedgate 1024 B round 1":
            state["pid"] = system.proc.pid
            t = threading.Timer(0.6, os.kill, (system.proc.pid, signal.SIGKILL))
            t.start()
            return t.join
        return None

    rc, r, page = run_main("killed", bin_dir("killed-bin"), before=before)
    fails = r.get("failures") or []
    died = [f for f in fails if "fedgate died during the run (killed by signal 9)" in f]
    check("a fedgate killed mid-run: that run is recorded as the one it died in",
          len(died) == 1 and died[0].startswith("relay fedgate 1024 B round 1:"), fails)
    later = [f for f in fails if "not run: fedgate is down (killed by signal 9)" in f]
    check("a fedgate killed mid-run: every later run against it is recorded as not run",
          len(later) >= 3 * 4 and all("not run" in f or "died" in f or f.startswith(
              "relay fedgate 1024 B round 1:") for f in fails), fails)
    relay = rounds(r, "relay", "fedgate", "256")
    check("a fedgate killed mid-run: the runs before it kept their figures, the rest failed",
          len(relay) == 3 and not relay[0].get("failed") and relay[1].get("failed")
          and isinstance(r.get("relay_256_fedgate"), (int, float)), relay)
    check("a fedgate killed mid-run: churn rounds still recorded (as failed)",
          len(rounds(r, "churn", "fedgate", "full")) == 3, rounds(r, "churn", "fedgate", "full"))
    check("a fedgate killed mid-run: the suite went on to the idle streams (their own fedgate)",
          isinstance(r.get("bytes_per_idle_stream"), (int, float))
          and not any(f.startswith("idle") for f in fails), (r.get("bytes_per_idle_stream"), fails))
    common_checks("a fedgate killed mid-run", rc, r, page, len(fails))


def test_c_no_listener_generator_killed_null_figures_null_result():
    def before(s, label, system):
        if label == "churn full round 2":  # a port nobody listens on
            port, system.port = system.port, sut.free_port()

            def undo():
                system.port = port
            return undo
        var = {"relay fedgate 256 B round 2": ("BAD_GEN_KILL", "1"),
               "relay fedgate 1024 B round 3": ("BAD_GEN_NULL", "delivered_per_s"),
               "churn resumed round 1": ("BAD_GEN_NULL", "*")}.get(label)
        if var:
            os.environ[var[0]] = var[1]
            return lambda: os.environ.pop(var[0])
        return None

    rc, r, page = run_main("four", bin_dir("four-bin"), before=before)
    fails = r.get("failures") or []
    check("four bad runs: exactly those four recorded", len(fails) == 4, fails)
    check("a port nobody listens on: the churn run is recorded failed (its streams failed)",
          any(f.startswith("churn full round 2: s2sload exit 1") and "streams failed" in f
              for f in fails), fails)
    check("a generator killed mid-run: recorded failed (no result from it)",
          any(f.startswith("relay fedgate 256 B round 2: s2sload exit 137, no JSON")
              for f in fails), fails)
    check("a run with a figure missing: recorded as incomplete",
          any(f.startswith("relay fedgate 1024 B round 3: incomplete figures: delivered_per_s")
              for f in fails), fails)
    check("a run whose result is null: recorded failed",
          any(f.startswith("churn resumed round 1: s2sload exit 0, no result object (null)")
              for f in fails), fails)
    resumed = rounds(r, "churn", "fedgate", "resumed")
    check("the null run is marked failed in its round",
          [bool(x.get("failed")) for x in resumed] == [True, False, False], resumed)
    churn = rounds(r, "churn", "fedgate", "full")
    check("each bad run is marked failed in its round, the others are not",
          [bool(x.get("failed")) for x in churn] == [False, True, False]
          and [bool(x.get("failed")) for x in rounds(r, "relay", "fedgate", "256")]
          == [False, True, False]
          and [bool(x.get("failed")) for x in rounds(r, "relay", "fedgate", "1024")]
          == [False, False, True], churn)
    full = ((r.get("runs") or {}).get("churn") or {}).get("fedgate", {}).get("full", {})
    good = [x.get("establishments_per_sut_cpu_s") for x in churn if not x.get("failed")]
    check("the median and range are over the good rounds only",
          len(good) == 2 and full.get("median") == statistics.median(good)
          and full.get("range") == [min(good), max(good)], (good, full.get("median"),
                                                            full.get("range")))
    check("the figures of the rest are all there",
          all(isinstance(r.get(k), (int, float)) and r[k] > 0
              for k in ("relay_256_fedgate", "relay_1k_fedgate", "full_est_per_s",
                        "resumed_est_per_s", "p99_us_at_25pct")),
          {k: r.get(k) for k in ("relay_256_fedgate", "relay_1k_fedgate", "full_est_per_s",
                                 "resumed_est_per_s", "p99_us_at_25pct")})
    common_checks("four bad runs", rc, r, page, 4)


class Args:
    quick = True
    rounds = 1
    seconds = SECONDS
    trace_latency = False
    idle_streams = None


def test_d_unequal_terms():
    """RFC 8446 §9.1: a system that negotiates another suite than the pinned
    one (HAProxy enforcing its own preference for AES-256) must not count."""
    Args.bin = bin_dir("terms-bin")
    s = suite.Suite(Args)
    pinned = sut.TLS13_SUITE
    sut.TLS13_SUITE = "TLS_AES_256_GCM_SHA384"
    try:
        hap = sut.Haproxy(os.path.join(s.work), s.pki, None, sut.free_port())
    finally:
        sut.TLS13_SUITE = pinned
    try:
        r = s.gen("relay haproxy 256 B", hap, "relay", ["--size", 256, "--seconds", SECONDS,
                                                        "--warmup", 0.2])
    finally:
        hap.stop()
        shutil.rmtree(s.work, ignore_errors=True)
    check("a system on another TLS suite: its run is recorded as failed, naming both suites",
          "unequal terms" in str(r.get("failed")) and "TLS_AES_256_GCM_SHA384" in r["failed"]
          and pinned in r["failed"], r.get("failed"))
    check("a system on another TLS suite: in failures", len(s.failures) == 1, s.failures)


EXITS_AT_START = """#!/bin/sh
if [ "$1" = run ]; then echo "fedgate: no (a start that fails)" >&2; exit 3; fi
exec REAL "$@"
"""


def test_f_fedgate_hung():
    """A fedgate alive but no longer answering (stopped with SIGSTOP before a
    run): that run fails after its setup timeout, the suite finds the system
    does not answer a TLS handshake, and runs nothing more against it
    (each would wait for the setup timeout to fail the same way)."""
    def before(s, label, system):
        if label == "relay fedgate 1024 B round 1":
            os.kill(system.proc.pid, signal.SIGSTOP)
        return None

    rc, r, page = run_main("hung", bin_dir("hung-bin"), before=before,
                           extra_args=["--setup-timeout", "6"])
    fails = r.get("failures") or []
    first = [f for f in fails if f.startswith("relay fedgate 1024 B round 1:")]
    check("a fedgate that hangs: its run is recorded failed, then found not answering",
          len(first) == 2 and "s2sload exit 1" in first[0]
          and "alive but does not answer a TLS handshake" in first[1], first)
    later = fails[fails.index(first[-1]) + 1:] if first else []
    check("a fedgate that hangs: every later run against it is not run, none waits again",
          len(later) >= 3 * 4 and all(
              "not run: fedgate does not answer (since relay fedgate 1024 B round 1)" in f
              for f in later if not f.startswith("idle")), later)
    relay = rounds(r, "relay", "fedgate", "256")
    check("a fedgate that hangs: the run before it kept its figures",
          len(relay) == 3 and not relay[0].get("failed"), relay)
    common_checks("a fedgate that hangs", rc, r, page, len(fails))


def run_scale(name, bin_, env=None):
    out = os.path.join(WORK, name + "-results")
    p = subprocess.run([sys.executable, SCALE, "--bin", bin_, "--streams", "40", "--hold", "1",
                        "--out", out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, env=dict(os.environ, **(env or {})), timeout=300)
    files = glob.glob(out + "/scale-*.json")
    return p.returncode, json.load(open(files[0])) if len(files) == 1 else {}, p.stdout


def test_e_scale():
    rc, r, log = run_scale("scale-good", bin_dir("scale-good-bin"))
    check("bench-scale, a good run: every stream held and answering, RSS and setup time",
          rc == 0 and r.get("streams_held") == 40 and r.get("rss_bytes_at_peak", 0) > 0
          and isinstance(r.get("setup_s"), (int, float)) and r.get("failures") == [],
          (rc, {k: r.get(k) for k in ("streams_held", "rss_bytes_at_peak", "setup_s",
                                      "failures")}, log[-800:]))
    rc, r, log = run_scale("scale-exits", bin_dir("scale-exits-bin", EXITS_AT_START))
    check("bench-scale, a fedgate that exits at start: recorded in the result file, exit 1",
          rc == 1 and any("fedgate did not start" in f and "exit 3" in f
                          for f in r.get("failures", []))
          and "streams_held" in r and r["streams_held"] is None, (rc, r, log[-800:]))
    rc, r, log = run_scale("scale-killed", bin_dir("scale-killed-bin"), {"BAD_GEN_KILL": "1"})
    check("bench-scale, a generator killed mid-run: recorded in the result file, exit 1",
          rc == 1 and any("no JSON" in f for f in r.get("failures", []))
          and r.get("streams_held") is None, (rc, r, log[-800:]))


def test_ports_reserved():
    port = sut.free_port()
    check("bench ports are reserved in the registry the other test suites share",
          os.path.exists(os.path.join(sut.test_ports.DIR, str(port))) if sut.test_ports else False,
          port)


def main():
    for t in (test_ports_reserved, test_a_fedgate_that_exits_at_start, test_b_fedgate_killed_mid_run,
              test_c_no_listener_generator_killed_null_figures_null_result, test_d_unequal_terms,
              test_e_scale, test_f_fedgate_hung):
        print("=== " + t.__name__, flush=True)
        try:
            t()
        except Exception as e:  # noqa: BLE001 (a crash is this test's failure)
            import traceback
            traceback.print_exc()
            check(t.__name__ + " ran to its end", False, "%s: %s" % (type(e).__name__, e))
    shutil.rmtree(WORK, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
