// blocks_test.c: the running gateway's block and allow lists
// (gateway/server/blocks.c): the configuration's entries as the source
// "config", replaced whole on every apply while other sources stay; the
// allow list of a closed federation; senders by the digest of the bare JID.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/server/blocks.h"

static int refused(fg_blocks *b, const char *domain, char *why) {
  return fg_blocks_domain_refused(b, domain, why, 300);
}

static void test_config_source_is_replaced_whole_and_admin_entries_stay(void **state) {
  (void)state;
  fg_blocks *b = fg_blocks_new();
  assert_non_null(b);
  char *v1[] = {"spam.example", "*.bad.example"};
  fg_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.abuse.block = v1;
  cfg.abuse.n_block = 2;
  char err[256], why[300];
  assert_int_equal(fg_blocks_apply_config(b, &cfg, err, sizeof(err)), 1);
  assert_int_equal(fg_blocklist_add(fg_blocks_list(b), FG_BLOCK_DOMAIN, "live.example",
                                    FG_BLOCKS_SOURCE_ADMIN, "seen spamming"),
                   1);
  assert_true(refused(b, "spam.example", why));
  assert_string_equal(why, "config");
  assert_true(refused(b, "a.b.bad.example", why));
  assert_false(refused(b, "bad.example", why));
  assert_true(refused(b, "live.example", why));
  assert_string_equal(why, "admin: seen spamming");
  uint64_t g = fg_blocks_generation(b);
  // A reload: the file no longer lists spam.example.
  char *v2[] = {"other.example"};
  cfg.abuse.block = v2;
  cfg.abuse.n_block = 1;
  assert_int_equal(fg_blocks_apply_config(b, &cfg, err, sizeof(err)), 1);
  assert_int_not_equal(fg_blocks_generation(b), g);
  assert_false(refused(b, "spam.example", why));
  assert_false(refused(b, "x.bad.example", why));
  assert_true(refused(b, "other.example", why));
  assert_true(refused(b, "live.example", why));
  fg_blocks_free(b);
}

static void test_allow_only_refuses_every_other_domain(void **state) {
  (void)state;
  fg_blocks *b = fg_blocks_new();
  char *allow[] = {"partner.example", "*.corp.example"};
  char *block[] = {"bad.corp.example"};
  fg_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.abuse.allow_only = allow;
  cfg.abuse.n_allow_only = 2;
  cfg.abuse.block = block;
  cfg.abuse.n_block = 1;
  char err[256], why[300];
  assert_int_equal(fg_blocks_apply_config(b, &cfg, err, sizeof(err)), 1);
  assert_false(refused(b, "partner.example", why));
  assert_false(refused(b, "eu.corp.example", why));
  assert_true(refused(b, "corp.example", why));
  assert_string_equal(why, "not in abuse.allow_only");
  assert_true(refused(b, "stranger.example", why));
  // The block list wins over the allow list.
  assert_true(refused(b, "bad.corp.example", why));
  assert_string_equal(why, "config");
  // Emptied by a reload: open federation again.
  cfg.abuse.n_allow_only = 0;
  assert_int_equal(fg_blocks_apply_config(b, &cfg, err, sizeof(err)), 1);
  assert_false(refused(b, "stranger.example", why));
  fg_blocks_free(b);
}

static void test_sender_digest_is_of_the_lowercased_bare_jid(void **state) {
  (void)state;
  fg_blocks *b = fg_blocks_new();
  char hex[65], why[300];
  fg_blocklist_jid_digest("mallory@remote.example", hex);
  assert_int_equal(fg_blocklist_add(fg_blocks_list(b), FG_BLOCK_JID_SHA256, hex, "rtbl:x", ""), 1);
  const char *jid = "Mallory@Remote.Example";
  assert_true(fg_blocks_sender_refused(b, (const uint8_t *)jid, strlen(jid), why, sizeof(why)));
  assert_string_equal(why, "rtbl:x");
  const char *other = "alice@remote.example";
  assert_false(fg_blocks_sender_refused(b, (const uint8_t *)other, strlen(other), why, 300));
  assert_false(fg_blocks_sender_refused(b, (const uint8_t *)"", 0, why, 300));
  fg_blocks_free(b);
}

static void test_a_bad_entry_leaves_the_lists_as_they_were(void **state) {
  (void)state;
  fg_blocks *b = fg_blocks_new();
  char *good[] = {"spam.example"};
  char *bad[] = {"fine.example", "not a domain"};
  fg_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.abuse.block = good;
  cfg.abuse.n_block = 1;
  char err[256] = "", why[300];
  assert_int_equal(fg_blocks_apply_config(b, &cfg, err, sizeof(err)), 1);
  cfg.abuse.block = bad;
  cfg.abuse.n_block = 2;
  assert_int_equal(fg_blocks_apply_config(b, &cfg, err, sizeof(err)), 0);
  assert_non_null(strstr(err, "'not a domain'"));
  assert_true(refused(b, "spam.example", why));
  assert_false(refused(b, "fine.example", why));
  fg_blocks_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_config_source_is_replaced_whole_and_admin_entries_stay),
      cmocka_unit_test(test_allow_only_refuses_every_other_domain),
      cmocka_unit_test(test_sender_digest_is_of_the_lowercased_bare_jid),
      cmocka_unit_test(test_a_bad_entry_leaves_the_lists_as_they_were),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
