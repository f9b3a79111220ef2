#!/bin/sh
# fuzz.sh: builds every libFuzzer target in //fuzz with ASan+UBSan and runs each
# for FUZZ_SECONDS (default 60) on a working copy of its corpus. Seeds come from
# fuzz/corpus/<target>/ (committed) and, when fuzz/<prefix>_seeds_from_vectors.sh
# exists (prefix: the target name up to its first '_'), from ../shared/vectors
# (generated here, never committed). On x86-64 CPUs with AVX2 the SIMD paths
# are built in too. Crashes are written to fuzz/out/<target>/ and fail the run.
set -u
cd "$(dirname "$0")/.."
bazel=${BAZEL:-bazel}
seconds=${FUZZ_SECONDS:-60}
targets=$($bazel query 'attr(name, "_fuzzer$", kind(cc_binary, //fuzz:*))' 2>/dev/null)
[ -n "$targets" ] || { echo "fuzz: no targets"; exit 0; }
simd=""
grep -q avx2 /proc/cpuinfo 2>/dev/null && simd="--copt=-mavx2"
$bazel build --config=fuzz $simd $targets || exit 1
bin=$($bazel info --config=fuzz $simd bazel-bin)
failed=0
passed=0
for label in $targets; do
  name=${label##*:}
  out=fuzz/out/$name
  mkdir -p "$out/corpus" "$out/crashes"
  [ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$out/corpus/" 2>/dev/null
  # Seeds derived from ../shared/vectors are generated here, never committed.
  gen="fuzz/${name%%_*}_seeds_from_vectors.sh"
  [ -f "$gen" ] && sh "$gen" "$out/corpus" >/dev/null 2>&1
  dict=""
  for d in "fuzz/$name.dict" "fuzz/${name%%_*}.dict"; do
    [ -f "$d" ] && { dict="-dict=$d"; break; }
  done
  echo "== $name for ${seconds}s"
  if "$bin/fuzz/$name" $dict -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$out/crashes/" "$out/corpus" >"$out/log" 2>&1; then
    passed=$((passed + 1))
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$out/log" | sed 's/^/  /'
  else
    failed=$((failed + 1))
    echo "  FAILED: see $out/log and $out/crashes/"
    tail -30 "$out/log" | sed 's/^/  /'
  fi
done
echo "$passed passed, $failed failed"
[ $failed = 0 ]
