// admin_request_test.c: the admin endpoint's request parsing (RFC 9112: request
// line, Content-Length, body).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/server/admin_request.h"

static fg_admin_parse_result parse(fg_admin_request *r, const char *s) {
  return fg_admin_request_parse(r, (const uint8_t *)s, strlen(s));
}

static void test_rfc9112_3_get_request_line(void **state) {
  (void)state;
  fg_admin_request r;
  assert_int_equal(parse(&r, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), FG_ADMIN_REQ_OK);
  assert_string_equal(r.method, "GET");
  assert_string_equal(r.path, "/metrics");
  assert_int_equal(r.body_len, 0);
  // The query string is not part of the path; a bare LF ends lines too.
  assert_int_equal(parse(&r, "GET /streams?x=1 HTTP/1.0\n\n"), FG_ADMIN_REQ_OK);
  assert_string_equal(r.path, "/streams");
}

static void test_rfc9112_6_2_post_body_by_content_length(void **state) {
  (void)state;
  fg_admin_request r;
  const char *req = "POST /streams/close HTTP/1.1\r\ncontent-length:  9 \r\n\r\nid=abc&x=";
  assert_int_equal(parse(&r, req), FG_ADMIN_REQ_OK);
  assert_string_equal(r.method, "POST");
  assert_string_equal(r.path, "/streams/close");
  assert_int_equal(r.body_len, 9);
  assert_memory_equal(r.body, "id=abc&x=", 9);
  // Bytes beyond Content-Length are not the body.
  assert_int_equal(parse(&r, "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nid=x"), FG_ADMIN_REQ_OK);
  assert_int_equal(r.body_len, 2);
}

static void test_admin_request_incomplete(void **state) {
  (void)state;
  fg_admin_request r;
  assert_int_equal(parse(&r, "GET /metrics HTTP/1.1\r\nHost: x\r\n"), FG_ADMIN_REQ_INCOMPLETE);
  assert_int_equal(parse(&r, ""), FG_ADMIN_REQ_INCOMPLETE);
  assert_int_equal(parse(&r, "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nid=1"),
                   FG_ADMIN_REQ_INCOMPLETE);
}

static void test_admin_request_refusals(void **state) {
  (void)state;
  fg_admin_request r;
  static const char *const kBad[] = {
      "get /metrics HTTP/1.1\r\n\r\n",      // methods are upper case
      "GET metrics HTTP/1.1\r\n\r\n",       // origin-form starts with '/'
      "GET /metrics\r\n\r\n",               // HTTP/0.9
      "GET /metrics HTTP/2.0\r\n\r\n",      // not HTTP/1.x
      "VERYLONGMETHOD / HTTP/1.1\r\n\r\n",  // longer than any method served
      "POST /a HTTP/1.1\r\nContent-Length: x1\r\n\r\n",
      "POST /a HTTP/1.1\r\nContent-Length:\r\n\r\n",
      "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",  // not read here
      "\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    if (parse(&r, kBad[i]) != FG_ADMIN_REQ_BAD) fail_msg("case %zu accepted: %s", i, kBad[i]);
  }
}

static void test_admin_request_bounds(void **state) {
  (void)state;
  fg_admin_request r;
  assert_int_equal(parse(&r, "POST /a HTTP/1.1\r\nContent-Length: 8193\r\n\r\n"),
                   FG_ADMIN_REQ_TOO_LARGE);
  assert_int_equal(parse(&r, "POST /a HTTP/1.1\r\nContent-Length: 1234567890\r\n\r\n"),
                   FG_ADMIN_REQ_TOO_LARGE);
  static char big[FG_ADMIN_MAX_HEAD + 64];
  memset(big, 'a', sizeof(big) - 1);
  memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
  assert_int_equal(parse(&r, big), FG_ADMIN_REQ_TOO_LARGE);
  char path[400] = "GET /";
  memset(path + 5, 'p', 300);
  strcpy(path + 305, " HTTP/1.1\r\n\r\n");
  assert_int_equal(parse(&r, path), FG_ADMIN_REQ_TOO_LARGE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc9112_3_get_request_line),
      cmocka_unit_test(test_rfc9112_6_2_post_body_by_content_length),
      cmocka_unit_test(test_admin_request_incomplete),
      cmocka_unit_test(test_admin_request_refusals),
      cmocka_unit_test(test_admin_request_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
