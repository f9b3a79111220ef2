// admin_actions.c: POST /reload, /domains/add and /domains/remove on the
// admin endpoint (see admin_actions.h). The request is parsed on the worker
// that owns the connection; the change runs on a thread of its own; the
// answer is posted back to that worker, which alone touches the connection.
#include "gateway/server/admin_actions.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/server/admin_reply.h"
#include "gateway/server/log.h"
#include "gateway/server/reload.h"
#include "gateway/server/server_internal.h"

static const uint32_t kActionMagic = 0xac710a5e;

enum { kMaxRequest = 16384, kMaxValue = 4096 };

typedef enum action_kind { ACTION_RELOAD, ACTION_DOMAIN_ADD, ACTION_DOMAIN_REMOVE } action_kind;

typedef struct action {
  uint32_t magic;  // kActionMagic: the admin connection's argument meanwhile
  fg_msg msg;      // the answer, posted back to |origin|
  fg_conn *conn;   // NULL once the client went away
  fg_worker *origin;
  fg_server *srv;
  action_kind kind;
  char path[kMaxValue], domain[kMaxValue], backend[kMaxValue], cert[kMaxValue], key[kMaxValue];
  fg_reload_result result;
  int done_ok;
} action;

int fg_admin_action_pending(const void *arg) {
  return arg != NULL && *(const uint32_t *)arg == kActionMagic;
}

void fg_admin_action_closed(fg_conn *c) {
  action *a = fg_conn_arg(c);
  if (fg_admin_action_pending(a)) a->conn = NULL;
}

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  ch = tolower(ch);
  return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

// form_value finds |key| in the form-encoded |in| (|n| bytes) and decodes
// its value into |out|. It returns 1 when found and it fits.
static int form_value(const char *in, size_t n, const char *key, char *out, size_t cap) {
  size_t klen = strlen(key);
  for (size_t i = 0; i < n;) {
    size_t end = i;
    while (end < n && in[end] != '&') end++;
    if (end - i > klen && memcmp(in + i, key, klen) == 0 && in[i + klen] == '=') {
      size_t o = 0;
      for (size_t j = i + klen + 1; j < end; j++) {
        int ch = (unsigned char)in[j];
        if (ch == '+') {
          ch = ' ';
        } else if (ch == '%' && j + 2 < end + 1 && hexval(in[j + 1]) >= 0 &&
                   hexval(in[j + 2]) >= 0) {
          ch = hexval(in[j + 1]) * 16 + hexval(in[j + 2]);
          j += 2;
        }
        if (ch == 0 || o + 1 >= cap) return 0;
        out[o++] = (char)ch;
      }
      out[o] = 0;
      return 1;
    }
    i = end + 1;
  }
  return 0;
}

// content_length reads the Content-Length header of |head|, or 0.
static size_t content_length(const char *head, size_t n) {
  static const char kName[] = "\ncontent-length:";
  for (size_t i = 0; i + sizeof(kName) - 1 < n; i++) {
    if (strncasecmp(head + i, kName, sizeof(kName) - 1) == 0) {
      return (size_t)strtoul(head + i + sizeof(kName) - 1, NULL, 10);
    }
  }
  return 0;
}

static void answer(fg_worker *w, fg_msg *m) {
  (void)w;
  action *a = (action *)((char *)m - offsetof(action, msg));
  if (a->conn != NULL) {
    fg_conn_set_arg(a->conn, &a->srv->listener_arg);
    const fg_reload_result *r = &a->result;
    const char *status = a->done_ok                               ? "200 OK"
                         : r->outcome == FG_RELOAD_RESTART_NEEDED ? "409 Conflict"
                                                                  : "422 Unprocessable Entity";
    fg_text body = {0};
    fg_text_printf(&body, "%s generation=%llu\n",
                   a->done_ok ? "ok" : "refused: the running configuration is unchanged;",
                   (unsigned long long)r->generation);
    if (r->diagnostics.len > 0) fg_text_printf(&body, "%s", r->diagnostics.data);
    fg_admin_reply(a->conn, status, body.data, body.len);
    free(body.data);
  }
  fg_reload_result_cleanup(&a->result);
  free(a);
}

static void *run(void *arg) {
  action *a = arg;
  switch (a->kind) {
    case ACTION_RELOAD:
      a->done_ok = fg_server_reload(a->srv, a->path[0] ? a->path : NULL, &a->result);
      break;
    case ACTION_DOMAIN_ADD:
      a->done_ok = fg_server_domain_add(a->srv, a->domain, a->backend, a->cert[0] ? a->cert : NULL,
                                        a->key[0] ? a->key : NULL, &a->result);
      break;
    case ACTION_DOMAIN_REMOVE:
      a->done_ok = fg_server_domain_remove(a->srv, a->domain, &a->result);
      break;
  }
  a->msg.fn = answer;
  fg_server *srv = a->srv;
  fg_worker_post(a->origin, &a->msg);
  atomic_fetch_sub(&srv->admin_actions, 1);  // fg_server_stop waits for this
  return NULL;
}

static size_t refuse(fg_conn *c, const char *status, const char *why, size_t len) {
  fg_admin_reply(c, status, why, strlen(why));
  return len;
}

size_t fg_admin_action(fg_conn *c, fg_server *srv, const uint8_t *data, size_t len) {
  const char *req = (const char *)data;
  const char *end = memmem(req, len, "\r\n\r\n", 4);
  size_t head_len = end != NULL ? (size_t)(end - req) + 4 : 0;
  if (end == NULL) {
    return len > kMaxRequest ? refuse(c, "413 Payload Too Large", "request too large\n", len) : 0;
  }
  size_t body_len = content_length(req, head_len);
  if (body_len > kMaxRequest) return refuse(c, "413 Payload Too Large", "body too large\n", len);
  if (len < head_len + body_len) return 0;
  // The request line: POST TARGET HTTP/1.1, TARGET = PATH[?QUERY].
  const char *target = req + 5;
  size_t tlen = strcspn(target, " \r\n");
  size_t plen = strcspn(target, "? \r\n");
  const char *query = plen < tlen ? target + plen + 1 : "";
  size_t qlen = plen < tlen ? tlen - plen - 1 : 0;
  action *a = calloc(1, sizeof(*a));
  if (a == NULL) return refuse(c, "503 Service Unavailable", "out of memory\n", len);
  if (plen == 7 && memcmp(target, "/reload", 7) == 0) {
    a->kind = ACTION_RELOAD;
  } else if (plen == 12 && memcmp(target, "/domains/add", 12) == 0) {
    a->kind = ACTION_DOMAIN_ADD;
  } else if (plen == 15 && memcmp(target, "/domains/remove", 15) == 0) {
    a->kind = ACTION_DOMAIN_REMOVE;
  } else {
    free(a);
    return refuse(c, "404 Not Found", "try POST /reload, /domains/add or /domains/remove\n", len);
  }
  // Each parameter from the query string, else from the form body.
  const char *body = req + head_len;
  struct {
    const char *key;
    char *out;
  } params[] = {{"path", a->path},
                {"domain", a->domain},
                {"backend", a->backend},
                {"cert", a->cert},
                {"key", a->key}};
  for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
    if (!form_value(query, qlen, params[i].key, params[i].out, kMaxValue)) {
      form_value(body, body_len, params[i].key, params[i].out, kMaxValue);
    }
  }
  const char *missing = NULL;
  if (a->kind != ACTION_RELOAD && a->domain[0] == 0) missing = "domain=";
  if (a->kind == ACTION_DOMAIN_ADD && a->backend[0] == 0) missing = "backend=";
  if (missing != NULL) {
    char why[80];
    snprintf(why, sizeof(why), "missing parameter %s\n", missing);
    fg_log(FG_LOG_SEV_WARN, NULL, NULL, "admin: POST %.*s refused: missing parameter %s", (int)plen,
           target, missing);
    free(a);
    return refuse(c, "400 Bad Request", why, len);
  }
  a->magic = kActionMagic;
  a->conn = c;
  a->origin = fg_conn_worker(c);
  a->srv = srv;
  fg_conn_set_arg(c, a);
  // Counted before the stop flag is read; fg_server_stop sets the flag
  // before it reads the count: one of the two always sees the other.
  atomic_fetch_add(&srv->admin_actions, 1);
  if (atomic_load(&srv->stopping)) {
    atomic_fetch_sub(&srv->admin_actions, 1);
    fg_conn_set_arg(c, &srv->listener_arg);
    free(a);
    return refuse(c, "503 Service Unavailable", "the gateway is stopping\n", len);
  }
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&t, &attr, run, a);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    atomic_fetch_sub(&srv->admin_actions, 1);
    fg_conn_set_arg(c, &srv->listener_arg);
    free(a);
    return refuse(c, "503 Service Unavailable", "cannot start the reload\n", len);
  }
  return len;
}
