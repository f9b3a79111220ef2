#!/bin/sh
# demo.sh (make demo): two providers federating through two gateways on
# loopback. Builds fedgate, shows what this kernel offers, then
# bench/s2sload_demo.sh makes a dev PKI with `fedgate dev-pki`, starts fedgate A
# (a.test) and fedgate B (b.test), and lets bench/s2sload play both providers'
# internal servers: a burst of messages, presence and iq both ways with a live
# progress line, then a summary (sent, delivered, bounced, lost, stanzas/s,
# p50/p99 latency, TLS version, cipher and authentication of every link).
# Exits 0 only if nothing was lost. Extra arguments go to s2sload.
set -u
cd "$(dirname "$0")/.."
bazel=${BAZEL:-bazel}
$bazel build //gateway:fedgate >/dev/null 2>&1 || $bazel build //gateway:fedgate || exit 1
fedgate="$($bazel info bazel-bin 2>/dev/null)/gateway/fedgate"
echo "== $("$fedgate" --version | head -1); what this kernel offers (fedgate probe):"
"$fedgate" probe | sed 's/^/   /'
echo "== two gateways, two providers"
exec bench/s2sload_demo.sh "$fedgate" "$@"
