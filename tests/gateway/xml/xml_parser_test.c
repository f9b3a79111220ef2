// xml_parser_test.c: gateway/xml/xml_parser against ../shared/vectors/xml and
// the rules of RFC 6120 §4 and §11, each input fed whole, one byte at a time
// and at random split points. One file on purpose, though long: it is one
// table of the parser's public behaviour (the parts behind it are tested
// through that behaviour, the scanners also in xml_scan_test.c), and a rule
// is easier to find in one table than across several.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/xml/xml_parser.h"
#include "gateway/xml/xml_serializer.h"
#include "tests/gateway/xml/xml_transcript.h"
#include "tests/testutil.h"
#include "tests/alloc_count.h"

#define H                                                                                 \
  "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' " \
  "from='a.example' to='b.example' version='1.0'>"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

// check_all_chunkings parses |in| whole, byte by byte, and at random splits
// (plus |extra| splits when given), asserts that every run agrees and that the
// invariants hold, and returns the whole-input transcript in |out|.
static void check_all_chunkings(const fg_xml_config *cfg, const uint8_t *in, size_t len,
                                const size_t *extra, size_t nextra, fg_xml_transcript *out,
                                const char *label) {
  assert_true(fg_xml_transcript_run(out, cfg, in, len, NULL, 0));
  assert_int_equal(out->canon_mismatch, 0);
  assert_int_equal(out->write_fail, 0);
  assert_int_equal(out->accounting, 0);
  assert_int_equal(out->root_view_mismatch, 0);
  fg_xml_transcript t;
  assert_true(fg_xml_transcript_run_step(&t, cfg, in, len, 1));
  if (!fg_xml_transcript_same(out, &t))
    fail_msg("%s: byte-by-byte differs: whole %s@%llu, bytes %s@%llu\n%s---\n%s", label,
             fg_xml_error_condition(out->err), (unsigned long long)out->err_off,
             fg_xml_error_condition(t.err), (unsigned long long)t.err_off, out->events, t.events);
  assert_int_equal(t.canon_mismatch + t.write_fail + t.accounting + t.root_view_mismatch, 0);
  fg_xml_transcript_free(&t);
  for (int round = 0; round < 6 && len > 1; round++) {
    size_t splits[8];
    size_t k = 1 + rng() % 7;
    for (size_t j = 0; j < k; j++) splits[j] = 1 + rng() % (len - 1);
    for (size_t a = 1; a < k; a++)  // insertion sort
      for (size_t b = a; b > 0 && splits[b - 1] > splits[b]; b--) {
        size_t x = splits[b];
        splits[b] = splits[b - 1];
        splits[b - 1] = x;
      }
    assert_true(fg_xml_transcript_run(&t, cfg, in, len, splits, k));
    if (!fg_xml_transcript_same(out, &t)) fail_msg("%s: random split differs", label);
    assert_int_equal(t.canon_mismatch + t.write_fail + t.accounting + t.root_view_mismatch, 0);
    fg_xml_transcript_free(&t);
    // The same cuts with fg_xml_parser_trim between reads (quiet streams).
    assert_true(fg_xml_transcript_run_trimming(&t, cfg, in, len, splits, k));
    if (!fg_xml_transcript_same(out, &t)) fail_msg("%s: random split with trims differs", label);
    assert_int_equal(t.canon_mismatch + t.write_fail + t.accounting + t.root_view_mismatch, 0);
    fg_xml_transcript_free(&t);
  }
  if (nextra > 0) {
    assert_true(fg_xml_transcript_run(&t, cfg, in, len, extra, nextra));
    if (!fg_xml_transcript_same(out, &t)) fail_msg("%s: split-at differs", label);
    fg_xml_transcript_free(&t);
  }
  char why[8192];
  if (!fg_xml_transcript_roundtrip(out, cfg, why, sizeof(why)))
    fail_msg("%s: round trip: %s", label, why);
}

// expect_stream checks |s| (NUL-terminated) against an expected condition
// (FG_XML_ERR_NONE for success) and, for errors, the byte offset (-1: any).
static fg_xml_transcript expect_cfg(const fg_xml_config *cfg, const char *s, size_t len,
                                    fg_xml_error err, long long off) {
  fg_xml_transcript t;
  check_all_chunkings(cfg, (const uint8_t *)s, len, NULL, 0, &t, s);
  if (t.err != err)
    fail_msg("input %.200s: expected %s, got %s at %llu", s, fg_xml_error_condition(err),
             fg_xml_error_condition(t.err), (unsigned long long)t.err_off);
  if (err != FG_XML_ERR_NONE && off >= 0 && t.err_off != (uint64_t)off)
    fail_msg("input %.200s: %s expected at byte %lld, got %llu", s, fg_xml_error_condition(err),
             off, (unsigned long long)t.err_off);
  return t;
}

static void expect(const char *s, fg_xml_error err, long long off) {
  fg_xml_transcript t = expect_cfg(NULL, s, strlen(s), err, off);
  fg_xml_transcript_free(&t);
}

static size_t expect_elements(const char *s) {
  fg_xml_transcript t = expect_cfg(NULL, s, strlen(s), FG_XML_ERR_NONE, -1);
  size_t n = t.elements;
  fg_xml_transcript_free(&t);
  return n;
}

// ---------------------------------------------------------------------------
// GENERATE: the handful of Python expression forms the vectors use: string
// and bytes literals, `input`, `H`, integers, `+`, `*`, parentheses,
// `.encode()`, `str(n)`, `bytes([...])` and `chr(n)`.

typedef struct gval {
  int is_int;
  long long i;
  uint8_t *b;
  size_t n;
} gval;

typedef struct gen {
  const char *s;
  size_t pos;
  const uint8_t *input;
  size_t input_len;
  int err;
  char why[200];
} gen;

static void gskip(gen *g) {
  while (g->s[g->pos] == ' ') g->pos++;
}

static void gfail(gen *g, const char *why) {
  if (!g->err) snprintf(g->why, sizeof(g->why), "%s at '%.30s'", why, g->s + g->pos);
  g->err = 1;
}

static gval gbytes(const void *d, size_t n) {
  gval v = {0, 0, malloc(n + 1), n};
  if (n) memcpy(v.b, d, n);
  return v;
}

static gval gexpr(gen *g);

static gval gatom(gen *g) {
  gval none = {1, 0, NULL, 0};
  gskip(g);
  const char *s = g->s;
  size_t p = g->pos;
  int is_bytes = 0;
  if (s[p] == 'b' && (s[p + 1] == '\'' || s[p + 1] == '"')) {
    is_bytes = 1;
    p++;
  }
  (void)is_bytes;
  if (s[p] == '\'' || s[p] == '"') {
    char q = s[p++];
    uint8_t *o = malloc(strlen(s) + 1);
    size_t n = 0;
    while (s[p] && s[p] != q) {
      if (s[p] != '\\') {
        o[n++] = (uint8_t)s[p++];
        continue;
      }
      p++;
      char c = s[p++];
      switch (c) {
        case 'n':
          o[n++] = '\n';
          break;
        case 't':
          o[n++] = '\t';
          break;
        case 'r':
          o[n++] = '\r';
          break;
        case '0':
          o[n++] = 0;
          break;
        case '\\':
          o[n++] = '\\';
          break;
        case '\'':
          o[n++] = '\'';
          break;
        case '"':
          o[n++] = '"';
          break;
        case 'x': {
          unsigned v;
          if (sscanf(s + p, "%2x", &v) != 1) gfail(g, "bad \\x");
          o[n++] = (uint8_t)v;
          p += 2;
          break;
        }
        case 'u':
        case 'U': {  // \uXXXX, \UXXXXXXXX in str literals: UTF-8
          int digits = c == 'u' ? 4 : 8;
          char hex[9] = {0};
          memcpy(hex, s + p, (size_t)digits);
          uint32_t cp = (uint32_t)strtoul(hex, NULL, 16);
          p += (size_t)digits;
          if (cp < 0x80) {
            o[n++] = (uint8_t)cp;
          } else if (cp < 0x800) {
            o[n++] = (uint8_t)(0xC0 | cp >> 6);
            o[n++] = (uint8_t)(0x80 | (cp & 63));
          } else if (cp < 0x10000) {
            o[n++] = (uint8_t)(0xE0 | cp >> 12);
            o[n++] = (uint8_t)(0x80 | ((cp >> 6) & 63));
            o[n++] = (uint8_t)(0x80 | (cp & 63));
          } else {
            o[n++] = (uint8_t)(0xF0 | cp >> 18);
            o[n++] = (uint8_t)(0x80 | ((cp >> 12) & 63));
            o[n++] = (uint8_t)(0x80 | ((cp >> 6) & 63));
            o[n++] = (uint8_t)(0x80 | (cp & 63));
          }
          break;
        }
        default:
          gfail(g, "unsupported escape");
      }
    }
    if (s[p] != q) gfail(g, "unterminated string");
    g->pos = p + 1;
    gval v = {0, 0, o, n};
    return v;
  }
  if (s[p] >= '0' && s[p] <= '9') {
    char *end;
    long long x = strtoll(s + p, &end, 0);  // decimal or 0x hex
    g->pos = (size_t)(end - s);
    gval v = {1, x, NULL, 0};
    return v;
  }
  if (s[p] == '(') {
    g->pos = p + 1;
    gval v = gexpr(g);
    gskip(g);
    if (g->s[g->pos] != ')') gfail(g, "expected )");
    g->pos++;
    return v;
  }
  if (strncmp(s + p, "input", 5) == 0) {
    g->pos = p + 5;
    return gbytes(g->input, g->input_len);
  }
  if (s[p] == 'H' && !((s[p + 1] | 0x20) >= 'a' && (s[p + 1] | 0x20) <= 'z')) {
    g->pos = p + 1;
    return gbytes(H, strlen(H));
  }
  if (strncmp(s + p, "str(", 4) == 0 || strncmp(s + p, "chr(", 4) == 0) {
    int is_chr = s[p] == 'c';
    g->pos = p + 4;
    gval a = gexpr(g);
    gskip(g);
    if (g->s[g->pos] != ')' || !a.is_int) gfail(g, "bad str()/chr()");
    g->pos++;
    char tmp[32];
    if (!is_chr) {
      snprintf(tmp, sizeof(tmp), "%lld", a.i);
      return gbytes(tmp, strlen(tmp));
    }
    uint32_t cp = (uint32_t)a.i;
    uint8_t u[4];
    size_t n = 0;
    if (cp < 0x80)
      u[n++] = (uint8_t)cp;
    else if (cp < 0x800)
      u[n++] = (uint8_t)(0xC0 | cp >> 6), u[n++] = (uint8_t)(0x80 | (cp & 63));
    else if (cp < 0x10000)
      u[n++] = (uint8_t)(0xE0 | cp >> 12), u[n++] = (uint8_t)(0x80 | ((cp >> 6) & 63)),
      u[n++] = (uint8_t)(0x80 | (cp & 63));
    else
      u[n++] = (uint8_t)(0xF0 | cp >> 18), u[n++] = (uint8_t)(0x80 | ((cp >> 12) & 63)),
      u[n++] = (uint8_t)(0x80 | ((cp >> 6) & 63)), u[n++] = (uint8_t)(0x80 | (cp & 63));
    return gbytes(u, n);
  }
  if (strncmp(s + p, "len(", 4) == 0) {
    g->pos = p + 4;
    gval a = gexpr(g);
    gskip(g);
    if (g->s[g->pos] != ')' || a.is_int) gfail(g, "bad len()");
    g->pos++;
    gval v = {1, (long long)a.n, NULL, 0};
    free(a.b);
    return v;
  }
  if (strncmp(s + p, "bytes([", 7) == 0) {
    g->pos = p + 7;
    uint8_t tmp[4096];
    size_t n = 0;
    for (;;) {
      gskip(g);
      if (g->s[g->pos] == ']') break;
      gval a = gexpr(g);
      if (!a.is_int || n >= sizeof(tmp)) {
        gfail(g, "bad bytes()");
        break;
      }
      tmp[n++] = (uint8_t)a.i;
      gskip(g);
      if (g->s[g->pos] == ',') g->pos++;
    }
    g->pos++;
    gskip(g);
    if (g->s[g->pos] == ')') g->pos++;
    return gbytes(tmp, n);
  }
  gfail(g, "unsupported expression");
  return none;
}

static gval gpostfix(gen *g) {
  gval v = gatom(g);
  for (;;) {
    gskip(g);
    if (strncmp(g->s + g->pos, ".encode(", 8) == 0) {
      const char *e = strchr(g->s + g->pos, ')');
      if (e == NULL) {
        gfail(g, "bad encode");
        return v;
      }
      g->pos = (size_t)(e - g->s) + 1;
      continue;
    }
    return v;
  }
}

static gval gpower(gen *g) {
  gval v = gpostfix(g);
  gskip(g);
  if (g->s[g->pos] == '*' && g->s[g->pos + 1] == '*') {
    g->pos += 2;
    gval e = gpower(g);
    if (!v.is_int || !e.is_int || e.i < 0 || e.i > 62) {
      gfail(g, "bad **");
      return v;
    }
    long long r = 1;
    for (long long k = 0; k < e.i; k++) r *= v.i;
    v.i = r;
  }
  return v;
}

static gval gterm(gen *g) {
  gval v = gpower(g);
  for (;;) {
    gskip(g);
    if (g->s[g->pos] != '*' || g->s[g->pos + 1] == '*' || g->err) return v;
    g->pos++;
    gval r = gpower(g);
    if (v.is_int && r.is_int) {
      v.i *= r.i;
      continue;
    }
    gval str = v.is_int ? r : v, cnt = v.is_int ? v : r;
    if (!cnt.is_int || cnt.i < 0 || cnt.i > 64 * 1024 * 1024 / (long long)(str.n + 1)) {
      gfail(g, "bad repetition");
      return v;
    }
    gval o = {0, 0, malloc(str.n * (size_t)cnt.i + 1), str.n * (size_t)cnt.i};
    for (long long k = 0; k < cnt.i; k++) memcpy(o.b + (size_t)k * str.n, str.b, str.n);
    free(str.b);
    v = o;
  }
}

static gval gexpr(gen *g) {
  gval v = gterm(g);
  for (;;) {
    gskip(g);
    if (g->s[g->pos] != '+' || g->err) return v;
    g->pos++;
    gval r = gterm(g);
    if (v.is_int && r.is_int) {
      v.i += r.i;
      continue;
    }
    if (v.is_int || r.is_int) {
      gfail(g, "int + str");
      return v;
    }
    uint8_t *b = realloc(v.b, v.n + r.n + 1);
    memcpy(b + v.n, r.b, r.n);
    v.b = b;
    v.n += r.n;
    free(r.b);
  }
}

// The evaluator itself, on the forms above.
static void test_vectors_generate_expressions(void **state) {
  (void)state;
  struct {
    const char *expr;
    const char *want;
    size_t want_len;
  } cases[] = {
      {"H + '<a/>'", H "<a/>", strlen(H "<a/>")},
      {"input * 2 + b'\\x00'", "xyxy\0", 5},
      {"'ab' * (1 + 2)", "ababab", 6},
      {"'a' * 2**3", "aaaaaaaa", 8},
      {"'\\u00e9'.encode('utf-8') + chr(0x20ac).encode()", "\xc3\xa9\xe2\x82\xac", 5},
      {"str(len('abc')) + bytes([60, 47, 62])", "3</>", 4},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    gen g = {cases[k].expr, 0, (const uint8_t *)"xy", 2, 0, {0}};
    gval v = gexpr(&g);
    if (g.err) fail_msg("%s: %s", cases[k].expr, g.why);
    assert_false(v.is_int);
    assert_int_equal(v.n, cases[k].want_len);
    assert_memory_equal(v.b, cases[k].want, v.n);
    free(v.b);
  }
}

// ---------------------------------------------------------------------------
// The shared vectors.

static int condition_in(const char *cond, const char *list) {
  // |list| is "a,b,c" (spaces allowed).
  size_t n = strlen(cond);
  const char *p = list;
  while (*p) {
    while (*p == ' ' || *p == ',') p++;
    const char *e = p;
    while (*e && *e != ',') e++;
    const char *t = e;
    while (t > p && t[-1] == ' ') t--;
    if ((size_t)(t - p) == n && strncmp(p, cond, n) == 0) return 1;
    p = e;
  }
  return 0;
}

static void test_vectors_xml_streams_tsv(void **state) {
  (void)state;
  char path[1024];
  assert_true(fg_test_vector_path(path, sizeof(path), "xml/streams.tsv"));
  size_t len;
  char *data = (char *)fg_test_read_file(path, &len);
  assert_non_null(data);
  int rows = 0, failures = 0;
  char *save = NULL;
  char *line = strtok_r(data, "\n", &save);  // header
  while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
    if (line[0] == 0 || line[0] == '#') continue;
    char *f[5] = {0};
    char *q = line;
    for (int k = 0; k < 5; k++) {
      f[k] = q;
      q = q ? strchr(q, '\t') : NULL;
      if (q) *q++ = 0;
    }
    if (f[2] == NULL) continue;
    const char *id = f[0], *expect_s = f[2], *note = f[3] ? f[3] : "";
    rows++;
    uint8_t *input = malloc(strlen(f[1]) + 1);
    size_t in_len = fg_test_unescape(input, f[1]);
    // GENERATE is always the last key of the note.
    const char *gx = strstr(note, "GENERATE:");
    if (gx != NULL) {
      gen g = {gx + 9, 0, input, in_len, 0, {0}};
      gval v = gexpr(&g);
      if (g.err || v.is_int) {
        print_error("%s: cannot evaluate GENERATE (%s)\n", id, g.why);
        failures++;
        free(input);
        continue;
      }
      free(input);
      input = v.b;
      in_len = v.n;
    }
    // Keys before GENERATE.
    char keys[4096];
    snprintf(keys, sizeof(keys), "%.*s", (int)(gx ? (size_t)(gx - note) : strlen(note)), note);
    long stanzas = -1;
    const char *st = strstr(keys, "stanzas=");
    if (st) stanzas = strtol(st + 8, NULL, 10);
    char also[512] = "";
    const char *ao = strstr(keys, "also-ok:");
    if (ao) {
      snprintf(also, sizeof(also), "%s", ao + 8);
      char *semi = strchr(also, ';');
      if (semi) *semi = 0;
    }
    size_t splits[256], nsplits = 0;
    const char *sa = strstr(keys, "split-at=");
    if (sa && strncmp(sa + 9, "every-byte", 10) != 0) {
      const char *p = sa + 9;
      while (nsplits < 256 && *p >= '0' && *p <= '9') {
        splits[nsplits++] = strtoul(p, (char **)&p, 10);
        if (*p == ',') p++;
      }
    }
    fg_xml_transcript t;
    check_all_chunkings(NULL, input, in_len, splits, nsplits, &t, id);
    const char *got = t.err == FG_XML_ERR_NONE ? "ok" : fg_xml_error_condition(t.err);
    int ok;
    if (strcmp(expect_s, "ok") == 0)
      ok = t.err == FG_XML_ERR_NONE || condition_in(got, also);
    else
      ok =
          strncmp(expect_s, "error:", 6) == 0 &&
          (strcmp(expect_s + 6, got) == 0 || (t.err != FG_XML_ERR_NONE && condition_in(got, also)));
    if (ok && t.err == FG_XML_ERR_NONE && stanzas >= 0 && (size_t)stanzas != t.elements) ok = 0;
    if (!ok) {
      print_error("%s: expected %s (also %s, stanzas=%ld), got %s at byte %llu with %zu elements\n",
                  id, expect_s, also, stanzas, got, (unsigned long long)t.err_off, t.elements);
      failures++;
    }
    fg_xml_transcript_free(&t);
    free(input);
  }
  free(data);
  print_message("streams.tsv: %d rows, %d failures\n", rows, failures);
  assert_true(rows >= 90);
  assert_int_equal(failures, 0);
}

// RFC 6120 §11.6 with Prosody's UTF-8 list: each sequence inside a <body>.
static void test_rfc6120_11_6_utf8_sequences_txt(void **state) {
  (void)state;
  char path[1024];
  assert_true(fg_test_vector_path(path, sizeof(path), "xml/utf8_sequences.txt"));
  size_t len;
  char *data = (char *)fg_test_read_file(path, &len);
  assert_non_null(data);
  int rows = 0;
  char *save = NULL;
  for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    int pass;
    if (strncmp(line, "Should pass:", 12) == 0)
      pass = 1;
    else if (strncmp(line, "Should fail:", 12) == 0)
      pass = 0;
    else
      continue;
    uint8_t seq[16];
    size_t n = 0;
    char *p = line + 12;
    char *hash = strchr(p, '#');
    if (hash) *hash = 0;
    unsigned v;
    int used;
    while (n < sizeof(seq) && sscanf(p, " %2x%n", &v, &used) == 1) {
      seq[n++] = (uint8_t)v;
      p += used;
    }
    // "Pass" means valid UTF-8; XML 1.0 Char additionally excludes most C0
    // controls and U+FFFE/U+FFFF.
    int xml_ok = pass;
    for (size_t k = 0; k < n; k++)
      if (seq[k] < 0x20) xml_ok = 0;
    if (n == 3 && seq[0] == 0xEF && seq[1] == 0xBF && (seq[2] == 0xBE || seq[2] == 0xBF))
      xml_ok = 0;
    char doc[512];
    size_t off = (size_t)snprintf(doc, sizeof(doc), "%s<message><body>", H);
    size_t at = off;
    memcpy(doc + off, seq, n);
    off += n;
    off += (size_t)snprintf(doc + off, sizeof(doc) - off, "</body></message>");
    fg_xml_transcript t;
    check_all_chunkings(NULL, (const uint8_t *)doc, off, NULL, 0, &t, line);
    if (xml_ok) {
      assert_int_equal(t.err, FG_XML_ERR_NONE);
      assert_int_equal(t.elements, 1);
    } else {
      assert_int_equal(t.err, FG_XML_ERR_NOT_WELL_FORMED);
      assert_true(t.err_off >= at && t.err_off <= at + n);
    }
    fg_xml_transcript_free(&t);
    rows++;
  }
  free(data);
  assert_true(rows >= 50);
}

// ---------------------------------------------------------------------------
// RFC 6120 §11.1: restricted XML.

static void test_rfc6120_11_1_rejects_comment_with_offset(void **state) {
  (void)state;
  expect(H "<message/><!-- x -->", FG_XML_ERR_RESTRICTED_XML, (long long)strlen(H) + 10);
  expect(H "<message><!-- x --></message>", FG_XML_ERR_RESTRICTED_XML, (long long)strlen(H) + 9);
  expect(H "<message><!-x></message>", FG_XML_ERR_NOT_WELL_FORMED, (long long)strlen(H) + 9);
}

static void test_rfc6120_11_1_rejects_processing_instruction(void **state) {
  (void)state;
  expect(H "<message><?php echo 1?></message>", FG_XML_ERR_RESTRICTED_XML,
         (long long)strlen(H) + 9);
  expect("<?xml version='1.0'?><?foo?>" H, FG_XML_ERR_RESTRICTED_XML, 21);
  expect(H "<?XML version='1.0'?>", FG_XML_ERR_NOT_WELL_FORMED, (long long)strlen(H));
}

static void test_rfc6120_11_1_rejects_dtd(void **state) {
  (void)state;
  expect("<!DOCTYPE stream>" H, FG_XML_ERR_RESTRICTED_XML, 0);
  expect(H "<message><!DOCTYPE x></message>", FG_XML_ERR_RESTRICTED_XML, (long long)strlen(H) + 9);
}

static void test_rfc6120_11_1_entities(void **state) {
  (void)state;
  expect(H "<message><body>&euro;</body></message>", FG_XML_ERR_RESTRICTED_XML,
         (long long)strlen(H) + 15);
  expect(H "<message a='&lt;&gt;&amp;&quot;&apos;'/>", FG_XML_ERR_NONE, -1);
  expect(H "<message><body>&amp</body></message>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<message><body>& b</body></message>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  // A long unknown entity name is restricted whatever the chunking.
  expect(H
         "<message><body>&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;</body></message>",
         FG_XML_ERR_RESTRICTED_XML, (long long)strlen(H) + 15);
}

static void test_rfc6120_11_1_character_references(void **state) {
  (void)state;
  expect(H "<message><body>&#x9;&#10;&#13;&#32;&#xD7FF;&#xE000;&#xFFFD;&#x10000;</body></message>",
         FG_XML_ERR_NONE, -1);
  expect(H "<message><body>&#8;</body></message>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<message><body>&#xFFFF;</body></message>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<message><body>&#xDFFF;</body></message>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<message><body>&#99999999999999999999;</body></message>", FG_XML_ERR_NOT_WELL_FORMED,
         -1);
  expect(H "<message><body>&#x;</body></message>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<message><body>&#12a;</body></message>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<message id='&#0;'/>", FG_XML_ERR_NOT_WELL_FORMED, -1);
}

static void test_rfc6120_11_1_cdata_allowed(void **state) {
  (void)state;
  fg_xml_transcript t =
      expect_cfg(NULL, H "<m><b>x<![CDATA[<a>&]]>y</b></m>",
                 strlen(H "<m><b>x<![CDATA[<a>&]]>y</b></m>"), FG_XML_ERR_NONE, -1);
  assert_non_null(strstr(t.events, "<b>x&lt;a&gt;&amp;y</b>"));
  fg_xml_transcript_free(&t);
  expect(H "<m><![CDATA[a]]]]></m>", FG_XML_ERR_NONE, -1);
  expect("<![CDATA[x]]>" H, FG_XML_ERR_NOT_WELL_FORMED, 0);
}

// ---------------------------------------------------------------------------
// RFC 6120 §11.3 / XML 1.0 well-formedness / Namespaces in XML.

static void test_rfc6120_11_3_unbound_prefixes(void **state) {
  (void)state;
  expect(H "<message><x:body/></message>", FG_XML_ERR_NOT_WELL_FORMED, (long long)strlen(H) + 10);
  expect(H "<message><body x:lang='en'/></message>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<db:result xmlns:db='jabber:server:dialback'/>", FG_XML_ERR_NONE, -1);
  expect(H "<a:b:c xmlns:a='u'/>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<:a/>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<a: xmlns:a='u'/>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<a xmlns:p=''/>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<a xmlns:p='http://www.w3.org/XML/1998/namespace'/>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<a xmlns:xml='http://www.w3.org/XML/1998/namespace'/>", FG_XML_ERR_NONE, -1);
  expect(H "<xmlns:a/>", FG_XML_ERR_NOT_WELL_FORMED, -1);
}

static void test_rfc6120_11_3_namespaces_6_3_unique_expanded_attributes(void **state) {
  (void)state;
  expect(H "<m xmlns:a='urn:x' xmlns:b='urn:x' a:k='1' b:k='2'/>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<m xmlns:a='urn:x' xmlns:b='urn:y' a:k='1' b:k='2' k='3'/>", FG_XML_ERR_NONE, -1);
  expect(H "<m xmlns='urn:x' xmlns='urn:x'/>", FG_XML_ERR_NOT_WELL_FORMED, -1);
}

static void test_rfc6120_11_3_well_formedness(void **state) {
  (void)state;
  expect(H "<m a='1'b='2'/>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<m a = \"1\"\n\tb\t=\t'2' ></m >", FG_XML_ERR_NONE, -1);
  expect(H "<m></n>", FG_XML_ERR_NOT_WELL_FORMED, (long long)strlen(H) + 3);
  expect(H "<m><b>x]]>y</b></m>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<m><b>x]] >y]>]</b></m>", FG_XML_ERR_NONE, -1);
  // `]>]>` holds no `]]>`: a `>` ends a run of `]` (xml_expat_diff_fuzzer).
  expect(H "<m>]>]>a]>]]]></m>", FG_XML_ERR_NOT_WELL_FORMED, (long long)strlen(H) + 13);
  expect(H "<m>]>]></m>]>]>", FG_XML_ERR_NONE, -1);
  expect(H "<m/ >", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "< m/>", FG_XML_ERR_NOT_WELL_FORMED, -1);
  expect(H "<m>\x7f\xc2\x80</m>", FG_XML_ERR_NONE, -1);  // DEL and C1 are XML 1.0 Chars
  expect(H "<m>\x0c</m>", FG_XML_ERR_NOT_WELL_FORMED, (long long)strlen(H) + 3);
  expect(H "<\xc3\xa9l\xc3\xa8ve \xe4\xb8\xad='1'/>", FG_XML_ERR_NONE, -1);  // non-ASCII names
  expect(H "<\xcc\x80x/>", FG_XML_ERR_NOT_WELL_FORMED, -1);  // U+0300 cannot start a name
  expect(H "<-x/>", FG_XML_ERR_NOT_WELL_FORMED, -1);
}

// XML 1.0 §2.11 and §3.3.3: line ends and attribute value normalisation.
static void test_xml_2_11_line_ends_and_attribute_normalisation(void **state) {
  (void)state;
  const char *s = H "<m a='x\r\ny\tz\rw' b='&#13;&#10;&#9;'><b>1\r\n2\r3\n4</b></m>";
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  size_t used, len = strlen(s);
  const uint8_t *in = (const uint8_t *)s;
  assert_int_equal(fg_xml_parser_feed(p, &used, in, len), FG_XML_EVENT_STREAM_OPEN);
  in += used;
  len -= used;
  assert_int_equal(fg_xml_parser_feed(p, &used, in, len), FG_XML_EVENT_ELEMENT);
  const fg_xml_element *el = fg_xml_parser_element(p);
  fg_xml_str a = fg_xml_node_attr(el->root, "", "a"), b = fg_xml_node_attr(el->root, "", "b");
  assert_int_equal(a.len, 7);
  assert_memory_equal(a.data, "x y z w", 7);
  assert_int_equal(b.len, 3);
  assert_memory_equal(b.data, "\r\n\t", 3);
  const fg_xml_node *body = fg_xml_node_child(el->root, NULL, "b");
  assert_non_null(body);
  assert_int_equal(body->first_child->text.len, 7);
  assert_memory_equal(body->first_child->text.data, "1\n2\n3\n4", 7);
  assert_int_equal(el->canonical, 0);
  fg_xml_parser_free(p);
}

// ---------------------------------------------------------------------------
// RFC 6120 §11.5/§11.6: encoding.

static void test_rfc6120_11_6_bom_and_other_encodings(void **state) {
  (void)state;
  expect("\xef\xbb\xbf" H, FG_XML_ERR_UNSUPPORTED_ENCODING, 0);
  expect("\xfe\xff\x00<", FG_XML_ERR_UNSUPPORTED_ENCODING, 0);
  fg_xml_transcript t = expect_cfg(NULL, "<\x00s\x00", 4, FG_XML_ERR_UNSUPPORTED_ENCODING, 1);
  fg_xml_transcript_free(&t);
  expect("<?xml version='1.0' encoding='ISO-8859-1'?>" H, FG_XML_ERR_UNSUPPORTED_ENCODING, 0);
  expect("<?xml version='1.0' encoding='utf-8'?>" H, FG_XML_ERR_NONE, -1);
  expect("<?xml version='1.0' encoding='UTF8'?>" H, FG_XML_ERR_UNSUPPORTED_ENCODING, 0);
  expect("<?xml version='1.1'?>" H, FG_XML_ERR_RESTRICTED_XML, 0);
  expect("<?xml version='2.0'?>" H, FG_XML_ERR_NOT_WELL_FORMED, 0);
  expect("<?xml encoding='UTF-8'?>" H, FG_XML_ERR_NOT_WELL_FORMED, 0);
  expect("<?xml version='1.0' standalone='maybe'?>" H, FG_XML_ERR_NOT_WELL_FORMED, 0);
  expect("<?xml version='1.0'?><?xml version='1.0'?>" H, FG_XML_ERR_NOT_WELL_FORMED, 21);
}

static void test_rfc6120_11_6_utf8_split_across_chunks(void **state) {
  (void)state;
  // check_all_chunkings cuts inside every multi-byte sequence.
  expect(H "<m><b>\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80</b><c a='\xf4\x8f\xbf\xbf'/></m>",
         FG_XML_ERR_NONE, -1);
  expect(H "<m><b>\xe2\x82\xac\xe2\x82</b></m>", FG_XML_ERR_NOT_WELL_FORMED,
         (long long)strlen(H) + 9);
  expect(H "<m><b>\xf0\x9f\x98", FG_XML_ERR_NONE, -1);  // incomplete, waiting
}

// ---------------------------------------------------------------------------
// RFC 6120 §4.7, §4.8: the stream header.

static void test_rfc6120_4_7_header_fields(void **state) {
  (void)state;
  const char *s =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
      "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
      "from='a.example' to='b.example' id='s1&amp;' version='1.0' xml:lang='en'>";
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  size_t used;
  assert_null(fg_xml_parser_header(p));
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)s, strlen(s)),
                   FG_XML_EVENT_STREAM_OPEN);
  assert_int_equal(used, strlen(s));
  const fg_xml_stream_header *h = fg_xml_parser_header(p);
  assert_non_null(h);
  assert_true(fg_xml_str_eq(h->ns, FG_XML_NS_STREAMS));
  assert_true(fg_xml_str_eq(h->prefix, "stream"));
  assert_true(fg_xml_str_eq(h->local, "stream"));
  assert_true(fg_xml_str_eq(h->content_ns, "jabber:server"));
  assert_true(fg_xml_str_eq(h->from, "a.example"));
  assert_true(fg_xml_str_eq(h->to, "b.example"));
  assert_true(fg_xml_str_eq(h->id, "s1&"));
  assert_true(fg_xml_str_eq(h->lang, "en"));
  assert_int_equal(h->version_major, 1);
  assert_int_equal(h->version_minor, 0);
  assert_int_equal(h->num_decls, 3);
  assert_true(fg_xml_str_eq(h->decls[2].prefix, "db"));
  assert_true(fg_xml_str_eq(h->decls[2].uri, "jabber:server:dialback"));
  assert_true(h->has_xml_decl);
  // The header survives the next element.
  const char *m = "<db:result from='a.example' to='b.example'>key</db:result>";
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)m, strlen(m)),
                   FG_XML_EVENT_ELEMENT);
  const fg_xml_element *el = fg_xml_parser_element(p);
  assert_true(fg_xml_str_eq(el->root->ns, "jabber:server:dialback"));
  assert_true(fg_xml_str_eq(el->to, "b.example"));
  assert_int_equal(el->canonical, 1);
  assert_true(fg_xml_str_eq(fg_xml_parser_header(p)->from, "a.example"));
  fg_xml_parser_free(p);
}

static void test_rfc6120_4_8_namespaces_of_the_stream(void **state) {
  (void)state;
  expect("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>",
         FG_XML_ERR_INVALID_NAMESPACE, 0);
  expect("<stream:features xmlns:stream='http://etherx.jabber.org/streams'>",
         FG_XML_ERR_INVALID_NAMESPACE, 0);
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  cfg.content_ns = FG_XML_NS_CLIENT;
  const char *c2s =
      "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>";
  fg_xml_transcript t = expect_cfg(&cfg, c2s, strlen(c2s), FG_XML_ERR_NONE, -1);
  fg_xml_transcript_free(&t);
  // §4.8.5: a receiver may insist on the `stream` prefix.
  cfg.content_ns = NULL;
  cfg.require_stream_prefix = 1;
  const char *other = "<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:server'>";
  t = expect_cfg(&cfg, other, strlen(other), FG_XML_ERR_BAD_NAMESPACE_PREFIX, 0);
  fg_xml_transcript_free(&t);
  t = expect_cfg(NULL, other, strlen(other), FG_XML_ERR_NONE, -1);
  fg_xml_transcript_free(&t);
}

static void test_rfc6120_4_7_5_unsupported_version(void **state) {
  (void)state;
  expect(
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
      "version='2.0'>",
      FG_XML_ERR_UNSUPPORTED_VERSION, 0);
  expect(
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
      "version='one'>",
      FG_XML_ERR_UNSUPPORTED_VERSION, 0);
  expect(
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
      "version='1.1'>",
      FG_XML_ERR_NONE, -1);
}

// ---------------------------------------------------------------------------
// Events: keepalives, close, restart.

static void test_rfc6120_4_6_1_whitespace_keepalives(void **state) {
  (void)state;
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  size_t used;
  int ws = 0;
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)H, strlen(H)),
                   FG_XML_EVENT_STREAM_OPEN);
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)" \n ", 3),
                   FG_XML_EVENT_KEEPALIVE);
  assert_int_equal(used, 3);
  assert_int_equal(fg_xml_parser_keepalive_bytes(p, &ws), 3);
  assert_true(ws);
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)" <m/>", 5),
                   FG_XML_EVENT_KEEPALIVE);
  assert_int_equal(used, 1);
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)"<m/>", 4), FG_XML_EVENT_ELEMENT);
  // Character data that is not whitespace is accepted and carries no stanza.
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)"x&amp;<m/>", 10),
                   FG_XML_EVENT_ELEMENT);
  assert_int_equal(used, 10);
  fg_xml_parser_free(p);
  assert_int_equal(expect_elements(H " x <a/> \t <b/>y"), 2);
}

static void test_rfc6120_4_4_stream_close(void **state) {
  (void)state;
  fg_xml_transcript t = expect_cfg(NULL, H "<m/></stream:stream>  ",
                                   strlen(H "<m/></stream:stream>  "), FG_XML_ERR_NONE, -1);
  assert_int_equal(t.opens, 1);
  assert_int_equal(t.closes, 1);
  fg_xml_transcript_free(&t);
  expect(H "</stream:stream>x", FG_XML_ERR_NOT_WELL_FORMED, (long long)strlen(H) + 16);
  // A self-closed stream header opens and closes.
  const char *sc =
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'/>";
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  size_t used;
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)sc, strlen(sc)),
                   FG_XML_EVENT_STREAM_OPEN);
  assert_true(fg_xml_parser_pending(p));
  assert_int_equal(fg_xml_parser_feed(p, &used, NULL, 0), FG_XML_EVENT_STREAM_CLOSE);
  assert_false(fg_xml_parser_pending(p));
  fg_xml_parser_free(p);
}

static void test_rfc6120_4_3_3_reset_for_stream_restart(void **state) {
  (void)state;
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  size_t used;
  const char *s1 = H "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
  const uint8_t *in = (const uint8_t *)s1;
  assert_int_equal(fg_xml_parser_feed(p, &used, in, strlen(s1)), FG_XML_EVENT_STREAM_OPEN);
  assert_int_equal(fg_xml_parser_feed(p, &used, in + used, strlen(s1) - used),
                   FG_XML_EVENT_ELEMENT);
  assert_true(fg_xml_str_eq(fg_xml_parser_element(p)->root->local, "starttls"));
  fg_xml_parser_reset(p);
  assert_null(fg_xml_parser_header(p));
  assert_int_equal(fg_xml_parser_offset(p), 0);
  // After the restart an XML declaration is allowed again, offsets restart.
  const char *s2 = "<?xml version='1.0'?>" H "<message><x:y/></message>";
  in = (const uint8_t *)s2;
  assert_int_equal(fg_xml_parser_feed(p, &used, in, strlen(s2)), FG_XML_EVENT_STREAM_OPEN);
  assert_int_equal(fg_xml_parser_feed(p, &used, in + used, strlen(s2) - used), FG_XML_EVENT_ERROR);
  uint64_t off;
  assert_int_equal(fg_xml_parser_error(p, &off), FG_XML_ERR_NOT_WELL_FORMED);
  assert_int_equal(off, 21 + strlen(H) + 10);
  // Errors are sticky until the next reset.
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)"<m/>", 4), FG_XML_EVENT_ERROR);
  assert_int_equal(used, 0);
  fg_xml_parser_reset(p);
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)H, strlen(H)),
                   FG_XML_EVENT_STREAM_OPEN);
  fg_xml_parser_free(p);
}

// ---------------------------------------------------------------------------
// RFC 6120 §13.12 and the other limits: policy-violation.

static char *make_big(size_t body) {
  size_t hl = strlen(H);
  char *s = malloc(hl + body + 64);
  memcpy(s, H, hl);
  size_t o = hl;
  o += (size_t)sprintf(s + o, "<message><body>");
  memset(s + o, 'x', body);
  o += body;
  sprintf(s + o, "</body></message>");
  return s;
}

static void test_rfc6120_13_12_element_size_limits(void **state) {
  (void)state;
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  cfg.limits.max_element_bytes_preauth = 100;  // raised to the RFC's 10000 minimum
  cfg.limits.max_element_bytes_postauth = 50000;
  // An element of exactly 10000 bytes passes, 10001 does not.
  char *ok = make_big(10000 - 32);
  fg_xml_transcript t = expect_cfg(&cfg, ok, strlen(ok), FG_XML_ERR_NONE, -1);
  assert_int_equal(t.elements, 1);
  fg_xml_transcript_free(&t);
  free(ok);
  char *big = make_big(10000 - 31);
  t = expect_cfg(&cfg, big, strlen(big), FG_XML_ERR_POLICY_VIOLATION, (long long)strlen(H) + 10000);
  fg_xml_transcript_free(&t);
  // After authentication the larger limit applies.
  fg_xml_parser *p = fg_xml_parser_new(&cfg);
  size_t used, len = strlen(big);
  const uint8_t *in = (const uint8_t *)big;
  assert_int_equal(fg_xml_parser_feed(p, &used, in, len), FG_XML_EVENT_STREAM_OPEN);
  fg_xml_parser_set_authenticated(p);
  assert_int_equal(fg_xml_parser_feed(p, &used, in + used, len - used), FG_XML_EVENT_ELEMENT);
  fg_xml_parser_free(p);
  free(big);
  // The default post-auth limit, fed byte by byte, stays linear.
  fg_xml_limits lim;
  fg_xml_limits_default(&lim);
  assert_true(lim.max_element_bytes_preauth >= 10000);
  char *huge = make_big(400000);
  p = fg_xml_parser_new(NULL);
  fg_xml_parser_set_authenticated(p);
  size_t pos = 0, events = 0;
  len = strlen(huge);
  while (pos < len) {
    fg_xml_event ev = fg_xml_parser_feed(p, &used, (const uint8_t *)huge + pos, 1);
    pos += used;
    if (ev == FG_XML_EVENT_ELEMENT) {
      assert_int_equal(fg_xml_parser_element(p)->root->raw.len, 400000 + 32);
      events++;
    }
    assert_int_not_equal(ev, FG_XML_EVENT_ERROR);
  }
  assert_int_equal(events, 1);
  fg_xml_parser_free(p);
  free(huge);
}

static void test_limits_depth_attrs_names_decls_nodes(void **state) {
  (void)state;
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  cfg.limits.max_depth = 3;
  cfg.limits.max_attrs = 6;  // the header has 5
  cfg.limits.max_name_len = 16;
  cfg.limits.max_ns_decls = 2;
  cfg.limits.max_nodes = 5;
  struct {
    const char *in;
    fg_xml_error err;
  } cases[] = {
      {H "<a><b><c/></b></a>", FG_XML_ERR_NONE},
      {H "<a><b><c><d/></c></b></a>", FG_XML_ERR_POLICY_VIOLATION},
      {H "<a u='' v='' w='' x='1' y='2' z=''/>", FG_XML_ERR_NONE},
      {H "<a t='' u='' v='' w='' x='1' y='2' z='3'/>", FG_XML_ERR_POLICY_VIOLATION},
      {H "<abcdefghijklmnop/>", FG_XML_ERR_NONE},
      {H "<abcdefghijklmnopq/>", FG_XML_ERR_POLICY_VIOLATION},
      {H "<a abcdefghijklmnopq='1'/>", FG_XML_ERR_POLICY_VIOLATION},
      {H "<a:bcdefghijklmno xmlns:a='u'/>", FG_XML_ERR_NONE},
      {H "<a:bcdefghijklmnop xmlns:a='u'/>", FG_XML_ERR_POLICY_VIOLATION},
      {H "<a xmlns:p='u'><b xmlns:q='v'/></a>", FG_XML_ERR_NONE},
      {H "<a xmlns:p='u'><b xmlns:q='v'><c xmlns:r='w'/></b></a>", FG_XML_ERR_POLICY_VIOLATION},
      {H "<a><b/>t<c/>u</a>", FG_XML_ERR_NONE},
      {H "<a><b/>t<c/>u<d/></a>", FG_XML_ERR_POLICY_VIOLATION},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    fg_xml_transcript t = expect_cfg(&cfg, cases[k].in, strlen(cases[k].in), cases[k].err, -1);
    fg_xml_transcript_free(&t);
  }
}

// Limits at their type's maximum mean "no limit": the name length bound is
// computed without wrapping (found by xml_expat_diff_fuzzer, which raises
// every limit so that none fires).
static void test_limits_at_maximum_do_not_wrap(void **state) {
  (void)state;
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  cfg.limits.max_depth = UINT32_MAX;
  cfg.limits.max_attrs = UINT32_MAX;
  cfg.limits.max_name_len = UINT32_MAX;
  cfg.limits.max_ns_decls = UINT32_MAX;
  cfg.limits.max_nodes = UINT32_MAX;
  const char *in = H "<p:a xmlns:p='u' p:b='1'><c/></p:a>";
  fg_xml_transcript t = expect_cfg(&cfg, in, strlen(in), FG_XML_ERR_NONE, -1);
  fg_xml_transcript_free(&t);
}

// ---------------------------------------------------------------------------
// The element API: what the router needs without re-parsing.

static void test_rfc6120_8_element_api_and_zero_copy(void **state) {
  (void)state;
  const char *st =
      "<message from='a.example/r' to='b@b.example' type='chat' id='m1' xml:lang='en'>"
      "<body>hi &amp; bye</body><x xmlns='urn:x' xmlns:p='urn:p' p:k='v'><y/></x></message>";
  size_t hl = strlen(H), sl = strlen(st);
  char *s = malloc(hl + sl + 1);
  memcpy(s, H, hl);
  memcpy(s + hl, st, sl + 1);
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  size_t used;
  const uint8_t *in = (const uint8_t *)s;
  assert_int_equal(fg_xml_parser_feed(p, &used, in, hl + sl), FG_XML_EVENT_STREAM_OPEN);
  assert_int_equal(fg_xml_parser_feed(p, &used, in + hl, sl), FG_XML_EVENT_ELEMENT);
  const fg_xml_element *el = fg_xml_parser_element(p);
  assert_true(fg_xml_str_eq(el->root->ns, "jabber:server"));
  assert_true(fg_xml_str_eq(el->root->local, "message"));
  assert_true(fg_xml_str_eq(el->to, "b@b.example"));
  assert_true(fg_xml_str_eq(el->from, "a.example/r"));
  assert_true(fg_xml_str_eq(el->type, "chat"));
  assert_true(fg_xml_str_eq(el->id, "m1"));
  assert_true(fg_xml_str_eq(fg_xml_node_attr(el->root, FG_XML_NS_XML, "lang"), "en"));
  assert_null(fg_xml_parser_element(p)->root->parent);
  const fg_xml_node *body = fg_xml_node_child(el->root, "jabber:server", "body");
  assert_non_null(body);
  assert_true(fg_xml_str_eq(body->first_child->text, "hi & bye"));
  const fg_xml_node *x = fg_xml_node_child(el->root, "urn:x", "x");
  assert_non_null(x);
  assert_int_equal(x->num_decls, 2);
  assert_true(fg_xml_str_eq(fg_xml_node_attr(x, "urn:p", "k"), "v"));
  assert_true(fg_xml_str_eq(fg_xml_node_child(x, NULL, NULL)->ns, "urn:x"));
  assert_ptr_equal(fg_xml_node_child(x, NULL, NULL)->parent, x);
  // The raw bytes are the caller's own (zero copy) and not canonical here
  // because `xmlns:p` is declared before `p:k` needs... it is needed: check.
  assert_ptr_equal(el->root->raw.data, in + hl);
  assert_int_equal(el->root->raw.len, sl);
  fg_xml_writer *w = fg_xml_writer_new();
  size_t cn, n;
  const fg_xml_nsdecl *ctx = fg_xml_parser_context(p, &cn);
  assert_true(fg_xml_writer_element(w, el->root, ctx, cn, 0));
  const uint8_t *d = fg_xml_writer_data(w, &n);
  assert_int_equal(el->canonical, n == sl && memcmp(d, st, sl) == 0);
  assert_int_equal(el->canonical, 1);
  fg_xml_writer_free(w);
  fg_xml_parser_free(p);
  free(s);
  // Non-canonical spellings are flagged.
  const char *nc[] = {
      H "<m a=\"1\"/>",
      H "<m  a='1'/>",
      H "<m a='1' />",
      H "<m></m>",
      H "<m>a&#65;</m>",
      H "<m>a&quot;</m>",
      H "<m xmlns='jabber:server'/>",
      H "<m xmlns:p='u'/>",
      H "<m>></m>",
      H "<m><![CDATA[x]]></m>",
      H "<m a='\"&quot;'/>",
  };
  for (size_t k = 0; k < sizeof(nc) / sizeof(nc[0]); k++) {
    fg_xml_transcript t = expect_cfg(NULL, nc[k], strlen(nc[k]), FG_XML_ERR_NONE, -1);
    assert_int_equal(t.elements, 1);
    if (t.canon_elements != 0) fail_msg("flagged canonical: %s", nc[k]);
    fg_xml_transcript_free(&t);
  }
  const char *cc[] = {
      H "<m a='1' b='&lt;&amp;&gt;&apos;&#9;&#10;&#13;\"'/>",
      H "<m><b>x&amp;y&lt;z&gt;&#13;'\"</b></m>",
      H "<p:m xmlns:p='u' p:a='1' xml:lang='en'><p:n/></p:m>",
      H "<m><x xmlns='' a='1'/></m>",
  };
  for (size_t k = 0; k < sizeof(cc) / sizeof(cc[0]); k++) {
    fg_xml_transcript t = expect_cfg(NULL, cc[k], strlen(cc[k]), FG_XML_ERR_NONE, -1);
    if (t.canon_elements != 1) fail_msg("not flagged canonical: %s", cc[k]);
    fg_xml_transcript_free(&t);
  }
}

// Namespaces in XML §6.2: a default namespace declaration means the same
// wherever it stands among an element's attributes, so bytes canonical but
// for where the declaration an element needs stands (as Prosody writes them,
// in its attribute table's order) are forwardable; the transcript checks
// that they are the writer's output with each such declaration moved first.
// Anything else off the canonical form is neither.
static void test_namespaces_6_2_declaration_anywhere_is_forwardable(void **state) {
  (void)state;
  const char *fw[] = {
      H
      "<presence to='b@b.example'><delay stamp='2026-12-07T13:43:55Z' xmlns='urn:xmpp:delay' "
      "from='a.example'/></presence>",
      H "<message><origin-id id='x' xmlns='urn:xmpp:sid:0'/><body>hi</body></message>",
      H "<m><x a='1' xmlns=''><y b='2' xmlns='u'/></x></m>",
  };
  for (size_t k = 0; k < sizeof(fw) / sizeof(fw[0]); k++) {
    fg_xml_transcript t = expect_cfg(NULL, fw[k], strlen(fw[k]), FG_XML_ERR_NONE, -1);
    if (t.canon_elements != 0 || t.forward_elements != 1)
      fail_msg("not flagged forwardable only: %s", fw[k]);
    fg_xml_transcript_free(&t);
  }
  const char *no[] = {
      H "<m><x a='1' xmlns='jabber:server'/></m>",  // a declaration the writer leaves out
      H "<m><x a=\"1\" xmlns='u'/></m>",
      H "<m><p:x a='1' xmlns:p='u'/></m>",  // a prefix's: its order stays strict
      H "<m><x xml:lang='en' xmlns='u'/></m>",     H "<m><x a='1' xmlns='u'></x></m>",
  };
  for (size_t k = 0; k < sizeof(no) / sizeof(no[0]); k++) {
    fg_xml_transcript t = expect_cfg(NULL, no[k], strlen(no[k]), FG_XML_ERR_NONE, -1);
    if (t.canon_elements != 0 || t.forward_elements != 0) fail_msg("flagged: %s", no[k]);
    fg_xml_transcript_free(&t);
  }
}

// XML 1.0 §3 WFC Element Type Match and §3.1 WFC Unique Att Spec, for names
// of every length up to 20 differing in any one byte (the parser compares
// names by words, with overlapping loads at the ends).
static void test_xml_1_0_3_name_matches_at_every_length_and_position(void **state) {
  (void)state;
  long long hl = (long long)strlen(H);
  char name[24], other[24], doc[256];
  for (size_t len = 1; len <= 20; len++) {
    memset(name, 'n', len);
    name[len] = 0;
    snprintf(doc, sizeof(doc), H "<%s %s='1' x%s='2'></%s>", name, name, name, name);
    expect(doc, FG_XML_ERR_NONE, -1);
    for (size_t at = 0; at < len; at++) {
      memcpy(other, name, len + 1);
      other[at] = 'm';
      snprintf(doc, sizeof(doc), H "<%s></%s>", name, other);
      expect(doc, FG_XML_ERR_NOT_WELL_FORMED, hl + (long long)len + 2);
      snprintf(doc, sizeof(doc), H "<e %s='1' %s='2' %s='3'/>", name, other, name);
      expect(doc, FG_XML_ERR_NOT_WELL_FORMED, hl + 3 + 2 * ((long long)len + 5));
    }
  }
}

// XML 1.0 §3.1 start and end tags as the tokenizer's fast paths read them
// (one space, an ASCII name, `=` at once, a value of plain ASCII; an end tag
// spelled as its start tag, `>` at once) and every form next to them, which
// the byte states read: the same events, errors and error offsets whole, cut
// at every byte, and byte by byte (where the fast paths never have the whole
// tag at hand).
static void test_xml_1_0_3_1_common_tags_at_every_cut(void **state) {
  (void)state;
  long long hl = (long long)strlen(H);
  static const struct {
    const char *s;
    fg_xml_error err;
    long long off;  // from the end of H; -1: no error
  } kCases[] = {
      {"<m a='1' p:b=\"2\" xmlns:p='u' c=''><n/>x</m>", FG_XML_ERR_NONE, -1},
      {"<p:m xmlns:p='u' p:a='1'><p:n p:b='2'></p:n></p:m>", FG_XML_ERR_NONE, -1},
      {"<m a='x\"y' b=\"x'y\"></m >", FG_XML_ERR_NONE, -1},
      {"<m a='1'b='2'/>", FG_XML_ERR_NOT_WELL_FORMED, 8},
      {"<m a='x<y'/>", FG_XML_ERR_NOT_WELL_FORMED, 7},
      {"<m a='x&bad;'/>", FG_XML_ERR_RESTRICTED_XML, 7},
      {"<m a='1' :b='2'/>", FG_XML_ERR_NOT_WELL_FORMED, 9},
      {"<m a:='1'/>", FG_XML_ERR_NOT_WELL_FORMED, 5},
      {"<m a:b:c='1'/>", FG_XML_ERR_NOT_WELL_FORMED, 6},
      {"<m a:1='1'/>", FG_XML_ERR_NOT_WELL_FORMED, 5},
      {"<m a ='1' b= '2' c=\t'3'/>", FG_XML_ERR_NONE, -1},
      {"<m a=1/>", FG_XML_ERR_NOT_WELL_FORMED, 5},
      {"<m a='1' a='2'/>", FG_XML_ERR_NOT_WELL_FORMED, 9},
      {"<m a='\x01'/>", FG_XML_ERR_NOT_WELL_FORMED, 6},
      {"<m a='caf\xc3\xa9' b='\xc3'/>", FG_XML_ERR_NOT_WELL_FORMED, 16},
      {"<m><n></m>", FG_XML_ERR_NOT_WELL_FORMED, 6},
      {"<m><n></nn>", FG_XML_ERR_NOT_WELL_FORMED, 6},
      {"<mm></m>", FG_XML_ERR_NOT_WELL_FORMED, 4},
      {"<p:m xmlns:p='u' xmlns:q='u'></q:m>", FG_XML_ERR_NOT_WELL_FORMED, 29},
      {"<m></m\x01>", FG_XML_ERR_NOT_WELL_FORMED, 6},
  };
  for (size_t k = 0; k < sizeof(kCases) / sizeof(kCases[0]); k++) {
    char doc[512];
    size_t len = (size_t)snprintf(doc, sizeof(doc), "%s%s", H, kCases[k].s);
    for (size_t cut = 1; cut < len; cut++) {
      fg_xml_transcript t;
      check_all_chunkings(NULL, (const uint8_t *)doc, len, &cut, 1, &t, doc);
      if (t.err != kCases[k].err ||
          (kCases[k].off >= 0 && t.err_off != (uint64_t)(hl + kCases[k].off)))
        fail_msg("%s: %s at %llu", kCases[k].s, fg_xml_error_condition(t.err),
                 (unsigned long long)t.err_off);
      fg_xml_transcript_free(&t);
      if (len - cut > 40 && cut < (size_t)hl) cut = (size_t)hl;  // the header once is enough
    }
  }
  // Every byte value at every offset of an attribute value, an attribute
  // name, an element name and an end tag's name across a 34-byte span (the
  // scanners' 16- and 32-byte block edges): the fast paths take or leave
  // each one as the byte states do.
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  for (int b = 1; b < 256; b++) {
    for (size_t at = 0; at < 34; at++) {
      char doc[512];
      char pad[40];
      memset(pad, 'v', at);
      pad[at] = 0;
      const char *forms[4] = {H "<m a='%s%c' c='d'><n/></m>", H "<m a%s%c='1' c='d'/>",
                              H "<m><n%s%c a='1'/></m>", H "<m><n%s></n%s%c></m>"};
      for (int f = 0; f < 4; f++) {
        size_t len = f == 3 ? (size_t)snprintf(doc, sizeof(doc), forms[f], pad, pad, b)
                            : (size_t)snprintf(doc, sizeof(doc), forms[f], pad, b);
        fg_xml_transcript t;
        check_all_chunkings(&cfg, (const uint8_t *)doc, len, NULL, 0, &t, "byte class");
        fg_xml_transcript_free(&t);
      }
    }
  }
}

// whole_vs_bytes parses |doc| whole (one chunk: the whole-element path reads
// the element), byte by byte (the byte states read it), and cut once at
// every byte from |cut_from| on (the whole-element path hands an element cut
// by the chunk's end to the byte states at its last tag or reference), and
// fails unless all give the same events, error and error offset.
static void whole_vs_bytes(const char *doc, size_t len, size_t cut_from, const char *label) {
  fg_xml_transcript whole, t;
  assert_true(fg_xml_transcript_run(&whole, NULL, (const uint8_t *)doc, len, NULL, 0));
  assert_int_equal(whole.canon_mismatch + whole.write_fail + whole.accounting, 0);
  assert_true(fg_xml_transcript_run_step(&t, NULL, (const uint8_t *)doc, len, 1));
  if (!fg_xml_transcript_same(&whole, &t))
    fail_msg("%s: byte-by-byte differs: whole %s@%llu, bytes %s@%llu\n%s---\n%s", label,
             fg_xml_error_condition(whole.err), (unsigned long long)whole.err_off,
             fg_xml_error_condition(t.err), (unsigned long long)t.err_off, whole.events, t.events);
  fg_xml_transcript_free(&t);
  for (size_t cut = cut_from; cut < len; cut++) {
    assert_true(fg_xml_transcript_run(&t, NULL, (const uint8_t *)doc, len, &cut, 1));
    if (!fg_xml_transcript_same(&whole, &t))
      fail_msg("%s: cut at %zu differs: whole %s@%llu, cut %s@%llu", label, cut,
               fg_xml_error_condition(whole.err), (unsigned long long)whole.err_off,
               fg_xml_error_condition(t.err), (unsigned long long)t.err_off);
    fg_xml_transcript_free(&t);
  }
  fg_xml_transcript_free(&whole);
}

// The whole-element path (a structural index of 64-byte blocks,
// gateway/xml/xml_index.h) against the byte states: every byte value, and
// valid and invalid UTF-8 sequences, at every offset of the element's first
// block and around its second and third (names, attribute values in both
// quotes, character data, end tags, references), whole against byte by
// byte; and stanzas of every form the path reads or hands over, cut at
// every byte.
static void test_xml_1_0_3_1_whole_elements_at_every_block_offset(void **state) {
  (void)state;
  static const char *const kForms[] = {
      H "<m a='%s%s' b=\"%s%s\">t</m>",
      H "<m>%s%s<n/>%s%s</m>",
      H "<m a%s%s='1'/>",
      H "<m%s%s b='1'><n>x</n></m%s%s>",
      H "<m><n>%s%s&amp;%s%s</n></m>",
      H "<m xmlns:p='u'><p:n%s%s/>%s%s</m>",
  };
  static const char *const kSeqs[] = {"\xc3\xa9",     "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                      "\xc3",         "\xe2\x82",     "\xef\xbf\xbe",
                                      "\xed\xa0\x80", "\xc0\xaf",     "\x80"};
  size_t hl = strlen(H);
  char pad[160], one[8], doc[512];
  memset(pad, 'v', sizeof(pad));
  size_t offsets[100], no = 0;
  for (size_t at = 0; at < 64; at++) offsets[no++] = at;
  for (size_t at = 118; at < 136; at++) offsets[no++] = at;
  for (size_t k = 0; k < no; k++) {
    size_t at = offsets[k];
    for (size_t f = 0; f < sizeof(kForms) / sizeof(kForms[0]); f++) {
      // Where the probe sits: |at| bytes of filler after the form's own bytes.
      char fill[160];
      memcpy(fill, pad, at);
      fill[at] = 0;
      for (int b = 1; b < 256 + (int)(sizeof(kSeqs) / sizeof(kSeqs[0])); b++) {
        const char *probe = one;
        if (b < 256) {
          one[0] = (char)b;
          one[1] = 0;
        } else {
          probe = kSeqs[b - 256];
        }
        size_t len = (size_t)snprintf(doc, sizeof(doc), kForms[f], fill, probe, fill, probe);
        whole_vs_bytes(doc, len, len, "block offset");
      }
    }
  }
  // Every form, cut at every byte of the element.
  static const char *const kStanzas[] = {
      "<message from='a@b/c' to='d@e' type='chat' id='1'><body>hi &amp; caf\xc3\xa9 \"x\" "
      "it's\tok\n</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>",
      "<presence><c xmlns='http://jabber.org/protocol/caps' ver='v' /><x a=\"1\"></x ></presence>",
      "<iq type='get' id='q'><query xmlns='jabber:iq:roster' xml:lang='en'>a&lt;b&#65;<![CDATA[<"
      "]]><i/></query></iq>",
      "<m a='x>y' b='x\"y' c=\"x'y\">t<!-- c --></m>",
      "<m a='1'><n>\xc3\xa9\xc3</n></m>",
      "<m><p:n/></m>",
      "<m a='1' a='2'/>",
      "<m>\r\n</m>",
  };
  for (size_t k = 0; k < sizeof(kStanzas) / sizeof(kStanzas[0]); k++) {
    for (size_t rep = 1; rep <= 3; rep++) {
      // The stanza after |rep| * 40 bytes of text, so that its tags fall on
      // other offsets of the blocks.
      size_t len =
          (size_t)snprintf(doc, sizeof(doc), H "<w>%.*s%s</w>", (int)(rep * 40), pad, kStanzas[k]);
      whole_vs_bytes(doc, len, hl, kStanzas[k]);
    }
  }
}

// parse_one feeds |header| and then |stanza| (NUL-terminated) to |p| and
// returns the element.
static const fg_xml_element *parse_one(fg_xml_parser *p, const char *header, const char *stanza) {
  size_t used;
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)header, strlen(header)),
                   FG_XML_EVENT_STREAM_OPEN);
  assert_int_equal(used, strlen(header));
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)stanza, strlen(stanza)),
                   FG_XML_EVENT_ELEMENT);
  return fg_xml_parser_element(p);
}

// References in character data (XML 1.0 §4.1; RFC 6120 §11.1 allows the
// five predefined entities and character references): `&amp;`, `&lt;` and
// `&gt;` are read by one word comparison when six bytes are at hand, the
// others by the general reader. Each form, valid and not, after 0 to 40
// bytes of text (the 16-, 32- and 64-byte block edges), whole (where the
// comparison reads them) against byte by byte (where it never has six bytes)
// and cut at every byte; the decoded text is checked too.
static void test_xml_1_0_4_1_references_in_text_at_every_cut(void **state) {
  (void)state;
  static const char *const kRefs[] = {
      "&amp;",         "&lt;",   "&gt;",         "&quot;",   "&apos;", "&#38;",   "&#x3C;",
      "&amp;&lt;&gt;", "&amp;x", "&lt;3",        "&gt;&gt;", "&ampx;", "&am;",    "&lt",
      "&gt ",          "&amp",   "&lt;\xc3\xa9", "&Amp;",    "&l;",    "&gt;]]>",
  };
  size_t hl = strlen(H);
  char pad[64], doc[512];
  memset(pad, 'v', sizeof(pad));
  for (size_t k = 0; k < sizeof(kRefs) / sizeof(kRefs[0]); k++) {
    for (int at = 0; at <= 40; at++) {
      size_t len = (size_t)snprintf(doc, sizeof(doc), H "<m><b>%.*s%s</b>%s</m>", at, pad, kRefs[k],
                                    kRefs[k]);
      whole_vs_bytes(doc, len, at % 8 == 0 ? hl : len, kRefs[k]);
    }
    // At stream level the text is not kept, and references are still read.
    size_t len = (size_t)snprintf(doc, sizeof(doc), H "%s<m/>", kRefs[k]);
    whole_vs_bytes(doc, len, hl, kRefs[k]);
  }
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  const fg_xml_element *el =
      parse_one(p, H, "<m>&lt;3 &amp; &gt;&gt;&amp;amp; &#38;&quot;x&apos;</m>");
  assert_non_null(el);
  const fg_xml_node *t = el->root->first_child;
  assert_non_null(t);
  assert_int_equal(t->type, FG_XML_NODE_TEXT);
  assert_int_equal(t->text.len, strlen("<3 & >>&amp; &\"x'"));
  assert_memory_equal(t->text.data, "<3 & >>&amp; &\"x'", t->text.len);
  assert_int_equal(el->canonical, 0);  // `&#38;`, `&quot;`, `&apos;`: not the canonical escapes
  fg_xml_parser_free(p);
  p = fg_xml_parser_new(NULL);
  el = parse_one(p, H, "<m>a&amp;b&lt;c&gt;d</m>");
  assert_int_equal(el->root->first_child->text.len, 7);
  assert_memory_equal(el->root->first_child->text.data, "a&b<c>d", 7);
  assert_int_equal(el->canonical, 1);
  fg_xml_parser_free(p);
}

// XML 1.0 §2.4: `]]>` may not appear in character data: literal `]]>`
// after 0 to 40 bytes of text, in elements and at stream level, against
// `]` and `>` that come from markup (a CDATA section's end, a reference, a
// tag), whole, byte by byte and cut at every byte.
static void test_xml_1_0_2_4_cdata_end_in_text_at_every_cut(void **state) {
  (void)state;
  static const struct {
    const char *text;
    long long off;  // of the error from the text's start; -1: none
  } kCases[] = {
      {"]]>", 2},
      {"a]]]>", 4},
      {"]>]>a]>]]]>", 10},
      {"] ]>", -1},
      {"]&#93;>", -1},
      {"&#93;]>", -1},
      {"]]&gt;", -1},
      {"<![CDATA[x]]]]>>", -1},
      {"<![CDATA[]]>]>", -1},
      {"]]<![CDATA[]]>>", -1},
      {"]]<n/>>", -1},
      {"]]\r\n>", -1},
      {"\xc3\xa9]]>", 4},
  };
  size_t hl = strlen(H);
  char pad[64], doc[512];
  memset(pad, 'v', sizeof(pad));
  for (size_t k = 0; k < sizeof(kCases) / sizeof(kCases[0]); k++) {
    for (int at = 0; at <= 40; at++) {
      size_t pre = strlen(H "<m>") + (size_t)at;
      size_t len = (size_t)snprintf(doc, sizeof(doc), H "<m>%.*s%s</m>", at, pad, kCases[k].text);
      whole_vs_bytes(doc, len, at % 8 == 0 ? hl : len, kCases[k].text);
      fg_xml_transcript t;
      assert_true(fg_xml_transcript_run(&t, NULL, (const uint8_t *)doc, len, NULL, 0));
      if (kCases[k].off < 0
              ? t.err != FG_XML_ERR_NONE
              : (t.err != FG_XML_ERR_NOT_WELL_FORMED || t.err_off != pre + (uint64_t)kCases[k].off))
        fail_msg("%s after %d bytes: %s at %llu", kCases[k].text, at, fg_xml_error_condition(t.err),
                 (unsigned long long)t.err_off);
      fg_xml_transcript_free(&t);
    }
  }
  // At stream level, where the text is not kept.
  expect(H "]]><m/>", FG_XML_ERR_NOT_WELL_FORMED, (long long)hl + 2);
  expect(H "] ]><m/>", FG_XML_ERR_NONE, -1);
  expect(H "<m/>]]>", FG_XML_ERR_NOT_WELL_FORMED, (long long)hl + 6);
}

// Namespaces in XML §6.2 and §6.3 for elements that carry no prefix, no
// prefixed attribute and no declaration (the parser's short path): they take
// the innermost default namespace (none when there is none or `xmlns=''`
// undeclared it), their attributes are in no namespace, a repeated attribute
// name is not well-formed at the repeat, and they stay canonical.
static void test_namespaces_6_2_unprefixed_elements_take_the_default_namespace(void **state) {
  (void)state;
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  const fg_xml_element *el =
      parse_one(p, H, "<m a='1'><x xmlns='urn:x'><y a='1' b='2'/></x><z/><w xmlns=''><v/></w></m>");
  const fg_xml_node *x = fg_xml_node_child(el->root, "urn:x", "x");
  assert_non_null(x);
  const fg_xml_node *y = fg_xml_node_child(x, NULL, NULL);
  assert_true(fg_xml_str_eq(y->ns, "urn:x"));
  assert_int_equal(y->num_attrs, 2);
  assert_true(fg_xml_str_eq(y->attrs[0].ns, "") && fg_xml_str_eq(y->attrs[1].ns, ""));
  assert_true(fg_xml_str_eq(fg_xml_node_attr(y, "", "b"), "2"));
  assert_non_null(fg_xml_node_child(el->root, "jabber:server", "z"));  // x's binding ended
  const fg_xml_node *w = fg_xml_node_child(el->root, "", "w");
  assert_non_null(w);
  assert_true(fg_xml_str_eq(fg_xml_node_child(w, NULL, NULL)->ns, ""));
  assert_true(fg_xml_str_eq(el->root->ns, "jabber:server"));
  fg_xml_parser_free(p);

  // Namespaces in XML §3: `xml:` attributes are in the XML namespace without
  // a declaration, also on the short path of an unprefixed element.
  p = fg_xml_parser_new(NULL);
  el = parse_one(p, H, "<m lang='x' xml:lang='en'><x xmlns='urn:x' xml:lang='fr'/></m>");
  assert_true(fg_xml_str_eq(fg_xml_node_attr(el->root, FG_XML_NS_XML, "lang"), "en"));
  assert_true(fg_xml_str_eq(fg_xml_node_attr(el->root, "", "lang"), "x"));
  assert_true(fg_xml_str_eq(el->root->attrs[1].prefix, "xml"));
  x = fg_xml_node_child(el->root, "urn:x", "x");
  assert_non_null(x);
  assert_int_equal(x->num_attrs, 1);
  assert_int_equal(x->num_decls, 1);
  assert_true(fg_xml_str_eq(fg_xml_node_attr(x, FG_XML_NS_XML, "lang"), "fr"));
  fg_xml_parser_free(p);

  // A prefixed stream element without a default namespace: no namespace.
  p = fg_xml_parser_new(NULL);
  el = parse_one(p, "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>",
                 "<m><n/></m>");
  assert_non_null(el->root->ns.data);
  assert_int_equal(el->root->ns.len, 0);
  assert_int_equal(el->root->first_child->ns.len, 0);
  fg_xml_parser_free(p);

  long long hl = (long long)strlen(H);
  expect(H "<m a='1' b='2' a='3'/>", FG_XML_ERR_NOT_WELL_FORMED, hl + 15);
  expect(H "<m><n id='1' to='x' id='2'/></m>", FG_XML_ERR_NOT_WELL_FORMED, hl + 20);
  expect(H "<m xml:lang='en' xml:lang='fr'/>", FG_XML_ERR_NOT_WELL_FORMED, hl + 17);
  // `xml:` attributes on an unprefixed element take the short namespace
  // path: `lang` and `xml:lang` are two names, a second `xml:lang` is not.
  expect(H "<m lang='x' xml:lang='en'/>", FG_XML_ERR_NONE, -1);
  expect(H "<m xml:lang='en' lang='x' xml:lang='fr'/>", FG_XML_ERR_NOT_WELL_FORMED, hl + 26);
  expect(H "<m><x xmlns='urn:x' xml:lang='en' xml:lang='fr'/></m>", FG_XML_ERR_NOT_WELL_FORMED,
         hl + 34);
  expect(H "<m from='a' to='b' type='c' id='d' x='1' y='2'/>", FG_XML_ERR_NONE, -1);
  expect(H "<m><x xmlns='urn:x' a='1' a='2'/></m>", FG_XML_ERR_NOT_WELL_FORMED, hl + 26);
  expect(H "<m><x xmlns='urn:x' xmlns='urn:y'/></m>", FG_XML_ERR_NOT_WELL_FORMED, hl + 20);
  // Canonical: exactly the one declaration the name needs, written first.
  static const struct {
    const char *s;
    int canonical;
  } kCanon[] = {
      {H "<m a='1'><n b='2'/>t<o/></m>", 1},
      {H "<m><x xmlns='urn:x' a='1'><y/></x></m>", 1},
      {H "<m><x a='1' xmlns='urn:x'/></m>", 0},
      {H "<m><x xmlns='urn:x'><y xmlns='urn:x'/></x></m>", 0},
      {H "<m><x xmlns='urn:x'><y xmlns='jabber:server'/></x></m>", 1},
      {H "<m xmlns='jabber:server'/>", 0},
      {H "<m xml:lang='en'><x xmlns='urn:x' xml:lang='fr'/></m>", 1},
      {H "<m><x xml:lang='fr' xmlns='urn:x'/></m>", 0},
      {H "<m><x xmlns='urn:x' xml:lang='fr'/><y xmlns='jabber:server' xml:lang='fr'/></m>", 0},
  };
  for (size_t k = 0; k < sizeof(kCanon) / sizeof(kCanon[0]); k++) {
    fg_xml_transcript t = expect_cfg(NULL, kCanon[k].s, strlen(kCanon[k].s), FG_XML_ERR_NONE, -1);
    if (t.canon_elements != (size_t)kCanon[k].canonical)
      fail_msg("%s: canonical %zu, want %d", kCanon[k].s, (size_t)t.canon_elements,
               kCanon[k].canonical);
    fg_xml_transcript_free(&t);
  }
}

// Steady state: buffers are reused, so element pointers for the same shape of
// input land in the same parser-owned memory once a stanza straddled chunks.
static void test_steady_state_reuses_buffers(void **state) {
  (void)state;
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  size_t used;
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)H, strlen(H)),
                   FG_XML_EVENT_STREAM_OPEN);
  const char *st = "<message to='x'><body>a&amp;b</body></message>";
  const fg_xml_node *first_root = NULL;
  for (int round = 0; round < 100; round++) {
    size_t len = strlen(st), half = len / 2, pos = 0;
    fg_xml_event ev = fg_xml_parser_feed(p, &used, (const uint8_t *)st, half);
    assert_int_equal(ev, FG_XML_EVENT_NEED_MORE);
    pos = half;
    ev = fg_xml_parser_feed(p, &used, (const uint8_t *)st + pos, len - pos);
    assert_int_equal(ev, FG_XML_EVENT_ELEMENT);
    const fg_xml_element *el = fg_xml_parser_element(p);
    if (first_root == NULL) first_root = el->root;
    assert_ptr_equal(el->root, first_root);
    assert_true(fg_xml_str_eq(fg_xml_node_child(el->root, NULL, "body")->first_child->text, "a&b"));
  }
  fg_xml_parser_free(p);
}

// fg_xml_parser_trim (memory per idle stream): between elements it gives the
// buffers back and parsing goes on in the stream's namespace context;
// halfway through an element it does nothing.
// check_children_read_after_root asserts what a consumer reads below the root
// of the stanza of test_rfc6120_8_root_view_then_children once it asks for
// the whole element after its root view.
static void check_children_read_after_root(const fg_xml_element *el) {
  const fg_xml_node *body = fg_xml_node_child(el->root, "jabber:server", "body");
  assert_non_null(body);
  assert_ptr_equal(body->parent, el->root);
  assert_true(fg_xml_str_eq(body->first_child->text, "hi & bye"));
  const fg_xml_node *x = fg_xml_node_child(el->root, "urn:x", "x");
  assert_non_null(x);
  assert_ptr_equal(body->next, x);
  assert_int_equal(x->num_decls, 2);
  assert_int_equal(x->num_attrs, 1);
  assert_true(fg_xml_str_eq(fg_xml_node_attr(x, "urn:p", "k"), "v"));
  const fg_xml_node *y = fg_xml_node_child(x, "urn:x", "y");
  assert_non_null(y);
  assert_true(fg_xml_str_eq(fg_xml_node_attr(y, "", "n"), "1"));
  assert_null(y->next);
}

// RFC 6120 §8: a router reads a stanza's root (to, from, type, id, the raw
// bytes); fg_xml_parser_element_root gives that view alone, and the
// attributes and children appear, in place, when a consumer asks for them
// (fg_xml_element_full), whether the element lay in one chunk or was
// assembled from two.
static void test_rfc6120_8_root_view_then_children(void **state) {
  (void)state;
  const char *st =
      "<message from='a.example/r' to='b@b.example' type='chat' id='m1' xml:lang='en'>"
      "<body>hi &amp; bye</body><x xmlns='urn:x' xmlns:p='urn:p' p:k='v'><y n='1'/></x>"
      "</message>";
  const char *bare = "<presence from='a.example' to='b.example' xmlns='jabber:server'/>";
  size_t hl = strlen(H), sl = strlen(st), bl = strlen(bare);
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  cfg.root_views = 1;
  for (size_t cut = 0; cut < sl; cut += cut < 4 ? 1 : 37) {
    fg_xml_parser *p = fg_xml_parser_new(&cfg);
    size_t used;
    assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)H, hl),
                     FG_XML_EVENT_STREAM_OPEN);
    const uint8_t *in = (const uint8_t *)st;
    if (cut > 0) {
      assert_int_equal(fg_xml_parser_feed(p, &used, in, cut), FG_XML_EVENT_NEED_MORE);
      assert_int_equal(used, cut);
    }
    assert_int_equal(fg_xml_parser_feed(p, &used, in + cut, sl - cut), FG_XML_EVENT_ELEMENT);
    const fg_xml_element *el = fg_xml_parser_element_root(p);
    assert_non_null(el);
    const fg_xml_node *root = el->root;
    assert_true(fg_xml_str_eq(root->ns, "jabber:server"));
    assert_true(fg_xml_str_eq(root->local, "message"));
    assert_true(fg_xml_str_eq(el->to, "b@b.example"));
    assert_true(fg_xml_str_eq(el->from, "a.example/r"));
    assert_true(fg_xml_str_eq(el->type, "chat"));
    assert_true(fg_xml_str_eq(el->id, "m1"));
    assert_true(fg_xml_str_eq(el->lang, "en"));  // RFC 6120 §8.1.5, for the relay
    assert_int_equal(el->num_nodes, 5);          // message, body, its text, x, y
    assert_int_equal(root->raw.len, sl);
    assert_memory_equal(root->raw.data, st, sl);
    assert_int_equal(el->canonical, 1);
    // The root view links no attributes or children: a consumer reading
    // more asks.
    assert_null(root->first_child);
    assert_null(fg_xml_node_child(root, NULL, NULL));
    assert_int_equal(root->num_attrs, 0);
    assert_null(fg_xml_node_attr(root, FG_XML_NS_XML, "lang").data);
    assert_ptr_equal(fg_xml_element_full(el), el);
    assert_ptr_equal(el->root, root);
    assert_int_equal(root->num_attrs, 5);
    assert_true(fg_xml_str_eq(fg_xml_node_attr(root, FG_XML_NS_XML, "lang"), "en"));
    assert_true(fg_xml_str_eq(fg_xml_node_attr(root, "", "type"), "chat"));
    check_children_read_after_root(el);
    // Asked again, through the parser: the same views.
    assert_ptr_equal(fg_xml_parser_element(p), el);
    check_children_read_after_root(fg_xml_parser_element(p));
    // The next element, without children: its root view is all of it, and
    // nothing of the element before shows through.
    assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)bare, bl), FG_XML_EVENT_ELEMENT);
    el = fg_xml_parser_element_root(p);
    assert_int_equal(el->num_nodes, 1);
    assert_null(el->root->first_child);
    assert_true(fg_xml_str_eq(el->to, "b.example"));
    assert_ptr_equal(fg_xml_element_full(el), el);
    assert_null(el->root->first_child);
    assert_int_equal(el->root->num_attrs, 2);
    assert_int_equal(el->root->num_decls, 1);
    assert_true(fg_xml_str_eq(el->root->local, "presence"));
    assert_null(el->type.data);
    assert_null(el->id.data);
    assert_null(el->lang.data);
    // And the same stanza again, read whole at once.
    assert_int_equal(fg_xml_parser_feed(p, &used, in, sl), FG_XML_EVENT_ELEMENT);
    check_children_read_after_root(fg_xml_parser_element(p));
    fg_xml_parser_free(p);
  }
}

static void test_trim_between_elements_keeps_the_stream(void **state) {
  (void)state;
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  size_t used;
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)H, strlen(H)),
                   FG_XML_EVENT_STREAM_OPEN);
  const char *st = "<message to='x'><body>a&amp;b</body><x xmlns='urn:t'/></message>";
  for (int round = 0; round < 3; round++) {
    size_t len = strlen(st), half = len / 2;
    fg_xml_parser_trim(p);  // between elements: frees
    assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)st, half),
                     FG_XML_EVENT_NEED_MORE);
    fg_xml_parser_trim(p);  // halfway: must keep the partial element
    assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)st + half, len - half),
                     FG_XML_EVENT_ELEMENT);
    const fg_xml_element *el = fg_xml_parser_element(p);
    assert_true(fg_xml_str_eq(fg_xml_node_child(el->root, NULL, "body")->first_child->text, "a&b"));
    assert_int_equal(el->root->raw.len, len);
  }
  fg_xml_parser_trim(p);
  assert_null(fg_xml_parser_element(p));
  // A prefix the header did not declare is still an error after a trim.
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)"<q:m/>", 6), FG_XML_EVENT_ERROR);
  fg_xml_parser_free(p);
}

// DESIGN.md: hot paths allocate nothing per stanza in the steady state.
static void test_steady_state_allocates_nothing_per_stanza(void **state) {
  (void)state;
#if !FG_COUNT_ALLOCS
  skip();
#else
  static const char *const kStanzas[] = {
      "<message from='a.example/r' to='b@b.example' type='chat' id='1'><body>caf\xc3\xa9 &amp; "
      "\xe4\xbd\xa0\xe5\xa5\xbd</body><active "
      "xmlns='http://jabber.org/protocol/chatstates'/></message>",
      "<presence from='a.example'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' "
      "ver='v'/><status>a\r\nb</status></presence>",
      "<iq type='result' id='2'><query xmlns='http://jabber.org/protocol/disco#info'><feature "
      "var='urn:xmpp:ping'/><x xmlns:p='urn:p' p:k='&lt;'><![CDATA[x]]></x></query></iq>",
      " \n",
  };
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  size_t used;
  assert_int_equal(fg_xml_parser_feed(p, &used, (const uint8_t *)H, strlen(H)),
                   FG_XML_EVENT_STREAM_OPEN);
  long before = 0;
  size_t elements = 0;
  for (int round = 0; round < 400; round++) {
    if (round == 100) before = fg_alloc_calls();  // warmed up
    for (size_t k = 0; k < 4; k++) {
      const uint8_t *in = (const uint8_t *)kStanzas[k];
      size_t len = strlen(kStanzas[k]);
      size_t cut = 1 + (size_t)round % (len - 1);  // straddle chunks at varying points
      for (int part = 0; part < 2; part++) {
        size_t n = part == 0 ? cut : len - cut;
        while (n > 0) {
          fg_xml_event ev = fg_xml_parser_feed(p, &used, in, n);
          in += used;
          n -= used;
          assert_int_not_equal(ev, FG_XML_EVENT_ERROR);
          if (ev == FG_XML_EVENT_ELEMENT) elements++;
        }
      }
    }
  }
  long after = fg_alloc_calls();
  fg_xml_parser_free(p);
  assert_int_equal(elements, 1200);
  assert_true(before > 0);  // the counter does see the parser's warm-up allocations
  assert_int_equal(after - before, 0);
#endif
}

int main(void) {
  const struct CMUnitTest vectors[] = {
      cmocka_unit_test(test_vectors_generate_expressions),
      cmocka_unit_test(test_vectors_xml_streams_tsv),
      cmocka_unit_test(test_rfc6120_11_6_utf8_sequences_txt),
  };
  const struct CMUnitTest rules[] = {
      cmocka_unit_test(test_rfc6120_11_1_rejects_comment_with_offset),
      cmocka_unit_test(test_rfc6120_11_1_rejects_processing_instruction),
      cmocka_unit_test(test_rfc6120_11_1_rejects_dtd),
      cmocka_unit_test(test_rfc6120_11_1_entities),
      cmocka_unit_test(test_rfc6120_11_1_character_references),
      cmocka_unit_test(test_rfc6120_11_1_cdata_allowed),
      cmocka_unit_test(test_rfc6120_11_3_unbound_prefixes),
      cmocka_unit_test(test_rfc6120_11_3_namespaces_6_3_unique_expanded_attributes),
      cmocka_unit_test(test_rfc6120_11_3_well_formedness),
      cmocka_unit_test(test_xml_2_11_line_ends_and_attribute_normalisation),
      cmocka_unit_test(test_rfc6120_11_6_bom_and_other_encodings),
      cmocka_unit_test(test_rfc6120_11_6_utf8_split_across_chunks),
      cmocka_unit_test(test_rfc6120_4_7_header_fields),
      cmocka_unit_test(test_rfc6120_4_8_namespaces_of_the_stream),
      cmocka_unit_test(test_rfc6120_4_7_5_unsupported_version),
      cmocka_unit_test(test_rfc6120_4_6_1_whitespace_keepalives),
      cmocka_unit_test(test_rfc6120_4_4_stream_close),
      cmocka_unit_test(test_rfc6120_4_3_3_reset_for_stream_restart),
      cmocka_unit_test(test_rfc6120_13_12_element_size_limits),
      cmocka_unit_test(test_limits_depth_attrs_names_decls_nodes),
      cmocka_unit_test(test_limits_at_maximum_do_not_wrap),
      cmocka_unit_test(test_rfc6120_8_element_api_and_zero_copy),
      cmocka_unit_test(test_namespaces_6_2_declaration_anywhere_is_forwardable),
      cmocka_unit_test(test_rfc6120_8_root_view_then_children),
      cmocka_unit_test(test_trim_between_elements_keeps_the_stream),
      cmocka_unit_test(test_xml_1_0_3_name_matches_at_every_length_and_position),
      cmocka_unit_test(test_xml_1_0_3_1_common_tags_at_every_cut),
      cmocka_unit_test(test_xml_1_0_3_1_whole_elements_at_every_block_offset),
      cmocka_unit_test(test_xml_1_0_4_1_references_in_text_at_every_cut),
      cmocka_unit_test(test_xml_1_0_2_4_cdata_end_in_text_at_every_cut),
      cmocka_unit_test(test_namespaces_6_2_unprefixed_elements_take_the_default_namespace),
      cmocka_unit_test(test_steady_state_reuses_buffers),
      cmocka_unit_test(test_steady_state_allocates_nothing_per_stanza),
  };
  int failed = cmocka_run_group_tests_name("xml_parser_vectors", vectors, NULL, NULL);
  failed += cmocka_run_group_tests_name("xml_parser_rules", rules, NULL, NULL);
  return failed ? 1 : 0;
}
