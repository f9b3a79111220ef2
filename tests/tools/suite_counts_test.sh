#!/bin/sh
# suite_counts_test.sh: tools/suite-counts.awk, which reads every suite's
# output for make test's summary, on the shapes the suites print: cmocka
# summaries (passed, failed, skipped, several groups), a suite's own
# "N passed, M failed[, K skipped]" line, zero cases, and output without
# counts.
awk_file=${1:-tools/suite-counts.awk}
. "$(dirname "$0")/awk_expect.sh"

expect "cmocka, all passed" "3 0 0" <<'OUT'
[==========] Running 3 test(s).
[ RUN      ] test_a
[       OK ] test_a
[==========] 3 test(s) run.
[  PASSED  ] 3 test(s).
OUT

expect "cmocka, skipped cases counted once" "4 0 8" <<'OUT'
[  SKIPPED ] test_rfc8446_handshake_handoff_echo_1b_to_64k
[==========] 12 test(s) run.
[  PASSED  ] 4 test(s).
[  SKIPPED ] 8 test(s), listed below:
[  SKIPPED ] test_rfc8446_handshake_handoff_echo_1b_to_64k

 8 SKIPPED TEST(S)
OUT

expect "cmocka, failures" "10 2 0" <<'OUT'
[  PASSED  ] 10 test(s).
[  FAILED  ] 2 test(s), listed below:
[  FAILED  ] test_x
[  FAILED  ] test_y

 2 FAILED TEST(S)
OUT

expect "cmocka, two groups summed" "5 1 1" <<'OUT'
[  PASSED  ] 2 test(s).
[  SKIPPED ] 1 test(s), listed below:
[  PASSED  ] 3 test(s).
[  FAILED  ] 1 test(s), listed below:
OUT

expect "cmocka wins over a count line" "2 0 0" <<'OUT'
7 passed, 0 failed
[  PASSED  ] 2 test(s).
OUT

expect "cmocka, no test ran: a failure" "0 1 0 no-cases" <<'OUT'
[==========] Running 0 test(s).
[==========] 0 test(s) run.
[  PASSED  ] 0 test(s).
OUT

expect "own line, two fields" "29 1 0" <<'OUT'
ok   test_a
FAIL test_b
29 passed, 1 failed
OUT

expect "own line, three fields" "23 0 1" <<'OUT'
23 passed, 0 failed, 1 skipped
OUT

expect "the summary pair keeps its skips" "23 0 1" <<'OUT'
23 passed, 0 failed, 1 skipped
23 passed, 0 failed
OUT

expect "a later two-field line is a new count" "30 0 0" <<'OUT'
23 passed, 0 failed, 1 skipped
30 passed, 0 failed
OUT

expect "the last count line wins" "5 0 0" <<'OUT'
3 passed, 1 failed
5 passed, 0 failed
OUT

expect "own line, zero cases: a failure" "0 1 0 no-cases" <<'OUT'
ktls-vm: SKIP: qemu-system-x86_64 not available
0 passed, 0 failed
OUT

expect "only skips is not zero cases" "0 0 2" <<'OUT'
0 passed, 0 failed, 2 skipped
OUT

expect "prefixed and partial lines are not counts" "" <<'OUT'
KTLS-VM-VERDICT: 23 passed, 0 failed, 1 skipped
  ktls| [  PASSED  ] 9 test(s).
replayed 7 inputs
7 passed, 0 failed and more
OUT

expect "no output" "" </dev/null

expect_done
