// admin_reload.c: POST /reload, /domains/add, /domains/remove and GET
// /domains (see admin_reload.h). The request's form is read on the worker
// owning the connection; the change runs on a thread of its own; its answer
// goes back through gateway/server/admin_pending.h.
#include "gateway/server/admin_reload.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/server/admin_form.h"
#include "gateway/server/admin_pending.h"
#include "gateway/server/admin_reply.h"
#include "gateway/server/log.h"
#include "gateway/server/reload.h"

enum { kValueMax = 4096 };

typedef enum change_kind { CHANGE_RELOAD, CHANGE_DOMAIN_ADD, CHANGE_DOMAIN_REMOVE } change_kind;

typedef struct change {
  fg_server *srv;
  fg_admin_pending *pending;
  change_kind kind;
  char path[kValueMax], domain[kValueMax], backend[kValueMax], cert[kValueMax], key[kValueMax];
  char peer[64];
  fg_reload_result result;
  int ok;
} change;

static void answer(fg_conn *c, fg_server *srv, void *arg) {
  change *ch = arg;
  const fg_reload_result *r = &ch->result;
  fg_metrics_inc(&srv->metrics, ch->ok ? FG_M_ADMIN_ACTIONS_OK : FG_M_ADMIN_ACTIONS_REFUSED);
  if (c != NULL) {
    const char *status = ch->ok                                   ? "200 OK"
                         : r->outcome == FG_RELOAD_RESTART_NEEDED ? "409 Conflict"
                                                                  : "422 Unprocessable Entity";
    fg_text body = {0};
    if (ch->ok) {
      fg_text_printf(&body, "ok: generation %llu\n", (unsigned long long)r->generation);
    } else {
      fg_text_printf(&body,
                     "error: refused, the running configuration is unchanged (generation %llu)\n",
                     (unsigned long long)r->generation);
    }
    if (r->diagnostics.len > 0) fg_text_printf(&body, "%s", r->diagnostics.data);
    fg_admin_reply(c, status, body.data, body.len);
    free(body.data);
  }
  fg_reload_result_cleanup(&ch->result);
  free(ch);
}

static void *run(void *arg) {
  change *ch = arg;
  fg_server *srv = ch->srv;
  switch (ch->kind) {
    case CHANGE_RELOAD:
      ch->ok = fg_server_reload(srv, ch->path[0] ? ch->path : NULL, &ch->result);
      break;
    case CHANGE_DOMAIN_ADD:
      ch->ok = fg_server_domain_add(srv, ch->domain, ch->backend, ch->cert[0] ? ch->cert : NULL,
                                    ch->key[0] ? ch->key : NULL, &ch->result);
      break;
    case CHANGE_DOMAIN_REMOVE:
      ch->ok = fg_server_domain_remove(srv, ch->domain, &ch->result);
      break;
  }
  // The outcome is logged once by the reload itself, with the diagnostics.
  fg_admin_pending_answer(ch->pending, answer, ch);
  atomic_fetch_sub(&srv->admin_threads, 1);  // fg_server_stop waits for this
  return NULL;
}

static void refuse(fg_conn *c, fg_server *srv, const char *peer, const char *what,
                   const char *status, const char *why) {
  fg_metrics_inc(&srv->metrics, FG_M_ADMIN_ACTIONS_REFUSED);
  fg_log(FG_LOG_SEV_WARN, NULL, peer, "admin %s refused: %s", what, why);
  fg_admin_replyf(c, status, "error: %s\n", why);
}

// read_key reads form key |key| of |req| into |out|; a missing key that
// |required| names is refused with 400.
static int read_key(fg_conn *c, fg_server *srv, const fg_admin_request *req, const char *peer,
                    const char *key, int required, char *out) {
  char why[128];
  switch (fg_form_get(req->body, req->body_len, key, out, kValueMax)) {
    case FG_FORM_FOUND:
      if (out[0] != 0 || !required) return 1;
      break;
    case FG_FORM_ABSENT:
      out[0] = 0;
      if (!required) return 1;
      break;
    case FG_FORM_BAD:
      snprintf(why, sizeof(why), "form key '%s': bad encoding or too long", key);
      refuse(c, srv, peer, req->path, "400 Bad Request", why);
      return 0;
  }
  snprintf(why, sizeof(why), "missing form key '%s'", key);
  refuse(c, srv, peer, req->path, "400 Bad Request", why);
  return 0;
}

void fg_admin_reload_post(fg_conn *c, fg_server *srv, const fg_admin_request *req,
                          const char *peer) {
  change *ch = calloc(1, sizeof(*ch));
  if (ch == NULL) {
    refuse(c, srv, peer, req->path, "503 Service Unavailable", "out of memory");
    return;
  }
  ch->srv = srv;
  snprintf(ch->peer, sizeof(ch->peer), "%s", peer);
  int add = strcmp(req->path, "/domains/add") == 0;
  ch->kind = strcmp(req->path, "/reload") == 0 ? CHANGE_RELOAD
             : add                             ? CHANGE_DOMAIN_ADD
                                               : CHANGE_DOMAIN_REMOVE;
  int read = ch->kind == CHANGE_RELOAD
                 ? read_key(c, srv, req, peer, "path", 0, ch->path)
                 : read_key(c, srv, req, peer, "domain", 1, ch->domain) &&
                       (!add || (read_key(c, srv, req, peer, "backend", 1, ch->backend) &&
                                 read_key(c, srv, req, peer, "cert", 0, ch->cert) &&
                                 read_key(c, srv, req, peer, "key", 0, ch->key)));
  if (!read) {
    free(ch);
    return;
  }
  // Counted before the stop flag is read; fg_server_stop sets the flag
  // before it reads the count: one of the two always sees the other.
  atomic_fetch_add(&srv->admin_threads, 1);
  if (atomic_load(&srv->stopping)) {
    atomic_fetch_sub(&srv->admin_threads, 1);
    free(ch);
    refuse(c, srv, peer, req->path, "503 Service Unavailable", "the gateway is stopping");
    return;
  }
  ch->pending = fg_admin_pending_new(c, srv);
  if (ch->pending == NULL) {  // answered 503
    atomic_fetch_sub(&srv->admin_threads, 1);
    free(ch);
    return;
  }
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&t, &attr, run, ch);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    ch->ok = 0;
    ch->result.outcome = FG_RELOAD_INVALID;
    fg_text_printf(&ch->result.diagnostics, "cannot start a thread for the reload\n");
    fg_admin_pending_answer(ch->pending, answer, ch);
    atomic_fetch_sub(&srv->admin_threads, 1);
  }
}

void fg_admin_reload_domains(fg_conn *c, fg_server *srv) {
  fg_text text = {0};
  fg_reload_describe_domains(srv, &text);
  fg_admin_reply(c, "200 OK", text.data ? text.data : "", text.len);
  free(text.data);
}
