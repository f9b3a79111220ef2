#!/bin/sh
# crl_seed_gen.sh: writes the seed corpus of crl_fuzzer into DIR (default
# fuzz/corpus/crl_fuzzer) with the openssl command line: an empty CRL, CRLs
# with revoked entries (with and without reasons) from an EC and an RSA CA,
# and a certificate carrying cRLDistributionPoints and authorityInfoAccess.
set -eu
out=$(cd "${1:-$(dirname "$0")/corpus/crl_fuzzer}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
gen() {  # gen NAME KEYOPTS INDEX-LINES
  name=$1 keyopts=$2
  openssl req -x509 -newkey $keyopts -nodes -keyout ca.key -out ca.crt -subj "/CN=Seed $name CA" \
    -days 3650 2>/dev/null
  printf '%b' "$3" >index.txt
  echo 01 >crlnumber
  printf '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n' >ca.cnf
  openssl ca -gencrl -config ca.cnf -keyfile ca.key -cert ca.crt -out crl.pem 2>/dev/null
  openssl crl -in crl.pem -outform DER -out "$out/$name.crl"
}
gen empty "ec -pkeyopt ec_paramgen_curve:P-256" ''
gen ec-revoked "ec -pkeyopt ec_paramgen_curve:P-256" \
  'R\t991231235959Z\t230101000000Z,keyCompromise\t0A1B\tunknown\t/CN=a\nR\t991231235959Z\t230102000000Z\t7F00FF\tunknown\t/CN=b\nV\t991231235959Z\t\t03\tunknown\t/CN=c\n'
gen rsa-revoked rsa:2048 \
  'R\t991231235959Z\t230101000000Z,superseded\t01\tunknown\t/CN=a\nR\t991231235959Z\t230103000000Z,cessationOfOperation\t00FF\tunknown\t/CN=b\n'
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.crt \
  -subj "/CN=urls.example" -days 365 \
  -addext "crlDistributionPoints=URI:http://crl.example/ca.crl,URI:ldap://ldap.example/cn=ca" \
  -addext "authorityInfoAccess=OCSP;URI:http://ocsp.example,caIssuers;URI:http://ca.example/ca.crt" \
  2>/dev/null
openssl x509 -in leaf.crt -outform DER -out "$out/cert-with-urls.der"
ls "$out"
