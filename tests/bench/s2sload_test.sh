#!/bin/sh
# s2sload_test.sh: bench/s2sload end to end, no timing thresholds. Without a
# SUT (--target self: the sink terminates the remote streams' TLS itself):
# a short closed-loop and open-loop relay deliver everything exactly once; a
# sink that drops stanzas is caught (exit 1, lost > 0); churn (full and
# resumed) and idle complete; usage errors exit 2. Then through a real
# fedgate (direct TLS in, SASL EXTERNAL with dev-pki certificates, dialback
# hop to the s2s-listen sink): relay, churn and idle with small numbers.
# Then Prosody (component sink) and HAProxy (TLS termination in front of the
# plain-listen sink): both are in tools/debian-packages.txt, so a missing one
# is a failure, not a skip.
set -u

S2SLOAD=$1
FEDGATE=$2
WORK=$(mktemp -d "${TEST_TMPDIR:-/tmp}/s2sload.XXXXXX")
FGPID=
cleanup() {
  if [ -n "$FGPID" ]; then kill "$FGPID" 2>/dev/null; wait "$FGPID" 2>/dev/null; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); echo "[       OK ] $1"; }
bad() { FAIL=$((FAIL + 1)); echo "[  FAILED  ] $1"; }

# run NAME WANT_RC ARGS...: runs s2sload with --json; JSON in $WORK/out.
run() {
  name=$1 want=$2
  shift 2
  "$S2SLOAD" "$@" --json >"$WORK/out" 2>"$WORK/err"
  rc=$?
  if [ "$rc" -eq "$want" ]; then
    ok "$name (exit $rc)"
  else
    bad "$name (exit $rc, want $want)"
    cat "$WORK/out" "$WORK/err"
  fi
}

# check NAME PYTHON_EXPR: evaluates EXPR with r = the last JSON object.
check() {
  if python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" \
    "$WORK/out" 2>/dev/null; then
    ok "$1"
  else
    bad "$1: ($2) is false for: $(cat "$WORK/out")"
  fi
}

has() {  # has NAME PATTERN TEXT
  if printf '%s\n' "$3" | grep -q -- "$2"; then ok "$1"; else bad "$1: no '$2' in: $3"; fi
}

free_port() {  # reserved against the other suites running meanwhile
  /usr/bin/python3 tests/e2e/ports.py
}

SHORT="--seconds 0.5 --warmup 0.2 --drain 3"

# --- no SUT -----------------------------------------------------------------------
run "relay, closed loop, mixed stanzas" 0 relay --target self $SHORT
check "relay: every stanza delivered once" \
  "r['sent'] > 1000 and r['delivered'] == r['sent'] and r['lost'] == 0 and r['duplicated'] == 0"
check "relay: latency percentiles ordered" \
  "0 < r['latency_us']['p50'] <= r['latency_us']['p90'] <= r['latency_us']['p99'] <= r['latency_us']['max']"
check "relay: keys of the contract" \
  "set(['mode','sink','seconds','streams','stanza_size','sent','delivered','delivered_per_s','lost','duplicated','out_of_order','latency_us','establishments','establishments_per_s','resumed','bytes_per_idle_stream','sut_cpu_s','sut_cpu_util','sut_rss_kb','gen_cpu_s','gen_cpu_util','generator_bound','errors','verified','corrupted','unverifiable','tls','send_lag_us','sut_runq_wait_share','gen_runq_wait_share','cpu_contended']) <= set(r)"
check "relay, closed loop: no send lag (nothing is scheduled), no SUT thread to read" \
  "r['send_lag_us'] is None and r['sut_runq_wait_share'] is None and r['gen_runq_wait_share'] >= 0"

run "relay, 256-byte stanzas, 2 streams per remote" 0 relay --target self $SHORT --size 256 \
  --remotes 2 --streams-per-remote 2 --window 64
check "relay --size: stanza_size and streams reported" \
  "r['stanza_size'] == 256 and r['streams'] == 4 and r['delivered'] == r['sent'] > 0"

run "relay, sink parsing every stanza with the project's parser" 0 relay --target self $SHORT \
  --sink-parse full
check "relay --sink-parse full: every stanza delivered once" \
  "r['sent'] > 1000 and r['delivered'] == r['sent'] and r['duplicated'] == 0"
check "relay --sink-parse full: every stanza checked whole (from, to, length, digest)" \
  "r['verified'] == r['delivered'] and r['corrupted'] == 0 and r['unverifiable'] == 0"
check "relay: the negotiated TLS reported (RFC 8446)" \
  "r['tls']['version'] == 'TLSv1.3' and r['tls']['cipher'].startswith('TLS_') and r['tls']['other_negotiations'] == 0"

run "relay, TLS 1.2 pinned to one AES-256-GCM suite" 0 relay --target self $SHORT --size 256 \
  --tls12-cipher ECDHE-ECDSA-AES256-GCM-SHA384
check "--tls12-cipher: RFC 5289 suite negotiated" \
  "r['tls']['version'] == 'TLSv1.2' and r['tls']['cipher'] == 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384' and r['delivered'] == r['sent']"
run "an unknown --tls12-cipher is an error" 1 relay --target self $SHORT --tls12-cipher NO-SUCH \
  --setup-timeout 3

run "relay, open loop at 2000/s" 0 relay --target self $SHORT --rate 2000 --sut-pid $$ --sut-tid $$
check "open loop: about rate x seconds delivered in the window" \
  "500 <= r['delivered_per_s'] * r['seconds'] <= 1500 and r['lost'] == 0 and r['sut_rss_kb'] > 0"
check "open loop: the generator's send lag reported, ordered" \
  "0 <= r['send_lag_us']['p50'] <= r['send_lag_us']['p99'] <= r['send_lag_us']['max']"
check "open loop: latency counts from the scheduled time, so it includes the send lag" \
  "r['send_lag_us']['p99'] <= r['latency_us']['p99'] and r['send_lag_us']['max'] <= r['latency_us']['max']"
check "open loop: CPU waits of the --sut-tid thread and the generator reported" \
  "0 <= r['sut_runq_wait_share'] and 0 <= r['gen_runq_wait_share'] and r['cpu_contended'] in (True, False)"

run "a sink that drops every 50th stanza is caught" 1 relay --target self $SHORT \
  --sink-drop-every 50 --drain 0.5
check "drop: lost counted" "r['lost'] > 0 and r['delivered'] + r['lost'] == r['sent']"

# --reconnect does not excuse losses on streams that never died.
run "--reconnect: a dropping sink is still caught" 1 relay --target self $SHORT --reconnect \
  --sink-drop-every 50 --drain 0.5
check "--reconnect: nothing died, the losses are not on dead streams" \
  "r['reconnects'] == 0 and r['lost_on_dead_streams'] == 0 and r['lost'] > 0 and r['bounced'] == 0"

run "churn, full handshakes" 0 churn --target self --seconds 0.5 --warmup 0.1 --concurrency 4
check "churn: establishments counted, none resumed" \
  "r['establishments'] > 0 and r['resumed'] == 0 and r['lost'] == 0"

run "churn, resumed sessions" 0 churn --target self --seconds 0.5 --warmup 0.2 --resume
check "churn --resume: sessions resumed" "r['establishments'] > 0 and r['resumed'] > 0"

run "idle, 200 streams" 0 idle --target self --streams 200 --hold 0.2 --sut-pid $$ \
  --connect-parallel 16
check "idle: bytes_per_idle_stream reported" \
  "r['streams'] == 200 and r['bytes_per_idle_stream'] is not None and r['delivered'] == 400"
check "idle: every stream answered its final stanza, time to establish reported" \
  "r['streams_ready'] == 200 and r['streams_answered'] == 200 and r['setup_s'] > 0"
check "idle: two waves of half, the margin and the figure from the start reported" \
  "r['streams_half'] == 100 and r['sut_rss_kb_half'] >= r['sut_rss_kb_start'] and r['bytes_per_idle_stream_from_start'] is not None"

run "usage: no mode" 2
run "usage: unknown mode" 2 flood --target self
run "usage: unknown option" 2 relay --target self --frobnicate
run "usage: missing sink" 2 relay --target 127.0.0.1:5270
run "usage: bad number" 2 relay --target self --window 0
run "usage: bad --sink-parse" 2 relay --target self --sink-parse tree
run "usage: size below the minimum" 2 relay --target self --size 100
run "usage: bad --sut-tid" 2 churn --target self --sut-tid 12,x
run "nothing listening at the target: streams fail" 1 relay --target 127.0.0.1:1 \
  --sink s2s-listen 127.0.0.1:0 --setup-timeout 3 $SHORT
check "unreachable: errors reported" "r['errors'] >= 4 and r['sent'] == 0"

# --- through fedgate -------------------------------------------------------------
PKI=$WORK/pki
"$FEDGATE" dev-pki "$PKI" --domain sink.bench.test --domain r1.bench.test --domain r2.bench.test \
  >/dev/null || bad "dev-pki"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/dialback.secret"
chmod 600 "$WORK/dialback.secret"
P_TLS=$(free_port)
P_S2S=$(free_port)
P_INT=$(free_port)
P_ADM=$(free_port)
P_SINK=$(free_port)
cat >"$WORK/fg.yaml" <<YAML
workers: 1
listeners:
  s2s: { address: 127.0.0.1, port: $P_S2S }
  s2s-tls: { address: 127.0.0.1, port: $P_TLS }
  internal: { address: 127.0.0.1, port: $P_INT }
  admin: { address: 127.0.0.1, port: $P_ADM }
domains:
  - name: sink.bench.test
    backend: sink
backends:
  - name: sink
    addresses: ["127.0.0.1:$P_SINK"]
tls:
  default_cert: pki/sink.bench.test.crt
  default_key: pki/sink.bench.test.key
  trust_file: pki/ca.crt
dialback:
  secret_file: dialback.secret
internal_hop:
  mode: dialback
  plaintext: true
limits:
  streams_per_ip: 10000
YAML
"$FEDGATE" run --config "$WORK/fg.yaml" >"$WORK/fedgate.log" 2>&1 &
FGPID=$!
up=0
for _ in $(seq 100); do
  if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $P_TLS), 0.2)" 2>/dev/null; then
    up=1
    break
  fi
  sleep 0.1
done
if [ $up -eq 1 ]; then ok "fedgate started"; else bad "fedgate did not start: $(cat "$WORK/fedgate.log")"; fi
FG="--target 127.0.0.1:$P_TLS --sink s2s-listen 127.0.0.1:$P_SINK --pki $PKI --remotes 2 --sut-pid $FGPID"

run "fedgate: relay" 0 relay $FG $SHORT --size 256
check "fedgate relay: all delivered, SUT measured" \
  "r['sent'] > 1000 and r['delivered'] == r['sent'] and r['sut_cpu_s'] is not None and r['sut_rss_kb'] > 0"
run "fedgate: relay, mixed stanzas parsed in full by the sink" 0 relay $FG $SHORT --sink-parse full
check "fedgate relay (full parse): all delivered" "r['sent'] > 1000 and r['delivered'] == r['sent']"
check "fedgate relay (full parse): every stanza re-serialised whole (RFC 6120 8.1.3)" \
  "r['verified'] == r['delivered'] and r['corrupted'] == 0"
run "fedgate: relay on TLS 1.2 ECDHE-ECDSA-AES256-GCM-SHA384" 0 relay $FG $SHORT --size 1024 \
  --tls12-cipher ECDHE-ECDSA-AES256-GCM-SHA384
check "fedgate accepts the pinned TLS 1.2 suite" \
  "r['tls']['cipher'] == 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384' and r['delivered'] == r['sent'] > 0"
run "fedgate: churn with resumption" 0 churn $FG --seconds 0.5 --warmup 0.2 --resume --concurrency 4
check "fedgate churn: established and resumed" "r['establishments'] > 0 and r['resumed'] > 0"
# The busiest thread of fedgate (workers: 1) is its worker.
TID=$(for t in /proc/$FGPID/task/*; do
  echo "$(awk '{sub(/.*\) /, ""); print $12 + $13}' "$t/stat") ${t##*/}"
done | sort -n | tail -1 | cut -d' ' -f2)
run "fedgate: churn measured on the worker thread (--sut-tid)" 0 churn $FG --seconds 0.5 \
  --warmup 0.2 --concurrency 4 --sut-tid "$TID"
check "fedgate churn: worker thread CPU measured, at most the process's" \
  "r['sut_worker_cpu_s'] is not None and r['sut_worker_cpu_s'] <= r['sut_cpu_s'] + 0.02"
FG_STARTTLS="--target 127.0.0.1:$P_S2S --starttls --sink s2s-listen 127.0.0.1:$P_SINK --pki $PKI --remotes 2 --sut-pid $FGPID"
run "fedgate: relay over STARTTLS (RFC 6120 section 5)" 0 relay $FG_STARTTLS $SHORT --size 512
check "fedgate relay over STARTTLS: all delivered" "r['sent'] > 1000 and r['delivered'] == r['sent']"
run "fedgate: churn over STARTTLS with resumption" 0 churn $FG_STARTTLS --seconds 0.5 --warmup 0.2 \
  --resume --concurrency 4
check "fedgate churn over STARTTLS: established and resumed" \
  "r['establishments'] > 0 and r['resumed'] > 0"
run "fedgate: --starttls against the direct-TLS port fails cleanly" 1 relay --starttls \
  --target 127.0.0.1:$P_TLS --sink s2s-listen 127.0.0.1:$P_SINK --pki $PKI --remotes 2 \
  --seconds 0.3 --warmup 0 --drain 0.3 --setup-timeout 3
run "fedgate: idle" 0 idle $FG --streams 100 --hold 0.2
check "fedgate idle: 100 streams, memory measured" \
  "r['delivered'] == 200 and r['bytes_per_idle_stream'] is not None and r['streams_answered'] == 100"
run "a missing --pki directory is an error" 1 relay $FG $SHORT --pki "$WORK/none"
"$FEDGATE" dev-pki "$WORK/other" --domain r1.bench.test --domain r2.bench.test >/dev/null
run "fedgate: its certificate does not verify against another CA" 1 relay $FG $SHORT \
  --pki "$WORK/other" --setup-timeout 3
has "verification failure explained" "does not verify against the CA" "$(cat "$WORK/err")"
run "fedgate: untrusted client certificates get no EXTERNAL" 1 relay $FG $SHORT \
  --pki "$WORK/other" --insecure --setup-timeout 3
has "missing EXTERNAL explained" "offers no SASL EXTERNAL" "$(cat "$WORK/err")"

kill "$FGPID" 2>/dev/null
wait "$FGPID" 2>/dev/null
FGPID=

# --- through Prosody (XEP-0114 component sink) and HAProxy (plain-listen) -----
# make deps installs both (tools/debian-packages.txt); the benchmark compares
# fedgate with them, so their paths through s2sload must work here.
if command -v prosody >/dev/null 2>&1; then
  PRO=$WORK/prosody
  mkdir -p "$PRO/data" "$PRO/certs"
  cp "$PKI/sink.bench.test.crt" "$PRO/certs/server.crt"
  cp "$PKI/sink.bench.test.key" "$PRO/certs/server.key"
  cp "$PKI/ca.crt" "$PRO/certs/ca.crt"
  P_C2S=$(free_port)
  P_PS2S=$(free_port)
  P_PTLS=$(free_port)
  P_COMP=$(free_port)
  cat >"$PRO/prosody.cfg.lua" <<LUA
pidfile = "$PRO/prosody.pid"
data_path = "$PRO/data"
certificates = "$PRO/certs"
daemonize = false
log = { info = "$PRO/prosody.log" }
interfaces = { "127.0.0.1" }
c2s_ports = { $P_C2S }
s2s_ports = { $P_PS2S }
s2s_direct_tls_ports = { $P_PTLS }
c2s_direct_tls_ports = {}
component_ports = { $P_COMP }
component_interfaces = { "127.0.0.1" }
http_ports = {}
https_ports = {}
modules_enabled = { "saslauth"; "tls"; "dialback"; "s2s_auth_certs" }
modules_disabled = { "s2s_bidi"; "posix" }
s2s_require_encryption = true
s2s_secure_auth = true
ssl = { certificate = "$PRO/certs/server.crt"; key = "$PRO/certs/server.key"; cafile = "$PRO/certs/ca.crt" }
VirtualHost "prosody.bench.test"
Component "sink.bench.test"
  component_secret = "bench-secret"
LUA
  chown -R prosody "$PRO" 2>/dev/null
  prosody --config "$PRO/prosody.cfg.lua" >"$PRO/stdout.log" 2>&1 &
  FGPID=$!
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $P_COMP), 0.2)" 2>/dev/null && break
    sleep 0.1
  done
  run "prosody: relay to a component sink" 0 relay --target 127.0.0.1:$P_PTLS \
    --sink component 127.0.0.1:$P_COMP --component-secret bench-secret --pki "$PKI" --remotes 2 \
    --streams-per-remote 1 --sut-pid $FGPID --seconds 0.5 --warmup 0.5 --drain 5 --rate 2000
  check "prosody: all delivered through the component" \
    "r['sent'] > 500 and r['delivered'] == r['sent'] and r['sink'] == 'component'"
  run "prosody: a wrong component secret fails" 1 relay --target 127.0.0.1:$P_PTLS \
    --sink component 127.0.0.1:$P_COMP --component-secret wrong --pki "$PKI" --remotes 2 \
    --setup-timeout 3 $SHORT
  kill "$FGPID" 2>/dev/null
  wait "$FGPID" 2>/dev/null
  FGPID=
else
  bad "prosody is not installed (tools/debian-packages.txt: run make deps): component sink not tested"
fi
if command -v haproxy >/dev/null 2>&1; then
  cat "$PKI/sink.bench.test.crt" "$PKI/sink.bench.test.key" >"$WORK/sink.pem"
  P_HAP=$(free_port)
  P_PLAIN=$(free_port)
  cat >"$WORK/haproxy.cfg" <<HAP
global
  maxconn 1000
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend s2s
  bind 127.0.0.1:$P_HAP ssl crt $WORK/sink.pem alpn xmpp-server
  default_backend sink
backend sink
  server sink 127.0.0.1:$P_PLAIN
HAP
  haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
  FGPID=$!
  for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $P_HAP), 0.2)" 2>/dev/null && break
    sleep 0.1
  done
  run "haproxy: relay to a plain-listen sink" 0 relay --target 127.0.0.1:$P_HAP \
    --sink plain-listen 127.0.0.1:$P_PLAIN --pki "$PKI" --remotes 2 --sut-pid $FGPID $SHORT
  check "haproxy: all delivered" "r['sent'] > 1000 and r['delivered'] == r['sent']"
  run "haproxy: churn with resumption" 0 churn --target 127.0.0.1:$P_HAP \
    --sink plain-listen 127.0.0.1:$P_PLAIN --pki "$PKI" --remotes 2 --resume --seconds 0.5 \
    --warmup 0.2
  check "haproxy churn: resumed" "r['establishments'] > 0 and r['resumed'] > 0"
else
  bad "haproxy is not installed (tools/debian-packages.txt: run make deps): plain-listen behind a TLS terminator not tested"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
