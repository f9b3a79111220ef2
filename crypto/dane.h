// dane.h: DANE TLSA records (RFC 6698, with the updates of RFC 7671 and the
// usage rules of RFC 7672 and RFC 7673) matched against a peer's
// certificate chain. Pure: no DNS, no I/O. The caller says which TLSA
// RRset applies (secure, from a validating resolver) and which names the
// certificate may carry; this module says whether the chain is authenticated
// by the RRset, and by which usage.
#ifndef FEDGATE_CRYPTO_DANE_H
#define FEDGATE_CRYPTO_DANE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/pool.h>

#ifdef __cplusplus
extern "C" {
#endif

// Certificate usages (RFC 7218 acronyms).
enum {
  FG_DANE_USAGE_PKIX_TA = 0,
  FG_DANE_USAGE_PKIX_EE = 1,
  FG_DANE_USAGE_DANE_TA = 2,
  FG_DANE_USAGE_DANE_EE = 3,
};
// Selectors.
enum { FG_DANE_SELECTOR_CERT = 0, FG_DANE_SELECTOR_SPKI = 1 };
// Matching types.
enum { FG_DANE_MATCH_FULL = 0, FG_DANE_MATCH_SHA256 = 1, FG_DANE_MATCH_SHA512 = 2 };

// FG_DANE_MAX_RECORDS bounds the records kept from one TLSA RRset.
#define FG_DANE_MAX_RECORDS 32
// FG_DANE_MAX_DATA bounds the association data of one record (a full
// certificate, matching type 0).
#define FG_DANE_MAX_DATA 8192

// fg_dane_tlsa is one TLSA record; |data| points into its fg_dane_rrset.
typedef struct fg_dane_tlsa {
  uint8_t usage, selector, mtype;
  size_t len;
  const uint8_t *data;
} fg_dane_tlsa;

// fg_dane_rrset owns the records of one TLSA RRset. Zero-initialised is
// empty.
typedef struct fg_dane_rrset {
  size_t n;
  fg_dane_tlsa rec[FG_DANE_MAX_RECORDS];
  uint8_t *data;  // every record's association data, back to back
  size_t data_len;
} fg_dane_rrset;

// fg_dane_rrset_add appends the record whose RDATA is |rdata| (RFC 6698
// §2.1: usage, selector, matching type, association data). It returns 1; 0
// when the RDATA is shorter than 4 bytes or its data longer than
// FG_DANE_MAX_DATA, the set is full, or memory runs out (|s| is unchanged).
int fg_dane_rrset_add(fg_dane_rrset *s, const uint8_t *rdata, size_t rdata_len);

// fg_dane_rrset_copy makes |dst| (uninitialised) a deep copy of |src|. It
// returns 1, or 0 (|dst| empty) when memory runs out.
int fg_dane_rrset_copy(fg_dane_rrset *dst, const fg_dane_rrset *src);

// fg_dane_rrset_cleanup frees what |s| owns and empties it.
void fg_dane_rrset_cleanup(fg_dane_rrset *s);

// fg_dane_usability says why a record cannot be used (RFC 7671 §4.1 and
// RFC 6698 §4.1: unknown parameters make a record unusable, never the set).
typedef enum fg_dane_usability {
  FG_DANE_USABLE = 0,
  FG_DANE_UNKNOWN_USAGE,
  FG_DANE_UNKNOWN_SELECTOR,
  FG_DANE_UNKNOWN_MTYPE,
  FG_DANE_BAD_DIGEST_LENGTH,  // SHA-256 not 32 bytes, SHA-512 not 64
  FG_DANE_EMPTY_DATA,
} fg_dane_usability;

// fg_dane_tlsa_usability checks |r|'s parameters.
fg_dane_usability fg_dane_tlsa_usability(const fg_dane_tlsa *r);

// fg_dane_usability_name returns a short token ("unknown-usage").
const char *fg_dane_usability_name(fg_dane_usability u);

// fg_dane_association writes the association data of the DER certificate
// |der| for |selector| and |mtype| into |out| (capacity |max_out|) and its
// length into |*out_len|: the certificate or its SubjectPublicKeyInfo, whole
// or hashed. It returns 1, or 0 for an unknown selector or matching type, a
// certificate that does not parse, or output that does not fit.
int fg_dane_association(uint8_t *out, size_t *out_len, size_t max_out, const uint8_t *der,
                        size_t der_len, uint8_t selector, uint8_t mtype);

// fg_dane_status is the verdict on a chain.
typedef enum fg_dane_status {
  FG_DANE_NO_USABLE = 0,  // no usable record: DANE does not apply (PKIX rules)
  FG_DANE_OK_EE,          // DANE-EE(3) matched the leaf
  FG_DANE_OK_TA,          // DANE-TA(2): a presented issuer matched, the chain leads to it,
                          // the leaf names a reference identifier
  FG_DANE_OK_PKIX_EE,     // PKIX-EE(1): PKIX-valid and the leaf matched
  FG_DANE_OK_PKIX_TA,     // PKIX-TA(0): PKIX-valid and a presented issuer matched
  FG_DANE_MISMATCH,       // usable records, none authenticates the chain
} fg_dane_status;

// fg_dane_status_name returns a short token ("dane-ee", "mismatch").
const char *fg_dane_status_name(fg_dane_status s);

// fg_dane_params is what the caller knows besides the records.
typedef struct fg_dane_params {
  // names are the reference identifiers for DANE-TA (RFC 7673 §4.2: the
  // service domain, and the SRV target host name when the SRV answer was
  // secure). DANE-EE ignores names and validity dates (RFC 7672 §3.1.1).
  const char *const *names;
  size_t n_names;
  const char *service;  // SRV-ID service ("xmpp-server"); NULL: "xmpp-server"
  int64_t at;           // verification time (POSIX seconds); 0: now
  unsigned identity_flags;
  // pkix_ok: the chain validated by PKIX for the service domain (the
  // caller's own check); the PKIX usages need it.
  int pkix_ok;
} fg_dane_params;

// fg_dane_verdict says what decided.
typedef struct fg_dane_verdict {
  fg_dane_status status;
  size_t n_usable, n_unusable;
  int record;        // index of the record that authenticated, else -1
  int depth;         // the chain position it matched (0: leaf), else -1
  char reason[224];  // one line for logs
} fg_dane_verdict;

// fg_dane_verify judges the presented |chain| (leaf first, |chain_len|
// certificates) against |tlsa| under |p|. Any usable record that
// authenticates the chain is enough (RFC 6698 §2.1.1); records that are not
// usable are counted and skipped. It fills |out| and returns its status.
fg_dane_status fg_dane_verify(fg_dane_verdict *out, const fg_dane_rrset *tlsa,
                              const CRYPTO_BUFFER *const *chain, size_t chain_len,
                              const fg_dane_params *p);

#ifdef __cplusplus
}
#endif

#endif  // FEDGATE_CRYPTO_DANE_H
