#!/bin/sh
# suite_revocation_test.sh: bench/suite.py --revocation runs end to end (one
# short round: the openssl ocsp responder, both fedgates, the warm-up and
# every churn run) and its JSON has the on/off rates and ratios. No timing
# thresholds: only that the numbers exist and are positive, and that the
# checking fedgate asked the responder and then answered from its cache.
set -u
# bench/sut.py reserves its ports in the registry of tests/e2e/ports.py.
export PYTHONPATH="$PWD/tests/e2e${PYTHONPATH:+:$PYTHONPATH}"

SUITE=$1
S2SLOAD=$2
FEDGATE=$3
WORK=$(mktemp -d "${TEST_TMPDIR:-/tmp}/suite-revocation.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin/gateway" "$WORK/bin/bench"
ln -s "$(realpath "$FEDGATE")" "$WORK/bin/gateway/fedgate"
ln -s "$(realpath "$S2SLOAD")" "$WORK/bin/bench/s2sload"

/usr/bin/python3 "$SUITE" --bin "$WORK/bin" --revocation --rounds 1 --seconds 0.5 \
  --out "$WORK/results" --json >"$WORK/out.json" 2>"$WORK/err"
rc=$?
PYTHONPATH="$(dirname "$0")" /usr/bin/python3 - "$WORK/out.json" "$rc" "$WORK/err" <<'PY'
import json
import sys

from checks import check, summary  # tests/bench/checks.py


try:
    r = json.load(open(sys.argv[1]))
except ValueError:
    r = {}
err = open(sys.argv[3]).read()
check("suite --revocation exits 0", sys.argv[2] == "0", err[-3000:])
check("no failures reported", r.get("failures") == [], r.get("failures"))
for key in ("churn_revocation_on_full_per_s", "churn_revocation_off_full_per_s",
            "churn_revocation_on_resumed_per_s", "churn_revocation_off_resumed_per_s",
            "ratio_revocation_full", "ratio_revocation_resumed",
            "ratio_revocation_full_starttls", "ratio_revocation_resumed_starttls"):
    v = r.get(key)
    check("%s is a positive number" % key, isinstance(v, (int, float)) and v > 0, repr(v))
m = r.get("runs", {}).get("revocation", {}).get("metrics", {})
on, off = m.get("on", {}), m.get("off", {})
check("the checking fedgate fetched from the responder",
      on.get("revocation_ocsp_fetches_ok_total", 0) > 0, on)
check("the checking fedgate answered from its cache",
      on.get("revocation_cache_hits_total", 0) > 0, on)
check("nothing refused for want of an answer",
      on.get("revocation_hard_fail_refused_total", 1) == 0, on)
check("the other fedgate did not check",
      off.get("revocation_ocsp_fetches_ok_total", 1) == 0
      and off.get("revocation_cache_hits_total", 1) == 0, off)
rounds = r.get("runs", {}).get("revocation", {}).get("rounds", [])
check("one round with all eight runs", len(rounds) == 1 and len(rounds[0]) == 8, rounds)
sys.exit(summary())
PY
