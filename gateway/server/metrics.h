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
#include "io/proxy_header.h"

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
  FG_M_STANZAS_REWRITTEN,      // written anew before they are passed on, not as received
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
  FG_M_TICKET_KEYS_RELOADED,           // tls.ticket_key_file re-read and in use
  FG_M_TICKET_KEYS_REFUSED,            // re-reads refused (unreadable, malformed): old keys stay
  FG_M_TICKETS_UNKNOWN_KEY,            // tickets under a retired or foreign key: full handshakes
  FG_M_TICKETS_RENEWED,                // tickets under an older key, re-issued under the newest
  FG_M_TLS_RESUMED_IN,                 // inbound TLS handshakes that resumed a session
  FG_M_TLS_RESUMED_OUT,                // outbound TLS handshakes that resumed a session
  FG_M_TLS_RESUMED_OUT_REFUSED,        // resumed outbound links refused: the carried verdict
  FG_M_ADMIN_REFUSED_SOURCE,           // admin requests from outside admin.allowed_networks
  FG_M_ADMIN_ACTIONS_OK,               // admin actions (POST) carried out
  FG_M_ADMIN_ACTIONS_REFUSED,          // admin actions refused (unknown, bad or failed)
  FG_M_STREAMS_CLOSED_BY_ADMIN,        // streams and links closed by POST /streams/close
  FG_M_STANZAS_REFUSED_DRAINED,        // stanzas bounced: every address of the backend drained
  FG_M_HOP_STREAMS_DRAINED,            // hop streams closed because their address was drained
  FG_M_POSH_FETCHED,                   // POSH documents fetched and parsed (RFC 7711)
  FG_M_POSH_MATCHED,                   // certificates proved by a POSH fingerprint
  FG_M_POSH_MISMATCHED,                // certificates no POSH fingerprint matched
  FG_M_POSH_WAITS,                     // streams that waited for a POSH fetch
  FG_M_BLOCKED_STREAMS,                // inbound streams refused or closed: domain blocked
  FG_M_BLOCKED_STANZAS_IN,             // stanzas from blocked senders refused (forbidden)
  FG_M_BLOCKED_STANZAS_OUT,            // stanzas to blocked domains refused (policy-violation)
  FG_M_BLOCKED_LINKS_CLOSED,           // outbound links closed: domain blocked
  FG_M_RTBL_REQUESTS,                  // requests sent to block list services
  FG_M_RTBL_RESYNCS,                   // lists fetched and subscribed again after a failure
  FG_M_RTBL_STANZAS,                   // stanzas received for the RTBL JIDs
  FG_M_RTBL_NOTIFICATIONS,             // notifications applied
  FG_M_RTBL_IGNORED,                   // stanzas for the RTBL JIDs that meant nothing
  FG_M_RTBL_INVALID,                   // items skipped: id neither a domain nor a digest
  FG_M_RTBL_ERRORS,                    // requests answered with an error or bounced
  FG_M_LIMITED_STANZAS_IN,             // inbound stanzas over a domain or address rate
  FG_M_LIMITED_UNSOLICITED,            // inbound unsolicited stanzas over their budget
  FG_M_LIMITED_STANZAS_OUT,            // outbound stanzas over a local sender's rate
  FG_M_LIMITED_STREAMS_CLOSED,         // inbound streams closed: over a rate for too long
  FG_M_LIMITED_CONNECTIONS,            // connections refused at accept: too many new ones
  FG_M_LIMITED_CONNECTIONS_DOMAIN,  // streams refused at the header: too many new ones of a domain
  FG_M_REPORTS_RECEIVED,            // abuse reports (XEP-0377) taken from internal users
  FG_M_REPORTS_FORWARDED,           // forwarded to the domain's abuse address (XEP-0157)
  FG_M_REPORTS_FAILED,              // bounced: no abuse address, no answer, undeliverable
  FG_M_PROXY_HEADERS_ACCEPTED,      // PROXY protocol headers read on the public listeners
  FG_M_DRAINS_STARTED,              // graceful drains begun (SIGTERM)
  FG_M_DRAIN_STREAMS_CLOSED,        // inbound streams closed by a drain (</stream:stream>)
  FG_M_DRAIN_LINKS_CLOSED,          // outbound links closed by a drain once idle
  FG_M_DRAIN_STANZAS_BOUNCED,       // stanzas still queued at the end of a drain, bounced
  FG_M_DANE_TARGETS_REFUSED,     // outbound targets left out: bogus DNSSEC or a failed TLSA lookup
  FG_M_DANE_TLSA_UNUSABLE,       // TLSA records ignored: unknown parameters, bad digest length
  FG_M_DANE_MISMATCH,            // peer certificates refused by a secure, usable TLSA RRset
  FG_M_DANE_INBOUND_OK,          // inbound peers authenticated by their own TLSA records
  FG_M_DANE_INBOUND_FAILED,      // inbound DANE checks that did not authenticate the peer
  FG_M_SM_IN_ENABLED,            // inbound streams whose peer enabled XEP-0198
  FG_M_SM_IN_REFUSED,            // <enable/> answered <failed/> (not authenticated, twice)
  FG_M_SM_IN_ACKS_SENT,          // <a/> sent in answer to an <r/>
  FG_M_SM_OUT_ENABLED,           // outbound streams (hop, remote) with XEP-0198 on
  FG_M_SM_IN_RESUMED,            // inbound streams resumed by their peer (XEP-0198 §5)
  FG_M_SM_OUT_RESUMED,           // outbound streams this gateway resumed
  FG_M_CONNECT_RACES,            // a later candidate raced a slow connect (RFC 8305)
  FG_M_CONNECT_RACES_WON_LATER,  // races the later candidate won
  FG_M_STANZAS_ACKED,            // written and acknowledged by the peer (XEP-0198)
  FG_M_STANZAS_RESENT,           // unacknowledged when their stream broke: sent again
  FG_M_STANZAS_UNCONFIRMED,      // written to a stream without XEP-0198 that broke
  FG_M_BIDI_STREAMS_IN,          // inbound streams their peer made bidirectional (XEP-0288)
  FG_M_BIDI_LINKS,               // outbound links this gateway made bidirectional
  FG_M_BIDI_STANZAS_SENT,        // stanzas sent over an inbound bidirectional stream
  FG_M_BIDI_STANZAS_RECEIVED,    // stanzas received back over an outbound link
  FG_M_BIDI_STANZAS_REFUSED,     // stanzas received back that ended their link
  FG_M_HOP_BIDI_STANZAS_SENT,    // to a hosted domain over its backend's bidirectional stream
  FG_M_HOP_BIDI_STANZAS_RECEIVED,   // sent back by a backend over a bidirectional hop link
  FG_M_REMOTE_LINKS_LOST,           // remote links lost (broke, not resumed): see link_loss.h
  FG_M_HOP_STREAMS_CLOSED_ON_LOSS,  // hop streams closed because their remote link was lost
  FG_M_LINK_RECONNECTS,             // reconnect attempts of links keeping a broken stream's stanzas
  FG_M_LINK_RECONNECTS_GAVE_UP,     // such links that bounced what they kept (give_up_after)
  FG_M_MUX_PAIRS_ASKED,    // pairs that asked to ride on another pair's stream (XEP-0220 §4.3)
  FG_M_MUX_PAIRS_READY,    // pairs the peer accepted on a shared stream
  FG_M_MUX_PAIRS_REFUSED,  // pairs the peer refused there: they opened their own stream
  FG_M_MUX_PAIRS_MOVED,    // pairs whose shared stream ended under them
  FG_M_MUX_PAIRS_TIMEOUT,  // pairs whose db:result got no answer in time: own stream
  FG_M_COUNT,
} fg_metric;

// fg_posh_failure says why a POSH fetch gave no document (the reason label
// of fedgate_posh_failed_total).
typedef enum fg_posh_failure {
  FG_POSH_FAIL_RESOLVE = 0,
  FG_POSH_FAIL_ADDRESS_REFUSED,  // special-purpose address not allowed
  FG_POSH_FAIL_CONNECT,
  FG_POSH_FAIL_TIMEOUT,
  FG_POSH_FAIL_TLS,          // handshake failed, or the server's certificate was refused
  FG_POSH_FAIL_PROTOCOL,     // malformed or truncated HTTP response
  FG_POSH_FAIL_TOO_LARGE,    // over the document size cap
  FG_POSH_FAIL_HTTP_STATUS,  // not 200 (redirects included: RFC 7711 follows only "url")
  FG_POSH_FAIL_MALFORMED,    // not a POSH document (crypto/posh.h)
  FG_POSH_FAIL_REFERENCE,    // a reference to a reference, or a bad "url"
  FG_POSH_FAIL_SHUTDOWN,
  FG_POSH_FAIL_BUSY,  // too many fetches under way on the worker
  FG_POSH_FAIL_COUNT,
} fg_posh_failure;

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
  _Atomic uint64_t posh_failed[FG_POSH_FAIL_COUNT];
  _Atomic uint64_t auth_methods[2][FG_AUTH_METHOD_COUNT];  // [0] inbound, [1] outbound
  _Atomic uint64_t proxy_refused[FG_PROXY_ERR_COUNT];      // by reason
} fg_metrics;

// fg_metrics_thread_shard returns the calling thread's shard index.
int fg_metrics_thread_shard(void);

// fg_metrics_add adds |n| to |m|.
static inline void fg_metrics_add(fg_metrics *ms, fg_metric m, uint64_t n) {
  int s = fg_metrics_thread_shard();
  _Atomic uint64_t *c = &ms->shard[s].v[m];
  if (s < FG_METRICS_SHARDS - 1) {  // this thread is the only writer
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
  } else {
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
  }
}

// fg_metrics_inc adds one to |m|.
static inline void fg_metrics_inc(fg_metrics *ms, fg_metric m) {
  fg_metrics_add(ms, m, 1);
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

// fg_metrics_posh_failed counts a POSH fetch that failed for |why|.
void fg_metrics_posh_failed(fg_metrics *ms, fg_posh_failure why);

// fg_posh_failure_name returns the label of |why| ("timeout", "tls", ...).
const char *fg_posh_failure_name(fg_posh_failure why);

// fg_metrics_auth_method counts a peer authenticated by |method|, on an
// inbound stream (|outbound| 0) or an outbound link (1).
void fg_metrics_auth_method(fg_metrics *ms, int outbound, fg_auth_method method);

// fg_metrics_proxy_refused counts a connection refused on a PROXY protocol
// listener, by reason.
void fg_metrics_proxy_refused(fg_metrics *ms, fg_proxy_error why);

// fg_metrics_name returns the Prometheus name of |m| (without the fedgate_ prefix).
const char *fg_metrics_name(fg_metric m);

// fg_metrics_render writes every counter in Prometheus text format into |out|
// (capacity |cap|) and returns the length written (truncated at |cap|).
size_t fg_metrics_render(const fg_metrics *ms, char *out, size_t cap);

#endif  // FEDGATE_GATEWAY_METRICS_H
