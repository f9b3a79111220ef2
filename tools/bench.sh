#!/bin/sh
# bench.sh: builds every benchmark in //bench with --config=opt and runs each
# in turn (one machine, one run: compare the ratios each benchmark prints, not
# absolute numbers across runs). JSON lines go to bench/results/latest.jsonl.
set -u
cd "$(dirname "$0")/.."
bazel=${BAZEL:-bazel}
targets=$($bazel query 'attr(name, "_bench$", kind(cc_binary, //bench:*))' 2>/dev/null)
[ -n "$targets" ] || { echo "bench: no benchmarks"; exit 0; }
$bazel build --config=opt $targets || exit 1
bin=$($bazel info --config=opt bazel-bin)
mkdir -p bench/results
: >bench/results/latest.jsonl
for label in $targets; do
  name=${label##*:}
  echo "== $name"
  "$bin/bench/$name" || exit 1
  printf '{"bench":"%s","result":%s}\n' "$name" "$("$bin/bench/$name" --json)" >>bench/results/latest.jsonl
done
echo "results: bench/results/latest.jsonl"
