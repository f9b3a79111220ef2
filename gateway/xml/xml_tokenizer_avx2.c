// xml_tokenizer_avx2.c: the tokenizer's state machine (xml_tokenizer.c)
// built again with AVX2 enabled, as fg_xml_tokenize_avx2: its scanners
// (xml_scan.h) then take 32 bytes a step and validate UTF-8 with SIMD. Only
// this file is compiled with -mavx2, so the rest of the binary runs on any
// x86-64 CPU; gateway/xml/xml_simd.c calls it only where cpuid reports AVX2.
// Without AVX2 at compile time (another architecture, or a build that did
// not pass -mavx2) it says so in fg_xml_tokenizer_avx2_built and the
// baseline path runs.
#if defined(__AVX2__)
#define FG_XML_TOKENIZE_NAME fg_xml_tokenize_avx2
#include "gateway/xml/xml_tokenizer.c"

const int fg_xml_tokenizer_avx2_built = 1;
#else
#include "gateway/xml/xml_tokenizer.h"

const int fg_xml_tokenizer_avx2_built = 0;

int fg_xml_tokenize_avx2(fg_xml_parser *p) {
  return fg_xml_tokenize_baseline(p);  // never chosen: fg_xml_simd_best reads the flag above
}
#endif
