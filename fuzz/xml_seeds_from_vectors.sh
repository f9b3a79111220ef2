#!/bin/sh
# xml_seeds_from_vectors.sh OUTDIR: writes fuzzing seeds for xml_parser_fuzzer
# (OUTDIR/xml_parser_fuzzer) and xml_roundtrip_fuzzer (OUTDIR/xml_roundtrip_fuzzer)
# from ../shared/vectors/xml at fuzz time. The vectors stay outside the repo.
set -eu
out=${1:?usage: xml_seeds_from_vectors.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
vectors=${FEDGATE_VECTORS:-$here/../../shared/vectors}
mkdir -p "$out/xml_parser_fuzzer" "$out/xml_roundtrip_fuzzer"
python3 - "$vectors/xml/streams.tsv" "$out" <<'PY'
import os, re, sys
tsv, out = sys.argv[1], sys.argv[2]
H = ("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
     "from='a.example' to='b.example' version='1.0'>").encode()

def unescape(s):
    o, i = bytearray(), 0
    while i < len(s):
        if s[i] == '\\' and i + 1 < len(s):
            c = s[i + 1]
            if c in '\\tnr':
                o += {'\\': b'\\', 't': b'\t', 'n': b'\n', 'r': b'\r'}[c]
                i += 2
                continue
            if c == 'x' and re.match(r'[0-9a-fA-F]{2}', s[i + 2:i + 4]):
                o.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
        o += s[i].encode()
        i += 1
    return bytes(o)

n = 0
with open(tsv, encoding='utf-8') as f:
    next(f)
    for line in f:
        cols = line.rstrip('\n').split('\t')
        if len(cols) < 4:
            continue
        data = unescape(cols[1])
        m = re.search(r'GENERATE: (.*)$', cols[3])
        if m:
            try:
                data = eval(m.group(1), {'input': data, 'H': H})
                if isinstance(data, str):
                    data = data.encode()
            except Exception:
                continue
        data = data[:65536]
        for ctl, suffix in ((b'\x00\x00', ''), (b'\x80\x2a', '_chunks')):
            with open(os.path.join(out, 'xml_parser_fuzzer', cols[0] + suffix), 'wb') as o:
                o.write(ctl + data)
        with open(os.path.join(out, 'xml_roundtrip_fuzzer', cols[0]), 'wb') as o:
            o.write(data)
        n += 1
print('wrote %d seeds per target' % n)
PY
