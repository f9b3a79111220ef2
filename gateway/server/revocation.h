// revocation.h: revocation checking of remote servers' certificates
// (docs/revocation.md): the shared OCSP response cache (crypto/ocsp_cache.h)
// answers from memory during chain verification; what it does not know is
// fetched (OCSP from the responder named in the certificate or configured
// for its CA, then the CRL) without blocking the worker, while the one stream
// that needs the answer waits.
//
// Two passes over a validated path use the chain's revocation hook
// (crypto/chain.h, fg_revocation_hook):
//   - the probe (|collect| set): answers from the cache; a certificate the
//     cache does not know is recorded as missing and does not fail the path;
//   - the decision (|collect| clear): a certificate without an answer is
//     "no answer", which the mode settles: soft-fail accepts (counted),
//     hard-fail refuses. A revoked certificate always fails the path.
// Between them, fg_revocation_fetch_start fetches the missing answers into
// the cache (a failed fetch is remembered briefly as a negative entry). A
// response the peer stapled, when the probe carries one, is checked against
// the leaf and its issuer first and cached like a fetched answer when it is
// good or revoked (an invalid one is ignored).
#ifndef FEDGATE_GATEWAY_SERVER_REVOCATION_H
#define FEDGATE_GATEWAY_SERVER_REVOCATION_H

#include <stdint.h>

#include <openssl/x509.h>

#include "crypto/chain.h"
#include "gateway/config/config.h"
#include "gateway/server/metrics.h"
#include "gateway/server/responders.h"
#include "io/dns.h"
#include "io/worker.h"

typedef struct fg_revocation fg_revocation;

#define FG_REVOCATION_MAX_MISSING 8

// fg_revocation_new prepares checking for |cfg|'s revocation section: the
// cache, the HTTP client on |rt|'s workers (names resolved with |dns|, may
// be NULL); |responders| (gateway/server/responders.h, may be NULL) must
// outlive it. It returns NULL
// with a message in |err| on failure.
fg_revocation *fg_revocation_new(const fg_config *cfg, const fg_responders *responders,
                                 fg_runtime *rt, struct fg_dns *dns, fg_metrics *metrics, char *err,
                                 size_t err_len);

// fg_revocation_free frees |r| once |rt| has been shut down. NULL: no-op.
void fg_revocation_free(fg_revocation *r);

// fg_revocation_mode_in returns the mode for remote |domain| in |cfg| (the
// snapshot in force: revocation.mode and revocation.domains reload): a
// per-domain override, else revocation.mode. |domain| may be NULL or "".
fg_revocation_mode fg_revocation_mode_in(const fg_config *cfg, const char *domain);

// fg_revocation_needed returns 1 unless every mode of |cfg| is off.
int fg_revocation_needed(const fg_config *cfg);

// fg_revocation_generation changes whenever a revocation is learned: cached
// certificate verdicts carry it and are not trusted across a change.
uint32_t fg_revocation_generation(const fg_revocation *r);

// fg_revocation_settings are the revocation keys a reload may change, copied
// from the snapshot in force when a probe starts: a fetch started by the
// probe keeps them, whatever reloads meanwhile.
typedef struct fg_revocation_settings {
  int leaf_only;
  uint32_t timeout_ms, clock_skew_s, negative_ttl_s;
} fg_revocation_settings;

// fg_revocation_probe is one pass over a path (see above).
typedef struct fg_revocation_probe {
  fg_revocation *rev;
  fg_revocation_settings set;
  fg_revocation_mode mode;
  int collect;
  int64_t now;
  int64_t expires;  // the earliest expiry of the answers relied on (0: none)
  int revoked, no_answer, n_missing;
  // The peer's stapled OCSP response (RFC 6066 §8), borrowed, or NULL: the
  // hook judges it for the leaf before the cache, once.
  const uint8_t *staple;
  size_t staple_len;
  X509 *missing_cert[FG_REVOCATION_MAX_MISSING], *missing_issuer[FG_REVOCATION_MAX_MISSING];
  char why[160];
} fg_revocation_probe;

// fg_revocation_probe_init prepares a pass of |r| under |mode| with the
// settings of |cfg| (the snapshot in force).
void fg_revocation_probe_init(fg_revocation_probe *p, fg_revocation *r, const fg_config *cfg,
                              fg_revocation_mode mode, int collect);

// fg_revocation_probe_cleanup releases the missing certificates it holds.
void fg_revocation_probe_cleanup(fg_revocation_probe *p);

// fg_revocation_hook is the chain's revocation hook (|arg|: a probe).
fg_chain_status fg_revocation_hook(void *arg, X509 *cert, X509 *issuer, int depth);

// fg_revocation_params points |params|' hook at |p| (nothing when p's mode
// is off).
void fg_revocation_params(fg_chain_params *params, fg_revocation_probe *p);

typedef struct fg_revocation_fetch fg_revocation_fetch;

// fg_revocation_fetch_start fetches answers for |p|'s missing certificates
// on worker |w| (its thread). |done|(|arg|) runs later on |w| once every
// answer is in the cache (or remembered as missing), unless cancelled. It
// returns NULL when there is nothing to fetch (then |done| never runs).
fg_revocation_fetch *fg_revocation_fetch_start(fg_revocation *r, fg_worker *w,
                                               fg_revocation_probe *p, void (*done)(void *arg),
                                               void *arg);

// fg_revocation_fetch_cancel abandons |f| (on its worker): |done| never runs.
void fg_revocation_fetch_cancel(fg_revocation_fetch *f);

#endif  // FEDGATE_GATEWAY_SERVER_REVOCATION_H
