// crl.h: certificate revocation lists (RFC 5280 §5): a strict DER parser,
// the signature and freshness check against the issuer, lookup of a serial
// number, and the revocation URLs a certificate names (CRL distribution
// points and the AIA OCSP responders). No I/O, no threads: the caller
// fetches and caches. See docs/revocation.md.
#ifndef FEDGATE_CRYPTO_CRL_H
#define FEDGATE_CRYPTO_CRL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

// FG_CRL_DEFAULT_MAX_BYTES is the default limit on a CRL's size.
#define FG_CRL_DEFAULT_MAX_BYTES (10 * 1024 * 1024)
// FG_CRL_REASON_NONE is an entry without a reasonCode extension.
#define FG_CRL_REASON_NONE (-1)

// fg_crl_entry is one revokedCertificates entry; |serial| points into the CRL.
typedef struct fg_crl_entry {
  CBS serial;  // userCertificate INTEGER contents
  int64_t revocation_date;
  int reason;  // CRLReason (RFC 5280 §5.3.1) or FG_CRL_REASON_NONE
} fg_crl_entry;

// fg_crl is a parsed CRL. Read its fields; never write them.
typedef struct fg_crl {
  CBS tbs;        // tbsCertList, whole TLV: the signed bytes
  CBS issuer;     // issuer Name, whole TLV
  CBS sig_alg;    // signatureAlgorithm, whole TLV
  CBS signature;  // BIT STRING contents after the unused-bits octet
  int64_t this_update;
  int has_next_update;
  int64_t next_update;
  fg_crl_entry *entries;  // sorted by serial for lookup
  size_t num_entries;
  uint8_t *der_;  // private: the owned copy
  size_t der_len_;
} fg_crl;

// fg_crl_parse parses the DER CertificateList |in| (RFC 5280 §5.1) of at
// most |max_bytes| bytes (0: FG_CRL_DEFAULT_MAX_BYTES). Refused: anything
// not DER, a version other than v2 when present, differing inner and outer
// signature algorithms, an unknown critical CRL or entry extension, a delta
// CRL (deltaCRLIndicator), a scoped CRL (issuingDistributionPoint) and an
// indirect CRL entry (certificateIssuer), which fedgate does not support.
// It returns a new CRL (free with fg_crl_free), or NULL with a static
// one-line reason in |*out_reason| (when not NULL).
fg_crl *fg_crl_parse(const uint8_t *in, size_t in_len, size_t max_bytes, const char **out_reason);

// fg_crl_free releases |crl| (NULL is a no-op).
void fg_crl_free(fg_crl *crl);

// fg_crl_status is the outcome of |fg_crl_check|.
typedef enum fg_crl_status {
  FG_CRL_OK = 0,
  FG_CRL_ERR_MALFORMED,        // the issuer certificate does not parse
  FG_CRL_ERR_WRONG_ISSUER,     // the CRL's issuer is not the certificate's subject
  FG_CRL_ERR_NOT_CRL_SIGNER,   // the issuer's keyUsage lacks cRLSign (RFC 5280 §4.2.1.3)
  FG_CRL_ERR_BAD_SIGNATURE,    // the signature does not verify
  FG_CRL_ERR_UNSUPPORTED_ALG,  // signature algorithm or key refused
  FG_CRL_ERR_NOT_YET_VALID,    // thisUpdate is in the future (beyond the skew)
  FG_CRL_ERR_EXPIRED,          // past nextUpdate (or too old without one)
} fg_crl_status;

// fg_crl_status_string returns a short name ("ok", "expired", ...).
const char *fg_crl_status_string(fg_crl_status s);

// fg_crl_check checks that |crl| was issued and signed by |issuer| and is
// current at |now| (POSIX seconds) with |skew| seconds of tolerance; a CRL
// without nextUpdate counts as expired once thisUpdate is older than
// |max_age| seconds. It returns FG_CRL_OK or the first problem found.
fg_crl_status fg_crl_check(const fg_crl *crl, X509 *issuer, int64_t now, int64_t skew,
                           int64_t max_age);

// fg_crl_lookup looks for the serial number whose INTEGER contents are
// |serial| in |crl| (O(log n)). It returns 1 and fills |*out_date| and
// |*out_reason| (either may be NULL) when the serial is revoked, 0 otherwise.
int fg_crl_lookup(const fg_crl *crl, const uint8_t *serial, size_t serial_len, int64_t *out_date,
                  int *out_reason);

// fg_crl_reason_string returns the RFC 5280 §5.3.1 name of the CRLReason
// |reason| ("keyCompromise", ...), "none" for FG_CRL_REASON_NONE (also
// FG_OCSP_REASON_NONE), or "?" for a value RFC 5280 does not define.
const char *fg_crl_reason_string(int reason);

// fg_crl_lookup_cert is |fg_crl_lookup| with the serial number of |cert|.
int fg_crl_lookup_cert(const fg_crl *crl, X509 *cert, int64_t *out_date, int *out_reason);

// FG_CRL_MAX_URLS and FG_CRL_MAX_URL_LEN bound |fg_crl_urls|; longer URLs
// and URLs beyond the count are skipped.
#define FG_CRL_MAX_URLS 4
#define FG_CRL_MAX_URL_LEN 512

// fg_crl_urls holds the http URLs of a certificate, in certificate order.
typedef struct fg_crl_urls {
  size_t num_crl;
  char crl[FG_CRL_MAX_URLS][FG_CRL_MAX_URL_LEN];  // cRLDistributionPoints fullName URIs
  size_t num_ocsp;
  char ocsp[FG_CRL_MAX_URLS][FG_CRL_MAX_URL_LEN];  // authorityInfoAccess id-ad-ocsp URIs
} fg_crl_urls;

// fg_crl_urls_from_cert fills |out| with the "http://" URLs of |cert|'s
// cRLDistributionPoints (RFC 5280 §4.2.1.13: fullName URIs of distribution
// points without reasons or cRLIssuer, i.e. complete, direct CRLs) and of
// its authorityInfoAccess id-ad-ocsp entries (§4.2.2.1). URLs with bytes
// outside printable ASCII are skipped. It returns 1 on success (possibly
// with no URL), 0 when the certificate or one of those extensions is
// malformed.
int fg_crl_urls_from_cert(fg_crl_urls *out, const uint8_t *der, size_t der_len);

#ifdef __cplusplus
}
#endif

#endif  // FEDGATE_CRYPTO_CRL_H
