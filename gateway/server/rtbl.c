// rtbl.c: the real-time block list subscriptions (XEP-0060 as a subscriber):
// requests out, results, errors and notifications in, and the state of each
// list with its retries.
#include "gateway/server/rtbl.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/policy/rtbl_items.h"
#include "gateway/s2s/jid.h"
#include "gateway/server/blocks.h"
#include "gateway/server/link.h"
#include "gateway/server/log.h"
#include "gateway/server/stanza_reparse.h"

// kResponseMs: a request without an answer for this long failed. kPingMs:
// how often a synchronised list checks that the service still answers.
// Retries wait kRetryMinMs, doubling up to kRetryMaxMs.
enum { kResponseMs = 10000, kPingMs = 30000, kRetryMinMs = 500, kRetryMaxMs = 60000 };

typedef enum list_state {
  LIST_IDLE = 0,  // waiting for the retry timer
  LIST_WAITING,   // items and subscription requested
  LIST_SYNCED,    // items replaced, subscribed: following notifications
} list_state;

typedef enum list_event {
  EV_ITEMS = 0,
  EV_SUBSCRIBED,
  EV_PONG,
  EV_FAILED,
  EV_GONE,
} list_event;

typedef struct rtbl_list {
  fg_rtbl *r;
  size_t index;
  char service[FG_BLOCK_KEY_MAX * 3 + 2];  // bare JID (or domain)
  char service_domain[FG_DOMAIN_MAX + 1];
  char node[256];
  char jid[FG_BLOCK_KEY_MAX * 3 + 2];
  char jid_domain[FG_DOMAIN_MAX + 1];
  char source[FG_BLOCK_SOURCE_MAX + 1];
  // Worker 0 only:
  list_state state;
  _Atomic unsigned seq;  // of the current round of requests (ids carry it)
  int got_items, got_subscribed;
  unsigned failures;
  fg_timer timer;
} rtbl_list;

struct fg_rtbl {
  fg_server *srv;
  fg_worker *w0;
  rtbl_list *lists;
  size_t n;
};

static void rtbl_on_event(fg_worker *w, fg_msg *msg);

typedef struct list_msg {
  fg_msg msg;
  rtbl_list *l;
  unsigned seq;
  list_event ev;
} list_msg;

static void post(rtbl_list *l, unsigned seq, list_event ev) {
  list_msg *m = calloc(1, sizeof(*m));
  if (m == NULL) return;  // the response timer retries
  m->msg.fn = rtbl_on_event;
  m->l = l;
  m->seq = seq;
  m->ev = ev;
  fg_worker_post(l->r->w0, &m->msg);
}

// --- requests (worker 0) ---

// send_request writes one iq from the list's JID to the service and hands
// it to the outbound path; it returns 0 when it could not even be queued.
static int send_request(rtbl_list *l, const char *kind, const char *type, const char *payload) {
  fg_server *srv = l->r->srv;
  char iq[1024];
  int n = snprintf(
      iq, sizeof(iq),
      "<iq xmlns='jabber:server' type='%s' from='%s' to='%s' id='fgrtbl-%zu-%s-%u'>%s</iq>", type,
      l->jid, l->service, l->index, kind, atomic_load(&l->seq), payload);
  if (n <= 0 || (size_t)n >= sizeof(iq)) return 0;
  fg_stanza_condition c = fg_deliver(srv, l->r->w0, l->jid_domain, l->service_domain,
                                     (uint64_t)l->index, 0, (const uint8_t *)iq, (size_t)n, NULL);
  if (c != FG_STANZA_CONDITION_COUNT) {
    fg_log(FG_LOG_SEV_WARN, NULL, l->service_domain, "block list %s: %s request not sent: %s",
           l->source, kind, fg_stanza_condition_name(c));
    return 0;
  }
  fg_metrics_inc(&srv->metrics, FG_M_STANZAS_IN);  // accepted for relay, as any other
  fg_metrics_inc(&srv->metrics, FG_M_RTBL_REQUESTS);
  return 1;
}

static void retry_later(rtbl_list *l, const char *why);

// sync_list subscribes (XEP-0060 §6.1); the items are asked for once the
// subscription is confirmed (request_items), so that every change published
// after the items answer was made is notified after it, on the same stream:
// applied in arrival order, the snapshot and the notifications agree.
static void sync_list(rtbl_list *l) {
  atomic_fetch_add(&l->seq, 1);
  l->got_items = l->got_subscribed = 0;
  char sub[1200];
  snprintf(sub, sizeof(sub),
           "<pubsub xmlns='" FG_NS_PUBSUB "'><subscribe node='%s' jid='%s'/></pubsub>", l->node,
           l->jid);
  if (!send_request(l, "sub", "set", sub)) {
    retry_later(l, "request not sent");
    return;
  }
  l->state = LIST_WAITING;
  fg_worker_timer_arm(l->r->w0, &l->timer, kResponseMs);
}

// request_items asks for the node's items (XEP-0060 §6.5).
static void request_items(rtbl_list *l) {
  char items[400];
  snprintf(items, sizeof(items), "<pubsub xmlns='" FG_NS_PUBSUB "'><items node='%s'/></pubsub>",
           l->node);
  if (!send_request(l, "items", "get", items)) {
    retry_later(l, "request not sent");
    return;
  }
  fg_worker_timer_arm(l->r->w0, &l->timer, kResponseMs);
}

static void retry_later(rtbl_list *l, const char *why) {
  fg_metrics_inc(&l->r->srv->metrics, FG_M_RTBL_RESYNCS);
  uint64_t ms = kRetryMinMs;
  for (unsigned i = 0; i < l->failures && ms < kRetryMaxMs; i++) ms *= 2;
  if (ms > kRetryMaxMs) ms = kRetryMaxMs;
  l->failures++;
  l->state = LIST_IDLE;
  atomic_fetch_add(&l->seq, 1);  // answers to the old round are stale now
  fg_log(FG_LOG_SEV_WARN, NULL, l->service_domain,
         "block list %s: %s; fetching and subscribing again in %llu ms (the list in force stays)",
         l->source, why, (unsigned long long)ms);
  fg_worker_timer_arm(l->r->w0, &l->timer, ms);
}

static void on_timer(fg_timer *t, void *arg) {
  (void)t;
  rtbl_list *l = arg;
  if (atomic_load(&l->r->srv->stopping)) return;
  switch (l->state) {
    case LIST_IDLE:
      sync_list(l);
      return;
    case LIST_WAITING:
      retry_later(l, "no answer from the service");
      return;
    case LIST_SYNCED:
      // The ping's answer comes back as EV_PONG; none in time is a failure.
      l->state = LIST_WAITING;
      l->got_items = l->got_subscribed = 1;
      if (!send_request(l, "ping", "get", "<ping xmlns='urn:xmpp:ping'/>")) {
        retry_later(l, "ping not sent");
        return;
      }
      fg_worker_timer_arm(l->r->w0, &l->timer, kResponseMs);
      return;
  }
}

static void rtbl_on_event(fg_worker *w, fg_msg *msg) {
  (void)w;
  list_msg *m = (list_msg *)msg;
  rtbl_list *l = m->l;
  unsigned seq = m->seq;
  list_event ev = m->ev;
  free(m);
  if (atomic_load(&l->r->srv->stopping)) return;
  if (ev == EV_GONE) {
    if (l->state == LIST_IDLE) return;  // already waiting to retry
    l->failures = 0;                    // the service restarting is not its fault
    retry_later(l, "the service's stream closed");
    return;
  }
  if (seq != atomic_load(&l->seq) || l->state != LIST_WAITING) return;  // stale
  switch (ev) {
    case EV_ITEMS:
      l->got_items = 1;
      break;
    case EV_SUBSCRIBED:
      if (!l->got_subscribed) {
        l->got_subscribed = 1;
        request_items(l);
        return;
      }
      break;
    case EV_PONG:
      break;
    case EV_FAILED:
      retry_later(l, "the service answered with an error");
      return;
    case EV_GONE:
      return;
  }
  if (l->got_items && l->got_subscribed) {
    if (l->failures || ev != EV_PONG) {
      fg_log(FG_LOG_SEV_INFO, NULL, l->service_domain, "block list %s: fetched and subscribed",
             l->source);
    }
    l->state = LIST_SYNCED;
    l->failures = 0;
    fg_worker_timer_arm(l->r->w0, &l->timer, kPingMs);
  }
}

// --- answers and notifications (any worker) ---

// snapshot collects the entries of an items result before one replacement.
typedef struct snapshot {
  fg_block_entry *e;
  size_t n, cap;
  int oom;
} snapshot;

static int snap_add(void *arg, fg_block_kind kind, const char *key, const char *reason) {
  snapshot *s = arg;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    fg_block_entry *e = realloc(s->e, cap * sizeof(*e));
    if (e == NULL) return 0;
    s->e = e;
    s->cap = cap;
  }
  char *k = strdup(key), *r = reason[0] ? strdup(reason) : NULL;
  if (k == NULL || (reason[0] && r == NULL)) {
    free(k);
    free(r);
    return 0;
  }
  s->e[s->n++] = (fg_block_entry){kind, k, r};
  return 1;
}

static int snap_remove(void *arg, fg_block_kind kind, const char *key) {
  (void)arg, (void)kind, (void)key;
  return 1;
}

static int live_add(void *arg, fg_block_kind kind, const char *key, const char *reason) {
  rtbl_list *l = arg;
  return fg_blocklist_add(fg_blocks_list(l->r->srv->blocks), kind, key, l->source, reason) >= 0;
}

static int live_remove(void *arg, fg_block_kind kind, const char *key) {
  rtbl_list *l = arg;
  return fg_blocklist_remove(fg_blocks_list(l->r->srv->blocks), kind, key, l->source) >= 0;
}

static void count_invalid(rtbl_list *l, const fg_rtbl_stats *st) {
  for (size_t i = 0; i < st->invalid; i++) fg_metrics_inc(&l->r->srv->metrics, FG_M_RTBL_INVALID);
  if (st->invalid) {
    fg_log(FG_LOG_SEV_WARN, NULL, l->service_domain,
           "block list %s: %zu item(s) skipped: id neither a domain nor a SHA-256 digest",
           l->source, st->invalid);
  }
}

// apply_items replaces the list's source with an items result.
static int apply_items(rtbl_list *l, const fg_xml_node *root) {
  snapshot s = {0};
  fg_rtbl_ops ops = {snap_add, snap_remove, &s};
  fg_rtbl_stats st = {0};
  int kind = fg_rtbl_read(root, l->node, &ops, &st);
  int ok = kind == FG_RTBL_SNAPSHOT &&
           fg_blocklist_replace_source(fg_blocks_list(l->r->srv->blocks), l->source, s.e, s.n) == 1;
  if (ok) {
    fg_log(FG_LOG_SEV_INFO, NULL, l->service_domain, "block list %s: %zu entries fetched",
           l->source, s.n);
  } else {
    fg_log(FG_LOG_SEV_WARN, NULL, l->service_domain,
           "block list %s: items answer not applied (%s); the list in force stays", l->source,
           kind < 0                   ? "out of memory"
           : kind != FG_RTBL_SNAPSHOT ? "no items of the node"
                                      : "refused");
  }
  count_invalid(l, &st);
  for (size_t i = 0; i < s.n; i++) {
    free((char *)s.e[i].key);
    free((char *)s.e[i].reason);
  }
  free(s.e);
  return ok;
}

static void apply_notification(rtbl_list *l, const fg_xml_node *root) {
  fg_rtbl_ops ops = {live_add, live_remove, l};
  fg_rtbl_stats st = {0};
  int kind = fg_rtbl_read(root, l->node, &ops, &st);
  if (kind == FG_RTBL_CLEAR) {
    fg_blocklist_replace_source(fg_blocks_list(l->r->srv->blocks), l->source, NULL, 0);
  }
  if (kind == FG_RTBL_NONE) {
    fg_metrics_inc(&l->r->srv->metrics, FG_M_RTBL_IGNORED);
    return;
  }
  fg_metrics_inc(&l->r->srv->metrics, FG_M_RTBL_NOTIFICATIONS);
  fg_log(FG_LOG_SEV_INFO, NULL, l->service_domain, "block list %s: %s%zu added, %zu removed",
         l->source, kind == FG_RTBL_CLEAR ? "purged; " : "", st.added, st.removed);
  count_invalid(l, &st);
}

// bare_equals says whether the bare part of |jid| is |want| (ASCII case
// folded).
static int bare_equals(const uint8_t *jid, size_t len, const char *want) {
  size_t bare = 0;
  while (bare < len && jid[bare] != '/') bare++;
  // One trailing dot of the domainpart is no part of the address (RFC 7622 §3.2).
  if (bare > 1 && jid[bare - 1] == '.') bare--;
  return bare == strlen(want) && strncasecmp((const char *)jid, want, bare) == 0;
}

static rtbl_list *list_for(const fg_rtbl *r, const uint8_t *to, size_t to_len) {
  for (size_t i = 0; r != NULL && i < r->n; i++) {
    if (bare_equals(to, to_len, r->lists[i].jid)) return &r->lists[i];
  }
  return NULL;
}

int fg_rtbl_addressed(const fg_rtbl *r, const uint8_t *to, size_t to_len) {
  return list_for(r, to, to_len) != NULL;
}

// parse_id reads "fgrtbl-I-KIND-SEQ" for list |l|.
static int parse_id(const rtbl_list *l, fg_xml_str id, char kind[8], unsigned *seq) {
  char buf[64];
  if (id.data == NULL || id.len >= sizeof(buf)) return 0;
  memcpy(buf, id.data, id.len);
  buf[id.len] = 0;
  size_t index;
  if (sscanf(buf, "fgrtbl-%zu-%7[a-z]-%u", &index, kind, seq) != 3) return 0;
  return index == l->index;
}

static void take(rtbl_list *l, const fg_xml_element *el) {
  fg_server *srv = l->r->srv;
  fg_metrics_inc(&srv->metrics, FG_M_RTBL_STANZAS);
  if (!bare_equals(el->from.data, el->from.len, l->service)) {
    fg_metrics_inc(&srv->metrics, FG_M_RTBL_IGNORED);
    fg_log(FG_LOG_SEV_INFO, NULL, l->service_domain,
           "block list %s: stanza from %.*s ignored (not the service)", l->source,
           (int)el->from.len, (const char *)el->from.data);
    return;
  }
  if (fg_xml_str_eq(el->root->local, "message")) {
    apply_notification(l, el->root);
    return;
  }
  char kind[8];
  unsigned seq;
  if (!fg_xml_str_eq(el->root->local, "iq") || !parse_id(l, el->id, kind, &seq)) {
    fg_metrics_inc(&srv->metrics, FG_M_RTBL_IGNORED);
    return;
  }
  // Any answer to a ping shows the service is there (a pubsub component
  // need not implement XEP-0199 and answers service-unavailable).
  if (strcmp(kind, "ping") == 0) {
    post(l, seq, EV_PONG);
    return;
  }
  if (fg_xml_str_eq(el->type, "error")) {
    fg_metrics_inc(&srv->metrics, FG_M_RTBL_ERRORS);
    post(l, seq, EV_FAILED);
    return;
  }
  if (strcmp(kind, "items") == 0) {
    // An answer to an older round would undo what was notified since.
    if (seq != atomic_load(&l->seq)) return;
    post(l, seq, apply_items(l, el->root) ? EV_ITEMS : EV_FAILED);
  } else if (strcmp(kind, "sub") == 0) {
    post(l, seq, EV_SUBSCRIBED);
  }
}

fg_stanza_condition fg_rtbl_consume(fg_rtbl *r, const fg_xml_element *el) {
  rtbl_list *l = list_for(r, el->to.data, el->to.len);
  if (l == NULL) return FG_STANZA_SERVICE_UNAVAILABLE;
  // Requests to the RTBL JID are answered (RFC 6120 §8.3.3.19): it offers
  // nothing but being a subscriber.
  if (fg_xml_str_eq(el->root->local, "iq") &&
      (fg_xml_str_eq(el->type, "get") || fg_xml_str_eq(el->type, "set"))) {
    return FG_STANZA_SERVICE_UNAVAILABLE;
  }
  take(l, el);
  return FG_STANZA_CONDITION_COUNT;
}

int fg_rtbl_take_bounce(fg_rtbl *r, const uint8_t *data, size_t len) {
  if (r == NULL) return 0;
  // Cheap test first: bounces of other stanzas are the common case.
  if (memmem(data, len, "fgrtbl-", 7) == NULL) return 0;
  const fg_xml_element *el = NULL;
  fg_xml_parser *p = fg_stanza_reparse(data, len, &el);
  int taken = 0;
  if (p != NULL) {
    rtbl_list *l = list_for(r, el->to.data, el->to.len);
    char kind[8];
    unsigned seq;
    if (l != NULL && parse_id(l, el->id, kind, &seq)) {
      fg_metrics_inc(&r->srv->metrics, FG_M_RTBL_ERRORS);
      post(l, seq, EV_FAILED);
      taken = 1;
    }
  }
  fg_xml_parser_free(p);
  return taken;
}

void fg_rtbl_peer_gone(fg_rtbl *r, const char *domain) {
  for (size_t i = 0; r != NULL && i < r->n; i++) {
    if (strcmp(r->lists[i].service_domain, domain) == 0) post(&r->lists[i], 0, EV_GONE);
  }
}

// --- life cycle ---

fg_rtbl *fg_rtbl_new(fg_server *srv) {
  const fg_config *cfg = srv->boot_cfg;
  if (cfg->abuse.n_rtbl == 0) return NULL;
  fg_rtbl *r = calloc(1, sizeof(*r));
  if (r == NULL) return NULL;
  r->srv = srv;
  r->w0 = fg_runtime_worker(srv->rt, 0);
  r->lists = calloc(cfg->abuse.n_rtbl, sizeof(rtbl_list));
  if (r->lists == NULL) {
    free(r);
    return NULL;
  }
  r->n = cfg->abuse.n_rtbl;
  for (size_t i = 0; i < r->n; i++) {
    const fg_config_rtbl *c = &cfg->abuse.rtbl[i];
    rtbl_list *l = &r->lists[i];
    l->r = r;
    l->index = i;
    snprintf(l->service, sizeof(l->service), "%s", c->service);
    snprintf(l->node, sizeof(l->node), "%s", c->node);
    snprintf(l->jid, sizeof(l->jid), "%s", c->jid);
    fg_jid_domain(l->service_domain, (const uint8_t *)c->service, strlen(c->service));
    fg_jid_domain(l->jid_domain, (const uint8_t *)c->jid, strlen(c->jid));
    snprintf(l->source, sizeof(l->source), "rtbl:%.60s/%.60s", c->service, c->node);
    fg_timer_init(&l->timer, on_timer, l);
  }
  return r;
}

void fg_rtbl_free(fg_rtbl *r) {
  if (r == NULL) return;
  free(r->lists);
  free(r);
}

typedef struct start_msg {
  fg_msg msg;
  fg_rtbl *r;
} start_msg;

static void start_on_worker0(fg_worker *w, fg_msg *m) {
  fg_rtbl *r = ((start_msg *)m)->r;
  free(m);
  (void)w;
  for (size_t i = 0; i < r->n; i++) sync_list(&r->lists[i]);
}

int fg_rtbl_start(fg_rtbl *r) {
  if (r == NULL) return 1;
  start_msg *m = calloc(1, sizeof(*m));
  if (m == NULL) return 0;
  m->msg.fn = start_on_worker0;
  m->r = r;
  fg_worker_post(r->w0, &m->msg);
  return 1;
}
