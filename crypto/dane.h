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

#include "crypto/tlsa.h"

#ifdef __cplusplus
extern "C" {
#endif

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
