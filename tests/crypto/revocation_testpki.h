// revocation_testpki.h: what the OCSP and CRL tests share: a test PKI
// minted with BoringSSL, signing DER structures built with CBB, and running
// the openssl command line in a temporary directory.
#ifndef FEDGATE_TESTS_CRYPTO_REVOCATION_TESTPKI_H
#define FEDGATE_TESTS_CRYPTO_REVOCATION_TESTPKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/devpki.h"

// RT_NOW is the tests' clock (2023-11-14T22:13:20Z).
#define RT_NOW ((int64_t)1700000000)
#define RT_DAY ((int64_t)86400)

// rt_sig selects the signature algorithm of |rt_sign|.
typedef enum rt_sig {
  RT_SIG_SHA256 = 0,  // ECDSA or RSA PKCS#1 v1.5 with SHA-256, by key type
  RT_SIG_SHA384,
  RT_SIG_SHA1,
  RT_SIG_PSS_SHA256,  // RSA-PSS, MGF1-SHA-256, salt 32
} rt_sig;

// rt_pair is a key and its certificate.
typedef struct rt_pair {
  EVP_PKEY *key;
  X509 *cert;
} rt_pair;

// rt_pair_ca mints a self-signed CA around |key| (taken over) valid around
// RT_NOW. rt_pair_leaf mints a certificate from |spec| (validity defaults
// to RT_NOW - 1 day .. RT_NOW + 365 days when both times are 0) signed by
// |issuer|. rt_pair_free releases both halves.
int rt_pair_ca(rt_pair *out, const char *cn, EVP_PKEY *key);
int rt_pair_leaf(rt_pair *out, EVP_PKEY *key, fg_devpki_spec spec, const rt_pair *issuer);
void rt_pair_free(rt_pair *p);

// rt_sign wraps the DER |tbs| as SEQUENCE { tbs, AlgorithmIdentifier,
// BIT STRING signature, |tail| } signed by |key| with |sig| (|tail|, when
// not NULL, is appended inside, e.g. an OCSP response's [0] certs). With
// |corrupt| the last signature byte is flipped. It returns a malloc'd buffer or NULL.
uint8_t *rt_sign(size_t *out_len, const uint8_t *tbs, size_t tbs_len, EVP_PKEY *key, rt_sig sig,
                 int corrupt, const uint8_t *tail, size_t tail_len);

// rt_add_alg adds the AlgorithmIdentifier of |sig| for |key|.
int rt_add_alg(CBB *cbb, EVP_PKEY *key, rt_sig sig);

// rt_add_time adds |t| as GeneralizedTime (|generalized|) or UTCTime.
int rt_add_time(CBB *cbb, int64_t t, int generalized);

// rt_add_ext adds Extension { oid (dotted text), critical, extnValue }.
int rt_add_ext(CBB *exts, const char *oid, int critical, const uint8_t *der, size_t len);

// rt_finish finishes |cbb| into a malloc'd buffer (NULL on failure).
uint8_t *rt_finish(CBB *cbb, size_t *out_len);

// rt_tmpdir creates a fresh temporary directory and returns its path
// (static storage, overwritten by the next call).
const char *rt_tmpdir(void);

// rt_sh runs the shell command formatted from |fmt| and returns its exit
// status (-1 when it could not run).
int rt_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// rt_have_openssl says whether the openssl command line is installed.
int rt_have_openssl(void);

// rt_write_pem writes |p|'s certificate and key into |dir|/|name|.crt and
// |dir|/|name|.key. It returns 1 on success.
int rt_write_pem(const char *dir, const char *name, const rt_pair *p);

// rt_serial_hex writes the serial number of |cert| in upper-case hex (as
// openssl's index.txt holds it) into |out|.
void rt_serial_hex(char *out, size_t out_len, X509 *cert);

#endif  // FEDGATE_TESTS_CRYPTO_REVOCATION_TESTPKI_H
