// der.h: the DER pieces of X.509 that the revocation modules share (OCSP in
// crypto/ocsp, CRLs in crypto/crl): a certificate cut into the fields they
// need, times, extension lists, and signature verification restricted to the
// algorithms fedgate accepts. Everything reads with BoringSSL's CBS, so every
// length is checked and nothing is decoded twice or printed on the way. No
// I/O, no global state: safe from any thread.
#ifndef FEDGATE_CRYPTO_DER_H
#define FEDGATE_CRYPTO_DER_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FG_DER_TAG_CTX(n) (CBS_ASN1_CONTEXT_SPECIFIC | (n))
#define FG_DER_TAG_CTX_CONS(n) (CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | (n))

// FG_DER_MAX_EXTENSIONS bounds the extensions of one list (certificate, CRL,
// CRL entry, OCSP response); more is treated as malformed.
#define FG_DER_MAX_EXTENSIONS 64

// fg_der_cert is a certificate cut into fields (RFC 5280 §4.1). Every CBS
// points into the DER it was parsed from, which must outlive it.
typedef struct fg_der_cert {
  CBS tbs;          // tbsCertificate, whole TLV (the signed bytes)
  CBS serial;       // serialNumber INTEGER contents
  CBS tbs_sig_alg;  // tbsCertificate.signature AlgorithmIdentifier TLV
  CBS issuer;       // issuer Name, whole TLV
  CBS subject;      // subject Name, whole TLV
  CBS spki;         // SubjectPublicKeyInfo, whole TLV
  CBS key_bits;     // subjectPublicKey BIT STRING contents after the unused-bits octet
  int64_t not_before, not_after;  // POSIX seconds
  CBS extensions;                 // contents of the Extensions SEQUENCE (empty when absent)
  CBS sig_alg;                    // signatureAlgorithm AlgorithmIdentifier TLV
  CBS signature;                  // signatureValue BIT STRING contents after the unused-bits octet
} fg_der_cert;

// fg_der_cert_parse cuts the DER certificate |der| into |out|. It checks the
// structure (one SEQUENCE, nothing after it, the signature algorithm inside
// and outside the signed part identical, BIT STRINGs with no unused bits, a
// well-formed extension list) but not the signature. It returns 1 on
// success, 0 when |der| is not such a certificate.
int fg_der_cert_parse(fg_der_cert *out, const uint8_t *der, size_t der_len);

// fg_der_cert_from_x509 encodes |x| and cuts it into |out|. It returns the
// DER that |out| points into (the caller frees it with OPENSSL_free after
// the last use of |out|), or NULL when |x| is NULL or does not parse.
uint8_t *fg_der_cert_from_x509(fg_der_cert *out, X509 *x);

// fg_der_dup returns a malloc'd copy of |in| (at least one byte allocated,
// so an empty input is not NULL), or NULL when out of memory.
uint8_t *fg_der_dup(const uint8_t *in, size_t in_len);

// fg_der_get_generalized_time reads a GeneralizedTime from |cbs| into |out|
// (POSIX seconds). Only the form RFC 5280 §4.1.2.5.2 allows is accepted:
// YYYYMMDDHHMMSSZ, no fractional seconds, no offset, every field in range
// (no leap second). It returns 1 on success, 0 otherwise.
int fg_der_get_generalized_time(CBS *cbs, int64_t *out);

// fg_der_get_time reads an X.509 Time (UTCTime YYMMDDHHMMSSZ, where YY < 50
// is 20YY, RFC 5280 §4.1.2.5.1; or GeneralizedTime as above) from |cbs|
// into |out|. It returns 1 on success, 0 otherwise.
int fg_der_get_time(CBS *cbs, int64_t *out);

// fg_der_ext is one Extension (RFC 5280 §4.1): the OID contents, the
// critical flag and the extnValue OCTET STRING contents.
typedef struct fg_der_ext {
  CBS oid;
  int critical;
  CBS value;
} fg_der_ext;

// fg_der_extensions_check checks that |list| (the contents of an Extensions
// SEQUENCE) is 1 to FG_DER_MAX_EXTENSIONS well-formed extensions, none
// twice (RFC 5280 §4.2), with critical encoded only as DER TRUE (FALSE is
// the DEFAULT and must be omitted). It returns 1 if so, 0 otherwise.
int fg_der_extensions_check(const CBS *list);

// fg_der_ext_next reads the next extension of a list that passed
// |fg_der_extensions_check| from |list| into |out|. It returns 1 when one was
// read, 0 at the end of the list.
int fg_der_ext_next(CBS *list, fg_der_ext *out);

// fg_der_find_ext looks for the extension |oid| (contents, |oid_len| bytes)
// in |list| (checked as above). It returns 1 and fills |out| when found.
int fg_der_find_ext(const CBS *list, const uint8_t *oid, size_t oid_len, fg_der_ext *out);

// fg_der_sig_status is the outcome of |fg_der_verify|.
typedef enum fg_der_sig_status {
  FG_DER_SIG_OK = 0,
  FG_DER_SIG_BAD,          // the signature does not verify with that key
  FG_DER_SIG_UNSUPPORTED,  // algorithm or key refused (SHA-1, MD5, MD2, unknown, weak key)
} fg_der_sig_status;

// fg_der_verify checks |signature| (BIT STRING contents after the unused-bits
// octet) over |msg| with the key in |spki| (SubjectPublicKeyInfo TLV) under
// the AlgorithmIdentifier TLV |sig_alg|. Accepted: RSA PKCS#1 v1.5 and
// RSA-PSS (MGF1 with the same hash, salt length = hash length) with
// SHA-256/384/512, RSA keys of at least 2048 bits; ECDSA with SHA-256/384 on
// P-256 or P-384. Everything else is FG_DER_SIG_UNSUPPORTED, and so is a key
// whose type does not fit the algorithm.
fg_der_sig_status fg_der_verify(const CBS *sig_alg, const CBS *signature, const CBS *spki,
                                const uint8_t *msg, size_t msg_len);

// fg_der_get_bit_string reads a BIT STRING with no unused bits from |cbs|
// and points |out| at its bytes (after the unused-bits octet). It returns 1
// on success, 0 otherwise.
int fg_der_get_bit_string(CBS *cbs, CBS *out);

// fg_der_get_small_enum reads an ENUMERATED (|tag|, possibly implicitly
// re-tagged) whose value is 0..127 from |cbs|, minimally encoded, into
// |out|. It returns 1 on success, 0 otherwise.
int fg_der_get_small_enum(CBS *cbs, unsigned tag, int *out);

// fg_der_get_serial reads a serial number INTEGER (RFC 5280 §4.1.2.2:
// minimal DER, at most 20 content octets; a negative or zero serial from a
// non-conforming CA is tolerated) and points |out| at its contents. It
// returns 1 on success, 0 otherwise.
int fg_der_get_serial(CBS *cbs, CBS *out);

#ifdef __cplusplus
}
#endif

#endif  // FEDGATE_CRYPTO_DER_H
