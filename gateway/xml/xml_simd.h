// xml_simd.h: which instruction-set copy of the XML parser runs. One binary
// carries the per-stanza parser (tokenizer, scanners, tree, namespaces)
// compiled for baseline x86-64 (SSE2) and for x86-64-v3 (AVX2, BMI2, ...)
// (gateway/xml/xml_isa_rename.h), and runs on any
// x86-64: at the first parser's creation the CPU detection (cpuid, and for
// x86-64-v3 the OS saving YMM state) picks the highest level the CPU runs,
// unless the environment variable FEDGATE_XML_ISA names one. Each parser
// keeps the copy it was created with; its fg_xml_parser_feed is one indirect
// call into that copy. Other architectures have the baseline (portable C)
// copy only. `fedgate --version` and `fedgate probe` print the choice.
#ifndef FEDGATE_GATEWAY_XML_SIMD_H
#define FEDGATE_GATEWAY_XML_SIMD_H

#include <stddef.h>

typedef enum fg_xml_simd {
  FG_XML_SIMD_BASELINE = 0,   // x86-64 baseline: SSE2 scanners (portable C elsewhere)
  FG_XML_SIMD_X86_64_V3 = 1,  // x86-64-v3: AVX2 scanners, SIMD UTF-8 validation, BMI
  FG_XML_SIMD_COUNT = 2,
  FG_XML_SIMD_AVX2 = FG_XML_SIMD_X86_64_V3,
} fg_xml_simd;

// FG_XML_SIMD_ENV is the environment variable that forces a level (tests,
// benchmarks, or an operator ruling out a CPU path): "baseline",
// "x86-64-v3" (also "x86-64", "v1", "v3", "avx2").
#define FG_XML_SIMD_ENV "FEDGATE_XML_ISA"

// fg_xml_simd_built says whether this binary has a copy of the parser for |s|.
int fg_xml_simd_built(fg_xml_simd s);

// fg_xml_simd_available says whether this binary has the copy for |s| and
// this CPU (and OS) can run it.
int fg_xml_simd_available(fg_xml_simd s);

// fg_xml_simd_best returns the highest available level.
fg_xml_simd fg_xml_simd_best(void);

// fg_xml_simd_active returns the level parsers created from now on use: the
// one fg_xml_simd_select chose, else the one FG_XML_SIMD_ENV names if it is
// valid and available, else fg_xml_simd_best. The first call decides.
fg_xml_simd fg_xml_simd_active(void);

// fg_xml_simd_forced says whether the active level came from FG_XML_SIMD_ENV.
int fg_xml_simd_forced(void);

// fg_xml_simd_select makes parsers created from now on use |s| (benchmarks
// and tests compare the copies in one process). It returns 0, changing
// nothing, when |s| is not available.
int fg_xml_simd_select(fg_xml_simd s);

// fg_xml_simd_parse sets |*out| to the level |name| names and returns 1, or
// returns 0 for a name it does not know.
int fg_xml_simd_parse(const char *name, fg_xml_simd *out);

// fg_xml_simd_env_check returns 1 when FG_XML_SIMD_ENV is unset or names an
// available level; else it writes the reason (with the offending value) to
// |err| and returns 0. The command line refuses to start on 0.
int fg_xml_simd_env_check(char *err, size_t err_len);

// fg_xml_parser_simd returns the level of the copy that runs |p|: the one
// active when it was created.
struct fg_xml_parser;
fg_xml_simd fg_xml_parser_simd(const struct fg_xml_parser *p);

// fg_xml_simd_name returns "baseline" or "x86-64-v3".
const char *fg_xml_simd_name(fg_xml_simd s);

#endif  // FEDGATE_GATEWAY_XML_SIMD_H
