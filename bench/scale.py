#!/usr/bin/python3
"""scale: `make bench-scale`, as many concurrent idle authenticated s2s
streams through one fedgate as this machine allows.

One fedgate (one worker, bench/sut.py) and the load generator
(bench/s2sload idle mode) in its own process: the generator opens --streams
direct-TLS s2s streams (XEP-0368, client certificates, SASL EXTERNAL) from 8
remote domains, each sends one stanza through fedgate to the sink, all stay
idle for --hold seconds, then each carries one more stanza to the sink (the
proof that the stream is still open and served). Each process may hold as
many descriptors as the hard RLIMIT_NOFILE allows (20,000 on this VM, and
it cannot be raised), less a margin for listeners, the hop and the runtime:
--streams defaults to that limit less 1,000.

  scale.py --bin DIR [--streams N] [--hold S] [--out DIR]

Writes bench/results/scale-<date>-<host>.json: streams_held (streams that
answered the final stanza), streams_ready, rss_bytes_at_peak (fedgate's
VmHWM), rss_bytes_held (its RSS with every stream open), bytes_per_stream
(the RSS growth per stream of the second half of the streams: s2sload opens
them in two waves), bytes_per_stream_from_start,
setup_s (time to authenticate every stream), and the generator's report.
Exit status: 0 when every stream was established and answered, 1 otherwise.
"""

import argparse
import datetime
import json
import os
import resource
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import sut  # noqa: E402

HERE = os.path.dirname(os.path.realpath(__file__))
REMOTES = 8


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def vm_hwm_bytes(pid):
    """The peak resident set of |pid| (VmHWM), in bytes, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="bazel-bin of an opt build")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    default = (hard - 1000) if hard != resource.RLIM_INFINITY else 100000
    ap.add_argument("--streams", type=int, default=default,
                    help="streams to open (the descriptor hard limit less 1,000: %d)" % default)
    ap.add_argument("--hold", type=float, default=5, help="seconds idle before the check (5)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    fedgate, s2sload, work, pki = sut.workspace(args.bin, "fedgate-scale.", REMOTES)
    failures = []
    result = {"streams_wanted": args.streams, "nofile_hard_limit": hard, "hold_s": args.hold}
    # Whatever fails is recorded in the result file, which is always written.
    try:
        system = sut.Fedgate(fedgate, work, pki, 0, sut.free_port(),
                             extra_limits={"handshake_timeout": "300s"})
    except (RuntimeError, OSError) as e:
        failures.append("fedgate did not start: %s" % e)
        return finish(args, result, failures)
    try:
        argv = ["taskset", "-c", "1", s2sload, "idle", "--json",
                "--target", "%s:%d" % (sut.HOST, system.port), "--pki", pki,
                "--remotes", str(REMOTES), "--sink-domain", sut.SINK_DOMAIN,
                "--streams", str(args.streams), "--hold", str(args.hold),
                "--connect-parallel", "256", "--setup-timeout", "600", "--drain", "30",
                "--sut-pid", str(system.proc.pid)] + system.sink_args()
        log("scale: %d idle streams through fedgate (descriptor hard limit %s)" %
            (args.streams, hard))
        started = time.time()
        try:
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=1800)
        except subprocess.TimeoutExpired:
            p = subprocess.CompletedProcess(argv, -1, "", "timed out after 1800 s")
        result["duration_s"] = round(time.time() - started, 1)
        try:
            r = json.loads(p.stdout)
        except ValueError:
            r = {}
            failures.append("s2sload exit %d, no JSON: %s" % (p.returncode,
                                                              p.stderr.strip()[-600:]))
        if p.returncode != 0 and r:
            failures.append("s2sload exit %d: %s" % (p.returncode, p.stderr.strip()[-600:]))
        if not system.alive():
            failures.append("fedgate died (%s):\n%s" % (system.exit_text(), system.log_tail()))
        held = r.get("streams_answered")
        rss = r.get("sut_rss_kb")
        result.update({
            "streams_ready": r.get("streams_ready"),
            "streams_held": held,
            "setup_s": r.get("setup_s"),
            "rss_bytes_at_peak": vm_hwm_bytes(system.proc.pid),
            "rss_bytes_held": rss * 1024 if rss is not None else None,
            "bytes_per_stream": r.get("bytes_per_idle_stream"),
            "bytes_per_stream_from_start": r.get("bytes_per_idle_stream_from_start"),
            "generator": r,
        })
        if held is None or held < args.streams:
            failures.append("%s of %d streams answered the final stanza" % (held, args.streams))
    finally:
        system.stop()
    return finish(args, result, failures)


def finish(args, result, failures):
    """Writes the result file (with |failures|); returns the exit status."""
    for key in ("streams_held", "rss_bytes_at_peak", "setup_s", "streams_ready"):
        result.setdefault(key, None)
    now = datetime.datetime.now(datetime.timezone.utc)
    result.update({"date": now.strftime("%Y-%m-%d"), "time": now.strftime("%H:%M:%SZ"),
                   "host": socket.gethostname(), "failures": failures})
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "scale-%s-%s.json" % (result["date"], result["host"]))
    with open(path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    log("scale: %s streams held, setup %s s, fedgate peak RSS %s bytes -> %s" % (
        result.get("streams_held"), result.get("setup_s"), result.get("rss_bytes_at_peak"), path))
    for f in failures:
        log("FAILED: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
