#!/bin/sh
# bench-opt.sh SCRIPT [ARGS]: builds fedgate and the load generator with
# --config=opt and runs bench/SCRIPT.py --bin <opt bazel-bin> [ARGS]:
#   scale           `make bench-scale`: as many idle authenticated s2s streams
#                   through one fedgate as the descriptor limit allows
#                   (bench/results/scale-<date>-<host>.json);
#   perf_breakdown  `make bench-perf`: where each system under test spends
#                   its CPU while relaying (regenerates bench/PERF.md).
# Neither is part of `make bench`. Exit status: the script's (non-zero when
# the build or a run failed).
set -u
cd "$(dirname "$0")/.."
case "${1:-}" in
  scale | perf_breakdown) script=$1; shift ;;
  *) echo "usage: tools/bench-opt.sh scale|perf_breakdown [ARGS]" >&2; exit 2 ;;
esac
bazel=${BAZEL:-bazel}
tools/deps.sh tools/debian-packages.txt tools/debian-packages-bench.txt || exit 1
$bazel build --config=opt //bench:s2sload //bench:xml_bench //gateway:fedgate || exit 1
bin=$($bazel info --config=opt bazel-bin)
exec /usr/bin/python3 "bench/$script.py" --bin "$bin" "$@"
