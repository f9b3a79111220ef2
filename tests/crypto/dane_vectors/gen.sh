#!/bin/sh
# gen.sh writes the DANE test vectors of tests/crypto/dane_test.c with the
# openssl command line, independently of fedgate's code: a self-signed
# server certificate (DANE-EE), a private CA with a server certificate it
# issued (DANE-TA), and association.txt, the association data the TLSA
# selectors and matching types give for each (RFC 6698 §2.1). Run it from
# this directory; the outputs are committed.
set -eu
days=36500
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ee.key -out ee.pem \
  -days $days -subj /CN=xmpp.example.net -addext subjectAltName=DNS:xmpp.example.net 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -days $days -subj "/CN=DANE test private CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr \
  -subj /CN=xmpp.example.net 2>/dev/null
printf 'subjectAltName=DNS:example.net,DNS:xmpp.example.net\nextendedKeyUsage=serverAuth,clientAuth\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days $days -extfile leaf.ext \
  -out leaf.pem 2>/dev/null
rm -f leaf.csr leaf.ext ca.srl ca.key ee.key leaf.key
: > association.txt
for c in ee leaf ca; do
  openssl x509 -in $c.pem -outform DER -out $c.der
  openssl x509 -in $c.pem -noout -pubkey | openssl pkey -pubin -outform DER -out $c.spki
  for sel in 0 1; do
    f=$c.der
    [ $sel = 1 ] && f=$c.spki
    full=$(od -An -v -tx1 $f | tr -d ' \n')
    s256=$(openssl dgst -sha256 -r $f | cut -d' ' -f1)
    s512=$(openssl dgst -sha512 -r $f | cut -d' ' -f1)
    echo "$c $sel 0 $full" >> association.txt
    echo "$c $sel 1 $s256" >> association.txt
    echo "$c $sel 2 $s512" >> association.txt
  done
  rm -f $c.der $c.spki
done
