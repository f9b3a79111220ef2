// log_format_test.c: tests for gateway/server/log_format.c: the text,
// journal, kv and json lines, their escaping, and lines cut at the limit.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/server/log_format.h"

// 2026-11-22T03:14:15Z
static const time_t kWhen = 1795317255;

static const char *fmt(fg_log_style style, fg_log_severity sev, const char *stream,
                       const char *peer, const char *msg, size_t *len) {
  static char line[FG_LOG_LINE_MAX];
  size_t n = fg_log_format_line(line, style, sev, kWhen, stream, peer, msg);
  assert_true(n > 0 && n <= FG_LOG_LINE_MAX);
  assert_int_equal(line[n - 1], '\n');
  if (len != NULL) *len = n;
  static char copy[FG_LOG_LINE_MAX + 1];
  memcpy(copy, line, n);
  copy[n] = 0;
  return copy;
}

static void test_text_line_has_time_level_stream_and_peer(void **state) {
  (void)state;
  assert_string_equal(
      fmt(FG_LOG_STYLE_TEXT, FG_LOG_SEV_WARN, "3f2a", "a.example", "invalid-from", NULL),
      "2026-11-22T03:14:15Z warn stream=3f2a peer=a.example: invalid-from\n");
  assert_string_equal(fmt(FG_LOG_STYLE_TEXT, FG_LOG_SEV_INFO, NULL, "", "ready", NULL),
                      "2026-11-22T03:14:15Z info: ready\n");
}

static void test_journal_line_has_sd_daemon_priority_and_no_time(void **state) {
  (void)state;
  // sd-daemon.h: SD_ERR <3>, SD_WARNING <4>, SD_INFO <6>, SD_DEBUG <7>.
  assert_string_equal(fmt(FG_LOG_STYLE_JOURNAL, FG_LOG_SEV_ERROR, NULL, NULL, "x", NULL),
                      "<3>error: x\n");
  assert_string_equal(fmt(FG_LOG_STYLE_JOURNAL, FG_LOG_SEV_WARN, "s", "p", "x", NULL),
                      "<4>warn stream=s peer=p: x\n");
  assert_string_equal(fmt(FG_LOG_STYLE_JOURNAL, FG_LOG_SEV_INFO, NULL, NULL, "x", NULL),
                      "<6>info: x\n");
  assert_string_equal(fmt(FG_LOG_STYLE_JOURNAL, FG_LOG_SEV_DEBUG, NULL, NULL, "x", NULL),
                      "<7>debug: x\n");
}

static void test_text_message_newline_cannot_forge_a_line(void **state) {
  (void)state;
  assert_string_equal(fmt(FG_LOG_STYLE_TEXT, FG_LOG_SEV_INFO, NULL, NULL,
                          "a\n2026-11-22T03:14:15Z error: forged", NULL),
                      "2026-11-22T03:14:15Z info: a 2026-11-22T03:14:15Z error: forged\n");
}

static void test_kv_quotes_values_with_spaces_quotes_and_equals(void **state) {
  (void)state;
  assert_string_equal(fmt(FG_LOG_STYLE_KV, FG_LOG_SEV_INFO, "3f2a", "a.example", "ready", NULL),
                      "ts=2026-11-22T03:14:15Z level=info stream=3f2a peer=a.example msg=ready\n");
  assert_string_equal(fmt(FG_LOG_STYLE_KV, FG_LOG_SEV_WARN, NULL, NULL, "a=b \"c\" \\ d\ne", NULL),
                      "ts=2026-11-22T03:14:15Z level=warn msg=\"a=b \\\"c\\\" \\\\ d\\ne\"\n");
  assert_string_equal(fmt(FG_LOG_STYLE_KV, FG_LOG_SEV_WARN, NULL, NULL, "", NULL),
                      "ts=2026-11-22T03:14:15Z level=warn msg=\"\"\n");
}

static void test_json_object_escapes_control_bytes(void **state) {
  (void)state;
  assert_string_equal(
      fmt(FG_LOG_STYLE_JSON, FG_LOG_SEV_ERROR, "3f2a", "a.example", "bad \"x\"\t\x01", NULL),
      "{\"ts\":\"2026-11-22T03:14:15Z\",\"level\":\"error\",\"stream\":\"3f2a\","
      "\"peer\":\"a.example\",\"msg\":\"bad \\\"x\\\"\\t\\u0001\"}\n");
  assert_string_equal(fmt(FG_LOG_STYLE_JSON, FG_LOG_SEV_INFO, NULL, NULL, "ok", NULL),
                      "{\"ts\":\"2026-11-22T03:14:15Z\",\"level\":\"info\",\"msg\":\"ok\"}\n");
}

// A message longer than a line is cut, but the line stays one valid object
// (an escape is never cut in half, the string and the object are closed).
static void test_json_cut_line_stays_an_object(void **state) {
  (void)state;
  char msg[3 * FG_LOG_LINE_MAX];
  for (size_t i = 0; i + 1 < sizeof(msg); i++) msg[i] = i % 7 == 0 ? '"' : 'x';
  msg[sizeof(msg) - 1] = 0;
  size_t n;
  const char *line = fmt(FG_LOG_STYLE_JSON, FG_LOG_SEV_INFO, NULL, NULL, msg, &n);
  assert_true(n <= FG_LOG_LINE_MAX);
  assert_memory_equal(line + n - 3, "\"}\n", 3);
  // Every quote inside the value is escaped: count unescaped quotes.
  int unescaped = 0;
  for (size_t i = 0; i < n; i++) unescaped += line[i] == '"' && (i == 0 || line[i - 1] != '\\');
  assert_int_equal(unescaped, 12);  // 6 keys and values of ts, level, msg: 2 quotes each
}

static void test_text_and_kv_cut_lines_end_with_a_newline(void **state) {
  (void)state;
  char msg[2 * FG_LOG_LINE_MAX];
  memset(msg, 'y', sizeof(msg) - 1);
  msg[sizeof(msg) - 1] = 0;
  size_t n;
  fmt(FG_LOG_STYLE_TEXT, FG_LOG_SEV_INFO, NULL, NULL, msg, &n);
  assert_true(n <= FG_LOG_LINE_MAX);
  fmt(FG_LOG_STYLE_KV, FG_LOG_SEV_INFO, NULL, NULL, msg, &n);
  assert_true(n <= FG_LOG_LINE_MAX);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_line_has_time_level_stream_and_peer),
      cmocka_unit_test(test_journal_line_has_sd_daemon_priority_and_no_time),
      cmocka_unit_test(test_text_message_newline_cannot_forge_a_line),
      cmocka_unit_test(test_kv_quotes_values_with_spaces_quotes_and_equals),
      cmocka_unit_test(test_json_object_escapes_control_bytes),
      cmocka_unit_test(test_json_cut_line_stays_an_object),
      cmocka_unit_test(test_text_and_kv_cut_lines_end_with_a_newline),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
