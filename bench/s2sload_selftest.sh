#!/bin/sh
# s2sload_selftest.sh FEDGATE: checks bench/s2sload.py without a gateway.
# s2sload's senders talk straight to s2sload's listeners as if those were
# fedgate, with certificates from `FEDGATE dev-pki`. Prints one line per
# check and "N passed, M failed" last; exits non-zero when a check failed.
# KEEP=1 keeps the temporary directory (JSON and logs of every run).
set -u
fedgate=${1:?usage: s2sload_selftest.sh FEDGATE}
case "$fedgate" in /*) ;; *) fedgate="$PWD/$fedgate" ;; esac
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
load="$here/s2sload.py"
tmp=$(mktemp -d)
bgpids=""
cleanup() {
  for p in $bgpids; do kill "$p" 2>/dev/null; done
  if [ -n "${KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() {
  failed=$((failed + 1))
  echo "FAIL $1"
  [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/     | /' "$2" | tail -40
  return 0
}
# check NAME FILE PYTHON_EXPR: EXPR over d (the JSON in FILE) must be true.
check() {
  if $py - "$2" "$3" <<'EOF' >"$tmp/check.out" 2>&1; then ok "$1"; else bad "$1" "$2"; cat "$tmp/check.out"; fi
import json, sys
d = json.load(open(sys.argv[1]))
links = d.get("links", [])
sys.exit(0 if eval(sys.argv[2]) else 1)
EOF
}
free_port() {
  $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# wait_file FILE: waits up to 5 s for FILE to exist.
wait_file() {
  i=0
  while [ ! -s "$1" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  [ -s "$1" ]
}

pki="$tmp/pki"
if "$fedgate" dev-pki "$pki" --domain a.test --domain b.test >/dev/null; then
  ok "fedgate dev-pki wrote the PKI"
else
  bad "fedgate dev-pki"
  echo "$passed passed, $failed failed"
  exit 1
fi
# A second, unrelated CA: its a.test certificate must not authenticate.
"$fedgate" dev-pki "$tmp/other" --domain a.test >/dev/null

# 1. --help documents the roles; bad usage exits 2.
if $py "$load" --help >"$tmp/help" 2>&1 && grep -q -- '--serve D=HOST:PORT' "$tmp/help" &&
  grep -q -- '--trust-dialback' "$tmp/help"; then
  ok "--help documents the roles"
else
  bad "--help" "$tmp/help"
fi
$py "$load" --count 5 >/dev/null 2>&1
rc=$?
[ $rc = 2 ] && ok "no role: usage error (exit 2)" || bad "no role: exit $rc, want 2"

# 2. One-way: the sender for a.test straight into the internal server for
#    b.test (STARTTLS, client certificate, SASL EXTERNAL, stream restarts).
p=$(free_port)
$py "$load" --pki "$pki" --serve "b.test=127.0.0.1:$p" --send "a.test=127.0.0.1:$p" \
  --count 300 --seed 7 --json --progress lines >"$tmp/one.json" 2>"$tmp/one.err"
rc=$?
[ $rc = 0 ] && ok "one-way run exits 0" || bad "one-way run: exit $rc" "$tmp/one.err"
check "one-way: sent == delivered == 300, lost == 0" "$tmp/one.json" \
  'd["sent"] == 300 and d["delivered"] == 300 and d["lost"] == 0 and d["bounced"] == 0'
check "one-way: JSON has every summary field" "$tmp/one.json" \
  'all(k in d for k in ("sent","delivered","bounced","lost","stanzas_per_s","p50_ms","p99_ms","links")) and d["stanzas_per_s"] > 0 and 0 < d["p50_ms"] <= d["p99_ms"]'
check "one-way: links report TLS version, cipher and SASL EXTERNAL both ends" "$tmp/one.json" \
  'sorted(l["direction"] for l in links) == ["in","out"] and all(l["from"] == "a.test" and l["to"] == "b.test" and l["tls_version"] in ("TLSv1.2","TLSv1.3") and l["cipher"] and l["auth"] == "sasl-external" for l in links)'
check "one-way: all four kinds sent, payloads intact" "$tmp/one.json" \
  'all(d["by_kind"][k]["sent"] > 0 for k in ("message","presence","iq-get","iq-set")) and d["corrupted"] == 0 and d["misrouted"] == 0 and d["duplicates"] == 0'

# 3. Both ways with iq answers and bounces from the receiving internal server.
pa=$(free_port)
pb=$(free_port)
$py "$load" --pki "$pki" --serve "a.test=127.0.0.1:$pa" --serve "b.test=127.0.0.1:$pb" \
  --send "a.test=127.0.0.1:$pb" --send "b.test=127.0.0.1:$pa" --count 400 \
  --bounce-fraction 0.1 --json --quiet >"$tmp/both.json" 2>"$tmp/both.err"
rc=$?
[ $rc = 0 ] && ok "both ways exits 0" || bad "both ways: exit $rc" "$tmp/both.err"
check "both ways: every iq answered through the other direction" "$tmp/both.json" \
  'd["by_kind"]["iq-result"]["sent"] > 0 and d["by_kind"]["iq-result"]["sent"] == d["by_kind"]["iq-result"]["delivered"] and d["iq_rtt_p50_ms"] > 0'
check "both ways: unknown users bounced with service-unavailable, nothing lost" "$tmp/both.json" \
  'd["bounced"] > 0 and list(d["bounce_conditions"]) == ["service-unavailable"] and d["lost"] == 0 and d["sent"] == d["delivered"] + d["bounced"]'
check "both ways: four links" "$tmp/both.json" 'len(links) == 4 and d["failed_links"] == 0'

# 4. Rate and duration: 100/s per direction for 1 s.
p=$(free_port)
$py "$load" --pki "$pki" --serve "b.test=127.0.0.1:$p" --send "a.test=127.0.0.1:$p" \
  --rate 100 --duration 1 --json --quiet >"$tmp/rate.json" 2>"$tmp/rate.err"
rc=$?
[ $rc = 0 ] && ok "--rate/--duration run exits 0" || bad "--rate run: exit $rc" "$tmp/rate.err"
check "--rate 100 --duration 1 sends about 100" "$tmp/rate.json" \
  '80 <= d["sent"] <= 110 and d["sent"] == d["delivered"]'

# 5. Loss is detected: the receiving internal server is another process, so
#    this sender never sees its stanzas arrive; they must count as lost and
#    the run must fail. The receive-only process counts them as foreign.
$py "$load" --pki "$pki" --serve "b.test=127.0.0.1:0" --ready-file "$tmp/ready" \
  --duration 20 --json --quiet >"$tmp/recv.json" 2>"$tmp/recv.err" &
rpid=$!
bgpids="$bgpids $rpid"
if wait_file "$tmp/ready"; then
  p=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["b.test"])' "$tmp/ready")
  $py "$load" --pki "$pki" --send "a.test=127.0.0.1:$p" --to a.test=b.test --count 50 \
    --mix message=1 --grace 0.5 --json --quiet >"$tmp/lost.json" 2>"$tmp/lost.err"
  rc=$?
  [ $rc = 1 ] && ok "unseen deliveries: exit 1" || bad "unseen deliveries: exit $rc, want 1" "$tmp/lost.err"
  check "unseen deliveries: lost == sent == 50" "$tmp/lost.json" \
    'd["lost"] == 50 and d["sent"] == 50 and d["delivered"] == 0 and not d["ok"]'
  sleep 1
  kill -TERM $rpid
  wait $rpid
  rc=$?
  [ $rc = 0 ] && ok "receive-only run ends on SIGTERM with exit 0" || bad "receive-only: exit $rc" "$tmp/recv.err"
  check "receive-only: received the 50 messages" "$tmp/recv.json" \
    'd["foreign_received"].get("message") == 50 and links and links[0]["auth"] == "sasl-external"'
else
  bad "receive-only listener did not start" "$tmp/recv.err"
fi

# 6. A client certificate from another CA does not authenticate.
p=$(free_port)
$py "$load" --pki "$pki" --serve "b.test=127.0.0.1:$p" --send "a.test=127.0.0.1:$p" \
  --cert "a.test=$tmp/other/a.test.crt,$tmp/other/a.test.key" --count 10 --connect-timeout 3 \
  --json --quiet >"$tmp/untrusted.json" 2>"$tmp/untrusted.err"
rc=$?
[ $rc = 1 ] && ok "untrusted client certificate: exit 1" || bad "untrusted cert: exit $rc, want 1" "$tmp/untrusted.err"
check "untrusted client certificate: link failed, nothing sent" "$tmp/untrusted.json" \
  'd["failed_links"] == 1 and d["sent"] == 0 and [l for l in links if l["direction"] == "out"][0]["error"]'

# 7. A stream to a domain the internal server does not serve: host-unknown.
p=$(free_port)
$py "$load" --pki "$pki" --serve "b.test=127.0.0.1:$p" --send "a.test=127.0.0.1:$p" \
  --to a.test=c.test --count 10 --json --quiet >"$tmp/hu.json" 2>"$tmp/hu.err"
rc=$?
[ $rc = 1 ] && ok "wrong 'to': exit 1" || bad "wrong 'to': exit $rc, want 1" "$tmp/hu.err"
check "wrong 'to': stream error host-unknown" "$tmp/hu.json" \
  '"host-unknown" in (links[0]["error"] or "")'

# 8. Dialback on the listener: db:result valid only with --trust-dialback.
for mode in trust notrust; do
  flag=""
  [ $mode = trust ] && flag=--trust-dialback
  rm -f "$tmp/ready"
  $py "$load" --pki "$pki" --serve "b.test=127.0.0.1:0" $flag --ready-file "$tmp/ready" \
    --duration 20 --json --quiet >"$tmp/db-$mode.json" 2>"$tmp/db-$mode.err" &
  dpid=$!
  bgpids="$bgpids $dpid"
  if ! wait_file "$tmp/ready"; then
    bad "dialback ($mode): listener did not start" "$tmp/db-$mode.err"
    continue
  fi
  p=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["b.test"])' "$tmp/ready")
  $py - "$here" "$p" "$pki/ca.crt" >"$tmp/db-$mode.out" 2>&1 <<'EOF'
# A hop peer without a client certificate asks for dialback, then sends.
import socket, ssl, sys
sys.path.insert(0, sys.argv[1])
import s2s_proto as sp
port, ca = int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection(("127.0.0.1", port), timeout=5)
xs = sp.XmlStream()
pending = []
def hello():
    sock.sendall(("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='%s' "
                  "xmlns:db='%s' from='a.test' to='b.test' version='1.0'>"
                  % (sp.NS_STREAM, sp.NS_DB)).encode())
def element():
    while True:
        while not pending:
            data = sock.recv(65536)
            if not data:
                return None
            pending.extend(xs.feed(data))
        kind, el = pending.pop(0)
        if kind == "element":
            return el
        if kind == "close":
            return None
hello()
feats = element()
assert feats.find(sp.q(sp.NS_TLS, "starttls")) is not None, "no starttls"
sock.sendall(("<starttls xmlns='%s'/>" % sp.NS_TLS).encode())
assert element().tag == sp.q(sp.NS_TLS, "proceed")
ctx = ssl.create_default_context(cafile=ca)
sock = ctx.wrap_socket(sock, server_hostname="b.test")
xs.reset(); pending.clear()
hello()
feats = element()
offered = feats.find(sp.q(sp.NS_DB_FEATURE, "dialback")) is not None
mechs = [m.text for m in feats.iter(sp.q(sp.NS_SASL, "mechanism"))]
sock.sendall(b"<db:result from='a.test' to='b.test'>0123456789abcdef</db:result>")
res = element()
print("offered=%s mechanisms=%s result=%s" % (offered, mechs, res.get("type")))
if res.get("type") == "valid":
    for i in range(3):
        sock.sendall(("<message from='u@a.test' to='v@b.test' id='x-%d'><body>hi</body></message>"
                      % i).encode())
sock.sendall(b"</stream:stream>")
sock.close()
EOF
  sleep 1
  kill -TERM $dpid
  wait $dpid
  if [ $mode = trust ]; then
    if grep -q "offered=True mechanisms=\[\] result=valid" "$tmp/db-$mode.out"; then
      ok "--trust-dialback: dialback offered, db:result valid"
    else
      bad "--trust-dialback handshake" "$tmp/db-$mode.out"
    fi
    check "--trust-dialback: stanzas after dialback received, link auth dialback" \
      "$tmp/db-$mode.json" \
      'd["foreign_received"].get("message") == 3 and links[0]["auth"] == "dialback" and links[0]["from"] == "a.test"'
  else
    if grep -q "offered=False mechanisms=\[\] result=invalid" "$tmp/db-$mode.out"; then
      ok "default: dialback not offered, db:result invalid"
    else
      bad "default dialback refusal" "$tmp/db-$mode.out"
    fi
  fi
done

echo "$passed passed, $failed failed"
[ $failed = 0 ]
