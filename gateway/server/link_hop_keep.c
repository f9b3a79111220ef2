// link_hop_keep.c: hop links that keep stanzas while their internal server
// is down (see link_hop_keep.h).
#include "gateway/server/link_hop_keep.h"

#include "gateway/server/link_index.h"
#include "gateway/server/log.h"
#include "gateway/server/router.h"
#include "gateway/server/snapshot.h"

link *fg_link_hop_keeper_of(const fg_snapshot *snap, size_t backend, const link *except) {
  link *k = fg_link_keepers_first();
  while (k != NULL && (k == except || k->dead || k->snap != snap || k->backend != backend)) {
    k = k->keeper_next;
  }
  return k;
}

int fg_link_hop_keep_with(link *l) {
  if (l->keeping) return 1;
  if (l->carrier != NULL) return 0;
  const link *k = fg_link_hop_keeper_of(l->snap, l->backend, l);
  if (k == NULL) return 0;
  l->keeping = 1;
  fg_link_keepers_add(l);
  l->retry = k->retry;  // its schedule and give-up time
  l->retry.attempts = 0;
  return 1;
}

void fg_link_hop_hurry(link *l) {
  if (l->kind != LINK_HOP || !l->retry_waiting || l->retry_hurried || l->dead) return;
  l->retry_hurried = 1;
  uint64_t now = fg_worker_now_ns(l->w);
  uint64_t at = l->retry_failed_ns + (uint64_t)l->retry.schedule.first_ms * 1000000ull;
  if (at < now) at = now;
  if (at < l->retry_at_ns) fg_worker_timer_arm_at(l->w, &l->retry_timer, at);
}

int fg_link_hop_follows(const link *l) {
  if (l->kind != LINK_HOP) return 0;
  const link *first = fg_link_hop_keeper_of(l->snap, l->backend, NULL);
  if (first == NULL || first == l) return 0;
  size_t backend, address;
  return fg_snapshot_backend_target(l->snap, l->remote, &backend, &address) == NULL;
}

void fg_link_hop_wake(const fg_snapshot *snap, size_t backend) {
  for (link *k = fg_link_keepers_first(); k != NULL; k = k->keeper_next) {
    if (k->dead || !k->retry_waiting || k->snap != snap || k->backend != backend) continue;
    k->retry_hurried = 1;
    k->retry_at_ns = fg_worker_now_ns(k->w);
    fg_worker_timer_arm(k->w, &k->retry_timer, 0);
  }
}

void fg_link_hop_follow_reload(link *l) {
  // Between attempts: no connection, and the session of the last one is
  // over (the next attempt makes a new one, from the link's snapshot).
  if (l->kind != LINK_HOP || !l->keeping || l->dead || l->conn != NULL || link_is_shared(l)) {
    return;
  }
  fg_snapshot *cur = fg_server_snapshot(l->srv);
  if (l->snap == cur) return;
  size_t backend, address;
  const resolved_target *t = fg_snapshot_backend_target(cur, l->remote, &backend, &address);
  if (t == NULL) return;  // not hosted, drained or down there: the old one still tries
  link *other = fg_link_index_find(fg_server_worker_state(l->srv, l->w), LINK_HOP, l->local,
                                   l->remote, t, l->slot);
  if (other != NULL && other != l) return;  // the pair has a link there: this one ends alone
  fg_log(FG_LOG_SEV_INFO, NULL, l->remote,
         "link %s -> %s: follows the reloaded configuration to backend %s at %s "
         "(%zu stanzas kept)",
         l->local, l->remote, fg_router_backend_name(cur->router, backend), t->name, l->q_count);
  fg_snapshot *old = l->snap;
  l->snap = fg_snapshot_up_ref(cur);
  l->pinned = t;
  l->backend = backend;
  l->address = address;
  fg_snapshot_release(old);
}

void fg_link_hop_reloaded(void) {
  for (link *k = fg_link_keepers_first(); k != NULL; k = k->keeper_next) {
    if (k->dead || !k->retry_waiting || k->snap == fg_server_snapshot(k->srv)) continue;
    k->retry_hurried = 1;
    k->retry_at_ns = fg_worker_now_ns(k->w);
    fg_worker_timer_arm(k->w, &k->retry_timer, 0);
  }
}
