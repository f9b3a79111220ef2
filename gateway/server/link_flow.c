// link_flow.c: flow control between the input streams and the outbound
// links they feed (fg_flow): a congested link pauses its inputs, and
// resumes them when it drains, becomes ready or fails.
#include "gateway/server/link_flow.h"

#include "gateway/server/link_types.h"

void fg_flow_cancel(fg_flow *f) {
  if (f->on == NULL) return;
  if (f->prev) f->prev->next = f->next;
  if (f->next) f->next->prev = f->prev;
  if (f->on->waiting == f) f->on->waiting = f->next;
  f->on = NULL;
  f->prev = f->next = NULL;
}

// fg_link_flow_wake resumes every input stream parked on |l| (the runtime delivers
// their held-back bytes from its loop, never from inside this call).
void fg_link_flow_wake(link *l) {
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

// fg_link_congested: |l| should take no more from its inputs for now: its output is
// above the high-water mark, or it is a hop link still connecting with its
// queue half full (a remote server's burst waits for the backend). A remote
// link that is still connecting is never congested: its bounded queue
// answers overflow with resource-constraint bounces, so that one
// unresponsive remote domain cannot hold up an internal server's stream.
int fg_link_congested(const link *l) {
  // On a shared stream only the pairs with a backlog of a round's quantum
  // or more wait: a pair with a few stanzas held goes on reading its
  // inputs, and what it holds goes out in its next turn (drr.h).
  if (link_is_shared(l) && l->ready) return l->q_bytes >= kMuxQuantum;
  // A ready link holds stanzas only while XEP-0198 acks are awaited.
  if (l->ready) return l->conn != NULL && (fg_conn_write_blocked(l->conn) || l->qhead != NULL);
  if (l->kind != LINK_HOP) return 0;
  const fg_config *cfg = link_cur_snapshot(l->srv)->cfg;
  return (cfg->limits.queue_stanzas && l->q_count * 2 >= cfg->limits.queue_stanzas) ||
         (cfg->limits.queue_bytes && l->q_bytes * 2 >= cfg->limits.queue_bytes);
}

void fg_link_flow_park(link *l, fg_flow *f) {
  if (f == NULL || f->conn == NULL || f->on != NULL || !fg_link_congested(l)) return;
  f->on = l;
  f->prev = NULL;
  f->next = l->waiting;
  if (l->waiting) l->waiting->prev = f;
  l->waiting = f;
  fg_metrics_inc(&l->srv->metrics, FG_M_FLOW_PAUSES);
  fg_conn_pause_reading(f->conn);
}
