#!/bin/sh
# check_config_cli_test.sh: `fedgate check-config FILE` on every file in
# examples/ (must pass), on broken files (exit 1 with FILE:LINE diagnostics)
# and with bad arguments (exit 2).
fedgate=${1:-gateway/fedgate}
fedgate=$(cd "$(dirname "$fedgate")" && pwd)/$(basename "$fedgate")
# Under ASan the binary still links jemalloc, and Android BoringSSL frees
# through jemalloc's sdallocx (a weak symbol it finds once jemalloc is loaded)
# memory that ASan's malloc handed out, which LeakSanitizer reports as leaks
# of every certificate parsed. The loader's own leak checks run in
# config_test, which does not link jemalloc.
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"; fi
pass=0
fail=0
check() {
  if [ "$1" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2"; fi
}
n=0
for f in examples/*.yaml; do
  n=$((n + 1))
  out=$("$fedgate" check-config "$f" 2>/tmp/cc_err.$$); rc=$?
  [ $rc = 0 ] && echo "$out" | grep -q '^config ok: [0-9]* domains*, [0-9]* backends*, listeners s2s ' \
    && check ok || check no "$f: rc=$rc $out $(cat /tmp/cc_err.$$)"
done
[ $n -ge 3 ] && check ok || check no "found only $n examples"
# The summary says which listeners speak the PROXY protocol.
"$fedgate" check-config examples/behind-haproxy.yaml 2>/dev/null |
  grep -q 's2s \[::\]:5269 (PROXY protocol from 1 network), s2s-tls \[::\]:5270 (PROXY protocol from 1 network), internal' \
  && check ok || check no "behind-haproxy.yaml: no PROXY protocol in the summary"
# Examples also pass from another working directory (paths are relative to the file).
abs=$(cd examples && pwd)
(cd / && "$fedgate" check-config "$abs/fedgate.yaml" >/dev/null 2>&1) && check ok || check no "cwd-independent"

tmp=${TEST_TMPDIR:-/tmp}/cc.$$
mkdir -p "$tmp"
cp -r examples/pki "$tmp/pki"
cat > "$tmp/bad.yaml" <<'YAML'
domains:
  - name: example.com
    backend: main
  - name: Example.COM
    backend: nowhere
backends:
  - name: main
    addresses: ["10.0.0.1:99999"]
tls:
  default_cert: pki/example.com.crt
  default_key: pki/example.com.key
limits:
  element_bytes_after_auth: 4096
internal_hop:
  ca_cert: pki/internal-ca.crt
  ca_key: pki/missing.key
YAML
err=$("$fedgate" check-config "$tmp/bad.yaml" 2>&1 >/dev/null); rc=$?
[ $rc = 1 ] && check ok || check no "bad config exits 1 (rc=$rc)"
for want in \
  "$tmp/bad.yaml:4: domains\[1\].name: duplicate domain (first at line 2) (value 'Example.COM')" \
  "$tmp/bad.yaml:8: backends\[0\].addresses\[0\]: the port must be a number from 1 to 65535 (value '10.0.0.1:99999')" \
  "$tmp/bad.yaml:13: limits.element_bytes_after_auth: must be between 10000 and 67108864 (value '4096')" \
  "$tmp/bad.yaml:16: internal_hop.ca_key: cannot open $tmp/pki/missing.key" \
  "config invalid: 4 errors"; do
  echo "$err" | grep -q "^$want" && check ok || check no "missing diagnostic: $want
got: $err"
done
printf 'listeners:\n  s2s:\n    port: 5269\n    prot: 1\n' > "$tmp/unknown.yaml"
err=$("$fedgate" check-config "$tmp/unknown.yaml" 2>&1); rc=$?
[ $rc = 1 ] && echo "$err" | grep -q "^$tmp/unknown.yaml:4: listeners.s2s.prot: unknown key" \
  && check ok || check no "unknown key: rc=$rc $err"
err=$("$fedgate" check-config 2>&1); rc=$?
[ $rc = 2 ] && echo "$err" | grep -q "missing FILE" && check ok || check no "no FILE: rc=$rc"
err=$("$fedgate" check-config a b 2>&1); rc=$?
[ $rc = 2 ] && echo "$err" | grep -q "unexpected argument 'b'" && check ok || check no "two files: rc=$rc"
err=$("$fedgate" check-config --frob 2>&1); rc=$?
[ $rc = 2 ] && check ok || check no "unknown option: rc=$rc"
err=$("$fedgate" check-config "$tmp/none.yaml" 2>&1); rc=$?
[ $rc = 1 ] && echo "$err" | grep -q "none.yaml: cannot open" && check ok || check no "missing file: rc=$rc"
rm -rf "$tmp" /tmp/cc_err.$$
echo "$pass passed, $fail failed"
[ $fail = 0 ]
