// admit.h: abuse.limits.connections applied to new connections: at accept
// on the public listeners, or, behind a balancer, once the PROXY header has
// named the peer (inbound.c).
#ifndef FEDGATE_GATEWAY_ADMIT_H
#define FEDGATE_GATEWAY_ADMIT_H

#include <sys/socket.h>

#include "gateway/server/server_internal.h"

// fg_admit_address returns 1 when a new connection from |peer| may go on; 0
// when it is over the rate (counted, and logged once per run of refusals
// as refused |where|).
int fg_admit_address(fg_server *srv, const struct sockaddr *peer, const char *where);

// fg_admit_accepted is a public listener's admit callback
// (fg_listener_config.admit): |arg| is the listener's fg_listener_arg and
// |fd| the socket just accepted, judged by its peer address.
int fg_admit_accepted(void *arg, int fd);

#endif  // FEDGATE_GATEWAY_ADMIT_H
