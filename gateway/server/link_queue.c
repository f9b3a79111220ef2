// link_queue.c: the stanzas an outbound link holds, and their writing on
// its stream (counted delivered at once without XEP-0198, when the peer
// acknowledges them with it).
#include "gateway/server/link_queue.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/server/metrics.h"

// fg_link_count_written counts a stanza written to a ready stream: forwarded, or a
// bounce fedgate generated (counted apart, so that stanzas_in equals
// delivered + bounced + not bounced).
void fg_link_count_written(fg_server *srv, int is_bounce) {
  fg_metrics_inc(&srv->metrics, is_bounce ? FG_M_BOUNCES_SENT : FG_M_STANZAS_DELIVERED);
}

// fg_link_sm_timer_fired asks for an ack while stanzas stay unacknowledged
// (stream_management.request_interval), so that a quiet link learns soon
// what its last stanzas became.
void fg_link_sm_timer_fired(fg_timer *t, void *arg) {
  (void)t;
  link *l = arg;
  l->sm_timer_armed = 0;
  if (l->conn == NULL || !l->ready || l->ending) return;
  if (fg_s2s_out_request_ack(l->s2s) > 0) {
    l->sm_timer_armed = 1;
    fg_worker_timer_arm(l->w, &l->sm_timer, l->snap->cfg->sm.request_interval_ms);
  }
}

// fg_link_write_stanza writes one stanza on the ready stream of |l|. Without
// XEP-0198 it counts as delivered at once (nothing more will be known);
// with it, when the peer acknowledges it (op_acked).
void fg_link_write_stanza(link *l, const uint8_t *data, size_t len, int is_bounce) {
  link *out = l->carrier != NULL ? l->carrier : l;
  fg_s2s_out_send_stanza(out->s2s, data, len, is_bounce | (l != out ? kTagRode : 0));
  l->last_stanza_ns = out->last_stanza_ns = fg_worker_now_ns(l->w);
  if (!fg_s2s_out_sm_enabled(out->s2s)) {
    out->written++;
    fg_link_count_written(l->srv, is_bounce);
    return;
  }
  if (!out->sm_timer_armed) {
    out->sm_timer_armed = 1;
    fg_worker_timer_arm(out->w, &out->sm_timer, out->snap->cfg->sm.request_interval_ms);
  }
}

// fg_link_queue_pop takes the oldest held stanza of |l| off its queue.
qitem *fg_link_queue_pop(link *l) {
  qitem *q = l->qhead;
  if (q == NULL) return NULL;
  l->qhead = q->next;
  if (l->qhead == NULL) l->qtail = NULL;
  l->q_count--;
  l->q_bytes -= q->len;
  fg_server_worker_state(l->srv, l->w)->queued_bytes -= q->len;
  return q;
}

// fg_link_queue_push links |q| at the end of |l|'s queue and counts it.
void fg_link_queue_push(link *l, qitem *q) {
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

// fg_link_queue_append puts a copy of a stanza at the end of |l|'s queue, whatever
// its bounds (the caller checks them). It returns 0 when out of memory.
int fg_link_queue_append(link *l, const uint8_t *data, size_t len, int is_bounce) {
  qitem *q = malloc(sizeof(*q) + len);
  if (q == NULL) return 0;
  q->len = len;
  q->is_bounce = is_bounce;
  memcpy(q->data, data, len);
  fg_link_queue_push(l, q);
  return 1;
}
