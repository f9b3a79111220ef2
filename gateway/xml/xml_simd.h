// xml_simd.h: which build of the XML parser's byte scanners runs. One
// binary carries a baseline x86-64 build (SSE2) and an AVX2 build of the
// tokenizer, and runs anywhere: the AVX2 one only where cpuid reports AVX2.
// It is the default only in builds whose whole parser is AVX code (see
// fg_xml_simd_best); tests and benchmarks select either. `fedgate --version`
// and `fedgate probe` print the choice.
#ifndef FEDGATE_GATEWAY_XML_SIMD_H
#define FEDGATE_GATEWAY_XML_SIMD_H

typedef enum fg_xml_simd {
  FG_XML_SIMD_BASELINE = 0,  // x86-64 baseline: SSE2 (scalar on other CPUs)
  FG_XML_SIMD_AVX2,          // 32-byte scanners and SIMD UTF-8 validation
} fg_xml_simd;

// fg_xml_simd_available says whether this binary has build |s| and this CPU
// can run it.
int fg_xml_simd_available(fg_xml_simd s);

// fg_xml_simd_best returns the build parsers use unless told otherwise: the
// AVX2 one where it is available and the whole parser was compiled for AVX
// (an opt build, -march=native), else the baseline one.
fg_xml_simd fg_xml_simd_best(void);

// fg_xml_simd_active returns the build parsers created from now on use.
fg_xml_simd fg_xml_simd_active(void);

// fg_xml_simd_select makes parsers created from now on use |s| (benchmarks
// and tests compare the builds in one process). It returns 0, changing
// nothing, when |s| is not available.
int fg_xml_simd_select(fg_xml_simd s);

// fg_xml_simd_name returns "avx2" or "baseline" (with "sse2" on x86-64:
// "baseline-sse2").
const char *fg_xml_simd_name(fg_xml_simd s);

#endif  // FEDGATE_GATEWAY_XML_SIMD_H
