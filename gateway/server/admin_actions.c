// admin_actions.c: the table of admin actions and their handlers. A new
// action is one entry in kActions and one handler; the handler reads its
// form keys, acts (on another worker's state only through
// gateway/server/admin_fanout.h) and answers with ok() or refuse().
#include "gateway/server/admin_actions.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/server/admin_fanout.h"
#include "gateway/server/admin_form.h"
#include "gateway/server/admin_reload.h"
#include "gateway/server/admin_reply.h"
#include "gateway/server/inbound.h"
#include "gateway/server/link.h"
#include "gateway/server/log.h"
#include "gateway/server/reload.h"
#include "gateway/server/text.h"

typedef struct action_ctx {
  fg_conn *c;
  fg_server *srv;
  const fg_admin_request *req;
  char peer[64];
} action_ctx;

// conclude counts the action as |m|, logs a refusal once (|what| from
// |peer|), and answers "ok: LINE" or "error: LINE" with |status|.
static void conclude(fg_conn *c, fg_server *srv, fg_metric m, const char *status, const char *peer,
                     const char *what, const char *fmt, va_list ap) {
  char line[512];
  vsnprintf(line, sizeof(line), fmt, ap);
  int refused = m == FG_M_ADMIN_ACTIONS_REFUSED;
  fg_metrics_inc(&srv->metrics, m);
  if (refused) fg_log(FG_LOG_SEV_WARN, NULL, peer, "admin %s refused: %s", what, line);
  if (c != NULL) fg_admin_replyf(c, status, "%s: %s\n", refused ? "error" : "ok", line);
}

// ok answers 200 with "ok: ..." and counts the action.
__attribute__((format(printf, 3, 4))) static void ok(fg_conn *c, fg_server *srv, const char *fmt,
                                                     ...) {
  va_list ap;
  va_start(ap, fmt);
  conclude(c, srv, FG_M_ADMIN_ACTIONS_OK, "200 OK", NULL, NULL, fmt, ap);
  va_end(ap);
}

// refuse answers |status| with "error: ...", counts it and logs it once.
__attribute__((format(printf, 6, 7))) static void refuse(fg_conn *c, fg_server *srv,
                                                         const char *peer, const char *what,
                                                         const char *status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  conclude(c, srv, FG_M_ADMIN_ACTIONS_REFUSED, status, peer, what, fmt, ap);
  va_end(ap);
}

// form_value reads form key |key| into |out|: present, decodable,
// non-empty when |required|, and free of control characters and spaces
// (|spaces| allows spaces). It answers 400 and returns 0 otherwise.
static int form_value(const action_ctx *a, const char *key, int required, int spaces, char *out,
                      size_t cap) {
  const fg_admin_request *r = a->req;
  const char *what = r->path;
  switch (fg_form_get(r->body, r->body_len, key, out, cap)) {
    case FG_FORM_ABSENT:
      out[0] = 0;
      if (!required) return 1;
      refuse(a->c, a->srv, a->peer, what, "400 Bad Request", "missing form key '%s'", key);
      return 0;
    case FG_FORM_BAD:
      refuse(a->c, a->srv, a->peer, what, "400 Bad Request",
             "form key '%s': bad encoding or longer than %zu bytes", key, cap - 1);
      return 0;
    case FG_FORM_FOUND:
      break;
  }
  for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
    if (*p < 0x20 || *p == 0x7f || (*p == ' ' && !spaces)) {
      refuse(a->c, a->srv, a->peer, what, "400 Bad Request",
             "form key '%s': control characters%s are not allowed", key,
             spaces ? "" : " and spaces");
      return 0;
    }
  }
  if (required && out[0] == 0) {
    refuse(a->c, a->srv, a->peer, what, "400 Bad Request", "form key '%s' is empty", key);
    return 0;
  }
  return 1;
}

// --- POST /streams/close (id, reason) ---

typedef struct close_arg {
  char id[128];
  char reason[256];
  char peer[64];
} close_arg;

static size_t close_each(fg_server *srv, fg_worker *w, void *arg, fg_text *out) {
  (void)out;
  close_arg *ca = arg;
  worker_state *ws = fg_server_worker_state(srv, w);
  const char *text = ca->reason[0] ? ca->reason : "closed by the operator";
  return (size_t)fg_inbound_close_stream(ws, ca->id, text) +
         (size_t)fg_link_close_stream(ws, ca->id);
}

static void close_done(fg_conn *c, fg_server *srv, void *arg, size_t total, const fg_text *text) {
  (void)text;
  close_arg *ca = arg;
  if (total == 0) {
    refuse(c, srv, ca->peer, "/streams/close", "404 Not Found",
           "no stream with id '%s' (fedgate ctl streams lists them)", ca->id);
    return;
  }
  ok(c, srv, "stream %s closed", ca->id);
}

static void act_close_stream(const action_ctx *a) {
  close_arg *ca = calloc(1, sizeof(*ca));
  if (ca == NULL) {
    refuse(a->c, a->srv, a->peer, a->req->path, "503 Service Unavailable", "out of memory");
    return;
  }
  snprintf(ca->peer, sizeof(ca->peer), "%s", a->peer);
  if (!form_value(a, "id", 1, 0, ca->id, sizeof(ca->id)) ||
      !form_value(a, "reason", 0, 1, ca->reason, sizeof(ca->reason))) {
    free(ca);
    return;
  }
  fg_admin_fanout_start(a->c, a->srv, close_each, close_done, ca);
}

// --- POST /backends/drain and /backends/undrain (name) ---

// backend_address is what `name` selects: backend NAME (every address) or
// NAME/HOST:PORT (one address, as GET /backends writes it).
typedef struct backend_address {
  size_t backend, address;  // address SIZE_MAX: all
  // The same by name (what each worker's links are matched by).
  char backend_name[256], host[256];  // host "": every address
  uint16_t port;
  char label[700];
  char peer[64];
} backend_address;

static void address_text(char *out, size_t cap, const char *host, uint16_t port) {
  snprintf(out, cap, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
}

// find_backend resolves |name| or answers 404 and returns 0.
static int find_backend(const action_ctx *a, const char *name, backend_address *out) {
  const fg_router *r = fg_server_snapshot(a->srv)->router;
  char copy[256];
  snprintf(copy, sizeof(copy), "%s", name);
  char *slash = strchr(copy, '/');
  if (slash != NULL) *slash = 0;
  if (!fg_router_backend_find(r, copy, &out->backend)) {
    fg_text known = {0};
    for (size_t b = 0; b < fg_router_backend_count(r); b++) {
      fg_text_printf(&known, "%s%s", b ? ", " : "", fg_router_backend_name(r, b));
    }
    refuse(a->c, a->srv, a->peer, a->req->path, "404 Not Found",
           "no backend named '%s' (backends: %s)", copy, known.data ? known.data : "none");
    free(known.data);
    return 0;
  }
  out->address = SIZE_MAX;
  snprintf(out->backend_name, sizeof(out->backend_name), "%s", copy);
  snprintf(out->label, sizeof(out->label), "backend %s", copy);
  if (slash == NULL) return 1;
  for (size_t i = 0; i < fg_router_address_count(r, out->backend); i++) {
    const char *host;
    uint16_t port;
    char text[300];
    fg_router_address(r, out->backend, i, &host, &port);
    address_text(text, sizeof(text), host, port);
    if (strcmp(text, slash + 1) != 0) continue;
    out->address = i;
    snprintf(out->host, sizeof(out->host), "%s", host);
    out->port = port;
    snprintf(out->label, sizeof(out->label), "backend %s address %s", copy, text);
    return 1;
  }
  refuse(a->c, a->srv, a->peer, a->req->path, "404 Not Found",
         "backend '%s' has no address '%s' (GET /backends lists them)", copy, slash + 1);
  return 0;
}

static size_t drain_each(fg_server *srv, fg_worker *w, void *arg, fg_text *out) {
  (void)out;
  backend_address *ba = arg;
  return fg_link_drain_backend(fg_server_worker_state(srv, w), ba->backend_name,
                               ba->host[0] ? ba->host : NULL, ba->port);
}

static void drain_done(fg_conn *c, fg_server *srv, void *arg, size_t total, const fg_text *text) {
  (void)text;
  backend_address *ba = arg;
  ok(c, srv, "%s drained; %zu hop stream%s closing once flushed", ba->label, total,
     total == 1 ? "" : "s");
}

static void set_drained(const action_ctx *a, int drained) {
  char name[256];
  if (!form_value(a, "name", 1, 0, name, sizeof(name))) return;
  backend_address *ba = calloc(1, sizeof(*ba));
  if (ba == NULL) {
    refuse(a->c, a->srv, a->peer, a->req->path, "503 Service Unavailable", "out of memory");
    return;
  }
  if (!find_backend(a, name, ba)) {
    free(ba);
    return;
  }
  snprintf(ba->peer, sizeof(ba->peer), "%s", a->peer);
  // Kept across reloads (gateway/server/reload.h).
  fg_reload_set_drained(a->srv, fg_server_snapshot(a->srv)->router, ba->backend, ba->address,
                        drained);
  fg_log(FG_LOG_SEV_WARN, NULL, a->peer, "%s %s by the operator", ba->label,
         drained ? "drained: no new stanzas go there" : "undrained");
  if (!drained) {
    ok(a->c, a->srv, "%s undrained", ba->label);
    free(ba);
    return;
  }
  fg_admin_fanout_start(a->c, a->srv, drain_each, drain_done, ba);
}

static void act_drain(const action_ctx *a) {
  set_drained(a, 1);
}

static void act_undrain(const action_ctx *a) {
  set_drained(a, 0);
}

// --- GET /backends ---

static void act_list_backends(const action_ctx *a) {
  const fg_router *r = fg_server_snapshot(a->srv)->router;
  fg_text t = {0};
  for (size_t b = 0; b < fg_router_backend_count(r); b++) {
    for (size_t i = 0; i < fg_router_address_count(r, b); i++) {
      const char *host;
      uint16_t port;
      char text[300];
      fg_router_address(r, b, i, &host, &port);
      address_text(text, sizeof(text), host, port);
      fg_text_printf(&t, "backend=%s address=%s health=%s drain=%s\n", fg_router_backend_name(r, b),
                     text, fg_router_is_up(r, b, i) ? "up" : "down",
                     fg_router_is_drained(r, b, i) ? "drained" : "active");
    }
  }
  fg_admin_reply(a->c, "200 OK", t.data ? t.data : "", t.len);
  free(t.data);
}

// --- POST /reload, /domains/add, /domains/remove; GET /domains ---
// (gateway/server/admin_reload.h: they run on a thread of their own)

static void act_reload(const action_ctx *a) {
  fg_admin_reload_post(a->c, a->srv, a->req, a->peer);
}

static void act_list_domains(const action_ctx *a) {
  fg_admin_reload_domains(a->c, a->srv);
}

// kActions: method, path, handler. Later actions (block lists, explain)
// are one line each here.
static const struct admin_action {
  const char *method;
  const char *path;
  void (*run)(const action_ctx *a);
} kActions[] = {
    {"POST", "/streams/close", act_close_stream},
    {"POST", "/backends/drain", act_drain},
    {"POST", "/backends/undrain", act_undrain},
    {"GET", "/backends", act_list_backends},
    {"POST", "/reload", act_reload},
    {"POST", "/domains/add", act_reload},
    {"POST", "/domains/remove", act_reload},
    {"GET", "/domains", act_list_domains},
};

int fg_admin_action_run(fg_conn *c, fg_server *srv, const fg_admin_request *req, const char *peer) {
  for (size_t i = 0; i < sizeof(kActions) / sizeof(kActions[0]); i++) {
    if (strcmp(kActions[i].path, req->path) != 0 || strcmp(kActions[i].method, req->method) != 0) {
      continue;
    }
    action_ctx a = {c, srv, req, ""};
    snprintf(a.peer, sizeof(a.peer), "%s", peer);
    kActions[i].run(&a);
    return 1;
  }
  return 0;
}

void fg_admin_action_refuse_unknown(fg_conn *c, fg_server *srv, const fg_admin_request *req,
                                    const char *peer) {
  fg_text known = {0};
  for (size_t i = 0; i < sizeof(kActions) / sizeof(kActions[0]); i++) {
    if (strcmp(kActions[i].method, "POST") == 0) {
      fg_text_printf(&known, "%s%s", known.len ? ", " : "", kActions[i].path);
    }
  }
  char what[300];
  snprintf(what, sizeof(what), "%s %s", req->method, req->path);
  refuse(c, srv, peer, what, "404 Not Found", "no action %s %s in this build (actions: %s)",
         req->method, req->path, known.data ? known.data : "none");
  free(known.data);
}
