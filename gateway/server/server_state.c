// server_state.c: accessors of the running gateway's state
// (gateway/server/server_internal.h): a worker's own state, pinned routes, the
// backend address for a hosted domain.
#include <string.h>

#include "gateway/server/server_internal.h"

worker_state *fg_server_worker_state(fg_server *srv, fg_worker *w) {
  return &srv->workers[fg_worker_index(w)];
}

const static_route *fg_server_static_route(const fg_server *srv, const char *domain) {
  for (size_t i = 0; i < srv->n_static_routes; i++) {
    if (strcmp(srv->static_routes[i].domain, domain) == 0) return &srv->static_routes[i];
  }
  return NULL;
}

const resolved_target *fg_server_backend_target(fg_server *srv, const char *domain, size_t *backend,
                                                size_t *address) {
  fg_route r;
  if (fg_router_route(srv->router, domain, strlen(domain), &r) != FG_ROUTE_OK) return NULL;
  *backend = r.backend;
  *address = r.address;
  return &srv->backend_targets[r.backend][r.address];
}
