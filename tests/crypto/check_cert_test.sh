#!/bin/sh
# check_cert_test.sh: `fedgate dev-pki` and `fedgate check-cert` end to end:
# files written, output lines, exit codes (0 ok, 1 negative verdict, 2 usage
# or unreadable input); `check-cert --ocsp` against `openssl ocsp` responders.
set -u

FEDGATE=${1:-gateway/fedgate}
WORK=$(mktemp -d "${TEST_TMPDIR:-/tmp}/check_cert.XXXXXX")
PIDS=""  # background OCSP responders
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT
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
run "dev-pki --xmppaddr without --domain" 2 dev-pki "$WORK/ca-only" --xmppaddr
CA_ONLY=$WORK/ca-only
run "dev-pki without --domain writes the CA alone" 0 dev-pki "$CA_ONLY"
has "prints the CA files" "^$CA_ONLY/ca.key$" "$OUT"
files=$(ls "$CA_ONLY" | tr '\n' ' ')
if [ "$files" = "ca.crt ca.key " ]; then ok "CA alone: only ca.crt and ca.key"; else bad "CA alone wrote: $files"; fi
cp "$CA_ONLY/ca.key" "$WORK/ca-only-before.key"
run "dev-pki without --domain reuses the CA" 0 dev-pki "$CA_ONLY"
if cmp -s "$CA_ONLY/ca.key" "$WORK/ca-only-before.key"; then ok "CA key kept on rerun"; else bad "CA key replaced"; fi
run "dev-pki adds a domain under the CA made alone" 0 dev-pki "$CA_ONLY" --domain later.example
run "check-cert: the CA made alone signs valid chains" 0 check-cert --cert "$CA_ONLY/later.example.crt" --ca "$CA_ONLY/ca.crt" --domain later.example

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

# --- check-cert --ocsp against real OpenSSL OCSP responders (`openssl ocsp
# -index`) on loopback, over a CA built with the openssl CLI: good, revoked
# (time and reason), unknown, a delegated responder (RFC 6960 §4.2.2.2), a
# responder certified by another CA, no responder URL, a closed port, usage.
OCSP=$WORK/ocsp
mkdir -p "$OCSP"
if ! command -v openssl >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
  bad "openssl and python3 are needed for the OCSP cases (tools/debian-packages.txt)"
  echo "$PASS passed, $FAIL failed"
  exit 1
fi

lacks() {  # lacks NAME PATTERN TEXT
  if printf '%s\n' "$3" | grep -q -- "$2"; then bad "$1: '$2' in: $3"; else ok "$1"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# responder NAME PORT SIGNER_CERT SIGNER_KEY: an `openssl ocsp` responder for
# the test CA's index, in the background until the test ends.
responder() {
  openssl ocsp -index "$OCSP/index.txt" -port "$2" -CA "$OCSP/ca.crt" -rsigner "$3" -rkey "$4" \
    -nmin 5 -ignore_err >"$OCSP/$1.log" 2>&1 &
  PIDS="$PIDS $!"
  i=0
  while [ $i -lt 100 ]; do
    if grep -q "waiting for OCSP client connections" "$OCSP/$1.log"; then return 0; fi
    sleep 0.1
    i=$((i + 1))
  done
  bad "responder $1 did not start: $(cat "$OCSP/$1.log")"
}

q() { openssl "$@" >>"$OCSP/openssl.log" 2>&1 || { echo "openssl $*: failed"; cat "$OCSP/openssl.log"; exit 1; }; }

# ca NAME CN: a self-signed P-256 CA.
ca() {
  q req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$OCSP/$1.key" \
    -out "$OCSP/$1.crt" -days 30 -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# cert NAME SERIAL EXTFILE [CA]: a P-256 certificate with the extensions of
# EXTFILE, issued by CA (default ca).
cert() {
  issuer=${4:-ca}
  q req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$OCSP/$1.key" \
    -out "$OCSP/$1.csr" -subj "/CN=$1"
  q x509 -req -in "$OCSP/$1.csr" -CA "$OCSP/$issuer.crt" -CAkey "$OCSP/$issuer.key" \
    -set_serial "$2" -days 30 -sha256 -extfile "$3" -out "$OCSP/$1.crt"
}

PORT=$(free_port)
CLOSED=$(free_port)
LEAF_EXT=$OCSP/leaf.ext
cat >"$LEAF_EXT" <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:chat.example
authorityInfoAccess=OCSP;URI:http://127.0.0.1:$PORT/
EOF
grep -v authorityInfoAccess "$LEAF_EXT" >"$OCSP/noaia.ext"
cat >"$OCSP/responder.ext" <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=OCSPSigning
EOF

ca ca "fedgate test CA"
ca other "another CA"
cert good 0x1001 "$LEAF_EXT"
cert revoked 0x1002 "$LEAF_EXT"
cert unlisted 0x1003 "$LEAF_EXT"
cert noaia 0x1004 "$OCSP/noaia.ext"
cert responder 0x1005 "$OCSP/responder.ext"
cert stranger 0x2001 "$OCSP/responder.ext" other
# The CA database (openssl ca's index format): status, expiry, revocation
# time and reason, serial, file name, subject. 0x1003 is not listed: unknown.
printf 'V\t301231235959Z\t\t1001\tunknown\t/CN=good\n' >"$OCSP/index.txt"
printf 'R\t301231235959Z\t240102030405Z,keyCompromise\t1002\tunknown\t/CN=revoked\n' >>"$OCSP/index.txt"
printf 'V\t301231235959Z\t\t1005\tunknown\t/CN=responder\n' >>"$OCSP/index.txt"

PORT_DELEGATED=$(free_port)
PORT_STRANGER=$(free_port)
responder issuer "$PORT" "$OCSP/ca.crt" "$OCSP/ca.key"
responder delegated "$PORT_DELEGATED" "$OCSP/responder.crt" "$OCSP/responder.key"
responder stranger "$PORT_STRANGER" "$OCSP/stranger.crt" "$OCSP/stranger.key"

CC="check-cert --ca $OCSP/ca.crt --domain chat.example --ocsp"
ISO='[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'

# RFC 6960 §2.2 good, from the AIA responder (RFC 5280 §4.2.2.1), signed by the CA.
run "good leaf" 0 $CC --cert "$OCSP/good.crt"
has "chain still judged" "^chain: ok$" "$OUT"
has "identity still judged" "^identity: match dns:chat.example$" "$OUT"
has "revocation good" "^revocation: good$" "$OUT"
has "source is the AIA URL" "^revocation-source: ocsp http://127.0.0.1:$PORT/$" "$OUT"
has "responder is the issuer" "^revocation-responder: issuer$" "$OUT"
has "this-update ISO 8601" "^revocation-this-update: $ISO$" "$OUT"
has "next-update ISO 8601 (-nmin)" "^revocation-next-update: $ISO$" "$OUT"
has "loopback AIA noted" "^revocation-note: .*loopback" "$OUT"
lacks "no revocation-time for good" "^revocation-time:" "$OUT"
lacks "no error for good" "^revocation-error:" "$OUT"
n=$(printf '%s\n' "$OUT" | grep -c '^revocation: ')
if [ "$n" = 1 ]; then ok "exactly one revocation line"; else bad "$n revocation lines"; fi

# The issuer taken from --chain instead of --ca.
run "good leaf, issuer from --chain" 0 $CC --cert "$OCSP/good.crt" --chain "$OCSP/ca.crt"
has "good with --chain" "^revocation: good$" "$OUT"

# RFC 6960 §2.2 revoked, RFC 5280 §5.3.1 reason: exit 1 like a chain failure.
run "revoked leaf" 1 $CC --cert "$OCSP/revoked.crt"
has "chain ok for revoked" "^chain: ok$" "$OUT"
has "revocation revoked" "^revocation: revoked$" "$OUT"
has "revocation time" "^revocation-time: 2024-01-02T03:04:05Z$" "$OUT"
has "revocation reason" "^revocation-reason: keyCompromise$" "$OUT"
has "revoked has this-update" "^revocation-this-update: $ISO$" "$OUT"

# RFC 6960 §2.2 unknown: printed, exit status unchanged.
run "unlisted leaf" 0 $CC --cert "$OCSP/unlisted.crt"
has "revocation unknown" "^revocation: unknown$" "$OUT"

# --ocsp-url replaces the AIA responder, and is not noted as special.
run "--ocsp-url" 0 $CC --cert "$OCSP/good.crt" --ocsp-url "http://127.0.0.1:$PORT"
has "source is --ocsp-url" "^revocation-source: ocsp http://127.0.0.1:$PORT$" "$OUT"
lacks "no loopback note for --ocsp-url" "^revocation-note: .*loopback" "$OUT"

# RFC 6960 §4.2.2.2: a responder certificate issued by the CA with id-kp-OCSPSigning.
run "delegated responder" 0 $CC --cert "$OCSP/good.crt" --ocsp-url "http://127.0.0.1:$PORT_DELEGATED/"
has "delegated good" "^revocation: good$" "$OUT"
has "delegated responder named" "^revocation-responder: delegated (responder)$" "$OUT"
run "delegated responder, revoked" 1 $CC --cert "$OCSP/revoked.crt" --ocsp-url "http://127.0.0.1:$PORT_DELEGATED/"
has "delegated revoked" "^revocation: revoked$" "$OUT"

# A responder certificate from another CA may not answer for this one.
run "responder of another CA" 0 $CC --cert "$OCSP/revoked.crt" --ocsp-url "http://127.0.0.1:$PORT_STRANGER/"
has "stranger no-answer" "^revocation: no-answer$" "$OUT"
has "stranger unauthorized-signer" "^revocation-error: unauthorized-signer" "$OUT"

# No answer: exit status unchanged, an error line says why.
run "closed port" 0 $CC --cert "$OCSP/good.crt" --ocsp-url "http://127.0.0.1:$CLOSED/" --ocsp-timeout 5
has "closed port no-answer" "^revocation: no-answer$" "$OUT"
has "closed port error" "^revocation-error: HTTP connect" "$OUT"
has "closed port source" "^revocation-source: ocsp http://127.0.0.1:$CLOSED/$" "$OUT"
lacks "no this-update without an answer" "^revocation-this-update:" "$OUT"

run "no AIA, no --ocsp-url" 0 $CC --cert "$OCSP/noaia.crt"
has "no AIA no-answer" "^revocation: no-answer$" "$OUT"
has "no AIA error" "^revocation-error: no OCSP responder URL$" "$OUT"

# The issuer must be found: the responder cannot be asked without it.
run "issuer unknown" 1 check-cert --ca "$OCSP/other.crt" --domain chat.example --ocsp --cert "$OCSP/good.crt"
has "issuer unknown no-answer" "^revocation: no-answer$" "$OUT"
has "issuer unknown error" "^revocation-error: issuer certificate not found" "$OUT"

# A chain failure still exits 1 whatever the responder says.
run "good leaf, wrong domain" 1 check-cert --ca "$OCSP/ca.crt" --domain other.example --ocsp --cert "$OCSP/good.crt"
has "good printed with identity failure" "^revocation: good$" "$OUT"

# Without --ocsp nothing is asked.
run "no --ocsp" 0 check-cert --ca "$OCSP/ca.crt" --domain chat.example --cert "$OCSP/revoked.crt"
lacks "no revocation line without --ocsp" "^revocation" "$OUT"

# Usage errors.
run "bad --ocsp-url" 2 $CC --cert "$OCSP/good.crt" --ocsp-url "not a url"
run "https --ocsp-url" 2 $CC --cert "$OCSP/good.crt" --ocsp-url "https://127.0.0.1/"
has "usage error names the URL" "https://127.0.0.1/" "$ERR"
run "--ocsp-url without a value" 2 $CC --cert "$OCSP/good.crt" --ocsp-url
run "--ocsp-timeout 0" 2 $CC --cert "$OCSP/good.crt" --ocsp-timeout 0
run "--ocsp-timeout words" 2 $CC --cert "$OCSP/good.crt" --ocsp-timeout soon
run "--ocsp-url without --ocsp" 2 check-cert --ca "$OCSP/ca.crt" --domain chat.example --cert "$OCSP/good.crt" --ocsp-url "http://127.0.0.1:$PORT/"
run "unknown --ocsp-flag" 2 $CC --cert "$OCSP/good.crt" --ocsp-stapling

# The count line make test reads (tools/suite-counts.awk): one case per check.
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
