// drain.h: the graceful drain of a running gateway (SIGTERM): the load
// balancer is told (/ready answers 503), no connection is accepted any more,
// inbound streams are closed the RFC 6120 §4.4 way once they have no work in
// progress, outbound links once they delivered what they hold, and what is
// still held when time runs out is bounced. The caller (`fedgate run`)
// keeps the clock: it polls fg_drain_left, calls fg_drain_bounce_held near
// the end of shutdown.grace and then fg_server_stop.
#ifndef FEDGATE_GATEWAY_DRAIN_H
#define FEDGATE_GATEWAY_DRAIN_H

#include <stddef.h>

#include "gateway/server/server.h"

// fg_drain_start begins the drain of |s|: /ready answers 503 "draining", the
// s2s, s2s-tls and internal listeners stop accepting (the admin listener
// stays, for /ready and /metrics), and every worker starts closing what
// became idle. It returns once the listeners are closed. Idempotent.
void fg_drain_start(fg_server *s);

// fg_drain_left returns the inbound streams and outbound links not closed
// yet, summed over the workers (as of their last look, a few milliseconds
// old); 0 once the gateway is drained.
size_t fg_drain_left(fg_server *s);

// fg_drain_bounce_held bounces, on every worker, the stanzas that links not
// ready yet still hold (remote-server-timeout), so that nothing is lost when
// the gateway stops. It returns the number bounced.
size_t fg_drain_bounce_held(fg_server *s);

// fg_server_draining returns 1 once fg_drain_start was called.
int fg_server_draining(const fg_server *s);

#endif  // FEDGATE_GATEWAY_DRAIN_H
