#!/bin/sh
# posh_cli_test.sh: `fedgate posh CERT [--expires SECONDS]` prints the RFC 7711
# §3.2 document whose sha-256 and sha-512 fingerprints are openssl's hashes of
# the whole DER certificate (the first of a chain file), and refuses bad
# arguments (exit 2) and unreadable files (exit 1).
fedgate=${1:-gateway/fedgate}
fedgate=$(cd "$(dirname "$fedgate")" && pwd)/$(basename "$fedgate")
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"; fi
pass=0
fail=0
check() {
  if [ "$1" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2"; fi
}
tmp=${TEST_TMPDIR:-/tmp}/posh-cli.$$
mkdir -p "$tmp"
"$fedgate" dev-pki "$tmp" --domain posh.example >/dev/null || check no "dev-pki"
crt=$tmp/posh.example.crt
want256=$(openssl x509 -in "$crt" -outform DER | openssl dgst -sha256 -binary | base64 -w0)
want512=$(openssl x509 -in "$crt" -outform DER | openssl dgst -sha512 -binary | base64 -w0)

out=$("$fedgate" posh "$crt" --expires 86400); rc=$?
[ $rc = 0 ] && check ok || check no "rc=$rc"
echo "$out" | grep -qF "\"sha-256\": \"$want256\"" && check ok || check no "sha-256: $out"
echo "$out" | grep -qF "\"sha-512\": \"$want512\"" && check ok || check no "sha-512: $out"
echo "$out" | grep -q '"expires": 86400' && check ok || check no "expires: $out"
# Valid JSON, and the first certificate of a chain file is the one hashed.
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["fingerprints"]) == 1' \
  && check ok || check no "not JSON: $out"
cat "$crt" "$tmp/ca.crt" > "$tmp/chain.pem"
"$fedgate" posh "$tmp/chain.pem" | grep -qF "$want256" && check ok || check no "chain file"
"$fedgate" posh "$crt" | grep -q expires && check no "expires without --expires" || check ok

"$fedgate" posh >/dev/null 2>&1; [ $? = 2 ] && check ok || check no "no argument: not exit 2"
"$fedgate" posh "$crt" --expires -5 >/dev/null 2>&1; [ $? = 2 ] && check ok || check no "--expires -5"
"$fedgate" posh "$crt" --expires 1x >/dev/null 2>&1; [ $? = 2 ] && check ok || check no "--expires 1x"
"$fedgate" posh "$crt" "$crt" >/dev/null 2>&1; [ $? = 2 ] && check ok || check no "two files"
err=$("$fedgate" posh "$tmp/missing.crt" 2>&1); rc=$?
[ $rc = 1 ] && echo "$err" | grep -q "missing.crt" && check ok || check no "missing file: rc=$rc $err"
echo "not a certificate" > "$tmp/junk.pem"
"$fedgate" posh "$tmp/junk.pem" >/dev/null 2>&1; [ $? = 1 ] && check ok || check no "junk file"
rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
