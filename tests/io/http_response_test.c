// http_response_test.c: io/http_response against hand-written responses,
// each named after the RFC 9112 / RFC 9110 rule it checks. Every case is
// fed whole, split in two at every byte position, and one byte at a time;
// the outcome must be the same each way.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/http_response.h"

typedef struct rcase {
  char name[64];
  uint8_t in[1024];
  size_t len;
  int head;                                 // the request was HEAD
  size_t max_body, max_header, max_fields;  // 0: default
  fg_http_parse_status want;
  int code;           // expected final status code
  int check_body;     // compare |body|
  uint8_t body[256];  // expected body (DONE only)
  size_t body_len;
  int keep_alive;
  size_t rest;  // bytes after the response left unconsumed (DONE only)
} rcase;

// unescape decodes \r \n \t \\ and \xHH from |s| into |out| (at most |cap|
// bytes) and returns the length.
static size_t unescape(uint8_t *out, size_t cap, const char *s) {
  size_t n = 0;
  for (; *s != 0 && *s != '\n'; s++) {
    uint8_t c = (uint8_t)*s;
    if (c == '\\') {
      s++;
      if (*s == 'x') {
        unsigned v = 0;
        assert_int_equal(sscanf(s + 1, "%2x", &v), 1);
        c = (uint8_t)v;
        s += 2;
      } else {
        c = *s == 'r' ? '\r' : *s == 'n' ? '\n' : *s == 't' ? '\t' : (uint8_t)*s;
      }
    }
    assert_true(n < cap);
    out[n++] = c;
  }
  return n;
}

static fg_http_parse_status status_named(const char *name) {
  for (int s = 0; s <= FG_HTTP_PARSE_TRUNCATED; s++) {
    if (strcmp(fg_http_parse_status_name((fg_http_parse_status)s), name) == 0) return s;
  }
  fail_msg("unknown status %s", name);
  return FG_HTTP_PARSE_NEED_MORE;
}

// load_cases reads tests/io/http_response_cases.txt (format in its header).
static rcase *load_cases(size_t *n) {
  FILE *f = fopen("tests/io/http_response_cases.txt", "r");
  assert_non_null(f);
  rcase *cases = calloc(128, sizeof(rcase));
  assert_non_null(cases);
  *n = 0;
  char line[2048];
  while (fgets(line, sizeof(line), f) != NULL) {
    if (line[0] == '#' || line[0] == '\n') continue;
    assert_true(*n < 128);
    rcase *c = &cases[(*n)++];
    char want[64], body[600];
    assert_int_equal(sscanf(line, "%63s %63s %d %d %zu %d %zu %zu %zu %599s", c->name, want,
                            &c->code, &c->keep_alive, &c->rest, &c->head, &c->max_body,
                            &c->max_header, &c->max_fields, body),
                     10);
    c->want = status_named(want);
    c->check_body = strcmp(body, "-") != 0;
    if (strcmp(body, "\"\"") != 0) c->body_len = unescape(c->body, sizeof(c->body), body);
    assert_non_null(fgets(line, sizeof(line), f));
    c->len = unescape(c->in, sizeof(c->in), line);
  }
  fclose(f);
  assert_true(*n > 0);
  return cases;
}

typedef struct outcome {
  fg_http_parse_status st;
  size_t consumed;
  int code, keep;
  char body[256];
  size_t body_len;
} outcome;

// run feeds |c| cut at the offsets in |cuts| (ascending, |ncuts| of them).
static outcome run(const rcase *c, const size_t *cuts, size_t ncuts) {
  fg_http_response_limits lim = {
      .max_body = c->max_body, .max_header_bytes = c->max_header, .max_fields = c->max_fields};
  fg_http_response r;
  fg_http_response_init(&r, &lim, c->head);
  size_t len = c->len, pos = 0;
  outcome o = {0};
  fg_http_parse_status st = FG_HTTP_PARSE_NEED_MORE;
  for (size_t k = 0; k <= ncuts && st == FG_HTTP_PARSE_NEED_MORE; k++) {
    size_t end = k < ncuts ? cuts[k] : len;
    size_t used = 0;
    st = fg_http_response_feed(&r, c->in + pos, end - pos, &used);
    o.consumed += used;
    pos = end;
  }
  o.st = st;
  o.code = fg_http_response_code(&r);
  o.keep = fg_http_response_keep_alive(&r);
  size_t bl;
  const uint8_t *b = fg_http_response_body(&r, &bl);
  o.body_len = bl;
  if (bl > 0 && bl <= sizeof(o.body)) memcpy(o.body, b, bl);
  fg_http_response_cleanup(&r);
  return o;
}

static void check(const rcase *c, const outcome *o, const char *how) {
  if (o->st != c->want) {
    fail_msg("%s (%s): got %s, want %s", c->name, how, fg_http_parse_status_name(o->st),
             fg_http_parse_status_name(c->want));
  }
  if (o->code != c->code) fail_msg("%s (%s): code %d, want %d", c->name, how, o->code, c->code);
  if (c->check_body) {
    if (o->body_len != c->body_len || memcmp(o->body, c->body, o->body_len) != 0) {
      fail_msg("%s (%s): body %.*s", c->name, how, (int)o->body_len, o->body);
    }
  }
  if (c->want == FG_HTTP_PARSE_DONE) {
    assert_int_equal(o->keep, c->keep_alive);
    assert_int_equal(o->consumed + c->rest, c->len);
  }
}

static void test_rfc9112_cases_whole_split_and_bytewise(void **state) {
  size_t ncases;
  rcase *cases = load_cases(&ncases);
  for (size_t i = 0; i < ncases; i++) {
    const rcase *c = &cases[i];
    outcome whole = run(c, NULL, 0);
    check(c, &whole, "whole");
    size_t len = c->len;
    for (size_t cut = 1; cut < len; cut++) {
      outcome two = run(c, &cut, 1);
      char how[32];
      snprintf(how, sizeof(how), "split at %zu", cut);
      check(c, &two, how);
      assert_int_equal(two.consumed, whole.consumed);
    }
    size_t cuts[1024];
    assert_true(len <= 1024);
    for (size_t k = 0; k + 1 < len; k++) cuts[k] = k + 1;
    outcome bytes = run(c, cuts, len ? len - 1 : 0);
    check(c, &bytes, "bytewise");
    assert_int_equal(bytes.consumed, whole.consumed);
  }
  free(cases);
}

// RFC 9112 §6.3 (8): a body delimited by the end of the connection is
// complete at EOF; anything else cut short is truncated.
static void test_rfc9112_6_3_eof_completes_only_close_delimited(void **state) {
  fg_http_response r;
  size_t used;
  const char *a = "HTTP/1.1 200 OK\r\n\r\npartial";
  fg_http_response_init(&r, NULL, 0);
  assert_int_equal(fg_http_response_feed(&r, (const uint8_t *)a, strlen(a), &used),
                   FG_HTTP_PARSE_NEED_MORE);
  assert_int_equal(fg_http_response_finish(&r), FG_HTTP_PARSE_DONE);
  assert_int_equal(fg_http_response_keep_alive(&r), 0);
  size_t bl;
  const uint8_t *b = fg_http_response_body(&r, &bl);
  assert_int_equal(bl, 7);
  assert_memory_equal(b, "partial", 7);
  fg_http_response_cleanup(&r);

  const char *cut[] = {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                       "HTTP/1.1 200 OK\r\nContent-Le", ""};
  for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
    fg_http_response_init(&r, NULL, 0);
    assert_int_equal(fg_http_response_feed(&r, (const uint8_t *)cut[i], strlen(cut[i]), &used),
                     FG_HTTP_PARSE_NEED_MORE);
    assert_int_equal(fg_http_response_finish(&r), FG_HTTP_PARSE_TRUNCATED);
    assert_int_equal(fg_http_response_feed(&r, (const uint8_t *)"x", 1, &used),
                     FG_HTTP_PARSE_TRUNCATED);
    assert_int_equal(used, 0);
    fg_http_response_cleanup(&r);
  }
}

// RFC 9110 §5.1: field names compare case-insensitively; values lose their
// surrounding whitespace (RFC 9110 §5.5).
static void test_rfc9110_5_field_lookup(void **state) {
  const char *in =
      "HTTP/1.1 302 Found\r\nLOCATION: \t http://ocsp.example/next \t\r\n"
      "Content-Type: application/ocsp-response\r\nContent-Length: 0\r\n\r\n";
  fg_http_response r;
  fg_http_response_init(&r, NULL, 0);
  size_t used, len;
  assert_int_equal(fg_http_response_feed(&r, (const uint8_t *)in, strlen(in), &used),
                   FG_HTTP_PARSE_DONE);
  const char *v = fg_http_response_field(&r, "location", &len);
  assert_non_null(v);
  assert_int_equal(len, strlen("http://ocsp.example/next"));
  assert_memory_equal(v, "http://ocsp.example/next", len);
  v = fg_http_response_field(&r, "content-type", &len);
  assert_int_equal(len, strlen("application/ocsp-response"));
  assert_null(fg_http_response_field(&r, "etag", &len));
  assert_int_equal(fg_http_response_num_fields(&r), 3);
  // Done is final: more input is not consumed.
  assert_int_equal(fg_http_response_feed(&r, (const uint8_t *)"HTTP", 4, &used),
                   FG_HTTP_PARSE_DONE);
  assert_int_equal(used, 0);
  fg_http_response_cleanup(&r);
}

// A large chunked body in many chunks, fed in pieces of 7 bytes.
static void test_rfc9112_7_1_many_chunks(void **state) {
  char in[40000];
  size_t n =
      (size_t)snprintf(in, sizeof(in), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 1000; i++)
    n += (size_t)snprintf(in + n, sizeof(in) - n, "a\r\n0123456789\r\n");
  n += (size_t)snprintf(in + n, sizeof(in) - n, "0\r\n\r\n");
  fg_http_response r;
  fg_http_response_init(&r, NULL, 0);
  fg_http_parse_status st = FG_HTTP_PARSE_NEED_MORE;
  for (size_t pos = 0; pos < n && st == FG_HTTP_PARSE_NEED_MORE; pos += 7) {
    size_t used;
    st = fg_http_response_feed(&r, (const uint8_t *)in + pos, n - pos < 7 ? n - pos : 7, &used);
  }
  assert_int_equal(st, FG_HTTP_PARSE_DONE);
  size_t bl;
  const uint8_t *b = fg_http_response_body(&r, &bl);
  assert_int_equal(bl, 10000);
  assert_memory_equal(b + 9990, "0123456789", 10);
  assert_int_equal(fg_http_response_bytes(&r), n);
  fg_http_response_cleanup(&r);
}

static void test_status_names(void **state) {
  assert_string_equal(fg_http_parse_status_name(FG_HTTP_PARSE_BAD_CHUNK_SIZE), "bad-chunk-size");
  assert_string_equal(fg_http_parse_status_name(FG_HTTP_PARSE_TRUNCATED), "truncated");
  assert_string_equal(fg_http_parse_status_name((fg_http_parse_status)99), "unknown");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc9112_cases_whole_split_and_bytewise),
      cmocka_unit_test(test_rfc9112_6_3_eof_completes_only_close_delimited),
      cmocka_unit_test(test_rfc9110_5_field_lookup),
      cmocka_unit_test(test_rfc9112_7_1_many_chunks),
      cmocka_unit_test(test_status_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
