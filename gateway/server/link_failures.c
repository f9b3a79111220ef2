// link_failures.c: what a failed outbound link leaves behind: the bounces
// of the stanzas it held, the memory of unreachable remote domains
// (RFC 6120 §3.3: exponential backoff with jitter), and the reports of
// lost streams (gateway/server/link_loss.h).
#include "gateway/server/link_failures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "gateway/s2s/bounce_element.h"
#include "gateway/server/log.h"
#include "gateway/xml/xml_names.h"

unreachable *fg_link_unreachable_find(worker_state *ws, const char *domain) {
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

void fg_link_unreachable_note(link *l, fg_stanza_condition cond) {
  worker_state *ws = fg_server_worker_state(l->srv, l->w);
  unreachable *u = fg_link_unreachable_find(ws, l->remote);
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

void fg_link_unreachable_forget(link *l) {
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

// fg_link_report_lost tells gateway/server/link_loss.h that the stream |stream_id|
// of the pair's link with |remote| is lost.
void fg_link_report_lost(fg_server *srv, fg_worker *w, const char *remote, const char *stream_id,
                         const char *why) {
  if (srv->link_lost != NULL) srv->link_lost(srv, w, remote, stream_id, "", why);
}

// fg_link_report_riders_lost: the stream of carrier |l|, |stream_id|, broke. The
// other remote domains whose pairs rode on it lost their link as well; each
// is reported once (the carrier's own domain is reported by its caller).
void fg_link_report_riders_lost(const link *l, const char *stream_id, const char *why) {
  for (const link *r = l->riders; r != NULL; r = r->rider_next) {
    if (!r->ready || r->dead || strcmp(r->remote, l->remote) == 0) continue;
    const link *e = l->riders;
    while (e != r && (!e->ready || e->dead || strcmp(e->remote, r->remote) != 0)) {
      e = e->rider_next;
    }
    if (e == r) fg_link_report_lost(l->srv, l->w, r->remote, stream_id, why);
  }
}

// fg_link_bounce_build parses the held stanza again, on the failure path,
// so that holding it costs only its bytes.
int fg_link_bounce_build(uint8_t *out, size_t *out_len, size_t out_cap,
                         char ours[FG_DOMAIN_MAX + 1], char sender[FG_DOMAIN_MAX + 1],
                         const uint8_t *data, size_t data_len, fg_stanza_condition cond) {
  static const char kHeader[] = FG_S2S_STREAM_OPEN ">";
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  size_t used;
  int built = 0;
  if (p != NULL &&
      fg_xml_parser_feed(p, &used, (const uint8_t *)kHeader, sizeof(kHeader) - 1) ==
          FG_XML_EVENT_STREAM_OPEN &&
      fg_xml_parser_feed(p, &used, data, data_len) == FG_XML_EVENT_ELEMENT) {
    const fg_xml_element *el = fg_xml_parser_element(p);
    fg_bounce_verdict v = fg_bounce_element(out, out_len, out_cap, el, cond);
    built = v == FG_BOUNCE_OK && fg_jid_domain(sender, el->from.data, el->from.len) &&
            fg_jid_domain(ours, el->to.data, el->to.len);
  }
  fg_xml_parser_free(p);
  return built;
}
