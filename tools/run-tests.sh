#!/bin/sh
# run-tests.sh [BAZEL_FLAGS...]: builds everything, runs every test suite and
# prints one summary line "N passed, M failed" counting individual test cases:
# cmocka's summary lines where a suite has them, a suite's own final
# "N passed, M failed" line otherwise, and 1 per target that gives neither.
# Exits non-zero when anything failed or did not build.
set -u
cd "$(dirname "$0")/.."
bazel=${BAZEL:-bazel}
# Every package of the project, without crawling bazel-* symlinks (tools/targets.sh).
targets=$(tools/targets.sh)

echo "== bazel build $* (every package)"
build_rc=0
# shellcheck disable=SC2086
$bazel build --keep_going "$@" -- $targets || build_rc=$?

echo "== bazel test $* (every package)"
# shellcheck disable=SC2086
$bazel test --keep_going "$@" -- $targets >/tmp/fedgate-bazel-test.$$ 2>&1
test_rc=$?
grep -E 'PASSED|FAILED|NO STATUS|TIMEOUT|FLAKY|ERROR|Executed' /tmp/fedgate-bazel-test.$$ |
  grep -v '^INFO' | sed 's/^/  /'
rm -f /tmp/fedgate-bazel-test.$$

testlogs=$($bazel info "$@" bazel-testlogs 2>/dev/null)
passed=0
failed=0
for label in $($bazel query "tests($(echo $targets | sed 's/ / + /g'))" 2>/dev/null); do
  path=$(echo "$label" | sed 's|^//||; s|:|/|')
  log="$testlogs/$path/test.log"
  xml="$testlogs/$path/test.xml"
  p=0
  f=0
  counted=0
  if [ -f "$log" ]; then
    if grep -q '^\[  PASSED  \]\|^\[  FAILED  \] [0-9]' "$log"; then
      p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
      f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
      counted=1
    elif grep -Eq '^[0-9]+ passed, [0-9]+ failed$' "$log"; then
      line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
      p=${line%% passed*}
      f=$(echo "$line" | sed 's/.*, \([0-9]*\) failed/\1/')
      counted=1
    fi
  fi
  # A suite that crashed or timed out after printing its counts still failed.
  if [ -f "$xml" ] && grep -q '<failure\|<error' "$xml" && [ "$f" = 0 ]; then f=$((f + 1)); fi
  if [ "$counted" = 0 ]; then
    if [ -f "$xml" ] && ! grep -q '<failure\|<error' "$xml"; then p=1; else f=1; fi
  fi
  if [ ! -f "$log" ]; then
    echo "  $label: no test log (did not build?)"
  elif [ "$f" != 0 ]; then
    echo "  $label: $f failed (see $log)"
  fi
  passed=$((passed + p))
  failed=$((failed + f))
done

# Suites outside Bazel, given the same Bazel flags: the kTLS tests inside a
# qemu guest whose kernel has the `tls` ULP (tools/ktls-vm/run.sh, docs/ktls-vm.md).
# Exit status 77 means "cannot run here" (no qemu, no kernel package): a
# skip, shown but not counted as a failure.
for suite in ${FEDGATE_EXTRA_SUITES-tools/ktls-vm/run.sh}; do
  echo "== $suite $*"
  out=$(BAZEL="$bazel" sh "$suite" "$@" 2>&1)
  rc=$?
  if [ $rc = 77 ]; then
    echo "$out" | grep -i 'skip' | sed 's/^/  /'
    continue
  fi
  echo "$out" | tail -20 | sed 's/^/  /'
  line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
  if [ -n "$line" ]; then
    passed=$((passed + ${line%% passed*}))
    failed=$((failed + $(echo "$line" | sed 's/.*, \([0-9]*\) failed/\1/')))
  fi
  if [ $rc != 0 ] && { [ -z "$line" ] || [ "$(echo "$line" | sed 's/.*, \([0-9]*\) failed/\1/')" = 0 ]; }; then
    failed=$((failed + 1))
  fi
done

if [ $build_rc != 0 ] && [ $failed = 0 ]; then failed=1; echo "  build failed"; fi
if [ $test_rc != 0 ] && [ $failed = 0 ]; then failed=1; echo "  bazel test failed"; fi
echo "$passed passed, $failed failed"
[ $failed = 0 ]
