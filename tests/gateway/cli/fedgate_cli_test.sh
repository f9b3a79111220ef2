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
for lib in 'fedgate ' 'BoringSSL: ' 'liburing: ' 'jemalloc: ' 'xml parser: ' 'xml parser path: '; do
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
# fedgate runs on io_uring, and the end-to-end suites run it on this very
# machine: here probe must find io_uring, say so first and exit 0, quietly.
out=$("$fedgate" probe 2>/tmp/fedgate-probe-err.$$); rc=$?
err=$(cat /tmp/fedgate-probe-err.$$); rm -f /tmp/fedgate-probe-err.$$
[ $rc = 0 ] && [ -z "$err" ] && check ok || check no "probe exits 0 without complaint (rc=$rc: $err)"
echo "$out" | head -1 | grep -Eq '^io_uring: yes \(.+\)$' && check ok || check no "probe: io_uring: yes first: $out"
# One line per capability, in this order, each "NAME: yes (reason)" or "NAME: no (reason)".
want='io_uring
SINGLE_ISSUER/DEFER_TASKRUN
multishot accept
provided buffer rings
multishot recv
MSG_RING
SEND_ZC
kTLS
AVX2 XML scanners
XML parser path'
[ "$(echo "$out" | sed 's/: .*//')" = "$want" ] && check ok || check no "probe lists every capability once, in order: $out"
[ -n "$out" ] && [ -z "$(echo "$out" | grep -Ev '^[^:]+: (yes|no) \(.+\)$')" ] && check ok ||
  check no "probe lines are NAME: yes|no (reason): $out"
# The XML parser's level: chosen by CPU detection, or forced by FEDGATE_XML_ISA
# (a value the binary or CPU cannot honour stops every command with exit 2).
out=$(FEDGATE_XML_ISA=baseline "$fedgate" --version); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q '^xml parser path: baseline (forced by FEDGATE_XML_ISA; copies in this binary: baseline' &&
  check ok || check no "FEDGATE_XML_ISA=baseline: $out"
out=$(FEDGATE_XML_ISA=baseline "$fedgate" probe 2>/dev/null)
echo "$out" | grep -q '^XML parser path: \(yes\|no\) (baseline, forced by FEDGATE_XML_ISA; ' && check ok ||
  check no "probe under FEDGATE_XML_ISA=baseline: $out"
out=$(env -u FEDGATE_XML_ISA "$fedgate" --version)
echo "$out" | grep -q '^xml parser path: [a-z0-9-]* (chosen by CPU detection; copies in this binary:' && check ok ||
  check no "--version without FEDGATE_XML_ISA: $out"
err=$(FEDGATE_XML_ISA=sse9 "$fedgate" --version 2>&1); rc=$?
[ $rc = 2 ] && echo "$err" | grep -q "FEDGATE_XML_ISA: unknown XML parser level (value 'sse9'" && check ok ||
  check no "FEDGATE_XML_ISA=sse9 refused: rc=$rc $err"
if grep -qw avx2 /proc/cpuinfo 2>/dev/null && [ "$(uname -m)" = x86_64 ]; then
  out=$(FEDGATE_XML_ISA=x86-64-v3 "$fedgate" --version); rc=$?
  [ $rc = 0 ] && echo "$out" | grep -q '^xml parser path: x86-64-v3 (forced' && check ok ||
    check no "FEDGATE_XML_ISA=x86-64-v3: $out"
  out=$(env -u FEDGATE_XML_ISA "$fedgate" --version)
  echo "$out" | grep -q '^xml parser path: x86-64-v3 (chosen by CPU detection' && check ok ||
    check no "an AVX2 CPU runs the x86-64-v3 parser: $out"
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
