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

SYSTEMS = ("fedgate", "prosody", "haproxy")
TARGETS = {
    # key: (description, predicate on the summary, target text)
    "ratio_256_fedgate_prosody": ("relay 256 B, fedgate / Prosody", lambda v: v >= 10, ">= 10x"),
    "ratio_1k_fedgate_prosody": ("relay 1 KiB, fedgate / Prosody", lambda v: v >= 10, ">= 10x"),
    "ratio_256_fedgate_haproxy": ("relay 256 B, fedgate / HAProxy (wall clock)", lambda v: v >= 0.7,
                                  ">= 0.7x"),
    "ratio_1k_fedgate_haproxy": ("relay 1 KiB, fedgate / HAProxy (wall clock)", lambda v: v >= 0.7,
                                 ">= 0.7x"),
    "ratio_256_fedgate_haproxy_per_cpu": ("relay 256 B, fedgate / HAProxy per CPU-second",
                                          lambda v: v >= 0.7, ">= 0.7x"),
    "ratio_1k_fedgate_haproxy_per_cpu": ("relay 1 KiB, fedgate / HAProxy per CPU-second",
                                         lambda v: v >= 0.7, ">= 0.7x"),
    "relay_256_fedgate": ("relay 256 B, fedgate, one worker (stanzas/s)",
                          lambda v: v >= 300000, ">= 300,000"),
    "p99_us_at_50pct": ("p99 latency at 50 % of fedgate's maximum (us)", lambda v: v <= 250,
                        "<= 250"),
    "full_est_per_s": ("full s2s establishments per fedgate core-second",
                       lambda v: v >= 4000, ">= 4,000"),
    "resumed_est_per_s": ("resumed s2s establishments per fedgate core-second",
                          lambda v: v >= 10000, ">= 10,000"),
    "bytes_per_idle_stream": ("user-space bytes per idle authenticated stream",
                              lambda v: v <= 10240, "<= 10,240"),
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
    relay = res["runs"]["relay"]
    series = [(n, sorted((int(s), r["delivered_per_s"]) for s, r in relay.get(n, {}).items()))
              for n in SYSTEMS]
    return line_plot(series, os.path.join(plot_dir, "throughput_vs_size.png"),
                     "Relay throughput against stanza size (one core each, direct TLS in, "
                     "plaintext hop)", "stanza size (bytes)", "stanzas/s",
                     "set logscale xy\nset key top right\nset format y '%.0s%c'")


def latency_plot(res, plot_dir):
    lat = res["runs"]["latency"]
    series = [(n, sorted((p["offered_per_s"], p["result"]["latency_us"]["p99"])
                         for p in lat.get(n, []) if p["result"]["latency_us"]["p99"]))
              for n in SYSTEMS]
    return line_plot(series, os.path.join(plot_dir, "latency_vs_load.png"),
                     "p99 latency against offered load (256 B stanzas, open loop)",
                     "offered load (stanzas/s)", "p99 latency (microseconds)",
                     "set logscale y\nset key top left\nset format x '%.1s%c'")


def per_cpu(r):
    """Stanzas per CPU-second of the system under test."""
    if not r or not r.get("sut_cpu_util"):
        return None
    return r["delivered_per_s"] / r["sut_cpu_util"]


def add_per_cpu_ratios(res):
    relay = res["runs"]["relay"]
    for size, key in (("256", "256"), ("1024", "1k")):
        f = per_cpu(relay.get("fedgate", {}).get(size))
        h = per_cpu(relay.get("haproxy", {}).get(size))
        res["ratio_%s_fedgate_haproxy_per_cpu" % key] = f / h if f and h else None


def revocation_section(res, L):
    rev = res["runs"].get("revocation")
    if not rev:
        return
    L.append("## Revocation checking on against off (fedgate)")
    L.append("")
    L.append("Two fedgates, identical but for `revocation` (`mode: hard-fail` with every OCSP "
             "answer already in the cache, against `mode: \"off\"`), both on CPU 0; the remote "
             "servers' certificates name a real `openssl ocsp` responder on loopback (AIA), asked "
             "during a warm-up round. Churn as above, alternating between the two in each of %d "
             "rounds. Rates are establishments per CPU-second of each fedgate's worker thread, "
             "summed over the rounds." % len(rev["rounds"]))
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
            for row in rev["rounds"]:
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
    m, v = res["machine"], res["versions"]
    L = []
    L.append("# fedgate benchmark results")
    L.append("")
    L.append("Generated by `make bench` (bench/suite.py, bench/report.py) on %s at %s from "
             "`bench/results/%s-%s%s.json`. Do not edit: run `make bench` again." %
             (res["date"], res["time"], res["date"], m["host"], "-quick" if res["quick"] else ""))
    L.append("")
    L.append("Machine: %s CPUs, %s; kernel %s. fedgate `%s`; Prosody %s; HAProxy %s. "
             "Each run: %s s measured after 1 s of warm-up; whole suite %s s." %
             (m["cpus"], m["cpu_model"], v["kernel"], v["fedgate"], v["prosody"], v["haproxy"],
              res["seconds_per_run"], res["duration_s"]))
    L.append("")
    L.append("Method: the system under test runs pinned to CPU 0 (fedgate with one worker, "
             "Prosody's one Lua thread, HAProxy with `nbthread 1`), the C load generator "
             "`bench/s2sload` (one worker) pinned to CPU 1. The generator's 8 remote servers open "
             "one direct-TLS s2s stream each (XEP-0368, TLS 1.3, client certificates, SASL EXTERNAL "
             "where the system speaks XMPP) and its sink receives the stanzas in plaintext on "
             "loopback: fedgate's hop (dialback, `internal_hop.plaintext`), Prosody's XEP-0114 "
             "component, HAProxy's TCP forward. Throughput is closed loop (each stream keeps a "
             "bounded window of stanzas in flight); latency is open loop at fixed offered loads, "
             "measured from the scheduled send time to the sink, so it includes the generator's "
             "own path (an upper bound of the latency the system adds). CPU seconds and RSS of "
             "the system under test come from /proc.")
    L.append("")
    L.append("## Targets")
    L.append("")
    L.append("| measure | result | target | met |")
    L.append("| --- | --- | --- | --- |")
    for key, (desc, ok, target) in TARGETS.items():
        val = res.get(key)
        digits = 2 if key.startswith("ratio") else 0
        met = "—" if val is None else ("yes" if ok(val) else "**no**")
        L.append("| %s | %s | %s | %s |" % (desc, fmt(val, digits), target, met))
    L.append("")
    gb = res.get("generator_bound") or []
    L.append("Results limited by the generator rather than the system under test: %s. Where "
             "HAProxy is among them its wall-clock rate is a lower bound of what it can do, so "
             "the per CPU-second ratios are the fair comparison." %
             (", ".join(gb) if gb else "none"))
    if res.get("failures"):
        L.append("")
        L.append("Runs that failed: " + "; ".join(res["failures"]))
    L.append("")
    L.append("## Relay throughput (stanzas/s, closed loop)")
    L.append("")
    relay = res["runs"]["relay"]
    sizes = sorted({int(s) for r in relay.values() for s in r})
    L.append("| stanza size | " + " | ".join(SYSTEMS) + " | fedgate/Prosody | fedgate/HAProxy | "
             "fedgate/HAProxy per CPU-second |")
    L.append("| --- " * (len(SYSTEMS) + 4) + "|")
    for s in sizes:
        vals = [relay.get(n, {}).get(str(s), {}).get("delivered_per_s") for n in SYSTEMS]
        f, p, h = vals
        fc = per_cpu(relay.get("fedgate", {}).get(str(s)))
        hc = per_cpu(relay.get("haproxy", {}).get(str(s)))
        L.append("| %d B | %s | %s | %s | %s |" % (
            s, " | ".join(fmt(x) for x in vals), fmt(f / p if f and p else None, 1),
            fmt(f / h if f and h else None, 2), fmt(fc / hc if fc and hc else None, 2)))
    L.append("")
    L.append("CPU use of each system and of the generator in those runs (share of one core):")
    L.append("")
    L.append("| stanza size | " + " | ".join("%s / generator" % n for n in SYSTEMS) + " |")
    L.append("| --- " * (len(SYSTEMS) + 1) + "|")
    for s in sizes:
        cells = []
        for n in SYSTEMS:
            r = relay.get(n, {}).get(str(s))
            cells.append("%.0f %% / %.0f %%" % (100 * r["sut_cpu_util"], 100 * r["gen_cpu_util"])
                         if r else "—")
        L.append("| %d B | %s |" % (s, " | ".join(cells)))
    if plots.get("throughput"):
        L.append("")
        L.append("![throughput against stanza size](%s)" % rel(plots["throughput"]))
    L.append("")
    L.append("## Latency against offered load (256 B stanzas, open loop)")
    L.append("")
    L.append("| system | offered/s | delivered/s | p50 us | p90 us | p99 us | p99.9 us |")
    L.append("| --- | --- | --- | --- | --- | --- | --- |")
    for n in SYSTEMS:
        for p in res["runs"]["latency"].get(n, []):
            r, lu = p["result"], p["result"]["latency_us"]
            L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                n, fmt(p["offered_per_s"]), fmt(r["delivered_per_s"]), fmt(lu["p50"]),
                fmt(lu["p90"]), fmt(lu["p99"]), fmt(lu["p999"])))
    offered = [p["offered_per_s"] for pts in res["runs"]["latency"].values() for p in pts]
    for n in SYSTEMS:
        top = relay.get(n, {}).get("256", {}).get("delivered_per_s")
        if top and offered and not res["runs"]["latency"].get(n):
            L.append("")
            L.append("%s is not in this table: its maximum at 256 B (%s stanzas/s) is below the "
                     "lowest offered load (%s stanzas/s)." % (n, fmt(top), fmt(min(offered))))
    if plots.get("latency"):
        L.append("")
        L.append("![p99 latency against offered load](%s)" % rel(plots["latency"]))
    L.append("")
    L.append("## s2s session establishment (fedgate)")
    L.append("")
    L.append("Each establishment: TCP connect, direct TLS 1.3 with certificates on both sides, "
             "SASL EXTERNAL, stream restart, one stanza delivered, close. Per core-second = "
             "establishments / fedgate's CPU seconds.")
    L.append("")
    L.append("| kind | per fedgate core-second | wall clock /s | fedgate CPU | resumed handshakes |")
    L.append("| --- | --- | --- | --- | --- |")
    for kind in ("full", "resumed"):
        r = res["runs"]["churn"].get("fedgate", {}).get(kind)
        if r:
            L.append("| %s | %s | %s | %.0f %% | %s |" % (
                kind, fmt(res.get("%s_est_per_s" % kind)), fmt(r["establishments_per_s"]),
                100 * r["sut_cpu_util"], fmt(r.get("resumed"))))
    L.append("")
    revocation_section(res, L)
    L.append("## Memory per idle authenticated stream (fedgate)")
    L.append("")
    idle = res["runs"]["idle"].get("fedgate")
    if idle:
        L.append("%s streams open and authenticated (TLS 1.3 + SASL EXTERNAL), idle: RSS grew "
                 "by %s bytes per stream (user space; kernel socket buffers are not in RSS); "
                 "fedgate RSS %s KiB with them open." % (
                     fmt(idle["streams"]), fmt(idle["bytes_per_idle_stream"]),
                     fmt(idle["sut_rss_kb"])))
    else:
        L.append("not measured")
    L.append("")
    L.append("## Micro-benchmarks (same run)")
    L.append("")
    micro = res.get("micro", {})
    x, t, i = micro.get("xml_bench", {}), micro.get("tls_bench", {}), micro.get("identity_bench",
                                                                                   {})
    L.append("| benchmark | result |")
    L.append("| --- | --- |")
    if x:
        L.append("| XML parser | fedgate %s MB/s, libxml2 %s MB/s, expat %s MB/s (%.2fx, %.2fx) |" %
                 (fmt(x.get("fedgate_mbps")), fmt(x.get("libxml2_mbps")),
                  fmt(x.get("expat_mbps")), x["fedgate_mbps"] / x["libxml2_mbps"],
                  x["fedgate_mbps"] / x["expat_mbps"]))
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
    with open(md_path, "w") as f:
        f.write("\n".join(L))


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        res = json.load(f)
    add_per_cpu_ratios(res)
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
