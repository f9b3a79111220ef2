#!/bin/sh
# fuzz.sh: builds every libFuzzer target in //fuzz with ASan+UBSan (`make fuzz`)
# and fuzzes each for FUZZ_SECONDS (default 60), FUZZ_JOBS (default 2) targets
# at a time, one per core.
#
# Each target starts from a working copy of its committed corpus
# (fuzz/corpus/<target>/) under fuzz/out/<target>/corpus, plus, when
# fuzz/<prefix>_seeds_from_vectors.sh exists (prefix: the target name up to
# its first '_'), seeds generated from ../shared/vectors (read only, never
# committed). It runs with the max_len of fuzz/oss-fuzz/build.sh's table and
# the target's dictionary (fuzz/<target>.dict or fuzz/<prefix>.dict). After
# a clean run the inputs that add coverage are merged into
# fuzz/corpus/<target>/ (libFuzzer -merge=1), ready to commit.
#
# Per target it prints the executions, the files the merge added to the
# corpus and libFuzzer's final coverage (cov: edges, ft: features):
#
#   xml_parser_fuzzer: 1234567 executions, 3 new corpus files, cov 1800 ft 9000
#
# A crash, leak, timeout or failed invariant leaves the input under
# fuzz/findings/<target>/ and fails the run, naming the file and the log
# (fuzz/out/<target>/log). A finding becomes a regression seed in
# fuzz/corpus/<target>/ plus a unit test (docs/development.md, Fuzz).
set -u
cd "$(dirname "$0")/.."
bazel=${BAZEL:-bazel}
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}

# One target (run by the parent through xargs): FUZZ_BIN names the binaries'
# directory. Writes fuzz/out/<target>/summary and exits non-zero on a finding.
if [ "${1-}" = --one ]; then
  name=$2
  out=fuzz/out/$name
  findings=fuzz/findings/$name
  rm -rf "$out"
  mkdir -p "$out/corpus" "$findings"
  cp -r "fuzz/corpus/$name/." "$out/corpus/" 2>/dev/null
  extra=""
  gen="fuzz/${name%%_*}_seeds_from_vectors.sh"
  if [ -f "$gen" ] && sh "$gen" "$out/vectors" >/dev/null 2>&1 && [ -d "$out/vectors/$name" ]; then
    extra=$out/vectors/$name
  fi
  dict=""
  for d in "fuzz/$name.dict" "fuzz/${name%%_*}.dict"; do
    [ -f "$d" ] && { dict="-dict=$d"; break; }
  done
  max_len=$(bash fuzz/oss-fuzz/build.sh --list | awk -v t="$name" '$1 == t {print "-max_len=" $2}')
  ls "$findings" >"$out/findings.before"
  # shellcheck disable=SC2086
  "$FUZZ_BIN/$name" $dict $max_len -max_total_time="$seconds" -timeout=20 -print_final_stats=1 \
    -artifact_prefix="$findings/" "$out/corpus" $extra >"$out/log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -1)
  last=$(grep -E '(DONE|pulse|NEW|REDUCE|INITED) +cov:' "$out/log" | tail -1)
  cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  found=$(ls "$findings" | comm -13 "$out/findings.before" - | head -1)
  if [ "$rc" != 0 ] || [ -n "$found" ]; then
    what="no input saved"
    [ -n "$found" ] && what="$findings/$found"
    echo "$name: FAILED (exit $rc) after ${execs:-?} executions: $what; log $out/log" >"$out/summary"
    exit 1
  fi
  n0=$(ls "fuzz/corpus/$name" | wc -l)
  "$FUZZ_BIN/$name" -merge=1 $max_len "fuzz/corpus/$name" "$out/corpus" >"$out/merge.log" 2>&1 || {
    echo "$name: merge into fuzz/corpus/$name failed; log $out/merge.log" >"$out/summary"
    exit 1
  }
  n1=$(ls "fuzz/corpus/$name" | wc -l)
  echo "$name: ${execs:-?} executions, $((n1 - n0)) new corpus files, cov ${cov:-?} ft ${ft:-?}" \
    >"$out/summary"
  exit 0
fi

targets=$($bazel query 'attr(name, "_fuzzer$", kind(cc_binary, //fuzz:*))' 2>/dev/null)
[ -n "$targets" ] || { echo "fuzz: no targets"; exit 0; }
# No -m flags: the XML parser's copies for each x86-64 level are all built,
# and xml_parser_fuzzer runs every one the CPU has on each input.
$bazel build --config=fuzz $targets || exit 1
FUZZ_BIN=$($bazel info --config=fuzz bazel-bin)/fuzz
export FUZZ_BIN FUZZ_SECONDS=$seconds
names=$(for l in $targets; do echo "${l##*:}"; done)
echo "== fuzzing $(echo "$names" | wc -l) targets for ${seconds}s each, $jobs at a time"
echo "$names" | xargs -P "$jobs" -n 1 sh tools/fuzz.sh --one
passed=0
failed=0
for name in $names; do
  if [ -f "fuzz/out/$name/summary" ] && ! grep -q ': FAILED\|failed;' "fuzz/out/$name/summary"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
  cat "fuzz/out/$name/summary" 2>/dev/null || echo "$name: FAILED (no summary)"
done
echo "$passed passed, $failed failed"
[ $failed = 0 ]
