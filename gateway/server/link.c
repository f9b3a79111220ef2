// link.c: outbound s2s streams opened by a worker, and the delivery
// decisions on top of them:
//   - LINK_HOP: to a backend, as an authenticated remote domain;
//   - LINK_REMOTE: to a remote server, as a hosted domain (outbound
//     federation and bounces), over candidates from dns.static or DNS;
//   - LINK_VERIFY: to an authoritative server, carrying db:verify questions.
// Each runs a gateway/s2s_out session on an io/ connection, holds stanzas
// (bounded) until authenticated, tries the next candidate when a connection
// fails, and bounces what it held when every candidate failed (RFC 6120
// §10.4.3). A remote domain that failed is remembered per worker with
// exponential backoff and jitter (RFC 6120 §3.3), so a dead domain costs no
// lookup and no connect per stanza until its retry time.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <xxhash.h>

#include "gateway/server/link.h"

#include "gateway/s2s/auth_method.h"
#include "gateway/s2s/bidi.h"
#include "gateway/s2s/bounce_element.h"
#include "gateway/server/bidi_hop.h"
#include "gateway/server/bidi_streams.h"
#include "gateway/server/dane_check.h"
#include "gateway/server/drr.h"
#include "gateway/server/link_mux.h"
#include "gateway/server/mux_memory.h"
#include "gateway/server/stanza_reparse.h"
#include "gateway/server/link_retry.h"
#include "gateway/server/log.h"
#include "gateway/server/resolve.h"
#include "gateway/server/posh_auth.h"
#include "gateway/server/revocation.h"
#include "gateway/server/server_internal.h"
#include "gateway/xml/xml_names.h"
#include "io/addr_policy.h"

enum { kMaxQuestions = 32, kMaxCandidates = 32 };

// kWorkerQueueBytes bounds the stanzas one worker holds for links that are
// not ready yet, whatever the number of links (the per-link bounds are
// limits.queue_stanzas and limits.queue_bytes).
static const size_t kWorkerQueueBytes = 256u << 20;

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
  fg_flow *waiting;                       // input streams paused until this link drains
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
  // A hop link's wait may be cut short by traffic (hop_hurry): when the
  // attempt failed, when the wait ends, whether it was cut already.
  uint64_t retry_failed_ns, retry_at_ns;
  int retry_hurried;
  link *keeper_prev, *keeper_next;  // in the worker's hop_keepers
  int in_keepers;
  char broken_stream_id[64];
};

// kTagRode marks, in the XEP-0198 tag of a stanza written on a carrier's
// stream, one of another pair (its own domains say which, if it must be
// sent again); bit 0 is is_bounce.
enum { kTagRode = 2 };

// kMuxQuantum is the deficit round robin quantum of a shared stream: the
// bytes each pair with a backlog may send per round.
static const size_t kMuxQuantum = 16384;

// kMuxShyNs: how long streams to a remote domain carry no further pairs
// after its server ended one while a pair awaited its answer (mux_memory.h).
static const uint64_t kMuxShyNs = 3600ull * 1000000000ull;

// kMaxPairs bounds the pairs of one stream (limits.pairs_per_stream).
enum { kMaxPairs = 1000 };

// carriers lists this worker's ready remote links, which may carry further
// pairs; verifiers its verify links to pinned targets, which carry the
// questions of every pair for the target (links live and die on their
// worker); hop_carriers its ready hop links, which may carry further pairs
// of their remote domain to the same backend (backends[].pairs_per_stream).
static _Thread_local link *carriers, *verifiers, *hop_carriers;
static _Thread_local fg_mux_memory mux_shy;

static link **shared_list(const link *l) {
  return l->kind == LINK_VERIFY ? &verifiers : l->kind == LINK_HOP ? &hop_carriers : &carriers;
}

static void carriers_add(link *l) {
  if (l->in_carriers || l->carrier != NULL) return;
  link **head = shared_list(l);
  l->carrier_prev = NULL;
  l->carrier_next = *head;
  if (*head) (*head)->carrier_prev = l;
  *head = l;
  l->in_carriers = 1;
}

static void carriers_remove(link *l) {
  if (!l->in_carriers) return;
  link **head = shared_list(l);
  if (l->carrier_prev) l->carrier_prev->carrier_next = l->carrier_next;
  if (l->carrier_next) l->carrier_next->carrier_prev = l->carrier_prev;
  if (*head == l) *head = l->carrier_next;
  l->carrier_prev = l->carrier_next = NULL;
  l->in_carriers = 0;
}

// hop_keepers lists this worker's hop links that keep a broken stream's
// stanzas through failed attempts (keep_stanzas): while one waits for its
// backend, a new pair of that backend waits with it (hop_keeper_for).
static _Thread_local link *hop_keepers;

static void keepers_add(link *l) {
  if (l->in_keepers || l->kind != LINK_HOP) return;
  l->keeper_prev = NULL;
  l->keeper_next = hop_keepers;
  if (hop_keepers) hop_keepers->keeper_prev = l;
  hop_keepers = l;
  l->in_keepers = 1;
}

static void keepers_remove(link *l) {
  if (!l->in_keepers) return;
  if (l->keeper_prev) l->keeper_prev->keeper_next = l->keeper_next;
  if (l->keeper_next) l->keeper_next->keeper_prev = l->keeper_prev;
  if (hop_keepers == l) hop_keepers = l->keeper_next;
  l->keeper_prev = l->keeper_next = NULL;
  l->in_keepers = 0;
}

// stream_of is the s2s session that carries |l|'s stanzas.
static fg_s2s_out *stream_of(const link *l) {
  return l->carrier != NULL ? l->carrier->s2s : l->s2s;
}

// shared says whether |l|'s stream carries more than its pair.
static int shared(const link *l) {
  return l->carrier != NULL || l->riders != NULL;
}

// cur is the snapshot new decisions follow (the worker's current one).
static const fg_snapshot *cur(fg_server *srv) {
  return fg_server_snapshot(srv);
}

// same_target says whether two pinned targets are one address (links opened
// under an earlier snapshot go on serving an unchanged backend).
static int same_target(const resolved_target *a, const resolved_target *b) {
  if (a == b) return 1;
  if (a == NULL || b == NULL) return 0;
  return a->addr_len == b->addr_len && a->direct_tls == b->direct_tls &&
         memcmp(&a->addr, &b->addr, a->addr_len) == 0;
}

static const char *kind_name(link_kind k) {
  return k == LINK_HOP ? "hop" : k == LINK_REMOTE ? "remote" : "verify";
}

static size_t bucket_of(link_kind kind, const char *local, const char *remote) {
  char key[2 * FG_DOMAIN_MAX + 4];
  size_t a = strlen(local), b = strlen(remote);
  key[0] = (char)kind;
  memcpy(key + 1, local, a);
  key[a + 1] = 0;  // separates "a.b"+"c" from "a"+"b.c"
  memcpy(key + a + 2, remote, b);
  return (size_t)(XXH3_64bits(key, a + b + 2) % FG_LINK_BUCKETS);
}

static void index_link(link *l) {
  worker_state *ws = fg_server_worker_state(l->srv, l->w);
  link **head = &ws->links[bucket_of(l->kind, l->local, l->remote)];
  l->prev = NULL;
  l->next = *head;
  if (*head) (*head)->prev = l;
  *head = l;
  l->indexed = 1;
}

static void unlink_from_worker(link *l) {
  carriers_remove(l);
  keepers_remove(l);
  if (!l->indexed) return;
  worker_state *ws = fg_server_worker_state(l->srv, l->w);
  link **head = &ws->links[bucket_of(l->kind, l->local, l->remote)];
  if (l->prev) l->prev->next = l->next;
  if (l->next) l->next->prev = l->prev;
  if (*head == l) *head = l->next;
  l->prev = l->next = NULL;
  l->indexed = 0;
  fg_server_worker_state(l->srv, l->w)->links_epoch++;  // fg_flow.last may name it
}

// --- flow control (fg_flow, server_internal.h) ---

void fg_flow_cancel(fg_flow *f) {
  if (f->on == NULL) return;
  if (f->prev) f->prev->next = f->next;
  if (f->next) f->next->prev = f->prev;
  if (f->on->waiting == f) f->on->waiting = f->next;
  f->on = NULL;
  f->prev = f->next = NULL;
}

// wake_waiting resumes every input stream parked on |l| (the runtime delivers
// their held-back bytes from its loop, never from inside this call).
static void wake_waiting(link *l) {
  fg_flow *f = l->waiting;
  l->waiting = NULL;
  while (f != NULL) {
    fg_flow *n = f->next;
    f->on = NULL;
    f->prev = f->next = NULL;
    fg_conn_resume_reading(f->conn);
    f = n;
  }
}

// congested: |l| should take no more from its inputs for now: its output is
// above the high-water mark, or it is a hop link still connecting with its
// queue half full (a remote server's burst waits for the backend). A remote
// link that is still connecting is never congested: its bounded queue
// answers overflow with resource-constraint bounces, so that one
// unresponsive remote domain cannot hold up an internal server's stream.
static int congested(const link *l) {
  // On a shared stream only the pairs with a backlog of a round's quantum
  // or more wait: a pair with a few stanzas held goes on reading its
  // inputs, and what it holds goes out in its next turn (drr.h).
  if (shared(l) && l->ready) return l->q_bytes >= kMuxQuantum;
  // A ready link holds stanzas only while XEP-0198 acks are awaited.
  if (l->ready) return l->conn != NULL && (fg_conn_write_blocked(l->conn) || l->qhead != NULL);
  if (l->kind != LINK_HOP) return 0;
  const fg_config *cfg = cur(l->srv)->cfg;
  return (cfg->limits.queue_stanzas && l->q_count * 2 >= cfg->limits.queue_stanzas) ||
         (cfg->limits.queue_bytes && l->q_bytes * 2 >= cfg->limits.queue_bytes);
}

static void park(link *l, fg_flow *f) {
  if (f == NULL || f->conn == NULL || f->on != NULL || !congested(l)) return;
  f->on = l;
  f->prev = NULL;
  f->next = l->waiting;
  if (l->waiting) l->waiting->prev = f;
  l->waiting = f;
  fg_metrics_inc(&l->srv->metrics, FG_M_FLOW_PAUSES);
  fg_conn_pause_reading(f->conn);
}

static void mux_flush(link *c);

static void on_drain(fg_conn *c) {
  link *l = fg_conn_arg(c);
  if (l != NULL && l->riders != NULL) {
    mux_flush(l);
    return;
  }
  if (l != NULL) wake_waiting(l);
}

static void mux_release(link *c);
static void mux_detach(link *r);

static void link_free(link *l) {
  mux_release(l);
  if (l->carrier != NULL) mux_detach(l);
  carriers_remove(l);
  keepers_remove(l);
  fg_worker_timer_cancel(l->w, &l->retry_timer);
  wake_waiting(l);
  fg_server_worker_state(l->srv, l->w)->live_links--;
  fg_server_worker_state(l->srv, l->w)->links_epoch++;
  fg_server_worker_state(l->srv, l->w)->queued_bytes -= l->q_bytes;
  for (qitem *q = l->qhead, *n; q != NULL; q = n) {
    n = q->next;
    free(q);
  }
  if (l->reverse != NULL) l->srv->reverse->close(l->reverse);
  fg_s2s_out_free(l->s2s);
  fg_snapshot_release(l->snap);
  fg_resolve_tlsa_free(l->tlsa, l->n_tlsa);
  free(l);
}

// --- remembering unreachable domains (per worker) ---

static unreachable *find_unreachable(worker_state *ws, const char *domain) {
  for (unreachable *u = ws->unreachable; u != NULL; u = u->next) {
    if (strcmp(u->domain, domain) == 0) return u;
  }
  return NULL;
}

// kMaxUnreachable bounds the domains one worker remembers as unreachable.
enum { kMaxUnreachable = 4096 };

// prune_unreachable forgets the domains whose retry time has passed.
static void prune_unreachable(worker_state *ws, uint64_t now) {
  for (unreachable **pp = &ws->unreachable; *pp != NULL;) {
    unreachable *u = *pp;
    if (u->retry_at_ns <= now) {
      *pp = u->next;
      free(u);
      ws->n_unreachable--;
    } else {
      pp = &u->next;
    }
  }
}

static void remember_failure(link *l, fg_stanza_condition cond) {
  worker_state *ws = fg_server_worker_state(l->srv, l->w);
  unreachable *u = find_unreachable(ws, l->remote);
  if (u == NULL) {
    if (ws->n_unreachable >= kMaxUnreachable) prune_unreachable(ws, fg_worker_now_ns(l->w));
    if (ws->n_unreachable >= kMaxUnreachable) return;  // still full: no memory, just retries
    u = calloc(1, sizeof(*u));
    if (u == NULL) return;
    snprintf(u->domain, sizeof(u->domain), "%s", l->remote);
    u->next = ws->unreachable;
    ws->unreachable = u;
    ws->n_unreachable++;
  }
  u->failures++;
  u->condition = cond;
  // 5 s, 10 s, 20 s ... capped at 10 min, each with ±25 % jitter.
  uint64_t base_ms = 5000ull << (u->failures < 8 ? u->failures - 1 : 7);
  if (base_ms > 600000) base_ms = 600000;
  uint32_t r = 0;
  RAND_bytes((uint8_t *)&r, sizeof(r));
  uint64_t jitter = base_ms / 4;
  uint64_t delay_ms = base_ms - jitter + (jitter ? r % (2 * jitter + 1) : 0);
  u->retry_at_ns = fg_worker_now_ns(l->w) + delay_ms * 1000000ull;
  fg_log(FG_LOG_SEV_INFO, NULL, l->remote, "unreachable: next attempt in %llu ms (failure %u)",
         (unsigned long long)delay_ms, u->failures);
}

static void forget_failure(link *l) {
  worker_state *ws = fg_server_worker_state(l->srv, l->w);
  for (unreachable **pp = &ws->unreachable; *pp != NULL; pp = &(*pp)->next) {
    if (strcmp((*pp)->domain, l->remote) == 0) {
      unreachable *u = *pp;
      *pp = u->next;
      free(u);
      ws->n_unreachable--;
      return;
    }
  }
}

// count_written counts a stanza written to a ready stream: forwarded, or a
// bounce fedgate generated (counted apart, so that stanzas_in equals
// delivered + bounced + not bounced).
static void count_written(fg_server *srv, int is_bounce) {
  fg_metrics_inc(&srv->metrics, is_bounce ? FG_M_BOUNCES_SENT : FG_M_STANZAS_DELIVERED);
}

// --- bounces ---

// bounce_item answers one held stanza with |cond| (RFC 6120 §8.3). The stanza
// is parsed again here, on the failure path, so that holding it costs only
// its bytes.
static void bounce_bytes(fg_server *srv, fg_worker *w, const uint8_t *data, size_t data_len,
                         fg_stanza_condition cond) {
  static const char kHeader[] = FG_S2S_STREAM_OPEN ">";
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  size_t used;
  int bounced = 0;
  if (p != NULL &&
      fg_xml_parser_feed(p, &used, (const uint8_t *)kHeader, sizeof(kHeader) - 1) ==
          FG_XML_EVENT_STREAM_OPEN &&
      fg_xml_parser_feed(p, &used, data, data_len) == FG_XML_EVENT_ELEMENT) {
    const fg_xml_element *el = fg_xml_parser_element(p);
    uint8_t buf[4096];
    size_t len = 0;
    fg_bounce_verdict v = fg_bounce_element(buf, &len, sizeof(buf), el, cond);
    char sender[FG_DOMAIN_MAX + 1] = "", ours[FG_DOMAIN_MAX + 1] = "";
    if (v == FG_BOUNCE_OK && fg_jid_domain(sender, el->from.data, el->from.len) &&
        fg_jid_domain(ours, el->to.data, el->to.len)) {
      fg_metrics_bounce(&srv->metrics, cond);
      fg_link_bounce(srv, w, ours, sender, buf, len);
      bounced = 1;
    }
  }
  fg_xml_parser_free(p);
  if (!bounced) fg_metrics_inc(&srv->metrics, FG_M_STANZAS_NOT_BOUNCED);
}

static void bounce_item(link *l, const qitem *q, fg_stanza_condition cond) {
  bounce_bytes(l->srv, l->w, q->data, q->len, cond);
}

// report_lost tells gateway/server/link_loss.h that the stream |stream_id|
// of the pair's link with |remote| is lost.
static void report_lost(fg_server *srv, fg_worker *w, const char *remote, const char *stream_id,
                        const char *why) {
  if (srv->link_lost != NULL) srv->link_lost(srv, w, remote, stream_id, "", why);
}

// report_riders_lost: the stream of carrier |l|, |stream_id|, broke. The
// other remote domains whose pairs rode on it lost their link as well; each
// is reported once (the carrier's own domain is reported by its caller).
static void report_riders_lost(const link *l, const char *stream_id, const char *why) {
  for (const link *r = l->riders; r != NULL; r = r->rider_next) {
    if (!r->ready || r->dead || strcmp(r->remote, l->remote) == 0) continue;
    const link *e = l->riders;
    while (e != r && (!e->ready || e->dead || strcmp(e->remote, r->remote) != 0)) {
      e = e->rider_next;
    }
    if (e == r) report_lost(l->srv, l->w, r->remote, stream_id, why);
  }
}

// tell_lost reports that the stream of |l| (or the broken one it replaces),
// |stream_id|, is lost.
static void tell_lost(link *l, const char *stream_id, const char *why) {
  l->lost_pending = 0;
  report_lost(l->srv, l->w, l->remote, stream_id, why);
}

// link_fail ends |l|: held stanzas are bounced with |cond|, pending questions
// answered invalid, and the link leaves the worker's table so that the next
// stanza opens a fresh one (after the backoff, for remote domains).
static void mux_orphan(link *r);

static void link_fail(link *l, fg_stanza_condition cond, const char *why) {
  if (l->dead) return;
  l->dead = 1;
  unlink_from_worker(l);
  mux_release(l);
  fg_server *srv = l->srv;
  if (l->lost_pending) tell_lost(l, l->broken_stream_id, "no replacement stream could be opened");
  // A link waiting between attempts has no connection or lookup to end it.
  if (l->retry_waiting) fg_worker_timer_arm(l->w, &l->retry_timer, 0);
  if (l->kind == LINK_HOP) {
    fg_metrics_inc(&srv->metrics, FG_M_HOP_STREAMS_FAILED);
  } else if (l->kind == LINK_REMOTE) {
    fg_metrics_inc(&srv->metrics, FG_M_REMOTE_STREAMS_FAILED);
    if (!l->ready) remember_failure(l, cond);
  }
  if (!l->ready || l->q_count) {
    fg_log(FG_LOG_SEV_WARN, NULL, l->remote, "%s link %s -> %s%s%s failed: %s (%zu held)",
           kind_name(l->kind), l->local, l->remote, l->current ? " via " : "",
           l->current ? l->current->name : "", why, l->q_count);
  }
  for (qitem *q = l->qhead; q != NULL; q = q->next) {
    if (q->is_bounce) {
      fg_metrics_inc(&srv->metrics, FG_M_BOUNCES_UNDELIVERABLE);  // RFC 6120 §8.3.1
    } else {
      bounce_item(l, q, cond);
    }
  }
  worker_state *ws = fg_server_worker_state(srv, l->w);
  for (int i = 0; i < l->n_questions; i++) {
    srv->answer_dialback(ws, l->questions[i].stream_id, l->questions[i].originating,
                         l->questions[i].receiving, 0);
  }
  l->n_questions = 0;
  // Answered: nothing held may go out later (a link still resolving would
  // otherwise send it once connected).
  for (qitem *q = l->qhead, *n; q != NULL; q = n) {
    n = q->next;
    free(q);
  }
  ws->queued_bytes -= l->q_bytes;
  l->qhead = l->qtail = NULL;
  l->q_count = l->q_bytes = 0;
  wake_waiting(l);  // their next stanzas open a fresh link or bounce
  if (l->carrier != NULL) mux_orphan(l);
}

// --- s2s_out operations ---

static void op_send(void *arg, const uint8_t *d, size_t n) {
  link *l = arg;
  if (l->conn != NULL) fg_conn_send(l->conn, d, n);
  l->last_write_ns = fg_worker_now_ns(l->w);
}

// --- XEP-0198 acknowledgements ---

// sm_timer_fired asks for an ack while stanzas stay unacknowledged
// (stream_management.request_interval), so that a quiet link learns soon
// what its last stanzas became.
static void sm_timer_fired(fg_timer *t, void *arg) {
  (void)t;
  link *l = arg;
  l->sm_timer_armed = 0;
  if (l->conn == NULL || !l->ready || l->ending) return;
  if (fg_s2s_out_request_ack(l->s2s) > 0) {
    l->sm_timer_armed = 1;
    fg_worker_timer_arm(l->w, &l->sm_timer, l->snap->cfg->sm.request_interval_ms);
  }
}

// write_stanza writes one stanza on the ready stream of |l|. Without
// XEP-0198 it counts as delivered at once (nothing more will be known);
// with it, when the peer acknowledges it (op_acked).
static void write_stanza(link *l, const uint8_t *data, size_t len, int is_bounce) {
  link *out = l->carrier != NULL ? l->carrier : l;
  fg_s2s_out_send_stanza(out->s2s, data, len, is_bounce | (l != out ? kTagRode : 0));
  l->last_stanza_ns = out->last_stanza_ns = fg_worker_now_ns(l->w);
  if (!fg_s2s_out_sm_enabled(out->s2s)) {
    out->written++;
    count_written(l->srv, is_bounce);
    return;
  }
  if (!out->sm_timer_armed) {
    out->sm_timer_armed = 1;
    fg_worker_timer_arm(out->w, &out->sm_timer, out->snap->cfg->sm.request_interval_ms);
  }
}

// flush_queue writes what |l| holds, oldest first, while its stream takes
// it (ready, and with XEP-0198 room among the unacknowledged stanzas).
static void flush_queue(link *l) {
  if (shared(l)) {
    mux_flush(l->carrier != NULL ? l->carrier : l);
    return;
  }
  worker_state *ws = fg_server_worker_state(l->srv, l->w);
  while (l->qhead != NULL && l->conn != NULL && fg_s2s_out_can_send(l->s2s, l->qhead->len)) {
    qitem *q = l->qhead;
    l->qhead = q->next;
    if (l->qhead == NULL) l->qtail = NULL;
    l->q_count--;
    l->q_bytes -= q->len;
    ws->queued_bytes -= q->len;
    if (l->carried > 0) {  // written on the broken stream, not known handled
      l->carried--;
      fg_metrics_inc(&l->srv->metrics, FG_M_STANZAS_RESENT);
    }
    write_stanza(l, q->data, q->len, q->is_bounce);
    free(q);
  }
}

// pop_front takes the oldest held stanza of |l| off its queue.
static qitem *pop_front(link *l) {
  qitem *q = l->qhead;
  if (q == NULL) return NULL;
  l->qhead = q->next;
  if (l->qhead == NULL) l->qtail = NULL;
  l->q_count--;
  l->q_bytes -= q->len;
  fg_server_worker_state(l->srv, l->w)->queued_bytes -= q->len;
  return q;
}

// op_resumed: the peer resumed the broken stream (XEP-0198 §5) and had
// handled |h| of its stanzas: those carried over are delivered, not resent.
static void op_resumed(void *arg, uint32_t h) {
  link *l = arg;
  uint32_t n = h - l->resume_acked;
  l->lost_pending = 0;  // XEP-0198 §5: the peer kept the stream's state
  fg_metrics_inc(&l->srv->metrics, FG_M_SM_OUT_RESUMED);
  if (n > l->carried) {
    // More than was ever unacknowledged: the peer's count cannot be
    // trusted, everything goes out again (duplicates rather than losses).
    fg_log(FG_LOG_SEV_WARN, NULL, l->remote,
           "%s link %s -> %s resumed with h=%u beyond the %zu carried", kind_name(l->kind),
           l->local, l->remote, h, l->carried);
    n = 0;
  }
  for (uint32_t i = 0; i < n; i++) {
    qitem *q = pop_front(l);
    fg_metrics_inc(&l->srv->metrics, FG_M_STANZAS_ACKED);
    count_written(l->srv, q->is_bounce);
    free(q);
  }
  l->carried -= n;
  fg_log(FG_LOG_SEV_INFO, NULL, l->remote,
         "%s link %s -> %s resumed: %u already handled, %zu sent again", kind_name(l->kind),
         l->local, l->remote, n, l->carried);
}

static void op_acked(void *arg, const fg_sm_item *it) {
  link *l = arg;
  fg_metrics_inc(&l->srv->metrics, FG_M_STANZAS_ACKED);
  count_written(l->srv, it->tag & 1);
}

// redeliver hands a stanza of a broken stream to delivery again (a fresh
// link of the pair, the same slot so that its input stream's order holds),
// or bounces it when that is refused at once.
static void redeliver(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                      unsigned slot, const uint8_t *data, size_t len, int is_bounce) {
  fg_stanza_condition c = fg_deliver(srv, w, local, remote, slot, is_bounce, data, len, NULL);
  if (c == FG_STANZA_CONDITION_COUNT) return;
  if (is_bounce) {
    fg_metrics_inc(&srv->metrics, FG_M_BOUNCES_UNDELIVERABLE);  // RFC 6120 §8.3.1
  } else {
    bounce_bytes(srv, w, data, len, c);
  }
}

// kKeepaliveMs: a ready link that wrote nothing for this long sends a
// whitespace keepalive (RFC 6120 §4.6.1), so that NATs and firewalls keep it.
enum { kKeepaliveMs = 60000, kTickMs = 15000 };

static void arm_deadline(link *l);

// finish_and_close ends a ready link normally: new stanzas open a fresh
// link, and </stream:stream> follows what was written (flushed by the
// graceful close).
static void finish_and_close(link *l) {
  unlink_from_worker(l);
  l->dead = 1;  // a normal end, not a failure
  l->clean = 1;
  mux_release(l);
  if (l->ready && fg_s2s_out_unacked(l->s2s) > 0) {
    // XEP-0198: stanzas are unacknowledged; the peer answers the <r/> sent
    // before our closing tag, then closes too (or the deadline ends the wait).
    l->ending = 1;
    fg_s2s_out_end(l->s2s);
    arm_deadline(l);
    return;
  }
  fg_s2s_out_close(l->s2s);
  fg_conn_close(l->conn);
}

// tick closes a link that carried no stanza for limits.idle_timeout (the
// peer may send nothing at all on a one-way stream, so reception tells
// nothing) and keeps the others alive.
static void tick(fg_timer *t, void *arg) {
  (void)t;
  link *l = arg;
  if (l->conn == NULL || l->dead) return;
  uint64_t now = fg_worker_now_ns(l->w);
  uint64_t idle_ms = cur(l->srv)->cfg->limits.idle_timeout_ms;
  for (link *r = l->riders, *next; r != NULL && idle_ms; r = next) {
    next = r->rider_next;
    if (r->ready && r->qhead == NULL && now - r->last_stanza_ns > idle_ms * 1000000ull) {
      unlink_from_worker(r);
      r->dead = 1;
      mux_orphan(r);
    }
  }
  if (idle_ms && l->n_questions == 0 && now - l->last_stanza_ns > idle_ms * 1000000ull) {
    fg_log(FG_LOG_SEV_DEBUG, fg_s2s_out_stream_id(l->s2s), l->remote,
           "%s link %s -> %s idle: closing", kind_name(l->kind), l->local, l->remote);
    finish_and_close(l);
    return;
  }
  if (now - l->last_write_ns > kKeepaliveMs * 1000000ull) op_send(l, (const uint8_t *)" ", 1);
  fg_worker_timer_arm(l->w, &l->tick, kTickMs);
}

// peer_auth_method says what authenticated the peer of |l|, which became
// ready with the s2s |method|: DANE when it decided the handshake, else a
// certificate PKIX accepted, else dialback through the peer's DNS.
static fg_auth_method peer_auth_method(const link *l, int method) {
  fg_tls_conn *t = l->conn != NULL ? fg_conn_tls(l->conn) : NULL;
  if (l->dane_active && l->dane.method != FG_AUTH_NONE) return l->dane.method;
  if (l->auth == FG_AUTH_POSH) return FG_AUTH_POSH;  // POSH proved what PKIX refused
  if (t != NULL && fg_tls_conn_verify_result(t) == FG_TLS_VERIFY_OK) return FG_AUTH_PKIX;
  if (method == FG_S2S_AUTH_DIALBACK) return FG_AUTH_DIALBACK;
  // A resumed session skipped verification: it stands for the handshake
  // that created it, which a certificate passed (DANE links never resume).
  if (t != NULL && SSL_session_reused(fg_tls_conn_ssl(t))) return FG_AUTH_PKIX;
  return FG_AUTH_NONE;
}

static void mux_ask_waiting(link *c);

static void op_ready(void *arg, int method) {
  link *l = arg;
  fg_server *srv = l->srv;
  l->ready = 1;
  fg_worker_timer_cancel(l->w, &l->deadline);
  l->last_stanza_ns = fg_worker_now_ns(l->w);
  fg_worker_timer_arm(l->w, &l->tick, kTickMs);
  if (l->kind == LINK_HOP) {
    fg_metrics_inc(&srv->metrics, FG_M_HOP_STREAMS_READY);
    if (l->indexed) carriers_add(l);  // for further pairs of its remote domain
    // The internal server answers at this address: up for every pair now,
    // not only when a mark set by an earlier failure expires (hop_failover).
    fg_router_mark_up(l->snap->router, l->backend, l->address);
  }
  if (l->kind == LINK_REMOTE) {
    fg_metrics_inc(&srv->metrics, FG_M_REMOTE_STREAMS_READY);
    forget_failure(l);
    if (l->indexed) carriers_add(l);
  }
  SSL *ssl = l->conn && fg_conn_tls(l->conn) ? fg_tls_conn_ssl(fg_conn_tls(l->conn)) : NULL;
  l->auth = peer_auth_method(l, method);
  fg_metrics_auth_method(&srv->metrics, 1, l->auth);
  fg_log(FG_LOG_SEV_INFO, fg_s2s_out_stream_id(l->s2s), l->remote,
         "%s link %s -> %s ready via %s: %s %s%s, %s, peer proved by %s", kind_name(l->kind),
         l->local, l->remote, l->current ? l->current->name : "?",
         ssl ? SSL_get_version(ssl) : "plaintext",
         ssl && SSL_get_current_cipher(ssl) ? SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)) : "",
         ssl && SSL_session_reused(ssl) ? " (resumed)" : "",
         method == FG_S2S_AUTH_SASL_EXTERNAL ? "sasl-external"
         : method == FG_S2S_AUTH_DIALBACK    ? "dialback"
                                             : "unauthenticated",
         fg_auth_method_name(l->auth));
  l->written = 0;
  l->keeping = 0;
  keepers_remove(l);
  if (l->lost_pending) tell_lost(l, l->broken_stream_id, "the new stream did not resume it");
  if (fg_s2s_out_sm_enabled(l->s2s)) fg_metrics_inc(&srv->metrics, FG_M_SM_OUT_ENABLED);
  if (fg_s2s_out_bidi(l->s2s)) {
    fg_metrics_inc(&srv->metrics, FG_M_BIDI_LINKS);
    fg_log(FG_LOG_SEV_INFO, fg_s2s_out_stream_id(l->s2s), l->remote,
           "link %s -> %s is bidirectional (XEP-0288): %s may send to %s on it", l->local,
           l->remote, l->remote, l->local);
  }
  if (l->riders != NULL) mux_ask_waiting(l);
  flush_queue(l);
  if (l->draining && l->conn != NULL) {
    fg_metrics_inc(&srv->metrics, FG_M_HOP_STREAMS_DRAINED);
    wake_waiting(l);  // their next stanzas take another address or bounce
    finish_and_close(l);
    return;
  }
  if (!congested(l)) wake_waiting(l);  // else on_drain will
}

static void mux_note_ended_asking(link *c, const char *why);

static void op_failed(void *arg, const char *condition) {
  link *l = arg;
  if (!l->ready) l->protocol_failed = 1;
  if (l->riders != NULL) mux_note_ended_asking(l, condition);
  if (strcmp(condition, "closed") == 0) l->clean = 1;
  if (strcmp(condition, "loop") == 0) {
    // The target answered with this gateway's own stream id tag: whatever
    // DNS or the configuration said, it is ourselves (defence in depth
    // behind the target checks of gateway/server/resolve.h).
    fg_metrics_inc(&l->srv->metrics, FG_M_LOOPS_REFUSED);
    link_fail(l, FG_STANZA_REMOTE_SERVER_NOT_FOUND, "routing loop: the target is this gateway");
  } else if (strcmp(condition, "closed") != 0) {
    link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, condition);
  }
  if (l->conn != NULL) fg_conn_close(l->conn);
}

static void op_verify_answer(void *arg, const char *receiving, const char *originating,
                             const char *stream_id, int valid) {
  link *l = arg;
  for (int i = 0; i < l->n_questions; i++) {
    // One inbound stream may ask for several pairs (multiplexing).
    if (strcmp(l->questions[i].stream_id, stream_id) != 0 ||
        strcmp(l->questions[i].originating, originating) != 0 ||
        strcmp(l->questions[i].receiving, receiving) != 0) {
      continue;
    }
    l->questions[i] = l->questions[--l->n_questions];
    break;
  }
  l->srv->answer_dialback(fg_server_worker_state(l->srv, l->w), stream_id, originating, receiving,
                          valid);
}

static void op_pair_answer(void *arg, const char *from, const char *to, const char *condition);

// op_stanza takes a stanza the peer sent back on a bidirectional link
// (XEP-0288), trusted no more than an inbound stream from a peer proved the
// same way (gateway/s2s/bidi.h), then judged and routed by the inbound
// side's rules.
static const char *op_stanza(void *arg, const fg_xml_element *el, const char *from,
                             const char *to) {
  link *l = arg;
  fg_server *srv = l->srv;
  int hop = l->kind == LINK_HOP;
  const char *distrust = hop ? fg_bidi_hop_refusal(cur(srv), l->auth, l->remote,
                                                   l->conn ? fg_conn_peer(l->conn) : NULL)
                             : NULL;
  if (distrust != NULL) {
    fg_metrics_inc(&srv->metrics, FG_M_BIDI_STANZAS_REFUSED);
    fg_log(FG_LOG_SEV_WARN, fg_s2s_out_stream_id(l->s2s), l->remote,
           "stanza from %s on bidirectional hop link %s refused: %s", from, l->id, distrust);
    return "not-authorized";  // RFC 6120 §4.9.3.12
  }
  if (!hop && !fg_bidi_reverse_trusted(l->auth, cur(srv)->cfg->dialback.enabled)) {
    fg_metrics_inc(&srv->metrics, FG_M_BIDI_STANZAS_REFUSED);
    fg_log(FG_LOG_SEV_WARN, fg_s2s_out_stream_id(l->s2s), l->remote,
           "stanza from %s on bidirectional link %s refused: the peer was proved by %s, which "
           "would not authenticate an inbound stream here",
           from, l->id, fg_auth_method_name(l->auth));
    return "not-authorized";  // RFC 6120 §4.9.3.12
  }
  if (l->reverse == NULL && l->conn != NULL) {
    l->reverse = srv->reverse->open(srv, l->conn, fg_s2s_out_stream_id(l->s2s), hop);
  }
  if (l->reverse == NULL) return "internal-server-error";
  fg_metrics_inc(&srv->metrics, FG_M_BIDI_STANZAS_RECEIVED);
  if (hop) fg_metrics_inc(&srv->metrics, FG_M_HOP_BIDI_STANZAS_RECEIVED);
  const char *refused = srv->reverse->route(l->reverse, el, from, to);
  if (refused != NULL) fg_metrics_inc(&srv->metrics, FG_M_BIDI_STANZAS_REFUSED);
  return refused;
}

// op_refused logs and counts a stanza sent back that ended the link.
static void op_refused(void *arg, const fg_xml_element *el, const char *condition) {
  link *l = arg;
  fg_metrics_inc(&l->srv->metrics, FG_M_BIDI_STANZAS_REFUSED);
  fg_metrics_stream_error(&l->srv->metrics, condition);
  fg_log(FG_LOG_SEV_WARN, fg_s2s_out_stream_id(l->s2s), l->remote,
         "stanza from '%.*s' to '%.*s' sent back on link %s -> %s refused: %s (XEP-0288 §2.2)",
         (int)(el->from.len < 300 ? el->from.len : 300),
         el->from.data ? (const char *)el->from.data : "",
         (int)(el->to.len < 300 ? el->to.len : 300), el->to.data ? (const char *)el->to.data : "",
         l->local, l->remote, condition);
}

static const fg_s2s_out_ops kOutOps = {op_send,          op_ready,   op_failed,
                                       op_verify_answer, op_acked,   op_resumed,
                                       op_stanza,        op_refused, op_pair_answer};

// --- connection ---

static int connect_next(link *l);
static int race_decided(link *l, fg_conn *c);
static int race_goes_on(link *l, fg_conn *c);
static void drop_attempt(fg_conn *c);
static void hop_failover(link *l);

static void tls_trusted(link *l);
static int resumed_link_ok(link *l, fg_conn *c);

static void on_open(fg_conn *c) {
  link *l = fg_conn_arg(c);
  if (l == NULL) return;  // an attempt that lost the race
  if (!race_decided(l, c)) {
    fg_conn_abort(c, FG_CLOSE_LOCAL);
    return;
  }
  l->auth = FG_AUTH_DIALBACK;  // plaintext: nothing but dialback proves the peer
  // Direct TLS (XEP-0368): the handshake is done; the certificate is judged
  // before the stream starts.
  if (fg_conn_tls(c) != NULL) {
    if (resumed_link_ok(l, c)) tls_trusted(l);
    return;
  }
  fg_s2s_out_start(l->s2s);
}

// hop_uses_internal_ca: the hop link |l| authenticates with a minted
// certificate (its backend's hop mode is internal-ca); otherwise dialback.
// The backend index is the link's own snapshot's.
static int hop_uses_internal_ca(const link *l) {
  const fg_config *cfg = l->snap->cfg;
  return l->snap->ica != NULL && l->backend < cfg->n_backends &&
         cfg->backends[l->backend].hop_mode == FG_HOP_INTERNAL_CA;
}

// secured goes on once the peer's certificate is settled: the stream starts
// (direct TLS) or restarts over TLS (STARTTLS).
static void secured(link *l) {
  if (l->current != NULL && l->current->direct_tls) {
    fg_s2s_out_start(l->s2s);
  } else {
    fg_s2s_out_tls_established(l->s2s);
  }
}

// hosted_cert returns the certificate of |domain| when it is hosted here
// (never the default certificate standing in for an unknown name).
static fg_tls_cert *hosted_cert(fg_server *srv, const char *domain) {
  size_t backend;
  const fg_snapshot *s = cur(srv);
  if (!fg_router_lookup(s->router, domain, strlen(domain), &backend)) return NULL;
  return fg_tls_sni_lookup(s->sni, domain);
}

// client_certificate installs the certificate this link authenticates with:
// the minted one for the remote domain on the hop (mode internal-ca), the
// hosted domain's own towards remote servers.
static void client_certificate(link *l, SSL *ssl) {
  fg_server *srv = l->srv;
  if (l->kind == LINK_HOP) {
    if (!hop_uses_internal_ca(l)) return;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    if (fg_internal_ca_get(l->snap->ica, l->local, time(NULL), &x, &k)) {
      fg_tls_use_x509(ssl, x, k);
      X509_free(x);
      EVP_PKEY_free(k);
    }
    return;
  }
  fg_tls_cert *cert = hosted_cert(srv, l->local);
  if (cert != NULL) fg_tls_cert_apply(cert, ssl);
}

static fg_tls_ctx *client_ctx(link *l) {
  // The backend's certificate must be valid; towards remote and
  // authoritative servers dialback may still prove the peer.
  return l->kind == LINK_HOP ? l->srv->tls_client : l->srv->tls_client_dialback;
}

static size_t on_data(fg_conn *c, const uint8_t *data, size_t len) {
  link *l = fg_conn_arg(c);
  if (l == NULL || (l->dead && !l->ending))
    return len;  // a lost race; an ending link waits for the peer's close
  size_t used = 0;
  switch (fg_s2s_out_feed(l->s2s, data, len, &used)) {
    case FG_S2S_OUT_CONTINUE:
      // Acks may have made room for what the link holds (XEP-0198).
      if (l->ready && !l->dead && (l->qhead != NULL || l->riders != NULL)) {
        flush_queue(l);
        if (!congested(l)) wake_waiting(l);
      }
      return used;
    case FG_S2S_OUT_STARTTLS:
      if (!fg_conn_starttls(c, client_ctx(l), l->remote)) {
        fg_conn_abort(c, FG_CLOSE_TLS_ERROR);
        return len;
      }
      return used;
    case FG_S2S_OUT_CLOSED:
      fg_conn_close(c);
      return len;
  }
  return len;
}

// revocation_probe runs one pass over the remote server's validated path
// (see gateway/server/revocation.h); it returns the probe's verdict: 1 the
// link may be trusted, 0 not; with |collect| it may leave answers missing.
static int revocation_probe(link *l, fg_revocation_probe *p, int collect) {
  fg_server *srv = l->srv;
  const fg_snapshot *s = cur(srv);
  fg_revocation_probe_init(p, srv->revocation, s->cfg, fg_revocation_mode_in(s->cfg, l->remote),
                           collect);
  fg_tls_conn *t = l->conn != NULL ? fg_conn_tls(l->conn) : NULL;
  const STACK_OF(CRYPTO_BUFFER) *chain = t ? SSL_get0_peer_certificates(fg_tls_conn_ssl(t)) : NULL;
  if (p->mode == FG_REVOCATION_OFF || chain == NULL || sk_CRYPTO_BUFFER_num(chain) == 0) return 1;
  // The remote server's stapled response, when it sent one, answers before
  // the cache and any fetch (the first pass only: it is cached by then).
  if (collect) SSL_get0_ocsp_response(fg_tls_conn_ssl(t), &p->staple, &p->staple_len);
  fg_chain_params params = {.role = FG_ROLE_OUTBOUND, .at = p->now};
  fg_revocation_params(&params, p);
  fg_chain_verdict cv;
  fg_chain_verify_buffers(&cv, s->trust, chain, l->remote, &params);
  // Other chain failures are not this pass's business (dialback may still
  // prove a peer whose chain is not trusted): only revocation decides here.
  return !p->revoked && !(p->mode == FG_REVOCATION_HARD_FAIL && p->no_answer && !collect);
}

// posh_decide settles a remote server whose certificate PKIX refused (the
// handshake went on for dialback or POSH): a certificate its domain
// publishes (RFC 7711) proves it; otherwise dialback will, or, with
// dialback off, nothing can and the next candidate is tried.
static void posh_decide(void *arg) {
  link *l = arg;
  l->posh_fetch = NULL;
  if (l->dead || l->conn == NULL) return;
  fg_tls_conn *t = fg_conn_tls(l->conn);
  const STACK_OF(CRYPTO_BUFFER) *chain = t ? SSL_get0_peer_certificates(fg_tls_conn_ssl(t)) : NULL;
  fg_posh_verdict v =
      fg_posh_auth_verify(l->srv->posh, l->w, l->remote, chain, fg_s2s_out_stream_id(l->s2s));
  if (v == FG_POSH_VERDICT_MATCH) {
    l->auth = FG_AUTH_POSH;
  } else if (!cur(l->srv)->cfg->dialback.enabled) {
    fg_log(FG_LOG_SEV_WARN, NULL, l->remote,
           "%s link to %s: certificate refused: not valid by PKIX, POSH %s, dialback off",
           kind_name(l->kind), l->current ? l->current->name : "?", fg_posh_verdict_name(v));
    fg_conn_abort(l->conn, FG_CLOSE_TLS_ERROR);
    return;
  }
  secured(l);
}

// tls_trusted goes on with a link whose certificate passed the revocation
// step: PKIX proved the peer, or POSH may (fetched first while this link
// alone waits), or dialback will.
static void tls_trusted(link *l) {
  fg_tls_conn *t = fg_conn_tls(l->conn);
  l->auth = t != NULL && fg_tls_conn_verify_result(t) == FG_TLS_VERIFY_OK ? FG_AUTH_PKIX
                                                                          : FG_AUTH_DIALBACK;
  if (l->auth == FG_AUTH_PKIX || l->kind == LINK_HOP || l->srv->posh == NULL || t == NULL) {
    secured(l);
    return;
  }
  l->posh_fetch = fg_posh_auth_fetch_start(l->srv->posh, l->w, l->remote, posh_decide, l);
  if (l->posh_fetch != NULL) {
    fg_metrics_inc(&l->srv->metrics, FG_M_POSH_WAITS);
    return;
  }
  posh_decide(l);
}

// revocation_decide trusts the link or ends the connection (an untrusted
// certificate: the next candidate is tried, as for any refused certificate).
static void revocation_decide(void *arg) {
  link *l = arg;
  l->rev_fetch = NULL;
  if (l->dead || l->conn == NULL) return;
  fg_revocation_probe p;
  int ok = revocation_probe(l, &p, 0);
  fg_revocation_probe_cleanup(&p);
  if (!ok) {
    if (p.revoked) fg_metrics_inc(&l->srv->metrics, FG_M_PEERS_REFUSED_REVOKED);
    // Its session must not bring the peer back without this check.
    fg_tls_conn_forget_session(fg_conn_tls(l->conn));
    fg_log(FG_LOG_SEV_WARN, NULL, l->remote, "%s link to %s: certificate refused: %s",
           kind_name(l->kind), l->current ? l->current->name : "?", p.why);
    fg_conn_abort(l->conn, FG_CLOSE_TLS_ERROR);
    return;
  }
  tls_trusted(l);
}

// resumed_trust_ok says whether a resumed session may carry the link: the
// certificate is not verified again, so the verdict of the full handshake
// that created the session stands in for it, and it must be one the full
// handshake would accept now, for this very domain.
static int resumed_trust_ok(link *l, fg_tls_conn *t) {
  const fg_tls_verdict *v = fg_tls_conn_verdict(t);
  const char *why = NULL;
  if (strcmp(v->domain, l->remote) != 0) {
    why = "its session was verified for another domain";
  } else if (v->result == FG_TLS_VERIFY_REJECT || v->result == 0) {
    why = "its session carries no accepted certificate";
  } else if (l->kind == LINK_HOP && v->result != FG_TLS_VERIFY_OK) {
    why = "its session's certificate was not valid";
  }
  if (why == NULL) return 1;
  fg_metrics_inc(&l->srv->metrics, FG_M_TLS_RESUMED_OUT_REFUSED);
  fg_log(FG_LOG_SEV_WARN, NULL, l->remote, "%s link to %s: resumed TLS refused: %s",
         kind_name(l->kind), l->current ? l->current->name : "?", why);
  fg_tls_conn_forget_session(t);
  return 0;
}

// resumed_link_ok counts a resumed handshake and ends the connection when
// the session's carried verdict may not carry the link; it returns 1 when
// the link goes on (resumed or not).
static int resumed_link_ok(link *l, fg_conn *c) {
  fg_tls_conn *t = fg_conn_tls(c);
  if (t == NULL || !fg_tls_conn_resumed(t)) return 1;
  fg_metrics_inc(&l->srv->metrics, FG_M_TLS_RESUMED_OUT);
  if (resumed_trust_ok(l, t)) return 1;
  fg_conn_abort(c, FG_CLOSE_TLS_ERROR);
  return 0;
}

static void on_secure(fg_conn *c) {
  link *l = fg_conn_arg(c);
  if (l == NULL || l->dead || !resumed_link_ok(l, c)) return;
  // Remote servers' certificates are checked for revocation before the link
  // is trusted (the backends' are not); what the shared cache lacks is
  // fetched first, while this link alone waits.
  if (l->srv->revocation != NULL && l->kind != LINK_HOP && fg_revocation_needed(cur(l->srv)->cfg)) {
    fg_revocation_probe p;
    revocation_probe(l, &p, 1);
    if (p.n_missing > 0) {
      l->rev_fetch = fg_revocation_fetch_start(l->srv->revocation, l->w, &p, revocation_decide, l);
      fg_revocation_probe_cleanup(&p);
      if (l->rev_fetch != NULL) {
        fg_metrics_inc(&l->srv->metrics, FG_M_REVOCATION_WAITS);
        return;
      }
    }
    fg_revocation_probe_cleanup(&p);
    revocation_decide(l);
    return;
  }
  tls_trusted(l);
}

// take_broken detaches, from a link whose ready stream broke, what must go
// out again on a fresh stream: the stanzas written but not acknowledged
// (XEP-0198; the peer may have handled some: a duplicate risk the docs
// state), and those held behind them. Without XEP-0198 nothing written can
// be recovered: a stream that failed rather than closed counts its stanzas
// as unconfirmed.
static fg_sm_item *take_broken(link *l, qitem **held) {
  *held = NULL;
  if (!l->ready) return NULL;
  if (!fg_s2s_out_sm_enabled(l->s2s)) {
    if (!l->clean && l->written > 0) {
      fg_metrics_add(&l->srv->metrics, FG_M_STANZAS_UNCONFIRMED, l->written);
      fg_log(FG_LOG_SEV_WARN, fg_s2s_out_stream_id(l->s2s), l->remote,
             "%s link %s -> %s broke without XEP-0198: %llu stanzas written on it unconfirmed",
             kind_name(l->kind), l->local, l->remote, (unsigned long long)l->written);
    }
    l->written = 0;
  }
  *held = l->qhead;
  fg_server_worker_state(l->srv, l->w)->queued_bytes -= l->q_bytes;
  l->qhead = l->qtail = NULL;
  l->q_count = l->q_bytes = 0;
  return fg_s2s_out_take_unacked(l->s2s);
}

// redeliver_rider sends again a stanza another pair wrote on a broken
// shared stream: to its own pair, as its domains say.
static void redeliver_rider(fg_server *srv, fg_worker *w, unsigned slot, const fg_sm_item *it) {
  const fg_xml_element *el;
  fg_xml_parser *p = fg_stanza_reparse(it->data, it->len, &el);
  char from[FG_DOMAIN_MAX + 1], to[FG_DOMAIN_MAX + 1];
  if (p != NULL && fg_jid_domain(from, el->from.data, el->from.len) &&
      fg_jid_domain(to, el->to.data, el->to.len)) {
    redeliver(srv, w, from, to, slot, it->data, it->len, it->tag & 1);
  } else if (it->tag & 1) {
    fg_metrics_inc(&srv->metrics, FG_M_BOUNCES_UNDELIVERABLE);  // RFC 6120 §8.3.1
  } else {
    bounce_bytes(srv, w, it->data, it->len, FG_STANZA_REMOTE_SERVER_TIMEOUT);
  }
  fg_xml_parser_free(p);
}

// resend_broken delivers again what take_broken detached, oldest first.
static void resend_broken(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                          unsigned slot, fg_sm_item *unacked, qitem *held) {
  size_t n = 0;
  for (fg_sm_item *it = unacked, *next; it != NULL; it = next, n++) {
    next = it->next;
    fg_metrics_inc(&srv->metrics, FG_M_STANZAS_RESENT);
    if (it->tag & kTagRode) {
      redeliver_rider(srv, w, slot, it);
    } else {
      redeliver(srv, w, local, remote, slot, it->data, it->len, it->tag);
    }
    free(it);
  }
  if (n > 0) {
    fg_log(FG_LOG_SEV_WARN, NULL, remote, "link %s -> %s broke: %zu unacknowledged stanzas resent",
           local, remote, n);
  }
  for (qitem *q = held, *next; q != NULL; q = next) {
    next = q->next;
    redeliver(srv, w, local, remote, slot, q->data, q->len, q->is_bounce);
    free(q);
  }
}

static link *open_remote(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                         unsigned slot, const char *resume_id, uint32_t resume_acked);
static link *open_hop(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                      const resolved_target *t, unsigned slot, size_t backend, size_t address);
static link *find_link(worker_state *ws, link_kind kind, const char *local, const char *remote,
                       const resolved_target *pinned, unsigned slot);
static link *remote_link(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                         unsigned slot);
static void hop_replacement(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                            unsigned slot, size_t backend, size_t address);
static link *new_link(fg_server *srv, fg_worker *w, link_kind kind, const char *local,
                      const char *remote, const resolved_target *pinned, unsigned slot);
static int hop_wait_with_keepers(link *l);

// push_held links |q| at the end of |l|'s queue and counts it.
static void push_held(link *l, qitem *q) {
  q->next = NULL;
  if (l->qtail) {
    l->qtail->next = q;
  } else {
    l->qhead = q;
  }
  l->qtail = q;
  l->q_count++;
  l->q_bytes += q->len;
  fg_server_worker_state(l->srv, l->w)->queued_bytes += q->len;
}

// append_held puts a copy of a stanza at the end of |l|'s queue, whatever
// its bounds (the caller checks them). It returns 0 when out of memory.
static int append_held(link *l, const uint8_t *data, size_t len, int is_bounce) {
  qitem *q = malloc(sizeof(*q) + len);
  if (q == NULL) return 0;
  q->len = len;
  q->is_bounce = is_bounce;
  memcpy(q->data, data, len);
  push_held(l, q);
  return 1;
}

static void resolved(void *arg, const resolved_target *candidates, size_t n,
                     fg_stanza_condition condition, const char *why, fg_dns_tlsa_answer *tlsa,
                     size_t n_tlsa);

// keep_stanzas makes |l|, the replacement of a broken stream of the pair,
// keep what it holds through failed attempts until
// stream_management.give_up_after from now (link_retry.h).
static void keep_stanzas(link *l) {
  if (l->keeping || l->ready) return;
  l->keeping = 1;
  keepers_add(l);
  const fg_link_retry_schedule *s =
      l->kind == LINK_HOP ? &fg_link_retry_hop : &fg_link_retry_remote;
  fg_link_retry_start(&l->retry, s, fg_worker_now_ns(l->w), cur(l->srv)->cfg->sm.give_up_after_ms);
}

static void hop_retry(link *l);

// retry_fired starts the next attempt of a link keeping a broken stream's
// stanzas: a fresh lookup (the domain's targets may have moved), then its
// candidates in turn; for a hop link, its backend's address (hop_retry).
static void retry_fired(fg_timer *t, void *arg) {
  (void)t;
  link *l = arg;
  l->retry_waiting = 0;
  if (l->dead) {  // failed meanwhile (operator, drain, shutdown): answered already
    link_free(l);
    return;
  }
  fg_metrics_inc(&l->srv->metrics, FG_M_LINK_RECONNECTS);
  if (l->kind == LINK_HOP) {
    hop_retry(l);
    return;
  }
  l->resolving = 1;
  fg_resolve_start(l->srv, l->w, l->remote, resolved, l);
}

// keep_for_retry: the attempt of |l| failed with |cond| (|why|). A link
// keeping a broken stream's stanzas waits and tries again (1); after its
// give-up time, or for any other link, the caller fails it (0).
static int keep_for_retry(link *l, fg_stanza_condition cond, const char *why) {
  if (!l->keeping || l->dead || l->kind == LINK_VERIFY || atomic_load(&l->srv->stopping)) {
    return 0;
  }
  uint64_t delay_ms = fg_link_retry_next(&l->retry, fg_worker_now_ns(l->w));
  if (delay_ms == 0) {
    fg_metrics_inc(&l->srv->metrics, FG_M_LINK_RECONNECTS_GAVE_UP);
    fg_log(FG_LOG_SEV_WARN, NULL, l->remote,
           "link %s -> %s: giving up after %u reconnect attempts "
           "(stream_management.give_up_after): %zu kept stanzas bounce with %s",
           l->local, l->remote, l->retry.attempts, l->q_count, fg_stanza_condition_name(cond));
    return 0;
  }
  fg_log(FG_LOG_SEV_INFO, NULL, l->remote,
         "link %s -> %s: attempt failed (%s); %zu stanzas kept, next attempt in %llu ms", l->local,
         l->remote, why, l->q_count, (unsigned long long)delay_ms);
  l->n_candidates = l->next_candidate = 0;
  l->current = NULL;
  l->opened = 0;
  l->protocol_failed = 0;
  l->retry_waiting = 1;
  l->retry_hurried = 0;
  l->retry_failed_ns = fg_worker_now_ns(l->w);
  l->retry_at_ns = l->retry_failed_ns + delay_ms * 1000000ull;
  fg_worker_timer_arm(l->w, &l->retry_timer, delay_ms);
  return 1;
}

// carry_to_replacement opens the stream that resumes a broken resumable one
// (XEP-0198 §5) and hands it what the broken stream left: its unacknowledged
// stanzas first, those it held next. It returns 0, owning nothing, when the
// pair has another link already (the stanzas are then resent through it).
static int carry_to_replacement(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                                unsigned slot, const char *resume_id, uint32_t resume_acked,
                                fg_sm_item *unacked, qitem *held) {
  worker_state *ws = fg_server_worker_state(srv, w);
  if (find_link(ws, LINK_REMOTE, local, remote, NULL, slot) != NULL) return 0;
  link *n = open_remote(srv, w, local, remote, slot, resume_id, resume_acked);
  if (n == NULL) return 0;
  keep_stanzas(n);
  for (fg_sm_item *it = unacked, *next; it != NULL; it = next) {
    next = it->next;
    if (append_held(n, it->data, it->len, it->tag & 1)) {  // within bounds: it was unacknowledged
      n->carried++;
    } else {
      bounce_bytes(srv, w, it->data, it->len, FG_STANZA_RESOURCE_CONSTRAINT);
    }
    free(it);
  }
  for (qitem *q = held, *next; q != NULL; q = next) {
    next = q->next;
    push_held(n, q);  // accepted before, on the stream this link replaces
  }
  fg_log(FG_LOG_SEV_INFO, NULL, remote,
         "link %s -> %s broke: resuming stream %s (%zu unacknowledged)", local, remote, resume_id,
         n->carried);
  return 1;
}

static void on_close(fg_conn *c, enum fg_close_reason reason) {
  link *l = fg_conn_arg(c);
  if (l == NULL) return;  // an attempt that lost the race
  if (!l->ready && !l->dead && race_goes_on(l, c)) return;
  fg_worker_timer_cancel(l->w, &l->race_timer);
  if (l->racer != NULL) drop_attempt(l->racer);
  l->racer = NULL;
  l->conn = NULL;
  if (l->reverse != NULL) l->srv->reverse->close(l->reverse);
  l->reverse = NULL;
  if (l->dane_active && l->dane.refused) {
    snprintf(l->dane_refused, sizeof(l->dane_refused), "%s", l->dane.why);
  }
  fg_revocation_fetch_cancel(l->rev_fetch);
  l->rev_fetch = NULL;
  fg_posh_auth_fetch_cancel(l->posh_fetch);
  l->posh_fetch = NULL;
  fg_worker_timer_cancel(l->w, &l->deadline);
  fg_worker_timer_cancel(l->w, &l->tick);
  fg_worker_timer_cancel(l->w, &l->sm_timer);
  l->sm_timer_armed = 0;
  char resume_id[FG_SM_ID_MAX + 1];
  snprintf(resume_id, sizeof(resume_id), "%s",
           l->ready && l->kind == LINK_REMOTE ? fg_s2s_out_sm_id(l->s2s) : "");
  uint32_t resume_acked = fg_s2s_out_sm_acked(l->s2s);
  uint32_t resume_reverse_h = fg_s2s_out_reverse_h(l->s2s);
  // A ready stream to a remote domain that ended without a clean close
  // (RFC 6120 §4.4), not by our own doing: lost unless resumed (link_loss.h).
  int broke = l->ready && l->kind == LINK_REMOTE && !l->clean && !l->ending &&
              reason != FG_CLOSE_SHUTDOWN && !atomic_load(&l->srv->stopping);
  char stream_id[64];
  snprintf(stream_id, sizeof(stream_id), "%s", l->ready ? fg_s2s_out_stream_id(l->s2s) : "");
  // A hop stream that broke (its internal server died) is replaced like a
  // remote one: the replacement keeps its stanzas through failed attempts.
  int hop_broke = l->ready && l->kind == LINK_HOP && l->carrier == NULL && !l->clean &&
                  !l->ending && reason != FG_CLOSE_SHUTDOWN && !atomic_load(&l->srv->stopping);
  qitem *held;
  fg_sm_item *unacked = take_broken(l, &held);
  if (unacked != NULL || held != NULL || broke || hop_broke) {
    fg_server *srv = l->srv;
    fg_worker *w = l->w;
    unsigned slot = l->slot;
    int mux_carried = l->mux_carried;  // its pairs live on the old stream only
    char local[FG_DOMAIN_MAX + 1], remote[FG_DOMAIN_MAX + 1];
    memcpy(local, l->local, sizeof(local));
    memcpy(remote, l->remote, sizeof(remote));
    int remote_kind = l->kind == LINK_REMOTE;
    // The broken hop stream's address, if its snapshot is still the current one.
    size_t hop_backend = l->snap == cur(srv) ? l->backend : SIZE_MAX, hop_address = l->address;
    if (broke) {
      report_riders_lost(l, stream_id, fg_close_reason_name(reason));
      mux_note_ended_asking(l, fg_close_reason_name(reason));
    }
    link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, fg_close_reason_name(reason));
    link_free(l);
    if (resume_id[0] && !mux_carried &&
        carry_to_replacement(srv, w, local, remote, slot, resume_id, resume_acked, unacked, held)) {
      // Told lost unless the replacement resumes the stream (XEP-0198 §5).
      link *n = find_link(fg_server_worker_state(srv, w), LINK_REMOTE, local, remote, NULL, slot);
      if (n != NULL) n->resume_reverse_h = resume_reverse_h;
      if (n != NULL && broke) {
        n->lost_pending = 1;
        snprintf(n->broken_stream_id, sizeof(n->broken_stream_id), "%s", stream_id);
      }
      return;
    }
    if (broke) report_lost(srv, w, remote, stream_id, fg_close_reason_name(reason));
    if (remote_kind && !atomic_load(&srv->stopping)) {
      // A replacement at once, which keeps what the broken stream left and
      // what comes meanwhile through failed attempts (give_up_after).
      link *n = remote_link(srv, w, local, remote, slot);
      if (n != NULL) keep_stanzas(n);
    }
    if (hop_broke) hop_replacement(srv, w, local, remote, slot, hop_backend, hop_address);
    resend_broken(srv, w, local, remote, slot, unacked, held);
    return;
  }
  if (!l->dead && !l->ready && !l->protocol_failed && reason != FG_CLOSE_SHUTDOWN) {
    // A connection-level failure: the next candidate (RFC 6120 §3.2.1); on
    // the hop, another healthy address of the backend.
    if (l->kind == LINK_HOP) hop_failover(l);
    fg_log(FG_LOG_SEV_INFO, NULL, l->remote, "%s link to %s: %s", kind_name(l->kind),
           l->current ? l->current->name : "?", fg_close_reason_name(reason));
    if (connect_next(l)) return;
    if (l->kind == LINK_HOP) hop_wait_with_keepers(l);
    if (!l->dane_refused[0] &&
        keep_for_retry(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, fg_close_reason_name(reason))) {
      return;
    }
    if (l->dane_refused[0]) {
      // RFC 7672 §2.2: a secure TLSA mismatch is never downgraded; the
      // server found is not the domain's (RFC 6120 §8.3.3.15 fits better than
      // a timeout, which promises a later success).
      link_fail(l, FG_STANZA_REMOTE_SERVER_NOT_FOUND, l->dane_refused);
    } else {
      link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, fg_close_reason_name(reason));
    }
  } else {
    link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, fg_close_reason_name(reason));
  }
  link_free(l);
}

static void on_tls_created(fg_conn *c, fg_tls_conn *t) {
  link *l = fg_conn_arg(c);
  if (l == NULL) return;  // an attempt that lost the race
  // Sessions are kept per remote domain, target and local domain: a session
  // of one server is not offered to another that could not resume it, and
  // links of different local domains present different certificates, so
  // none may resume another's session (the peer would see the first one's
  // certificate: RFC 8446 §2.2).
  char key[FG_SESSION_CACHE_KEY_MAX + 1];
  snprintf(key, sizeof(key), "%s %s %s", l->remote, l->current ? l->current->name : "", l->local);
  fg_tls_conn_set_session_key(t, key);
  SSL *ssl = fg_tls_conn_ssl(t);
  client_certificate(l, ssl);
  if (l->dane_active) {
    // A resumed session skips certificate verification: under DANE every
    // handshake shows its chain (a session PKIX accepted is not offered).
    SSL_set_session(ssl, NULL);
    fg_dane_expect_attach(ssl, &l->dane);
  }
}

static const fg_conn_handler kHandler = {.on_open = on_open,
                                         .on_data = on_data,
                                         .on_secure = on_secure,
                                         .on_drain = on_drain,
                                         .on_close = on_close,
                                         .on_tls_created = on_tls_created};

// A backend address marked down is tried again after kBackendRetryMs.
enum { kBackendRetryMs = 10000 };

typedef struct mark_up_timer {
  fg_timer timer;
  fg_snapshot *snap;  // a reference: its router
  fg_router *router;
  size_t backend, address;
} mark_up_timer;

static void mark_up(fg_timer *t, void *arg) {
  (void)t;
  mark_up_timer *m = arg;
  fg_router_mark_up(m->router, m->backend, m->address);
  fg_snapshot_release(m->snap);
  free(m);
}

// hop_failover marks the failed backend address down (for kBackendRetryMs)
// and gives the link the address the router picks now, if any, so that the
// held stanzas go there instead of being bounced.
// The health marks and the alternative come from the link's own snapshot,
// whose indices the link holds; a reload starts with every address healthy.
static void hop_failover(link *l) {
  fg_snapshot *snap = l->snap;
  // Marked, logged and timed once per mark: hop links keeping stanzas try
  // an address marked down again, and fail again, meanwhile (hop_retry).
  mark_up_timer *m = NULL;
  if (fg_router_is_up(snap->router, l->backend, l->address)) {
    fg_router_mark_down(snap->router, l->backend, l->address);
    fg_log(FG_LOG_SEV_WARN, NULL, l->remote, "backend address %s marked down for %d s",
           l->current ? l->current->name : "?", kBackendRetryMs / 1000);
    m = calloc(1, sizeof(*m));
  }
  if (m != NULL) {
    m->snap = fg_snapshot_up_ref(snap);
    m->router = snap->router;
    m->backend = l->backend;
    m->address = l->address;
    fg_timer_init(&m->timer, mark_up, m);
    fg_worker_timer_arm(l->w, &m->timer, kBackendRetryMs);
  }
  size_t backend, address;
  const resolved_target *alt = fg_snapshot_backend_target(snap, l->remote, &backend, &address);
  if (alt == NULL || alt == l->pinned || l->n_candidates >= kMaxCandidates) return;
  l->pinned = alt;
  l->backend = backend;
  l->address = address;
  l->candidates[l->n_candidates++] = *alt;
}

// --- hop links keeping a broken stream's stanzas ---
//
// When a ready hop stream breaks (its internal server died), its
// replacement keeps what it left and what comes for the pair meanwhile
// through failed attempts, on the hop schedule (link_retry.h), until
// stream_management.give_up_after. Nothing here connects, fails or frees a
// link from the delivery path: traffic only re-arms a timer (hop_hurry).

// hop_replacement opens the hop link that replaces a broken one of the pair
// (unless one exists): to the address the router picks now, else to the
// broken stream's own (|backend|, |address| of the current snapshot;
// SIZE_MAX: none), and makes it keep what it gets through failed attempts
// (resend_broken then fills it).
static void hop_replacement(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                            unsigned slot, size_t backend, size_t address) {
  const fg_snapshot *snap = cur(srv);
  size_t b, a;
  const resolved_target *t = fg_snapshot_backend_target(snap, remote, &b, &a);
  if (t == NULL && backend < snap->cfg->n_backends &&
      address < fg_router_address_count(snap->router, backend)) {
    t = &snap->backend_targets[backend][address];
    b = backend;
    a = address;
  }
  if (t == NULL) return;
  link *n = find_link(fg_server_worker_state(srv, w), LINK_HOP, local, remote, t, slot);
  if (n == NULL) n = open_hop(srv, w, local, remote, t, slot, b, a);
  if (n != NULL && n->carrier == NULL) keep_stanzas(n);
}

// hop_retry starts the next attempt of a hop link keeping stanzas: to the
// address the router picks now (another may have come up), else again to
// the one that failed last, even while it is marked down. A retry timer's
// callback: the link may be failed and freed here.
static void hop_retry(link *l) {
  size_t backend, address;
  const resolved_target *t = fg_snapshot_backend_target(l->snap, l->remote, &backend, &address);
  if (t != NULL) {
    l->pinned = t;
    l->backend = backend;
    l->address = address;
  }
  l->candidates[0] = *l->pinned;
  l->n_candidates = 1;
  l->next_candidate = 0;
  if (connect_next(l)) return;
  const char *why = "no connection could be opened";
  if (keep_for_retry(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, why)) return;
  link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, why);
  link_free(l);
}

// hop_hurry: a stanza came for hop link |l| while it waits between attempts.
// The next attempt starts now, yet no sooner than the schedule's first
// delay after the failed one, so that steady traffic to a dead internal
// server costs at most one connect per first delay. Only the timer moves:
// the attempt starts from the worker's loop (retry_fired), never inside the
// caller's delivery.
static void hop_hurry(link *l) {
  if (l->kind != LINK_HOP || !l->retry_waiting || l->retry_hurried || l->dead) return;
  l->retry_hurried = 1;
  uint64_t now = fg_worker_now_ns(l->w);
  uint64_t at = l->retry_failed_ns + (uint64_t)l->retry.schedule.first_ms * 1000000ull;
  if (at < now) at = now;
  if (at < l->retry_at_ns) fg_worker_timer_arm_at(l->w, &l->retry_timer, at);
}

// kept_hop finds the pair's hop link that keeps stanzas while every address
// of its backend is marked down (whichever address it tries), or NULL.
static link *kept_hop(worker_state *ws, const char *local, const char *remote, unsigned slot) {
  for (link *l = ws->links[bucket_of(LINK_HOP, local, remote)]; l != NULL; l = l->next) {
    if (l->kind == LINK_HOP && !l->dead && l->keeping && l->slot == slot &&
        strcmp(l->local, local) == 0 && strcmp(l->remote, remote) == 0) {
      return l;
    }
  }
  return NULL;
}

// hop_wait_with_keepers: hop link |l|, of a pair whose stream did not break,
// could not connect. When another hop link of this worker keeps stanzas
// for the same backend (a stream to it broke, its give-up time has not
// passed), |l| keeps its own the same way, until the same give-up time,
// instead of bouncing them. It returns whether |l| keeps stanzas.
static int hop_wait_with_keepers(link *l) {
  if (l->keeping) return 1;
  if (l->carrier != NULL) return 0;
  link *k = hop_keepers;
  while (k != NULL && (k == l || k->dead || k->snap != l->snap || k->backend != l->backend)) {
    k = k->keeper_next;
  }
  if (k == NULL) return 0;
  l->keeping = 1;
  keepers_add(l);
  l->retry = k->retry;
  l->retry.attempts = 0;
  return 1;
}

// hop_keeper_for: a stanza of a pair without a hop link came for |backend|
// (of the current snapshot) while every address of it is marked down. When
// a hop link of this worker keeps stanzas for that backend, the pair gets a
// hop link of its own that waits with it (hop_wait_with_keepers), to the
// address the backend's keeper tries, its first attempt from the worker's
// loop (a timer of 0 ms), never here. It returns that link, or NULL (the
// stanza bounces).
static link *hop_keeper_for(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                            unsigned slot, size_t backend) {
  link *k = hop_keepers;
  while (k != NULL && (k->dead || k->snap != cur(srv) || k->backend != backend)) {
    k = k->keeper_next;
  }
  if (k == NULL) return NULL;
  link *n = new_link(srv, w, LINK_HOP, local, remote, k->pinned, slot);
  if (n == NULL) return NULL;
  n->backend = k->backend;
  n->address = k->address;
  n->candidates[0] = *k->pinned;
  n->n_candidates = 1;
  hop_wait_with_keepers(n);
  n->retry_waiting = 1;
  n->retry_hurried = 1;
  n->retry_failed_ns = n->retry_at_ns = fg_worker_now_ns(w);
  fg_worker_timer_arm(w, &n->retry_timer, 0);
  return n;
}

static fg_s2s_out *new_session(link *l, int tls_active) {
  fg_server *srv = l->srv;
  const fg_snapshot *snap = l->snap;
  fg_s2s_out_config c;
  fg_s2s_out_config_default(&c);
  c.local = l->local;
  c.remote = l->remote;
  c.purpose = l->kind == LINK_VERIFY ? FG_S2S_OUT_VERIFY : FG_S2S_OUT_STANZAS;
  c.tls_active = tls_active;
  c.dialback_secret = snap->have_db_secret ? &snap->db_secret : NULL;
  c.stream_tag = srv->stream_tag;
  c.sm = snap->cfg->sm.enabled;
  c.sm_max_stanzas = snap->cfg->limits.queue_stanzas;
  c.sm_max_bytes = snap->cfg->limits.queue_bytes;
  c.sm_request_every = snap->cfg->sm.request_every;
  c.sm_resume = 1;
  c.sm_previd = l->resume_id;
  c.sm_previd_h = l->resume_reverse_h;
  c.bidi = (l->kind == LINK_REMOTE ? snap->cfg->bidi.enabled
            : l->kind == LINK_HOP  ? snap->cfg->internal_hop.bidi
                                   : 0) &&
           srv->reverse != NULL;
  if (l->kind == LINK_HOP) {
    c.allow_plaintext = snap->cfg->internal_hop.plaintext;
    c.client_cert = hop_uses_internal_ca(l);
    const fg_config *cfg = snap->cfg;
    unsigned pairs = l->backend < cfg->n_backends ? cfg->backends[l->backend].pairs_per_stream : 1;
    c.max_pairs = pairs > 1 ? pairs - 1 : 0;  // further pairs of its remote domain (open_hop)
  } else {
    c.client_cert = hosted_cert(srv, l->local) != NULL;
    unsigned pairs = snap->cfg->limits.pairs_per_stream;
    c.max_pairs = pairs > 1 ? pairs - 1 : 0;
    c.allow_plaintext = fg_snapshot_is_plaintext_peer(snap, l->remote);
    // RFC 7673 §4.2: with usable TLSA records TLS is mandatory.
    if (l->dane_active) c.allow_plaintext = 0;
  }
  return fg_s2s_out_new(&c, &kOutOps, l);
}

// prepare_dane decides whether DANE judges the connection to |t| and sets
// up what its handshake must prove (gateway/server/dane_check.h).
static void prepare_dane(link *l, const resolved_target *t) {
  l->dane_active = 0;
  memset(&l->dane, 0, sizeof(l->dane));
  if (l->kind == LINK_HOP || !cur(l->srv)->cfg->tls.dane) return;
  const fg_dns_tlsa_answer *a =
      t->tlsa >= 0 && (size_t)t->tlsa < l->n_tlsa ? &l->tlsa[t->tlsa] : NULL;
  int report = a != NULL && l->dane_reported != t->tlsa + 1;
  if (a != NULL) l->dane_reported = t->tlsa + 1;
  if (!fg_dane_applies(l->srv, l->remote, t, a, report)) return;
  l->dane_active = 1;
  l->dane.tlsa = &a->records;
  l->dane.domain = l->remote;
  l->dane.host = t->host;
  l->dane.target = t->name;
  fg_addr_text((const struct sockaddr *)&t->addr, l->dane.ip, sizeof(l->dane.ip));
  l->dane.identity_flags = cur(l->srv)->cfg->tls.legacy_cn_id ? FG_IDENTITY_LEGACY_CN_ID : 0;
}

// connect_next opens a connection to the next candidate. It returns 0 when
// none is left. Questions asked on an earlier attempt are asked again.
// fresh_session gives |l| a new stream for target |t|; questions asked
// before are asked again on it. It returns 0 when out of memory.
static int fresh_session(link *l, const resolved_target *t) {
  fg_s2s_out *s = new_session(l, t->direct_tls);
  if (s == NULL) return 0;
  for (int i = 0; i < l->n_questions; i++) {
    fg_s2s_out_verify(s, l->questions[i].receiving, l->questions[i].originating,
                      l->questions[i].stream_id, l->questions[i].key, l->questions[i].key_len);
  }
  fg_s2s_out_free(l->s2s);
  l->s2s = s;
  l->current = t;
  return 1;
}

// open_attempt starts a connection to |t| for |l| (NULL: none could be).
static fg_conn *open_attempt(link *l, const resolved_target *t) {
  fg_connect_config cc = {0};
  cc.addr = (const struct sockaddr *)&t->addr;
  cc.addr_len = t->addr_len;
  cc.handler = &kHandler;
  cc.arg = l;
  if (t->direct_tls) {
    cc.tls = l->srv->tls_client_direct;
    cc.server_name = l->remote;
  }
  return fg_conn_connect(l->w, &cc);
}

// arm_deadline: RFC 6120 §10.4.3: a stream not established and
// authenticated in time is remote-server-timeout (limits.handshake_timeout).
static void arm_deadline(link *l) {
  uint32_t ms = cur(l->srv)->cfg->limits.handshake_timeout_ms;
  fg_worker_timer_arm(l->w, &l->deadline, ms ? ms : 30000);
}

// --- Happy Eyeballs (RFC 8305) ---

// kRaceDelayMs: the Connection Attempt Delay RFC 8305 §5 recommends: a
// candidate that has not connected by then gets a rival.
enum { kRaceDelayMs = 250 };

// drop_attempt ends an attempt that lost the race (its callbacks find no link).
static void drop_attempt(fg_conn *c) {
  fg_conn_set_arg(c, NULL);
  fg_conn_abort(c, FG_CLOSE_LOCAL);
}

// race_timer_fired starts the next candidate beside the one still
// connecting, of the other address family when one is left (RFC 8305 §4:
// IPv6 and IPv4 interleaved).
static void race_timer_fired(fg_timer *t, void *arg) {
  (void)t;
  link *l = arg;
  // Only STARTTLS attempts race: TLS (and its DANE checks) starts once the
  // race is decided; a direct TLS handshake would belong to the attempt.
  if (l->conn == NULL || l->opened || l->racer != NULL || l->dead || l->current == NULL ||
      l->current->direct_tls) {
    return;
  }
  int family = l->current != NULL ? l->current->addr.ss_family : AF_UNSPEC;
  for (size_t i = l->next_candidate; i < l->n_candidates; i++) {
    if (l->candidates[i].addr.ss_family == family) continue;
    resolved_target other = l->candidates[i];
    memmove(&l->candidates[l->next_candidate + 1], &l->candidates[l->next_candidate],
            (i - l->next_candidate) * sizeof(other));
    l->candidates[l->next_candidate] = other;
    break;
  }
  while (l->next_candidate < l->n_candidates && l->racer == NULL &&
         !l->candidates[l->next_candidate].direct_tls) {
    const resolved_target *next = &l->candidates[l->next_candidate++];
    l->racer = open_attempt(l, next);
    l->racer_target = next;
  }
  if (l->racer != NULL) fg_metrics_inc(&l->srv->metrics, FG_M_CONNECT_RACES);
}

// race_decided: attempt |c| connected first; the other one is dropped and
// the link's stream is |c|'s. It returns 0 when out of memory.
static int race_decided(link *l, fg_conn *c) {
  fg_worker_timer_cancel(l->w, &l->race_timer);
  l->opened = 1;
  if (c != l->racer) {
    if (l->racer != NULL) drop_attempt(l->racer);
    l->racer = NULL;
    return 1;
  }
  drop_attempt(l->conn);
  l->conn = c;
  l->racer = NULL;
  fg_metrics_inc(&l->srv->metrics, FG_M_CONNECT_RACES_WON_LATER);
  prepare_dane(l, l->racer_target);
  return fresh_session(l, l->racer_target);
}

// race_goes_on: attempt |c| of |l| failed before connecting. It returns 1
// when the race goes on with the other attempt (nothing else to do).
static int race_goes_on(link *l, fg_conn *c) {
  if (c == l->racer) {  // the later attempt failed: the first goes on
    l->racer = NULL;
    return 1;
  }
  if (l->racer == NULL || l->opened) return 0;
  l->conn = l->racer;  // the first failed: the later one goes on alone
  l->racer = NULL;
  prepare_dane(l, l->racer_target);
  if (!fresh_session(l, l->racer_target)) {
    drop_attempt(l->conn);
    l->conn = NULL;
    return 0;
  }
  arm_deadline(l);
  if (l->next_candidate < l->n_candidates) fg_worker_timer_arm(l->w, &l->race_timer, kRaceDelayMs);
  return 1;
}

static int connect_next(link *l) {
  while (l->next_candidate < l->n_candidates) {
    const resolved_target *t = &l->candidates[l->next_candidate++];
    prepare_dane(l, t);
    if (!fresh_session(l, t)) return 0;
    l->conn = open_attempt(l, t);
    if (l->conn == NULL) continue;
    l->opened = 0;
    if (l->kind == LINK_REMOTE) carriers_add(l);  // a pair that stopped riding
    arm_deadline(l);
    if (l->next_candidate < l->n_candidates) {
      fg_worker_timer_arm(l->w, &l->race_timer, kRaceDelayMs);
    }
    return 1;
  }
  return 0;
}

static link *find_link(worker_state *ws, link_kind kind, const char *local, const char *remote,
                       const resolved_target *pinned, unsigned slot) {
  for (link *l = ws->links[bucket_of(kind, local, remote)]; l != NULL; l = l->next) {
    if (l->kind == kind && same_target(l->pinned, pinned) && l->slot == slot &&
        strcmp(l->local, local) == 0 && strcmp(l->remote, remote) == 0) {
      return l;
    }
  }
  return NULL;
}

static void mux_timed_out(link *r);

static void deadline_passed(fg_timer *t, void *arg) {
  (void)t;
  link *l = arg;
  if (l->dead && l->conn == NULL && !l->resolving && l->racer == NULL) {
    link_free(l);  // a pair that rode on another stream (mux_orphan)
    return;
  }
  if (l->carrier != NULL && l->mux_asked && !l->ready && !l->dead) {
    mux_timed_out(l);  // its db:result on a shared stream got no answer
    return;
  }
  if ((!l->ready || l->ending) && l->conn != NULL) fg_conn_abort(l->conn, FG_CLOSE_TIMEOUT);
}

static link *new_link(fg_server *srv, fg_worker *w, link_kind kind, const char *local,
                      const char *remote, const resolved_target *pinned, unsigned slot) {
  link *l = calloc(1, sizeof(*l));
  if (l == NULL) return NULL;
  l->slot = slot;
  fg_timer_init(&l->deadline, deadline_passed, l);
  fg_timer_init(&l->tick, tick, l);
  fg_timer_init(&l->sm_timer, sm_timer_fired, l);
  fg_timer_init(&l->race_timer, race_timer_fired, l);
  fg_timer_init(&l->retry_timer, retry_fired, l);
  l->srv = srv;
  l->snap = fg_snapshot_up_ref(fg_server_snapshot(srv));
  l->w = w;
  l->kind = kind;
  l->pinned = pinned;
  static _Thread_local uint64_t next_id;  // links live and die on their worker
  snprintf(l->id, sizeof(l->id), "out-%u-%llu", fg_worker_index(w), (unsigned long long)++next_id);
  snprintf(l->local, sizeof(l->local), "%s", local);
  snprintf(l->remote, sizeof(l->remote), "%s", remote);
  l->s2s = new_session(l, 0);
  if (l->s2s == NULL) {
    fg_snapshot_release(l->snap);
    free(l);
    return NULL;
  }
  index_link(l);
  fg_server_worker_state(srv, w)->live_links++;
  if (kind == LINK_HOP) fg_metrics_inc(&srv->metrics, FG_M_HOP_STREAMS_OPENED);
  if (kind == LINK_REMOTE) fg_metrics_inc(&srv->metrics, FG_M_REMOTE_STREAMS_OPENED);
  return l;
}

// open_pinned opens a link to one known target (hop, verify).
// |backend| and |address| name a hop link's backend address (its hop mode
// and health); SIZE_MAX for other links.
static link *open_pinned(fg_server *srv, fg_worker *w, link_kind kind, const char *local,
                         const char *remote, const resolved_target *target, unsigned slot,
                         size_t backend, size_t address) {
  link *l = new_link(srv, w, kind, local, remote, target, slot);
  if (l == NULL) return NULL;
  l->backend = backend;
  l->address = address;  // before connect_next makes the session that uses it
  l->candidates[0] = *target;
  l->n_candidates = 1;
  if (!connect_next(l)) {
    unlink_from_worker(l);
    link_free(l);
    return NULL;
  }
  return l;
}

static int mux_output_full(const link *c);

static fg_stanza_condition enqueue(link *l, const uint8_t *data, size_t len, int is_bounce) {
  fg_server *srv = l->srv;
  if (l->ready && l->qhead == NULL && fg_s2s_out_can_send(stream_of(l), len) &&
      !(shared(l) && mux_output_full(l->carrier != NULL ? l->carrier : l))) {
    write_stanza(l, data, len, is_bounce);
    return FG_STANZA_CONDITION_COUNT;
  }
  const fg_config *cfg = cur(srv)->cfg;
  worker_state *ws = fg_server_worker_state(srv, l->w);
  // RFC 6120 §8.3.3.18: a full queue is resource-constraint (wait). Each
  // link still connecting is bounded, and so is everything one worker holds.
  // A ready link holds stanzas only while XEP-0198 acks are awaited: like
  // its connection's output, that is bounded by flow control (its input
  // streams are paused, see congested), not bounced.
  int bounded = !l->ready;
  if ((bounded && cfg->limits.queue_stanzas && l->q_count >= cfg->limits.queue_stanzas) ||
      (bounded && cfg->limits.queue_bytes && l->q_bytes + len > cfg->limits.queue_bytes) ||
      ws->queued_bytes + len > kWorkerQueueBytes) {
    return FG_STANZA_RESOURCE_CONSTRAINT;
  }
  if (!append_held(l, data, len, is_bounce)) return FG_STANZA_RESOURCE_CONSTRAINT;
  fg_metrics_inc(&srv->metrics, FG_M_STANZAS_QUEUED);
  hop_hurry(l);
  return FG_STANZA_CONDITION_COUNT;
}

static int mux_attach(link *l);

// resolved takes the candidates found for |l|'s remote domain (or a failure
// when |n| is 0, with |condition|); fg_resolve_start's callback.
static void resolved(void *arg, const resolved_target *candidates, size_t n,
                     fg_stanza_condition condition, const char *why, fg_dns_tlsa_answer *tlsa,
                     size_t n_tlsa) {
  link *l = arg;
  l->resolving = 0;
  if (l->dead) {  // failed while resolving (a drain, or closed by the operator)
    fg_resolve_tlsa_free(tlsa, n_tlsa);
    link_free(l);
    return;
  }
  fg_resolve_tlsa_free(l->tlsa, l->n_tlsa);
  l->tlsa = tlsa;
  l->n_tlsa = n_tlsa;
  if (n > kMaxCandidates) n = kMaxCandidates;
  memcpy(l->candidates, candidates, n * sizeof(*candidates));
  l->n_candidates = n;
  l->next_candidate = 0;
  if (n > 0 && mux_attach(l)) return;
  if (n > 0 && connect_next(l)) return;
  fg_stanza_condition cond = n == 0 ? condition : FG_STANZA_REMOTE_SERVER_TIMEOUT;
  if (n == 0 && keep_for_retry(l, cond, why)) return;
  link_fail(l, cond, n == 0 ? why : "no candidate could be connected");
  link_free(l);
}

// remote_link finds or opens the outbound link for (local, remote): the
// targets come from dns.static or from DNS (gateway/server/resolve.h).
static link *remote_link(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                         unsigned slot) {
  worker_state *ws = fg_server_worker_state(srv, w);
  link *l = find_link(ws, LINK_REMOTE, local, remote, NULL, slot);
  if (l != NULL) return l;
  return open_remote(srv, w, local, remote, slot, NULL, 0);
}

// open_remote opens an outbound link for (local, remote), resuming the
// broken stream |resume_id| when not NULL (XEP-0198 §5).
static link *open_remote(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                         unsigned slot, const char *resume_id, uint32_t resume_acked) {
  link *l = new_link(srv, w, LINK_REMOTE, local, remote, NULL, slot);
  if (l == NULL) return NULL;
  if (resume_id != NULL) snprintf(l->resume_id, sizeof(l->resume_id), "%s", resume_id);
  l->resume_acked = resume_acked;
  l->resolving = 1;
  carriers_add(l);  // pairs to the same domain may wait for it (mux_attach)
  fg_resolve_start(srv, w, remote, resolved, l);
  return l;
}

// --- several pairs on one stream (XEP-0220 §4.3, gateway/server/link_mux.h) ---

static int mux_output_full(const link *c) {
  return c->conn == NULL || fg_conn_write_blocked(c->conn);
}

// mux_detach takes rider |r| off its carrier's list.
static void mux_detach(link *r) {
  link *c = r->carrier;
  if (c == NULL) return;
  if (r->rider_prev) {
    r->rider_prev->rider_next = r->rider_next;
  } else {
    c->riders = r->rider_next;
  }
  if (r->rider_next) r->rider_next->rider_prev = r->rider_prev;
  r->rider_prev = r->rider_next = NULL;
  r->carrier = NULL;
  r->drr.deficit = 0;
}

// mux_orphan detaches a dead rider, which owns no connection, and frees it
// from the worker's loop (its callers may be walking the link index).
static void mux_orphan(link *r) {
  mux_detach(r);
  fg_worker_timer_arm(r->w, &r->deadline, 0);
}

typedef struct mux_round {
  link *m[kMaxPairs];
  fg_drr_queue *q[kMaxPairs];
  size_t n;
} mux_round;

static size_t mux_head_len(void *arg, size_t i) {
  const mux_round *r = arg;
  return r->m[i]->qhead != NULL ? r->m[i]->qhead->len : 0;
}

static int mux_send_head(void *arg, size_t i) {
  mux_round *r = arg;
  link *c = r->m[0], *l = r->m[i];
  if (mux_output_full(c) || !fg_s2s_out_can_send(c->s2s, l->qhead->len)) return 0;
  qitem *q = pop_front(l);
  if (l->carried > 0) {  // written on the broken stream, not known handled
    l->carried--;
    fg_metrics_inc(&l->srv->metrics, FG_M_STANZAS_RESENT);
  }
  write_stanza(l, q->data, q->len, q->is_bounce);
  free(q);
  return 1;
}

static const fg_drr_ops kMuxOps = {mux_head_len, mux_send_head};

// mux_flush writes what carrier |c| and its accepted riders hold, shared by
// deficit round robin while the stream takes it, then resumes the input
// streams of the pairs left with nothing held.
static void mux_flush(link *c) {
  static _Thread_local mux_round r;
  r.n = 0;
  r.m[r.n] = c;
  r.q[r.n++] = &c->drr;
  for (link *x = c->riders; x != NULL && r.n < kMaxPairs; x = x->rider_next) {
    if (!x->ready) continue;
    r.m[r.n] = x;
    r.q[r.n++] = &x->drr;
  }
  if (c->ready && !c->dead && c->conn != NULL) {
    fg_drr_run(&c->drr_at, r.q, r.n, kMuxQuantum, &kMuxOps, &r);
  }
  for (size_t i = 0; i < r.n; i++) {
    if (!congested(r.m[i])) wake_waiting(r.m[i]);
  }
}

// mux_pair_ready: the peer accepted rider |r|'s pair on its carrier.
static void mux_pair_ready(link *r) {
  link *c = r->carrier;
  fg_worker_timer_cancel(r->w, &r->deadline);
  r->ready = 1;
  r->auth = c->auth;
  r->last_stanza_ns = fg_worker_now_ns(r->w);
  c->mux_carried = 1;
  forget_failure(r);
  fg_metrics_inc(&r->srv->metrics, FG_M_MUX_PAIRS_READY);
  fg_log(FG_LOG_SEV_INFO, fg_s2s_out_stream_id(c->s2s), r->remote,
         "remote pair %s -> %s (%s) rides on stream %s (%s -> %s), %zu pairs on it", r->local,
         r->remote, r->id, c->id, c->local, c->remote, fg_s2s_out_pairs(c->s2s));
  mux_flush(c);
}

// mux_stream_of describes ready link |c| for fg_link_mux_fits, as a
// stream that might carry |l|'s pair.
static fg_mux_stream mux_stream_of(const link *c, const link *l, const fg_config *cfg) {
  fg_tls_conn *t = fg_conn_tls(c->conn);
  SSL *ssl = t != NULL ? fg_tls_conn_ssl(t) : NULL;
  const STACK_OF(CRYPTO_BUFFER) *chain = ssl != NULL ? SSL_get0_peer_certificates(ssl) : NULL;
  const CRYPTO_BUFFER *leaf =
      chain != NULL && sk_CRYPTO_BUFFER_num(chain) > 0 ? sk_CRYPTO_BUFFER_value(chain, 0) : NULL;
  int same_address = 0;
  for (size_t i = 0; i < l->n_candidates && !same_address; i++) {
    same_address = same_target(c->current, &l->candidates[i]);
  }
  fg_mux_stream ms = {
      .remote = c->remote,
      .same_address = same_address,
      .leaf = leaf != NULL ? CRYPTO_BUFFER_data(leaf) : NULL,
      .leaf_len = leaf != NULL ? CRYPTO_BUFFER_len(leaf) : 0,
      .pkix_ok = t != NULL && fg_tls_conn_verify_result(t) == FG_TLS_VERIFY_OK,
      .can_multiplex = fg_s2s_out_can_multiplex(c->s2s),
      .pairs = fg_s2s_out_pairs(c->s2s),
      .max_pairs = cfg->limits.pairs_per_stream,
  };
  return ms;
}

// mux_join puts |l| among |c|'s riders.
static void mux_join(link *l, link *c) {
  carriers_remove(l);
  l->carrier = c;
  l->rider_prev = NULL;
  l->rider_next = c->riders;
  if (c->riders) c->riders->rider_prev = l;
  c->riders = l;
  l->drr.deficit = 0;
}

// mux_ask asks ready carrier |c| to take |l|'s pair. It returns 1 when
// the pair is asked for or was accepted on it before (then |l| rides).
static int mux_ask(link *l, link *c, const fg_config *cfg) {
  fg_pair_state was = fg_s2s_out_pair_state(c->s2s, l->local, l->remote);
  if (was == FG_PAIR_PENDING) return 0;  // another link of the pair asks already
  if (was == FG_PAIR_NONE) {
    unsigned flags = cfg->tls.legacy_cn_id ? FG_IDENTITY_LEGACY_CN_ID : 0;
    if (c->current == NULL) return 0;
    if (fg_mux_memory_has(&mux_shy, c->remote, fg_worker_now_ns(c->w))) {
      fg_log(FG_LOG_SEV_DEBUG, fg_s2s_out_stream_id(c->s2s), l->remote,
             "remote pair %s -> %s not on stream %s: %s broke a stream over a further pair",
             l->local, l->remote, c->id, c->remote);
      return 0;
    }
    fg_mux_stream ms = mux_stream_of(c, l, cfg);
    fg_mux_fit fit = fg_link_mux_fits(&ms, l->remote, l->n_tlsa > 0, flags);
    if (fit != FG_MUX_FITS) {
      fg_log(FG_LOG_SEV_DEBUG, fg_s2s_out_stream_id(c->s2s), l->remote,
             "remote pair %s -> %s not on stream %s: %s", l->local, l->remote, c->id,
             fg_link_mux_fit_name(fit));
      return 0;
    }
    if (!fg_s2s_out_add_pair(c->s2s, l->local, l->remote)) return 0;
    fg_metrics_inc(&l->srv->metrics, FG_M_MUX_PAIRS_ASKED);
  }
  if (l->carrier != c) mux_join(l, c);
  l->mux_asked = 1;
  if (was == FG_PAIR_VALID) {
    mux_pair_ready(l);
  } else {
    // The answer is awaited as long as a stream's own authentication
    // (limits.handshake_timeout), then the pair goes alone (mux_timed_out).
    arm_deadline(l);
  }
  return 1;
}

// mux_waiting_room says whether |l| may wait for |c|, a stream to its
// remote domain that is not ready yet (a burst of new pairs then shares
// one stream instead of opening one each): there is room for one more
// pair, and none of |c|'s riders is of |l|'s pair.
static int mux_waiting_room(const link *l, const link *c, const fg_config *cfg) {
  if (strcmp(c->remote, l->remote) != 0) return 0;
  size_t pairs = 1;
  for (const link *r = c->riders; r != NULL; r = r->rider_next, pairs++) {
    if (strcmp(r->local, l->local) == 0) return 0;
  }
  return strcmp(c->local, l->local) != 0 && pairs < cfg->limits.pairs_per_stream;
}

// mux_attach lets remote link |l|, whose candidates are known, ride on a
// stream of this worker that may carry its pair, instead of opening its own
// (link_mux.h says which may): a ready one is asked at once; one to the
// same remote domain that is still connecting is waited for. It returns 1
// when |l| rides or waits.
static int mux_attach(link *l) {
  const fg_config *cfg = cur(l->srv)->cfg;
  // A link others wait for carries them: it connects on its own.
  if (l->kind != LINK_REMOTE || l->mux_refused || cfg->limits.pairs_per_stream <= 1 ||
      l->resume_id[0] || l->carried > 0 || l->riders != NULL) {
    return 0;
  }
  link *wait_for = NULL;
  for (link *c = carriers; c != NULL; c = c->carrier_next) {
    if (c == l || c->dead || c->ending || c->carrier != NULL) continue;
    if (!c->ready) {
      // One that is still resolving may end up waiting itself: only a
      // stream that is connecting is waited for.
      if (wait_for == NULL && !c->resolving && mux_waiting_room(l, c, cfg)) wait_for = c;
      continue;
    }
    if (c->conn != NULL && mux_ask(l, c, cfg)) return 1;
  }
  if (wait_for == NULL) return 0;
  mux_join(l, wait_for);
  l->mux_asked = 0;
  return 1;
}

// mux_ask_waiting: carrier |c| became ready; the pairs that waited for it
// ask for their place on it, or go elsewhere.
static void mux_ask_waiting(link *c) {
  const fg_config *cfg = cur(c->srv)->cfg;
  for (link *r = c->riders, *next; r != NULL; r = next) {
    next = r->rider_next;
    if (r->mux_asked || r->dead) continue;
    if (mux_ask(r, c, cfg)) continue;
    mux_detach(r);
    if (mux_attach(r)) continue;
    r->next_candidate = 0;
    if (connect_next(r)) continue;
    link_fail(r, FG_STANZA_REMOTE_SERVER_TIMEOUT, "no candidate could be connected");
    mux_orphan(r);
  }
}

// mux_note_ended_asking: carrier |c|'s stream ends by its peer's doing
// (|why|: a stream error, its closing tag or a reset) while pairs await the
// answer to their db:result. Taken as a server that does not take further
// pairs: those pairs go alone (mux_release), and for kMuxShyNs no stream to
// c's remote domain is asked to carry one, so that the next new pair does
// not break the replacement stream the same way.
static void mux_note_ended_asking(link *c, const char *why) {
  size_t asking = 0;
  for (link *r = c->riders; r != NULL; r = r->rider_next) {
    if (!r->mux_asked || r->ready || r->dead) continue;
    r->mux_refused = 1;
    asking++;
  }
  if (asking == 0) return;
  uint64_t now = fg_worker_now_ns(c->w);
  fg_mux_memory_note(&mux_shy, c->remote, now, now + kMuxShyNs);
  fg_metrics_add(&c->srv->metrics, FG_M_MUX_PAIRS_REFUSED, asking);
  fg_log(FG_LOG_SEV_WARN, fg_s2s_out_stream_id(c->s2s), c->remote,
         "stream %s to %s ended (%s) while %zu further pairs awaited their dialback answer: "
         "they open their own streams, and streams to %s carry no further pairs for %llu min",
         c->id, c->remote, why, asking, c->remote,
         (unsigned long long)(kMuxShyNs / 60000000000ull));
}

// open_hop opens the hop link of remote domain |local| to hosted domain
// |remote| at backend address |t|. When the backend takes several pairs on
// one stream (backends[].pairs_per_stream), the pair asks to ride on a
// ready hop stream of the same remote domain to the same address with a
// db:result, which the internal server checks with a db:verify to
// fedgate's internal listener (ejabberd 23.01 does); one remote domain per
// stream, so that closing a lost remote domain's hop streams (link_loss.h)
// ends no other's. Otherwise, or when none fits, a stream of its own.
static link *open_hop(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                      const resolved_target *t, unsigned slot, size_t backend, size_t address) {
  const fg_config *cfg = cur(srv)->cfg;
  unsigned max = backend < cfg->n_backends ? cfg->backends[backend].pairs_per_stream : 1;
  link *c = hop_carriers;
  while (max > 1 && c != NULL &&
         (c->dead || c->ending || c->draining || c->conn == NULL || !c->ready || c->slot != slot ||
          strcmp(c->local, local) != 0 || !same_target(c->pinned, t) ||
          !fg_s2s_out_can_multiplex(c->s2s) || fg_s2s_out_pairs(c->s2s) >= max ||
          fg_s2s_out_pair_state(c->s2s, local, remote) != FG_PAIR_NONE ||
          fg_mux_memory_has(&mux_shy, c->remote, fg_worker_now_ns(w)))) {
    c = c->carrier_next;
  }
  if (max <= 1 || c == NULL) {
    return open_pinned(srv, w, LINK_HOP, local, remote, t, slot, backend, address);
  }
  link *l = new_link(srv, w, LINK_HOP, local, remote, t, slot);
  if (l == NULL) return NULL;
  l->backend = backend;
  l->address = address;
  l->candidates[0] = *t;
  l->n_candidates = 1;
  if (fg_s2s_out_add_pair(c->s2s, local, remote)) {
    fg_metrics_inc(&srv->metrics, FG_M_MUX_PAIRS_ASKED);
    mux_join(l, c);
    l->mux_asked = 1;
    arm_deadline(l);  // the answer is awaited as long as a handshake
    return l;
  }
  if (connect_next(l)) return l;
  unlink_from_worker(l);
  link_free(l);
  return NULL;
}

// mux_go_alone: rider |r| leaves its carrier for a stream of its own (the
// peer refused its pair there, or never answered), keeping what it holds.
static void mux_go_alone(link *r) {
  mux_detach(r);
  r->mux_refused = 1;
  r->next_candidate = 0;
  if (connect_next(r)) return;
  link_fail(r, FG_STANZA_REMOTE_SERVER_TIMEOUT, "no candidate could be connected");
  mux_orphan(r);
}

// op_pair_answer: the peer's answer for a rider's pair on carrier |arg|. A
// refused pair connects on its own (XEP-0220 §2.4: the stream goes on).
static void op_pair_answer(void *arg, const char *from, const char *to, const char *condition) {
  link *c = arg;
  link *r = c->riders;
  while (r != NULL &&
         (r->ready || !r->mux_asked || strcmp(r->local, from) || strcmp(r->remote, to))) {
    r = r->rider_next;
  }
  if (r == NULL) return;  // the pair's link ended before the answer
  if (condition == NULL) {
    mux_pair_ready(r);
    return;
  }
  fg_metrics_inc(&r->srv->metrics, FG_M_MUX_PAIRS_REFUSED);
  fg_log(FG_LOG_SEV_WARN, fg_s2s_out_stream_id(c->s2s), to,
         "remote pair %s -> %s refused on stream %s (%s): opening its own stream", from, to, c->id,
         condition);
  mux_go_alone(r);
}

// mux_timed_out: rider |r|'s db:result got no answer within
// limits.handshake_timeout (a peer that ignores further pairs). Like a
// refusal, the pair connects on its own with what it holds; a late answer
// finds no rider and changes nothing (the pair stays asked on the stream).
static void mux_timed_out(link *r) {
  link *c = r->carrier;
  fg_metrics_inc(&r->srv->metrics, FG_M_MUX_PAIRS_TIMEOUT);
  fg_log(FG_LOG_SEV_WARN, fg_s2s_out_stream_id(c->s2s), r->remote,
         "remote pair %s -> %s got no dialback answer on stream %s within "
         "limits.handshake_timeout: opening its own stream (%zu held)",
         r->local, r->remote, c->id, r->q_count);
  mux_go_alone(r);
}

// mux_release lets the riders of carrier |c|, whose stream ends, go: those
// holding nothing end with it (their pair's next stanza finds or opens a
// stream), the others ride on another stream or connect on their own.
static void mux_release(link *c) {
  carriers_remove(c);
  while (c->riders != NULL) {
    link *r = c->riders;
    mux_detach(r);
    fg_metrics_inc(&r->srv->metrics, FG_M_MUX_PAIRS_MOVED);
    if (r->dead) {
      mux_orphan(r);
      continue;
    }
    if (r->qhead == NULL) {
      // A normal end, not a failure: the domain is not unreachable.
      unlink_from_worker(r);
      r->dead = 1;
      wake_waiting(r);
      mux_orphan(r);
      continue;
    }
    r->ready = 0;
    if (atomic_load(&r->srv->stopping)) {
      link_fail(r, FG_STANZA_REMOTE_SERVER_TIMEOUT, "its shared stream ended");
      mux_orphan(r);
      continue;
    }
    if (mux_attach(r)) continue;
    r->next_candidate = 0;
    if (connect_next(r)) continue;
    link_fail(r, FG_STANZA_REMOTE_SERVER_TIMEOUT, "no candidate could be connected");
    mux_orphan(r);
  }
}

// mux_busy says whether a rider of |c| holds stanzas.
static int mux_busy(const link *c) {
  for (const link *r = c->riders; r != NULL; r = r->rider_next) {
    if (r->q_count > 0) return 1;
  }
  return 0;
}

// remember_route notes in |in| the link its stanza took (fg_deliver's fast path).
static void remember_route(fg_flow *in, const worker_state *ws, link *l, uint64_t health) {
  if (in == NULL) return;
  in->last = l;
  in->last_links_epoch = ws->links_epoch;
  in->last_health_epoch = health;
}

fg_stanza_condition fg_deliver(fg_server *srv, fg_worker *w, const char *from_domain,
                               const char *to_domain, uint64_t flow, int is_bounce,
                               const uint8_t *data, size_t len, fg_flow *in) {
  if (atomic_load(&srv->stopping)) return FG_STANZA_REMOTE_SERVER_TIMEOUT;
  // One input stream always maps to the same stream of the pair (order).
  const fg_snapshot *snap = cur(srv);
  unsigned per_pair = snap->cfg->limits.streams_per_pair ? snap->cfg->limits.streams_per_pair : 1;
  unsigned slot = (unsigned)(flow % per_pair);
  worker_state *ws = fg_server_worker_state(srv, w);
  // The stream's previous stanza went the same way (same domains, no link
  // gone since, no backend health change): no lookup at all.
  link *l = in != NULL ? in->last : NULL;
  if (l != NULL && in->last_links_epoch == ws->links_epoch &&
      in->last_health_epoch == fg_router_health_epoch(snap->router) &&
      strcmp(l->remote, to_domain) == 0 && strcmp(l->local, from_domain) == 0) {
    fg_stanza_condition cond = enqueue(l, data, len, is_bounce);
    if (cond == FG_STANZA_CONDITION_COUNT) park(l, in);
    return cond;
  }
  uint64_t health = fg_router_health_epoch(snap->router);
  size_t backend, address;
  const resolved_target *t = fg_snapshot_backend_target(snap, to_domain, &backend, &address);
  if (t != NULL) {
    l = find_link(ws, LINK_HOP, from_domain, to_domain, t, slot);
    // XEP-0288: a stream the backend made bidirectional carries it when no
    // hop link of the pair exists (one that does may hold earlier stanzas).
    if (l == NULL && fg_bidi_hop_send(srv, ws, from_domain, to_domain, data, len, is_bounce)) {
      return FG_STANZA_CONDITION_COUNT;
    }
    if (l == NULL) {
      l = open_hop(srv, w, from_domain, to_domain, t, slot, backend, address);
      if (l == NULL) return FG_STANZA_REMOTE_SERVER_TIMEOUT;
    }
    remember_route(in, ws, l, health);
    fg_stanza_condition cond = enqueue(l, data, len, is_bounce);
    if (cond == FG_STANZA_CONDITION_COUNT) park(l, in);
    return cond;
  }
  fg_route route;
  switch (fg_router_route(snap->router, to_domain, strlen(to_domain), &route)) {
    case FG_ROUTE_DRAINED:
      // The operator drained every address of the backend: the sender may
      // try again later (RFC 6120 §8.3.3.16, type wait), as when it is down.
      fg_metrics_inc(&srv->metrics, FG_M_STANZAS_REFUSED_DRAINED);
      fg_log(FG_LOG_SEV_DEBUG, NULL, to_domain, "stanza from %s refused: backend %s drained",
             from_domain, route.backend_name);
      return FG_STANZA_REMOTE_SERVER_TIMEOUT;
    case FG_ROUTE_BACKEND_DOWN:
    case FG_ROUTE_OK: {  // marked down since the lookup above
      // Hosted, but every backend address is down: the pair's hop link that
      // keeps stanzas through failed attempts takes it, or one that waits
      // with another pair's for the backend; else it bounces.
      l = kept_hop(ws, from_domain, to_domain, slot);
      if (l == NULL) l = hop_keeper_for(srv, w, from_domain, to_domain, slot, route.backend);
      if (l == NULL) return FG_STANZA_REMOTE_SERVER_TIMEOUT;
      fg_stanza_condition cond = enqueue(l, data, len, is_bounce);
      if (cond == FG_STANZA_CONDITION_COUNT) park(l, in);
      return cond;
    }
    case FG_ROUTE_NOT_HOSTED:
      break;
  }
  // XEP-0288: an inbound stream the remote server made bidirectional
  // carries the stanza when no link of the pair exists (one that does may
  // hold stanzas queued before this one).
  if (ws->bidi != NULL && find_link(ws, LINK_REMOTE, from_domain, to_domain, NULL, slot) == NULL &&
      fg_bidi_streams_send(ws->bidi, from_domain, to_domain, data, len, is_bounce)) {
    fg_metrics_inc(&srv->metrics, FG_M_BIDI_STANZAS_SENT);  // counted delivered by the stream
    return FG_STANZA_CONDITION_COUNT;
  }
  unreachable *u = find_unreachable(ws, to_domain);
  if (u != NULL && fg_worker_now_ns(w) < u->retry_at_ns &&
      find_link(ws, LINK_REMOTE, from_domain, to_domain, NULL, slot) == NULL) {
    fg_metrics_inc(&srv->metrics, FG_M_UNREACHABLE_SHORTCUTS);
    return u->condition;
  }
  l = remote_link(srv, w, from_domain, to_domain, slot);
  if (l == NULL) return FG_STANZA_REMOTE_SERVER_TIMEOUT;
  remember_route(in, ws, l, health);
  fg_stanza_condition cond = enqueue(l, data, len, is_bounce);
  if (cond == FG_STANZA_CONDITION_COUNT) park(l, in);
  return cond;
}

int fg_link_verify(fg_server *srv, fg_worker *w, const char *receiving, const char *originating,
                   const char *stream_id, const uint8_t *key, size_t key_len) {
  // The authoritative server: a pinned target, the backend of an internal
  // server's domain, or whatever DNS says for a remote domain.
  const resolved_target *target = NULL;
  size_t backend, address;
  const fg_snapshot *snap = cur(srv);
  const static_route *r = fg_snapshot_static_route(snap, originating);
  if (r != NULL && r->n_targets > 0) {
    target = &r->targets[0];
  } else {
    target = fg_snapshot_backend_target(snap, originating, &backend, &address);
  }
  worker_state *ws = fg_server_worker_state(srv, w);
  link *l = find_link(ws, LINK_VERIFY, receiving, originating, target, 0);
  // XEP-0220 §2.3: one verify stream to an authoritative server carries the
  // questions of every pair it answers for (each names its own domains), so
  // that many pairs from one peer (multiplexing) cost one stream, not one
  // each.
  for (link *v = verifiers; l == NULL && target != NULL && v != NULL; v = v->carrier_next) {
    if (!v->dead && same_target(v->pinned, target) && v->n_questions < kMaxQuestions &&
        strcmp(v->local, receiving) == 0) {
      l = v;
    }
  }
  if (l == NULL && target != NULL) {
    l = open_pinned(srv, w, LINK_VERIFY, receiving, originating, target, 0, SIZE_MAX, SIZE_MAX);
    if (l != NULL) carriers_add(l);
  } else if (l == NULL) {
    l = new_link(srv, w, LINK_VERIFY, receiving, originating, NULL, 0);
    if (l != NULL) {
      l->resolving = 1;
      fg_resolve_start(srv, w, originating, resolved, l);
    }
  }
  if (l == NULL || l->n_questions >= kMaxQuestions ||
      strlen(stream_id) >= sizeof(l->questions[0].stream_id) ||
      key_len > sizeof(l->questions[0].key) ||
      !fg_s2s_out_verify(l->s2s, receiving, originating, stream_id, key, key_len)) {
    return 0;
  }
  snprintf(l->questions[l->n_questions].stream_id, sizeof(l->questions[0].stream_id), "%s",
           stream_id);
  snprintf(l->questions[l->n_questions].originating, FG_DOMAIN_MAX + 1, "%s", originating);
  snprintf(l->questions[l->n_questions].receiving, FG_DOMAIN_MAX + 1, "%s", receiving);
  memcpy(l->questions[l->n_questions].key, key, key_len);
  l->questions[l->n_questions].key_len = key_len;
  l->n_questions++;
  return 1;
}

void fg_link_bounce(fg_server *srv, fg_worker *w, const char *from_domain, const char *to_domain,
                    const uint8_t *data, size_t len) {
  if (from_domain[0] == 0 || to_domain[0] == 0) return;
  if (srv->take_own_bounce != NULL && srv->take_own_bounce(srv, data, len)) {
    fg_metrics_inc(&srv->metrics, FG_M_BOUNCES_SENT);  // to fedgate's own entity
    return;
  }
  fg_stanza_condition c = fg_deliver(srv, w, from_domain, to_domain, 0, 1, data, len, NULL);
  if (c != FG_STANZA_CONDITION_COUNT) {
    // An error stanza is never answered with another (RFC 6120 §8.3.1).
    fg_metrics_inc(&srv->metrics, FG_M_BOUNCES_UNDELIVERABLE);
    fg_log(FG_LOG_SEV_WARN, NULL, to_domain, "bounce from %s could not be sent: %s", from_domain,
           fg_stanza_condition_name(c));
  }
}

void fg_link_shutdown(worker_state *ws) {
  for (size_t b = 0; b < FG_LINK_BUCKETS; b++) {
    for (link *l = ws->links[b]; l != NULL; l = l->next) {
      // RFC 6120 §4.4: close our stream; held stanzas are bounced on close.
      if (l->ready && l->s2s != NULL) fg_s2s_out_close(l->s2s);
      if (l->conn != NULL) fg_conn_close(l->conn);
    }
  }
}

size_t fg_link_drain(worker_state *ws) {
  for (size_t b = 0; b < FG_LINK_BUCKETS; b++) {
    for (link *l = ws->links[b], *n; l != NULL; l = n) {
      n = l->next;
      if (l->retry_waiting && !l->dead && l->q_count == 0) {
        // A broken stream's replacement with nothing to deliver: no wait.
        link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, "draining");
        continue;
      }
      if (!l->ready || l->dead || l->q_count > 0 || l->n_questions > 0 || l->conn == NULL ||
          mux_busy(l)) {
        continue;  // still connecting with stanzas to deliver, or busy (riders end with it)
      }
      unlink_from_worker(l);
      l->dead = 1;  // a normal end, not a failure
      l->ending = 1;
      fg_worker_timer_cancel(l->w, &l->tick);
      fg_s2s_out_end(l->s2s);
      fg_metrics_inc(&l->srv->metrics, FG_M_DRAIN_LINKS_CLOSED);
      fg_log(FG_LOG_SEV_DEBUG, fg_s2s_out_stream_id(l->s2s), l->remote,
             "drain: %s link %s -> %s closed, waiting for the peer's closing tag",
             kind_name(l->kind), l->local, l->remote);
    }
  }
  return ws->live_links;
}

size_t fg_link_bounce_held(worker_state *ws) {
  // Collected first: the bounces may open links, which must not be failed
  // in turn for the bounces they hold.
  size_t n_held = 0, bounced = 0;
  for (size_t b = 0; b < FG_LINK_BUCKETS; b++) {
    for (link *l = ws->links[b]; l != NULL; l = l->next) n_held += !l->dead && l->q_count > 0;
  }
  link **held = n_held ? malloc(n_held * sizeof(*held)) : NULL;
  if (held == NULL) return 0;
  size_t k = 0;
  for (size_t b = 0; b < FG_LINK_BUCKETS; b++) {
    for (link *l = ws->links[b]; l != NULL; l = l->next) {
      if (!l->dead && l->q_count > 0) held[k++] = l;
    }
  }
  for (size_t i = 0; i < k; i++) {
    link *l = held[i];
    for (qitem *q = l->qhead; q != NULL; q = q->next) {
      if (q->is_bounce) continue;
      fg_metrics_inc(&l->srv->metrics, FG_M_DRAIN_STANZAS_BOUNCED);
      bounced++;
    }
    // RFC 6120 §8.3.3.16: the remote server (or backend) was not reached in
    // time; the link leaves the index, so the bounces take other links.
    link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, "shutting down");
    if (l->conn != NULL) fg_conn_abort(l->conn, FG_CLOSE_SHUTDOWN);
  }
  free(held);
  return bounced;
}

static link *find_by_id(worker_state *ws, const char *id) {
  for (size_t b = 0; b < FG_LINK_BUCKETS; b++) {
    for (link *l = ws->links[b]; l != NULL; l = l->next) {
      if (strcmp(l->id, id) == 0) return l;
    }
  }
  return NULL;
}

int fg_link_close_stream(worker_state *ws, const char *id) {
  link *l = find_by_id(ws, id);
  if (l == NULL || l->dead) return 0;
  fg_metrics_inc(&l->srv->metrics, FG_M_STREAMS_CLOSED_BY_ADMIN);
  fg_log(FG_LOG_SEV_WARN, fg_s2s_out_stream_id(l->s2s), l->remote,
         "%s link %s (%s -> %s) closed by the operator (%zu held)", kind_name(l->kind), l->id,
         l->local, l->remote, l->q_count);
  if (l->ready && l->conn != NULL) {
    finish_and_close(l);
    return 1;
  }
  // Held stanzas are bounced (RFC 6120 §10.4.3); on_close or the resolver's
  // answer frees the link.
  link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, "closed by the operator");
  if (l->conn != NULL) fg_conn_close(l->conn);
  return 1;
}

size_t fg_link_close_refused(worker_state *ws, int (*refused)(void *arg, const char *domain),
                             void *arg) {
  size_t n = 0;
  for (size_t b = 0; b < FG_LINK_BUCKETS; b++) {
    for (link *l = ws->links[b], *next; l != NULL; l = next) {
      next = l->next;
      if (l->kind != LINK_REMOTE || l->dead || !refused(arg, l->remote)) continue;
      n++;
      fg_metrics_inc(&l->srv->metrics, FG_M_BLOCKED_LINKS_CLOSED);
      fg_log(FG_LOG_SEV_WARN, l->s2s ? fg_s2s_out_stream_id(l->s2s) : "", l->remote,
             "link %s (%s -> %s) closed: the domain is blocked (%zu held, bounced)", l->id,
             l->local, l->remote, l->q_count);
      if (l->ready && l->conn != NULL) {
        finish_and_close(l);
        continue;
      }
      link_fail(l, FG_STANZA_POLICY_VIOLATION, "the domain is blocked");
      if (l->conn != NULL) fg_conn_close(l->conn);
    }
  }
  return n;
}

size_t fg_link_close_hop_of(worker_state *ws, const char *remote) {
  size_t n = 0;
  for (size_t b = 0; b < FG_LINK_BUCKETS; b++) {
    for (link *l = ws->links[b], *next; l != NULL; l = next) {
      next = l->next;
      if (l->kind != LINK_HOP || l->dead || !l->ready || l->conn == NULL ||
          strcmp(l->local, remote) != 0) {
        continue;
      }
      n++;
      fg_log(FG_LOG_SEV_INFO, fg_s2s_out_stream_id(l->s2s), l->remote,
             "hop link %s (%s -> %s) closed: the link with %s was lost", l->id, l->local, l->remote,
             remote);
      finish_and_close(l);
    }
  }
  return n;
}

// hop_target_is says whether hop link |l| goes to backend |backend| (at
// |host|:|port|, or any address when |host| is NULL), by the names in its
// own snapshot's router.
static int hop_target_is(const link *l, const char *backend, const char *host, uint16_t port) {
  const fg_router *r = l->snap->router;
  const char *name = fg_router_backend_name(r, l->backend);
  if (name == NULL || strcmp(name, backend) != 0) return 0;
  if (host == NULL) return 1;
  const char *h;
  uint16_t p;
  return fg_router_address(r, l->backend, l->address, &h, &p) && p == port && strcmp(h, host) == 0;
}

size_t fg_link_drain_backend(worker_state *ws, const char *backend, const char *host,
                             uint16_t port) {
  size_t n = 0;
  for (size_t b = 0; b < FG_LINK_BUCKETS; b++) {
    for (link *l = ws->links[b], *next; l != NULL; l = next) {
      next = l->next;
      if (l->kind != LINK_HOP || l->dead || !hop_target_is(l, backend, host, port)) continue;
      n++;
      if (l->ready && l->conn != NULL) {
        fg_metrics_inc(&l->srv->metrics, FG_M_HOP_STREAMS_DRAINED);
        finish_and_close(l);
      } else {
        l->draining = 1;  // op_ready flushes what it holds, then closes
      }
    }
  }
  return n;
}

void fg_link_describe(worker_state *ws, unsigned worker, fg_text *out) {
  for (size_t b = 0; b < FG_LINK_BUCKETS; b++) {
    for (link *l = ws->links[b]; l != NULL; l = l->next) {
      SSL *ssl = l->conn && fg_conn_tls(l->conn) ? fg_tls_conn_ssl(fg_conn_tls(l->conn)) : NULL;
      const fg_s2s_out *st = stream_of(l);
      int method = l->ready ? fg_s2s_out_is_ready(st) : 0;
      fg_text_printf(out,
                     "link worker=%u stream=%s kind=%s local=%s remote=%s via=%s state=%s "
                     "tls=%s auth=%s peer_auth=%s queued=%zu sm=%s unacked=%zu "
                     "unconfirmed=%llu bidi=%s pairs=%zu carrier=%s%s\n",
                     worker, l->id, kind_name(l->kind), l->local, l->remote,
                     l->current ? l->current->name : "-",
                     l->ready       ? "ready"
                     : l->resolving ? "resolving"
                     : l->carrier   ? "joining"
                                    : "connecting",
                     ssl ? SSL_get_version(ssl) : "none",
                     method == FG_S2S_AUTH_SASL_EXTERNAL ? "sasl-external"
                     : method == FG_S2S_AUTH_DIALBACK    ? "dialback"
                                                         : "none",
                     l->ready ? fg_auth_method_name(l->auth) : "-", l->q_count,
                     fg_s2s_out_sm_enabled(st) ? "on" : "off", fg_s2s_out_unacked(st),
                     (unsigned long long)l->written, fg_s2s_out_bidi(st) ? "on" : "off",
                     l->carrier != NULL ? (size_t)0 : fg_s2s_out_pairs(l->s2s),
                     l->carrier != NULL ? l->carrier->id : "-", l->draining ? " draining" : "");
    }
  }
}
