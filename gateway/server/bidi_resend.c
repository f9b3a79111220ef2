// bidi_resend.c: the unacknowledged stanzas of an ended bidirectional
// inbound stream, delivered again or bounced.
#include "gateway/server/bidi_resend.h"

#include <stdlib.h>

#include "gateway/s2s/bounce_element.h"
#include "gateway/s2s/jid.h"
#include "gateway/server/link.h"
#include "gateway/server/log.h"
#include "gateway/server/stanza_reparse.h"

// again delivers one stanza from the domain of its 'from' to the domain of
// its 'to' (what it was written with), or bounces it (RFC 6120 §8.3); a
// bounce fedgate made is never bounced itself (§8.3.1).
static void again(fg_server *srv, fg_worker *w, const fg_sm_item *it) {
  const fg_xml_element *el = NULL;
  fg_xml_parser *p = fg_stanza_reparse(it->data, it->len, &el);
  char local[FG_DOMAIN_MAX + 1], remote[FG_DOMAIN_MAX + 1];
  if (p == NULL || !fg_jid_domain(local, el->from.data, el->from.len) ||
      !fg_jid_domain(remote, el->to.data, el->to.len)) {
    fg_metrics_inc(&srv->metrics, FG_M_STANZAS_NOT_BOUNCED);
    fg_xml_parser_free(p);
    return;
  }
  fg_metrics_inc(&srv->metrics, FG_M_STANZAS_RESENT);
  fg_stanza_condition c = fg_deliver(srv, w, local, remote, 0, it->tag, it->data, it->len, NULL);
  if (c != FG_STANZA_CONDITION_COUNT) {
    uint8_t buf[4096];
    size_t len = 0;
    if (it->tag) {
      fg_metrics_inc(&srv->metrics, FG_M_BOUNCES_UNDELIVERABLE);
    } else if (fg_bounce_element(buf, &len, sizeof(buf), el, c) == FG_BOUNCE_OK) {
      fg_metrics_bounce(&srv->metrics, c);
      fg_link_bounce(srv, w, remote, local, buf, len);
    } else {
      fg_metrics_inc(&srv->metrics, FG_M_STANZAS_NOT_BOUNCED);
    }
  }
  fg_xml_parser_free(p);
}

void fg_bidi_resend(fg_server *srv, fg_worker *w, const char *stream_id, fg_sm_item *items) {
  size_t n = 0;
  for (fg_sm_item *it = items, *next; it != NULL; it = next, n++) {
    next = it->next;
    again(srv, w, it);
    free(it);
  }
  if (n > 0) {
    fg_log(FG_LOG_SEV_WARN, stream_id, NULL,
           "bidirectional stream ended: %zu stanzas it carried unacknowledged sent again", n);
  }
}
