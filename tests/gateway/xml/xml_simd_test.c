// xml_simd_test.c: the run-time choice of the XML parser's instruction-set
// copy (gateway/xml/xml_simd.h), and every copy this CPU runs agreeing byte
// for byte with the baseline copy: every input of the parser's fuzz corpora,
// inputs built to put multi-byte UTF-8 sequences, invalid sequences and
// markup at every offset of a 32-byte block, and random streams give the same
// events, the same error and the same error offset on every copy, whole and
// in chunks.
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

// cpu_has_level asks the compiler's own CPU detection (a second opinion on
// xml_simd.c's cpuid reading) whether this CPU runs x86-64 level |s|.
static int cpu_has_level(fg_xml_simd s) {
#if defined(__x86_64__)
  __builtin_cpu_init();
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
  if (s == FG_XML_SIMD_X86_64_V3) return __builtin_cpu_supports("x86-64-v3") != 0;
#else
  int v2 = __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt") &&
           __builtin_cpu_supports("ssse3");
  if (s == FG_XML_SIMD_X86_64_V3)
    return v2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
           __builtin_cpu_supports("fma");
#endif
#endif
  return s == FG_XML_SIMD_BASELINE;
}

static void test_levels_follow_cpuid(void **state) {
  (void)state;
  assert_true(fg_xml_simd_available(FG_XML_SIMD_BASELINE));
  fg_xml_simd best = FG_XML_SIMD_BASELINE;
  for (int s = 0; s < FG_XML_SIMD_COUNT; s++) {
#if defined(__x86_64__)
    assert_true(fg_xml_simd_built((fg_xml_simd)s));
#else
    assert_int_equal(fg_xml_simd_built((fg_xml_simd)s), s == FG_XML_SIMD_BASELINE);
#endif
    int want = fg_xml_simd_built((fg_xml_simd)s) && cpu_has_level((fg_xml_simd)s);
    assert_int_equal(fg_xml_simd_available((fg_xml_simd)s), want);
    if (want) best = (fg_xml_simd)s;
  }
  assert_int_equal(fg_xml_simd_best(), best);
  assert_int_equal(fg_xml_simd_built(FG_XML_SIMD_COUNT), 0);
  assert_string_equal(fg_xml_simd_name(FG_XML_SIMD_BASELINE), "baseline");
  assert_string_equal(fg_xml_simd_name(FG_XML_SIMD_AVX2), "x86-64-v3");
}

static void test_level_names(void **state) {
  (void)state;
  static const struct {
    const char *name;
    int ok;
    fg_xml_simd s;
  } cases[] = {
      {"baseline", 1, FG_XML_SIMD_BASELINE},  {"x86-64", 1, FG_XML_SIMD_BASELINE},
      {"v1", 1, FG_XML_SIMD_BASELINE},        {"x86-64-v2", 0, FG_XML_SIMD_BASELINE},
      {"v2", 0, FG_XML_SIMD_BASELINE},        {"x86-64-v3", 1, FG_XML_SIMD_X86_64_V3},
      {"avx2", 1, FG_XML_SIMD_X86_64_V3},     {"v3", 1, FG_XML_SIMD_X86_64_V3},
      {"x86-64-v4", 0, FG_XML_SIMD_BASELINE}, {"AVX2", 0, FG_XML_SIMD_BASELINE},
      {"", 0, FG_XML_SIMD_BASELINE},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    fg_xml_simd s = FG_XML_SIMD_COUNT;
    assert_int_equal(fg_xml_simd_parse(cases[k].name, &s), cases[k].ok);
    if (cases[k].ok) assert_int_equal(s, cases[k].s);
  }
}

// test_env_check_names_the_value: a forced level the binary or CPU cannot
// run is reported with the offending value (the command line refuses it).
static void test_env_check_names_the_value(void **state) {
  (void)state;
  char err[256];
  const char *old = getenv(FG_XML_SIMD_ENV);
  char *saved = old ? strdup(old) : NULL;
  unsetenv(FG_XML_SIMD_ENV);
  assert_int_equal(fg_xml_simd_env_check(err, sizeof(err)), 1);
  setenv(FG_XML_SIMD_ENV, "baseline", 1);
  assert_int_equal(fg_xml_simd_env_check(err, sizeof(err)), 1);
  setenv(FG_XML_SIMD_ENV, "pentium", 1);
  assert_int_equal(fg_xml_simd_env_check(err, sizeof(err)), 0);
  assert_non_null(strstr(err, "FEDGATE_XML_ISA: unknown XML parser level (value 'pentium'"));
  if (!fg_xml_simd_available(FG_XML_SIMD_X86_64_V3)) {
    setenv(FG_XML_SIMD_ENV, "x86-64-v3", 1);
    assert_int_equal(fg_xml_simd_env_check(err, sizeof(err)), 0);
    assert_non_null(strstr(err, "(value 'x86-64-v3'"));
  }
  if (saved != NULL)
    setenv(FG_XML_SIMD_ENV, saved, 1);
  else
    unsetenv(FG_XML_SIMD_ENV);
  free(saved);
}

static void test_select_refuses_what_the_cpu_lacks(void **state) {
  (void)state;
  assert_int_equal(fg_xml_simd_select(FG_XML_SIMD_BASELINE), 1);
  assert_int_equal(fg_xml_simd_active(), FG_XML_SIMD_BASELINE);
  for (int s = 1; s < FG_XML_SIMD_COUNT; s++) {
    int has = fg_xml_simd_available((fg_xml_simd)s);
    fg_xml_simd before = fg_xml_simd_active();
    assert_int_equal(fg_xml_simd_select((fg_xml_simd)s), has);
    assert_int_equal(fg_xml_simd_active(), has ? (fg_xml_simd)s : before);
  }
  assert_int_equal(fg_xml_simd_select((fg_xml_simd)7), 0);
  assert_int_equal(fg_xml_simd_select(FG_XML_SIMD_COUNT), 0);
  fg_xml_simd_select(fg_xml_simd_best());
}

// test_parser_keeps_its_level: a parser runs the copy that was active when
// it was created, whatever is selected later.
static void test_parser_keeps_its_level(void **state) {
  (void)state;
  static const char stream[] =
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>"
      "<message to='b.example'><body>hi</body></message>";
  fg_xml_parser *p[FG_XML_SIMD_COUNT] = {0};
  for (int s = 0; s < FG_XML_SIMD_COUNT; s++) {
    if (!fg_xml_simd_select((fg_xml_simd)s)) continue;
    p[s] = fg_xml_parser_new(NULL);
    assert_non_null(p[s]);
  }
  fg_xml_simd_select(FG_XML_SIMD_BASELINE);
  for (int s = 0; s < FG_XML_SIMD_COUNT; s++) {
    if (p[s] == NULL) continue;
    assert_int_equal(fg_xml_parser_simd(p[s]), s);
    size_t used, off = 0, len = sizeof(stream) - 1;
    assert_int_equal(fg_xml_parser_feed(p[s], &used, (const uint8_t *)stream, len),
                     FG_XML_EVENT_STREAM_OPEN);
    off += used;
    assert_int_equal(fg_xml_parser_feed(p[s], &used, (const uint8_t *)stream + off, len - off),
                     FG_XML_EVENT_ELEMENT);
    assert_true(
        fg_xml_str_eq(fg_xml_node_attr(fg_xml_parser_element(p[s])->root, "", "to"), "b.example"));
    fg_xml_parser_free(p[s]);
  }
  fg_xml_simd_select(fg_xml_simd_best());
}

// levels_to_compare returns how many copies above the baseline this CPU runs.
static int levels_to_compare(void) {
  int n = 0;
  for (int s = 1; s < FG_XML_SIMD_COUNT; s++) n += fg_xml_simd_available((fg_xml_simd)s);
  return n;
}

// run parses |in| on build |s|, whole (nsplits 0) or cut before |splits|.
static void run(fg_xml_transcript *t, fg_xml_simd s, const fg_xml_config *cfg, const uint8_t *in,
                size_t len, const size_t *splits, size_t nsplits) {
  assert_int_equal(fg_xml_simd_select(s), 1);
  assert_int_equal(fg_xml_transcript_run(t, cfg, in, len, splits, nsplits), 1);
}

// agree returns 1 when every copy this CPU runs gives the baseline copy's
// transcript for |in|, whole and cut every |step| bytes; it prints the
// input's name and the level otherwise.
static int agree(const char *name, const fg_xml_config *cfg, const uint8_t *in, size_t len,
                 size_t step) {
  size_t splits[512], n = 0;
  for (size_t pos = step; step != 0 && pos < len && n < 512; pos += step) splits[n++] = pos;
  int ok = 1;
  for (int cut = 0; cut < 2 && ok; cut++) {
    fg_xml_transcript base;
    run(&base, FG_XML_SIMD_BASELINE, cfg, in, len, splits, cut ? n : 0);
    for (int s = 1; s < FG_XML_SIMD_COUNT && ok; s++) {
      if (!fg_xml_simd_available((fg_xml_simd)s)) continue;
      fg_xml_transcript t;
      run(&t, (fg_xml_simd)s, cfg, in, len, splits, cut ? n : 0);
      if (!fg_xml_transcript_same(&t, &base)) {
        fprintf(stderr, "copies disagree on %s (%s): %s error %d at %llu, baseline %d at %llu\n",
                name, cut ? "chunked" : "whole", fg_xml_simd_name((fg_xml_simd)s), (int)t.err,
                (unsigned long long)t.err_off, (int)base.err, (unsigned long long)base.err_off);
        ok = 0;
      }
      fg_xml_transcript_free(&t);
    }
    fg_xml_transcript_free(&base);
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
  if (levels_to_compare() == 0) skip();
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
  if (levels_to_compare() == 0) skip();
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

// test_random_inputs_agree parses random streams, made of stanza fragments,
// UTF-8 (valid and not), references and random bytes, on every copy, whole
// and in random chunks. The seed is fixed so that a failure repeats.
static void test_random_inputs_agree(void **state) {
  (void)state;
  if (levels_to_compare() == 0) skip();
  // Pieces of character data that are well-formed anywhere in a body.
  static const char *const text[] = {
      "<![CDATA[ <raw> & ]]>",
      "&amp;",
      "&lt;",
      "&#x10FFFF;",
      "&#65;",
      "\xc3\xa9",
      "\xe2\x82\xac",
      "\xf0\x9f\x98\x80",
      "\r\n",
      "\t",
      " ",
      ">",
      "<b xmlns='urn:x'>bold</b>",
      "<x:i xmlns:x='urn:x' x:a='1' a='2'/>",
      "abcdefghijklmnopqrstuvwxyz0123456789",
      "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz",
  };
  // Pieces that end the stream with an error (or leave it unfinished).
  static const char *const bad[] = {
      "&bogus;", "\xed\xa0\x80", "\xc0\x80", "<!-- c -->", "<?pi?>",
      "='",      "\"",           "]]>",      "</body>",    "<",
  };
  const size_t ntext = sizeof(text) / sizeof(text[0]), nbad = sizeof(bad) / sizeof(bad[0]);
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  uint8_t buf[4096];
  char name[64];
  size_t failures = 0, errors = 0, cases = 600;
  for (size_t c = 0; c < cases; c++) {
    size_t len = sizeof(kHeader) - 1;
    memcpy(buf, kHeader, len);
    // Stanzas of random well-formed bodies; in one stream in four, a random
    // byte or a bad piece now and then.
    int noisy = c % 4 == 0;
    while (len < sizeof(buf) - 512) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      if ((x & 31) == 0) break;
      static const char open[] = "<message to='b.example' from='a.example' id='r'><body>";
      static const char close[] = "</body></message>";
      memcpy(buf + len, open, sizeof(open) - 1);
      len += sizeof(open) - 1;
      for (int k = 0; k < (int)((x >> 5) % 12); k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const char *piece = text[(x >> 16) % ntext];
        if (noisy && (x >> 8) % 32 == 0) piece = bad[(x >> 24) % nbad];
        size_t plen = strlen(piece);
        memcpy(buf + len, piece, plen);
        len += plen;
        if (noisy && (x >> 8) % 32 == 1) buf[len++] = (uint8_t)(x >> 32);  // any byte
      }
      memcpy(buf + len, close, sizeof(close) - 1);
      len += sizeof(close) - 1;
    }
    snprintf(name, sizeof(name), "random stream %zu", c);
    fg_xml_transcript t;
    run(&t, FG_XML_SIMD_BASELINE, &cfg, buf, len, NULL, 0);
    errors += t.err != FG_XML_ERR_NONE;
    fg_xml_transcript_free(&t);
    if (!agree(name, &cfg, buf, len, 1 + (size_t)(x >> 40) % 61)) failures++;
  }
  fg_xml_simd_select(fg_xml_simd_best());
  printf("random streams: %zu (%zu with a stream error), %zu disagreements\n", cases, errors,
         failures);
  assert_true(errors > 0 && errors < cases);  // both outcomes are exercised
  assert_int_equal(failures, 0);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc && g_n_corpus_dirs < 8; i++) g_corpus_dirs[g_n_corpus_dirs++] = argv[i];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_levels_follow_cpuid),
      cmocka_unit_test(test_level_names),
      cmocka_unit_test(test_env_check_names_the_value),
      cmocka_unit_test(test_select_refuses_what_the_cpu_lacks),
      cmocka_unit_test(test_parser_keeps_its_level),
      cmocka_unit_test(test_generated_inputs_agree),
      cmocka_unit_test(test_random_inputs_agree),
      cmocka_unit_test(test_fuzz_corpora_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
