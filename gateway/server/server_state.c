// server_state.c: accessors of the running gateway's state
// (gateway/server/server_internal.h): a worker's own state and the
// configuration snapshot the calling thread decides with.
#include "gateway/server/server_internal.h"

worker_state *fg_server_worker_state(fg_server *srv, fg_worker *w) {
  return &srv->workers[fg_worker_index(w)];
}

fg_snapshot *fg_server_snapshot(const fg_server *srv) {
  fg_worker *w = fg_worker_current();
  if (w != NULL && srv->workers != NULL && srv->rt != NULL) {
    unsigned i = fg_worker_index(w);
    if (i < srv->num_workers && fg_runtime_worker(srv->rt, i) == w &&
        srv->workers[i].snap != NULL) {
      return srv->workers[i].snap;
    }
  }
  return atomic_load_explicit((fg_snapshot * _Atomic *)&srv->snap, memory_order_acquire);
}
