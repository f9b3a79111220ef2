#!/bin/sh
# failed_cases_test.sh: tools/failed-cases.awk, which names a failed suite's
# cases under make test's summary, on the shapes the suites print them in:
# cmocka (each failure named twice), tests/bench/checks.py, the e2e suites
# and shell tests ("FAIL name: detail"), Python's unittest; and what it must
# not take for a case.
awk_file=${1:-tools/failed-cases.awk}
. "$(dirname "$0")/awk_expect.sh"

expect "cmocka: each failure once, its message kept, the summary not a case" \
  "[  ERROR   ] --- 0x1 != 0x2
[  FAILED  ] test_rfc6120_4_9_3_bad_format
[  FAILED  ] test_y" <<'OUT'
[==========] Running 3 test(s).
[ RUN      ] test_rfc6120_4_9_3_bad_format
[  ERROR   ] --- 0x1 != 0x2
[   LINE   ] --- tests/x_test.c:42: error: Failure!
[  FAILED  ] test_rfc6120_4_9_3_bad_format
[ RUN      ] test_y
[  FAILED  ] test_y
[ RUN      ] test_z
[       OK ] test_z
[==========] 3 test(s) run.
[  PASSED  ] 1 test(s).
[  FAILED  ] 2 test(s), listed below:
[  FAILED  ] test_rfc6120_4_9_3_bad_format
[  FAILED  ] test_y

 2 FAILED TEST(S)
OUT

expect "checks.py: the failed check with its detail" \
  "[  FAILED  ] exactly four bad runs ['r1', 'r2', 'r3', 'r4', 'r5']" <<'OUT'
[       OK ] report written
[  FAILED  ] exactly four bad runs ['r1', 'r2', 'r3', 'r4', 'r5']
42 passed, 1 failed
OUT

expect "e2e suite: FAIL name: detail" \
  "FAIL test_reload_ten_times_under_load_loses_nothing: AssertionError('the traffic ended')
FAIL setup: KeyError('x')" <<'OUT'
ok   test_rfc6120_4_7_1_header
FAIL test_reload_ten_times_under_load_loses_nothing: AssertionError('the traffic ended')
Traceback (most recent call last):
  File "tests/e2e/reload_test.py", line 478, in test_reload_ten_times_under_load_loses_nothing
    assert load.poll() is None, "the traffic ended before the last reload"
AssertionError: the traffic ended
FAIL setup: KeyError('x')
11 passed, 1 failed
OUT

expect "unittest: FAIL: and ERROR: headers" \
  "FAIL: test_drain (__main__.SuiteTest.test_drain)
ERROR: test_ports (__main__.SuiteTest.test_ports)" <<'OUT'
..F.E
======================================================================
FAIL: test_drain (__main__.SuiteTest.test_drain)
----------------------------------------------------------------------
AssertionError: 5 != 4
======================================================================
ERROR: test_ports (__main__.SuiteTest.test_ports)
----------------------------------------------------------------------
FAILED (failures=1, errors=1)
OUT

expect "not cases: a summary, indented or mid-line FAIL, FAILED alone" "" <<'OUT'
FAILED (failures=1)
  FAIL test_indented: an echo of another suite
the word FAIL inside a line
FAIL
8 passed, 1 failed
OUT

expect "the first 12, then how many more" "$(seq 1 12 | sed 's/^/FAIL case_/; s/$/: x/')
(3 more)" <<OUT
$(seq 1 15 | sed 's/^/FAIL case_/; s/$/: x/')
OUT

expect "a long line cut at 400 bytes" "FAIL $(printf '%0395d' 0)" <<OUT
FAIL $(printf '%0500d' 0)
OUT

expect_done
