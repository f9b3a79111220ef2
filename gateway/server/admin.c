// admin.c: the admin endpoint (loopback HTTP): GET /metrics (Prometheus
// text), GET /ready, GET /streams (one line per inbound stream and outbound
// link), GET /certs (one line per certificate fedgate presents, with its
// OCSP staple), and the actions of gateway/server/admin_actions.h. Only
// clients in admin.allowed_networks are answered (403 otherwise). A
// /streams request is answered by every worker for its own streams, through
// messages (gateway/server/admin_fanout.h): no worker ever reads another
// worker's state.
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "gateway/server/admin.h"

#include "gateway/server/admin_actions.h"
#include "gateway/server/blocks.h"
#include "gateway/server/admin_fanout.h"
#include "gateway/server/admin_pending.h"
#include "gateway/server/admin_reply.h"
#include "gateway/server/admin_request.h"
#include "gateway/server/inbound.h"
#include "gateway/server/reload.h"
#include "gateway/server/link_admin.h"
#include "gateway/server/log.h"
#include "gateway/server/server_internal.h"
#include "gateway/server/stapler.h"
#include "gateway/server/text.h"
#include "io/heap.h"

// source_allowed says whether the client of |c| may use the admin
// endpoint (admin.allowed_networks) and writes its address to |peer|.
static int source_allowed(const fg_server *srv, fg_conn *c, char *peer, size_t cap) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  snprintf(peer, cap, "?");
  if (getpeername(fg_conn_fd(c), (struct sockaddr *)&ss, &sl) != 0) return 0;
  if (ss.ss_family == AF_UNIX) return 1;  // reachable only through the file system
  char ip[INET6_ADDRSTRLEN] = "?";
  const void *a = ss.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                           : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
  inet_ntop(ss.ss_family, a, ip, sizeof(ip));
  snprintf(peer, cap, "%s", ip);
  const fg_config *cfg = fg_server_snapshot(srv)->cfg;  // admin.allowed_networks reloads
  for (size_t i = 0; i < cfg->n_admin_allowed_networks; i++) {
    if (fg_cidr_contains(&cfg->admin_allowed_networks[i], (const struct sockaddr *)&ss)) return 1;
  }
  return 0;
}

static size_t describe_streams(fg_server *srv, fg_worker *w, void *arg, fg_text *out) {
  (void)arg;
  worker_state *ws = fg_server_worker_state(srv, w);
  fg_inbound_describe(ws, fg_worker_index(w), out);
  fg_link_describe(ws, fg_worker_index(w), out);
  return 0;
}

static void streams_done(fg_conn *c, fg_server *srv, void *arg, size_t total, const fg_text *text) {
  (void)srv, (void)arg, (void)total;
  if (c != NULL) fg_admin_reply(c, "200 OK", text->data ? text->data : "", text->len);
}

// io_counts sums the runtime's counters of every worker, each read on its
// own worker (no worker reads another's): /metrics asks them all.
typedef struct io_counts {
  _Atomic uint64_t pauses, refused, shed;
  _Atomic uint64_t turns, completions, sends_early;
  _Atomic uint64_t worker_allocated;        // bytes the workers allocated (jemalloc)
  _Atomic uint64_t worker_tls_allocated;    // of which inside TLS record reads
  _Atomic uint64_t worker_chunk_allocated;  // of which output chunks
  _Atomic int worker_allocated_known;
} io_counts;

static size_t count_io(fg_server *srv, fg_worker *w, void *arg, fg_text *out) {
  (void)srv;
  (void)out;
  io_counts *io = arg;
  fg_worker_stats st;
  fg_worker_stats_get(w, &st);
  atomic_fetch_add(&io->pauses, st.accept_pauses);
  atomic_fetch_add(&io->refused, st.refused);
  atomic_fetch_add(&io->shed, st.accept_shed);
  atomic_fetch_add(&io->turns, st.loop_turns);
  atomic_fetch_add(&io->completions, st.completions);
  atomic_fetch_add(&io->sends_early, st.sends_early);
  if (fg_heap_thread_counted()) {  // jemalloc's count, read on worker |w|
    atomic_fetch_add(&io->worker_allocated, st.heap_allocated);
    atomic_fetch_add(&io->worker_tls_allocated, st.tls_read_allocated);
    atomic_fetch_add(&io->worker_chunk_allocated, st.chunk_allocated);
    atomic_store(&io->worker_allocated_known, 1);
  }
  return 0;
}

// metrics_done renders /metrics once every worker has added its counters.
static void metrics_done(fg_conn *c, fg_server *srv, void *arg, size_t total, const fg_text *text) {
  (void)total;
  (void)text;
  if (c == NULL) return;
  const io_counts *io = arg;
  static _Thread_local char body[32768];  // per worker; rendered and copied at once
  const fg_snapshot *snap = fg_server_snapshot(srv);
  if (snap->ica != NULL) {
    fg_metrics_set(&srv->metrics, FG_M_INTERNAL_CERTS_MINTED, fg_internal_ca_minted(snap->ica));
  }
  size_t n = fg_metrics_render(&srv->metrics, body, sizeof(body));
  if (n < sizeof(body)) {
    int w = snprintf(body + n, sizeof(body) - n,
                     "# TYPE fedgate_staples_current gauge\nfedgate_staples_current %u\n"
                     "# TYPE fedgate_draining gauge\nfedgate_draining %d\n",
                     fg_stapler_current(srv->stapler, (int64_t)time(NULL)),
                     atomic_load(&srv->draining));
    if (w > 0) n = n + (size_t)w < sizeof(body) ? n + (size_t)w : sizeof(body);
  }
  fg_text per_cert = {0};
  fg_stapler_metrics(srv->stapler, &per_cert, (int64_t)time(NULL));
  if (per_cert.len > 0 && n + per_cert.len < sizeof(body)) {
    memcpy(body + n, per_cert.data, per_cert.len);
    n += per_cert.len;
  }
  free(per_cert.data);
  fg_blocklist_stats bs, as;
  fg_blocklist_stats_get(fg_blocks_list(srv->blocks), &bs);
  fg_blocklist_stats_get(fg_blocks_allow_list(srv->blocks), &as);
  if (n < sizeof(body)) {
    int w = snprintf(body + n, sizeof(body) - n,
                     "# TYPE fedgate_blocklist_entries gauge\n"
                     "fedgate_blocklist_entries{kind=\"domain\"} %zu\n"
                     "fedgate_blocklist_entries{kind=\"suffix\"} %zu\n"
                     "fedgate_blocklist_entries{kind=\"jid\"} %zu\n"
                     "# TYPE fedgate_blocklist_bytes gauge\nfedgate_blocklist_bytes %zu\n"
                     "# TYPE fedgate_allowlist_entries gauge\nfedgate_allowlist_entries %zu\n",
                     bs.by_kind[FG_BLOCK_DOMAIN], bs.by_kind[FG_BLOCK_DOMAIN_SUFFIX],
                     bs.by_kind[FG_BLOCK_JID_SHA256], bs.bytes + as.bytes, as.entries);
    if (w > 0) n = n + (size_t)w < sizeof(body) ? n + (size_t)w : sizeof(body);
  }
  size_t allocated, resident;
  if (fg_heap_stats(&allocated, &resident) && n < sizeof(body)) {
    int w = snprintf(body + n, sizeof(body) - n,
                     "# TYPE fedgate_heap_allocated_bytes gauge\n"
                     "fedgate_heap_allocated_bytes %zu\n"
                     "# TYPE fedgate_heap_resident_bytes gauge\n"
                     "fedgate_heap_resident_bytes %zu\n",
                     allocated, resident);
    if (w > 0) n = n + (size_t)w < sizeof(body) ? n + (size_t)w : sizeof(body);
  }
  if (atomic_load(&io->worker_allocated_known) && n < sizeof(body)) {
    int w = snprintf(body + n, sizeof(body) - n,
                     "# TYPE fedgate_worker_heap_allocated_bytes_total counter\n"
                     "fedgate_worker_heap_allocated_bytes_total %llu\n"
                     "# TYPE fedgate_worker_heap_allocated_tls_read_bytes_total counter\n"
                     "fedgate_worker_heap_allocated_tls_read_bytes_total %llu\n"
                     "# TYPE fedgate_worker_heap_allocated_output_chunk_bytes_total counter\n"
                     "fedgate_worker_heap_allocated_output_chunk_bytes_total %llu\n",
                     (unsigned long long)atomic_load(&io->worker_allocated),
                     (unsigned long long)atomic_load(&io->worker_tls_allocated),
                     (unsigned long long)atomic_load(&io->worker_chunk_allocated));
    if (w > 0) n = n + (size_t)w < sizeof(body) ? n + (size_t)w : sizeof(body);
  }
  if (n < sizeof(body)) {
    int w = snprintf(
        body + n, sizeof(body) - n,
        "# TYPE fedgate_accept_pauses_total counter\n"
        "fedgate_accept_pauses_total %llu\n"
        "# TYPE fedgate_connections_refused_total counter\n"
        "fedgate_connections_refused_total %llu\n"
        "# TYPE fedgate_connections_refused_no_descriptors_total counter\n"
        "fedgate_connections_refused_no_descriptors_total %llu\n"
        "# TYPE fedgate_io_loop_turns_total counter\n"
        "fedgate_io_loop_turns_total %llu\n"
        "# TYPE fedgate_io_completions_total counter\n"
        "fedgate_io_completions_total %llu\n"
        "# TYPE fedgate_io_sends_early_total counter\n"
        "fedgate_io_sends_early_total %llu\n",
        (unsigned long long)atomic_load(&io->pauses), (unsigned long long)atomic_load(&io->refused),
        (unsigned long long)atomic_load(&io->shed), (unsigned long long)atomic_load(&io->turns),
        (unsigned long long)atomic_load(&io->completions),
        (unsigned long long)atomic_load(&io->sends_early));
    if (w > 0) n = n + (size_t)w < sizeof(body) ? n + (size_t)w : sizeof(body);
  }
  fg_text reloads = {0};
  fg_reload_metrics(srv, &reloads);
  if (reloads.len > 0 && n + reloads.len < sizeof(body)) {
    memcpy(body + n, reloads.data, reloads.len);
    n += reloads.len;
  }
  free(reloads.data);
  fg_admin_reply(c, "200 OK", body, n);
}

static size_t admin_data(fg_conn *c, const uint8_t *data, size_t len) {
  if (fg_admin_pending_is(c)) return len;  // an answer is on its way
  fg_listener_arg *arg = fg_conn_arg(c);
  fg_server *srv = arg->srv;
  fg_admin_request req;
  fg_admin_parse_result parsed = fg_admin_request_parse(&req, data, len);
  char peer[INET6_ADDRSTRLEN + 8];
  if (!source_allowed(srv, c, peer, sizeof(peer))) {
    fg_metrics_inc(&srv->metrics, FG_M_ADMIN_REFUSED_SOURCE);
    fg_log(FG_LOG_SEV_WARN, NULL, peer, "admin request %s %s refused: %s is not in %s",
           req.method[0] ? req.method : "-", req.path[0] ? req.path : "-", peer,
           "admin.allowed_networks");
    fg_admin_replyf(c, "403 Forbidden",
                    "error: %s may not use the admin endpoint (admin.allowed_networks)\n", peer);
    return len;
  }
  static const char kBad[] = "error: not an HTTP/1.x request\n";
  static const char kLarge[] = "error: request too large\n";
  switch (parsed) {
    case FG_ADMIN_REQ_INCOMPLETE:
      return 0;  // wait for the whole request
    case FG_ADMIN_REQ_BAD:
      fg_admin_reply(c, "400 Bad Request", kBad, sizeof(kBad) - 1);
      return len;
    case FG_ADMIN_REQ_TOO_LARGE:
      fg_admin_reply(c, "413 Content Too Large", kLarge, sizeof(kLarge) - 1);
      return len;
    case FG_ADMIN_REQ_OK:
      break;
  }
  if (fg_admin_action_run(c, srv, &req, peer)) return len;
  if (strcmp(req.method, "GET") != 0) {
    fg_admin_action_refuse_unknown(c, srv, &req, peer);
    return len;
  }
  if (strcmp(req.path, "/metrics") == 0) {
    io_counts *io = calloc(1, sizeof(*io));
    if (io == NULL) {
      fg_admin_reply(c, "503 Service Unavailable", "out of memory\n", 14);
    } else {
      fg_admin_fanout_start(c, srv, count_io, metrics_done, io);
    }
  } else if (strcmp(req.path, "/ready") == 0) {
    // A draining gateway takes no new work: the load balancer takes it out.
    // Still ready while serving otherwise; a failed reload is shown, not
    // fatal.
    if (atomic_load(&srv->draining)) {
      fg_admin_reply(c, "503 Service Unavailable", "draining\n", 9);
    } else {
      fg_text ready = {0};
      fg_text_printf(&ready, "ready\n");
      fg_reload_describe_status(srv, &ready);
      fg_admin_reply(c, "200 OK", ready.data, ready.len);
      free(ready.data);
    }
  } else if (strcmp(req.path, "/streams") == 0) {
    fg_admin_fanout_start(c, srv, describe_streams, streams_done, NULL);
  } else if (strcmp(req.path, "/certs") == 0) {
    fg_text text = {0};
    fg_stapler_describe(srv->stapler, &text, (int64_t)time(NULL));
    fg_admin_reply(c, "200 OK", text.data ? text.data : "", text.len);
    free(text.data);
  } else {
    static const char kHelp[] = "try /metrics, /ready, /streams, /backends, /domains or /certs\n";
    fg_admin_reply(c, "404 Not Found", kHelp, sizeof(kHelp) - 1);
  }
  return len;
}

static void admin_close(fg_conn *c, enum fg_close_reason r) {
  (void)r;
  fg_admin_pending_detach(c);
}

const fg_conn_handler fg_admin_handler = {.on_data = admin_data, .on_close = admin_close};
