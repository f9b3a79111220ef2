// xml_parser_fuzzer.c: libFuzzer target for gateway/xml_parser.
//
// Input: two control bytes, then the stream. The control bytes pick a parser
// configuration and seed the chunk boundaries, so the fuzzer explores
// chunkings too. Every input is parsed whole and in the chosen chunks (and
// byte by byte when short); the runs must agree on every event, the error and
// its offset, and the invariants checked by tests/gateway/xml_transcript
// (canonical flag honest, every event writable, bytes accounted) must hold;
// every instruction-set copy of the parser the CPU runs must agree.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/xml/xml_parser.h"
#include "gateway/xml/xml_simd.h"
#include "tests/gateway/xml/xml_transcript.h"

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "xml_parser_fuzzer: %s\n", what);
    abort();
  }
}

static void check_invariants(const fg_xml_transcript *t) {
  check(t->canon_mismatch == 0, "element flagged canonical differs from the writer's output");
  check(t->write_fail == 0, "the writer refused an event the parser accepted");
  check(t->accounting == 0, "consumed byte counts do not add up");
  check(t->root_view_mismatch == 0, "an element's root view moved or changed when read whole");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  uint8_t c0 = data[0], c1 = data[1];
  data += 2;
  size -= 2;
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  switch (c0 & 3) {
    case 1:
      cfg.content_ns = FG_XML_NS_CLIENT;
      break;
    case 2:
      cfg.require_stream_prefix = 1;
      break;
    case 3:  // small limits, so that they are reached
      cfg.limits.max_element_bytes_preauth = 10000;
      cfg.limits.max_depth = 4;
      cfg.limits.max_attrs = 8;
      cfg.limits.max_name_len = 12;
      cfg.limits.max_ns_decls = 3;
      cfg.limits.max_nodes = 16;
      break;
  }
  fg_xml_transcript whole, cut;
  check(fg_xml_transcript_run(&whole, &cfg, data, size, NULL, 0), "out of memory");
  check_invariants(&whole);

  // Chunk boundaries from the control bytes.
  size_t splits[64], n = 0;
  uint32_t x = ((uint32_t)c0 << 8 | c1) * 2654435761u + 1;
  size_t pos = 0;
  while (n < 64 && size > 1) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    size_t step = 1 + (x >> (c0 & 0x80 ? 28 : 22));  // short or long chunks
    pos += step;
    if (pos >= size) break;
    splits[n++] = pos;
  }
  check(fg_xml_transcript_run(&cut, &cfg, data, size, splits, n), "out of memory");
  check_invariants(&cut);
  check(fg_xml_transcript_same(&whole, &cut), "chunked parse differs from whole parse");
  fg_xml_transcript_free(&cut);
  // The same chunks with the parser's buffers given back between them.
  check(fg_xml_transcript_run_trimming(&cut, &cfg, data, size, splits, n), "out of memory");
  check_invariants(&cut);
  check(fg_xml_transcript_same(&whole, &cut), "parse with trims differs from whole parse");
  fg_xml_transcript_free(&cut);
  // Every other instruction-set copy of the parser this CPU runs
  // (xml_simd.h) must agree byte for byte, in the same chunks: they are
  // compilations of one source.
  fg_xml_simd active = fg_xml_simd_active();
  for (int s = 0; s < FG_XML_SIMD_COUNT; s++) {
    if (s == (int)active || !fg_xml_simd_select((fg_xml_simd)s)) continue;
    int ok = fg_xml_transcript_run(&cut, &cfg, data, size, splits, n);
    fg_xml_simd_select(active);
    check(ok, "out of memory");
    check_invariants(&cut);
    check(fg_xml_transcript_same(&whole, &cut),
          "the instruction-set copies of the parser disagree");
    fg_xml_transcript_free(&cut);
  }
  if (size <= 2048) {
    check(fg_xml_transcript_run_step(&cut, &cfg, data, size, 1), "out of memory");
    check(fg_xml_transcript_same(&whole, &cut), "byte-by-byte parse differs from whole parse");
    fg_xml_transcript_free(&cut);
  }
  fg_xml_transcript_free(&whole);
  return 0;
}
