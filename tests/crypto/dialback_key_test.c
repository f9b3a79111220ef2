// dialback_key_test.c: XEP-0185 keys against ../shared/vectors/dialback/keys.tsv,
// the CVE-2016-0756 separator pairs, and input validation.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "crypto/dialback_key.h"
#include "tests/testutil.h"

#define MAX_ROWS 64

typedef struct row {
  char secret[256], receiving[256], originating[256], stream_id[256], key[128], note[1024];
} row;

static row g_rows[MAX_ROWS];
static size_t g_nrows;

static int load_rows(void **state) {
  (void)state;
  char path[1024];
  size_t len;
  if (!fg_test_vector_path(path, sizeof(path), "dialback/keys.tsv")) return -1;
  char *data = (char *)fg_test_read_file(path, &len);
  if (data == NULL) return -1;
  char *save = NULL;
  char *line = strtok_r(data, "\n", &save);  // header
  g_nrows = 0;
  while ((line = strtok_r(NULL, "\n", &save)) != NULL && g_nrows < MAX_ROWS) {
    char *fields[7] = {0};
    int nf = 0;
    char *p = line;
    while (nf < 7) {
      fields[nf++] = p;
      char *tab = strchr(p, '\t');
      if (tab == NULL) break;
      *tab = 0;
      p = tab + 1;
    }
    if (nf < 5) continue;
    row *r = &g_rows[g_nrows++];

    r->secret[fg_test_unescape((uint8_t *)r->secret, fields[0])] = 0;
    r->receiving[fg_test_unescape((uint8_t *)r->receiving, fields[1])] = 0;
    r->originating[fg_test_unescape((uint8_t *)r->originating, fields[2])] = 0;
    r->stream_id[fg_test_unescape((uint8_t *)r->stream_id, fields[3])] = 0;
    snprintf(r->key, sizeof(r->key), "%s", fields[4]);
    snprintf(r->note, sizeof(r->note), "%s", nf > 6 && fields[6] ? fields[6] : "");
  }
  free(data);
  return g_nrows >= 10 ? 0 : -1;
}

static int gen(const char *secret, const char *recv, const char *orig, const char *id,
               char out[FG_DIALBACK_KEY_LEN + 1]) {
  fg_dialback_secret s;
  assert_int_equal(fg_dialback_secret_init(&s, (const uint8_t *)secret, strlen(secret)), 1);
  int ok = fg_dialback_key_generate(&s, (uint8_t *)out, recv, strlen(recv), orig, strlen(orig), id,
                                    strlen(id));
  out[FG_DIALBACK_KEY_LEN] = 0;
  fg_dialback_secret_cleanup(&s);
  return ok;
}

// XEP-0185 §3 and XEP-0220 §2.1.1/§2.2.2 examples plus the computed rows: each
// key is reproduced exactly.
static void test_xep0185_3_every_vector_row(void **state) {
  (void)state;
  for (size_t i = 0; i < g_nrows; i++) {
    char out[FG_DIALBACK_KEY_LEN + 1];
    assert_int_equal(
        gen(g_rows[i].secret, g_rows[i].receiving, g_rows[i].originating, g_rows[i].stream_id, out),
        1);
    if (strcmp(out, g_rows[i].key) != 0) {
      print_error("row %zu (%s %s %s): got %s want %s\n", i + 1, g_rows[i].receiving,
                  g_rows[i].originating, g_rows[i].stream_id, out, g_rows[i].key);
      fail();
    }
  }
}

// Independent cross-check against BoringSSL's HMAC with the hex-string key.
static void test_xep0185_3_matches_boringssl_hmac(void **state) {
  (void)state;
  const char *secret = "another secret with spaces \x01\xff";
  uint8_t digest[32];
  char hexkey[65];
  SHA256((const uint8_t *)secret, strlen(secret), digest);
  for (int i = 0; i < 32; i++) sprintf(hexkey + 2 * i, "%02x", digest[i]);
  const char *msg = "example.net example.com some-stream-id-0123";
  uint8_t mac[32];
  unsigned mac_len = 0;
  HMAC(EVP_sha256(), hexkey, 64, (const uint8_t *)msg, strlen(msg), mac, &mac_len);
  char want[65];
  for (int i = 0; i < 32; i++) sprintf(want + 2 * i, "%02x", mac[i]);
  char out[FG_DIALBACK_KEY_LEN + 1];
  assert_int_equal(gen(secret, "example.net", "example.com", "some-stream-id-0123", out), 1);
  assert_string_equal(out, want);
}

// CVE-2016-0756: each `computed` pair shares a key under the vulnerable scheme
// (named in the note) but must get different keys here.
static void test_cve_2016_0756_colliding_pairs_differ(void **state) {
  (void)state;
  int pairs = 0;
  for (size_t i = 0; i + 1 < g_nrows; i++) {
    if (strstr(g_rows[i].note, "pair member 1") == NULL) continue;
    assert_non_null(strstr(g_rows[i + 1].note, "pair member 2"));
    char a[FG_DIALBACK_KEY_LEN + 1], b[FG_DIALBACK_KEY_LEN + 1];
    gen(g_rows[i].secret, g_rows[i].receiving, g_rows[i].originating, g_rows[i].stream_id, a);
    gen(g_rows[i + 1].secret, g_rows[i + 1].receiving, g_rows[i + 1].originating,
        g_rows[i + 1].stream_id, b);
    assert_string_not_equal(a, b);
    pairs++;
  }
  assert_true(pairs >= 3);
  // The stream-id boundary row must differ from the XEP-0185 example.
  char x[FG_DIALBACK_KEY_LEN + 1], y[FG_DIALBACK_KEY_LEN + 1];
  gen("s3cr3tf0rd14lb4ck", "xmpp.example.com", "example.org", "D60000229F", x);
  gen("s3cr3tf0rd14lb4ck", "xmpp.example.com", "example.orgD", "60000229F", y);
  assert_string_not_equal(x, y);
}

// XEP-0185 §4 / XEP-0220 §2.2.2: verification accepts the right key (either
// hex case) and rejects any other key, length or input triple.
static void test_xep0220_2_2_2_verify(void **state) {
  (void)state;
  fg_dialback_secret s;
  const char *secret = "s3cr3tf0rd14lb4ck";
  assert_int_equal(fg_dialback_secret_init(&s, (const uint8_t *)secret, strlen(secret)), 1);
  const char *good = "37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643";
  const char *r = "xmpp.example.com", *o = "example.org", *id = "D60000229F";
#define V(key, klen, rr, oo, ii)                                             \
  fg_dialback_key_verify(&s, rr, strlen(rr), oo, strlen(oo), ii, strlen(ii), \
                         (const uint8_t *)(key), klen)
  assert_int_equal(V(good, 64, r, o, id), 1);
  char upper[65];
  for (int i = 0; i < 64; i++)
    upper[i] = (good[i] >= 'a' && good[i] <= 'f') ? good[i] - 32 : good[i];
  upper[64] = 0;
  assert_int_equal(V(upper, 64, r, o, id), 1);
  char bad[65];
  memcpy(bad, good, 65);
  bad[63] = '4';
  assert_int_equal(V(bad, 64, r, o, id), 0);
  bad[63] = '3';
  bad[0] = 'G';
  assert_int_equal(V(bad, 64, r, o, id), 0);
  assert_int_equal(V(good, 63, r, o, id), 0);
  assert_int_equal(V(good, 0, r, o, id), 0);
  assert_int_equal(V(good, 64, o, r, id), 0);                   // roles swapped
  assert_int_equal(V(good, 64, r, o, "D60000229G"), 0);         // another stream
  assert_int_equal(V(good, 64, "XMPP.example.com", o, id), 0);  // inputs are not case-folded
  fg_dialback_secret other;
  assert_int_equal(fg_dialback_secret_init(&other, (const uint8_t *)"x", 1), 1);
  assert_int_equal(fg_dialback_key_verify(&other, r, strlen(r), o, strlen(o), id, strlen(id),
                                          (const uint8_t *)good, 64),
                   0);
#undef V
  fg_dialback_secret_cleanup(&s);
  fg_dialback_secret_cleanup(&other);
}

// CVE-2016-0756: inputs that could move the separator (a space) or are not
// domain names are refused by generate and verify.
static void test_cve_2016_0756_rejects_bad_inputs(void **state) {
  (void)state;
  char out[FG_DIALBACK_KEY_LEN + 1];
  assert_int_equal(gen("k", "a b", "c", "id", out), 0);
  assert_string_equal(out, "0000000000000000000000000000000000000000000000000000000000000000");
  assert_int_equal(gen("k", "a", "b c", "id", out), 0);
  assert_int_equal(gen("k", "a", "b", "i d", out), 0);
  assert_int_equal(gen("k", "a", "b", "", out), 0);
  assert_int_equal(gen("k", "", "b", "id", out), 0);
  assert_int_equal(gen("k", "a..b", "b", "id", out), 0);
  assert_int_equal(gen("k", "-a.b", "b", "id", out), 0);
  assert_int_equal(gen("k", "a-.b", "b", "id", out), 0);
  assert_int_equal(gen("k", "a.b.", "b", "id", out), 0);
  assert_int_equal(gen("k", "a_b", "b", "id", out), 0);
  assert_int_equal(gen("k", "a", "b:5269", "id", out), 0);
  assert_int_equal(gen("k", "m\xc3\xbcnchen.example", "b", "id", out), 0);
  assert_int_equal(gen("k", "a", "b", "id\n", out), 0);
  char label64[80];
  memset(label64, 'a', 64);
  strcpy(label64 + 64, ".b");
  assert_int_equal(gen("k", label64, "b", "id", out), 0);
  strcpy(label64 + 63, ".b");
  assert_int_equal(gen("k", label64, "b", "id", out), 1);
  assert_int_equal(gen("k", "xn--mnchen-3ya.example", "b-c.d", "A1:b/c+=", out), 1);
  fg_dialback_secret s;
  assert_int_equal(fg_dialback_secret_init(&s, (const uint8_t *)"", 0), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xep0185_3_every_vector_row),
      cmocka_unit_test(test_xep0185_3_matches_boringssl_hmac),
      cmocka_unit_test(test_cve_2016_0756_colliding_pairs_differ),
      cmocka_unit_test(test_xep0220_2_2_2_verify),
      cmocka_unit_test(test_cve_2016_0756_rejects_bad_inputs),
  };
  return cmocka_run_group_tests(tests, load_rows, NULL);
}
