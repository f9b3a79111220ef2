// msgq_test.c: the lock-free MPSC queue under concurrent producers.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "io/msgq.h"

typedef struct item {
  fg_msgq_node node;
  int producer, seq;
} item;

enum { kProducers = 4, kPerProducer = 50000 };

static fg_msgq g_q;
static item *g_items;

static void *produce(void *arg) {
  int p = (int)(intptr_t)arg;
  for (int i = 0; i < kPerProducer; i++) {
    item *it = &g_items[p * kPerProducer + i];
    it->producer = p;
    it->seq = i;
    fg_msgq_push(&g_q, &it->node);
  }
  return NULL;
}

static void test_mpsc_keeps_per_producer_order(void **state) {
  fg_msgq_init(&g_q);
  g_items = calloc(kProducers * kPerProducer, sizeof(item));
  pthread_t th[kProducers];
  for (int p = 0; p < kProducers; p++) pthread_create(&th[p], NULL, produce, (void *)(intptr_t)p);
  int next[kProducers] = {0};
  int total = 0;
  while (total < kProducers * kPerProducer) {
    fg_msgq_node *n = fg_msgq_pop(&g_q);
    if (n == NULL) continue;
    item *it = (item *)n;
    assert_int_equal(it->seq, next[it->producer]);
    next[it->producer]++;
    total++;
  }
  for (int p = 0; p < kProducers; p++) pthread_join(th[p], NULL);
  assert_null(fg_msgq_pop(&g_q));
  free(g_items);
}

static void test_empty_queue_pops_null(void **state) {
  fg_msgq q;
  fg_msgq_init(&q);
  assert_null(fg_msgq_pop(&q));
  item a = {0};
  fg_msgq_push(&q, &a.node);
  assert_ptr_equal(fg_msgq_pop(&q), &a.node);
  assert_null(fg_msgq_pop(&q));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty_queue_pops_null),
      cmocka_unit_test(test_mpsc_keeps_per_producer_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
