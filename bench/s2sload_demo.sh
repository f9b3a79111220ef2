#!/bin/sh
# s2sload_demo.sh FEDGATE [S2SLOAD_FLAGS...]: two fedgate instances on
# loopback, for providers a.test and b.test, with bench/s2sload.py as the
# internal servers of both: a burst of traffic both ways through
# internal server a.test -> fedgate A -> fedgate B -> internal server b.test
# and back. Prints s2sload's progress and summary, then the gateway-to-gateway
# links from the gateways' logs; stops everything. Exit status: s2sload's
# (0 only if nothing was lost), or 1 when a gateway did not start or died.
# Extra flags go to s2sload (default: --count 1500 --rate 500 --strict: 3 s). KEEP=1 keeps the
# working directory (configs, PKI, gateway logs).
set -u
fedgate=${1:?usage: s2sload_demo.sh FEDGATE [S2SLOAD_FLAGS...]}
shift
case "$fedgate" in /*) ;; *) fedgate="$PWD/$fedgate" ;; esac
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
dir=$(mktemp -d /tmp/fedgate-demo.XXXXXX)
pids=""
stop_gateways() {
  for p in $pids; do kill -TERM "$p" 2>/dev/null; done
  for p in $pids; do wait "$p" 2>/dev/null; done
  pids=""
}
cleanup() {
  stop_gateways
  if [ -n "${KEEP:-}" ]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Ports: s2s, internal, admin per gateway, and the two internal servers.
set -- $($py -c '
import socket
socks = []
for _ in range(10):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))') "$@"
a_s2s=$1 a_int=$2 a_adm=$3 a_srv=$4 a_tls=$5 b_s2s=$6 b_int=$7 b_adm=$8 b_srv=$9
b_tls=${10}
shift 10
[ $# -gt 0 ] || set -- --count 1500 --rate 500 --strict

"$fedgate" dev-pki "$dir/pki" --domain a.test --domain b.test >/dev/null || exit 1
# Each provider's internal CA (internal_hop.ca_cert): its gateway mints the
# certificates it shows its internal servers with it.
"$fedgate" dev-pki "$dir/ica-a" --domain internal.a.test >/dev/null || exit 1
"$fedgate" dev-pki "$dir/ica-b" --domain internal.b.test >/dev/null || exit 1

# config SIDE DOMAIN OTHER S2S INTERNAL ADMIN BACKEND OTHER_S2S S2S_TLS
config() {
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/secret-$1"
  chmod 600 "$dir/secret-$1"
  cat >"$dir/$1.yaml" <<EOF
# fedgate $1: provider $2 (written by bench/s2sload_demo.sh)
log_level: info
workers: 1
listeners:
  s2s: {address: 127.0.0.1, port: $4}
  s2s-tls: {address: 127.0.0.1, port: $9, enabled: false}
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
  secret_file: secret-$1
internal_hop:
  mode: internal-ca
  ca_cert: ica-$1/ca.crt
  ca_key: ica-$1/ca.key
dns:
  static:
    - domain: $3
      targets: ["127.0.0.1:$8"]
EOF
}
config a a.test b.test "$a_s2s" "$a_int" "$a_adm" "$a_srv" "$b_s2s" "$a_tls"
config b b.test a.test "$b_s2s" "$b_int" "$b_adm" "$b_srv" "$a_s2s" "$b_tls"

for side in a b; do
  "$fedgate" run --config "$dir/$side.yaml" >"$dir/$side.log" 2>&1 &
  pids="$pids $!"
  eval "pid_$side=$!"
done
for side in a b; do
  i=0
  until grep -q 'ready:' "$dir/$side.log" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 200 ] || ! kill -0 "$(eval echo "\$pid_$side")" 2>/dev/null; then
      echo "s2sload_demo: fedgate $side did not start:" >&2
      sed 's/^/  /' "$dir/$side.log" >&2
      exit 1
    fi
    sleep 0.05
  done
done
echo "fedgate A (a.test): s2s 127.0.0.1:$a_s2s, internal 127.0.0.1:$a_int; fedgate B (b.test): s2s 127.0.0.1:$b_s2s, internal 127.0.0.1:$b_int" >&2

$py "$here/s2sload.py" --pki "$dir/pki" \
  --client-ca "a.test=$dir/ica-a/ca.crt" --client-ca "b.test=$dir/ica-b/ca.crt" \
  --server-ca "a.test=$dir/ica-a/ca.crt" --server-ca "b.test=$dir/ica-b/ca.crt" \
  --serve "a.test=127.0.0.1:$a_srv" --serve "b.test=127.0.0.1:$b_srv" \
  --send "a.test=127.0.0.1:$a_int" --send "b.test=127.0.0.1:$b_int" \
  --gateway-log "A=$dir/a.log" --gateway-log "B=$dir/b.log" "$@"
rc=$?
for p in $pids; do
  if ! kill -0 "$p" 2>/dev/null; then
    echo "s2sload_demo: a gateway died during the run" >&2
    rc=1
  fi
done
stop_gateways
for side in a b; do
  sed -n 's/.* \(stopped: .*\)/fedgate '"$side"' \1/p' "$dir/$side.log" >&2
done
exit $rc
