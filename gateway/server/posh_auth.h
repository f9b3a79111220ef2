// posh_auth.h: remote domains proved by POSH (RFC 7711; docs/posh.md).
// When a remote server's certificate does not validate by PKIX for its
// domain, the domain may still vouch for it by publishing the certificate's
// fingerprints at https://DOMAIN/.well-known/posh/xmpp-server.json (or a
// "url" there pointing at its hosting provider's POSH file, followed once).
//
// The documents are fetched on the worker that needs them, without blocking
// it (io/http_client over https://, its server checked by PKIX against the
// trust store), while only the stream that asked waits. Results are cached
// per worker, keyed by domain: a document for min(its "expires", max_ttl),
// a failure for negative_ttl. Per worker rather than shared: the answer
// arrives on the worker that asked and is read there, so no lock or
// reclamation is needed; the cost is at most one fetch per worker and
// domain per expiry, on a path taken only by certificates PKIX refused.
#ifndef FEDGATE_GATEWAY_SERVER_POSH_AUTH_H
#define FEDGATE_GATEWAY_SERVER_POSH_AUTH_H

#include <openssl/base.h>
#include <openssl/pool.h>

#include "crypto/chain.h"
#include "gateway/config/config.h"
#include "gateway/server/metrics.h"
#include "io/dns.h"
#include "io/worker.h"

typedef struct fg_posh_auth fg_posh_auth;

// FG_POSH_AUTH_CACHE_ENTRIES bounds each worker's cache; when full, the
// entry closest to expiry gives way.
#define FG_POSH_AUTH_CACHE_ENTRIES 1024

// FG_POSH_AUTH_MAX_PENDING bounds each worker's fetches under way: the
// domains are named by remote peers, who must not be able to make the
// gateway open connections without limit. Beyond it a stream goes without
// POSH (dialback), counted as fedgate_posh_failed_total{reason="busy"}.
#define FG_POSH_AUTH_MAX_PENDING 256

// fg_posh_auth_new prepares POSH for |cfg|'s tls.posh on |rt|'s workers
// (host names resolved with |dns|; HTTPS servers checked against |trust|,
// which must outlive it). It returns NULL when out of memory.
fg_posh_auth *fg_posh_auth_new(const fg_config *cfg, fg_runtime *rt, struct fg_dns *dns,
                               const fg_trust_store *trust, fg_metrics *metrics);

// fg_posh_auth_free frees |pa| once its runtime has been shut down. NULL:
// no-op.
void fg_posh_auth_free(fg_posh_auth *pa);

typedef enum fg_posh_verdict {
  FG_POSH_VERDICT_UNKNOWN = 0,  // nothing cached for the domain: fetch first
  FG_POSH_VERDICT_MATCH,        // a published fingerprint is the leaf's
  FG_POSH_VERDICT_MISMATCH,     // a document is published; the leaf is not in it
  FG_POSH_VERDICT_UNAVAILABLE,  // the last fetch failed (remembered for negative_ttl)
} fg_posh_verdict;

// fg_posh_verdict_name returns "unknown", "match", "mismatch" or "unavailable".
const char *fg_posh_verdict_name(fg_posh_verdict v);

// fg_posh_auth_verify answers from worker |w|'s cache whether |domain|'s
// POSH document lists the leaf of |chain|. MATCH and MISMATCH are counted
// (fedgate_posh_matched_total, fedgate_posh_mismatched_total) and a
// mismatch is logged with |stream_id| (may be NULL). On |w|'s thread.
fg_posh_verdict fg_posh_auth_verify(fg_posh_auth *pa, fg_worker *w, const char *domain,
                                    const STACK_OF(CRYPTO_BUFFER) * chain, const char *stream_id);

typedef struct fg_posh_auth_fetch fg_posh_auth_fetch;

// fg_posh_auth_fetch_start fetches |domain|'s POSH document on |w| (its
// thread) unless the cache holds an answer, sharing a fetch already under
// way for the domain. |done|(|arg|) runs later on |w| once the answer is in
// the cache, unless cancelled. It returns NULL when the cache already
// answers or nothing can be fetched (then |done| never runs).
fg_posh_auth_fetch *fg_posh_auth_fetch_start(fg_posh_auth *pa, fg_worker *w, const char *domain,
                                             void (*done)(void *arg), void *arg);

// fg_posh_auth_fetch_cancel abandons |f| (on its worker): |done| never
// runs; the fetch itself goes on and fills the cache. NULL: no-op.
void fg_posh_auth_fetch_cancel(fg_posh_auth_fetch *f);

#endif  // FEDGATE_GATEWAY_SERVER_POSH_AUTH_H
