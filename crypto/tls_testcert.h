// tls_testcert.h: self-signed certificates minted in memory for tests and
// benchmarks (not for production: no CA, 1-day validity).
#ifndef FEDGATE_CRYPTO_TLS_TESTCERT_H
#define FEDGATE_CRYPTO_TLS_TESTCERT_H

#include <stddef.h>

#include <openssl/base.h>

#include "crypto/tls_sni.h"

// fg_tls_testcert_new mints a self-signed certificate whose subjectAltName
// holds the |n_names| dNSNames in |names| (the first is also the CN). The key
// is ECDSA P-256 when |rsa_bits| is 0, else RSA of that size. Buffers are
// interned in |pool| (may be NULL). It returns NULL on failure.
fg_tls_cert *fg_tls_testcert_new(CRYPTO_BUFFER_POOL *pool, const char *const *names, size_t n_names,
                                 int rsa_bits);

#endif  // FEDGATE_CRYPTO_TLS_TESTCERT_H
