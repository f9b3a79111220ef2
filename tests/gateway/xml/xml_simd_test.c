// xml_simd_test.c: the run-time choice of the XML scanner build
// (gateway/xml/xml_simd.h), and the two builds agreeing byte for byte: every
// input of the parser's fuzz corpora and inputs built to put multi-byte UTF-8
// sequences, invalid sequences and markup at every offset of a 32-byte block
// give the same events, the same error and the same error offset on the
// AVX2 build and on the baseline x86-64 build, whole and in chunks.
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/xml/xml_parser.h"
#include "gateway/xml/xml_simd.h"
#include "tests/gateway/xml/xml_transcript.h"
#include "tests/testutil.h"

static const char *g_corpus_dirs[8];
static int g_n_corpus_dirs;

static void test_best_follows_cpuid(void **state) {
  (void)state;
#if defined(__x86_64__)
  __builtin_cpu_init();
  assert_int_equal(fg_xml_simd_available(FG_XML_SIMD_AVX2), __builtin_cpu_supports("avx2") != 0);
#else
  assert_int_equal(fg_xml_simd_available(FG_XML_SIMD_AVX2), 0);
#endif
  assert_true(fg_xml_simd_available(FG_XML_SIMD_BASELINE));
#if defined(__AVX2__)
  assert_int_equal(fg_xml_simd_best(), fg_xml_simd_available(FG_XML_SIMD_AVX2)
                                           ? FG_XML_SIMD_AVX2
                                           : FG_XML_SIMD_BASELINE);
#else
  assert_int_equal(fg_xml_simd_best(), FG_XML_SIMD_BASELINE);
#endif
  assert_string_equal(fg_xml_simd_name(FG_XML_SIMD_AVX2), "avx2");
  assert_non_null(strstr(fg_xml_simd_name(FG_XML_SIMD_BASELINE), "baseline"));
}

static void test_select_refuses_what_the_cpu_lacks(void **state) {
  (void)state;
  assert_int_equal(fg_xml_simd_select(FG_XML_SIMD_BASELINE), 1);
  assert_int_equal(fg_xml_simd_active(), FG_XML_SIMD_BASELINE);
  int has_avx2 = fg_xml_simd_available(FG_XML_SIMD_AVX2);
  assert_int_equal(fg_xml_simd_select(FG_XML_SIMD_AVX2), has_avx2);
  assert_int_equal(fg_xml_simd_active(), has_avx2 ? FG_XML_SIMD_AVX2 : FG_XML_SIMD_BASELINE);
  assert_int_equal(fg_xml_simd_select((fg_xml_simd)7), 0);
  fg_xml_simd_select(fg_xml_simd_best());
}

// run parses |in| on build |s|, whole (nsplits 0) or cut before |splits|.
static void run(fg_xml_transcript *t, fg_xml_simd s, const fg_xml_config *cfg, const uint8_t *in,
                size_t len, const size_t *splits, size_t nsplits) {
  assert_int_equal(fg_xml_simd_select(s), 1);
  assert_int_equal(fg_xml_transcript_run(t, cfg, in, len, splits, nsplits), 1);
}

// agree returns 1 when both builds give the same transcript for |in|, whole
// and cut every |step| bytes; it prints the input's name otherwise.
static int agree(const char *name, const fg_xml_config *cfg, const uint8_t *in, size_t len,
                 size_t step) {
  size_t splits[512], n = 0;
  for (size_t pos = step; step != 0 && pos < len && n < 512; pos += step) splits[n++] = pos;
  int ok = 1;
  for (int cut = 0; cut < 2 && ok; cut++) {
    fg_xml_transcript a, b;
    run(&a, FG_XML_SIMD_AVX2, cfg, in, len, splits, cut ? n : 0);
    run(&b, FG_XML_SIMD_BASELINE, cfg, in, len, splits, cut ? n : 0);
    if (!fg_xml_transcript_same(&a, &b)) {
      fprintf(stderr, "builds disagree on %s (%s): avx2 error %d at %llu, baseline %d at %llu\n",
              name, cut ? "chunked" : "whole", (int)a.err, (unsigned long long)a.err_off,
              (int)b.err, (unsigned long long)b.err_off);
      ok = 0;
    }
    fg_xml_transcript_free(&a);
    fg_xml_transcript_free(&b);
  }
  return ok;
}

static const char kHeader[] =
    "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
    "from='a.example' to='b.example' version='1.0'>";

// test_generated_inputs_agree puts each probe sequence at every offset of
// two 32-byte blocks, in text and in attribute values.
static void test_generated_inputs_agree(void **state) {
  (void)state;
  if (!fg_xml_simd_available(FG_XML_SIMD_AVX2)) skip();
  static const char *const probes[] = {
      "\xc3\xa9",          // U+00E9
      "\xe2\x82\xac",      // U+20AC
      "\xf0\x9f\x98\x80",  // U+1F600
      "\xef\xbf\xbd",      // U+FFFD (allowed)
      "\xef\xbf\xbe",      // U+FFFE (not an XML Char)
      "\xef\xbf\xbf",      // U+FFFF
      "\xed\xa0\x80",      // surrogate
      "\xc0\xaf",          // overlong
      "\xe0\x80\xaf",      // overlong, 3 bytes
      "\xf4\x90\x80\x80",  // above U+10FFFF
      "\x80",              // lone continuation
      "\xe2\x82",          // cut sequence
      "\x01",              // control
      "&amp;",
      "&#x1F600;",
      "]]>",
      "<",
      ">",
      "\t",
      "\r\n",
      "'",
      "\"",
  };
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  char buf[1024], name[64];
  size_t failures = 0, cases = 0;
  for (size_t k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
    for (int off = 0; off < 70; off++) {
      for (int in_attr = 0; in_attr < 2; in_attr++) {
        char pad[80];
        memset(pad, 'x', (size_t)off);
        pad[off] = 0;
        int len = snprintf(buf, sizeof(buf),
                           in_attr ? "%s<message id='%s%s%s'><body>plain</body></message>"
                                   : "%s<message><body>%s%s%s</body></message>",
                           kHeader, pad, probes[k], "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
        snprintf(name, sizeof(name), "probe %zu at %d%s", k, off, in_attr ? " in attr" : "");
        for (size_t step = 0; step <= 13; step += 13) {
          cases++;
          if (!agree(name, &cfg, (const uint8_t *)buf, (size_t)len, step)) failures++;
        }
      }
    }
  }
  fg_xml_simd_select(fg_xml_simd_best());
  printf("generated inputs: %zu cases, %zu disagreements\n", cases, failures);
  assert_int_equal(failures, 0);
}

// test_fuzz_corpora_agree parses every seed of the parser's fuzz corpora
// (two control bytes, then the stream) on both builds.
static void test_fuzz_corpora_agree(void **state) {
  (void)state;
  if (!fg_xml_simd_available(FG_XML_SIMD_AVX2)) skip();
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  size_t files = 0, failures = 0;
  for (int d = 0; d < g_n_corpus_dirs; d++) {
    DIR *dir = opendir(g_corpus_dirs[d]);
    assert_non_null(dir);
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
      if (e->d_name[0] == '.') continue;
      char path[1024];
      snprintf(path, sizeof(path), "%s/%s", g_corpus_dirs[d], e->d_name);
      size_t len = 0;
      uint8_t *data = fg_test_read_file(path, &len);
      assert_non_null(data);
      if (len >= 2) {
        files++;
        if (!agree(path, &cfg, data + 2, len - 2, 1 + data[1] % 37)) failures++;
      }
      free(data);
    }
    closedir(dir);
  }
  fg_xml_simd_select(fg_xml_simd_best());
  printf("corpus files: %zu, disagreements: %zu\n", files, failures);
  assert_true(files > 100);
  assert_int_equal(failures, 0);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc && g_n_corpus_dirs < 8; i++) g_corpus_dirs[g_n_corpus_dirs++] = argv[i];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_best_follows_cpuid),
      cmocka_unit_test(test_select_refuses_what_the_cpu_lacks),
      cmocka_unit_test(test_generated_inputs_agree),
      cmocka_unit_test(test_fuzz_corpora_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
