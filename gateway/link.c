// link.c: outbound s2s streams opened by a worker: the internal hop to a
// backend (as an authenticated remote domain), streams to remote servers
// (as a hosted domain, for bounces), and streams to authoritative servers
// carrying dialback verification questions. Each runs a gateway/s2s_out
// session on an io/ connection, holds stanzas until authenticated, and
// bounces what it held if it fails.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include "gateway/log.h"
#include "gateway/server_internal.h"

enum { kMaxQuestions = 32 };

typedef struct qitem {
  struct qitem *next;
  size_t len;
  uint8_t data[];
} qitem;

struct link {
  fg_server *srv;
  fg_worker *w;
  link_kind kind;
  char local[FG_DOMAIN_MAX + 1], remote[FG_DOMAIN_MAX + 1];
  const resolved_target *target;
  fg_conn *conn;
  fg_s2s_out *s2s;
  int ready, dead;
  qitem *qhead, *qtail;
  size_t q_count, q_bytes;
  struct {
    char stream_id[64], originating[FG_DOMAIN_MAX + 1], receiving[FG_DOMAIN_MAX + 1];
  } questions[kMaxQuestions];
  int n_questions;
  link *prev, *next;
};

static const char *kind_name(link_kind k) {
  return k == LINK_HOP ? "hop" : k == LINK_REMOTE ? "remote" : "verify";
}

static void unlink_from_worker(link *l) {
  worker_state *ws = fg_server_worker_state(l->srv, l->w);
  if (l->prev) l->prev->next = l->next;
  if (l->next) l->next->prev = l->prev;
  if (ws->links == l) ws->links = l->next;
  l->prev = l->next = NULL;
}

static void link_free(link *l) {
  for (qitem *q = l->qhead, *n; q != NULL; q = n) {
    n = q->next;
    free(q);
  }
  fg_s2s_out_free(l->s2s);
  free(l);
}

// bounce_item answers one held stanza with |cond| (RFC 6120 §8.3). The stanza
// is parsed again here, on the failure path, so that holding it costs only
// its bytes.
static void bounce_item(link *l, const qitem *q, fg_stanza_condition cond) {
  fg_server *srv = l->srv;
  static const char kHeader[] =
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
      "xmlns:db='jabber:server:dialback'>";
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  size_t used;
  int bounced = 0;
  if (p != NULL &&
      fg_xml_parser_feed(p, &used, (const uint8_t *)kHeader, sizeof(kHeader) - 1) ==
          FG_XML_EVENT_STREAM_OPEN &&
      fg_xml_parser_feed(p, &used, q->data, q->len) == FG_XML_EVENT_ELEMENT) {
    const fg_xml_element *el = fg_xml_parser_element(p);
    fg_bounce_stanza b = {0};
    b.kind = fg_xml_str_eq(el->root->local, "message")    ? FG_STANZA_MESSAGE
             : fg_xml_str_eq(el->root->local, "presence") ? FG_STANZA_PRESENCE
                                                          : FG_STANZA_IQ;
    b.type = (const char *)el->type.data;
    b.type_len = el->type.len;
    b.to = (const char *)el->to.data;
    b.to_len = el->to.len;
    b.from = (const char *)el->from.data;
    b.from_len = el->from.len;
    b.id = (const char *)el->id.data;
    b.id_len = el->id.len;
    uint8_t buf[4096];
    size_t len = 0;
    fg_bounce_verdict v = fg_bounce_build(buf, &len, sizeof(buf), &b, cond,
                                          FG_STANZA_ERROR_TYPE_DEFAULT, NULL, NULL);
    char sender[FG_DOMAIN_MAX + 1] = "", ours[FG_DOMAIN_MAX + 1] = "";
    if (v == FG_BOUNCE_OK && fg_jid_domain(sender, el->from.data, el->from.len) &&
        fg_jid_domain(ours, el->to.data, el->to.len)) {
      fg_metrics_bounce(&srv->metrics, cond);
      fg_link_bounce(srv, l->w, ours, sender, buf, len);
      bounced = 1;
    }
  }
  fg_xml_parser_free(p);
  if (!bounced) fg_metrics_inc(&srv->metrics, FG_M_STANZAS_NOT_BOUNCED);
}

// link_fail ends |l|: held stanzas are bounced, pending questions answered
// invalid, and the link leaves the worker's table so the next stanza opens a
// fresh one.
static void link_fail(link *l, const char *why) {
  if (l->dead) return;
  l->dead = 1;
  unlink_from_worker(l);
  fg_server *srv = l->srv;
  if (l->kind == LINK_HOP) fg_metrics_inc(&srv->metrics, FG_M_HOP_STREAMS_FAILED);
  if (!l->ready || l->q_count) {
    fg_log(FG_LOG_SEV_WARN, NULL, l->remote, "%s link %s -> %s via %s failed: %s (%zu held)",
           kind_name(l->kind), l->local, l->remote, l->target->name, why, l->q_count);
  }
  // RFC 6120 §10.4.3: a stream that could not be established or
  // authenticated in time is remote-server-timeout.
  for (qitem *q = l->qhead; q != NULL; q = q->next) {
    if (l->kind == LINK_REMOTE) {
      fg_metrics_inc(&srv->metrics, FG_M_STANZAS_NOT_BOUNCED);  // error stanzas: never bounced
    } else {
      bounce_item(l, q, FG_STANZA_REMOTE_SERVER_TIMEOUT);
    }
  }
  worker_state *ws = fg_server_worker_state(srv, l->w);
  for (int i = 0; i < l->n_questions; i++) {
    in_conn *ic = fg_inbound_find(ws, l->questions[i].stream_id);
    if (ic != NULL) {
      fg_inbound_dialback_answer(ic, l->questions[i].originating, l->questions[i].receiving, 0);
    }
  }
  l->n_questions = 0;
}

// --- s2s_out operations ---

static void op_send(void *arg, const uint8_t *d, size_t n) {
  link *l = arg;
  if (l->conn != NULL) fg_conn_send(l->conn, d, n);
}

static void op_ready(void *arg, int method) {
  link *l = arg;
  l->ready = 1;
  if (l->kind == LINK_HOP) fg_metrics_inc(&l->srv->metrics, FG_M_HOP_STREAMS_READY);
  fg_log(FG_LOG_SEV_DEBUG, fg_s2s_out_stream_id(l->s2s), l->remote, "%s link from %s ready",
         kind_name(l->kind), l->local);
  for (qitem *q = l->qhead, *n; q != NULL; q = n) {
    n = q->next;
    fg_s2s_out_send_stanza(l->s2s, q->data, q->len);
    if (l->kind == LINK_HOP) fg_metrics_inc(&l->srv->metrics, FG_M_STANZAS_DELIVERED);
    free(q);
  }
  l->qhead = l->qtail = NULL;
  l->q_count = l->q_bytes = 0;
}

static void op_failed(void *arg, const char *condition) {
  link *l = arg;
  link_fail(l, condition);
  if (l->conn != NULL) fg_conn_close(l->conn);
}

static void op_verify_answer(void *arg, const char *receiving, const char *originating,
                             const char *stream_id, int valid) {
  link *l = arg;
  for (int i = 0; i < l->n_questions; i++) {
    if (strcmp(l->questions[i].stream_id, stream_id) != 0) continue;
    l->questions[i] = l->questions[--l->n_questions];
    break;
  }
  in_conn *ic = fg_inbound_find(fg_server_worker_state(l->srv, l->w), stream_id);
  if (ic != NULL) fg_inbound_dialback_answer(ic, originating, receiving, valid);
}

static const fg_s2s_out_ops kOutOps = {op_send, op_ready, op_failed, op_verify_answer};

// --- connection ---

static void on_open(fg_conn *c) {
  link *l = fg_conn_arg(c);
  fg_s2s_out_start(l->s2s);
}

// client_certificate installs the certificate this link authenticates with:
// the minted one for the remote domain on the hop (mode internal-ca), the
// hosted domain's own towards remote servers.
static void client_certificate(link *l, SSL *ssl) {
  fg_server *srv = l->srv;
  if (l->kind == LINK_HOP) {
    if (srv->ica == NULL) return;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    if (fg_internal_ca_get(srv->ica, l->local, time(NULL), &x, &k)) {
      SSL_use_certificate(ssl, x);
      SSL_use_PrivateKey(ssl, k);
      X509_free(x);
      EVP_PKEY_free(k);
    }
    return;
  }
  fg_tls_cert *cert = fg_tls_sni_lookup(srv->sni, l->local);
  if (cert != NULL) fg_tls_cert_apply(cert, ssl);
}

static size_t on_data(fg_conn *c, const uint8_t *data, size_t len) {
  link *l = fg_conn_arg(c);
  if (l->dead) return len;
  size_t used = 0;
  switch (fg_s2s_out_feed(l->s2s, data, len, &used)) {
    case FG_S2S_OUT_CONTINUE:
      return used;
    case FG_S2S_OUT_STARTTLS:
      if (!fg_conn_starttls(c, l->kind == LINK_HOP ? l->srv->tls_client : l->srv->tls_client_dialback,
                            l->remote)) {
        link_fail(l, "TLS could not start");
        fg_conn_abort(c, FG_CLOSE_TLS_ERROR);
        return len;
      }
      if (fg_conn_tls(c) != NULL) client_certificate(l, fg_tls_conn_ssl(fg_conn_tls(c)));
      return used;
    case FG_S2S_OUT_CLOSED:
      fg_conn_close(c);
      return len;
  }
  return len;
}

static void on_secure(fg_conn *c) {
  link *l = fg_conn_arg(c);
  if (!l->dead) fg_s2s_out_tls_established(l->s2s);
}

static void on_close(fg_conn *c, enum fg_close_reason reason) {
  link *l = fg_conn_arg(c);
  l->conn = NULL;
  link_fail(l, fg_close_reason_name(reason));
  link_free(l);
}

static const fg_conn_handler kHandler = {on_open, on_data, on_secure, NULL, NULL, on_close};

static link *find_link(worker_state *ws, link_kind kind, const char *local, const char *remote,
                       const resolved_target *target) {
  for (link *l = ws->links; l != NULL; l = l->next) {
    if (l->kind == kind && l->target == target && strcmp(l->local, local) == 0 &&
        strcmp(l->remote, remote) == 0) {
      return l;
    }
  }
  return NULL;
}

static link *open_link(fg_server *srv, fg_worker *w, link_kind kind, const char *local,
                       const char *remote, const resolved_target *target) {
  link *l = calloc(1, sizeof(*l));
  if (l == NULL) return NULL;
  l->srv = srv;
  l->w = w;
  l->kind = kind;
  l->target = target;
  snprintf(l->local, sizeof(l->local), "%s", local);
  snprintf(l->remote, sizeof(l->remote), "%s", remote);
  fg_s2s_out_config c;
  fg_s2s_out_config_default(&c);
  c.local = l->local;
  c.remote = l->remote;
  c.purpose = kind == LINK_VERIFY ? FG_S2S_OUT_VERIFY : FG_S2S_OUT_STANZAS;
  if (kind == LINK_HOP) {
    c.allow_plaintext = srv->cfg->internal_hop.plaintext;
    c.client_cert = srv->cfg->internal_hop.mode == FG_HOP_INTERNAL_CA;
    c.dialback_secret = srv->have_db_secret ? &srv->db_secret : NULL;
  } else {
    c.client_cert = fg_tls_sni_lookup(srv->sni, local) != NULL;
    c.dialback_secret = srv->have_db_secret ? &srv->db_secret : NULL;
    c.allow_plaintext = 0;
    for (size_t i = 0; i < srv->cfg->tls.n_plaintext_peers; i++) {
      if (strcmp(srv->cfg->tls.plaintext_peers[i], remote) == 0) c.allow_plaintext = 1;
    }
  }
  l->s2s = fg_s2s_out_new(&c, &kOutOps, l);
  if (l->s2s == NULL) {
    free(l);
    return NULL;
  }
  fg_connect_config cc = {0};
  cc.addr = (const struct sockaddr *)&target->addr;
  cc.addr_len = target->addr_len;
  cc.handler = &kHandler;
  cc.arg = l;
  l->conn = fg_conn_connect(w, &cc);
  if (l->conn == NULL) {
    fg_s2s_out_free(l->s2s);
    free(l);
    return NULL;
  }
  if (srv->cfg->limits.idle_timeout_ms) {
    fg_conn_set_idle_timeout(l->conn, srv->cfg->limits.idle_timeout_ms);
  }
  worker_state *ws = fg_server_worker_state(srv, w);
  l->next = ws->links;
  if (ws->links) ws->links->prev = l;
  ws->links = l;
  if (kind == LINK_HOP) fg_metrics_inc(&srv->metrics, FG_M_HOP_STREAMS_OPENED);
  return l;
}

fg_stanza_condition fg_link_stanza(fg_server *srv, fg_worker *w, link_kind kind, const char *local,
                                   const char *remote, const resolved_target *target,
                                   const uint8_t *data, size_t len) {
  worker_state *ws = fg_server_worker_state(srv, w);
  link *l = find_link(ws, kind, local, remote, target);
  if (l == NULL) l = open_link(srv, w, kind, local, remote, target);
  if (l == NULL) return FG_STANZA_REMOTE_SERVER_TIMEOUT;
  if (l->ready) {
    fg_s2s_out_send_stanza(l->s2s, data, len);
    if (kind == LINK_HOP) fg_metrics_inc(&srv->metrics, FG_M_STANZAS_DELIVERED);
    return FG_STANZA_CONDITION_COUNT;
  }
  const fg_config *cfg = srv->cfg;
  if ((cfg->limits.queue_stanzas && l->q_count >= cfg->limits.queue_stanzas) ||
      (cfg->limits.queue_bytes && l->q_bytes + len > cfg->limits.queue_bytes)) {
    return FG_STANZA_RESOURCE_CONSTRAINT;
  }
  qitem *q = malloc(sizeof(*q) + len);
  if (q == NULL) return FG_STANZA_RESOURCE_CONSTRAINT;
  q->next = NULL;
  q->len = len;
  memcpy(q->data, data, len);
  if (l->qtail) {
    l->qtail->next = q;
  } else {
    l->qhead = q;
  }
  l->qtail = q;
  l->q_count++;
  l->q_bytes += len;
  if (kind == LINK_HOP) fg_metrics_inc(&srv->metrics, FG_M_STANZAS_QUEUED);
  return FG_STANZA_CONDITION_COUNT;
}

int fg_link_verify(fg_server *srv, fg_worker *w, const char *receiving, const char *originating,
                   const char *stream_id, const uint8_t *key, size_t key_len) {
  const static_route *r = fg_server_static_route(srv, originating);
  if (r == NULL || r->n_targets == 0) {
    fg_log(FG_LOG_SEV_WARN, stream_id, originating,
           "dialback: no route to the authoritative server (add it to dns.static)");
    return 0;
  }
  worker_state *ws = fg_server_worker_state(srv, w);
  link *l = find_link(ws, LINK_VERIFY, receiving, originating, &r->targets[0]);
  if (l == NULL) l = open_link(srv, w, LINK_VERIFY, receiving, originating, &r->targets[0]);
  if (l == NULL || l->n_questions >= kMaxQuestions ||
      strlen(stream_id) >= sizeof(l->questions[0].stream_id) ||
      !fg_s2s_out_verify(l->s2s, receiving, originating, stream_id, key, key_len)) {
    return 0;
  }
  snprintf(l->questions[l->n_questions].stream_id, sizeof(l->questions[0].stream_id), "%s",
           stream_id);
  snprintf(l->questions[l->n_questions].originating, FG_DOMAIN_MAX + 1, "%s", originating);
  snprintf(l->questions[l->n_questions].receiving, FG_DOMAIN_MAX + 1, "%s", receiving);
  l->n_questions++;
  return 1;
}

void fg_link_bounce(fg_server *srv, fg_worker *w, const char *from_domain, const char *to_domain,
                    const uint8_t *data, size_t len) {
  const static_route *r = fg_server_static_route(srv, to_domain);
  if (r == NULL || r->n_targets == 0 || from_domain[0] == 0) {
    fg_log(FG_LOG_SEV_WARN, NULL, to_domain,
           "bounce to %s could not be sent: no outbound route (outbound federation pending)",
           to_domain);
    return;
  }
  fg_link_stanza(srv, w, LINK_REMOTE, from_domain, to_domain, &r->targets[0], data, len);
}
