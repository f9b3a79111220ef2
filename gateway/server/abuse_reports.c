// abuse_reports.c: abuse reports held while the reported domain's abuse
// address is looked up (XEP-0157 through XEP-0030), then forwarded or
// bounced.
#include "gateway/server/abuse_reports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/policy/rtbl_items.h"
#include "gateway/s2s/bounce_element.h"
#include "gateway/s2s/jid.h"
#include "gateway/server/link.h"
#include "gateway/server/log.h"
#include "gateway/server/stanza_reparse.h"

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DATA "jabber:x:data"
#define SERVERINFO "http://jabber.org/network/serverinfo"

// kAnswerMs: a domain that does not answer the disco#info in this time
// gets no report (it is bounced to its sender).
enum { kAnswerMs = 30000, kMaxJid = 3071 };

struct abuse_report {
  struct abuse_report *next;
  fg_server *srv;
  fg_worker *w;
  uint64_t seq;
  char local[FG_DOMAIN_MAX + 1], remote[FG_DOMAIN_MAX + 1];
  uint8_t *message;  // the report's own bytes (re-addressed when forwarded)
  size_t message_len;
  uint8_t *bounce;  // its answer if it cannot be forwarded
  size_t bounce_len;
  fg_timer timer;
};

typedef struct abuse_report abuse_report;

static void report_free(worker_state *ws, abuse_report *r) {
  for (abuse_report **pp = &ws->reports; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == r) {
      *pp = r->next;
      break;
    }
  }
  fg_worker_timer_cancel(r->w, &r->timer);
  free(r->message);
  free(r->bounce);
  free(r);
}

// fail bounces the report to its sender and frees it.
static void fail(abuse_report *r, const char *why) {
  fg_server *srv = r->srv;
  fg_metrics_inc(&srv->metrics, FG_M_REPORTS_FAILED);
  fg_log(FG_LOG_SEV_WARN, NULL, r->remote, "abuse report from %s not forwarded: %s", r->local, why);
  fg_metrics_bounce(&srv->metrics, FG_STANZA_SERVICE_UNAVAILABLE);
  fg_link_bounce(srv, r->w, r->remote, r->local, r->bounce, r->bounce_len);
  report_free(fg_server_worker_state(srv, r->w), r);
}

static void on_timeout(fg_timer *t, void *arg) {
  (void)t;
  fail(arg, "no answer to the server information request");
}

// append_escaped appends |s| (|n| bytes) escaped for an attribute value.
static void append_escaped(char *out, size_t cap, size_t *at, const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n && *at + 7 < cap; i++) {
    const char *e = s[i] == '&'    ? "&amp;"
                    : s[i] == '<'  ? "&lt;"
                    : s[i] == '>'  ? "&gt;"
                    : s[i] == '\'' ? "&apos;"
                                   : NULL;
    if (e != NULL) {
      *at += (size_t)snprintf(out + *at, cap - *at, "%s", e);
    } else {
      out[(*at)++] = (char)s[i];
    }
  }
  out[*at] = 0;
}

int fg_reports_take(fg_server *srv, fg_worker *w, const fg_xml_element *el, const uint8_t *data,
                    size_t len, const char *from_domain, const char *to_domain) {
  if (!srv->boot_cfg->abuse.reports || !fg_xml_str_eq(el->root->local, "message") ||
      fg_xml_str_eq(el->type, "error") || !fg_xml_str_eq(el->to, to_domain) ||
      fg_xml_node_child(fg_xml_element_full(el)->root, FG_NS_REPORTING, "report") == NULL) {
    return 0;
  }
  worker_state *ws = fg_server_worker_state(srv, w);
  abuse_report *r = calloc(1, sizeof(*r));
  uint8_t bounce[4096];
  size_t blen = 0;
  if (r == NULL ||
      fg_bounce_element(bounce, &blen, sizeof(bounce), el, FG_STANZA_SERVICE_UNAVAILABLE) !=
          FG_BOUNCE_OK ||
      (r->message = malloc(len)) == NULL || (r->bounce = malloc(blen)) == NULL) {
    if (r != NULL) free(r->message);
    free(r);
    return 0;  // delivered as it is: nothing is lost
  }
  memcpy(r->message, data, len);
  r->message_len = len;
  memcpy(r->bounce, bounce, blen);
  r->bounce_len = blen;
  r->srv = srv;
  r->w = w;
  r->seq = ++ws->report_seq;
  snprintf(r->local, sizeof(r->local), "%s", from_domain);
  snprintf(r->remote, sizeof(r->remote), "%s", to_domain);
  fg_timer_init(&r->timer, on_timeout, r);
  r->next = ws->reports;
  ws->reports = r;
  fg_metrics_inc(&srv->metrics, FG_M_REPORTS_RECEIVED);
  // XEP-0157 §2: the domain's server information, from our reporting JID.
  char iq[1024];
  int n = snprintf(iq, sizeof(iq),
                   "<iq xmlns='jabber:server' type='get' from='%s/" FG_REPORTS_RESOURCE
                   "' to='%s' id='fgreport-%u-%llu'><query xmlns='" NS_DISCO_INFO "'/></iq>",
                   from_domain, to_domain, fg_worker_index(w), (unsigned long long)r->seq);
  fg_stanza_condition c =
      fg_deliver(srv, w, from_domain, to_domain, 0, 0, (const uint8_t *)iq, (size_t)n, NULL);
  if (c != FG_STANZA_CONDITION_COUNT) {
    fail(r, fg_stanza_condition_name(c));
    return 1;
  }
  fg_metrics_inc(&srv->metrics, FG_M_STANZAS_IN);  // our request, accepted for relay
  fg_worker_timer_arm(w, &r->timer, kAnswerMs);
  return 1;
}

int fg_reports_addressed(const uint8_t *to, size_t to_len) {
  static const char kSuffix[] = "/" FG_REPORTS_RESOURCE;
  size_t k = sizeof(kSuffix) - 1;
  return to_len > k && memcmp(to + to_len - k, kSuffix, k) == 0 &&
         memchr(to, '@', to_len - k) == NULL;
}

// forward sends the report on to |abuse_jid|, from its sender, with the
// same payload.
static void forward(abuse_report *r, const char *abuse_jid) {
  fg_server *srv = r->srv;
  char domain[FG_DOMAIN_MAX + 1];
  if (!fg_jid_domain(domain, (const uint8_t *)abuse_jid, strlen(abuse_jid))) {
    fail(r, "the abuse address is not a JID");
    return;
  }
  // Re-address: everything after the start tag is kept; the start tag is
  // written again with the new 'to'.
  const fg_xml_element *el = NULL;
  fg_xml_parser *p = fg_stanza_reparse(r->message, r->message_len, &el);
  if (p == NULL) {
    fail(r, "the report could not be read again");
    return;
  }
  size_t cap = r->message_len + 2 * kMaxJid + 256, at = 0;
  char *out = malloc(cap);
  if (out == NULL) {
    fg_xml_parser_free(p);
    fail(r, "out of memory");
    return;
  }
  at += (size_t)snprintf(out, cap, "<message xmlns='jabber:server' type='normal' from='");
  append_escaped(out, cap, &at, el->from.data, el->from.len);
  at += (size_t)snprintf(out + at, cap - at, "' to='");
  append_escaped(out, cap, &at, (const uint8_t *)abuse_jid, strlen(abuse_jid));
  at += (size_t)snprintf(out + at, cap - at, "'%s", el->id.data ? " id='" : ">");
  if (el->id.data) {
    append_escaped(out, cap, &at, el->id.data, el->id.len);
    at += (size_t)snprintf(out + at, cap - at, "'>");
  }
  for (const fg_xml_node *c = el->root->first_child; c != NULL; c = c->next) {
    if (c->type != FG_XML_NODE_ELEMENT || at + c->raw.len + 16 > cap) continue;
    memcpy(out + at, c->raw.data, c->raw.len);
    at += c->raw.len;
  }
  at += (size_t)snprintf(out + at, cap - at, "</message>");
  fg_xml_parser_free(p);
  fg_stanza_condition cond =
      fg_deliver(srv, r->w, r->local, domain, 0, 0, (const uint8_t *)out, at, NULL);
  free(out);
  if (cond != FG_STANZA_CONDITION_COUNT) {
    fail(r, fg_stanza_condition_name(cond));
    return;
  }
  fg_metrics_inc(&srv->metrics, FG_M_REPORTS_FORWARDED);
  fg_log(FG_LOG_SEV_INFO, NULL, r->remote, "abuse report from %s forwarded to %s", r->local,
         abuse_jid);
  report_free(fg_server_worker_state(srv, r->w), r);
}

typedef struct answer_msg {
  fg_msg msg;
  fg_server *srv;
  uint64_t seq;
  char abuse_jid[kMaxJid + 1];  // "": none
} answer_msg;

static void on_answer(fg_worker *w, fg_msg *m) {
  answer_msg *a = (answer_msg *)m;
  worker_state *ws = fg_server_worker_state(a->srv, w);
  abuse_report *r = ws->reports;
  while (r != NULL && r->seq != a->seq) r = r->next;
  if (r != NULL && a->abuse_jid[0]) {
    forward(r, a->abuse_jid);
  } else if (r != NULL) {
    fail(r, "the domain publishes no xmpp: abuse address (XEP-0157)");
  }
  free(a);
}

// abuse_address finds the first xmpp: abuse-addresses value of the
// serverinfo form in a disco#info result (XEP-0157 §2), as a bare JID.
static void abuse_address(const fg_xml_node *iq, char *out, size_t cap) {
  out[0] = 0;
  const fg_xml_node *q = fg_xml_node_child(iq, NS_DISCO_INFO, "query");
  for (const fg_xml_node *x = q ? q->first_child : NULL; x != NULL; x = x->next) {
    if (x->type != FG_XML_NODE_ELEMENT || !fg_xml_str_eq(x->ns, NS_DATA)) continue;
    int serverinfo = 0;
    const fg_xml_node *addresses = NULL;
    for (const fg_xml_node *f = x->first_child; f != NULL; f = f->next) {
      if (f->type != FG_XML_NODE_ELEMENT || !fg_xml_str_eq(f->local, "field")) continue;
      fg_xml_str var = fg_xml_node_attr(f, "", "var");
      const fg_xml_node *v = fg_xml_node_child(f, NS_DATA, "value");
      if (fg_xml_str_eq(var, "FORM_TYPE") && v != NULL && v->first_child != NULL &&
          fg_xml_str_eq(v->first_child->text, SERVERINFO)) {
        serverinfo = 1;
      }
      if (fg_xml_str_eq(var, "abuse-addresses")) addresses = f;
    }
    if (!serverinfo || addresses == NULL) continue;
    for (const fg_xml_node *v = addresses->first_child; v != NULL; v = v->next) {
      if (v->type != FG_XML_NODE_ELEMENT || v->first_child == NULL ||
          v->first_child->type != FG_XML_NODE_TEXT) {
        continue;
      }
      fg_xml_str t = v->first_child->text;
      if (t.len <= 5 || memcmp(t.data, "xmpp:", 5) != 0) continue;  // mailto:, https: ...
      size_t n = 5;
      while (n < t.len && t.data[n] != '?' && t.data[n] != '/') n++;
      if (n - 5 >= cap) continue;
      memcpy(out, t.data + 5, n - 5);
      out[n - 5] = 0;
      return;
    }
  }
}

// post_answer hands the answer to request |id| to the worker holding it.
static int post_answer(fg_server *srv, fg_xml_str id, const fg_xml_node *iq, int error) {
  char buf[64];
  unsigned worker;
  unsigned long long seq;
  if (id.data == NULL || id.len >= sizeof(buf)) return 0;
  memcpy(buf, id.data, id.len);
  buf[id.len] = 0;
  if (sscanf(buf, "fgreport-%u-%llu", &worker, &seq) != 2 || worker >= srv->num_workers) return 0;
  answer_msg *a = calloc(1, sizeof(*a));
  if (a == NULL) return 1;  // the report's timer answers
  a->msg.fn = on_answer;
  a->srv = srv;
  a->seq = seq;
  if (!error && iq != NULL) abuse_address(iq, a->abuse_jid, sizeof(a->abuse_jid));
  fg_worker_post(fg_runtime_worker(srv->rt, worker), &a->msg);
  return 1;
}

fg_stanza_condition fg_reports_consume(fg_server *srv, const fg_xml_element *el) {
  if (!fg_xml_str_eq(el->root->local, "iq") ||
      !(fg_xml_str_eq(el->type, "result") || fg_xml_str_eq(el->type, "error"))) {
    // Only answers are for this JID (RFC 6120 §8.3.3.19 for requests).
    return fg_xml_str_eq(el->type, "error") || fg_xml_str_eq(el->type, "result")
               ? FG_STANZA_CONDITION_COUNT
               : FG_STANZA_SERVICE_UNAVAILABLE;
  }
  post_answer(srv, el->id, el->root, fg_xml_str_eq(el->type, "error"));
  return FG_STANZA_CONDITION_COUNT;
}

int fg_reports_take_bounce(fg_server *srv, const uint8_t *data, size_t len) {
  if (memmem(data, len, "fgreport-", 9) == NULL) return 0;  // the common case, cheaply
  const fg_xml_element *el = NULL;
  fg_xml_parser *p = fg_stanza_reparse(data, len, &el);
  int taken = 0;
  if (p != NULL) {
    taken = fg_reports_addressed(el->to.data, el->to.len) && post_answer(srv, el->id, NULL, 1);
  }
  fg_xml_parser_free(p);
  return taken;
}

void fg_reports_free_all(worker_state *ws) {
  while (ws->reports != NULL) {
    abuse_report *r = ws->reports;
    ws->reports = r->next;
    free(r->message);
    free(r->bounce);
    free(r);
  }
}
