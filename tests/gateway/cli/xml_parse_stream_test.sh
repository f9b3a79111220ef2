#!/bin/sh
# xml_parse_stream_test.sh FEDGATE: `fedgate parse-stream` prints a capture
# canonically (RFC 6120 §4.7 header, one line per element, close) or
# `stream-error: <condition> at byte <offset>` with exit status 1.
set -u
fg=${1:?usage: xml_parse_stream_test.sh FEDGATE}
tmp=${TEST_TMPDIR:-/tmp}/xml_parse_stream.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
pass=0
failed=0
H="<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' from='a.example' to='b.example' version='1.0'>"

check() {  # name, expected status, expected stdout, input
  printf '%s' "$4" > "$tmp/in"
  out=$("$fg" parse-stream "$tmp/in" 2>"$tmp/err")
  st=$?
  if [ "$st" = "$2" ] && [ "$out" = "$3" ]; then
    pass=$((pass + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $1: status $st (want $2)"
    echo "  got:  $out"
    echo "  want: $3"
    cat "$tmp/err"
  fi
}

check rfc6120_4_7_canonical_lines 0 "$H
<message to='b.example'><body>a&amp;b&#10;c</body></message>
<presence/>
</stream:stream>" "<?xml version='1.0'?>$H
<message to=\"b.example\"><body>a&#38;b
c</body></message> <presence></presence></stream:stream>"

check rfc6120_11_1_restricted_xml 1 "$H
stream-error: restricted-xml at byte 131" "$H<!-- hi -->"

check rfc6120_11_6_unsupported_encoding 1 "stream-error: unsupported-encoding at byte 0" \
  "<?xml version='1.0' encoding='ISO-8859-1'?>$H"

check rfc6120_4_9_3_13_not_well_formed 1 "$H
stream-error: not-well-formed at byte 134" "$H<a></b>"

check unfinished_stanza_is_not_an_error 0 "$H" "$H<message><body>x"

# stdin, and the output parses again to itself.
printf '%s' "$H<iq type='get' id='1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>" \
  | "$fg" parse-stream - > "$tmp/once"
"$fg" parse-stream "$tmp/once" > "$tmp/twice"
if cmp -s "$tmp/once" "$tmp/twice" && [ -s "$tmp/once" ]; then
  pass=$((pass + 1))
else
  failed=$((failed + 1))
  echo "FAIL canonical output does not parse to itself"
fi

"$fg" parse-stream --bogus > /dev/null 2>&1
if [ $? = 2 ]; then pass=$((pass + 1)); else failed=$((failed + 1)); echo "FAIL usage error status"; fi

echo "$pass passed, $failed failed"
[ "$failed" = 0 ]
