# awk_expect.sh, sourced by the tests of tools/*.awk with $awk_file set:
# `expect NAME WANT` feeds standard input to the awk script and counts a
# pass when its output is WANT; `expect_done` prints the suite's count line
# and returns non-zero when a case failed.
pass=0
fail=0

expect() {
  got=$(awk -f "$awk_file")
  if [ "$got" = "$2" ]; then
    pass=$((pass + 1))
    echo "ok   $1"
  else
    fail=$((fail + 1))
    echo "FAIL $1: got '$got', want '$2'"
  fi
}

expect_done() {
  echo "$pass passed, $fail failed"
  [ "$fail" = 0 ]
}
