// xml_roundtrip_fuzzer.c: libFuzzer target for gateway/xml_serializer.
//
// Parses the input as a stream, writes everything the parser accepted back
// out canonically, and parses that again: the second parse must accept all
// of it and produce the same events (parse(serialize(parse(x))) == parse(x));
// the writer never emits bytes the parser rejects. Canonical output must be
// flagged canonical, and elements flagged canonical must equal their raw bytes.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gateway/xml/xml_parser.h"
#include "tests/gateway/xml/xml_transcript.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fg_xml_transcript t;
  if (!fg_xml_transcript_run(&t, NULL, data, size, NULL, 0)) abort();
  if (t.canon_mismatch || t.write_fail || t.accounting) {
    fprintf(stderr, "xml_roundtrip_fuzzer: invariant broken (canon %zu, write %zu, acct %zu)\n",
            t.canon_mismatch, t.write_fail, t.accounting);
    abort();
  }
  static char why[1 << 16];
  if (!fg_xml_transcript_roundtrip(&t, NULL, why, sizeof(why))) {
    fprintf(stderr, "xml_roundtrip_fuzzer: %s\n", why);
    abort();
  }
  fg_xml_transcript_free(&t);
  return 0;
}
