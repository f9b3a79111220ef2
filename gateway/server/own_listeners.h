// own_listeners.h: whether an address reaches one of this gateway's own
// listeners (a wildcard listener answers on every address of the host), so
// that no outbound link, pinned target or backend loops back into the
// gateway itself.
#ifndef FEDGATE_GATEWAY_SERVER_OWN_LISTENERS_H
#define FEDGATE_GATEWAY_SERVER_OWN_LISTENERS_H

#include <sys/socket.h>

#include "gateway/server/server_internal.h"

// fg_own_listeners_load records the addresses of this host's interfaces. It
// returns 0 when they cannot be read.
int fg_own_listeners_load(fg_server *srv);

// fg_own_listener says whether connecting to |sa| would reach one of this
// gateway's own listeners.
int fg_own_listener(const fg_server *srv, const struct sockaddr *sa);

#endif  // FEDGATE_GATEWAY_SERVER_OWN_LISTENERS_H
