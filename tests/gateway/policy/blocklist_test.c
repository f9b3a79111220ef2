// blocklist_test.c: gateway/policy/blocklist: keys, matching rules, sources,
// whole-source replacement, memory per entry with a million entries, and
// readers racing writers (also run under --config=tsan).
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/policy/blocklist.h"

static int add(fg_blocklist *bl, const char *text, const char *source, const char *reason) {
  fg_block_kind kind;
  char key[FG_BLOCK_KEY_MAX + 1];
  if (!fg_block_parse_key(text, &kind, key, NULL)) return 0;
  return fg_blocklist_add(bl, kind, key, source, reason);
}

static void test_parse_key(void **state) {
  (void)state;
  fg_block_kind kind;
  char key[FG_BLOCK_KEY_MAX + 1];
  const char *err = NULL;
  assert_true(fg_block_parse_key("Spam.Example.", &kind, key, &err));
  assert_int_equal(kind, FG_BLOCK_DOMAIN);
  assert_string_equal(key, "spam.example");
  assert_true(fg_block_parse_key("*.Spam.Example", &kind, key, &err));
  assert_int_equal(kind, FG_BLOCK_DOMAIN_SUFFIX);
  assert_string_equal(key, "spam.example");
  assert_true(fg_block_parse_key("B084C9CC0F2E17E5DF0341BF4113D19E3169975118A1A5E9BCC811AC465796E1",
                                 &kind, key, &err));
  assert_int_equal(kind, FG_BLOCK_JID_SHA256);
  assert_string_equal(key, "b084c9cc0f2e17e5df0341bf4113d19e3169975118a1a5e9bcc811ac465796e1");
  static const char *const bad[] = {
      "",           "*",          "*.",          "*x.example",        "a.*.example",
      "-a.example", "a..example", "a_b.example", "b\xc3\xa9.example", "spam.example/extra"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err = NULL;
    assert_false(fg_block_parse_key(bad[i], &kind, key, &err));
    assert_non_null(err);
  }
}

static void test_exact_and_suffix_rules(void **state) {
  (void)state;
  fg_blocklist *bl = fg_blocklist_new();
  assert_non_null(bl);
  fg_block_match m;
  assert_int_equal(add(bl, "spam.example", "config", "sends spam"), 1);
  assert_int_equal(add(bl, "*.bots.example", "config", NULL), 1);
  assert_true(fg_blocklist_check_domain(bl, "spam.example", &m));
  assert_string_equal(m.key, "spam.example");
  assert_string_equal(m.source, "config");
  assert_string_equal(m.reason, "sends spam");
  // An exact entry does not cover subdomains; a suffix covers every depth
  // below it but not the name itself.
  assert_false(fg_blocklist_check_domain(bl, "a.spam.example", NULL));
  assert_false(fg_blocklist_check_domain(bl, "nospam.example", NULL));
  assert_false(fg_blocklist_check_domain(bl, "bots.example", NULL));
  assert_true(fg_blocklist_check_domain(bl, "x.bots.example", &m));
  assert_string_equal(m.key, "*.bots.example");
  assert_int_equal(m.kind, FG_BLOCK_DOMAIN_SUFFIX);
  assert_true(fg_blocklist_check_domain(bl, "a.b.c.bots.example", NULL));
  assert_false(fg_blocklist_check_domain(bl, "xbots.example", NULL));
  assert_false(fg_blocklist_check_domain(bl, "example", NULL));
  // The most specific entry explains: exact before suffix, longer suffix first.
  assert_int_equal(add(bl, "*.example", "rtbl", "whole tld"), 1);
  assert_int_equal(add(bl, "x.bots.example", "admin", "this one"), 1);
  assert_true(fg_blocklist_check_domain(bl, "x.bots.example", &m));
  assert_string_equal(m.source, "admin");
  assert_true(fg_blocklist_check_domain(bl, "y.bots.example", &m));
  assert_string_equal(m.key, "*.bots.example");
  assert_true(fg_blocklist_check_domain(bl, "other.example", &m));
  assert_string_equal(m.key, "*.example");
  fg_blocklist_free(bl);
}

static void test_sources_are_independent(void **state) {
  (void)state;
  fg_blocklist *bl = fg_blocklist_new();
  fg_block_match m;
  uint64_t g0 = fg_blocklist_generation(bl);
  assert_int_equal(add(bl, "spam.example", "config", "from the file"), 1);
  assert_int_equal(add(bl, "spam.example", "admin", "by hand"), 1);
  assert_true(fg_blocklist_generation(bl) > g0);
  fg_blocklist_stats st;
  fg_blocklist_stats_get(bl, &st);
  assert_int_equal(st.entries, 2);
  // Unblocking by hand leaves the configuration's entry in force.
  assert_int_equal(fg_blocklist_remove(bl, FG_BLOCK_DOMAIN, "spam.example", "admin"), 1);
  assert_int_equal(fg_blocklist_remove(bl, FG_BLOCK_DOMAIN, "spam.example", "admin"), 0);
  assert_int_equal(fg_blocklist_remove(bl, FG_BLOCK_DOMAIN, "spam.example", "nosuch"), 0);
  assert_true(fg_blocklist_check_domain(bl, "spam.example", &m));
  assert_string_equal(m.source, "config");
  // Listing again under one source replaces its reason.
  assert_int_equal(add(bl, "spam.example", "config", "new reason"), 1);
  fg_blocklist_stats_get(bl, &st);
  assert_int_equal(st.entries, 1);
  assert_true(fg_blocklist_check_domain(bl, "spam.example", &m));
  assert_string_equal(m.reason, "new reason");
  assert_int_equal(fg_blocklist_remove(bl, FG_BLOCK_DOMAIN, "spam.example", "config"), 1);
  assert_false(fg_blocklist_check_domain(bl, "spam.example", NULL));
  // Invalid keys and sources change nothing.
  uint64_t g = fg_blocklist_generation(bl);
  assert_int_equal(fg_blocklist_add(bl, FG_BLOCK_DOMAIN, "Upper.Example", "admin", NULL), 0);
  assert_int_equal(fg_blocklist_add(bl, FG_BLOCK_DOMAIN, "ok.example", "", NULL), 0);
  assert_int_equal(fg_blocklist_add(bl, FG_BLOCK_JID_SHA256, "abc", "admin", NULL), 0);
  assert_int_equal(fg_blocklist_generation(bl), g);
  fg_blocklist_free(bl);
}

static void test_jid_digest_entries(void **state) {
  (void)state;
  fg_blocklist *bl = fg_blocklist_new();
  char hex[65];
  fg_blocklist_jid_digest("spammer@spam.example", hex);
  assert_string_equal(hex, "b084c9cc0f2e17e5df0341bf4113d19e3169975118a1a5e9bcc811ac465796e1");
  assert_false(fg_blocklist_check_jid(bl, "spammer@spam.example", NULL));
  assert_int_equal(fg_blocklist_add(bl, FG_BLOCK_JID_SHA256, hex, "rtbl", "muc ban"), 1);
  fg_block_match m;
  assert_true(fg_blocklist_check_jid(bl, "spammer@spam.example", &m));
  assert_int_equal(m.kind, FG_BLOCK_JID_SHA256);
  assert_string_equal(m.key, hex);
  assert_string_equal(m.reason, "muc ban");
  assert_false(fg_blocklist_check_jid(bl, "friend@spam.example", NULL));
  // A JID entry blocks the sender, not its domain.
  assert_false(fg_blocklist_check_domain(bl, "spam.example", NULL));
  fg_blocklist_free(bl);
}

static void test_replace_source_whole(void **state) {
  (void)state;
  fg_blocklist *bl = fg_blocklist_new();
  assert_int_equal(add(bl, "keep.example", "config", NULL), 1);
  fg_block_entry first[] = {{FG_BLOCK_DOMAIN, "a.example", "r1"},
                            {FG_BLOCK_DOMAIN_SUFFIX, "b.example", NULL},
                            {FG_BLOCK_DOMAIN, "a.example", "dup"}};
  assert_int_equal(fg_blocklist_replace_source(bl, "rtbl:spam", first, 3), 1);
  fg_blocklist_stats st;
  fg_blocklist_stats_get(bl, &st);
  assert_int_equal(st.entries, 3);  // the duplicate is listed once
  assert_true(fg_blocklist_check_domain(bl, "a.example", NULL));
  assert_true(fg_blocklist_check_domain(bl, "x.b.example", NULL));
  fg_block_entry second[] = {{FG_BLOCK_DOMAIN, "c.example", NULL}};
  assert_int_equal(fg_blocklist_replace_source(bl, "rtbl:spam", second, 1), 1);
  assert_false(fg_blocklist_check_domain(bl, "a.example", NULL));
  assert_false(fg_blocklist_check_domain(bl, "x.b.example", NULL));
  assert_true(fg_blocklist_check_domain(bl, "c.example", NULL));
  assert_true(fg_blocklist_check_domain(bl, "keep.example", NULL));
  // An invalid entry refuses the whole replacement: the last good list stays.
  fg_block_entry bad[] = {{FG_BLOCK_DOMAIN, "d.example", NULL}, {FG_BLOCK_DOMAIN, "-x", NULL}};
  assert_int_equal(fg_blocklist_replace_source(bl, "rtbl:spam", bad, 2), 0);
  assert_true(fg_blocklist_check_domain(bl, "c.example", NULL));
  assert_false(fg_blocklist_check_domain(bl, "d.example", NULL));
  // Emptying a source.
  assert_int_equal(fg_blocklist_replace_source(bl, "rtbl:spam", NULL, 0), 1);
  fg_blocklist_stats_get(bl, &st);
  assert_int_equal(st.entries, 1);
  fg_blocklist_free(bl);
}

static int count_each(const fg_block_match *m, void *arg) {
  (void)m;
  (*(size_t *)arg)++;
  return 1;
}

// test_million_entries lists a million domains in one replacement, checks a
// sample and reports (and bounds) the memory per entry.
static void test_million_entries(void **state) {
  (void)state;
  enum { N = 1000000 };
  fg_blocklist *bl = fg_blocklist_new();
  char *names = malloc((size_t)N * 32);
  fg_block_entry *e = malloc(N * sizeof(*e));
  assert_non_null(names);
  assert_non_null(e);
  for (size_t i = 0; i < N; i++) {
    snprintf(names + i * 32, 32, "host%zu.spam%zu.example", i, i % 97);
    e[i] = (fg_block_entry){FG_BLOCK_DOMAIN, names + i * 32, NULL};
  }
  assert_int_equal(fg_blocklist_replace_source(bl, "rtbl:big", e, N), 1);
  fg_blocklist_stats st;
  fg_blocklist_stats_get(bl, &st);
  assert_int_equal(st.entries, N);
  double per = (double)st.bytes / N;
  printf("1,000,000 entries (keys of ~24 bytes): %zu bytes, %.1f bytes per entry\n", st.bytes, per);
  assert_true(per < 96);
  for (size_t i = 0; i < N; i += 997)
    assert_true(fg_blocklist_check_domain(bl, names + i * 32, NULL));
  assert_false(fg_blocklist_check_domain(bl, "host1.spam2.example", NULL));
  // One change rebuilds one shard only.
  assert_int_equal(add(bl, "one.more.example", "admin", NULL), 1);
  assert_true(fg_blocklist_check_domain(bl, "one.more.example", NULL));
  size_t n = 0;
  fg_blocklist_each(bl, count_each, &n);
  assert_int_equal(n, N + 1);
  free(names);
  free(e);
  fg_blocklist_free(bl);
}

// Readers race writers: every check of a name that is always listed must
// succeed, a never-listed name never matches, whatever the writers do.
typedef struct race {
  fg_blocklist *bl;
  atomic_int stop;
  atomic_long checks, wrong;
} race;

static void *reader(void *arg) {
  race *r = arg;
  while (!atomic_load(&r->stop)) {
    fg_block_match m;
    if (!fg_blocklist_check_domain(r->bl, "always.example", &m) ||
        strcmp(m.key, "always.example") != 0)
      atomic_fetch_add(&r->wrong, 1);
    if (fg_blocklist_check_domain(r->bl, "never.example", NULL)) atomic_fetch_add(&r->wrong, 1);
    fg_blocklist_check_domain(r->bl, "x.churn.example", NULL);
    atomic_fetch_add(&r->checks, 1);
  }
  return NULL;
}

static void test_readers_race_writers(void **state) {
  (void)state;
  race r = {.bl = fg_blocklist_new()};
  assert_int_equal(add(r.bl, "always.example", "config", NULL), 1);
  pthread_t th[3];
  for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, reader, &r);
  char name[64];
  for (int i = 0; i < 3000; i++) {
    snprintf(name, sizeof(name), "n%d.churn.example", i % 50);
    add(r.bl, name, "admin", "churn");
    if (i % 3 == 0) fg_blocklist_remove(r.bl, FG_BLOCK_DOMAIN, name, "admin");
    if (i % 500 == 0) {
      fg_block_entry e[] = {{FG_BLOCK_DOMAIN_SUFFIX, "churn.example", NULL}};
      fg_blocklist_replace_source(r.bl, "rtbl", e, (size_t)(i / 500 % 2));
    }
  }
  atomic_store(&r.stop, 1);
  for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
  printf("%ld checks during 3,000 changes, %ld wrong\n", (long)atomic_load(&r.checks),
         (long)atomic_load(&r.wrong));
  assert_int_equal(atomic_load(&r.wrong), 0);
  fg_blocklist_free(r.bl);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_key),
      cmocka_unit_test(test_exact_and_suffix_rules),
      cmocka_unit_test(test_sources_are_independent),
      cmocka_unit_test(test_jid_digest_entries),
      cmocka_unit_test(test_replace_source_whole),
      cmocka_unit_test(test_million_entries),
      cmocka_unit_test(test_readers_race_writers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
