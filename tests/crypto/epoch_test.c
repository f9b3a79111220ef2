// epoch_test.c: epoch-based reclamation (crypto/epoch.c): nothing a reader
// may hold is freed while it is inside, everything retired is freed once
// readers leave, slots of exited threads are reused.
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "crypto/epoch.h"

static _Atomic int g_freed;

static void count_free(void *p) {
  free(p);
  atomic_fetch_add(&g_freed, 1);
}

typedef struct reader {
  fg_epoch_domain *d;
  _Atomic int inside, leave;
} reader;

static void *hold(void *arg) {
  reader *r = arg;
  fg_epoch_enter(r->d);
  atomic_store(&r->inside, 1);
  while (!atomic_load(&r->leave)) {
  }
  fg_epoch_exit(r->d);
  return NULL;
}

// A reader inside blocks the free of what was retired since it entered,
// however often the writer reclaims; once it leaves, two advances free it.
static void test_reader_inside_blocks_reclamation(void **state) {
  (void)state;
  fg_epoch_domain *d = fg_epoch_domain_new();
  atomic_store(&g_freed, 0);
  reader r = {d, 0, 0};
  pthread_t t;
  pthread_create(&t, NULL, hold, &r);
  while (!atomic_load(&r.inside)) {
  }
  fg_epoch_retire(d, malloc(16), count_free);
  for (int i = 0; i < 100; i++) fg_epoch_reclaim(d);
  assert_int_equal(atomic_load(&g_freed), 0);
  assert_int_equal(fg_epoch_pending(d), 1);
  atomic_store(&r.leave, 1);
  pthread_join(t, NULL);
  fg_epoch_reclaim(d);
  fg_epoch_reclaim(d);
  fg_epoch_reclaim(d);
  assert_int_equal(atomic_load(&g_freed), 1);
  assert_int_equal(fg_epoch_pending(d), 0);
  fg_epoch_domain_free(d);
}

// Without readers, retired objects go after a few reclaims; the domain frees
// what is left when it goes.
static void test_retired_objects_are_freed(void **state) {
  (void)state;
  fg_epoch_domain *d = fg_epoch_domain_new();
  atomic_store(&g_freed, 0);
  for (int i = 0; i < 1000; i++) fg_epoch_retire(d, malloc(8), count_free);
  for (int i = 0; i < 3; i++) fg_epoch_reclaim(d);
  assert_int_equal(atomic_load(&g_freed), 1000);
  fg_epoch_retire(d, malloc(8), count_free);
  fg_epoch_domain_free(d);
  assert_int_equal(atomic_load(&g_freed), 1001);
}

static void *enter_once(void *arg) {
  fg_epoch_domain *d = arg;
  if (!fg_epoch_enter(d)) return (void *)1;
  fg_epoch_exit(d);
  return NULL;
}

// Threads that come and go give their slots back: more threads than slots,
// one after another, all get in.
static void test_exited_threads_give_slots_back(void **state) {
  (void)state;
  fg_epoch_domain *d = fg_epoch_domain_new();
  for (int i = 0; i < FG_EPOCH_MAX_THREADS + 200; i++) {
    pthread_t t;
    void *rc = NULL;
    pthread_create(&t, NULL, enter_once, d);
    pthread_join(t, &rc);
    assert_null(rc);
  }
  fg_epoch_domain_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reader_inside_blocks_reclamation),
      cmocka_unit_test(test_retired_objects_are_freed),
      cmocka_unit_test(test_exited_threads_give_slots_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
