// xml_simd.c: picks the instruction-set copy of the XML parser by CPU
// feature detection, and routes parser creation and feeding to it
// (gateway/xml/xml_simd.h).
#include "gateway/xml/xml_simd.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "gateway/xml/xml_parser.h"
#include "gateway/xml/xml_state.h"

// The copies' entry points (names from gateway/xml/xml_isa_rename.h), typed
// from the public prototypes they are compiled from.
extern __typeof__(fg_xml_parser_new) fg_xml_parser_new_x86_64_v1;
extern __typeof__(fg_xml_parser_feed) fg_xml_parser_feed_x86_64_v1;
#if defined(__x86_64__)
// Built only for x86-64 (gateway/xml/BUILD.bazel selects on the CPU).
#define FG_XML_SIMD_MULTI 1
extern __typeof__(fg_xml_parser_new) fg_xml_parser_new_x86_64_v3;
extern __typeof__(fg_xml_parser_feed) fg_xml_parser_feed_x86_64_v3;
#endif

typedef struct level {
  const char *name;
  __typeof__(fg_xml_parser_new) *parser_new;
  __typeof__(fg_xml_parser_feed) *feed;
} level;

static const level kLevels[FG_XML_SIMD_COUNT] = {
    [FG_XML_SIMD_BASELINE] = {"baseline", fg_xml_parser_new_x86_64_v1,
                              fg_xml_parser_feed_x86_64_v1},
#if FG_XML_SIMD_MULTI
    [FG_XML_SIMD_X86_64_V3] = {"x86-64-v3", fg_xml_parser_new_x86_64_v3,
                               fg_xml_parser_feed_x86_64_v3},
#else
    [FG_XML_SIMD_X86_64_V3] = {"x86-64-v3", NULL, NULL},
#endif
};

// -1: not chosen yet; else an fg_xml_simd.
static _Atomic int g_active = -1;
static _Atomic int g_forced;

#if FG_XML_SIMD_MULTI
// cpu_runs says whether this CPU runs code built for x86-64 level |lv| (the
// psABI levels: what -march=x86-64-v3 may emit, all of x86-64-v2 included),
// and whether the OS saves the YMM registers (XCR0 bits 1 and 2), without
// which AVX instructions fault.
static int cpu_runs(fg_xml_simd lv) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  unsigned c1 = c;
  if (!__get_cpuid(0x80000001, &a, &b, &c, &d)) return 0;
  unsigned c81 = c;
  const unsigned v2 = bit_SSE3 | bit_SSSE3 | bit_CMPXCHG16B | bit_SSE4_1 | bit_SSE4_2 | bit_POPCNT;
  if ((c1 & v2) != v2 || !(c81 & bit_LAHF_LM)) return 0;
  if (lv != FG_XML_SIMD_X86_64_V3) return 0;
  const unsigned v3 = bit_FMA | bit_MOVBE | bit_OSXSAVE | bit_AVX | bit_F16C;
  if ((c1 & v3) != v3 || !(c81 & bit_LZCNT)) return 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  const unsigned v3_7 = bit_BMI | bit_AVX2 | bit_BMI2;
  if ((b & v3_7) != v3_7) return 0;
  uint32_t xcr0_lo, xcr0_hi;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  return (xcr0_lo & 6) == 6;
}
#endif

int fg_xml_simd_built(fg_xml_simd s) {
  return (unsigned)s < FG_XML_SIMD_COUNT && kLevels[s].parser_new != NULL;
}

int fg_xml_simd_available(fg_xml_simd s) {
  if (!fg_xml_simd_built(s)) return 0;
  if (s == FG_XML_SIMD_BASELINE) return 1;
#if FG_XML_SIMD_MULTI
  return cpu_runs(s);
#else
  return 0;
#endif
}

fg_xml_simd fg_xml_simd_best(void) {
  for (int s = FG_XML_SIMD_COUNT - 1; s > FG_XML_SIMD_BASELINE; s--)
    if (fg_xml_simd_available((fg_xml_simd)s)) return (fg_xml_simd)s;
  return FG_XML_SIMD_BASELINE;
}

int fg_xml_simd_parse(const char *name, fg_xml_simd *out) {
  static const struct {
    const char *name;
    fg_xml_simd s;
  } kNames[] = {
      {"baseline", FG_XML_SIMD_BASELINE},   {"x86-64", FG_XML_SIMD_BASELINE},
      {"x86-64-v1", FG_XML_SIMD_BASELINE},  {"v1", FG_XML_SIMD_BASELINE},
      {"x86-64-v3", FG_XML_SIMD_X86_64_V3}, {"v3", FG_XML_SIMD_X86_64_V3},
      {"avx2", FG_XML_SIMD_X86_64_V3},
  };
  for (size_t k = 0; k < sizeof(kNames) / sizeof(kNames[0]); k++) {
    if (strcmp(name, kNames[k].name) == 0) {
      *out = kNames[k].s;
      return 1;
    }
  }
  return 0;
}

int fg_xml_simd_env_check(char *err, size_t err_len) {
  const char *v = getenv(FG_XML_SIMD_ENV);
  fg_xml_simd s;
  if (v == NULL) return 1;
  if (!fg_xml_simd_parse(v, &s)) {
    snprintf(err, err_len, "%s: unknown XML parser level (value '%s'; one of baseline, x86-64-v3)",
             FG_XML_SIMD_ENV, v);
    return 0;
  }
  if (!fg_xml_simd_available(s)) {
    snprintf(err, err_len, "%s: %s (value '%s'; this machine runs up to %s)", FG_XML_SIMD_ENV,
             fg_xml_simd_built(s) ? "this CPU cannot run that XML parser level"
                                  : "this binary has no XML parser of that level",
             v, fg_xml_simd_name(fg_xml_simd_best()));
    return 0;
  }
  return 1;
}

// initial returns the level parsers use when nothing was selected: the
// forced one when FG_XML_SIMD_ENV names an available level (the command line
// refuses other values before any parser exists), else the best.
static int initial(int *forced) {
  const char *v = getenv(FG_XML_SIMD_ENV);
  fg_xml_simd s;
  *forced = 0;
  if (v != NULL && fg_xml_simd_parse(v, &s) && fg_xml_simd_available(s)) {
    *forced = 1;
    return (int)s;
  }
  return (int)fg_xml_simd_best();
}

fg_xml_simd fg_xml_simd_active(void) {
  int a = atomic_load_explicit(&g_active, memory_order_acquire);
  if (a >= 0) return (fg_xml_simd)a;
  int forced, want = initial(&forced), expected = -1;
  // A concurrent select or detection wins; they agree but for a select.
  if (!atomic_compare_exchange_strong(&g_active, &expected, want)) return (fg_xml_simd)expected;
  atomic_store(&g_forced, forced);
  return (fg_xml_simd)want;
}

int fg_xml_simd_forced(void) {
  fg_xml_simd_active();
  return atomic_load(&g_forced);
}

int fg_xml_simd_select(fg_xml_simd s) {
  if (!fg_xml_simd_available(s)) return 0;
  atomic_store(&g_active, (int)s);
  return 1;
}

const char *fg_xml_simd_name(fg_xml_simd s) {
  if ((unsigned)s >= FG_XML_SIMD_COUNT) return "unknown";
  return kLevels[s].name;
}

fg_xml_parser *fg_xml_parser_new(const fg_xml_config *cfg) {
  const level *lv = &kLevels[fg_xml_simd_active()];
  fg_xml_parser *p = lv->parser_new(cfg);
  if (p != NULL) p->feed = lv->feed;
  return p;
}

fg_xml_event fg_xml_parser_feed(fg_xml_parser *p, size_t *out_used, const uint8_t *in,
                                size_t in_len) {
  return p->feed(p, out_used, in, in_len);
}

fg_xml_simd fg_xml_parser_simd(const fg_xml_parser *p) {
  for (int s = FG_XML_SIMD_COUNT - 1; s > FG_XML_SIMD_BASELINE; s--)
    if (kLevels[s].feed != NULL && p->feed == kLevels[s].feed) return (fg_xml_simd)s;
  return FG_XML_SIMD_BASELINE;
}
