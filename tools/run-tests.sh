#!/bin/sh
# run-tests.sh [BAZEL_FLAGS...]: builds everything, runs every test suite and
# ends with two summary lines counting individual test cases:
#
#   N passed, M failed, K skipped
#   N passed, M failed
#
# (CI reads the last line, in exactly that shape.) Each suite's cases are read
# by tools/suite-counts.awk: cmocka's summary lines where a suite has them,
# the suite's own "N passed, M failed[, K skipped]" line otherwise, and 1 per
# target that prints neither (passed or failed by its exit status). A suite
# that reports zero cases failed. Exits non-zero when anything failed or did
# not build.
#
# Environment: FEDGATE_EXTRA_SUITES (default tools/ktls-vm/run.sh), suites run
# outside Bazel; FEDGATE_REQUIRE_KTLS=1 turns their exit 77 ("cannot run
# here", counted as one skipped case) into a failure.
set -u
cd "$(dirname "$0")/.."
bazel=${BAZEL:-bazel}
counter=$(pwd)/tools/suite-counts.awk
failed_cases=$(pwd)/tools/failed-cases.awk

passed=0
failed=0
skipped=0

# add LABEL FILE RC [WHERE]: adds to the totals the cases of the suite whose
# output is FILE and whose exit status (or Bazel's verdict) is RC. A suite
# without count lines is one case, passed or failed by RC; one with counts
# that exited non-zero without counting a failure gets one. WHERE names the
# full output in the message for a failure.
add() {
  label=$1
  file=$2
  rc=$3
  where=${4-}
  set -- $(awk -f "$counter" "$file" 2>/dev/null)
  if [ $# -ge 3 ]; then
    p=$1 f=$2 s=$3
    if [ "${4-}" = no-cases ]; then echo "  $label: reported no test cases"; fi
    # A suite that crashed or timed out after printing its counts still failed.
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
  else
    p=0 f=0 s=0
    if [ "$rc" = 0 ]; then p=1; else f=1; fi
  fi
  if [ "$f" != 0 ]; then
    echo "  $label: $f failed${where:+ (see $where)}"
    # The failing cases by name, so that a CI log cut to its tail still says
    # which ones.
    awk -f "$failed_cases" "$file" 2>/dev/null | sed 's/^/    /'
  fi
  if [ "$s" != 0 ]; then echo "  $label: $s skipped"; fi
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
}

echo "== bazel build $* (every package)"
build_rc=0
$bazel build --keep_going "$@" //... || build_rc=$?

echo "== bazel test $* (every package)"
$bazel test --keep_going "$@" //... >/tmp/fedgate-bazel-test.$$ 2>&1
test_rc=$?
grep -E 'PASSED|FAILED|NO STATUS|TIMEOUT|FLAKY|ERROR|Executed' /tmp/fedgate-bazel-test.$$ |
  grep -v '^INFO' | sed 's/^/  /'
rm -f /tmp/fedgate-bazel-test.$$

testlogs=$($bazel info "$@" bazel-testlogs 2>/dev/null)
labels=$($bazel query 'tests(//...)' 2>/dev/null)
if [ -z "$labels" ]; then
  echo "  bazel query found no test targets"
  failed=$((failed + 1))
fi
for label in $labels; do
  path=$(echo "$label" | sed 's|^//||; s|:|/|')
  log="$testlogs/$path/test.log"
  xml="$testlogs/$path/test.xml"
  if [ ! -f "$log" ]; then
    echo "  $label: no test log (did not build?)"
    failed=$((failed + 1))
    continue
  fi
  # Bazel's verdict, from test.xml: 0 passed, 1 failed, crashed or timed out.
  rc=1
  if [ -f "$xml" ] && ! grep -q '<failure\|<error' "$xml"; then rc=0; fi
  add "$label" "$log" "$rc" "$log"
done

# Suites outside Bazel, given the same Bazel flags: the kTLS tests inside a
# qemu guest whose kernel has the `tls` ULP (tools/ktls-vm/run.sh, docs/ktls-vm.md).
# Exit status 77 means "cannot run here" (no qemu, no kernel package): one
# skipped case, or a failure under FEDGATE_REQUIRE_KTLS=1.
for suite in ${FEDGATE_EXTRA_SUITES-tools/ktls-vm/run.sh}; do
  echo "== $suite $*"
  out=/tmp/fedgate-extra-suite.$$
  BAZEL="$bazel" sh "$suite" "$@" >"$out" 2>&1
  rc=$?
  if [ $rc = 77 ]; then
    grep -i 'skip' "$out" | sed 's/^/  /'
    if [ "${FEDGATE_REQUIRE_KTLS:-0}" = 1 ]; then
      echo "  $suite: 1 failed: exit 77 (cannot run here) and FEDGATE_REQUIRE_KTLS=1"
      failed=$((failed + 1))
    else
      echo "  $suite: 1 skipped (exit 77: cannot run here)"
      skipped=$((skipped + 1))
    fi
  else
    tail -20 "$out" | sed 's/^/  /'
    add "$suite" "$out" "$rc"
  fi
  rm -f "$out"
done

if [ $build_rc != 0 ] && [ $failed = 0 ]; then failed=1; echo "  build failed"; fi
if [ $test_rc != 0 ] && [ $failed = 0 ]; then failed=1; echo "  bazel test failed"; fi
echo "$passed passed, $failed failed, $skipped skipped"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
