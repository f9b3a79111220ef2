#!/bin/sh
# bench.sh [--quick] [--json]: the benchmark suite of `make bench` and
# `make bench-quick`, in one run on this machine (compare the ratios it
# prints, not absolute numbers across runs or machines).
#   1. builds every benchmark, fedgate and the load generator with
#      --config=opt;
#   2. runs the micro-benchmarks (//bench:*_bench) once each, their JSON to
#      bench/results/latest.jsonl;
#   3. runs bench/suite.py: fedgate, Prosody (default and generational GC)
#      and HAProxy, all up at once, in interleaved rounds under the C load
#      generator bench/s2sload, then (not with --quick) fedgate's churn with
#      revocation checking on against off; the result object goes to
#      bench/results/<date>-<host>[-quick].json (--json also prints it), a
#      failed or incomplete run recorded in it;
#   4. bench/report.py writes bench/RESULTS.md and bench/plots/*.png (a
#      --quick run writes bench/results/RESULTS-quick.md and its plots under
#      bench/results/ instead, leaving the committed page alone).
# --quick: 1 s per run, fewer sizes and points, 2,000 idle streams (a few
# minutes). Exit status: non-zero when a build or a run failed (the report is
# written all the same).
set -u
cd "$(dirname "$0")/.."
bazel=${BAZEL:-bazel}
quick=""
json=""
for a in "$@"; do
  case "$a" in
    --quick) quick=--quick ;;
    --json) json=--json ;;
    *) echo "usage: tools/bench.sh [--quick] [--json]" >&2; exit 2 ;;
  esac
done
# Human progress goes to stderr so that --json leaves stdout to the result.
exec 3>&1 1>&2
tools/deps.sh tools/debian-packages.txt tools/debian-packages-bench.txt || exit 1
micro=$($bazel query 'attr(name, "_bench$", kind(cc_binary, //bench:*))' 2>/dev/null)
$bazel build --config=opt $micro //bench:s2sload //gateway:fedgate || exit 1
bin=$($bazel info --config=opt bazel-bin)
mkdir -p bench/results
: >bench/results/latest.jsonl
micro_failed=0
# run_micro RECORD BINARY [ARGS...]: runs bench/BINARY --json ARGS and
# appends its result to latest.jsonl as RECORD. A run that fails or prints
# nothing is recorded as failed (the suite lists it in failures and
# RESULTS.md) and the rest goes on; the exit status says it.
run_micro() {
  record=$1
  binary=$2
  shift 2
  echo "== $record"
  out=$("$bin/bench/$binary" --json "$@")
  status=$?
  if [ "$status" -ne 0 ] || [ -z "$out" ]; then
    echo "FAILED: $record (exit $status)" >&2
    printf '{"bench":"%s","failed":"exit %d%s"}\n' "$record" "$status" \
      "$([ -z "$out" ] && echo ', no output')" >>bench/results/latest.jsonl
    micro_failed=1
    return
  fi
  echo "$out" | head -c 400
  echo
  printf '{"bench":"%s","result":%s}\n' "$record" "$out" >>bench/results/latest.jsonl
}
for label in $micro; do
  name=${label##*:}
  if [ -n "$quick" ] && [ "$name" = tls_bench ]; then
    run_micro "$name" "$name" --seconds 1
  else
    run_micro "$name" "$name"
  fi
done
# The parser once more with every node's view built (xml_bench above reads
# stanzas as the relay does, by the root's view).
run_micro xml_bench_full_tree xml_bench --fedgate-only --full-tree
echo "== side by side, interleaved: fedgate, Prosody (two GC modes), HAProxy"
result=$(/usr/bin/python3 bench/suite.py --bin "$bin" $quick --json)
rc=$?
if [ -z "$result" ]; then exit 1; fi
path=$(ls -t bench/results/*.json | grep -v '/scale-' | head -1)
if [ -n "$quick" ]; then
  /usr/bin/python3 bench/report.py "$path" bench/results/RESULTS-quick.md bench/results/plots-quick
else
  /usr/bin/python3 bench/report.py "$path" bench/RESULTS.md bench/plots
fi
[ -n "$json" ] && echo "$result" >&3
[ "$micro_failed" -eq 0 ] || rc=1
exit $rc
