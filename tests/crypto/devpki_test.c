// devpki_test.c: crypto/devpki: minted certificates carry what was asked
// for, chain to their CA, and the dev-PKI directory is written as documented.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto/chain.h"
#include "crypto/devpki.h"
#include "crypto/san.h"

// RFC 6120 §13.7.1: a dev leaf has DNS-ID, SRV-ID and XmppAddr for its
// domain and is signed by the CA.
static void test_rfc6120_13_7_1_leaf_identifiers(void **state) {
  (void)state;
  int64_t now = (int64_t)time(NULL);
  EVP_PKEY *ca_key = fg_devpki_key_p256(), *key = fg_devpki_key_p256();
  X509 *ca = fg_devpki_mint_ca(ca_key, "Test CA", now - 60, now + 3600);
  X509 *leaf = fg_devpki_mint_leaf(key, "chat.example",
                                   FG_DEVPKI_ID_DNS | FG_DEVPKI_ID_SRV_SERVER | FG_DEVPKI_ID_XMPP,
                                   now - 60, now + 600, ca, ca_key);
  assert_non_null(ca);
  assert_non_null(leaf);
  assert_int_equal(X509_verify(leaf, ca_key), 1);
  assert_int_equal(X509_check_private_key(leaf, key), 1);
  uint8_t *der = NULL;
  int len = i2d_X509(leaf, &der);
  fg_cert_ids ids;
  fg_cert_ids_init(&ids);
  const char *why;
  assert_true(fg_san_parse_cert(&ids, der, (size_t)len, &why));
  assert_int_equal(ids.num_san_dns, 1);
  assert_int_equal(ids.num_san_srv, 1);
  assert_int_equal(ids.num_san_xmpp, 1);
  fg_cert_ids_cleanup(&ids);
  OPENSSL_free(der);

  // Short-lived leaves (the internal-CA mode) verify within their window.
  fg_trust_store *ts = fg_trust_store_new();
  assert_true(fg_trust_store_add_cert(ts, ca));
  fg_chain_verdict v;
  fg_chain_params params = {0};
  assert_int_equal(fg_chain_verify(&v, ts, leaf, NULL, "chat.example", &params), FG_CHAIN_OK);
  params.at = now + 601;
  assert_int_equal(fg_chain_verify(&v, ts, leaf, NULL, "chat.example", &params), FG_CHAIN_EXPIRED);
  fg_trust_store_free(ts);
  X509_free(leaf);
  X509_free(ca);
  EVP_PKEY_free(key);
  EVP_PKEY_free(ca_key);
}

static X509 *read_pem(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return NULL;
  X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  return x;
}

// The dev-PKI directory: ca.crt/ca.key reused, <domain>.crt/.key per domain
// (normalised names), keys mode 0600, bad domains refused before writing.
static void test_rfc5280_4_1_dev_pki_directory(void **state) {
  (void)state;
  char dir[] = "/tmp/fg_devpki_test_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char err[512], path[512];
  const char *domains[] = {"Chat.Example",
                           "b\xc3\xbc"
                           "cher.example"};
  assert_true(fg_devpki_write_dir(dir, domains, 2, 1, err, sizeof(err)));
  const char *files[] = {"ca.crt",
                         "ca.key",
                         "chat.example.crt",
                         "chat.example.key",
                         "xn--bcher-kva.example.crt",
                         "xn--bcher-kva.example.key"};
  for (size_t i = 0; i < 6; i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    if (strstr(files[i], ".key") != NULL) assert_int_equal(st.st_mode & 0777, 0600);
  }
  snprintf(path, sizeof(path), "%s/ca.crt", dir);
  X509 *ca1 = read_pem(path);
  const char *more[] = {"third.example"};
  assert_true(fg_devpki_write_dir(dir, more, 1, 0, err, sizeof(err)));
  X509 *ca2 = read_pem(path);
  assert_non_null(ca1);
  assert_non_null(ca2);
  assert_int_equal(X509_cmp(ca1, ca2), 0);

  snprintf(path, sizeof(path), "%s/third.example.crt", dir);
  X509 *third = read_pem(path);
  assert_non_null(third);
  fg_trust_store *ts = fg_trust_store_new();
  assert_true(fg_trust_store_add_cert(ts, ca2));
  fg_chain_verdict v;
  assert_int_equal(fg_chain_verify(&v, ts, third, NULL, NULL, NULL), FG_CHAIN_OK);
  fg_trust_store_free(ts);

  const char *bad[] = {"ok.example", "../escape"};
  assert_false(fg_devpki_write_dir(dir, bad, 2, 0, err, sizeof(err)));
  assert_non_null(strstr(err, "../escape"));
  snprintf(path, sizeof(path), "%s/ok.example.crt", dir);
  assert_int_not_equal(access(path, F_OK), 0);  // nothing written

  X509_free(ca1);
  X509_free(ca2);
  X509_free(third);
  char cmd[600];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

// Without domains the directory gets the CA alone (the internal CA of
// internal_hop): a CA certificate (RFC 5280 §4.2.1.9) and its key, mode 0600,
// nothing else, and a second run keeps both.
static void test_rfc5280_4_2_1_9_dev_pki_ca_alone(void **state) {
  (void)state;
  char dir[] = "/tmp/fg_devpki_test_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char err[512], path[512], cmd[600];
  assert_true(fg_devpki_write_dir(dir, NULL, 0, 0, err, sizeof(err)));
  snprintf(cmd, sizeof(cmd), "test \"$(ls '%s' | tr '\\n' ' ')\" = 'ca.crt ca.key '", dir);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof(path), "%s/ca.key", dir);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  snprintf(path, sizeof(path), "%s/ca.crt", dir);
  X509 *ca1 = read_pem(path);
  assert_non_null(ca1);
  assert_int_equal(X509_check_ca(ca1), 1);
  assert_true(fg_devpki_write_dir(dir, NULL, 0, 0, err, sizeof(err)));
  X509 *ca2 = read_pem(path);
  assert_non_null(ca2);
  assert_int_equal(X509_cmp(ca1, ca2), 0);
  X509_free(ca1);
  X509_free(ca2);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

// RFC 5280 §4.2.1.9: CA certificates carry basicConstraints cA and the
// requested path length.
static void test_rfc5280_4_2_1_9_ca_constraints(void **state) {
  (void)state;
  EVP_PKEY *key = fg_devpki_key_p256();
  fg_devpki_spec spec = {
      .cn = "CA", .is_ca = 1, .path_len = 2, .not_before = 1700000000, .not_after = 1800000000};
  X509 *ca = fg_devpki_mint(&spec, key, NULL, NULL);
  assert_non_null(ca);
  assert_int_equal(X509_get_pathlen(ca), 2);
  assert_int_equal(X509_check_ca(ca), 1);
  X509_free(ca);
  EVP_PKEY_free(key);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc6120_13_7_1_leaf_identifiers),
      cmocka_unit_test(test_rfc5280_4_1_dev_pki_directory),
      cmocka_unit_test(test_rfc5280_4_2_1_9_ca_constraints),
      cmocka_unit_test(test_rfc5280_4_2_1_9_dev_pki_ca_alone),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
