// verdict_cache.h: remembers, per worker thread, which certificate chains
// were found valid for which domain, so that a peer reconnecting (TLS
// resumption, connection churn) does not pay for the chain's signatures
// again. Only positive verdicts are kept, each until the earlier of
// FG_VERDICT_TTL_S from now and the earliest notAfter on its verified path.
// The key is SHA-256 over the whole presented chain, the domain and a scope
// (role, trust store, identity rules, revocation knowledge, configuration),
// each field hashed whole, so nothing but an identical question can hit.
#ifndef FEDGATE_GATEWAY_VERDICT_CACHE_H
#define FEDGATE_GATEWAY_VERDICT_CACHE_H

#include <stdint.h>

#include <openssl/pool.h>

#define FG_VERDICT_TTL_S 300

typedef struct fg_verdict_key {
  uint8_t b[32];
} fg_verdict_key;

// fg_verdict_role: who asked. A chain found valid for an inbound stream
// (the peer as client) is not thereby valid for an outbound link (the peer
// as server), and the inbound check of the chain alone, without a domain,
// is a question of its own.
typedef enum fg_verdict_role {
  FG_VERDICT_INBOUND = 1,
  FG_VERDICT_INBOUND_CHAIN,
  FG_VERDICT_OUTBOUND,
} fg_verdict_role;

// fg_verdict_scope is everything besides the chain and the domain that a
// verdict depends on. A change in any field gives another key.
typedef struct fg_verdict_scope {
  fg_verdict_role role;
  uint8_t internal;                // 1: the internal servers' trust store
  uint8_t identity_flags;          // FG_IDENTITY_* (crypto/identity.h)
  uint8_t revocation_mode;         // fg_revocation_mode; FG_REVOCATION_OFF when not checked
  uint32_t trust_generation;       // a replaced trust store voids what the old one decided
  uint32_t revocation_generation;  // a learned revocation voids cached verdicts; 0 when off
  uint64_t config_generation;      // a reload may change the trust stores and rules
} fg_verdict_scope;

// fg_verdict_key_make computes the key of (|chain|, |domain|, |scope|). It
// returns 1, or 0 when there is nothing to key (empty chain).
int fg_verdict_key_make(fg_verdict_key *k, const STACK_OF(CRYPTO_BUFFER) * chain,
                        const char *domain, const fg_verdict_scope *scope);

// fg_verdict_cache_hit returns 1 when this thread holds a positive verdict
// for |k| that is still valid at |now| (seconds since the epoch).
int fg_verdict_cache_hit(const fg_verdict_key *k, int64_t now);

// fg_verdict_cache_put records a positive verdict for |k| found at |now|
// whose path is valid until |valid_until| (fg_chain_verdict.valid_until).
void fg_verdict_cache_put(const fg_verdict_key *k, int64_t now, int64_t valid_until);

// fg_verdict_cache_clear forgets this thread's verdicts (tests).
void fg_verdict_cache_clear(void);

#endif  // FEDGATE_GATEWAY_VERDICT_CACHE_H
