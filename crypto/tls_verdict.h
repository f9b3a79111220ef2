// tls_verdict.h: what fedgate concluded about a TLS peer's certificate in a
// full handshake (types only: shared by crypto/tls.h and the client session
// cache, crypto/session_cache.h, which keeps it with every session so that a
// resumed link is trusted exactly as much as the handshake that created it).
#ifndef FEDGATE_CRYPTO_TLS_VERDICT_H
#define FEDGATE_CRYPTO_TLS_VERDICT_H

#include <stdint.h>

// FG_TLS_VERDICT_DOMAIN_MAX is the longest domain a verdict names (RFC 1035).
#define FG_TLS_VERDICT_DOMAIN_MAX 253

typedef struct fg_tls_verdict {
  // result is the verify hook's fg_tls_verify_result (0: the peer sent no
  // certificate, or no hook ran).
  int result;
  // chain, identity and revocation are the verifier's own verdict codes
  // (e.g. fg_chain_status, fg_identity_status, a revocation outcome),
  // meaningful when |recorded| is set (fg_tls_conn_set_verdict). The TLS
  // layer only carries them.
  int recorded;
  int chain, identity, revocation;
  // scope names what the verdict depended on (trust store, identity rules,
  // revocation knowledge): a session verified under another scope is not
  // offered again (fg_tls_ctx_config.verify_scope).
  uint64_t scope;
  // domain is the name the certificate was verified for.
  char domain[FG_TLS_VERDICT_DOMAIN_MAX + 1];
} fg_tls_verdict;

#endif  // FEDGATE_CRYPTO_TLS_VERDICT_H
