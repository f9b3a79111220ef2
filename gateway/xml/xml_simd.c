// xml_simd.c: picks the tokenizer build by CPU feature detection
// (gateway/xml/xml_simd.h).
#include "gateway/xml/xml_simd.h"

#include <stdatomic.h>

#include "gateway/xml/xml_tokenizer.h"

// -1: not chosen yet; else an fg_xml_simd.
static _Atomic int g_active = -1;

int fg_xml_simd_available(fg_xml_simd s) {
  if (s == FG_XML_SIMD_BASELINE) return 1;
  if (s != FG_XML_SIMD_AVX2) return 0;
#if defined(__x86_64__) || defined(__i386__)
  if (fg_xml_tokenizer_avx2_built) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }
#endif
  return 0;
}

fg_xml_simd fg_xml_simd_best(void) {
  // The AVX2 tokenizer runs by default only where the rest of the parser
  // (tree, namespaces) is AVX code too: interleaving VEX-encoded code with
  // legacy SSE code on the stanza path measured about half the speed of
  // either alone on this project's development VM (docs/xml.md).
#if defined(__AVX2__)
  if (fg_xml_simd_available(FG_XML_SIMD_AVX2)) return FG_XML_SIMD_AVX2;
#endif
  return FG_XML_SIMD_BASELINE;
}

fg_xml_simd fg_xml_simd_active(void) {
  int a = atomic_load_explicit(&g_active, memory_order_relaxed);
  if (a < 0) {
    int best = (int)fg_xml_simd_best();
    int expected = -1;
    // A concurrent select wins; the first detection otherwise.
    if (!atomic_compare_exchange_strong(&g_active, &expected, best)) return (fg_xml_simd)expected;
    a = best;
  }
  return (fg_xml_simd)a;
}

int fg_xml_simd_select(fg_xml_simd s) {
  if (!fg_xml_simd_available(s)) return 0;
  atomic_store(&g_active, (int)s);
  return 1;
}

const char *fg_xml_simd_name(fg_xml_simd s) {
  if (s == FG_XML_SIMD_AVX2) return "avx2";
#if defined(__SSE2__)
  return "baseline-sse2";
#else
  return "baseline";
#endif
}

fg_xml_tokenize_fn fg_xml_tokenizer_active(void) {
  if (fg_xml_simd_active() == FG_XML_SIMD_AVX2) return fg_xml_tokenize_avx2;
  return fg_xml_tokenize_baseline;
}
