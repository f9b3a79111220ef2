// chain_test.c: crypto/chain on chains minted in the test (crypto/devpki):
// every RFC 5280 failure the gateway must refuse, fedgate's algorithm
// policy, per-domain pins, the revocation hook and the peer verdict.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/pool.h>
#include <openssl/ssl.h>

#include "crypto/chain.h"
#include "crypto/devpki.h"

#define DAY 86400LL
#define T0 1700000000LL  // every certificate is valid T0 - 1 day .. T0 + 30 days

typedef struct pki {
  EVP_PKEY *root_key, *int_key, *leaf_key, *other_key;
  X509 *root, *intermediate, *leaf, *other_root;
  fg_trust_store *ts;  // trusts |root| only
} pki;

static pki g;

static X509 *mint(fg_devpki_spec spec, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key) {
  if (spec.not_before == 0) spec.not_before = T0 - DAY;
  if (spec.not_after == 0) spec.not_after = T0 + 30 * DAY;
  X509 *x = fg_devpki_mint(&spec, key, issuer, issuer_key);
  assert_non_null(x);
  return x;
}

static X509 *mint_ca(const char *cn, int path_len, EVP_PKEY *key, X509 *issuer,
                     EVP_PKEY *issuer_key) {
  fg_devpki_spec spec = {.cn = cn, .is_ca = 1, .path_len = path_len};
  return mint(spec, key, issuer, issuer_key);
}

static X509 *mint_leaf(const char *domain, unsigned eku, const EVP_MD *md, EVP_PKEY *key,
                       X509 *issuer, EVP_PKEY *issuer_key) {
  fg_devpki_name names[] = {{FG_DEVPKI_DNS, (const uint8_t *)domain, strlen(domain)}};
  fg_devpki_spec spec = {
      .cn = domain, .path_len = -1, .eku = eku, .md = md, .names = names, .num_names = 1};
  return mint(spec, key, issuer, issuer_key);
}

static int setup(void **state) {
  (void)state;
  g.root_key = fg_devpki_key_p256();
  g.int_key = fg_devpki_key_p256();
  g.leaf_key = fg_devpki_key_p256();
  g.other_key = fg_devpki_key_p256();
  g.root = mint_ca("Test Root", -1, g.root_key, NULL, NULL);
  g.intermediate = mint_ca("Test Intermediate", 0, g.int_key, g.root, g.root_key);
  g.leaf = mint_leaf("chat.example", FG_DEVPKI_EKU_SERVER | FG_DEVPKI_EKU_CLIENT, NULL, g.leaf_key,
                     g.intermediate, g.int_key);
  g.other_root = mint_ca("Other Root", -1, g.other_key, NULL, NULL);
  g.ts = fg_trust_store_new();
  return g.ts == NULL || !fg_trust_store_add_cert(g.ts, g.root);
}

static int teardown(void **state) {
  (void)state;
  fg_trust_store_free(g.ts);
  X509_free(g.root);
  X509_free(g.intermediate);
  X509_free(g.leaf);
  X509_free(g.other_root);
  EVP_PKEY_free(g.root_key);
  EVP_PKEY_free(g.int_key);
  EVP_PKEY_free(g.leaf_key);
  EVP_PKEY_free(g.other_key);
  return 0;
}

// verify checks |leaf| with the given intermediates at T0 (or |at|).
static fg_chain_status verify_at(const fg_trust_store *ts, X509 *leaf, X509 *i1, X509 *i2,
                                 fg_chain_role role, int64_t at, const char *domain,
                                 fg_chain_verdict *out) {
  STACK_OF(X509) *st = sk_X509_new_null();
  if (i1 != NULL) sk_X509_push(st, i1);
  if (i2 != NULL) sk_X509_push(st, i2);
  fg_chain_params params = {.role = role, .at = at};
  fg_chain_verdict v;
  fg_chain_status s = fg_chain_verify(&v, ts, leaf, st, domain, &params);
  sk_X509_free(st);
  if (out != NULL) *out = v;
  return s;
}

static fg_chain_status verify(X509 *leaf, X509 *i1, X509 *i2, fg_chain_role role) {
  return verify_at(g.ts, leaf, i1, i2, role, T0, "chat.example", NULL);
}

// RFC 5280 §6.1: a complete, current chain to a trusted root.
static void test_rfc5280_6_1_valid_chain(void **state) {
  (void)state;
  fg_chain_verdict v;
  assert_int_equal(
      verify_at(g.ts, g.leaf, g.intermediate, NULL, FG_ROLE_OUTBOUND, T0, "chat.example", &v),
      FG_CHAIN_OK);
  assert_string_equal(v.reason, "ok");
  assert_int_equal(v.pinned, 0);
  // Every certificate here ends at T0 + 30 days: a cached verdict ends then.
  assert_int_equal(v.valid_until, T0 + 30 * DAY);
  assert_int_equal(verify(g.leaf, g.intermediate, NULL, FG_ROLE_INBOUND), FG_CHAIN_OK);
}

// RFC 5280 §6.1.3 (a)(2) for cached verdicts: the earliest notAfter on the
// path bounds how long the verdict may be reused; no verdict, no bound.
static void test_rfc5280_6_1_3_a_2_valid_until_is_the_earliest_not_after(void **state) {
  (void)state;
  fg_devpki_name names[] = {{FG_DEVPKI_DNS, (const uint8_t *)"chat.example", 12}};
  fg_devpki_spec spec = {.cn = "chat.example",
                         .path_len = -1,
                         .names = names,
                         .num_names = 1,
                         .not_before = T0 - DAY,
                         .not_after = T0 + 2 * DAY + 7};
  X509 *shorter = fg_devpki_mint(&spec, g.leaf_key, g.intermediate, g.int_key);
  assert_non_null(shorter);
  fg_chain_verdict v;
  assert_int_equal(
      verify_at(g.ts, shorter, g.intermediate, NULL, FG_ROLE_OUTBOUND, T0, "chat.example", &v),
      FG_CHAIN_OK);
  assert_int_equal(v.valid_until, T0 + 2 * DAY + 7);
  assert_int_equal(
      verify_at(g.ts, shorter, g.intermediate, NULL, FG_ROLE_OUTBOUND, T0 + 3 * DAY, NULL, &v),
      FG_CHAIN_EXPIRED);
  assert_int_equal(v.valid_until, 0);
  X509_free(shorter);
}

// RFC 5280 §6.1.3 (a)(2): the current time must be inside the validity of
// every certificate on the path; the verdict names the one that is not.
static void test_rfc5280_6_1_3_a_2_expired(void **state) {
  (void)state;
  fg_chain_verdict v;
  // Only the leaf has expired.
  fg_devpki_name names[] = {{FG_DEVPKI_DNS, (const uint8_t *)"chat.example", 12}};
  fg_devpki_spec leaf_spec = {.cn = "chat.example",
                              .path_len = -1,
                              .names = names,
                              .num_names = 1,
                              .not_before = T0 - DAY,
                              .not_after = T0 + DAY};
  X509 *leaf = mint(leaf_spec, g.leaf_key, g.intermediate, g.int_key);
  assert_int_equal(
      verify_at(g.ts, leaf, g.intermediate, NULL, FG_ROLE_OUTBOUND, T0 + 2 * DAY, NULL, &v),
      FG_CHAIN_EXPIRED);
  assert_int_equal(v.depth, 0);
  assert_non_null(strstr(v.reason, "expired"));
  X509_free(leaf);
  // Only the intermediate has expired (same name and key as g.intermediate).
  fg_devpki_spec int_spec = {.cn = "Test Intermediate",
                             .is_ca = 1,
                             .path_len = 0,
                             .not_before = T0 - DAY,
                             .not_after = T0 + DAY};
  X509 *intermediate = mint(int_spec, g.int_key, g.root, g.root_key);
  assert_int_equal(
      verify_at(g.ts, g.leaf, intermediate, NULL, FG_ROLE_OUTBOUND, T0 + 2 * DAY, NULL, &v),
      FG_CHAIN_EXPIRED);
  assert_int_equal(v.depth, 1);
  assert_non_null(strstr(v.reason, "expired"));
  X509_free(intermediate);
  // Every certificate has expired: BoringSSL checks the path from the trust
  // anchor down, so the first one it finds expired is the root.
  assert_int_equal(
      verify_at(g.ts, g.leaf, g.intermediate, NULL, FG_ROLE_OUTBOUND, T0 + 31 * DAY, NULL, &v),
      FG_CHAIN_EXPIRED);
  assert_int_equal(v.depth, 2);
  assert_non_null(strstr(v.reason, "expired"));
}

static void test_rfc5280_6_1_3_a_2_not_yet_valid(void **state) {
  (void)state;
  assert_int_equal(
      verify_at(g.ts, g.leaf, g.intermediate, NULL, FG_ROLE_OUTBOUND, T0 - 2 * DAY, NULL, NULL),
      FG_CHAIN_NOT_YET_VALID);
}

// RFC 5280 §6.1: the path must end at a trust anchor.
static void test_rfc5280_6_1_unknown_ca(void **state) {
  (void)state;
  fg_trust_store *other = fg_trust_store_new();
  assert_true(fg_trust_store_add_cert(other, g.other_root));
  assert_int_equal(verify_at(other, g.leaf, g.intermediate, NULL, FG_ROLE_OUTBOUND, T0, NULL, NULL),
                   FG_CHAIN_UNKNOWN_CA);
  fg_trust_store_free(other);
}

// RFC 6120 §13.7.2.1 / RFC 5280 §6.1: a peer that omits its intermediate
// has no path (no AIA fetching on the handshake path).
static void test_rfc5280_6_1_missing_intermediate(void **state) {
  (void)state;
  assert_int_equal(verify(g.leaf, NULL, NULL, FG_ROLE_OUTBOUND), FG_CHAIN_UNKNOWN_CA);
}

// RFC 5280 §6.1.4 (k): every issuer must be a CA (basicConstraints cA).
static void test_rfc5280_6_1_4_k_intermediate_without_ca_bit(void **state) {
  (void)state;
  EVP_PKEY *k = fg_devpki_key_p256();
  // keyCertSign without cA: the classic basicConstraints attack.
  fg_devpki_spec spec = {.cn = "Not A CA", .path_len = -1, .key_usage = 0x84};
  X509 *fake = mint(spec, k, g.root, g.root_key);
  X509 *leaf = mint_leaf("chat.example", FG_DEVPKI_EKU_SERVER, NULL, g.leaf_key, fake, k);
  assert_int_equal(verify(leaf, fake, NULL, FG_ROLE_OUTBOUND), FG_CHAIN_NOT_A_CA);
  // Same without any basicConstraints extension.
  fg_devpki_spec bare = {
      .cn = "Bare", .path_len = -1, .no_basic_constraints = 1, .key_usage = 0x84};
  X509 *fake2 = mint(bare, k, g.root, g.root_key);
  X509 *leaf2 = mint_leaf("chat.example", FG_DEVPKI_EKU_SERVER, NULL, g.leaf_key, fake2, k);
  assert_int_equal(verify(leaf2, fake2, NULL, FG_ROLE_OUTBOUND), FG_CHAIN_NOT_A_CA);
  X509_free(leaf);
  X509_free(fake);
  X509_free(leaf2);
  X509_free(fake2);
  EVP_PKEY_free(k);
}

// RFC 5280 §6.1.4 (l)-(m): pathLenConstraint 0 on the intermediate forbids
// another CA below it.
static void test_rfc5280_6_1_4_m_path_length_exceeded(void **state) {
  (void)state;
  EVP_PKEY *k = fg_devpki_key_p256();
  X509 *sub = mint_ca("Sub CA", -1, k, g.intermediate, g.int_key);
  X509 *leaf = mint_leaf("chat.example", FG_DEVPKI_EKU_SERVER, NULL, g.leaf_key, sub, k);
  fg_chain_verdict v;
  assert_int_equal(verify_at(g.ts, leaf, sub, g.intermediate, FG_ROLE_OUTBOUND, T0, NULL, &v),
                   FG_CHAIN_PATH_LENGTH);
  X509_free(leaf);
  X509_free(sub);
  EVP_PKEY_free(k);
}

// RFC 5280 §4.2.1.12 + RFC 6120 §13.7.2: outbound needs serverAuth; inbound
// accepts serverAuth or clientAuth; anything else is refused both ways.
static void test_rfc5280_4_2_1_12_wrong_eku(void **state) {
  (void)state;
  X509 *code = mint_leaf("chat.example", FG_DEVPKI_EKU_CODE_SIGNING, NULL, g.leaf_key,
                         g.intermediate, g.int_key);
  assert_int_equal(verify(code, g.intermediate, NULL, FG_ROLE_OUTBOUND), FG_CHAIN_BAD_EKU);
  assert_int_equal(verify(code, g.intermediate, NULL, FG_ROLE_INBOUND), FG_CHAIN_BAD_EKU);
  X509 *client =
      mint_leaf("chat.example", FG_DEVPKI_EKU_CLIENT, NULL, g.leaf_key, g.intermediate, g.int_key);
  assert_int_equal(verify(client, g.intermediate, NULL, FG_ROLE_OUTBOUND), FG_CHAIN_BAD_EKU);
  assert_int_equal(verify(client, g.intermediate, NULL, FG_ROLE_INBOUND), FG_CHAIN_OK);
  X509 *server =
      mint_leaf("chat.example", FG_DEVPKI_EKU_SERVER, NULL, g.leaf_key, g.intermediate, g.int_key);
  assert_int_equal(verify(server, g.intermediate, NULL, FG_ROLE_INBOUND), FG_CHAIN_OK);
  X509_free(code);
  X509_free(client);
  X509_free(server);
}

// RFC 9155 §2 / RFC 6151: SHA-1 (and MD5) signatures are refused.
static void test_rfc9155_2_sha1_signed_refused(void **state) {
  (void)state;
  X509 *leaf = mint_leaf("chat.example", FG_DEVPKI_EKU_SERVER, EVP_sha1(), g.leaf_key,
                         g.intermediate, g.int_key);
  fg_chain_verdict v;
  assert_int_equal(verify_at(g.ts, leaf, g.intermediate, NULL, FG_ROLE_OUTBOUND, T0, NULL, &v),
                   FG_CHAIN_WEAK_SIGNATURE);
  assert_int_equal(v.depth, 0);
  assert_non_null(strstr(v.reason, "SHA-1"));
  X509_free(leaf);
}

// RFC 6151 §2: MD5 signatures are refused (BoringSSL may refuse to verify
// them at all; either way the verdict names the weak algorithm).
static void test_rfc6151_2_md5_signed_refused(void **state) {
  (void)state;
  EVP_PKEY *rsa_ca = fg_devpki_key_rsa(2048);
  assert_non_null(rsa_ca);
  X509 *ca = mint_ca("RSA CA", -1, rsa_ca, g.root, g.root_key);
  fg_devpki_name names[] = {{FG_DEVPKI_DNS, (const uint8_t *)"chat.example", 12}};
  fg_devpki_spec spec = {.path_len = -1,
                         .eku = FG_DEVPKI_EKU_SERVER,
                         .md = EVP_md5(),
                         .not_before = T0 - DAY,
                         .not_after = T0 + DAY,
                         .names = names,
                         .num_names = 1};
  X509 *leaf = fg_devpki_mint(&spec, g.leaf_key, ca, rsa_ca);
  if (leaf == NULL) {
    X509_free(ca);
    EVP_PKEY_free(rsa_ca);
    skip();  // this BoringSSL cannot even sign with MD5
  }
  fg_chain_verdict v;
  assert_int_equal(verify_at(g.ts, leaf, ca, NULL, FG_ROLE_OUTBOUND, T0, NULL, &v),
                   FG_CHAIN_WEAK_SIGNATURE);
  assert_non_null(strstr(v.reason, "MD5"));
  X509_free(leaf);
  X509_free(ca);
  EVP_PKEY_free(rsa_ca);
}

// NIST SP 800-131A / RFC 8603: RSA keys below 2048 bits are refused; 2048
// is fine.
static void test_rfc8603_rsa_1024_refused(void **state) {
  (void)state;
  EVP_PKEY *rsa1024 = fg_devpki_key_rsa(1024);
  EVP_PKEY *rsa2048 = fg_devpki_key_rsa(2048);
  assert_non_null(rsa1024);
  assert_non_null(rsa2048);
  X509 *weak =
      mint_leaf("chat.example", FG_DEVPKI_EKU_SERVER, NULL, rsa1024, g.intermediate, g.int_key);
  X509 *strong =
      mint_leaf("chat.example", FG_DEVPKI_EKU_SERVER, NULL, rsa2048, g.intermediate, g.int_key);
  fg_chain_verdict v;
  assert_int_equal(verify_at(g.ts, weak, g.intermediate, NULL, FG_ROLE_OUTBOUND, T0, NULL, &v),
                   FG_CHAIN_WEAK_KEY);
  assert_non_null(strstr(v.reason, "2048"));
  assert_int_equal(verify(strong, g.intermediate, NULL, FG_ROLE_OUTBOUND), FG_CHAIN_OK);
  X509_free(weak);
  X509_free(strong);
  EVP_PKEY_free(rsa1024);
  EVP_PKEY_free(rsa2048);
}

// RFC 6120 §13.7.2.1 / RFC 5280 §6.1: a self-signed leaf is refused unless
// the domain pins exactly that certificate.
static void test_rfc6120_13_7_2_self_signed_only_when_pinned(void **state) {
  (void)state;
  EVP_PKEY *k = fg_devpki_key_p256();
  X509 *self = mint_leaf("self.example", FG_DEVPKI_EKU_SERVER, NULL, k, NULL, NULL);
  fg_chain_verdict v;
  assert_int_equal(verify_at(g.ts, self, NULL, NULL, FG_ROLE_OUTBOUND, T0, "self.example", &v),
                   FG_CHAIN_SELF_SIGNED);
  fg_trust_store *ts = fg_trust_store_new();
  assert_true(fg_trust_store_add_cert(ts, g.root));
  assert_true(fg_trust_store_pin(ts, "Self.Example.", FG_PIN_LEAF, self));
  assert_int_equal(verify_at(ts, self, NULL, NULL, FG_ROLE_OUTBOUND, T0, "self.example", &v),
                   FG_CHAIN_OK);
  assert_int_equal(v.pinned, 1);
  // The pin is per domain.
  assert_int_equal(verify_at(ts, self, NULL, NULL, FG_ROLE_OUTBOUND, T0, "chat.example", NULL),
                   FG_CHAIN_SELF_SIGNED);
  // A pinned domain refuses every other certificate, even a valid chain.
  assert_int_equal(
      verify_at(ts, g.leaf, g.intermediate, NULL, FG_ROLE_OUTBOUND, T0, "self.example", NULL),
      FG_CHAIN_PIN_MISMATCH);
  // Pinned certificates still expire.
  assert_int_equal(
      verify_at(ts, self, NULL, NULL, FG_ROLE_OUTBOUND, T0 + 60 * DAY, "self.example", NULL),
      FG_CHAIN_EXPIRED);
  fg_trust_store_free(ts);
  X509_free(self);
  EVP_PKEY_free(k);
}

// A pinned CA replaces the global store for that domain.
static void test_rfc5280_6_1_pinned_ca_per_domain(void **state) {
  (void)state;
  EVP_PKEY *k = fg_devpki_key_p256();
  X509 *leaf =
      mint_leaf("pinned.example", FG_DEVPKI_EKU_SERVER, NULL, k, g.other_root, g.other_key);
  fg_trust_store *ts = fg_trust_store_new();
  assert_true(fg_trust_store_add_cert(ts, g.root));
  assert_int_equal(verify_at(ts, leaf, NULL, NULL, FG_ROLE_OUTBOUND, T0, "pinned.example", NULL),
                   FG_CHAIN_UNKNOWN_CA);
  assert_true(fg_trust_store_pin(ts, "pinned.example", FG_PIN_CA, g.other_root));
  assert_int_equal(verify_at(ts, leaf, NULL, NULL, FG_ROLE_OUTBOUND, T0, "pinned.example", NULL),
                   FG_CHAIN_OK);
  // The publicly trusted chain no longer works for the pinned domain.
  assert_int_equal(
      verify_at(ts, g.leaf, g.intermediate, NULL, FG_ROLE_OUTBOUND, T0, "pinned.example", NULL),
      FG_CHAIN_UNKNOWN_CA);
  // Pinning the intermediate works too (partial chain).
  assert_true(fg_trust_store_pin(ts, "chat.example", FG_PIN_CA, g.intermediate));
  fg_trust_store *empty = ts;
  assert_int_equal(
      verify_at(empty, g.leaf, g.intermediate, NULL, FG_ROLE_OUTBOUND, T0, "chat.example", NULL),
      FG_CHAIN_OK);
  assert_false(fg_trust_store_pin(ts, "bad domain", FG_PIN_CA, g.root));
  fg_trust_store_free(ts);
  X509_free(leaf);
  EVP_PKEY_free(k);
}

// RFC 5280 §6.1: the maximum depth bounds the number of intermediates.
static void test_rfc5280_6_1_max_depth(void **state) {
  (void)state;
  EVP_PKEY *k1 = fg_devpki_key_p256(), *k2 = fg_devpki_key_p256();
  X509 *i1 = mint_ca("I1", -1, k1, g.root, g.root_key);
  X509 *i2 = mint_ca("I2", -1, k2, i1, k1);
  X509 *leaf = mint_leaf("chat.example", FG_DEVPKI_EKU_SERVER, NULL, g.leaf_key, i2, k2);
  STACK_OF(X509) *st = sk_X509_new_null();
  sk_X509_push(st, i2);
  sk_X509_push(st, i1);
  fg_chain_params params = {.at = T0, .max_depth = 1};
  fg_chain_verdict v;
  assert_int_equal(fg_chain_verify(&v, g.ts, leaf, st, NULL, &params), FG_CHAIN_TOO_LONG);
  params.max_depth = 2;
  assert_int_equal(fg_chain_verify(&v, g.ts, leaf, st, NULL, &params), FG_CHAIN_OK);
  sk_X509_free(st);
  X509_free(leaf);
  X509_free(i2);
  X509_free(i1);
  EVP_PKEY_free(k1);
  EVP_PKEY_free(k2);
}

typedef struct hook_state {
  int calls;
  int revoke_depth;
} hook_state;

static fg_chain_status hook(void *arg, X509 *cert, X509 *issuer, int depth) {
  hook_state *hs = arg;
  hs->calls++;
  assert_non_null(cert);
  assert_non_null(issuer);
  return depth == hs->revoke_depth ? FG_CHAIN_REVOKED : FG_CHAIN_OK;
}

// RFC 5280 §6.1.3 (a)(3): the revocation hook sees every non-anchor
// certificate with its issuer.
static void test_rfc5280_6_1_3_a_3_revocation_hook(void **state) {
  (void)state;
  STACK_OF(X509) *st = sk_X509_new_null();
  sk_X509_push(st, g.intermediate);
  hook_state hs = {0, -1};
  fg_chain_params params = {.at = T0, .revocation = hook, .revocation_arg = &hs};
  fg_chain_verdict v;
  assert_int_equal(fg_chain_verify(&v, g.ts, g.leaf, st, NULL, &params), FG_CHAIN_OK);
  assert_int_equal(hs.calls, 2);
  hs = (hook_state){0, 1};
  assert_int_equal(fg_chain_verify(&v, g.ts, g.leaf, st, NULL, &params), FG_CHAIN_REVOKED);
  assert_int_equal(v.depth, 1);
  sk_X509_free(st);
}

// RFC 6960 §4.1.1: the CertID needs the issuer, found by name and signature
// in the presented chain first, then among the anchors.
static void test_rfc6960_4_1_1_find_issuer(void **state) {
  (void)state;
  STACK_OF(X509) *st = sk_X509_new_null();
  assert_true(sk_X509_push(st, g.leaf) && sk_X509_push(st, g.intermediate));
  X509 *i = fg_chain_find_issuer(st, g.ts, g.leaf);
  assert_ptr_equal(i, g.intermediate);
  X509_free(i);
  i = fg_chain_find_issuer(NULL, g.ts, g.intermediate);
  assert_ptr_equal(i, g.root);
  X509_free(i);
  assert_null(fg_chain_find_issuer(NULL, g.ts, g.leaf));
  assert_null(fg_chain_find_issuer(st, NULL, g.intermediate));
  // The issuer's name with another key: its signature decides.
  X509 *impostor = mint_ca("Test Intermediate", 0, g.other_key, g.root, g.root_key);
  assert_non_null(impostor);
  sk_X509_set(st, 1, impostor);
  assert_null(fg_chain_find_issuer(st, g.ts, g.leaf));
  X509_free(impostor);
  sk_X509_free(st);
}

static CRYPTO_BUFFER *to_buffer(X509 *x) {
  uint8_t *der = NULL;
  int len = i2d_X509(x, &der);
  assert_true(len > 0);
  CRYPTO_BUFFER *b = CRYPTO_BUFFER_new(der, (size_t)len, NULL);
  OPENSSL_free(der);
  return b;
}

// RFC 6120 §13.7.2: the peer verdict from the custom-verify shape
// (STACK_OF(CRYPTO_BUFFER)), identity judged even when the chain fails.
static void test_rfc6120_13_7_2_peer_verdict_from_buffers(void **state) {
  (void)state;
  STACK_OF(CRYPTO_BUFFER) *chain = sk_CRYPTO_BUFFER_new_null();
  sk_CRYPTO_BUFFER_push(chain, to_buffer(g.leaf));
  sk_CRYPTO_BUFFER_push(chain, to_buffer(g.intermediate));
  fg_chain_params params = {.at = T0};
  fg_peer_verdict v;
  assert_true(fg_peer_verify(&v, g.ts, chain, "chat.example", NULL, 0, &params));
  assert_int_equal(v.identity.status, FG_IDENTITY_MATCH);
  assert_int_equal(v.identity.matched->type, FG_ID_DNS);
  fg_peer_verdict_cleanup(&v);

  assert_false(fg_peer_verify(&v, g.ts, chain, "other.example", NULL, 0, &params));
  assert_int_equal(v.chain.status, FG_CHAIN_OK);
  assert_int_equal(v.identity.status, FG_IDENTITY_NOMATCH);
  fg_peer_verdict_cleanup(&v);

  params.at = T0 + 90 * DAY;
  assert_false(fg_peer_verify(&v, g.ts, chain, "chat.example", NULL, 0, &params));
  assert_int_equal(v.chain.status, FG_CHAIN_EXPIRED);
  assert_int_equal(v.identity.status, FG_IDENTITY_MATCH);
  fg_peer_verdict_cleanup(&v);

  // A garbage leaf: malformed for both halves.
  STACK_OF(CRYPTO_BUFFER) *junk = sk_CRYPTO_BUFFER_new_null();
  sk_CRYPTO_BUFFER_push(junk, CRYPTO_BUFFER_new((const uint8_t *)"junk", 4, NULL));
  assert_false(fg_peer_verify(&v, g.ts, junk, "chat.example", NULL, 0, &params));
  assert_int_equal(v.chain.status, FG_CHAIN_MALFORMED);
  assert_non_null(v.san_error);
  fg_peer_verdict_cleanup(&v);
  assert_false(fg_peer_verify(&v, g.ts, NULL, "chat.example", NULL, 0, &params));
  fg_peer_verdict_cleanup(&v);
  sk_CRYPTO_BUFFER_pop_free(junk, CRYPTO_BUFFER_free);
  sk_CRYPTO_BUFFER_pop_free(chain, CRYPTO_BUFFER_free);
}

typedef struct verify_ctx {
  const char *domain;
  fg_chain_role role;
  int calls;
  int ok;
} verify_ctx;

// custom_verify is what the TLS layer installs: no I/O, one fg_peer_verify.
static enum ssl_verify_result_t custom_verify(SSL *ssl, uint8_t *alert) {
  verify_ctx *vc = SSL_get_app_data(ssl);
  fg_chain_params params = {.role = vc->role, .at = T0};
  fg_peer_verdict v;
  vc->calls++;
  vc->ok = fg_peer_verify(&v, g.ts, SSL_get0_peer_certificates(ssl), vc->domain, NULL, 0, &params);
  fg_peer_verdict_cleanup(&v);
  if (!vc->ok) *alert = SSL_AD_BAD_CERTIFICATE;
  return vc->ok ? ssl_verify_ok : ssl_verify_invalid;
}

// handshake runs a TLS handshake over a BIO pair. The side that verifies
// (the client for outbound, the server for inbound) uses custom_verify; the
// other side presents g.leaf + g.intermediate. It returns 1 when both sides
// complete.
static int handshake(verify_ctx *vc) {
  SSL_CTX *presenter = SSL_CTX_new(TLS_method());
  SSL_CTX *verifier = SSL_CTX_new(TLS_method());
  assert_true(SSL_CTX_use_certificate(presenter, g.leaf));
  assert_true(SSL_CTX_use_PrivateKey(presenter, g.leaf_key));
  assert_true(SSL_CTX_add1_chain_cert(presenter, g.intermediate));
  int mode = SSL_VERIFY_PEER | (vc->role == FG_ROLE_INBOUND ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
  SSL_CTX_set_custom_verify(verifier, mode, custom_verify);
  SSL *v = SSL_new(verifier), *p = SSL_new(presenter);
  SSL_set_app_data(v, vc);
  SSL *client = vc->role == FG_ROLE_INBOUND ? p : v;
  SSL *server = vc->role == FG_ROLE_INBOUND ? v : p;
  if (vc->role == FG_ROLE_INBOUND) {
    // The inbound verifier is the TLS server; it needs a certificate too.
    SSL_use_certificate(server, g.leaf);
    SSL_use_PrivateKey(server, g.leaf_key);
  }
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  BIO *b1, *b2;
  assert_true(BIO_new_bio_pair(&b1, 0, &b2, 0));
  SSL_set_bio(client, b1, b1);
  SSL_set_bio(server, b2, b2);
  int c_done = 0, s_done = 0, failed = 0;
  for (int i = 0; i < 50 && !(c_done && s_done) && !failed; i++) {
    if (!c_done) {
      int r = SSL_do_handshake(client);
      if (r == 1)
        c_done = 1;
      else if (SSL_get_error(client, r) != SSL_ERROR_WANT_READ)
        failed = 1;
    }
    if (!s_done && !failed) {
      int r = SSL_do_handshake(server);
      if (r == 1)
        s_done = 1;
      else if (SSL_get_error(server, r) != SSL_ERROR_WANT_READ)
        failed = 1;
    }
  }
  ERR_clear_error();
  SSL_free(client);
  SSL_free(server);
  SSL_CTX_free(presenter);
  SSL_CTX_free(verifier);
  return c_done && s_done && !failed;
}

// RFC 6120 §13.7.2 / §5.4.3: the verdict runs inside BoringSSL's
// custom-verify callback and decides the handshake, in both directions.
static void test_rfc6120_13_7_2_custom_verify_callback(void **state) {
  (void)state;
  verify_ctx out_ok = {"chat.example", FG_ROLE_OUTBOUND, 0, 0};
  assert_true(handshake(&out_ok));
  assert_int_equal(out_ok.calls, 1);
  assert_true(out_ok.ok);
  verify_ctx out_bad = {"other.example", FG_ROLE_OUTBOUND, 0, 0};
  assert_false(handshake(&out_bad));
  assert_int_equal(out_bad.calls, 1);
  verify_ctx in_ok = {"chat.example", FG_ROLE_INBOUND, 0, 0};
  assert_true(handshake(&in_ok));
  assert_int_equal(in_ok.calls, 1);
  verify_ctx in_bad = {"other.example", FG_ROLE_INBOUND, 0, 0};
  assert_false(handshake(&in_bad));
}

// Trust stores load from a file, a directory, and the system bundle.
static void test_rfc5280_6_1_1_d_trust_store_loading(void **state) {
  (void)state;
  char dir[] = "/tmp/fg_chain_test_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256], err[512];
  snprintf(path, sizeof(path), "%s/root.pem", dir);
  assert_true(fg_devpki_write_cert(path, g.root));
  char junk[256];
  snprintf(junk, sizeof(junk), "%s/README", dir);
  FILE *f = fopen(junk, "w");
  fputs("not a certificate\n", f);
  fclose(f);

  fg_trust_store *ts = fg_trust_store_new();
  assert_int_equal(fg_trust_store_load(ts, path, err, sizeof(err)), 1);
  fg_trust_store_free(ts);
  ts = fg_trust_store_new();
  assert_int_equal(fg_trust_store_load(ts, dir, err, sizeof(err)), 1);
  assert_int_equal(verify_at(ts, g.leaf, g.intermediate, NULL, FG_ROLE_OUTBOUND, T0, NULL, NULL),
                   FG_CHAIN_OK);
  assert_int_equal(fg_trust_store_load(ts, junk, err, sizeof(err)), 0);
  assert_non_null(strstr(err, "README"));
  assert_int_equal(fg_trust_store_load(ts, "/nonexistent/ca.pem", err, sizeof(err)), 0);
  assert_non_null(strstr(err, "/nonexistent/ca.pem"));
  fg_trust_store_free(ts);
  if (access(FG_TRUST_DEFAULT_BUNDLE, R_OK) == 0) {
    ts = fg_trust_store_new();
    assert_true(fg_trust_store_load(ts, NULL, err, sizeof(err)) > 50);
    fg_trust_store_free(ts);
  }
  unlink(path);
  unlink(junk);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc5280_6_1_valid_chain),
      cmocka_unit_test(test_rfc5280_6_1_3_a_2_expired),
      cmocka_unit_test(test_rfc5280_6_1_3_a_2_valid_until_is_the_earliest_not_after),
      cmocka_unit_test(test_rfc5280_6_1_3_a_2_not_yet_valid),
      cmocka_unit_test(test_rfc5280_6_1_unknown_ca),
      cmocka_unit_test(test_rfc5280_6_1_missing_intermediate),
      cmocka_unit_test(test_rfc5280_6_1_4_k_intermediate_without_ca_bit),
      cmocka_unit_test(test_rfc5280_6_1_4_m_path_length_exceeded),
      cmocka_unit_test(test_rfc5280_4_2_1_12_wrong_eku),
      cmocka_unit_test(test_rfc9155_2_sha1_signed_refused),
      cmocka_unit_test(test_rfc6151_2_md5_signed_refused),
      cmocka_unit_test(test_rfc8603_rsa_1024_refused),
      cmocka_unit_test(test_rfc6120_13_7_2_self_signed_only_when_pinned),
      cmocka_unit_test(test_rfc5280_6_1_pinned_ca_per_domain),
      cmocka_unit_test(test_rfc5280_6_1_max_depth),
      cmocka_unit_test(test_rfc5280_6_1_3_a_3_revocation_hook),
      cmocka_unit_test(test_rfc6960_4_1_1_find_issuer),
      cmocka_unit_test(test_rfc6120_13_7_2_peer_verdict_from_buffers),
      cmocka_unit_test(test_rfc6120_13_7_2_custom_verify_callback),
      cmocka_unit_test(test_rfc5280_6_1_1_d_trust_store_loading),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
