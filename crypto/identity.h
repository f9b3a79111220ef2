// identity.h: the XMPP certificate identity matcher (RFC 6120 §13.7.1.2,
// RFC 9525, RFC 4985 SRV-ID, RFC 7622 XmppAddr).
//
// A certificate's identifiers are parsed and normalised once into an
// |fg_cert_ids| (see crypto/san.h for extracting them from DER); a reference
// domain is normalised once into an |fg_identity_ref|; matching the two is a
// loop of length checks and memcmp that allocates nothing.
//
// Policy (docs/identity.md, ../shared/vectors/README.md):
//  - names compare ASCII case-insensitively after U-labels are converted to
//    A-labels (libidn2, IDNA2008 with UTS #46 non-transitional mapping);
//  - one trailing dot is stripped from every name;
//  - every name, the reference included, must be a valid LDH host name
//    (labels of 1-63 letters, digits and '-', no '-' at either end, no empty
//    label, at most 253 characters, last label not all digits) or it never
//    matches;
//  - DNS-ID: exact, or "*." + a name of at least two labels, the '*' standing
//    for exactly one label that is not an A-label ("xn--");
//  - SRV-ID: "_Service.Name", Service equal to the expected service, Name
//    equal to the reference, never a wildcard;
//  - XmppAddr: only a bare domain equal to the reference;
//  - CN-ID: only with FG_IDENTITY_LEGACY_CN_ID and only when the certificate
//    has no dNSName, SRV-ID or XmppAddr SAN entry, matched by DNS-ID rules.
#ifndef FEDGATE_CRYPTO_IDENTITY_H
#define FEDGATE_CRYPTO_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// FG_IDENTITY_MAX_NAME is the longest host name kept, without trailing dot.
#define FG_IDENTITY_MAX_NAME 253
// FG_IDENTITY_MAX_SERVICE is the longest SRV service name kept.
#define FG_IDENTITY_MAX_SERVICE 63
// FG_CERT_IDS_MAX bounds how many identifiers one certificate may carry.
#define FG_CERT_IDS_MAX 1024

// fg_id_type is the kind of a presented identifier.
typedef enum fg_id_type {
  FG_ID_DNS = 1,  // SAN dNSName
  FG_ID_SRV,      // SAN otherName id-on-dnsSRV (1.3.6.1.5.5.7.8.7)
  FG_ID_XMPP,     // SAN otherName id-on-xmppAddr (1.3.6.1.5.5.7.8.5)
  FG_ID_CN,       // subject commonName (legacy only)
} fg_id_type;

// fg_presented_id is one identifier of a certificate, as stored and
// normalised. All pointers point into memory owned by the |fg_cert_ids|.
typedef struct fg_presented_id {
  fg_id_type type;
  uint8_t valid;     // 1 when the identifier can match anything
  uint8_t wildcard;  // DNS/CN: the name was "*." + |name|
  uint8_t service_len;
  uint8_t name_len;
  const uint8_t *raw;  // the bytes as stored in the certificate
  size_t raw_len;
  const char *service;  // SRV: lower-case service without the '_'
  const char *name;     // normalised name (see above), NUL-terminated
  // invalid_reason says why |valid| is 0 (a static string), else NULL.
  const char *invalid_reason;
} fg_presented_id;

// fg_cert_ids holds every identifier of one certificate.
typedef struct fg_cert_ids {
  fg_presented_id *ids;
  size_t num_ids;
  size_t cap_ids;
  // Counts of SAN entries by type, valid or not: any dNSName, SRV-ID or
  // XmppAddr entry turns the legacy CN fallback off (RFC 9525 §6.2.1).
  size_t num_san_dns, num_san_srv, num_san_xmpp, num_san_other;
} fg_cert_ids;

// fg_cert_ids_init prepares |ids| to be empty.
void fg_cert_ids_init(fg_cert_ids *ids);

// fg_cert_ids_cleanup releases everything |ids| owns and leaves it empty.
void fg_cert_ids_cleanup(fg_cert_ids *ids);

// fg_cert_ids_add normalises the identifier |raw| of type |type| and appends
// it to |ids|. A name that breaks the policy is still added, with |valid| 0
// and a reason, so it can be reported. It returns 1 on success and 0 on
// allocation failure or when FG_CERT_IDS_MAX identifiers are already held.
// It does not update the num_san_* counts (the SAN parser does).
int fg_cert_ids_add(fg_cert_ids *ids, fg_id_type type, const uint8_t *raw, size_t raw_len);

// fg_identity_ref is a normalised reference identifier plus the expected
// service. Caller-owned, no heap memory.
typedef struct fg_identity_ref {
  char name[FG_IDENTITY_MAX_NAME + 1];
  char service[FG_IDENTITY_MAX_SERVICE + 1];
  uint8_t name_len;
  uint8_t service_len;
  uint8_t first_label_len;
  uint8_t first_label_is_alabel;  // left-most label starts with "xn--"
  uint8_t valid;
  const char *invalid_reason;  // static string when |valid| is 0
} fg_identity_ref;

// fg_identity_ref_init normalises the reference domain |domain| (ASCII or
// UTF-8; U-labels are converted to A-labels) and the expected |service|
// (e.g. "xmpp-server"; NULL means "xmpp-server") into |ref|. It returns 1
// when the reference is valid, 0 when it can never match (then
// |ref->invalid_reason| says why; |ref| is still usable and matches nothing).
int fg_identity_ref_init(fg_identity_ref *ref, const uint8_t *domain, size_t domain_len,
                         const char *service);

// Flags for |fg_identity_match|.
#define FG_IDENTITY_LEGACY_CN_ID 1u  // allow the subject CN (legacy_cn_id)

// fg_identity_status is the outcome of a match.
typedef enum fg_identity_status {
  FG_IDENTITY_MATCH = 0,
  FG_IDENTITY_NOMATCH,                // identifiers presented, none matched
  FG_IDENTITY_NOMATCH_NO_IDS,         // nothing usable was presented
  FG_IDENTITY_NOMATCH_BAD_REFERENCE,  // the reference itself is invalid
} fg_identity_status;

// fg_identity_result says which identifier matched.
typedef struct fg_identity_result {
  fg_identity_status status;
  const fg_presented_id *matched;  // points into the fg_cert_ids, or NULL
} fg_identity_result;

// fg_identity_match checks |ids| against |ref| under |flags|, fills |out|
// (which may be NULL) and returns the status. It never allocates.
fg_identity_status fg_identity_match(fg_identity_result *out, const fg_cert_ids *ids,
                                     const fg_identity_ref *ref, unsigned flags);

// fg_identity_id_mismatch returns a short static string saying why |id|
// does not match |ref| under |flags| and |ids| (the certificate |id| belongs
// to), or NULL when it matches.
const char *fg_identity_id_mismatch(const fg_presented_id *id, const fg_cert_ids *ids,
                                    const fg_identity_ref *ref, unsigned flags);

// fg_presented_id_format writes "dns:NAME", "srv:RAW", "xmpp:RAW" or "cn:RAW"
// into |out| (always NUL-terminated when |out_len| > 0), escaping bytes
// outside 0x21..0x7E as \xNN. It returns the length it wanted to write.
size_t fg_presented_id_format(char *out, size_t out_len, const fg_presented_id *id);

// fg_identity_explain writes into |out| a one-line explanation of |result|:
// the matched identifier, or every presented identifier with the reason it
// did not match. It returns the length it wanted to write.
size_t fg_identity_explain(char *out, size_t out_len, const fg_cert_ids *ids,
                           const fg_identity_ref *ref, unsigned flags,
                           const fg_identity_result *result);

// fg_identity_status_string returns a fixed name for |status|.
const char *fg_identity_status_string(fg_identity_status status);

#ifdef __cplusplus
}
#endif

#endif  // FEDGATE_CRYPTO_IDENTITY_H
