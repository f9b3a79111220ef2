// admin.c: the admin endpoint (loopback HTTP): GET /metrics (Prometheus
// text), GET /ready, GET /streams (one line per inbound stream and outbound
// link), GET /certs (one line per certificate fedgate presents, with its
// OCSP staple). A /streams request is answered by every worker for its own streams,
// through messages, and the reply goes out once all have written their part:
// no worker ever reads another worker's state.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/server/admin.h"
#include "gateway/server/heap_stats.h"
#include "gateway/server/inbound.h"
#include "gateway/server/link.h"
#include "gateway/server/server_internal.h"
#include "gateway/server/stapler.h"
#include "gateway/server/text.h"

static void reply(fg_conn *c, const char *status, const char *body, size_t n) {
  char head[200];
  int h = snprintf(head, sizeof(head),
                   "HTTP/1.1 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                   status, n);
  fg_conn_send(c, (const uint8_t *)head, (size_t)h);
  fg_conn_send(c, (const uint8_t *)body, n);
  fg_conn_close(c);
}

// streams_request gathers every worker's lines for one GET /streams.
typedef struct streams_request {
  uint32_t magic;     // kRequestMagic: the admin connection's argument
  fg_conn *conn;      // NULL once the client went away
  fg_worker *origin;  // the worker owning |conn|
  fg_server *srv;
  pthread_mutex_t lock;
  fg_text text;
  _Atomic unsigned pending;
} streams_request;

static const uint32_t kRequestMagic = 0x57ea3500;

typedef struct streams_msg {
  fg_msg msg;
  streams_request *req;
} streams_msg;

static void finish_request(fg_worker *w, fg_msg *m) {
  (void)w;
  streams_msg *sm = (streams_msg *)m;
  streams_request *req = sm->req;
  if (req->conn != NULL) {
    fg_conn_set_arg(req->conn, &req->srv->listener_arg);
    reply(req->conn, "200 OK", req->text.data ? req->text.data : "", req->text.len);
  }
  pthread_mutex_destroy(&req->lock);
  free(req->text.data);
  free(req);
  free(sm);
}

static void describe(fg_worker *w, fg_msg *m) {
  streams_msg *sm = (streams_msg *)m;
  streams_request *req = sm->req;
  worker_state *ws = fg_server_worker_state(req->srv, w);
  fg_text mine = {0};
  fg_inbound_describe(ws, fg_worker_index(w), &mine);
  fg_link_describe(ws, fg_worker_index(w), &mine);
  pthread_mutex_lock(&req->lock);
  if (mine.len) fg_text_printf(&req->text, "%.*s", (int)mine.len, mine.data);
  pthread_mutex_unlock(&req->lock);
  free(mine.data);
  if (atomic_fetch_sub(&req->pending, 1) == 1) {
    sm->msg.fn = finish_request;  // the last one hands the reply to the origin
    fg_worker_post(req->origin, &sm->msg);
    return;
  }
  free(sm);
}

static void start_streams(fg_conn *c, fg_server *srv) {
  streams_request *req = calloc(1, sizeof(*req));
  unsigned n = srv->num_workers;
  if (req == NULL) {
    reply(c, "503 Service Unavailable", "out of memory\n", 14);
    return;
  }
  req->magic = kRequestMagic;
  req->conn = c;
  req->origin = fg_conn_worker(c);
  req->srv = srv;
  pthread_mutex_init(&req->lock, NULL);
  atomic_store(&req->pending, n);
  fg_conn_set_arg(c, req);
  for (unsigned i = 0; i < n; i++) {
    streams_msg *sm = calloc(1, sizeof(*sm));
    if (sm == NULL) {
      atomic_fetch_sub(&req->pending, 1);  // that worker's part is missing
      continue;
    }
    sm->msg.fn = describe;
    sm->req = req;
    fg_worker_post(fg_runtime_worker(srv->rt, i), &sm->msg);
  }
}

static size_t admin_data(fg_conn *c, const uint8_t *data, size_t len) {
  fg_listener_arg *arg = fg_conn_arg(c);
  if (arg->magic == kRequestMagic) return len;  // a /streams answer is on its way
  fg_server *srv = arg->srv;
  if (memmem(data, len, "\r\n\r\n", 4) == NULL && memmem(data, len, "\n\n", 2) == NULL) {
    if (len > 8192) fg_conn_close(c);
    return len > 8192 ? len : 0;  // wait for the whole request
  }
  static _Thread_local char body[32768];  // per worker; rendered and copied at once
  if (len >= 13 && memcmp(data, "GET /metrics ", 13) == 0) {
    if (srv->ica != NULL) {
      fg_metrics_set(&srv->metrics, FG_M_INTERNAL_CERTS_MINTED, fg_internal_ca_minted(srv->ica));
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
    reply(c, "200 OK", body, n);
  } else if (len >= 11 && memcmp(data, "GET /ready ", 11) == 0) {
    // A draining gateway takes no new work: the load balancer takes it out.
    if (atomic_load(&srv->draining)) {
      reply(c, "503 Service Unavailable", "draining\n", 9);
    } else {
      reply(c, "200 OK", "ready\n", 6);
    }
  } else if (len >= 13 && memcmp(data, "GET /streams ", 13) == 0) {
    start_streams(c, srv);
  } else if (len >= 11 && memcmp(data, "GET /certs ", 11) == 0) {
    fg_text text = {0};
    fg_stapler_describe(srv->stapler, &text, (int64_t)time(NULL));
    reply(c, "200 OK", text.data ? text.data : "", text.len);
    free(text.data);
  } else {
    static const char kHelp[] = "try /metrics, /ready, /streams or /certs\n";
    reply(c, "404 Not Found", kHelp, sizeof(kHelp) - 1);
  }
  return len;
}

static void admin_close(fg_conn *c, enum fg_close_reason r) {
  (void)r;
  streams_request *req = fg_conn_arg(c);
  if (req != NULL && req->magic == kRequestMagic) req->conn = NULL;
}

const fg_conn_handler fg_admin_handler = {.on_data = admin_data, .on_close = admin_close};
