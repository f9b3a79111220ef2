#!/bin/sh
# demo.sh: builds fedgate and shows what it can do on this machine. (The
# federation demo with two gateways replaces the smoke part in a later issue.)
set -eu
cd "$(dirname "$0")/.."
bazel=${BAZEL:-bazel}
$bazel build //gateway:fedgate
fedgate=bazel-bin/gateway/fedgate
echo "== fedgate --version"
$fedgate --version
echo "== fedgate probe"
$fedgate probe
echo "== smoke"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
if $fedgate help >/dev/null && ! $fedgate no-such-command 2>/dev/null; then
  echo "dispatcher: ok"
else
  echo "dispatcher: FAILED"; fails=1
fi
for cmd in $($fedgate --help | sed -n 's/^  \([a-z-]*\) .*/\1/p'); do
  case "$cmd" in
    dev-pki)
      $fedgate dev-pki "$tmp/pki" --domain a.test --domain b.test >/dev/null &&
        echo "dev-pki: wrote $(ls "$tmp/pki" | wc -l) files for a.test, b.test" ||
        { echo "dev-pki: FAILED"; fails=1; } ;;
    parse-stream)
      printf "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='b.test' from='a.test' version='1.0'><message to='u@b.test' from='v@a.test'><body>hi</body></message></stream:stream>" |
        $fedgate parse-stream - && echo "parse-stream: ok" || { echo "parse-stream: FAILED"; fails=1; } ;;
  esac
done
[ "$fails" = 0 ] && echo "demo: ok" || { echo "demo: FAILED"; exit 1; }
