// drr_test.c: deficit round robin by bytes (gateway/server/drr.c), counted:
// a pair with a long backlog does not hold back the others on a shared
// stream, and bytes, not stanzas, are shared out evenly.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/server/drr.h"

enum { kQueues = 4, kItems = 256 };

// A simulated output stream: it takes |room| more items, then is full.
typedef struct sim {
  size_t len[kQueues][kItems];  // item sizes, oldest first
  size_t head[kQueues], tail[kQueues];
  size_t room;
  size_t sent_items[kQueues], sent_bytes[kQueues];
  int order[1024];  // which queue each sent item came from
  size_t n_order;
} sim;

static void push(sim *s, int q, size_t n, size_t len) {
  for (size_t k = 0; k < n; k++) s->len[q][s->tail[q]++] = len;
}
static size_t head_len(void *arg, size_t i) {
  sim *s = arg;
  return s->head[i] < s->tail[i] ? s->len[i][s->head[i]] : 0;
}
static int send_head(void *arg, size_t i) {
  sim *s = arg;
  if (s->room == 0) return 0;
  s->room--;
  s->sent_items[i]++;
  s->sent_bytes[i] += s->len[i][s->head[i]++];
  if (s->n_order < 1024) s->order[s->n_order++] = (int)i;
  return 1;
}
static const fg_drr_ops kOps = {head_len, send_head};

typedef struct sched {
  fg_drr d;
  fg_drr_queue q[kQueues];
  fg_drr_queue *qp[kQueues];
} sched;

static void sched_init(sched *s) {
  memset(s, 0, sizeof(*s));
  for (int i = 0; i < kQueues; i++) s->qp[i] = &s->q[i];
}

static void test_backlog_does_not_hold_back_a_small_pair(void **state) {
  sim s = {0};
  sched c;
  sched_init(&c);
  push(&s, 0, 100, 1000);  // a pair with a long backlog of big stanzas
  push(&s, 1, 10, 100);    // a pair with a few small ones, queued after
  s.room = 11;
  assert_int_equal(fg_drr_run(&c.d, c.qp, 2, 1000, &kOps, &s), 11);
  // One round: 1000 bytes each. In arrival order (FIFO) all 11 would have
  // been the backlog's.
  assert_int_equal(s.sent_items[0], 1);
  assert_int_equal(s.sent_items[1], 10);
}

static void test_bytes_are_shared_evenly_not_stanzas(void **state) {
  sim s = {0};
  sched c;
  sched_init(&c);
  push(&s, 0, 50, 1500);
  push(&s, 1, 200, 500);
  s.room = 40;  // ten rounds of 1 + 3
  assert_int_equal(fg_drr_run(&c.d, c.qp, 2, 1500, &kOps, &s), 40);
  assert_int_equal(s.sent_items[0], 10);
  assert_int_equal(s.sent_items[1], 30);
  assert_int_equal(s.sent_bytes[0], s.sent_bytes[1]);
}

static void test_full_output_resumes_mid_turn_without_a_new_quantum(void **state) {
  sim s = {0};
  sched c;
  sched_init(&c);
  push(&s, 0, 8, 100);
  push(&s, 1, 8, 100);
  // Quantum 400: four of queue 0, then four of queue 1, per round. The
  // output takes 2, then 3 more: queue 0 resumes its turn for 2 more and
  // does not get a fresh quantum on the way.
  s.room = 2;
  assert_int_equal(fg_drr_run(&c.d, c.qp, 2, 400, &kOps, &s), 2);
  s.room = 3;
  assert_int_equal(fg_drr_run(&c.d, c.qp, 2, 400, &kOps, &s), 3);
  int want[] = {0, 0, 0, 0, 1};
  assert_int_equal(s.n_order, 5);
  for (int k = 0; k < 5; k++) assert_int_equal(s.order[k], want[k]);
  s.room = 100;
  assert_int_equal(fg_drr_run(&c.d, c.qp, 2, 400, &kOps, &s), 11);
  assert_int_equal(s.sent_items[0], 8);
  assert_int_equal(s.sent_items[1], 8);
}

static void test_idle_queue_saves_no_deficit(void **state) {
  sim s = {0};
  sched c;
  sched_init(&c);
  push(&s, 0, 1, 300);
  s.room = 10;
  assert_int_equal(fg_drr_run(&c.d, c.qp, 2, 1000, &kOps, &s), 1);
  assert_int_equal(c.q[0].deficit, 0);
  assert_int_equal(c.q[1].deficit, 0);
}

static void test_stanza_larger_than_the_quantum_waits_for_enough_rounds(void **state) {
  sim s = {0};
  sched c;
  sched_init(&c);
  push(&s, 0, 1, 2500);
  push(&s, 1, 30, 100);
  s.room = 100;
  assert_int_equal(fg_drr_run(&c.d, c.qp, 2, 1000, &kOps, &s), 31);
  // The big stanza goes at the start of the third round (its deficit is
  // 3000 then), after two rounds of ten small ones.
  assert_int_equal(s.order[19], 1);
  assert_int_equal(s.order[20], 0);
  assert_int_equal(s.order[30], 1);
}

static void test_four_pairs_one_blocked_backlog(void **state) {
  sim s = {0};
  sched c;
  sched_init(&c);
  push(&s, 0, 200, 4000);  // the heavy pair
  for (int q = 1; q < kQueues; q++) push(&s, q, 5, 200);
  s.room = 16;
  fg_drr_run(&c.d, c.qp, kQueues, 1000, &kOps, &s);
  // The heavy pair needs four rounds per stanza; the three light pairs'
  // fifteen stanzas all leave in the first round.
  for (int q = 1; q < kQueues; q++) assert_int_equal(s.sent_items[q], 5);
  assert_int_equal(s.sent_items[0], 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backlog_does_not_hold_back_a_small_pair),
      cmocka_unit_test(test_bytes_are_shared_evenly_not_stanzas),
      cmocka_unit_test(test_full_output_resumes_mid_turn_without_a_new_quantum),
      cmocka_unit_test(test_idle_queue_saves_no_deficit),
      cmocka_unit_test(test_stanza_larger_than_the_quantum_waits_for_enough_rounds),
      cmocka_unit_test(test_four_pairs_one_blocked_backlog),
  };
  return cmocka_run_group_tests_name("gateway/drr", tests, NULL, NULL);
}
