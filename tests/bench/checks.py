"""checks: the pass/fail lines of the Python bench tests.

check(name, cond, detail) prints `[       OK ] name` or `[  FAILED  ] name
detail` and counts it; summary() prints `N passed, M failed` and returns the
exit status.
"""

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("[       OK ] " + name)
    else:
        failed += 1
        print("[  FAILED  ] %s %s" % (name, str(detail)[-800:]))
    return bool(cond)


def summary():
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
