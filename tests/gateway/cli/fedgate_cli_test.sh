#!/bin/sh
# fedgate_cli_test.sh: the real `fedgate` binary's front door: --help,
# --version, probe, and usage errors (exit 2 with a message naming the word).
fedgate=${1:-gateway/fedgate}
pass=0
fail=0
check() {
  if [ "$1" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2"; fi
}
out=$("$fedgate" --help); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q '^  probe' && check ok || check no "--help lists probe (rc=$rc)"
out=$("$fedgate" --version); rc=$?
for lib in 'fedgate ' 'BoringSSL: ' 'liburing: ' 'jemalloc: '; do
  [ $rc = 0 ] && echo "$out" | grep -q "^$lib" && check ok || check no "--version shows $lib"
done
if [ -n "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ]; then
  # Under a sanitizer, the sanitizer's malloc is in charge and fedgate must say so.
  echo "$out" | grep -q 'NOT the process allocator' && check ok || check no "sanitizer allocator reported"
else
  echo "$out" | grep -q '^jemalloc: .*] (process allocator)$' && check ok || check no "jemalloc is the allocator"
fi
err=$("$fedgate" frobnicate 2>&1); rc=$?
[ $rc = 2 ] && echo "$err" | grep -q "unknown command 'frobnicate'" && check ok || check no "unknown command: rc=$rc $err"
err=$("$fedgate" --bogus 2>&1); rc=$?
[ $rc = 2 ] && echo "$err" | grep -q "unknown option '--bogus'" && check ok || check no "unknown flag: rc=$rc"
err=$("$fedgate" probe extra 2>&1); rc=$?
[ $rc = 2 ] && echo "$err" | grep -q "unexpected argument 'extra'" && check ok || check no "probe extra arg: rc=$rc"
out=$("$fedgate" probe); rc=$?
if echo "$out" | grep -q '^io_uring: yes'; then
  [ $rc = 0 ] && check ok || check no "probe exits 0 when io_uring works"
else
  [ $rc != 0 ] && check ok || check no "probe exits non-zero without io_uring"
fi
echo "$out" | grep -Eq '^kTLS: (yes|no) \(.+\)$' && check ok || check no "probe has a kTLS line with a reason"
[ "$(echo "$out" | wc -l)" -ge 8 ] && check ok || check no "probe prints one line per capability"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
