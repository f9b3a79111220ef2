// ocsp.h: the pure building blocks of OCSP (RFC 6960, profiled by RFC 5019):
// CertIDs, requests and their HTTP GET form, a strict DER parser for
// responses, and the check that turns a response into a verdict for one
// certificate. No I/O, no threads, no clock: the caller fetches, caches and
// says what time it is. See docs/revocation.md.
#ifndef FEDGATE_CRYPTO_OCSP_H
#define FEDGATE_CRYPTO_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

// FG_OCSP_DEFAULT_MAX_BYTES is the default limit on a response's size.
#define FG_OCSP_DEFAULT_MAX_BYTES (64 * 1024)
// FG_OCSP_DEFAULT_MAX_SINGLES is the default limit on SingleResponses.
#define FG_OCSP_DEFAULT_MAX_SINGLES 64
// FG_OCSP_MAX_CERTS bounds the certificates a response may carry.
#define FG_OCSP_MAX_CERTS 8
// FG_OCSP_MAX_NONCE is the longest nonce a request may carry (RFC 8954 §2.1).
#define FG_OCSP_MAX_NONCE 32
// FG_OCSP_GET_MAX is the longest encoded request sent with GET (RFC 5019 §5).
#define FG_OCSP_GET_MAX 255
// FG_OCSP_DEFAULT_SKEW is the default clock tolerance, in seconds.
#define FG_OCSP_DEFAULT_SKEW 300
// FG_OCSP_DEFAULT_MAX_AGE is how old (seconds) thisUpdate may be by default
// when a response has no nextUpdate.
#define FG_OCSP_DEFAULT_MAX_AGE (24 * 3600)
// FG_OCSP_REASON_NONE is a revocation without a reason code.
#define FG_OCSP_REASON_NONE (-1)

// fg_ocsp_hash is a CertID hash algorithm.
typedef enum fg_ocsp_hash {
  FG_OCSP_HASH_UNKNOWN = 0,  // an algorithm fedgate does not know (parsed, never matched)
  FG_OCSP_HASH_SHA1,
  FG_OCSP_HASH_SHA256,
  FG_OCSP_HASH_SHA384,
  FG_OCSP_HASH_SHA512,
} fg_ocsp_hash;

// fg_ocsp_cert_id is a CertID (RFC 6960 §4.1.1) held by value.
typedef struct fg_ocsp_cert_id {
  fg_ocsp_hash hash;
  size_t hash_len;
  uint8_t name_hash[64];  // hash of the issuer's subject Name DER
  uint8_t key_hash[64];   // hash of the issuer's subjectPublicKey BIT STRING contents
  size_t serial_len;
  uint8_t serial[21];  // the certificate's serialNumber INTEGER contents
} fg_ocsp_cert_id;

// fg_ocsp_cert_id_init fills |out| with the CertID of |cert| issued by
// |issuer| under |hash| (SHA-1 is what RFC 5019 responders expect; SHA-256
// is also common). It returns 1 on success, 0 when |hash| is unknown or a
// certificate cannot be parsed.
int fg_ocsp_cert_id_init(fg_ocsp_cert_id *out, fg_ocsp_hash hash, X509 *cert, X509 *issuer);

// fg_ocsp_request_build writes into |*out| (freed with OPENSSL_free) the DER
// OCSPRequest for |id|: no requestorName, no signature, one Request, and
// with |nonce| (1..FG_OCSP_MAX_NONCE bytes) an id-pkix-ocsp-nonce request
// extension (RFC 8954). |nonce| NULL means none, as RFC 5019 §2.1.1 expects
// for cacheable requests. It returns 1 on success, 0 on a bad nonce length
// or allocation failure.
int fg_ocsp_request_build(uint8_t **out, size_t *out_len, const fg_ocsp_cert_id *id,
                          const uint8_t *nonce, size_t nonce_len);

// fg_ocsp_http_method says how to send a request.
typedef enum fg_ocsp_http_method {
  FG_OCSP_HTTP_ERROR = 0,
  FG_OCSP_HTTP_GET,   // GET the URL written to |out|
  FG_OCSP_HTTP_POST,  // POST the DER to the responder URL (written to |out|)
} fg_ocsp_http_method;

// fg_ocsp_request_url decides between GET and POST for the DER request |req|
// (RFC 5019 §5, RFC 6960 Appendix A.1). GET when the base64 encoding of the
// request, percent-encoded ('+', '/' and '=' escaped), is at most
// FG_OCSP_GET_MAX bytes: |out| receives |responder_url| + '/' (unless it ends
// with one) + that encoding. Otherwise POST, and |out| receives
// |responder_url|. It returns FG_OCSP_HTTP_ERROR when |out_len| is too small
// or the arguments are empty.
fg_ocsp_http_method fg_ocsp_request_url(char *out, size_t out_len, const char *responder_url,
                                        const uint8_t *req, size_t req_len);

// fg_ocsp_response_status is OCSPResponseStatus (RFC 6960 §4.2.1); 4 is
// unused and, like any other value, is rejected by the parser.
typedef enum fg_ocsp_response_status {
  FG_OCSP_STATUS_SUCCESSFUL = 0,
  FG_OCSP_STATUS_MALFORMED_REQUEST = 1,
  FG_OCSP_STATUS_INTERNAL_ERROR = 2,
  FG_OCSP_STATUS_TRY_LATER = 3,
  FG_OCSP_STATUS_SIG_REQUIRED = 5,
  FG_OCSP_STATUS_UNAUTHORIZED = 6,
} fg_ocsp_response_status;

// fg_ocsp_cert_status is CertStatus (RFC 6960 §4.2.1).
typedef enum fg_ocsp_cert_status {
  FG_OCSP_CERT_GOOD = 0,
  FG_OCSP_CERT_REVOKED,
  FG_OCSP_CERT_UNKNOWN,
} fg_ocsp_cert_status;

// fg_ocsp_single is one SingleResponse. CBS fields point into the response.
typedef struct fg_ocsp_single {
  fg_ocsp_hash hash;  // FG_OCSP_HASH_UNKNOWN: |hash_oid| names something else
  CBS hash_oid;       // CertID hashAlgorithm OID contents
  CBS name_hash, key_hash, serial;
  fg_ocsp_cert_status status;
  int64_t revocation_time;  // revoked only, POSIX seconds
  int reason;               // revoked only: CRLReason, or FG_OCSP_REASON_NONE
  int64_t this_update;
  int has_next_update;
  int64_t next_update;
} fg_ocsp_single;

// fg_ocsp_limits bounds what the parser accepts; a zero field means its default.
typedef struct fg_ocsp_limits {
  size_t max_bytes;    // FG_OCSP_DEFAULT_MAX_BYTES
  size_t max_singles;  // FG_OCSP_DEFAULT_MAX_SINGLES
} fg_ocsp_limits;

// fg_ocsp_response is a parsed OCSPResponse. Read its fields; never write
// them. Every CBS points into the response's own copy of the DER.
typedef struct fg_ocsp_response {
  fg_ocsp_response_status status;
  // The rest is set only when |status| is FG_OCSP_STATUS_SUCCESSFUL.
  CBS tbs;               // tbsResponseData, whole TLV: the signed bytes
  int responder_by_key;  // ResponderID: 1 byKey, 0 byName
  CBS responder;         // byName: the Name TLV; byKey: the 20-byte SHA-1 KeyHash
  int64_t produced_at;
  fg_ocsp_single *singles;
  size_t num_singles;
  int has_nonce;
  CBS nonce;                     // id-pkix-ocsp-nonce value (the OCTET STRING's contents)
  CBS sig_alg;                   // signatureAlgorithm, whole TLV
  CBS signature;                 // BIT STRING contents after the unused-bits octet
  CBS certs[FG_OCSP_MAX_CERTS];  // each Certificate TLV
  size_t num_certs;
  uint8_t *der_;  // private: the owned copy
  size_t der_len_;
} fg_ocsp_response;

// fg_ocsp_response_parse parses the DER OCSPResponse |in| (RFC 6960 §4.2.1)
// strictly: DER only, responseBytes present exactly when the status is
// successful, response type id-pkix-ocsp-basic only, an unknown critical
// response extension refused, sizes bounded by |limits| (NULL: defaults).
// It returns a new response (free with fg_ocsp_response_free), or NULL with
// a static one-line reason in |*out_reason| (when not NULL).
fg_ocsp_response *fg_ocsp_response_parse(const uint8_t *in, size_t in_len,
                                         const fg_ocsp_limits *limits, const char **out_reason);

// fg_ocsp_response_free releases |resp| (NULL is a no-op).
void fg_ocsp_response_free(fg_ocsp_response *resp);

// fg_ocsp_verdict is what a response says about one certificate. The first
// three are answers; every FG_OCSP_ERR_* means "no answer" and names why.
typedef enum fg_ocsp_verdict {
  FG_OCSP_GOOD = 0,
  FG_OCSP_REVOKED,
  FG_OCSP_UNKNOWN,
  FG_OCSP_ERR_MALFORMED,            // the response (or a certificate) does not parse
  FG_OCSP_ERR_STATUS,               // responseStatus is not successful
  FG_OCSP_ERR_NO_MATCH,             // no SingleResponse for this certificate
  FG_OCSP_ERR_BAD_SIGNATURE,        // the signature does not verify
  FG_OCSP_ERR_UNAUTHORIZED_SIGNER,  // neither the issuer nor a delegated responder of it
  FG_OCSP_ERR_NOT_YET_VALID,        // thisUpdate is in the future (beyond the skew)
  FG_OCSP_ERR_EXPIRED,              // past nextUpdate (or too old without one)
  FG_OCSP_ERR_NONCE,                // the expected nonce is missing or different
  FG_OCSP_ERR_UNSUPPORTED_ALG,      // signature algorithm or key refused
} fg_ocsp_verdict;

// fg_ocsp_verdict_string returns a short name ("good", "expired", ...).
const char *fg_ocsp_verdict_string(fg_ocsp_verdict v);

// fg_ocsp_check_params are the caller's policy for |fg_ocsp_check|.
typedef struct fg_ocsp_check_params {
  int64_t skew;          // clock tolerance in seconds, applied to every time check
  int64_t max_age;       // without nextUpdate: thisUpdate + max_age + skew must be >= now
  const uint8_t *nonce;  // the nonce sent in the request, or NULL for none
  size_t nonce_len;
} fg_ocsp_check_params;

// fg_ocsp_check_params_init sets FG_OCSP_DEFAULT_SKEW and
// FG_OCSP_DEFAULT_MAX_AGE and no nonce.
void fg_ocsp_check_params_init(fg_ocsp_check_params *params);

// fg_ocsp_result is the verdict with what the caller needs to cache it.
typedef struct fg_ocsp_result {
  fg_ocsp_verdict verdict;
  int64_t revocation_time;  // FG_OCSP_REVOKED
  int reason;               // FG_OCSP_REVOKED: CRLReason or FG_OCSP_REASON_NONE
  int64_t this_update;      // of the matching SingleResponse, when one was found
  int has_next_update;
  int64_t next_update;
  int delegated;       // signed by a delegated responder certificate
  size_t signer_cert;  // delegated: the index in the response's |certs| of that certificate
  int nocheck;         // that certificate carries id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1)
  const char *detail;  // one static line saying why, for logs
} fg_ocsp_result;

// fg_ocsp_check judges |resp| for |cert| issued by |issuer| at |now| (POSIX
// seconds) under |params| (NULL: defaults). Order: status, matching
// SingleResponse (any known CertID hash), signature algorithm, signer (the
// issuer itself, or a certificate in the response signed by the issuer,
// with EKU id-kp-OCSPSigning, valid at |now|, matching the ResponderID),
// signature over tbsResponseData, nonce, then times. It fills |out| and
// returns its verdict.
fg_ocsp_verdict fg_ocsp_check(fg_ocsp_result *out, const fg_ocsp_response *resp, X509 *cert,
                              X509 *issuer, int64_t now, const fg_ocsp_check_params *params);

// fg_ocsp_check_der parses |der| with default limits and checks it as
// |fg_ocsp_check| does; a response that does not parse is
// FG_OCSP_ERR_MALFORMED (with the parser's reason in |out->detail|).
fg_ocsp_verdict fg_ocsp_check_der(fg_ocsp_result *out, const uint8_t *der, size_t der_len,
                                  X509 *cert, X509 *issuer, int64_t now,
                                  const fg_ocsp_check_params *params);

#ifdef __cplusplus
}
#endif

#endif  // FEDGATE_CRYPTO_OCSP_H
