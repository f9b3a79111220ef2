#!/usr/bin/python3
"""report: turns one bench/suite.py result file into a Markdown page and
PNG plots (gnuplot).

  report.py RESULT.json OUT.md [PLOT_DIR]

Writes OUT.md and, in PLOT_DIR (default: a `plots` folder beside OUT.md),
throughput_vs_size.png (relay throughput against stanza size, the three
systems) and latency_vs_load.png (p99 latency against offered load).
Everything in the page comes from the result file: nothing is typed in.
"""

import json
import os
import subprocess
import sys

SYSTEMS = ("fedgate", "prosody", "prosody_gc", "haproxy")
LABELS = {"fedgate": "fedgate", "prosody": "Prosody", "prosody_gc": "Prosody (generational GC)",
          "haproxy": "HAProxy"}
TARGETS = {
    # key: (description, predicate on the summary, target text). The targets
    # are the project's current ones; a row without a predicate is shown for
    # reference.
    "ratio_256_fedgate_prosody": ("relay 256 B, fedgate / Prosody", lambda v: v >= 10, ">= 10x"),
    "ratio_1k_fedgate_prosody": ("relay 1 KiB, fedgate / Prosody", lambda v: v >= 10, ">= 10x"),
    "ratio_256_fedgate_haproxy": ("relay 256 B, fedgate / HAProxy (wall clock)", None, "—"),
    "ratio_1k_fedgate_haproxy": ("relay 1 KiB, fedgate / HAProxy (wall clock)", None, "—"),
    "ratio_cpu_256_fedgate_haproxy": ("relay 256 B, fedgate / HAProxy per worker CPU-second",
                                      lambda v: v >= 1.0, ">= 1.0x"),
    "ratio_cpu_1k_fedgate_haproxy": ("relay 1 KiB, fedgate / HAProxy per worker CPU-second",
                                     lambda v: v >= 1.3, ">= 1.3x"),
    "ratio_cpu_1k_aes256_fedgate_haproxy": ("relay 1 KiB, TLS 1.2 AES-256-GCM, fedgate / "
                                            "HAProxy per worker CPU-second",
                                            lambda v: v >= 1.3, ">= 1.3x"),
    "relay_256_fedgate": ("relay 256 B, fedgate, one worker (stanzas/s)", None, "—"),
    "xml_mbps_best": ("XML parser as the relay reads stanzas (root views), the copy the CPU "
                      "runs (MB/s)", lambda v: v >= 2500, ">= 2,500"),
    "xml_mbps_baseline": ("XML parser as the relay reads stanzas, the baseline x86-64 copy "
                          "(MB/s)", lambda v: v >= 1200, ">= 1,200"),
    "xml_mbps_best_full_tree": ("XML parser, every node's view built, the copy the CPU runs "
                                "(MB/s)", None, "—"),
    "xml_mbps_baseline_full_tree": ("XML parser, every node's view built, the baseline copy "
                                    "(MB/s)", None, "—"),
    "p99_us_at_50pct": ("p99 latency at 50 % of fedgate's maximum (us)", None, "—"),
    "p99_ratio_at_50pct": ("p99 at 50 % of fedgate's maximum, fedgate / HAProxy",
                           lambda v: v <= 2, "<= 2x"),
    "p99_us_at_25pct": ("p99 latency at 25 % of fedgate's maximum (us)", lambda v: v <= 250,
                        "<= 250"),
    "full_est_per_s": ("full s2s establishments per fedgate core-second", None, "—"),
    "full_est_ratio_to_ceiling": ("full establishments per worker CPU-second / BoringSSL's "
                                  "in-memory full handshakes per CPU-second (tls_bench)",
                                  lambda v: v >= 0.85, ">= 0.85"),
    "resumed_est_per_s": ("resumed s2s establishments per fedgate core-second",
                          lambda v: v >= 15000, ">= 15,000"),
    "ratio_resumed_est_to_ceiling": ("resumed establishments per core / BoringSSL's in-memory "
                                     "resumed handshakes per core (tls_bench)",
                                     lambda v: v >= 0.82, ">= 0.82"),
    "bytes_per_idle_stream": ("user-space bytes per idle authenticated stream",
                              lambda v: v <= 6144, "<= 6,144"),
    "ratio_revocation_full": ("full establishments, revocation checking on (cached) / off",
                              lambda v: v >= 0.95, ">= 0.95"),
    "ratio_revocation_resumed": ("resumed establishments, revocation checking on (cached) / off",
                                 lambda v: v >= 0.95, ">= 0.95"),
    "ratio_revocation_full_starttls": ("the same, full, over STARTTLS", lambda v: v >= 0.95,
                                       ">= 0.95"),
    "ratio_revocation_resumed_starttls": ("the same, resumed, over STARTTLS", lambda v: v >= 0.95,
                                          ">= 0.95"),
}


def fmt(v, digits=0):
    if v is None:
        return "—"
    if isinstance(v, (int, float)) and digits:
        return "%.*f" % (digits, v)
    if isinstance(v, (int, float)):
        return "{:,}".format(int(round(v)))
    return str(v)


def get(r, *path):
    """r[path[0]][path[1]]... or None when anything on the way is missing."""
    for k in path:
        if not isinstance(r, dict):
            return None
        r = r.get(k)
    return r


def div(a, b):
    return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None


def pct(v):
    return "—" if v is None else "%.0f %%" % (100 * v)


def rng(r):
    """' (min–max)' over the rounds, or ''."""
    span = get(r, "range")
    if not span or len(span) != 2:
        return ""
    return " (%s–%s)" % (fmt(span[0]), fmt(span[1]))


def plot(gnuplot_script, out_png):
    try:
        subprocess.run(["gnuplot"], input=gnuplot_script, text=True, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        return os.path.exists(out_png)
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        print("report: gnuplot failed for %s: %s" % (out_png, e), file=sys.stderr)
        return False


def line_plot(series, out, title, xlabel, ylabel, settings):
    """series: [(name, [(x, y), ...])]; returns |out| when it was drawn."""
    if not any(pts for _, pts in series):
        return None
    blocks = "".join("$%s << EOD\n%s\nEOD\n" % (n, "\n".join("%d %f" % p for p in pts) or "0 0")
                     for n, pts in series)
    plots = ", ".join("$%s using 1:2 with linespoints lw 2 title '%s'" % (n, n)
                      for n, pts in series if pts)
    script = """set terminal pngcairo size 900,560 font 'sans,11'
set output '%s'
%s
set title '%s'
set xlabel '%s'
set ylabel '%s'
set grid
%s
plot %s
""" % (out, blocks, title, xlabel, ylabel, settings, plots)
    return out if plot(script, out) else None


def throughput_plot(res, plot_dir):
    relay = get(res, "runs", "relay") or {}
    series = [(n, sorted((int(s), r["delivered_per_s"]) for s, r in relay.get(n, {}).items()
                         if get(r, "delivered_per_s") is not None))
              for n in SYSTEMS]
    return line_plot(series, os.path.join(plot_dir, "throughput_vs_size.png"),
                     "Relay throughput against stanza size (one core each, direct TLS in, "
                     "plaintext hop)", "stanza size (bytes)", "stanzas/s",
                     "set logscale xy\nset key top right\nset format y '%.0s%c'")


def latency_plot(res, plot_dir):
    lat = get(res, "runs", "latency") or {}
    series = [(n, sorted((p["offered_per_s"], get(p, "result", "latency_us", "p99"))
                         for p in lat.get(n, []) if get(p, "result", "latency_us", "p99")))
              for n in SYSTEMS]
    return line_plot(series, os.path.join(plot_dir, "latency_vs_load.png"),
                     "p99 latency against offered load (256 B stanzas, open loop)",
                     "offered load (stanzas/s)", "p99 latency (microseconds)",
                     "set logscale y\nset key top left\nset format x '%.1s%c'")


def per_cpu(r):
    """Stanzas per CPU-second of the system's busiest thread (its event
    loop), median over the rounds."""
    return get(r, "delivered_per_sut_worker_cpu_s")


def revocation_section(res, L):
    rev = get(res, "runs", "revocation")
    if not rev:
        return
    L.append("## Revocation checking on against off (fedgate)")
    L.append("")
    L.append("Two fedgates, identical but for `revocation` (`mode: hard-fail` with every OCSP "
             "answer already in the cache, against `mode: \"off\"`), both on CPU 0; the remote "
             "servers' certificates name a real `openssl ocsp` responder on loopback (AIA), asked "
             "during a warm-up round. Churn as above, alternating between the two in each of %d "
             "rounds. Rates are establishments per CPU-second of each fedgate's worker thread, "
             "summed over the rounds." % len(rev.get("rounds", [])))
    L.append("")
    L.append("| transport | kind | on | off | on / off | per round (on / off) |")
    L.append("| --- | --- | --- | --- | --- | --- |")
    for transport, suffix in (("direct TLS", ""), ("STARTTLS", "_starttls")):
        for kind in ("full", "resumed"):
            on = res.get("churn_revocation_on_%s%s_per_s" % (kind, suffix))
            off = res.get("churn_revocation_off_%s%s_per_s" % (kind, suffix))
            if on is None and off is None:
                continue
            rounds = []
            for row in rev.get("rounds", []):
                a = (row.get("on_%s%s" % (kind, suffix)) or {}).get(
                    "establishments_per_sut_worker_cpu_s")
                b = (row.get("off_%s%s" % (kind, suffix)) or {}).get(
                    "establishments_per_sut_worker_cpu_s")
                rounds.append("%s / %s" % (fmt(a), fmt(b)))
            L.append("| %s | %s | %s | %s | %s | %s |" % (
                transport, kind, fmt(on), fmt(off),
                fmt(res.get("ratio_revocation_%s%s" % (kind, suffix)), 2), "; ".join(rounds)))
    m = rev.get("metrics", {}).get("on")
    if m:
        L.append("")
        L.append("Revocation counters of the checking fedgate over the whole comparison: %s OCSP "
                 "fetches, %s cache hits, %s refusals for want of an answer." % (
                     fmt(m.get("revocation_ocsp_fetches_ok_total")),
                     fmt(m.get("revocation_cache_hits_total")),
                     fmt(m.get("revocation_hard_fail_refused_total"))))
    L.append("")


def page(res, plots, md_path):
    rel = lambda p: os.path.relpath(p, os.path.dirname(os.path.abspath(md_path)))  # noqa: E731
    m, v = res.get("machine") or {}, res.get("versions") or {}
    runs = res.get("runs") or {}
    relay = runs.get("relay") or {}
    systems = [n for n in SYSTEMS if n in relay or n in (res.get("systems") or [])]
    L = []
    L.append("# fedgate benchmark results")
    L.append("")
    L.append("Generated by `make bench` (bench/suite.py, bench/report.py) on %s at %s from "
             "`bench/results/%s-%s%s.json`. Do not edit: run `make bench` again." %
             (res.get("date"), res.get("time"), res.get("date"), m.get("host"),
              "-quick" if res.get("quick") else ""))
    L.append("")
    L.append("Machine: %s CPUs, %s; kernel %s. fedgate `%s`; Prosody %s; HAProxy %s. "
             "Each run: %s s measured after 1 s of warm-up; %s rounds; whole suite %s s." %
             (m.get("cpus"), m.get("cpu_model"), v.get("kernel"), v.get("fedgate"),
              v.get("prosody"), v.get("haproxy"), res.get("seconds_per_run"),
              fmt(res.get("rounds")), res.get("duration_s")))
    L.append("")
    L.append("Method: every system under test is up for the whole run, each pinned to CPU 0 "
             "(fedgate with one worker, Prosody's one Lua thread, once with its default "
             "incremental GC and once with `gc = { mode = \"generational\" }`, HAProxy with "
             "`nbthread 1`); the C load generator `bench/s2sload` (one worker) is pinned to CPU "
             "1. The measurements run in rounds, each going through the systems in another order "
             "(rotated, and reversed every other round); a figure is the median over the rounds "
             "(its range in parentheses) and a ratio is the median of the per-round ratios. The "
             "generator's 8 remote servers open one direct-TLS s2s stream each (XEP-0368, client "
             "certificates, SASL EXTERNAL where the system speaks XMPP) and its sink receives "
             "the stanzas in plaintext on loopback: fedgate's hop (dialback, "
             "`internal_hop.plaintext`), Prosody's XEP-0114 component, HAProxy's TCP forward. "
             "Every stanza is a function of its id; the sink checks from, to, length and digest "
             "of the text of one stanza in 64 and counts any that differ as corrupted (a failed "
             "run). Throughput is closed loop; latency is open loop at fixed offered loads, "
             "measured from the scheduled send time to the sink (an upper bound of the latency "
             "the system adds; the generator's own lateness, its send lag, is shown beside "
             "it). Per CPU-second figures divide by the CPU time of the system's "
             "busiest thread (its event loop), read from /proc. Each system and the generator "
             "run in a session of their own at autogroup nice %s, so that other work on the "
             "machine preempts them less; how long each still waited for its CPU is read from "
             "/proc/PID/task/TID/schedstat." % fmt(res.get("nice")))
    L.append("")
    fails = res.get("failures") or []
    if fails:
        L.append("## Runs that failed or came back incomplete (%d)" % len(fails))
        L.append("")
        L.append("Their figures are left out of the medians below (a median over fewer "
                 "rounds, or —).")
        L.append("")
        for f in fails:
            L.append("- " + f.replace("\n", " ")[:600])
        L.append("")
    L.append("## Targets")
    L.append("")
    L.append("| measure | result | target | met |")
    L.append("| --- | --- | --- | --- |")
    for key, (desc, ok, target) in TARGETS.items():
        val = res.get(key)
        digits = 2 if key.startswith("ratio") or "ratio" in key else 0
        met = "—" if val is None or ok is None else ("yes" if ok(val) else "**no**")
        L.append("| %s | %s | %s | %s |" % (desc, fmt(val, digits), target, met))
    L.append("")
    gb = res.get("generator_bound") or []
    L.append("Runs in which the generator used 90 %% or more of the CPU it may use (it may have "
             "set the pace; compare those per CPU-second, not by wall clock): %s." %
             (", ".join(gb) if gb else "none"))
    L.append("")
    cc = res.get("cpu_contended") or []
    L.append("Runs in which the system's worker thread or the generator waited for its CPU "
             "5 %% of the time or more (other work on the machine had it; latency tails "
             "measure that work too): %s." % (", ".join(cc) if cc else "none"))
    L.append("")
    tls_section(res, L)
    L.append("## Relay throughput (stanzas/s, closed loop)")
    L.append("")
    sizes = sorted({int(s) for r in relay.values() for s in r})
    L.append("| stanza size | " + " | ".join(LABELS[n] for n in systems) +
             " | fedgate/Prosody | fedgate/HAProxy | fedgate/HAProxy per CPU-second |")
    L.append("| --- " * (len(systems) + 4) + "|")
    for s in sizes:
        cells = []
        for n in systems:
            r = get(relay, n, str(s))
            cells.append(fmt(get(r, "delivered_per_s")) + rng(r) +
                         (" †" if get(r, "generator_bound") else ""))
        key = {256: "256", 1024: "1k"}.get(s)
        f, p, h = (get(relay, n, str(s), "delivered_per_s") for n in ("fedgate", "prosody",
                                                                      "haproxy"))
        r_fp = res.get("ratio_%s_fedgate_prosody" % key) if key else div(f, p)
        r_fh = res.get("ratio_%s_fedgate_haproxy" % key) if key else div(f, h)
        r_cpu = (res.get("ratio_cpu_%s_fedgate_haproxy" % key) if key else
                 div(per_cpu(get(relay, "fedgate", str(s))), per_cpu(get(relay, "haproxy",
                                                                          str(s)))))
        L.append("| %d B | %s | %s | %s | %s |" % (s, " | ".join(cells), fmt(r_fp, 1),
                                                   fmt(r_fh, 2), fmt(r_cpu, 2)))
    if any(get(r, "generator_bound") for sz in relay.values() for r in sz.values()):
        L.append("")
        L.append("† generator-bound in at least one round: the wall-clock rate is a lower bound; "
                 "read the per CPU-second figures below.")
    L.append("")
    L.append("Per CPU-second of each system's event-loop thread (stanzas relayed per CPU-second):")
    L.append("")
    L.append("| stanza size | " + " | ".join(LABELS[n] for n in systems) + " |")
    L.append("| --- " * (len(systems) + 1) + "|")
    for s in sizes:
        L.append("| %d B | %s |" % (s, " | ".join(fmt(per_cpu(get(relay, n, str(s))))
                                                  for n in systems)))
    L.append("")
    L.append("CPU use of each system and of the generator in those runs (share of one core, "
             "medians):")
    L.append("")
    L.append("| stanza size | " + " | ".join("%s / generator" % LABELS[n] for n in systems) + " |")
    L.append("| --- " * (len(systems) + 1) + "|")
    for s in sizes:
        cells = []
        for n in systems:
            r = get(relay, n, str(s))
            cells.append("%s / %s" % (pct(get(r, "sut_cpu_util")), pct(get(r, "gen_cpu_util"))))
        L.append("| %d B | %s |" % (s, " | ".join(cells)))
    if plots.get("throughput"):
        L.append("")
        L.append("![throughput against stanza size](%s)" % rel(plots["throughput"]))
    L.append("")
    aes = runs.get("relay_aes256") or {}
    if aes:
        L.append("## Relay at 1 KiB on TLS 1.2 ECDHE-ECDSA-AES256-GCM-SHA384 (every system)")
        L.append("")
        L.append("BoringSSL (fedgate and the generator) cannot narrow TLS 1.3's suites, so this "
                 "comparison offers TLS 1.2 with that one suite from the generator; what each "
                 "system negotiated is in the TLS table above.")
        L.append("")
        L.append("| system | stanzas/s | per CPU-second |")
        L.append("| --- | --- | --- |")
        for n in systems:
            r = aes.get(n)
            L.append("| %s | %s | %s |" % (LABELS[n], fmt(get(r, "delivered_per_s")) + rng(r),
                                           fmt(per_cpu(r))))
        L.append("")
        L.append("fedgate / HAProxy: %s wall clock, %s per CPU-second." % (
            fmt(res.get("ratio_1k_aes256_fedgate_haproxy"), 2),
            fmt(res.get("ratio_cpu_1k_aes256_fedgate_haproxy"), 2)))
        L.append("")
    L.append("## Latency against offered load (256 B stanzas, open loop)")
    L.append("")
    L.append("The generator's send lag is how late it wrote a stanza after its scheduled "
             "time (pacing and its own waits, included in the latency); CPU waits are the "
             "share of the run the system's worker thread / the generator were ready to run "
             "but another task had the CPU (medians over the rounds).")
    L.append("")
    L.append("| system | offered/s | delivered/s | p50 us | p90 us | p99 us (range) | p99.9 us "
             "| generator's send lag p99 us | waiting for a CPU: system / generator |")
    L.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    lat = runs.get("latency") or {}
    for n in systems:
        for p in lat.get(n, []):
            lu = get(p, "result", "latency_us") or {}
            waits = [get(p, "result", k) for k in ("sut_runq_wait_share", "gen_runq_wait_share")]
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                LABELS[n], fmt(p.get("offered_per_s")), fmt(get(p, "result", "delivered_per_s")),
                fmt(lu.get("p50")), fmt(lu.get("p90")), fmt(p.get("median")) + rng(p),
                fmt(lu.get("p999")), fmt(get(p, "result", "send_lag_p99_us")),
                " / ".join("—" if w is None else "%.0f %%" % (100 * w) for w in waits)))
    offered = [p.get("offered_per_s") for pts in lat.values() for p in pts
               if p.get("offered_per_s")]
    for n in systems:
        top = get(relay, n, "256", "delivered_per_s")
        if top and offered and not lat.get(n):
            L.append("")
            L.append("%s is not in this table: its maximum at 256 B (%s stanzas/s) is below the "
                     "lowest offered load (%s stanzas/s)." % (LABELS[n], fmt(top),
                                                              fmt(min(offered))))
    traced = [(n, p) for n in systems for p in lat.get(n, [])
              if get(p, "result", "other_tasks_ms_sut_cpu") is not None]
    if traced:
        L.append("")
        L.append("Other tasks on the two CPUs while each latency run measured (the scheduler's "
                 "events, `--trace-latency`; milliseconds per run, median over the rounds; "
                 "anything but the system, the generator and idle: other work on the machine, "
                 "kernel threads):")
        L.append("")
        L.append("| system | offered/s | on the system's CPU (ms) | on the generator's CPU (ms) |")
        L.append("| --- | --- | --- | --- |")
        for n, p in traced:
            L.append("| %s | %s | %s | %s |" % (
                LABELS[n], fmt(p.get("offered_per_s")),
                fmt(get(p, "result", "other_tasks_ms_sut_cpu"), 1),
                fmt(get(p, "result", "other_tasks_ms_gen_cpu"), 1)))
    L.append("")
    L.append("fedgate's p99 over HAProxy's at 50 %% of fedgate's maximum: %s." %
             fmt(res.get("p99_ratio_at_50pct"), 2))
    if plots.get("latency"):
        L.append("")
        L.append("![p99 latency against offered load](%s)" % rel(plots["latency"]))
    L.append("")
    L.append("## s2s session establishment (fedgate)")
    L.append("")
    L.append("Each establishment: TCP connect, direct TLS 1.3 with certificates on both sides, "
             "SASL EXTERNAL, stream restart, one stanza delivered, close. Per core-second = "
             "establishments / fedgate's CPU seconds (median over the rounds).")
    L.append("")
    L.append("| kind | per fedgate core-second | wall clock /s | fedgate CPU | resumed handshakes |")
    L.append("| --- | --- | --- | --- | --- |")
    for kind in ("full", "resumed"):
        r = get(runs, "churn", "fedgate", kind)
        if r:
            L.append("| %s | %s | %s | %s | %s |" % (
                kind, fmt(res.get("%s_est_per_s" % kind)) + rng(r),
                fmt(get(r, "establishments_per_s")), pct(get(r, "sut_cpu_util")),
                fmt(get(r, "resumed"))))
    L.append("")
    L.append("Full establishments per worker CPU-second over BoringSSL's in-memory ceiling "
             "(bench/tls_bench, same run): %s." % fmt(res.get("full_est_ratio_to_ceiling"), 2))
    L.append("")
    L.append("Like for like (every s2s peer sends a client certificate; tls_bench, same run): "
             "per worker CPU-second, full %s of the in-memory ceiling with a client certificate "
             "(%s/s) and %s of TLS alone over TCP through the runtime (%s/s); resumed %s of its "
             "in-memory ceiling (%s/s) and %s of TLS alone over TCP (%s/s)." % (
                 fmt(res.get("full_est_ratio_to_mtls_ceiling"), 2),
                 fmt(res.get("full_ceiling_mtls_per_s")),
                 fmt(res.get("full_est_ratio_to_tls_over_tcp"), 2),
                 fmt(res.get("full_tls_over_tcp_per_s")),
                 fmt(res.get("resumed_est_ratio_to_mtls_ceiling"), 2),
                 fmt(res.get("resumed_ceiling_mtls_per_s")),
                 fmt(res.get("resumed_est_ratio_to_tls_over_tcp"), 2),
                 fmt(res.get("resumed_tls_over_tcp_per_s"))))
    L.append("")
    revocation_section(res, L)
    L.append("## Memory per idle authenticated stream (fedgate)")
    L.append("")
    idle = get(runs, "idle", "fedgate")
    if idle and idle.get("bytes_per_idle_stream") is not None:
        L.append("%s streams open and authenticated (TLS 1.3 + SASL EXTERNAL), idle: RSS grew "
                 "by %s bytes per stream (user space; kernel socket buffers are not in RSS); "
                 "fedgate RSS %s KiB with them open; %s of them carried a final stanza to the "
                 "sink." % (fmt(idle.get("streams")), fmt(idle.get("bytes_per_idle_stream")),
                            fmt(idle.get("sut_rss_kb")), fmt(idle.get("streams_answered"))))
    else:
        L.append("not measured" + (" (%s)" % idle["failed"] if get(idle, "failed") else ""))
    L.append("")
    micro_section(res, L)
    with open(md_path, "w") as f:
        f.write("\n".join(L))


def tls_section(res, L):
    tls, aes = res.get("tls") or {}, res.get("tls_aes256") or {}
    if not tls and not aes:
        return
    L.append("## TLS each system negotiated")
    L.append("")
    L.append("As the generator's BoringSSL client saw it (SSL_get_version, "
             "SSL_get_current_cipher); kernel TLS: whether `ss -i` showed the `tls` ULP on the "
             "system's sockets while it was measured (— when no socket was seen).")
    L.append("")
    L.append("| system | default run | kTLS | AES-256 run | kTLS |")
    L.append("| --- | --- | --- | --- | --- |")
    yn = {True: "yes", False: "no", None: "—"}
    for n in SYSTEMS:
        a, b = tls.get(n), aes.get(n)
        if not a and not b:
            continue
        L.append("| %s | %s %s | %s | %s %s | %s |" % (
            LABELS[n], fmt(get(a, "version")), fmt(get(a, "cipher")), yn.get(get(a, "ktls")),
            fmt(get(b, "version")), fmt(get(b, "cipher")), yn.get(get(b, "ktls"))))
    L.append("")


def micro_section(res, L):
    L.append("## Micro-benchmarks (same run)")
    L.append("")
    micro = res.get("micro") or {}
    x, t, i = micro.get("xml_bench") or {}, micro.get("tls_bench") or {}, micro.get(
        "identity_bench") or {}
    L.append("| benchmark | result |")
    L.append("| --- | --- |")
    if x:
        L.append("| XML parser | fedgate %s MB/s (%s copy, stanzas read as the relay reads them: "
                 "the root's view; baseline x86-64 copy of the same binary %s MB/s; every "
                 "node's view built: %s and %s MB/s), libxml2 %s MB/s, expat %s MB/s (%s x, %s "
                 "x) |" % (
                     fmt(x.get("fedgate_mbps")), x.get("simd") or "dispatched",
                     fmt(res.get("xml_mbps_baseline")), fmt(res.get("xml_mbps_best_full_tree")),
                     fmt(res.get("xml_mbps_baseline_full_tree")),
                     fmt(x.get("libxml2_mbps")), fmt(x.get("expat_mbps")),
                     fmt(div(x.get("fedgate_mbps"), x.get("libxml2_mbps")), 2),
                     fmt(div(x.get("fedgate_mbps"), x.get("expat_mbps")), 2)))
    if i:
        L.append("| identity matching | %s matches/s (worst case: 50-name SAN, reference set-up "
                 "included) |" % fmt(i.get("matches_per_s")))
    if t:
        L.append("| TLS 1.3 (runtime) | full handshakes %s per worker CPU-second (ceiling %s), "
                 "resumed %s (ceiling %s), bulk %s MB/s |" % (
                     fmt(t.get("full_hs_per_s")), fmt(t.get("ceiling_full_hs_per_s")),
                     fmt(t.get("resumed_hs_per_s")), fmt(t.get("ceiling_resumed_hs_per_s")),
                     fmt(t.get("bulk_mbps"))))
    L.append("")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        res = json.load(f)
    md = sys.argv[2]
    plot_dir = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(
        os.path.abspath(md)), "plots")
    os.makedirs(plot_dir, exist_ok=True)
    plots = {"throughput": throughput_plot(res, plot_dir), "latency": latency_plot(res, plot_dir)}
    page(res, plots, md)
    print("report: %s" % md, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
