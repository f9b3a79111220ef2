#!/bin/sh
# check_cert_test.sh: `fedgate dev-pki` and `fedgate check-cert` end to end:
# files written, output lines, exit codes (0 ok, 1 negative verdict, 2 usage
# or unreadable input).
set -u

FEDGATE=${1:-gateway/fedgate}
WORK=$(mktemp -d "${TEST_TMPDIR:-/tmp}/check_cert.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); echo "[       OK ] $1"; }
bad() { FAIL=$((FAIL + 1)); echo "[  FAILED  ] $1"; }

# run NAME WANT_RC ARGS...: runs check-cert, keeps stdout in $OUT, stderr in $ERR.
run() {
  name=$1 want=$2
  shift 2
  "$FEDGATE" "$@" >"$WORK/out" 2>"$WORK/err"
  rc=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
  if [ "$rc" -eq "$want" ]; then ok "$name (exit $rc)"; else bad "$name (exit $rc, want $want)"; cat "$WORK/out" "$WORK/err"; fi
}

has() {  # has NAME PATTERN TEXT
  if printf '%s\n' "$3" | grep -q -- "$2"; then ok "$1"; else bad "$1: no '$2' in: $3"; fi
}

PKI=$WORK/pki
run "dev-pki writes a CA and two domains" 0 dev-pki "$PKI" --domain chat.example --domain Other.Example --xmppaddr
for f in ca.crt ca.key chat.example.crt chat.example.key other.example.crt other.example.key; do
  if [ -s "$PKI/$f" ]; then ok "dev-pki wrote $f"; else bad "dev-pki did not write $f"; fi
done
mode=$(stat -c %a "$PKI/chat.example.key")
if [ "$mode" = 600 ]; then ok "key file mode 600"; else bad "key file mode $mode"; fi
cp "$PKI/ca.crt" "$WORK/ca-before.crt"
run "dev-pki reuses the CA" 0 dev-pki "$PKI" --domain third.example
if cmp -s "$PKI/ca.crt" "$WORK/ca-before.crt"; then ok "CA unchanged on rerun"; else bad "CA replaced on rerun"; fi
run "dev-pki refuses a path-like domain" 2 dev-pki "$PKI" --domain ../escape
run "dev-pki without --domain" 2 dev-pki "$PKI"

# RFC 6120 §13.7.2: chain and identity both hold.
run "check-cert ok" 0 check-cert --cert "$PKI/chat.example.crt" --ca "$PKI/ca.crt" --domain chat.example
has "prints dNSName" "^presented: dns:chat.example$" "$OUT"
has "prints SRV-ID" "^presented: srv:_xmpp-server.chat.example$" "$OUT"
has "prints XmppAddr" "^presented: xmpp:chat.example$" "$OUT"
has "chain ok line" "^chain: ok$" "$OUT"
has "identity match line" "^identity: match dns:chat.example$" "$OUT"

run "check-cert with a CA directory" 0 check-cert --cert "$PKI/chat.example.crt" --ca "$PKI" --domain CHAT.example.

# Identity fails, chain holds.
run "check-cert wrong domain" 1 check-cert --cert "$PKI/chat.example.crt" --ca "$PKI/ca.crt" --domain other.example
has "chain still ok" "^chain: ok$" "$OUT"
has "identity nomatch line" "^identity: nomatch " "$OUT"

# Chain fails (unknown CA: the system bundle), identity still judged.
run "check-cert unknown CA" 1 check-cert --cert "$PKI/chat.example.crt" --domain chat.example
has "chain fail unknown-ca" "^chain: fail unknown-ca" "$OUT"
has "identity judged when chain fails" "^identity: match dns:chat.example$" "$OUT"

# RFC 5280 §6.1.3: verification time.
run "check-cert --at before validity" 1 check-cert --cert "$PKI/chat.example.crt" --ca "$PKI/ca.crt" --domain chat.example --at 1000000000
has "chain fail not-yet-valid" "^chain: fail not-yet-valid" "$OUT"
run "check-cert --at after validity" 1 check-cert --cert "$PKI/chat.example.crt" --ca "$PKI/ca.crt" --domain chat.example --at 4000000000
has "chain fail expired" "^chain: fail expired" "$OUT"

# Chain given as --chain (a CA presented as an extra certificate is harmless).
run "check-cert --chain" 0 check-cert --cert "$PKI/chat.example.crt" --chain "$PKI/ca.crt" --ca "$PKI/ca.crt" --domain chat.example

# Service: the SRV-ID is for xmpp-server, but the DNS-ID matches any service.
run "check-cert xmpp-client" 0 check-cert --cert "$PKI/chat.example.crt" --ca "$PKI/ca.crt" --domain chat.example --service xmpp-client

# Usage and unreadable input: exit 2 with a message naming the file.
run "missing --cert" 2 check-cert --domain chat.example
run "missing --domain" 2 check-cert --cert "$PKI/chat.example.crt"
run "bad --service" 2 check-cert --cert "$PKI/chat.example.crt" --domain chat.example --service smtp
run "bad --at" 2 check-cert --cert "$PKI/chat.example.crt" --domain chat.example --at yesterday
run "unknown flag" 2 check-cert --cert "$PKI/chat.example.crt" --domain chat.example --frobnicate
run "unreadable cert" 2 check-cert --cert "$WORK/nope.pem" --domain chat.example
has "message names the file" "nope.pem" "$ERR"
echo "garbage" >"$WORK/garbage.pem"
run "garbage cert" 2 check-cert --cert "$WORK/garbage.pem" --domain chat.example
has "message names the garbage file" "garbage.pem" "$ERR"
run "unreadable CA" 2 check-cert --cert "$PKI/chat.example.crt" --ca "$WORK/none" --domain chat.example
has "message names the CA path" "$WORK/none" "$ERR"

# The count line make test reads (tools/suite-counts.awk): one case per check.
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
