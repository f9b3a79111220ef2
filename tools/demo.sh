#!/bin/sh
# demo.sh (make demo): two providers federating through two gateways on
# loopback. fedgate A serves a.test, fedgate B serves b.test; bench/s2sload
# plays the internal servers of both providers and sends a short burst of
# realistic traffic both ways (messages, presence, iq). Prints a live progress
# line, then a summary; exits 0 only if nothing was lost.
set -u
cd "$(dirname "$0")/.."
bazel=${BAZEL:-bazel}
count=${DEMO_COUNT:-500}
$bazel build //gateway:fedgate >/dev/null 2>&1 || $bazel build //gateway:fedgate || exit 1
fedgate="$($bazel info bazel-bin 2>/dev/null)/gateway/fedgate"
echo "== $("$fedgate" --version | head -1); kernel features:"
"$fedgate" probe | sed 's/^/   /'

dir=$(mktemp -d /tmp/fedgate-demo.XXXXXX)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

free_ports() {
  /usr/bin/python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}
set -- $(free_ports 12)
a_s2s=$1 a_tls=$2 a_int=$3 a_admin=$4 a_sink=$5
b_s2s=$6 b_tls=$7 b_int=$8 b_admin=$9 b_sink=${10}

echo "== dev PKI (fedgate dev-pki): a CA, a.test, b.test; an internal CA per gateway"
"$fedgate" dev-pki "$dir/pki" --domain a.test --domain b.test >/dev/null || exit 1
"$fedgate" dev-pki "$dir/ica" --domain internal.invalid >/dev/null || exit 1
head -c 48 /dev/urandom | base64 >"$dir/secret"
chmod 600 "$dir/secret"

gateway_config() {  # name domain s2s tls internal admin sink peer peer_s2s
  cat >"$dir/$1.yaml" <<CFG
log_level: info
workers: 2
listeners:
  s2s: {address: 127.0.0.1, port: $3}
  s2s-tls: {address: 127.0.0.1, port: $4, enabled: true}
  internal: {address: 127.0.0.1, port: $5}
  admin: {address: 127.0.0.1, port: $6}
domains:
  - name: $2
    backend: internal
    cert: pki/$2.crt
    key: pki/$2.key
backends:
  - name: internal
    addresses: ["127.0.0.1:$7"]
tls:
  trust_file: pki/ca.crt
dialback:
  secret_file: secret
internal_hop:
  mode: internal-ca
  ca_cert: ica/ca.crt
  ca_key: ica/ca.key
dns:
  static:
    - domain: $8
      targets: ["127.0.0.1:$9"]
CFG
}
gateway_config gw-a a.test "$a_s2s" "$a_tls" "$a_int" "$a_admin" "$a_sink" b.test "$b_s2s"
gateway_config gw-b b.test "$b_s2s" "$b_tls" "$b_int" "$b_admin" "$b_sink" a.test "$a_s2s"
"$fedgate" run --config "$dir/gw-a.yaml" >"$dir/gw-a.log" 2>&1 &
pids="$pids $!"
"$fedgate" run --config "$dir/gw-b.yaml" >"$dir/gw-b.log" 2>&1 &
pids="$pids $!"
for port in "$a_admin" "$b_admin"; do
  i=0
  until /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "a gateway did not start:"; cat "$dir"/gw-*.log; exit 1; }
    sleep 0.1
  done
done
echo "== fedgate A (a.test) and fedgate B (b.test) running; s2sload plays both internal servers"
/usr/bin/python3 bench/s2sload.py --pki "$dir/pki" --client-ca "$dir/ica/ca.crt" \
  --server-ca "$dir/ica/ca.crt" \
  --serve a.test=127.0.0.1:"$a_sink" --serve b.test=127.0.0.1:"$b_sink" \
  --send a.test=127.0.0.1:"$a_int" --send b.test=127.0.0.1:"$b_int" \
  --count "$count" --grace 10 >"$dir/summary.txt"
rc=$?
cat "$dir/summary.txt"
echo "== gateway links (TLS version, cipher, authentication)"
grep -h "link .* ready via" "$dir"/gw-*.log | sed 's/^[^ ]* [a-z]* stream=[^ ]* peer=[^ ]*: /   /' | sort -u
for g in a b; do
  port=$(eval echo "\$${g}_admin")
  /usr/bin/python3 - "$g" "$port" <<'PY'
import sys, urllib.request
g, port = sys.argv[1], int(sys.argv[2])
m = {}
for line in urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port).read().decode().splitlines():
    if line.startswith("fedgate_") and " " in line and "{" not in line:
        k, v = line.split()
        m[k[8:]] = int(v)
print("   fedgate %s: stanzas in %d, delivered %d, bounced %d, not bounced %d; "
      "authenticated: %d SASL EXTERNAL, %d dialback" % (
          g.upper(), m["stanzas_in_total"], m["stanzas_delivered_total"],
          m["stanzas_bounced_total"], m["stanzas_undeliverable_not_bounced_total"],
          m["auth_sasl_external_total"], m["auth_dialback_total"]))
PY
done
if [ $rc = 0 ]; then echo "demo: ok (nothing lost)"; else echo "demo: FAILED (see above)"; fi
exit $rc
