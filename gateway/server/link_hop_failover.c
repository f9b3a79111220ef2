// link_hop_failover.c: a hop link whose backend address failed marks it
// down for a while (the router skips it) and takes the address the router
// picks now, so that what it holds goes there instead of being bounced.
#include "gateway/server/link_hop_failover.h"

#include <stdlib.h>

#include "gateway/server/log.h"
// A backend address marked down is tried again after kBackendRetryMs.
enum { kBackendRetryMs = 10000 };

typedef struct mark_up_timer {
  fg_timer timer;
  fg_snapshot *snap;  // a reference: its router
  fg_router *router;
  size_t backend, address;
} mark_up_timer;

static void mark_up(fg_timer *t, void *arg) {
  (void)t;
  mark_up_timer *m = arg;
  fg_router_mark_up(m->router, m->backend, m->address);
  fg_snapshot_release(m->snap);
  free(m);
}

// fg_link_hop_failover marks the failed backend address down (for kBackendRetryMs)
// and gives the link the address the router picks now, if any, so that the
// held stanzas go there instead of being bounced.
// The health marks and the alternative come from the link's own snapshot,
// whose indices the link holds; a reload starts with every address healthy.
void fg_link_hop_failover(link *l) {
  fg_snapshot *snap = l->snap;
  // Marked, logged and timed once per mark: hop links keeping stanzas try
  // an address marked down again, and fail again, meanwhile
  // (link_hop_keep.h).
  mark_up_timer *m = NULL;
  if (fg_router_is_up(snap->router, l->backend, l->address)) {
    fg_router_mark_down(snap->router, l->backend, l->address);
    fg_log(FG_LOG_SEV_WARN, NULL, l->remote, "backend address %s marked down for %d s",
           l->current ? l->current->name : "?", kBackendRetryMs / 1000);
    m = calloc(1, sizeof(*m));
  }
  if (m != NULL) {
    m->snap = fg_snapshot_up_ref(snap);
    m->router = snap->router;
    m->backend = l->backend;
    m->address = l->address;
    fg_timer_init(&m->timer, mark_up, m);
    fg_worker_timer_arm(l->w, &m->timer, kBackendRetryMs);
  }
  size_t backend, address;
  const resolved_target *alt = fg_snapshot_backend_target(snap, l->remote, &backend, &address);
  if (alt == NULL || alt == l->pinned || l->n_candidates >= kMaxCandidates) return;
  l->pinned = alt;
  l->backend = backend;
  l->address = address;
  l->candidates[l->n_candidates++] = *alt;
}
