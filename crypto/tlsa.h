// tlsa.h: TLSA records as data (RFC 6698 §2.1): the record set a DNS
// answer carries, its bounds, and whether each record can be used (RFC 7671
// §4.1). No cryptography: io/dns parses into it, crypto/dane matches it.
#ifndef FEDGATE_CRYPTO_TLSA_H
#define FEDGATE_CRYPTO_TLSA_H

#include <stddef.h>
#include <stdint.h>

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

#ifdef __cplusplus
}
#endif

#endif  // FEDGATE_CRYPTO_TLSA_H
