// link_pairs.c: several domain pairs on one outbound stream (XEP-0220
// §4.3): a pair rides on another link's stream (its carrier) instead of a
// connection of its own, once the peer accepts it there (db:result); the
// pairs of a stream take turns by deficit round robin (drr.h). Which
// stream may carry a pair is link_mux.h's decision; a pair that must go
// alone, or fail, goes back to the core through link_core_ops.
#include "gateway/server/link_pairs.h"

#include <string.h>

#include <openssl/ssl.h>

#include "gateway/server/link_failures.h"
#include "gateway/server/link_flow.h"
#include "gateway/server/link_index.h"
#include "gateway/server/link_mux.h"
#include "gateway/server/link_queue.h"
#include "gateway/server/log.h"
#include "gateway/server/mux_memory.h"

// kMuxShyNs: how long streams to a remote domain carry no further pairs
// after its server ended one while a pair awaited its answer (mux_memory.h).
static const uint64_t kMuxShyNs = 3600ull * 1000000000ull;

static _Thread_local fg_mux_memory mux_shy;

int fg_link_pairs_output_full(const link *c) {
  return c->conn == NULL || fg_conn_write_blocked(c->conn);
}

// fg_link_pairs_detach takes rider |r| off its carrier's list.
void fg_link_pairs_detach(link *r) {
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

// fg_link_pairs_orphan detaches a dead rider, which owns no connection, and frees it
// from the worker's loop (its callers may be walking the link index).
void fg_link_pairs_orphan(link *r) {
  fg_link_pairs_detach(r);
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
  if (fg_link_pairs_output_full(c) || !fg_s2s_out_can_send(c->s2s, l->qhead->len)) return 0;
  qitem *q = fg_link_queue_pop(l);
  if (l->carried > 0) {  // written on the broken stream, not known handled
    l->carried--;
    fg_metrics_inc(&l->srv->metrics, FG_M_STANZAS_RESENT);
  }
  fg_link_write_stanza(l, q->data, q->len, q->is_bounce);
  free(q);
  return 1;
}

static const fg_drr_ops kMuxOps = {mux_head_len, mux_send_head};

// fg_link_pairs_flush writes what carrier |c| and its accepted riders hold, shared by
// deficit round robin while the stream takes it, then resumes the input
// streams of the pairs left with nothing held.
void fg_link_pairs_flush(link *c) {
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
    if (!fg_link_congested(r.m[i])) fg_link_flow_wake(r.m[i]);
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
  fg_link_unreachable_forget(r);
  fg_metrics_inc(&r->srv->metrics, FG_M_MUX_PAIRS_READY);
  fg_log(FG_LOG_SEV_INFO, fg_s2s_out_stream_id(c->s2s), r->remote,
         "remote pair %s -> %s (%s) rides on stream %s (%s -> %s), %zu pairs on it", r->local,
         r->remote, r->id, c->id, c->local, c->remote, fg_s2s_out_pairs(c->s2s));
  fg_link_pairs_flush(c);
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
    same_address = link_same_target(c->current, &l->candidates[i]);
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
  fg_link_carriers_remove(l);
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
    // (limits.handshake_timeout), then the pair goes alone (fg_link_pairs_timed_out).
    link_arm_deadline(l);
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

// fg_link_pairs_attach lets remote link |l|, whose candidates are known, ride on a
// stream of this worker that may carry its pair, instead of opening its own
// (link_mux.h says which may): a ready one is asked at once; one to the
// same remote domain that is still connecting is waited for. It returns 1
// when |l| rides or waits.
int fg_link_pairs_attach(link *l) {
  const fg_config *cfg = link_cur_snapshot(l->srv)->cfg;
  // A link others wait for carries them: it connects on its own.
  if (l->kind != LINK_REMOTE || l->mux_refused || cfg->limits.pairs_per_stream <= 1 ||
      l->resume_id[0] || l->carried > 0 || l->riders != NULL) {
    return 0;
  }
  link *wait_for = NULL;
  for (link *c = fg_link_carriers_first(LINK_REMOTE); c != NULL; c = c->carrier_next) {
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

// fg_link_pairs_ask_waiting: carrier |c| became ready; the pairs that waited for it
// ask for their place on it, or go elsewhere.
void fg_link_pairs_ask_waiting(link *c) {
  const fg_config *cfg = link_cur_snapshot(c->srv)->cfg;
  for (link *r = c->riders, *next; r != NULL; r = next) {
    next = r->rider_next;
    if (r->mux_asked || r->dead) continue;
    if (mux_ask(r, c, cfg)) continue;
    fg_link_pairs_detach(r);
    if (fg_link_pairs_attach(r)) continue;
    r->next_candidate = 0;
    if (r->core->try_next_candidate(r)) continue;
    r->core->fail(r, FG_STANZA_REMOTE_SERVER_TIMEOUT, "no candidate could be connected");
    fg_link_pairs_orphan(r);
  }
}

// fg_link_pairs_note_ended_asking: carrier |c|'s stream ends by its peer's doing
// (|why|: a stream error, its closing tag or a reset) while pairs await the
// answer to their db:result. Taken as a server that does not take further
// pairs: those pairs go alone (fg_link_pairs_release), and for kMuxShyNs no stream to
// c's remote domain is asked to carry one, so that the next new pair does
// not break the replacement stream the same way.
void fg_link_pairs_note_ended_asking(link *c, const char *why) {
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

// mux_go_alone: rider |r| leaves its carrier for a stream of its own (the
// peer refused its pair there, or never answered), keeping what it holds.
static void mux_go_alone(link *r) {
  fg_link_pairs_detach(r);
  r->mux_refused = 1;
  r->next_candidate = 0;
  if (r->core->try_next_candidate(r)) return;
  r->core->fail(r, FG_STANZA_REMOTE_SERVER_TIMEOUT, "no candidate could be connected");
  fg_link_pairs_orphan(r);
}

// fg_link_pairs_answer: the peer's answer for a rider's pair on carrier |arg|. A
// refused pair connects on its own (XEP-0220 §2.4: the stream goes on).
void fg_link_pairs_answer(void *arg, const char *from, const char *to, const char *condition) {
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

// fg_link_pairs_timed_out: rider |r|'s db:result got no answer within
// limits.handshake_timeout (a peer that ignores further pairs). Like a
// refusal, the pair connects on its own with what it holds; a late answer
// finds no rider and changes nothing (the pair stays asked on the stream).
void fg_link_pairs_timed_out(link *r) {
  link *c = r->carrier;
  fg_metrics_inc(&r->srv->metrics, FG_M_MUX_PAIRS_TIMEOUT);
  fg_log(FG_LOG_SEV_WARN, fg_s2s_out_stream_id(c->s2s), r->remote,
         "remote pair %s -> %s got no dialback answer on stream %s within "
         "limits.handshake_timeout: opening its own stream (%zu held)",
         r->local, r->remote, c->id, r->q_count);
  mux_go_alone(r);
}

// fg_link_pairs_release lets the riders of carrier |c|, whose stream ends, go: those
// holding nothing end with it (their pair's next stanza finds or opens a
// stream), the others ride on another stream or connect on their own.
void fg_link_pairs_release(link *c) {
  fg_link_carriers_remove(c);
  while (c->riders != NULL) {
    link *r = c->riders;
    fg_link_pairs_detach(r);
    fg_metrics_inc(&r->srv->metrics, FG_M_MUX_PAIRS_MOVED);
    if (r->dead) {
      fg_link_pairs_orphan(r);
      continue;
    }
    if (r->qhead == NULL) {
      // A normal end, not a failure: the domain is not unreachable.
      fg_link_index_remove(r);
      r->dead = 1;
      fg_link_flow_wake(r);
      fg_link_pairs_orphan(r);
      continue;
    }
    r->ready = 0;
    if (atomic_load(&r->srv->stopping)) {
      r->core->fail(r, FG_STANZA_REMOTE_SERVER_TIMEOUT, "its shared stream ended");
      fg_link_pairs_orphan(r);
      continue;
    }
    if (fg_link_pairs_attach(r)) continue;
    r->next_candidate = 0;
    if (r->core->try_next_candidate(r)) continue;
    r->core->fail(r, FG_STANZA_REMOTE_SERVER_TIMEOUT, "no candidate could be connected");
    fg_link_pairs_orphan(r);
  }
}

// fg_link_pairs_busy says whether a rider of |c| holds stanzas.
int fg_link_pairs_busy(const link *c) {
  for (const link *r = c->riders; r != NULL; r = r->rider_next) {
    if (r->q_count > 0) return 1;
  }
  return 0;
}

link *fg_link_pairs_hop_carrier(fg_worker *w, const char *local, const char *remote,
                                const resolved_target *t, unsigned slot, unsigned max) {
  if (max <= 1) return NULL;
  link *c = fg_link_carriers_first(LINK_HOP);
  while (c != NULL &&
         (c->dead || c->ending || c->draining || c->conn == NULL || !c->ready || c->slot != slot ||
          strcmp(c->local, local) != 0 || !link_same_target(c->pinned, t) ||
          !fg_s2s_out_can_multiplex(c->s2s) || fg_s2s_out_pairs(c->s2s) >= max ||
          fg_s2s_out_pair_state(c->s2s, local, remote) != FG_PAIR_NONE ||
          fg_mux_memory_has(&mux_shy, c->remote, fg_worker_now_ns(w)))) {
    c = c->carrier_next;
  }
  return c;
}

int fg_link_pairs_hop_ask(link *l, link *c) {
  if (!fg_s2s_out_add_pair(c->s2s, l->local, l->remote)) return 0;
  fg_metrics_inc(&l->srv->metrics, FG_M_MUX_PAIRS_ASKED);
  mux_join(l, c);
  l->mux_asked = 1;
  link_arm_deadline(l);  // the answer is awaited as long as a handshake
  return 1;
}
