# failed-cases.awk: reads the output of one test suite that failed and prints
# the names of its failed cases, one line each (at most 400 bytes), the first
# 12 of them and then "(N more)", so that make test's summary names them even
# where a log is cut to its tail. tools/run-tests.sh prints them under the
# suite's "N failed" line.
#
# A failed case is a line that starts with one of:
#   "[  FAILED  ] name" and "[  ERROR   ] ..."  cmocka, and tests/bench/checks.py
#   "FAIL name: detail"                         the e2e suites and shell tests
#   "FAIL: name (module.Class)", "ERROR: ..."   Python's unittest
# cmocka's summary ("[  FAILED  ] N test(s), listed below:") is not a case,
# and a line printed twice (cmocka names each failure again in its summary)
# counts once.

/^\[  FAILED  \] [0-9]+ test\(s\)/ { next }
/^\[  FAILED  \] / || /^\[  ERROR   \] / || /^(FAIL|ERROR):? [^ ]/ {
  if ($0 in seen) next
  seen[$0] = 1
  n++
  if (n <= 12) print substr($0, 1, 400)
}
END { if (n > 12) printf "(%d more)\n", n - 12 }
