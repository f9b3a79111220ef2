// metrics.h: the gateway's counters and their Prometheus text rendering for
// the admin endpoint's /metrics. Each thread counts in a shard of its own
// (a plain add, no locked instruction: two per stanza cost 15 % of the relay
// path as shared atomics); reading sums the shards.
#ifndef FEDGATE_GATEWAY_METRICS_H
#define FEDGATE_GATEWAY_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/s2s/auth_method.h"
#include "gateway/s2s/bounce.h"
#include "gateway/s2s/s2s_in.h"

typedef enum fg_metric {
  FG_M_STREAMS_IN_ACCEPTED = 0,
  FG_M_STREAMS_IN_REFUSED_PER_IP,  // over limits.streams_per_ip
  FG_M_STREAMS_IN_CLOSED,
  FG_M_AUTH_SASL_EXTERNAL,
  FG_M_AUTH_DIALBACK,
  FG_M_AUTH_DIALBACK_CERT,
  FG_M_DIALBACK_INVALID,
  FG_M_DIALBACK_UNSOLICITED,
  FG_M_DIALBACK_VERIFY_ASKED,
  FG_M_DIALBACK_VERIFY_ANSWERED,  // as authoritative server
  FG_M_SASL_FAILURES,
  FG_M_STREAM_ERRORS_SENT,
  FG_M_STANZAS_IN,             // accepted from authenticated remote streams
  FG_M_STANZAS_DELIVERED,      // written to a ready hop or outbound stream
  FG_M_STANZAS_QUEUED,         // held until the hop stream is ready
  FG_M_STANZAS_BOUNCED,        // answered with an error stanza
  FG_M_STANZAS_NOT_BOUNCED,    // undeliverable and not bounceable (error, iq result, ...)
  FG_M_BOUNCES_SENT,           // bounces written to a ready stream towards the sender
  FG_M_BOUNCES_UNDELIVERABLE,  // bounces that could not reach the sender either
  FG_M_HOP_STREAMS_OPENED,
  FG_M_HOP_STREAMS_READY,
  FG_M_HOP_STREAMS_FAILED,
  FG_M_INTERNAL_CERTS_MINTED,
  FG_M_REMOTE_STREAMS_OPENED,
  FG_M_REMOTE_STREAMS_READY,
  FG_M_REMOTE_STREAMS_FAILED,
  FG_M_UNREACHABLE_SHORTCUTS,  // stanzas bounced at once: domain in backoff
  FG_M_FLOW_PAUSES,            // input streams paused because the link they feed was congested
  FG_M_VERDICT_CACHE_HITS,     // certificate checks answered by gateway/server/verdict_cache.h
  FG_M_TARGETS_REFUSED,        // outbound targets refused: own listener, special-purpose address
  FG_M_LOOPS_REFUSED,          // outbound streams that reached this gateway itself
  FG_M_DIALBACK_REFUSED,       // db:result refused by policy (dialback off, TLS required)
  FG_M_AUTH_REFUSED_SOURCE,    // internal listener: a hosted domain claimed from a non-backend
                               // address
  FG_M_REVOCATION_CACHE_HITS,  // revocation answers found in the shared OCSP cache
  FG_M_REVOCATION_OCSP_OK,     // OCSP fetches that gave an answer
  FG_M_REVOCATION_OCSP_FAILED,
  FG_M_REVOCATION_CRL_OK,  // CRL fetches that gave an answer
  FG_M_REVOCATION_CRL_FAILED,
  FG_M_REVOCATION_SOFT_FAIL_ACCEPTED,  // no answer, accepted under soft-fail
  FG_M_REVOCATION_HARD_FAIL_REFUSED,   // no answer, refused under hard-fail
  FG_M_PEERS_REFUSED_REVOKED,          // peer certificates refused as revoked
  FG_M_REVOCATION_WAITS,               // streams that waited for a revocation answer
  FG_M_REVOCATION_STAPLES_USED,        // remote servers' stapled responses taken as answers
  FG_M_REVOCATION_STAPLES_INVALID,     // remote servers' stapled responses ignored
  FG_M_STAPLE_FETCHES_OK,              // our certificates' responses fetched, good, stapled
  FG_M_STAPLE_FETCHES_FAILED,          // failed, or an answer that is not stapled
  FG_M_DANE_TARGETS_REFUSED,  // outbound targets left out: bogus DNSSEC or a failed TLSA lookup
  FG_M_DANE_TLSA_UNUSABLE,    // TLSA records ignored: unknown parameters, bad digest length
  FG_M_DANE_MISMATCH,         // peer certificates refused by a secure, usable TLSA RRset
  FG_M_DANE_INBOUND_OK,       // inbound peers authenticated by their own TLSA records
  FG_M_DANE_INBOUND_FAILED,   // inbound DANE checks that did not authenticate the peer
  FG_M_COUNT,
} fg_metric;

// FG_METRICS_SHARDS: threads beyond FG_METRICS_SHARDS - 1 share the last
// shard (with atomic increments).
#define FG_METRICS_SHARDS 64

typedef struct fg_metrics_shard {
  _Alignas(64) _Atomic uint64_t v[FG_M_COUNT];
} fg_metrics_shard;

typedef struct fg_metrics {
  fg_metrics_shard shard[FG_METRICS_SHARDS];
  _Atomic uint64_t stream_errors[32];  // by condition index (see metrics.c)
  _Atomic uint64_t bounces[FG_STANZA_CONDITION_COUNT];
  _Atomic uint64_t links_authenticated[FG_AUTH_METHOD_COUNT];  // outbound, by method
} fg_metrics;

// fg_metrics_thread_shard returns the calling thread's shard index.
int fg_metrics_thread_shard(void);

// fg_metrics_inc adds one to |m|.
static inline void fg_metrics_inc(fg_metrics *ms, fg_metric m) {
  int s = fg_metrics_thread_shard();
  _Atomic uint64_t *c = &ms->shard[s].v[m];
  if (s < FG_METRICS_SHARDS - 1) {  // this thread is the only writer
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
  } else {
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
  }
}

// fg_metrics_get sums |m| over the shards.
uint64_t fg_metrics_get(const fg_metrics *ms, fg_metric m);

// fg_metrics_set makes |m| read |value|; only for counters that nothing
// increments (values mirrored from elsewhere, e.g. certificates minted).
void fg_metrics_set(fg_metrics *ms, fg_metric m, uint64_t value);

// fg_metrics_stream_error counts a stream error sent, by RFC 6120 condition.
void fg_metrics_stream_error(fg_metrics *ms, const char *condition);

// fg_metrics_bounce counts a bounce by stanza error condition.
void fg_metrics_bounce(fg_metrics *ms, fg_stanza_condition c);

// fg_metrics_link_authenticated counts an outbound link that became ready,
// by what authenticated its peer.
void fg_metrics_link_authenticated(fg_metrics *ms, fg_auth_method m);

// fg_metrics_name returns the Prometheus name of |m| (without the fedgate_ prefix).
const char *fg_metrics_name(fg_metric m);

// fg_metrics_render writes every counter in Prometheus text format into |out|
// (capacity |cap|) and returns the length written (truncated at |cap|).
size_t fg_metrics_render(const fg_metrics *ms, char *out, size_t cap);

#endif  // FEDGATE_GATEWAY_METRICS_H
