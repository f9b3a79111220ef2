// link.c: the core of the outbound s2s streams opened by a worker, and the
// delivery decisions on top of them:
//   - LINK_HOP: to a backend, as an authenticated remote domain;
//   - LINK_REMOTE: to a remote server, as a hosted domain (outbound
//     federation and bounces), over candidates from dns.static or DNS;
//   - LINK_VERIFY: to an authoritative server, carrying db:verify questions.
// Each runs a gateway/s2s_out session on an io/ connection, holds stanzas
// (bounded) until authenticated, tries the next candidate when a connection
// fails, and bounces what it held when every candidate failed (RFC 6120
// §10.4.3); a ready stream that breaks hands what it left to a replacement
// (XEP-0198 §5 resumption, retries until stream_management.give_up_after).
// Here: a link's lifecycle, its queue, its stream and connection events,
// and fg_deliver. The parts with a job of their own sit below it
// (gateway/server/link_types.h lists the layers); the actions on every link
// of a worker sit above it (link_admin.c).
#include "gateway/server/link.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "gateway/s2s/auth_method.h"
#include "gateway/s2s/bidi.h"
#include "gateway/server/bidi_hop.h"
#include "gateway/server/bidi_streams.h"
#include "gateway/server/dane_check.h"
#include "gateway/server/link_credentials.h"
#include "gateway/server/link_failures.h"
#include "gateway/server/link_flow.h"
#include "gateway/server/link_hop_failover.h"
#include "gateway/server/link_hop_keep.h"
#include "gateway/server/link_index.h"
#include "gateway/server/link_pairs.h"
#include "gateway/server/link_queue.h"
#include "gateway/server/link_race.h"
#include "gateway/server/link_retry.h"
#include "gateway/server/link_trust.h"
#include "gateway/server/link_types.h"
#include "gateway/server/log.h"
#include "gateway/server/posh_auth.h"
#include "gateway/server/resolve.h"
#include "gateway/server/revocation.h"
#include "gateway/server/server_internal.h"
#include "gateway/server/stanza_reparse.h"

// kWorkerQueueBytes bounds the stanzas one worker holds for links that are
// not ready yet, whatever the number of links (the per-link bounds are
// limits.queue_stanzas and limits.queue_bytes).
static const size_t kWorkerQueueBytes = 256u << 20;

static void flush_queue(link *l);

static void on_drain(fg_conn *c) {
  link *l = fg_conn_arg(c);
  if (l != NULL && l->riders != NULL) {
    fg_link_pairs_flush(l);
    return;
  }
  if (l == NULL) return;
  // A ready link's backlog (what a replacement kept) goes out a socket
  // buffer at a time (flush_queue); its inputs wake once it is out.
  if (l->ready && l->qhead != NULL) flush_queue(l);
  fg_link_flow_wake(l);
}

static void link_free(link *l) {
  fg_link_pairs_release(l);
  if (l->carrier != NULL) fg_link_pairs_detach(l);
  fg_link_carriers_remove(l);
  fg_link_keepers_remove(l);
  fg_worker_timer_cancel(l->w, &l->retry_timer);
  fg_link_flow_wake(l);
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

// --- bounces ---

// bounce_bytes answers one held stanza with |cond| (RFC 6120 §8.3), or
// counts it as not bounced when it cannot be answered.
static void bounce_bytes(fg_server *srv, fg_worker *w, const uint8_t *data, size_t data_len,
                         fg_stanza_condition cond) {
  uint8_t buf[4096];
  size_t len = 0;
  char sender[FG_DOMAIN_MAX + 1] = "", ours[FG_DOMAIN_MAX + 1] = "";
  if (!fg_link_bounce_build(buf, &len, sizeof(buf), ours, sender, data, data_len, cond)) {
    fg_metrics_inc(&srv->metrics, FG_M_STANZAS_NOT_BOUNCED);
    return;
  }
  fg_metrics_bounce(&srv->metrics, cond);
  fg_link_bounce(srv, w, ours, sender, buf, len);
}

static void bounce_item(link *l, const qitem *q, fg_stanza_condition cond) {
  bounce_bytes(l->srv, l->w, q->data, q->len, cond);
}

// tell_lost reports that the stream of |l| (or the broken one it replaces),
// |stream_id|, is lost.
static void tell_lost(link *l, const char *stream_id, const char *why) {
  l->lost_pending = 0;
  fg_link_report_lost(l->srv, l->w, l->remote, stream_id, why);
}

// fg_link_fail ends |l|: held stanzas are bounced with |cond|, pending questions
// answered invalid, and the link leaves the worker's table so that the next
// stanza opens a fresh one (after the backoff, for remote domains).

void fg_link_fail(link *l, fg_stanza_condition cond, const char *why) {
  if (l->dead) return;
  l->dead = 1;
  fg_link_index_remove(l);
  fg_link_pairs_release(l);
  fg_server *srv = l->srv;
  if (l->lost_pending) tell_lost(l, l->broken_stream_id, "no replacement stream could be opened");
  // A link waiting between attempts has no connection or lookup to end it.
  if (l->retry_waiting) fg_worker_timer_arm(l->w, &l->retry_timer, 0);
  if (l->kind == LINK_HOP) {
    fg_metrics_inc(&srv->metrics, FG_M_HOP_STREAMS_FAILED);
  } else if (l->kind == LINK_REMOTE) {
    fg_metrics_inc(&srv->metrics, FG_M_REMOTE_STREAMS_FAILED);
    if (!l->ready) fg_link_unreachable_note(l, cond);
  }
  if (!l->ready || l->q_count) {
    fg_log(FG_LOG_SEV_WARN, NULL, l->remote, "%s link %s -> %s%s%s failed: %s (%zu held)",
           link_kind_name(l->kind), l->local, l->remote, l->current ? " via " : "",
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
  fg_link_flow_wake(l);  // their next stanzas open a fresh link or bounce
  if (l->carrier != NULL) fg_link_pairs_orphan(l);
}

// --- s2s_out operations ---

static void op_send(void *arg, const uint8_t *d, size_t n) {
  link *l = arg;
  l->last_write_ns = fg_worker_now_ns(l->w);
  if (l->conn != NULL) fg_conn_send(l->conn, d, n);
}

// flush_queue writes what |l| holds, oldest first, while its stream takes
// it (ready, and with XEP-0198 room among the unacknowledged stanzas) and
// its connection's output is below the high-water mark: a backlog of any
// size (a replacement that kept stanzas through a long outage) never
// overflows the connection, and the rest goes on when it drains (on_drain).
static void flush_queue(link *l) {
  if (link_is_shared(l)) {
    fg_link_pairs_flush(l->carrier != NULL ? l->carrier : l);
    return;
  }
  worker_state *ws = fg_server_worker_state(l->srv, l->w);
  while (l->qhead != NULL && l->conn != NULL && !fg_conn_write_blocked(l->conn) &&
         fg_s2s_out_can_send(l->s2s, l->qhead->len)) {
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
    fg_link_write_stanza(l, q->data, q->len, q->is_bounce);
    free(q);
  }
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
           "%s link %s -> %s resumed with h=%u beyond the %zu carried", link_kind_name(l->kind),
           l->local, l->remote, h, l->carried);
    n = 0;
  }
  for (uint32_t i = 0; i < n; i++) {
    qitem *q = fg_link_queue_pop(l);
    fg_metrics_inc(&l->srv->metrics, FG_M_STANZAS_ACKED);
    fg_link_count_written(l->srv, q->is_bounce);
    free(q);
  }
  l->carried -= n;
  fg_log(FG_LOG_SEV_INFO, NULL, l->remote,
         "%s link %s -> %s resumed: %u already handled, %zu sent again", link_kind_name(l->kind),
         l->local, l->remote, n, l->carried);
}

static void op_acked(void *arg, const fg_sm_item *it) {
  link *l = arg;
  fg_metrics_inc(&l->srv->metrics, FG_M_STANZAS_ACKED);
  fg_link_count_written(l->srv, it->tag & 1);
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

// fg_link_finish_and_close ends a ready link normally: new stanzas open a fresh
// link, and </stream:stream> follows what was written (flushed by the
// graceful close).
void fg_link_finish_and_close(link *l) {
  fg_link_index_remove(l);
  l->dead = 1;  // a normal end, not a failure
  l->clean = 1;
  fg_link_pairs_release(l);
  if (l->ready && fg_s2s_out_unacked(l->s2s) > 0) {
    // XEP-0198: stanzas are unacknowledged; the peer answers the <r/> sent
    // before our closing tag, then closes too (or the deadline ends the wait).
    l->ending = 1;
    fg_s2s_out_end(l->s2s);
    link_arm_deadline(l);
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
  uint64_t idle_ms = link_cur_snapshot(l->srv)->cfg->limits.idle_timeout_ms;
  for (link *r = l->riders, *next; r != NULL && idle_ms; r = next) {
    next = r->rider_next;
    if (r->ready && r->qhead == NULL && now - r->last_stanza_ns > idle_ms * 1000000ull) {
      fg_link_index_remove(r);
      r->dead = 1;
      fg_link_pairs_orphan(r);
    }
  }
  if (idle_ms && l->n_questions == 0 && now - l->last_stanza_ns > idle_ms * 1000000ull) {
    fg_log(FG_LOG_SEV_DEBUG, fg_s2s_out_stream_id(l->s2s), l->remote,
           "%s link %s -> %s idle: closing", link_kind_name(l->kind), l->local, l->remote);
    fg_link_finish_and_close(l);
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

static void op_ready(void *arg, int method) {
  link *l = arg;
  fg_server *srv = l->srv;
  l->ready = 1;
  fg_worker_timer_cancel(l->w, &l->deadline);
  l->last_stanza_ns = fg_worker_now_ns(l->w);
  fg_worker_timer_arm(l->w, &l->tick, kTickMs);
  if (l->kind == LINK_HOP) {
    fg_metrics_inc(&srv->metrics, FG_M_HOP_STREAMS_READY);
    if (l->indexed) fg_link_carriers_add(l);  // for further pairs of its remote domain
    // The internal server answers at this address: up for every pair now,
    // not only when a mark set by an earlier failure expires.
    fg_router_mark_up(l->snap->router, l->backend, l->address);
    fg_link_hop_wake(l->snap, l->backend);  // the pairs that waited for it try now
  }
  if (l->kind == LINK_REMOTE) {
    fg_metrics_inc(&srv->metrics, FG_M_REMOTE_STREAMS_READY);
    fg_link_unreachable_forget(l);
    if (l->indexed) fg_link_carriers_add(l);
  }
  SSL *ssl = l->conn && fg_conn_tls(l->conn) ? fg_tls_conn_ssl(fg_conn_tls(l->conn)) : NULL;
  l->auth = peer_auth_method(l, method);
  fg_metrics_auth_method(&srv->metrics, 1, l->auth);
  fg_log(FG_LOG_SEV_INFO, fg_s2s_out_stream_id(l->s2s), l->remote,
         "%s link %s -> %s ready via %s: %s %s%s, %s, peer proved by %s", link_kind_name(l->kind),
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
  fg_link_keepers_remove(l);
  if (l->lost_pending) tell_lost(l, l->broken_stream_id, "the new stream did not resume it");
  if (fg_s2s_out_sm_enabled(l->s2s)) fg_metrics_inc(&srv->metrics, FG_M_SM_OUT_ENABLED);
  if (fg_s2s_out_bidi(l->s2s)) {
    fg_metrics_inc(&srv->metrics, FG_M_BIDI_LINKS);
    fg_log(FG_LOG_SEV_INFO, fg_s2s_out_stream_id(l->s2s), l->remote,
           "link %s -> %s is bidirectional (XEP-0288): %s may send to %s on it", l->local,
           l->remote, l->remote, l->local);
  }
  if (l->riders != NULL) fg_link_pairs_ask_waiting(l);
  flush_queue(l);
  if (l->draining && l->conn != NULL) {
    fg_metrics_inc(&srv->metrics, FG_M_HOP_STREAMS_DRAINED);
    fg_link_flow_wake(l);  // their next stanzas take another address or bounce
    fg_link_finish_and_close(l);
    return;
  }
  if (!fg_link_congested(l)) fg_link_flow_wake(l);  // else on_drain will
}

static void op_failed(void *arg, const char *condition) {
  link *l = arg;
  if (!l->ready) l->protocol_failed = 1;
  if (l->riders != NULL) fg_link_pairs_note_ended_asking(l, condition);
  if (strcmp(condition, "closed") == 0) l->clean = 1;
  if (strcmp(condition, "loop") == 0) {
    // The target answered with this gateway's own stream id tag: whatever
    // DNS or the configuration said, it is ourselves (defence in depth
    // behind the target checks of gateway/server/resolve.h).
    fg_metrics_inc(&l->srv->metrics, FG_M_LOOPS_REFUSED);
    fg_link_fail(l, FG_STANZA_REMOTE_SERVER_NOT_FOUND, "routing loop: the target is this gateway");
  } else if (strcmp(condition, "closed") != 0) {
    fg_link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, condition);
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

// op_stanza takes a stanza the peer sent back on a bidirectional link
// (XEP-0288), trusted no more than an inbound stream from a peer proved the
// same way (gateway/s2s/bidi.h), then judged and routed by the inbound
// side's rules.
static const char *op_stanza(void *arg, const fg_xml_element *el, const char *from,
                             const char *to) {
  link *l = arg;
  fg_server *srv = l->srv;
  int hop = l->kind == LINK_HOP;
  const char *distrust = hop ? fg_bidi_hop_refusal(link_cur_snapshot(srv), l->auth, l->remote,
                                                   l->conn ? fg_conn_peer(l->conn) : NULL)
                             : NULL;
  if (distrust != NULL) {
    fg_metrics_inc(&srv->metrics, FG_M_BIDI_STANZAS_REFUSED);
    fg_log(FG_LOG_SEV_WARN, fg_s2s_out_stream_id(l->s2s), l->remote,
           "stanza from %s on bidirectional hop link %s refused: %s", from, l->id, distrust);
    return "not-authorized";  // RFC 6120 §4.9.3.12
  }
  if (!hop && !fg_bidi_reverse_trusted(l->auth, link_cur_snapshot(srv)->cfg->dialback.enabled)) {
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
  // The peer's header: whether the stanza's own bytes may go on (zero copy).
  size_t n = 0;
  const fg_xml_nsdecl *ctx = fg_s2s_out_context(l->s2s, &n);
  srv->reverse->header(l->reverse, fg_s2s_out_headers(l->s2s), ctx, n, fg_s2s_out_lang(l->s2s));
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
                                       op_stanza,        op_refused, fg_link_pairs_answer};

// --- connection ---

static int connect_next(link *l);

static void on_open(fg_conn *c) {
  link *l = fg_conn_arg(c);
  if (l == NULL) return;  // an attempt that lost the race
  if (!fg_link_race_decided(l, c)) {
    fg_conn_abort(c, FG_CLOSE_LOCAL);
    return;
  }
  l->auth = FG_AUTH_DIALBACK;  // plaintext: nothing but dialback proves the peer
  // Direct TLS (XEP-0368): the handshake is done; the certificate is judged
  // before the stream starts.
  if (fg_conn_tls(c) != NULL) {
    if (fg_link_trust_resumed_ok(l, c)) fg_link_trust_peer(l);
    return;
  }
  fg_s2s_out_start(l->s2s);
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
        if (!fg_link_congested(l)) fg_link_flow_wake(l);
      }
      return used;
    case FG_S2S_OUT_STARTTLS:
      if (!fg_conn_starttls(c, fg_link_client_ctx(l), l->remote)) {
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

static void on_secure(fg_conn *c) {
  link *l = fg_conn_arg(c);
  if (l == NULL || l->dead || !fg_link_trust_resumed_ok(l, c)) return;
  fg_link_trust_check(l);
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
             link_kind_name(l->kind), l->local, l->remote, (unsigned long long)l->written);
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
static link *remote_link(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                         unsigned slot);
static void hop_replacement(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                            unsigned slot, size_t backend, size_t address);
static void hop_retry(link *l);
static int keep_for_retry(link *l, fg_stanza_condition cond, const char *why);

static void resolved(void *arg, const resolved_target *candidates, size_t n,
                     fg_stanza_condition condition, const char *why, fg_dns_tlsa_answer *tlsa,
                     size_t n_tlsa);

// keep_stanzas makes |l|, the replacement of a broken stream of the pair,
// keep what it holds through failed attempts until
// stream_management.give_up_after from now (link_retry.h).
static void keep_stanzas(link *l) {
  if (l->keeping || l->ready) return;
  l->keeping = 1;
  fg_link_keepers_add(l);  // a hop link: others of its backend may wait with it
  const fg_link_retry_schedule *s =
      l->kind == LINK_HOP ? &fg_link_retry_hop : &fg_link_retry_remote;
  fg_link_retry_start(&l->retry, s, fg_worker_now_ns(l->w),
                      link_cur_snapshot(l->srv)->cfg->sm.give_up_after_ms);
}

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
  fg_link_hop_follow_reload(l);  // the operator may have moved its internal server
  if (fg_link_hop_follows(l)) {  // another hop link probes the dead backend
    if (keep_for_retry(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, NULL)) return;
    fg_link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, "its internal server did not come back");
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
  // A hop link waiting for another's probe of its backend made no attempt
  // (why is NULL): nothing to log each round.
  if (why != NULL) {
    fg_log(FG_LOG_SEV_INFO, NULL, l->remote,
           "link %s -> %s: attempt failed (%s); %zu stanzas kept, next attempt in %llu ms",
           l->local, l->remote, why, l->q_count, (unsigned long long)delay_ms);
  }
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
  if (fg_link_index_find(ws, LINK_REMOTE, local, remote, NULL, slot) != NULL) return 0;
  link *n = open_remote(srv, w, local, remote, slot, resume_id, resume_acked);
  if (n == NULL) return 0;
  keep_stanzas(n);
  for (fg_sm_item *it = unacked, *next; it != NULL; it = next) {
    next = it->next;
    if (fg_link_queue_append(n, it->data, it->len,
                             it->tag & 1)) {  // within bounds: it was unacknowledged
      n->carried++;
    } else {
      bounce_bytes(srv, w, it->data, it->len, FG_STANZA_RESOURCE_CONSTRAINT);
    }
    free(it);
  }
  for (qitem *q = held, *next; q != NULL; q = next) {
    next = q->next;
    fg_link_queue_push(n, q);  // accepted before, on the stream this link replaces
  }
  fg_log(FG_LOG_SEV_INFO, NULL, remote,
         "link %s -> %s broke: resuming stream %s (%zu unacknowledged)", local, remote, resume_id,
         n->carried);
  return 1;
}

static void on_close(fg_conn *c, enum fg_close_reason reason) {
  link *l = fg_conn_arg(c);
  if (l == NULL) return;  // an attempt that lost the race
  if (!l->ready && !l->dead && fg_link_race_goes_on(l, c)) return;
  fg_worker_timer_cancel(l->w, &l->race_timer);
  if (l->racer != NULL) fg_link_race_drop(l->racer);
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
    size_t hop_backend = l->snap == link_cur_snapshot(srv) ? l->backend : SIZE_MAX;
    size_t hop_address = l->address;
    if (broke) {
      fg_link_report_riders_lost(l, stream_id, fg_close_reason_name(reason));
      fg_link_pairs_note_ended_asking(l, fg_close_reason_name(reason));
    }
    fg_link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, fg_close_reason_name(reason));
    link_free(l);
    if (resume_id[0] && !mux_carried &&
        carry_to_replacement(srv, w, local, remote, slot, resume_id, resume_acked, unacked, held)) {
      // Told lost unless the replacement resumes the stream (XEP-0198 §5).
      link *n = fg_link_index_find(fg_server_worker_state(srv, w), LINK_REMOTE, local, remote, NULL,
                                   slot);
      if (n != NULL) n->resume_reverse_h = resume_reverse_h;
      if (n != NULL && broke) {
        n->lost_pending = 1;
        snprintf(n->broken_stream_id, sizeof(n->broken_stream_id), "%s", stream_id);
      }
      return;
    }
    if (broke) fg_link_report_lost(srv, w, remote, stream_id, fg_close_reason_name(reason));
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
    if (l->kind == LINK_HOP) fg_link_hop_failover(l);
    fg_log(FG_LOG_SEV_INFO, NULL, l->remote, "%s link to %s: %s", link_kind_name(l->kind),
           l->current ? l->current->name : "?", fg_close_reason_name(reason));
    if (connect_next(l)) return;
    if (l->kind == LINK_HOP) fg_link_hop_keep_with(l);  // while another waits for its backend
    if (!l->dane_refused[0] &&
        keep_for_retry(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, fg_close_reason_name(reason))) {
      return;
    }
    if (l->dane_refused[0]) {
      // RFC 7672 §2.2: a secure TLSA mismatch is never downgraded; the
      // server found is not the domain's (RFC 6120 §8.3.3.15 fits better than
      // a timeout, which promises a later success).
      fg_link_fail(l, FG_STANZA_REMOTE_SERVER_NOT_FOUND, l->dane_refused);
    } else {
      fg_link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, fg_close_reason_name(reason));
    }
  } else {
    fg_link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, fg_close_reason_name(reason));
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
  fg_link_client_certificate(l, ssl);
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
    c.client_cert = fg_link_hop_uses_internal_ca(l);
    const fg_config *cfg = snap->cfg;
    unsigned pairs = l->backend < cfg->n_backends ? cfg->backends[l->backend].pairs_per_stream : 1;
    c.max_pairs = pairs > 1 ? pairs - 1 : 0;  // further pairs of its remote domain (open_hop)
  } else {
    c.client_cert = fg_link_hosted_cert(srv, l->local) != NULL;
    unsigned pairs = snap->cfg->limits.pairs_per_stream;
    c.max_pairs = pairs > 1 ? pairs - 1 : 0;
    c.allow_plaintext = fg_snapshot_is_plaintext_peer(snap, l->remote);
    // RFC 7673 §4.2: with usable TLSA records TLS is mandatory.
    if (l->dane_active) c.allow_plaintext = 0;
  }
  return fg_s2s_out_new(&c, &kOutOps, l);
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

// take_target gives |l| a fresh stream for target |t|, judged by DANE when
// it applies. It returns 0 when out of memory.
static int take_target(link *l, const resolved_target *t) {
  fg_link_trust_prepare_dane(l, t);
  return fresh_session(l, t);
}

static int connect_next(link *l) {
  while (l->next_candidate < l->n_candidates) {
    const resolved_target *t = &l->candidates[l->next_candidate++];
    if (!take_target(l, t)) return 0;
    l->conn = open_attempt(l, t);
    if (l->conn == NULL) continue;
    l->opened = 0;
    if (l->kind == LINK_REMOTE) fg_link_carriers_add(l);  // a pair that stopped riding
    link_arm_deadline(l);
    fg_link_race_arm(l);
    return 1;
  }
  return 0;
}

static void deadline_passed(fg_timer *t, void *arg) {
  (void)t;
  link *l = arg;
  if (l->dead && l->conn == NULL && !l->resolving && l->racer == NULL) {
    link_free(l);  // a pair that rode on another stream (fg_link_pairs_orphan)
    return;
  }
  if (l->carrier != NULL && l->mux_asked && !l->ready && !l->dead) {
    fg_link_pairs_timed_out(l);  // its db:result on a shared stream got no answer
    return;
  }
  if ((!l->ready || l->ending) && l->conn != NULL) fg_conn_abort(l->conn, FG_CLOSE_TIMEOUT);
}

// kCoreOps: what the files below the core call back (link_core_ops,
// link_internal.h); every link carries it from new_link on.
static const link_core_ops kCoreOps = {
    .start_attempt = open_attempt,
    .use_target = take_target,
    .try_next_candidate = connect_next,
    .fail = fg_link_fail,
};

static link *new_link(fg_server *srv, fg_worker *w, link_kind kind, const char *local,
                      const char *remote, const resolved_target *pinned, unsigned slot) {
  link *l = calloc(1, sizeof(*l));
  if (l == NULL) return NULL;
  l->slot = slot;
  fg_timer_init(&l->deadline, deadline_passed, l);
  fg_timer_init(&l->tick, tick, l);
  fg_timer_init(&l->sm_timer, fg_link_sm_timer_fired, l);
  fg_timer_init(&l->race_timer, fg_link_race_timer_fired, l);
  fg_timer_init(&l->retry_timer, retry_fired, l);
  l->srv = srv;
  l->core = &kCoreOps;
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
  fg_link_index_add(l);
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
    fg_link_index_remove(l);
    link_free(l);
    return NULL;
  }
  return l;
}

static fg_stanza_condition enqueue(link *l, const uint8_t *data, size_t len, int is_bounce) {
  fg_server *srv = l->srv;
  if (l->ready && l->qhead == NULL && fg_s2s_out_can_send(link_stream_of(l), len) &&
      !(link_is_shared(l) && fg_link_pairs_output_full(l->carrier != NULL ? l->carrier : l))) {
    fg_link_write_stanza(l, data, len, is_bounce);
    return FG_STANZA_CONDITION_COUNT;
  }
  const fg_config *cfg = link_cur_snapshot(srv)->cfg;
  worker_state *ws = fg_server_worker_state(srv, l->w);
  // RFC 6120 §8.3.3.18: a full queue is resource-constraint (wait). Each
  // link still connecting is bounded, and so is everything one worker holds.
  // A ready link holds stanzas only while XEP-0198 acks are awaited: like
  // its connection's output, that is bounded by flow control (its input
  // streams are paused, see fg_link_congested), not bounced.
  int bounded = !l->ready;
  if ((bounded && cfg->limits.queue_stanzas && l->q_count >= cfg->limits.queue_stanzas) ||
      (bounded && cfg->limits.queue_bytes && l->q_bytes + len > cfg->limits.queue_bytes) ||
      ws->queued_bytes + len > kWorkerQueueBytes) {
    return FG_STANZA_RESOURCE_CONSTRAINT;
  }
  if (!fg_link_queue_append(l, data, len, is_bounce)) return FG_STANZA_RESOURCE_CONSTRAINT;
  fg_metrics_inc(&srv->metrics, FG_M_STANZAS_QUEUED);
  fg_link_hop_hurry(l);  // only moves its retry timer
  return FG_STANZA_CONDITION_COUNT;
}

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
  if (n > 0 && fg_link_pairs_attach(l)) return;
  if (n > 0 && connect_next(l)) return;
  fg_stanza_condition cond = n == 0 ? condition : FG_STANZA_REMOTE_SERVER_TIMEOUT;
  if (n == 0 && keep_for_retry(l, cond, why)) return;
  fg_link_fail(l, cond, n == 0 ? why : "no candidate could be connected");
  link_free(l);
}

// remote_link finds or opens the outbound link for (local, remote): the
// targets come from dns.static or from DNS (gateway/server/resolve.h).
static link *remote_link(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                         unsigned slot) {
  worker_state *ws = fg_server_worker_state(srv, w);
  link *l = fg_link_index_find(ws, LINK_REMOTE, local, remote, NULL, slot);
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
  fg_link_carriers_add(l);  // pairs to the same domain may wait for it (fg_link_pairs_attach)
  fg_resolve_start(srv, w, remote, resolved, l);
  return l;
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
  const fg_config *cfg = link_cur_snapshot(srv)->cfg;
  unsigned max = backend < cfg->n_backends ? cfg->backends[backend].pairs_per_stream : 1;
  link *c = fg_link_pairs_hop_carrier(w, local, remote, t, slot, max);
  if (c == NULL) return open_pinned(srv, w, LINK_HOP, local, remote, t, slot, backend, address);
  link *l = new_link(srv, w, LINK_HOP, local, remote, t, slot);
  if (l == NULL) return NULL;
  l->backend = backend;
  l->address = address;
  l->candidates[0] = *t;
  l->n_candidates = 1;
  if (fg_link_pairs_hop_ask(l, c)) return l;
  if (connect_next(l)) return l;
  fg_link_index_remove(l);
  link_free(l);
  return NULL;
}

// --- hop links keeping a broken stream's stanzas (link_hop_keep.h) ---

// hop_replacement opens the hop link that replaces a broken one of the pair
// (unless one exists): to the address the router picks now, else to the
// broken stream's own (|backend|, |address| of the current snapshot;
// SIZE_MAX: none), and makes it keep what it gets through failed attempts
// (resend_broken then fills it).
static void hop_replacement(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                            unsigned slot, size_t backend, size_t address) {
  const fg_snapshot *snap = link_cur_snapshot(srv);
  size_t b, a;
  const resolved_target *t = fg_snapshot_backend_target(snap, remote, &b, &a);
  if (t == NULL && backend < snap->cfg->n_backends &&
      address < fg_router_address_count(snap->router, backend)) {
    t = &snap->backend_targets[backend][address];
    b = backend;
    a = address;
  }
  if (t == NULL) return;
  link *n = fg_link_index_find(fg_server_worker_state(srv, w), LINK_HOP, local, remote, t, slot);
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
  fg_link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, why);
  link_free(l);
}

// hop_waiting: a stanza of a pair without a hop link came for |backend| (of
// the current snapshot) while every address of it is marked down. When a
// hop link of this worker keeps stanzas for that backend, the pair gets a
// hop link of its own that waits with it (fg_link_hop_keep_with), to the
// address that keeper tries, its first attempt from the worker's loop (a
// timer of 0 ms), never here. It returns that link, or NULL (the stanza
// bounces).
static link *hop_waiting(fg_server *srv, fg_worker *w, const char *local, const char *remote,
                         unsigned slot, size_t backend) {
  const link *k = fg_link_hop_keeper_of(link_cur_snapshot(srv), backend, NULL);
  if (k == NULL) return NULL;
  link *n = new_link(srv, w, LINK_HOP, local, remote, k->pinned, slot);
  if (n == NULL) return NULL;
  n->backend = k->backend;
  n->address = k->address;
  n->candidates[0] = *k->pinned;
  n->n_candidates = 1;
  fg_link_hop_keep_with(n);
  n->retry_waiting = 1;
  n->retry_hurried = 1;
  n->retry_failed_ns = n->retry_at_ns = fg_worker_now_ns(w);
  fg_worker_timer_arm(w, &n->retry_timer, 0);
  return n;
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
  const fg_snapshot *snap = link_cur_snapshot(srv);
  worker_state *ws = fg_server_worker_state(srv, w);
  // The stream's previous stanza went the same way (same domains, no link
  // gone since, no backend health change): no lookup at all.
  link *l = in != NULL ? in->last : NULL;
  if (l != NULL && in->last_links_epoch == ws->links_epoch &&
      in->last_health_epoch == fg_router_health_epoch(snap->router) &&
      strcmp(l->remote, to_domain) == 0 && strcmp(l->local, from_domain) == 0) {
    fg_stanza_condition cond = enqueue(l, data, len, is_bounce);
    if (cond == FG_STANZA_CONDITION_COUNT) fg_link_flow_park(l, in);
    return cond;
  }
  // One input stream always maps to the same stream of the pair (order).
  unsigned per_pair = snap->cfg->limits.streams_per_pair;
  unsigned slot = per_pair > 1 ? (unsigned)(flow % per_pair) : 0;
  uint64_t health = fg_router_health_epoch(snap->router);
  size_t backend, address;
  const resolved_target *t = fg_snapshot_backend_target(snap, to_domain, &backend, &address);
  if (t != NULL) {
    l = fg_link_index_find(ws, LINK_HOP, from_domain, to_domain, t, slot);
    // XEP-0288: a stream the backend made bidirectional carries it when no
    // hop link of the pair exists (one that does may hold earlier stanzas).
    if (l == NULL && fg_bidi_hop_send(srv, ws, from_domain, to_domain, data, len, is_bounce)) {
      return FG_STANZA_CONDITION_COUNT;
    }
    // A link of the pair that keeps stanzas through failed attempts under
    // an earlier configuration goes first: it moves to this address at its
    // next attempt (fg_link_hop_follow_reload), and the pair keeps its order.
    if (l == NULL) l = fg_link_index_find_kept(ws, from_domain, to_domain, slot);
    if (l == NULL) {
      l = open_hop(srv, w, from_domain, to_domain, t, slot, backend, address);
      if (l == NULL) return FG_STANZA_REMOTE_SERVER_TIMEOUT;
    }
    remember_route(in, ws, l, health);
    fg_stanza_condition cond = enqueue(l, data, len, is_bounce);
    if (cond == FG_STANZA_CONDITION_COUNT) fg_link_flow_park(l, in);
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
      l = fg_link_index_find_kept(ws, from_domain, to_domain, slot);
      if (l == NULL) l = hop_waiting(srv, w, from_domain, to_domain, slot, route.backend);
      if (l == NULL) return FG_STANZA_REMOTE_SERVER_TIMEOUT;
      fg_stanza_condition cond = enqueue(l, data, len, is_bounce);
      if (cond == FG_STANZA_CONDITION_COUNT) fg_link_flow_park(l, in);
      return cond;
    }
    case FG_ROUTE_NOT_HOSTED:
      break;
  }
  // XEP-0288: an inbound stream the remote server made bidirectional
  // carries the stanza when no link of the pair exists (one that does may
  // hold stanzas queued before this one).
  if (ws->bidi != NULL &&
      fg_link_index_find(ws, LINK_REMOTE, from_domain, to_domain, NULL, slot) == NULL &&
      fg_bidi_streams_send(ws->bidi, from_domain, to_domain, data, len, is_bounce)) {
    fg_metrics_inc(&srv->metrics, FG_M_BIDI_STANZAS_SENT);  // counted delivered by the stream
    return FG_STANZA_CONDITION_COUNT;
  }
  unreachable *u = fg_link_unreachable_find(ws, to_domain);
  if (u != NULL && fg_worker_now_ns(w) < u->retry_at_ns &&
      fg_link_index_find(ws, LINK_REMOTE, from_domain, to_domain, NULL, slot) == NULL) {
    fg_metrics_inc(&srv->metrics, FG_M_UNREACHABLE_SHORTCUTS);
    return u->condition;
  }
  l = remote_link(srv, w, from_domain, to_domain, slot);
  if (l == NULL) return FG_STANZA_REMOTE_SERVER_TIMEOUT;
  remember_route(in, ws, l, health);
  fg_stanza_condition cond = enqueue(l, data, len, is_bounce);
  if (cond == FG_STANZA_CONDITION_COUNT) fg_link_flow_park(l, in);
  return cond;
}

int fg_link_verify(fg_server *srv, fg_worker *w, const char *receiving, const char *originating,
                   const char *stream_id, const uint8_t *key, size_t key_len) {
  // The authoritative server: a pinned target, the backend of an internal
  // server's domain, or whatever DNS says for a remote domain.
  const resolved_target *target = NULL;
  size_t backend, address;
  const fg_snapshot *snap = link_cur_snapshot(srv);
  const static_route *r = fg_snapshot_static_route(snap, originating);
  if (r != NULL && r->n_targets > 0) {
    target = &r->targets[0];
  } else {
    target = fg_snapshot_backend_target(snap, originating, &backend, &address);
  }
  worker_state *ws = fg_server_worker_state(srv, w);
  link *l = fg_link_index_find(ws, LINK_VERIFY, receiving, originating, target, 0);
  // XEP-0220 §2.3: one verify stream to an authoritative server carries the
  // questions of every pair it answers for (each names its own domains), so
  // that many pairs from one peer (multiplexing) cost one stream, not one
  // each.
  for (link *v = fg_link_carriers_first(LINK_VERIFY); l == NULL && target != NULL && v != NULL;
       v = v->carrier_next) {
    if (!v->dead && link_same_target(v->pinned, target) && v->n_questions < kMaxQuestions &&
        strcmp(v->local, receiving) == 0) {
      l = v;
    }
  }
  if (l == NULL && target != NULL) {
    l = open_pinned(srv, w, LINK_VERIFY, receiving, originating, target, 0, SIZE_MAX, SIZE_MAX);
    if (l != NULL) fg_link_carriers_add(l);
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
