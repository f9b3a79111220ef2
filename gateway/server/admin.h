// admin.h: the admin endpoint (loopback HTTP): /metrics, /ready, /streams.
#ifndef FEDGATE_GATEWAY_ADMIN_H
#define FEDGATE_GATEWAY_ADMIN_H

#include "io/conn.h"

// fg_admin_handler serves the admin listener's connections; their argument
// is the listener's fg_listener_arg (gateway/server/server_internal.h).
extern const fg_conn_handler fg_admin_handler;

#endif  // FEDGATE_GATEWAY_ADMIN_H
