// link_admin.c: what operators and the server do to every outbound link
// of a worker at once, or to one by its id: shut down, drain (RFC 6120
// §4.4 closes), bounce what is held, close a stream, a blocked domain's
// links or a lost remote domain's hop links, drain a backend, describe
// them (/streams).
#include "gateway/server/link_admin.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "gateway/s2s/auth_method.h"
#include "gateway/server/link.h"
#include "gateway/server/link_hop_keep.h"
#include "gateway/server/link_index.h"
#include "gateway/server/link_pairs.h"
#include "gateway/server/link_types.h"
#include "gateway/server/log.h"

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
        fg_link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, "draining");
        continue;
      }
      if (!l->ready || l->dead || l->q_count > 0 || l->n_questions > 0 || l->conn == NULL ||
          fg_link_pairs_busy(l)) {
        continue;  // still connecting with stanzas to deliver, or busy (riders end with it)
      }
      fg_link_index_remove(l);
      l->dead = 1;  // a normal end, not a failure
      l->ending = 1;
      fg_worker_timer_cancel(l->w, &l->tick);
      fg_s2s_out_end(l->s2s);
      fg_metrics_inc(&l->srv->metrics, FG_M_DRAIN_LINKS_CLOSED);
      fg_log(FG_LOG_SEV_DEBUG, fg_s2s_out_stream_id(l->s2s), l->remote,
             "drain: %s link %s -> %s closed, waiting for the peer's closing tag",
             link_kind_name(l->kind), l->local, l->remote);
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
    fg_link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, "shutting down");
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
         "%s link %s (%s -> %s) closed by the operator (%zu held)", link_kind_name(l->kind), l->id,
         l->local, l->remote, l->q_count);
  if (l->ready && l->conn != NULL) {
    fg_link_finish_and_close(l);
    return 1;
  }
  // Held stanzas are bounced (RFC 6120 §10.4.3); on_close or the resolver's
  // answer frees the link.
  fg_link_fail(l, FG_STANZA_REMOTE_SERVER_TIMEOUT, "closed by the operator");
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
        fg_link_finish_and_close(l);
        continue;
      }
      fg_link_fail(l, FG_STANZA_POLICY_VIOLATION, "the domain is blocked");
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
      fg_link_finish_and_close(l);
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
        fg_link_finish_and_close(l);
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
      const fg_s2s_out *st = link_stream_of(l);
      int method = l->ready ? fg_s2s_out_is_ready(st) : 0;
      fg_text_printf(out,
                     "link worker=%u stream=%s kind=%s local=%s remote=%s via=%s state=%s "
                     "tls=%s auth=%s peer_auth=%s queued=%zu sm=%s unacked=%zu "
                     "unconfirmed=%llu bidi=%s pairs=%zu carrier=%s%s\n",
                     worker, l->id, link_kind_name(l->kind), l->local, l->remote,
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

void fg_link_snapshot_taken(worker_state *ws) {
  (void)ws;  // the waiting hop links are listed per worker thread
  fg_link_hop_reloaded();
}
