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
#include "gateway/server/blocks.h"
#include "gateway/server/inbound.h"
#include "gateway/server/link_admin.h"
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

// --- POST /blocks/add (domain or jid, reason), /blocks/remove, /blocks/explain; GET /blocks ---

// block_target reads form key "domain" (a domain, *.suffix or a digest) or
// "jid" (a bare JID, listed by its digest) as a block list key; it answers
// 400 and returns 0 when neither is valid.
static int block_target(const action_ctx *a, fg_block_kind *kind, char *key, char *shown,
                        size_t shown_len) {
  char v[FG_BLOCK_KEY_MAX * 3 + 2];
  if (!form_value(a, "jid", 0, 0, v, sizeof(v))) return 0;
  if (v[0]) {
    if (strchr(v, '@') == NULL || strchr(v, '/') != NULL) {
      refuse(a->c, a->srv, a->peer, a->req->path, "400 Bad Request",
             "jid '%s': a bare JID (local@domain) is required", v);
      return 0;
    }
    for (char *p = v; *p; p++) {
      if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    }
    fg_blocklist_jid_digest(v, key);
    *kind = FG_BLOCK_JID_SHA256;
    snprintf(shown, shown_len, "%s (sha256 %s)", v, key);
    return 1;
  }
  if (!form_value(a, "domain", 1, 0, v, sizeof(v))) return 0;
  const char *why = NULL;
  if (!fg_block_parse_key(v, kind, key, &why)) {
    refuse(a->c, a->srv, a->peer, a->req->path, "400 Bad Request", "'%s': %s", v,
           why ? why : "not a domain, *.suffix or SHA-256 digest");
    return 0;
  }
  snprintf(shown, shown_len, "%s%s", *kind == FG_BLOCK_DOMAIN_SUFFIX ? "*." : "", key);
  return 1;
}

static void act_block(const action_ctx *a) {
  fg_block_kind kind;
  char key[FG_BLOCK_KEY_MAX + 1], shown[800], reason[FG_BLOCK_REASON_MAX + 1];
  if (!block_target(a, &kind, key, shown, sizeof(shown)) ||
      !form_value(a, "reason", 0, 1, reason, sizeof(reason))) {
    return;
  }
  int rc =
      fg_blocklist_add(fg_blocks_list(a->srv->blocks), kind, key, FG_BLOCKS_SOURCE_ADMIN, reason);
  if (rc != 1) {
    refuse(a->c, a->srv, a->peer, a->req->path, "503 Service Unavailable", "%s not blocked: %s",
           shown, rc < 0 ? "out of memory" : "too many sources");
    return;
  }
  fg_log(FG_LOG_SEV_WARN, NULL, a->peer, "%s blocked by the operator%s%s", shown,
         reason[0] ? ": " : "", reason);
  ok(a->c, a->srv, "%s blocked (admin%s%s)%s", shown, reason[0] ? ": " : "", reason,
     kind == FG_BLOCK_JID_SHA256 ? "" : "; open streams from it close within a second");
}

static void act_unblock(const action_ctx *a) {
  fg_block_kind kind;
  char key[FG_BLOCK_KEY_MAX + 1], shown[800];
  if (!block_target(a, &kind, key, shown, sizeof(shown))) return;
  int rc = fg_blocklist_remove(fg_blocks_list(a->srv->blocks), kind, key, FG_BLOCKS_SOURCE_ADMIN);
  if (rc == 0) {
    refuse(a->c, a->srv, a->peer, a->req->path, "404 Not Found",
           "%s is not on the admin block list (fedgate ctl list blocks shows every list)", shown);
    return;
  }
  if (rc < 0) {
    refuse(a->c, a->srv, a->peer, a->req->path, "503 Service Unavailable", "out of memory");
    return;
  }
  fg_log(FG_LOG_SEV_WARN, NULL, a->peer, "%s unblocked by the operator", shown);
  char why[300];
  int still = kind != FG_BLOCK_JID_SHA256 &&
              fg_blocks_domain_refused(a->srv->blocks, key, why, sizeof(why));
  ok(a->c, a->srv, "%s unblocked%s%s%s", shown, still ? " on the admin list; still refused (" : "",
     still ? why : "", still ? ")" : "");
}

// act_explain answers one line, "D: blocked (WHY)" or "D: allowed".
static void act_explain(const action_ctx *a) {
  char v[FG_BLOCK_KEY_MAX * 3 + 2], why[300] = "";
  if (!form_value(a, "domain", 1, 0, v, sizeof(v))) return;
  int blocked;
  if (strchr(v, '@') != NULL) {
    char bare[sizeof(v)];
    size_t n = strcspn(v, "/");
    snprintf(bare, sizeof(bare), "%.*s", (int)n, v);
    char domain[FG_BLOCK_KEY_MAX + 1];
    fg_block_kind kind;
    const char *err = NULL;
    blocked = fg_blocks_sender_refused(a->srv->blocks, (const uint8_t *)bare, n, why, sizeof(why));
    if (!blocked && fg_block_parse_key(strchr(bare, '@') + 1, &kind, domain, &err) &&
        kind == FG_BLOCK_DOMAIN) {
      blocked = fg_blocks_domain_refused(a->srv->blocks, domain, why, sizeof(why));
    }
  } else {
    fg_block_kind kind;
    char key[FG_BLOCK_KEY_MAX + 1];
    const char *err = NULL;
    if (!fg_block_parse_key(v, &kind, key, &err) || kind != FG_BLOCK_DOMAIN) {
      refuse(a->c, a->srv, a->peer, a->req->path, "400 Bad Request",
             "'%s': a domain or a JID is required%s%s", v, err ? ": " : "", err ? err : "");
      return;
    }
    blocked = fg_blocks_domain_refused(a->srv->blocks, key, why, sizeof(why));
  }
  char line[700];
  int n = blocked ? snprintf(line, sizeof(line), "%s: blocked (%s)\n", v, why)
                  : snprintf(line, sizeof(line), "%s: allowed\n", v);
  fg_admin_reply(a->c, "200 OK", line, n > 0 && (size_t)n < sizeof(line) ? (size_t)n : 0);
}

typedef struct list_ctx {
  fg_text *t;
  const char *list;
} list_ctx;

static int list_one(const fg_block_match *m, void *arg) {
  list_ctx *lc = arg;
  static const char *const kKinds[] = {"domain", "suffix", "jid-sha256"};
  fg_text_printf(lc->t, "list=%s source=%s kind=%s key=%s reason=%s\n", lc->list, m->source,
                 kKinds[m->kind], m->key, m->reason[0] ? m->reason : "-");
  return 1;
}

static void act_list_blocks(const action_ctx *a) {
  fg_text t = {0};
  list_ctx lc = {&t, "block"};
  fg_blocklist_each(fg_blocks_list(a->srv->blocks), list_one, &lc);
  lc.list = "allow";
  fg_blocklist_each(fg_blocks_allow_list(a->srv->blocks), list_one, &lc);
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

// kActions: method, path, handler.
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
    {"POST", "/blocks/add", act_block},
    {"POST", "/blocks/remove", act_unblock},
    {"POST", "/blocks/explain", act_explain},
    {"GET", "/blocks", act_list_blocks},
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
