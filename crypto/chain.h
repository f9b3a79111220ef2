// chain.h: certificate chain validation for s2s peers (RFC 5280 path
// validation by BoringSSL's verifier, plus fedgate's policy: weak algorithms,
// EKU per direction, per-domain pins) and the combined peer verdict (chain +
// XMPP identity, crypto/identity.h) that the TLS layer asks for.
//
// Everything here is safe to call from BoringSSL's SSL_CTX_set_custom_verify
// callback: trust stores are loaded completely into memory when built (a
// directory is read at load time, never looked up lazily), so verification
// does no file or network I/O. Revocation goes through a caller-supplied hook
// that must answer from memory (the OCSP cache, later issue).
//
// Trust stores are immutable once published: build one, then share it
// read-only between workers (BoringSSL's X509_STORE locks internally).
#ifndef FEDGATE_CRYPTO_CHAIN_H
#define FEDGATE_CRYPTO_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/pool.h>
#include <openssl/x509.h>

#include "crypto/identity.h"

#ifdef __cplusplus
extern "C" {
#endif

// FG_TRUST_DEFAULT_BUNDLE is the system CA bundle (Debian ca-certificates).
#define FG_TRUST_DEFAULT_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
// FG_CHAIN_DEFAULT_MAX_DEPTH is the default limit on intermediates between
// the leaf and the trust anchor.
#define FG_CHAIN_DEFAULT_MAX_DEPTH 6
// FG_CHAIN_MAX_PRESENTED bounds how many certificates a peer may send.
#define FG_CHAIN_MAX_PRESENTED 16

typedef struct fg_trust_store fg_trust_store;

// fg_trust_store_new returns an empty trust store, or NULL.
fg_trust_store *fg_trust_store_new(void);

// fg_trust_store_free releases |ts| (NULL is a no-op).
void fg_trust_store_free(fg_trust_store *ts);

// fg_trust_store_load adds every certificate found at |path|: a PEM bundle
// (or one DER certificate) when it is a file, every such file directly
// inside it when it is a directory (read now, not at verification time).
// NULL means FG_TRUST_DEFAULT_BUNDLE. It returns the number of certificates
// added (duplicates count once), or 0 with a message in |err| when the path
// is unreadable or holds no certificate.
size_t fg_trust_store_load(fg_trust_store *ts, const char *path, char *err, size_t err_len);

// fg_trust_store_add_cert trusts |cert| as an anchor (it takes its own
// reference). It returns 1 on success.
int fg_trust_store_add_cert(fg_trust_store *ts, X509 *cert);

// fg_pin_kind selects what a per-domain pin fixes.
typedef enum fg_pin_kind {
  FG_PIN_CA = 1,  // the chain must lead to this CA (only); the global store is ignored
  FG_PIN_LEAF,    // the peer must present exactly this certificate (may be self-signed)
} fg_pin_kind;

// fg_trust_store_pin pins |cert| for the remote |domain| (normalised like a
// reference identifier). A domain has at most one pin; pinning again
// replaces it. It returns 1 on success, 0 for an invalid domain or on
// allocation failure.
int fg_trust_store_pin(fg_trust_store *ts, const char *domain, fg_pin_kind kind, X509 *cert);

// fg_chain_role says which side of the stream the peer is on.
typedef enum fg_chain_role {
  FG_ROLE_OUTBOUND = 0,  // we connected: the peer is a TLS server (serverAuth)
  FG_ROLE_INBOUND,       // the peer connected and sent a client certificate:
                         // real servers reuse their server certificate, so
                         // serverAuth or clientAuth is accepted
} fg_chain_role;

// fg_chain_status is the chain verdict.
typedef enum fg_chain_status {
  FG_CHAIN_OK = 0,
  FG_CHAIN_EXPIRED,         // RFC 5280 §6.1.3 (a)(2)
  FG_CHAIN_NOT_YET_VALID,   // RFC 5280 §6.1.3 (a)(2)
  FG_CHAIN_UNKNOWN_CA,      // no path to a trust anchor (unknown CA or missing intermediate)
  FG_CHAIN_SELF_SIGNED,     // self-signed leaf that is not pinned
  FG_CHAIN_NOT_A_CA,        // an issuer lacks basicConstraints cA (RFC 5280 §6.1.4 (k))
  FG_CHAIN_PATH_LENGTH,     // pathLenConstraint exceeded (RFC 5280 §6.1.4 (l)-(m))
  FG_CHAIN_BAD_EKU,         // key usage / extended key usage forbids this use
  FG_CHAIN_WEAK_SIGNATURE,  // MD5/SHA-1 or unknown signature algorithm
  FG_CHAIN_WEAK_KEY,        // RSA below 2048 bits, DSA, or an unsupported curve
  FG_CHAIN_BAD_SIGNATURE,   // a signature does not verify
  FG_CHAIN_TOO_LONG,        // more than the maximum depth
  FG_CHAIN_PIN_MISMATCH,    // the domain is leaf-pinned and this is another certificate
  FG_CHAIN_REVOKED,         // the revocation hook said so
  FG_CHAIN_MALFORMED,       // a certificate does not parse, or the chain is empty
  FG_CHAIN_INVALID,         // any other RFC 5280 failure (see x509_error)
  FG_CHAIN_INTERNAL,        // allocation failure
} fg_chain_status;

// fg_revocation_fn is the revocation hook: it is called for each
// certificate of a successfully built path except the trust anchor, with its
// issuer and depth (0 = leaf), and returns FG_CHAIN_OK, FG_CHAIN_REVOKED, or
// another status to fail the chain (e.g. FG_CHAIN_INVALID when the policy
// requires a fresh OCSP answer that is missing). It runs on the handshake
// path and must not block: answer from the shared OCSP cache.
typedef fg_chain_status (*fg_revocation_fn)(void *arg, X509 *cert, X509 *issuer, int depth);

// fg_chain_params configures one verification. Zero-initialised means:
// outbound, now, FG_CHAIN_DEFAULT_MAX_DEPTH, no revocation check.
typedef struct fg_chain_params {
  fg_chain_role role;
  int64_t at;     // verification time (POSIX seconds); 0 means now
  int max_depth;  // intermediates allowed; 0 means the default
  fg_revocation_fn revocation;
  void *revocation_arg;
} fg_chain_params;

// fg_chain_verdict is the outcome of fg_chain_verify.
typedef struct fg_chain_verdict {
  fg_chain_status status;
  int depth;         // depth of the certificate concerned (0 = leaf), -1 if none
  int x509_error;    // BoringSSL's X509_V_ERR_* when it decided, else 0
  int pinned;        // 1 when a per-domain pin was used
  char reason[192];  // one line: status name and detail
  // valid_until: when OK, the earliest notAfter (seconds since the epoch)
  // of the certificates on the verified path: a cached verdict must not
  // outlive it. 0 otherwise.
  int64_t valid_until;
} fg_chain_verdict;

// fg_chain_verify validates |leaf| with the untrusted |intermediates| (may
// be NULL) for the remote |domain| (selects a pin; may be NULL) against |ts|
// under |params| (NULL: defaults). It fills |out| and returns its status.
fg_chain_status fg_chain_verify(fg_chain_verdict *out, const fg_trust_store *ts, X509 *leaf,
                                STACK_OF(X509) * intermediates, const char *domain,
                                const fg_chain_params *params);

// fg_chain_verify_buffers is fg_chain_verify for the peer chain as BoringSSL
// hands it to a custom-verify callback (SSL_get0_peer_certificates: leaf
// first).
fg_chain_status fg_chain_verify_buffers(fg_chain_verdict *out, const fg_trust_store *ts,
                                        const STACK_OF(CRYPTO_BUFFER) * chain, const char *domain,
                                        const fg_chain_params *params);

// fg_chain_status_string returns a short fixed token for |status|
// ("ok", "expired", "unknown-ca", ...).
const char *fg_chain_status_string(fg_chain_status status);

// fg_peer_verdict is the whole answer for one peer: chain and identity.
typedef struct fg_peer_verdict {
  int ok;                  // chain OK and identity matched
  fg_chain_verdict chain;  // the chain verdict
  fg_cert_ids ids;         // the leaf's identifiers (owned; see cleanup)
  fg_identity_ref ref;     // the normalised reference
  fg_identity_result identity;
  // san_error is set (static string) when the leaf's identifiers could not
  // be parsed; the identity then fails.
  const char *san_error;
} fg_peer_verdict;

// fg_peer_verify checks the peer |chain| (leaf first) for |domain| and
// |service| (NULL: "xmpp-server") with identity |identity_flags|
// (FG_IDENTITY_LEGACY_CN_ID) and chain |params|. The identity is judged
// even when the chain fails. It returns |out->ok|. Call
// fg_peer_verdict_cleanup afterwards whatever it returned.
int fg_peer_verify(fg_peer_verdict *out, const fg_trust_store *ts,
                   const STACK_OF(CRYPTO_BUFFER) * chain, const char *domain, const char *service,
                   unsigned identity_flags, const fg_chain_params *params);

// fg_peer_verdict_cleanup releases what |v| owns.
void fg_peer_verdict_cleanup(fg_peer_verdict *v);

// fg_chain_find_issuer returns a new reference to the certificate that
// issued |cert| (its subject is |cert|'s issuer Name and its key verifies
// |cert|'s signature): the first such one of |candidates| (a presented
// chain; may be NULL; |cert| itself is skipped), else of the anchors of |ts|
// (may be NULL). It returns NULL when there is none. For revocation checks,
// which need the issuer's name and key (RFC 6960 §4.1.1).
X509 *fg_chain_find_issuer(STACK_OF(X509) * candidates, fg_trust_store *ts, X509 *cert);

// fg_chain_read_certs appends to |out| every certificate in the file |path|
// (PEM, any number; or a single DER certificate). It returns the number
// read, or 0 with a message naming the file and the problem in |err|.
size_t fg_chain_read_certs(STACK_OF(X509) * out, const char *path, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif  // FEDGATE_CRYPTO_CHAIN_H
