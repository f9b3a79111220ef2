#!/usr/bin/python3
"""docs_metrics_test.py: every metric the operator's documents name exists.

Reads the checkout found through its argument (a runfile of //:.bazelrc):
the names /metrics can carry are the counter names of
gateway/server/metrics.c and every fedgate_* name written in a C string of
gateway/, io/ and crypto/; the names documents mention are the backquoted
ones in README.md, contrib/README.md and docs/*.md that end in _total, or
start with fedgate_ and end in a unit (labels in {...} dropped). One case per document: it fails
naming each metric that does not exist. A first case checks the checker: a
made-up name must be reported.
"""
import glob
import os
import re
import sys

METRIC_IN_DOC = re.compile(r"`((?:fedgate_)?[a-z0-9_]+?)(?:\{[^`]*\})?`")
COUNTER_NAME = re.compile(r'\]\s*=\s*"([a-z0-9_]+)"')
C_STRING_METRIC = re.compile(r"fedgate_([a-z0-9_]+)")
# Prometheus names end in their unit; other fedgate_* words in the documents
# (benchmark result fields such as fedgate_mbps) are not metrics.
METRIC_SUFFIXES = ("_total", "_seconds", "_bytes", "_current", "_count", "_info", "_ratio")


def known_metrics(root):
    names = set()
    with open(os.path.join(root, "gateway/server/metrics.c")) as f:
        names.update(COUNTER_NAME.findall(f.read()))
    for pattern in ("gateway/**/*.c", "io/**/*.c", "crypto/**/*.c"):
        for path in glob.glob(os.path.join(root, pattern), recursive=True):
            with open(path, errors="replace") as f:
                names.update(C_STRING_METRIC.findall(f.read()))
    return names


def unknown_metrics(text, names):
    """Returns (line, name) for each metric-looking name not in names."""
    bad = []
    for number, line in enumerate(text.split("\n"), 1):
        for token in METRIC_IN_DOC.findall(line):
            if not (token.endswith("_total") or
                    (token.startswith("fedgate_") and token.endswith(METRIC_SUFFIXES))):
                continue
            bare = token[len("fedgate_"):] if token.startswith("fedgate_") else token
            if bare not in names:
                bad.append((number, token))
    return bad


def main():
    root = os.path.dirname(os.path.realpath(sys.argv[1]))
    passed = failed = 0
    names = known_metrics(root)

    def case(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("ok   " + what)
        else:
            failed += 1
            print("FAIL " + what)

    probe = unknown_metrics("`fedgate_bounced_by_condition_total{condition}` and `bounces_sent_total`", names)
    case(len(names) > 40 and probe == [(1, "fedgate_bounced_by_condition_total")],
         "the checker knows %d metrics and reports a made-up one (%s)" % (len(names), probe))
    docs = [os.path.join(root, "README.md"), os.path.join(root, "contrib/README.md")]
    docs += sorted(glob.glob(os.path.join(root, "docs/*.md")))
    for path in docs:
        with open(path) as f:
            bad = unknown_metrics(f.read(), names)
        rel = os.path.relpath(path, root)
        case(not bad, rel + (": every metric named exists" if not bad else ": no such metric: " +
                             ", ".join("line %d `%s`" % b for b in bad)))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
