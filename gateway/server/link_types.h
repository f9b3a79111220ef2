// link_types.h: what the files of the outbound links share: the link
// itself and its held stanzas, and small helpers every layer uses. Not a
// public interface (gateway/server/link.h is). The files stand in layers,
// each calling only those below it:
//   link_admin.c     drain, close, describe, bounce what is held (operators)
//   link.c           the core: lifecycle, queue, delivery, stream events
//   link_pairs.c     several pairs on one stream (XEP-0220 §4.3)
//   link_race.c      Happy Eyeballs (RFC 8305)
//   link_trust.c     trust in the peer: DANE, then after TLS revocation,
//                    POSH, resumed sessions
//   link_credentials.c   what a link authenticates with
//   link_hop_keep.c  hop links waiting for their internal server together
//   link_hop_failover.c  another backend address when one fails
//   link_failures.c  bounces, unreachable domains, lost streams
//   link_queue.c     held stanzas and their writing
//   link_flow.c      flow control of the input streams (fg_flow)
//   link_index.c     a worker's index of links and its lists of carriers
//                    and of hop links keeping stanzas
// Where a lower file must reach back into the core, it calls through the
// link's link_core_ops.
#ifndef FEDGATE_GATEWAY_LINK_TYPES_H
#define FEDGATE_GATEWAY_LINK_TYPES_H

#include <stdint.h>
#include <string.h>

#include "gateway/s2s/auth_method.h"
#include "gateway/s2s/s2s_out.h"
#include "gateway/server/dane_check.h"
#include "gateway/server/drr.h"
#include "gateway/server/link_retry.h"
#include "gateway/server/posh_auth.h"
#include "gateway/server/resolve.h"
#include "gateway/server/revocation.h"
#include "gateway/server/server_internal.h"

struct fg_flow;

typedef enum link_kind {
  LINK_HOP = 0,  // to a backend, as an authenticated remote domain
  LINK_REMOTE,   // to a remote server, as a hosted domain (bounces)
  LINK_VERIFY,   // to an authoritative server, for db:verify questions
} link_kind;

enum { kMaxQuestions = 32, kMaxCandidates = 32 };

typedef struct qitem {
  struct qitem *next;
  size_t len;
  int is_bounce;  // an error stanza fedgate generated (never bounced itself)
  uint8_t data[];
} qitem;

struct link {
  fg_server *srv;
  // The snapshot the link was opened under (a reference): its pinned target,
  // its backend indices and its session's dialback secret live there.
  fg_snapshot *snap;
  fg_worker *w;
  link_kind kind;
  unsigned slot;  // which of limits.streams_per_pair streams of the pair
  char local[FG_DOMAIN_MAX + 1], remote[FG_DOMAIN_MAX + 1];
  const resolved_target *pinned;  // HOP and VERIFY: the one target
  resolved_target candidates[kMaxCandidates];
  size_t n_candidates, next_candidate;
  int resolving;
  size_t backend, address;  // LINK_HOP: the backend address (health)
  fg_conn *conn;
  fg_s2s_out *s2s;
  const resolved_target *current;
  int ready, dead, protocol_failed;
  fg_timer deadline;  // connect to authenticated, per candidate
  fg_timer tick;      // once ready: keepalives and idle close
  uint64_t last_stanza_ns, last_write_ns;
  qitem *qhead, *qtail;
  size_t q_count, q_bytes;
  struct {
    char stream_id[64], originating[FG_DOMAIN_MAX + 1], receiving[FG_DOMAIN_MAX + 1];
    uint8_t key[128];
    size_t key_len;
  } questions[kMaxQuestions];
  int n_questions;
  link *prev, *next;  // in the worker's bucket
  int indexed;
  int ending;                             // our closing tag went out (drain); the peer's is awaited
  struct fg_flow *waiting;                // input streams paused until this link drains
  char id[32];                            // "out-W-N": unique across workers, for the operator
  int draining;                           // close once ready and flushed (backend drained)
  struct fg_revocation_fetch *rev_fetch;  // answers the TLS step waits for
  fg_posh_auth_fetch *posh_fetch;         // the POSH document the TLS step waits for
  fg_auth_method auth;                    // how the remote server was proved (once known)
  fg_dns_tlsa_answer *tlsa;               // the targets' TLSA answers (resolved_target.tlsa)
  size_t n_tlsa;
  int dane_active;         // the current candidate is DANE's to judge (l->dane)
  int dane_reported;       // the TLSA answer whose unusable records were logged, + 1
  fg_dane_expect dane;     // attached to the current connection's SSL
  char dane_refused[512];  // the last DANE refusal, for the bounce's log
  // XEP-0198 (gateway/s2s/sm.h): the unacknowledged stanzas live in |s2s|;
  // an <r/> goes out request_interval after a write that left some.
  fg_timer sm_timer;
  int sm_timer_armed;
  int clean;         // the stream ended by a close (RFC 6120 §4.4), not a failure
  uint64_t written;  // stanzas written on the current stream without XEP-0198
  // XEP-0198 §5: the broken stream this link resumes (its id and the h last
  // acknowledged on it), and how many stanzas at the front of the queue it
  // had written (dropped when the peer says it handled them).
  char resume_id[FG_SM_ID_MAX + 1];
  uint32_t resume_acked;
  uint32_t resume_reverse_h;  // what it handled of what the peer sent back (XEP-0288)
  size_t carried;
  // Happy Eyeballs (RFC 8305): a later candidate's attempt racing |conn|
  // while it has not connected (|opened|), started by |race_timer|.
  fg_conn *racer;
  const resolved_target *racer_target;
  fg_timer race_timer;
  int opened;
  // XEP-0288: the inbound-side state of the stanzas the peer sends back on
  // the current connection (fg_server.reverse), or NULL.
  in_conn *reverse;
  // Multiplexing (gateway/server/link_mux.h): a remote pair that rides on
  // another link's stream (|carrier|) instead of a connection of its own,
  // or a carrier with |riders|. Each keeps its own queue; the stream is
  // shared among them by deficit round robin (gateway/server/drr.h).
  link *carrier, *riders, *rider_prev, *rider_next;
  int mux_refused;  // the peer refused the pair on a shared stream: its own
  int mux_carried;  // a carrier that carried other pairs (no XEP-0198 resumption)
  int mux_asked;    // a rider whose db:result went out (else it waits for its carrier)
  fg_drr_queue drr;
  fg_drr drr_at;                      // carrier: where its rounds stand
  link *carrier_prev, *carrier_next;  // in the worker's list of possible carriers
  int in_carriers;
  // A replacement of a broken stream keeps that stream's stanzas through
  // failed attempts (|keeping|, stream_management.give_up_after), waiting
  // |retry_timer| between them (|retry_waiting|); |lost_pending|: the loss
  // of the broken stream is told (link_loss.h) unless this link resumes it.
  int keeping, retry_waiting, lost_pending;
  fg_link_retry retry;
  fg_timer retry_timer;
  char broken_stream_id[64];
  // A hop link's wait may be cut short by traffic (link_hop_keep.h): when
  // the attempt failed, when the wait ends, whether it was cut already.
  uint64_t retry_failed_ns, retry_at_ns;
  int retry_hurried;
  link *keeper_prev, *keeper_next;  // in the worker's list of keeping hop links
  int in_keepers;
  // The core's operations the files below it call back (link_core_ops).
  const struct link_core_ops *core;
};

// kTagRode marks, in the XEP-0198 tag of a stanza written on a carrier's
// stream, one of another pair (its own domains say which, if it must be
// sent again); bit 0 is is_bounce.
enum { kTagRode = 2 };

// kMuxQuantum is the deficit round robin quantum of a shared stream: the
// bytes each pair with a backlog may send per round.
static const size_t kMuxQuantum = 16384;

// kMaxPairs bounds the pairs of one stream (limits.pairs_per_stream).
enum { kMaxPairs = 1000 };

// link_core_ops are the core's operations (link.c) that the files below it
// call back: Happy Eyeballs (link_race.c) opens a rival attempt and moves
// the link onto the target that connected; the pairs on one stream
// (link_pairs.c) send a pair off on a stream of its own, or fail it. The
// core gives them to each link once, when it creates it (link.core), so
// that no lower file calls into link.c and the files form no call cycle.
typedef struct link_core_ops {
  // start_attempt starts a connection of |l| to |t| (NULL: none could be).
  fg_conn *(*start_attempt)(link *l, const resolved_target *t);
  // use_target gives |l| a fresh stream for |t|, judged by DANE when it
  // applies; 0 when out of memory.
  int (*use_target)(link *l, const resolved_target *t);
  // try_next_candidate connects |l| to its next candidate; 0 when none is left.
  int (*try_next_candidate)(link *l);
  // fail ends |l|, bouncing what it holds with |cond| (link.c fg_link_fail).
  void (*fail)(link *l, fg_stanza_condition cond, const char *why);
} link_core_ops;

// link_cur_snapshot is the snapshot new decisions follow (the worker's
// current one).
static inline const fg_snapshot *link_cur_snapshot(fg_server *srv) {
  return fg_server_snapshot(srv);
}

// link_stream_of is the s2s session that carries |l|'s stanzas.
static inline fg_s2s_out *link_stream_of(const link *l) {
  return l->carrier != NULL ? l->carrier->s2s : l->s2s;
}

// link_is_shared says whether |l|'s stream carries more than its pair.
static inline int link_is_shared(const link *l) {
  return l->carrier != NULL || l->riders != NULL;
}

// link_same_target says whether two pinned targets are one address (links
// opened under an earlier snapshot go on serving an unchanged backend).
static inline int link_same_target(const resolved_target *a, const resolved_target *b) {
  if (a == b) return 1;
  if (a == NULL || b == NULL) return 0;
  return a->addr_len == b->addr_len && a->direct_tls == b->direct_tls &&
         memcmp(&a->addr, &b->addr, a->addr_len) == 0;
}

static inline const char *link_kind_name(link_kind k) {
  return k == LINK_HOP ? "hop" : k == LINK_REMOTE ? "remote" : "verify";
}

// link_arm_deadline: RFC 6120 §10.4.3: a stream not established and
// authenticated in time is remote-server-timeout (limits.handshake_timeout).
static inline void link_arm_deadline(link *l) {
  uint32_t ms = link_cur_snapshot(l->srv)->cfg->limits.handshake_timeout_ms;
  fg_worker_timer_arm(l->w, &l->deadline, ms ? ms : 30000);
}

#endif  // FEDGATE_GATEWAY_LINK_TYPES_H
