// revocation_oracle.h: what ocsp_response_fuzzer and crl_fuzzer share: the
// certificates of fuzz/revocation_fixture.h as X509, and a signature check
// made with BoringSSL's EVP interface alone (not crypto/der), against which
// the verdicts of crypto/ocsp and crypto/crl are judged.
#ifndef FEDGATE_FUZZ_REVOCATION_ORACLE_H
#define FEDGATE_FUZZ_REVOCATION_ORACLE_H

#include <string.h>

#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "fuzz/fuzz_check.h"
#include "fuzz/revocation_fixture.h"

// fixture_cert parses one PEM certificate of the fixture.
static inline X509 *fixture_cert(const char *pem) {
  BIO *bio = BIO_new_mem_buf(pem, (int)strlen(pem));
  X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
  BIO_free(bio);
  FUZZ_CHECK(x != NULL);
  return x;
}

// oracle_verify_with says whether |sig| over |msg| verifies with |key| under
// SHA-256, SHA-384 or SHA-512 (ECDSA; RSA with PKCS#1 v1.5 or PSS).
static inline int oracle_verify_with(EVP_PKEY *key, const uint8_t *msg, size_t msg_len,
                                     const uint8_t *sig, size_t sig_len) {
  const EVP_MD *mds[] = {EVP_sha256(), EVP_sha384(), EVP_sha512()};
  int ok = 0;
  for (size_t i = 0; i < 3 && !ok; i++) {
    for (int pss = 0; pss <= (EVP_PKEY_id(key) == EVP_PKEY_RSA) && !ok; pss++) {
      EVP_MD_CTX *ctx = EVP_MD_CTX_new();
      EVP_PKEY_CTX *pctx = NULL;
      ok = ctx != NULL && EVP_DigestVerifyInit(ctx, &pctx, mds[i], NULL, key) &&
           (!pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) &&
                     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, -1))) &&
           EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len);
      EVP_MD_CTX_free(ctx);
    }
  }
  ERR_clear_error();
  return ok;
}

// oracle_signed_by says whether the signature |sig| over the bytes of |msg|
// is |signer|'s.
static inline int oracle_signed_by(X509 *signer, const CBS *msg, const CBS *sig) {
  EVP_PKEY *key = X509_get_pubkey(signer);
  int ok = key != NULL &&
           oracle_verify_with(key, CBS_data(msg), CBS_len(msg), CBS_data(sig), CBS_len(sig));
  EVP_PKEY_free(key);
  return ok;
}

#endif  // FEDGATE_FUZZ_REVOCATION_ORACLE_H
