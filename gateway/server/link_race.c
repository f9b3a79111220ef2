// link_race.c: Happy Eyeballs (RFC 8305) for outbound links: a candidate
// that has not connected after the Connection Attempt Delay gets a rival
// attempt, of the other address family when one is left; the first to
// connect carries the link. Opening an attempt and taking its target are
// the core's (link_core_ops).
#include "gateway/server/link_race.h"

#include <string.h>
#include <sys/socket.h>

// kRaceDelayMs: the Connection Attempt Delay RFC 8305 §5 recommends: a
// candidate that has not connected by then gets a rival.
enum { kRaceDelayMs = 250 };

// fg_link_race_drop ends an attempt that lost the race (its callbacks find no link).
void fg_link_race_drop(fg_conn *c) {
  fg_conn_set_arg(c, NULL);
  fg_conn_abort(c, FG_CLOSE_LOCAL);
}

// fg_link_race_timer_fired starts the next candidate beside the one still
// connecting, of the other address family when one is left (RFC 8305 §4:
// IPv6 and IPv4 interleaved).
void fg_link_race_timer_fired(fg_timer *t, void *arg) {
  (void)t;
  link *l = arg;
  // Only STARTTLS attempts race: TLS (and its DANE checks) starts once the
  // race is decided; a direct TLS handshake would belong to the attempt.
  if (l->conn == NULL || l->opened || l->racer != NULL || l->dead || l->current == NULL ||
      l->current->direct_tls) {
    return;
  }
  int family = l->current != NULL ? l->current->addr.ss_family : AF_UNSPEC;
  for (size_t i = l->next_candidate; i < l->n_candidates; i++) {
    if (l->candidates[i].addr.ss_family == family) continue;
    resolved_target other = l->candidates[i];
    memmove(&l->candidates[l->next_candidate + 1], &l->candidates[l->next_candidate],
            (i - l->next_candidate) * sizeof(other));
    l->candidates[l->next_candidate] = other;
    break;
  }
  while (l->next_candidate < l->n_candidates && l->racer == NULL &&
         !l->candidates[l->next_candidate].direct_tls) {
    const resolved_target *next = &l->candidates[l->next_candidate++];
    l->racer = l->core->start_attempt(l, next);
    l->racer_target = next;
  }
  if (l->racer != NULL) fg_metrics_inc(&l->srv->metrics, FG_M_CONNECT_RACES);
}

// fg_link_race_decided: attempt |c| connected first; the other one is dropped and
// the link's stream is |c|'s. It returns 0 when out of memory.
int fg_link_race_decided(link *l, fg_conn *c) {
  fg_worker_timer_cancel(l->w, &l->race_timer);
  l->opened = 1;
  if (c != l->racer) {
    if (l->racer != NULL) fg_link_race_drop(l->racer);
    l->racer = NULL;
    return 1;
  }
  fg_link_race_drop(l->conn);
  l->conn = c;
  l->racer = NULL;
  fg_metrics_inc(&l->srv->metrics, FG_M_CONNECT_RACES_WON_LATER);
  return l->core->use_target(l, l->racer_target);
}

// fg_link_race_goes_on: attempt |c| of |l| failed before connecting. It returns 1
// when the race goes on with the other attempt (nothing else to do).
int fg_link_race_goes_on(link *l, fg_conn *c) {
  if (c == l->racer) {  // the later attempt failed: the first goes on
    l->racer = NULL;
    return 1;
  }
  if (l->racer == NULL || l->opened) return 0;
  l->conn = l->racer;  // the first failed: the later one goes on alone
  l->racer = NULL;
  if (!l->core->use_target(l, l->racer_target)) {
    fg_link_race_drop(l->conn);
    l->conn = NULL;
    return 0;
  }
  link_arm_deadline(l);
  fg_link_race_arm(l);
  return 1;
}

void fg_link_race_arm(link *l) {
  if (l->next_candidate < l->n_candidates) fg_worker_timer_arm(l->w, &l->race_timer, kRaceDelayMs);
}
