# suite-counts.awk: reads the output of one test suite and prints its test
# cases as "PASSED FAILED SKIPPED" ("0 1 0 no-cases" when it reports none),
# or nothing when the output has no count line at all. tools/run-tests.sh
# sums these into make test's summary.
#
# Counted, in this order of preference:
#   1. cmocka's summary lines, summed over every group the binary ran:
#      "[  PASSED  ] N test(s).", "[  FAILED  ] N test(s), listed below:",
#      "[  SKIPPED ] N test(s), listed below:" (cmocka also prints
#      " N SKIPPED TEST(S)" and " N FAILED TEST(S)": the same numbers again,
#      not added twice);
#   2. otherwise the suite's last own count line, either
#      "N passed, M failed, K skipped" or "N passed, M failed" (K = 0). A
#      two-field line right after a three-field line with the same N and M is
#      the same summary (the pair make test itself ends with) and keeps K.
# A line counts only when it is exactly one of these shapes from its first
# character, so a suite's prefixed echo of another suite's lines is ignored.

/^\[  PASSED  \] [0-9]+ test\(s\)/ { cmocka = 1; cp += $4; prev3 = 0; next }
/^\[  FAILED  \] [0-9]+ test\(s\)/ { cmocka = 1; cf += $4; prev3 = 0; next }
/^\[  SKIPPED \] [0-9]+ test\(s\)/ { cmocka = 1; cs += $4; prev3 = 0; next }
/^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ {
  own = 1
  op = $1 + 0
  of = $3 + 0
  os = $5 + 0
  prev3 = 1
  next
}
/^[0-9]+ passed, [0-9]+ failed$/ {
  p = $1 + 0
  f = $3 + 0
  if (!(prev3 && p == op && f == of)) os = 0
  own = 1
  op = p
  of = f
  prev3 = 0
  next
}
{ prev3 = 0 }

# A suite that reports zero cases (a cmocka binary that ran no test, a script
# ending "0 passed, 0 failed") proves nothing: one failed case, marked.
END {
  if (cmocka) {
    p = cp + 0
    f = cf + 0
    s = cs + 0
  } else if (own) {
    p = op
    f = of
    s = os
  } else {
    exit
  }
  if (p + f + s == 0) print 0, 1, 0, "no-cases"
  else print p, f, s
}
