// bidi_streams_test.c: a worker's table of bidirectional inbound streams
// (gateway/server/bidi_streams.c), with fake streams that take or refuse.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/server/bidi_streams.h"

typedef struct fake_stream {
  const char *local;  // the only local domain it may send from
  int taken;
} fake_stream;

static int fake_send(void *owner, const char *local, const char *remote, const uint8_t *data,
                     size_t len, int is_bounce) {
  fake_stream *s = owner;
  if (strcmp(local, s->local) != 0) return 0;
  s->taken++;
  return 1;
}

static const uint8_t kStanza[] = "<message/>";

static void test_xep0288_stanza_takes_a_stream_that_may_carry_it(void **state) {
  fg_bidi_streams *t = NULL;
  fake_stream a = {"a.example"}, b = {"b.example"};
  assert_true(fg_bidi_streams_add(&t, "r.example", &a, fake_send));
  assert_true(fg_bidi_streams_add(&t, "r.example", &b, fake_send));
  assert_true(fg_bidi_streams_add(&t, "r.example", &a, fake_send));  // once only
  assert_int_equal(fg_bidi_streams_count(t), 2);
  assert_true(fg_bidi_streams_send(t, "a.example", "r.example", kStanza, sizeof(kStanza), 0));
  assert_true(fg_bidi_streams_send(t, "b.example", "r.example", kStanza, sizeof(kStanza), 0));
  assert_int_equal(a.taken, 1);
  assert_int_equal(b.taken, 1);
  // No stream for that pair: the caller opens a link.
  assert_false(fg_bidi_streams_send(t, "c.example", "r.example", kStanza, sizeof(kStanza), 0));
  assert_false(fg_bidi_streams_send(t, "a.example", "other.example", kStanza, sizeof(kStanza), 0));
  fg_bidi_streams_remove(&t, "r.example", &a);
  assert_false(fg_bidi_streams_send(t, "a.example", "r.example", kStanza, sizeof(kStanza), 0));
  fg_bidi_streams_remove(&t, "r.example", &b);
  assert_null(t);  // freed with its last entry
  assert_false(fg_bidi_streams_send(t, "b.example", "r.example", kStanza, sizeof(kStanza), 0));
  fg_bidi_streams_remove(&t, "r.example", &b);  // a no-op
}

static void test_xep0288_overlong_domain_is_not_registered(void **state) {
  fg_bidi_streams *t = NULL;
  fake_stream a = {"a.example"};
  char big[300];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = 0;
  assert_false(fg_bidi_streams_add(&t, big, &a, fake_send));
  assert_int_equal(fg_bidi_streams_count(t), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xep0288_stanza_takes_a_stream_that_may_carry_it),
      cmocka_unit_test(test_xep0288_overlong_domain_is_not_registered),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
