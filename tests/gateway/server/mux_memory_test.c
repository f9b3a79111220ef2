// mux_memory_test.c: the remote domains that take no further pairs on a
// stream for a while (gateway/server/mux_memory.c).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "gateway/server/mux_memory.h"

static void test_xep0220_4_3_noted_domain_is_remembered_until_its_time(void **state) {
  (void)state;
  fg_mux_memory *m = calloc(1, sizeof(*m));
  assert_non_null(m);
  assert_false(fg_mux_memory_has(m, "x.test", 0));
  fg_mux_memory_note(m, "x.test", 100, 1000);
  assert_true(fg_mux_memory_has(m, "x.test", 100));
  assert_true(fg_mux_memory_has(m, "x.test", 999));
  assert_false(fg_mux_memory_has(m, "x.test", 1000));  // expired
  assert_false(fg_mux_memory_has(m, "y.test", 100));   // another domain
  free(m);
}

static void test_xep0220_4_3_renewal_keeps_one_entry(void **state) {
  (void)state;
  fg_mux_memory *m = calloc(1, sizeof(*m));
  assert_non_null(m);
  fg_mux_memory_note(m, "x.test", 0, 1000);
  fg_mux_memory_note(m, "x.test", 500, 5000);
  assert_true(fg_mux_memory_has(m, "x.test", 4000));
  size_t entries = 0;
  for (size_t i = 0; i < FG_MUX_MEMORY_ENTRIES; i++) entries += m->e[i].until_ns != 0;
  assert_int_equal(entries, 1);
  free(m);
}

static void test_xep0220_4_3_full_table_forgets_the_oldest(void **state) {
  (void)state;
  fg_mux_memory *m = calloc(1, sizeof(*m));
  assert_non_null(m);
  char name[32];
  for (int i = 0; i < FG_MUX_MEMORY_ENTRIES; i++) {
    snprintf(name, sizeof(name), "d%d.test", i);
    fg_mux_memory_note(m, name, 0, 1000);
  }
  fg_mux_memory_note(m, "late.test", 0, 1000);
  assert_true(fg_mux_memory_has(m, "late.test", 1));
  assert_false(fg_mux_memory_has(m, "d0.test", 1));  // the oldest gave way
  int kept = 0;
  for (int i = 1; i < FG_MUX_MEMORY_ENTRIES; i++) {
    snprintf(name, sizeof(name), "d%d.test", i);
    kept += fg_mux_memory_has(m, name, 1);
  }
  assert_int_equal(kept, FG_MUX_MEMORY_ENTRIES - 1);
  // An expired entry is reused before anything live gives way.
  fg_mux_memory_note(m, "d1.test", 0, 5);
  fg_mux_memory_note(m, "after.test", 10, 1000);
  assert_true(fg_mux_memory_has(m, "after.test", 11));
  assert_true(fg_mux_memory_has(m, "d2.test", 11));
  assert_true(fg_mux_memory_has(m, "late.test", 11));
  free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xep0220_4_3_noted_domain_is_remembered_until_its_time),
      cmocka_unit_test(test_xep0220_4_3_renewal_keeps_one_entry),
      cmocka_unit_test(test_xep0220_4_3_full_table_forgets_the_oldest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
