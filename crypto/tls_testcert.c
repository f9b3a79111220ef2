// tls_testcert.c: X509 minting with BoringSSL's legacy X509 API.
#include "crypto/tls_testcert.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static EVP_PKEY *make_key(int rsa_bits) {
  EVP_PKEY *pkey = EVP_PKEY_new();
  if (pkey == NULL) return NULL;
  if (rsa_bits == 0) {
    EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    if (ec == NULL || !EC_KEY_generate_key(ec) || !EVP_PKEY_assign_EC_KEY(pkey, ec)) {
      EC_KEY_free(ec);
      EVP_PKEY_free(pkey);
      return NULL;
    }
    return pkey;
  }
  RSA *rsa = RSA_new();
  BIGNUM *e = BN_new();
  if (rsa == NULL || e == NULL || !BN_set_word(e, RSA_F4) ||
      !RSA_generate_key_ex(rsa, rsa_bits, e, NULL) || !EVP_PKEY_assign_RSA(pkey, rsa)) {
    RSA_free(rsa);
    BN_free(e);
    EVP_PKEY_free(pkey);
    return NULL;
  }
  BN_free(e);
  return pkey;
}

fg_tls_cert *fg_tls_testcert_new(CRYPTO_BUFFER_POOL *pool, const char *const *names, size_t n_names,
                                 int rsa_bits) {
  if (n_names == 0) return NULL;
  fg_tls_cert *cert = NULL;
  uint8_t *der = NULL;
  GENERAL_NAMES *gens = NULL;
  EVP_PKEY *key = make_key(rsa_bits);
  X509 *x = X509_new();
  if (key == NULL || x == NULL) goto done;
  uint8_t serial[8];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  uint64_t sv = 0;
  for (size_t i = 0; i < sizeof(serial); i++) sv = (sv << 8) | serial[i];
  X509_NAME *subject = X509_get_subject_name(x);
  if (!X509_set_version(x, X509_VERSION_3) ||
      !ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), sv) ||
      !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
      !X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (const uint8_t *)names[0], -1, -1,
                                  0) ||
      !X509_set_issuer_name(x, subject) || !X509_set_pubkey(x, key)) {
    goto done;
  }
  gens = sk_GENERAL_NAME_new_null();
  if (gens == NULL) goto done;
  for (size_t i = 0; i < n_names; i++) {
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    if (g == NULL || ia5 == NULL || !ASN1_STRING_set(ia5, names[i], (int)strlen(names[i]))) {
      GENERAL_NAME_free(g);
      ASN1_IA5STRING_free(ia5);
      goto done;
    }
    GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
    if (!sk_GENERAL_NAME_push(gens, g)) {
      GENERAL_NAME_free(g);
      goto done;
    }
  }
  if (!X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) || !X509_sign(x, key, EVP_sha256())) {
    goto done;
  }
  int len = i2d_X509(x, &der);
  if (len <= 0) goto done;
  const uint8_t *ders[1] = {der};
  size_t lens[1] = {(size_t)len};
  cert = fg_tls_cert_new(pool, ders, lens, 1, key);
done:
  OPENSSL_free(der);
  GENERAL_NAMES_free(gens);
  X509_free(x);
  EVP_PKEY_free(key);
  return cert;
}
