// http_client.c: HTTP/1.1 requests on the workers. See http_client.h for
// the contract and docs/runtime.md for the behaviour.
//
// Shape: a request is started by a message to its own worker (so that no
// callback ever runs inside fg_http_get), then takes a kept connection for
// its (host, port) or resolves the host (io/dns, answer posted back to the
// worker) and connects to each address in turn. One request at a time per
// connection, no pipelining. A response that leaves the connection
// persistent (RFC 9112 §9.3) returns it to its worker's idle list, where the
// connection's idle timeout closes it after idle_timeout_ms.
#include "io/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/conn.h"
#include "io/http_response.h"
#include "io/https_verify.h"

#define MAX_ADDRS 8
#define MAX_URL 2300

typedef struct hconn hconn;

// wstate is one worker's part of the client: its idle connections and counters.
typedef struct wstate {
  fg_http_client *hc;
  hconn *idle;  // most recently used first
  fg_http_client_stats st;
} wstate;

struct fg_http_client {
  fg_http_client_config cfg;
  fg_cidr *nets;
  fg_tls_ctx *tls;  // https:// (NULL: refused)
  unsigned n_workers;
  wstate ws[];
};

struct hconn {
  wstate *ws;
  fg_conn *conn;
  fg_http_request *req;  // NULL while idle
  hconn *prev, *next;    // idle list
  char host[FG_DNS_NAME_MAX + 1];
  uint16_t port;
  int https;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  int opened, idle;
  unsigned uses;         // requests before the current one
  fg_https_check check;  // why the server's certificate was refused
};

typedef struct dns_ask {
  fg_msg msg;
  fg_worker *w;
  fg_http_request *req;  // NULL once the request went away (worker thread only)
  fg_dns_status status;
  char reason[200];
  size_t n;
  struct sockaddr_storage addrs[MAX_ADDRS];
  socklen_t lens[MAX_ADDRS];
} dns_ask;

struct fg_http_request {
  fg_msg msg;  // the start message
  fg_http_client *hc;
  wstate *ws;
  fg_worker *w;
  fg_http_cb cb;
  void *arg;
  fg_http_options opts;
  int started, cancelled, retried, is_post;
  int reused;  // the current attempt is on a kept connection
  fg_http_error url_err;
  char why[200];
  fg_http_url url;
  uint8_t *wire;  // the request as sent
  size_t wire_len;
  fg_timer deadline;
  dns_ask *ask;
  hconn *conn;
  struct sockaddr_storage addrs[MAX_ADDRS];
  socklen_t lens[MAX_ADDRS];
  size_t n_addrs, next_addr;
  enum fg_close_reason last_close;
  char tls_why[300];  // the last refused server certificate, for the result
  fg_http_response resp;
};

const char *fg_http_error_name(fg_http_error e) {
  static const char *const kNames[] = {
      "ok",        "bad-url",         "scheme-not-supported",
      "resolve",   "address-refused", "connect",
      "timeout",   "closed",          "protocol",
      "too-large", "shutdown",        "tls",
  };
  if ((size_t)e >= sizeof(kNames) / sizeof(kNames[0])) return "unknown";
  return kNames[e];
}

static void setf(char *out, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out, cap, fmt, ap);
  va_end(ap);
}

// --- URLs ---

static fg_http_error url_fail(char *why, size_t why_len, fg_http_error e, const char *text) {
  setf(why, why_len, "%s", text);
  return e;
}

static int parse_port(const char *s, size_t n, uint16_t *out) {
  if (n == 0) return 1;  // RFC 3986 §3.2.3: an empty port is the default
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9' || (v = v * 10 + (unsigned)(s[i] - '0')) > 65535) return 0;
  }
  if (v == 0) return 0;
  *out = (uint16_t)v;
  return 1;
}

// parse_host fills |out|'s host (and address when numeric) from |s|[0..n).
static int parse_host(fg_http_url *out, const char *s, size_t n, int bracketed) {
  if (n == 0 || n > FG_DNS_NAME_MAX) return 0;
  memcpy(out->host, s, n);
  out->host[n] = 0;
  struct sockaddr_in *s4 = (struct sockaddr_in *)&out->addr;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->addr;
  if (bracketed) {
    if (inet_pton(AF_INET6, out->host, &s6->sin6_addr) != 1) return 0;
    s6->sin6_family = AF_INET6;
    out->addr_len = sizeof(*s6);
    out->numeric = 1;
    return 1;
  }
  if (inet_pton(AF_INET, out->host, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    out->addr_len = sizeof(*s4);
    out->numeric = 1;
    return 1;
  }
  if (!fg_dns_name_valid(out->host, n)) return 0;
  if (out->host[n - 1] == '.') out->host[n - 1] = 0;
  for (char *p = out->host; *p; p++) {
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
  }
  return 1;
}

fg_http_error fg_http_url_parse(fg_http_url *out, const char *url, char *why, size_t why_len) {
  memset(out, 0, sizeof(*out));
  size_t len = strnlen(url, MAX_URL + 1);
  if (len > MAX_URL) return url_fail(why, why_len, FG_HTTP_ERR_URL, "URL too long");
  const char *sep = strstr(url, "://");
  if (sep == NULL) return url_fail(why, why_len, FG_HTTP_ERR_URL, "not an absolute URL");
  out->https = sep - url == 5 && strncasecmp(url, "https", 5) == 0;
  if (!out->https && (sep - url != 4 || strncasecmp(url, "http", 4) != 0)) {
    setf(why, why_len, "scheme %.*s:// not supported: only http:// and https://",
         (int)(sep - url < 16 ? sep - url : 16), url);
    return FG_HTTP_ERR_SCHEME;
  }
  for (size_t i = 0; i < len; i++) {
    // Printable ASCII only: nothing can break out of the request line.
    if ((uint8_t)url[i] <= 0x20 || (uint8_t)url[i] >= 0x7f) {
      return url_fail(why, why_len, FG_HTTP_ERR_URL,
                      "URL holds a space, control or non-ASCII byte");
    }
  }
  const char *a = sep + 3, *ae = a;
  while (*ae && *ae != '/' && *ae != '?' && *ae != '#') ae++;
  if (memchr(a, '@', (size_t)(ae - a)) != NULL) {
    return url_fail(why, why_len, FG_HTTP_ERR_URL, "user information in a URL is refused");
  }
  out->port = out->https ? 443 : 80;
  const char *hs = a, *he, *ps = NULL;
  int bracketed = *a == '[';
  if (bracketed) {
    const char *rb = memchr(a, ']', (size_t)(ae - a));
    if (rb == NULL) return url_fail(why, why_len, FG_HTTP_ERR_URL, "unclosed [ in host");
    hs = a + 1;
    he = rb;
    if (rb + 1 < ae && rb[1] != ':') return url_fail(why, why_len, FG_HTTP_ERR_URL, "bad host");
    if (rb + 1 < ae) ps = rb + 2;
  } else {
    he = memchr(a, ':', (size_t)(ae - a));
    if (he != NULL) {
      ps = he + 1;
    } else {
      he = ae;
    }
  }
  if (!parse_host(out, hs, (size_t)(he - hs), bracketed)) {
    return url_fail(why, why_len, FG_HTTP_ERR_URL, "bad host");
  }
  if (ps != NULL && !parse_port(ps, (size_t)(ae - ps), &out->port)) {
    return url_fail(why, why_len, FG_HTTP_ERR_URL, "bad port");
  }
  if (out->https && out->numeric) {
    // The server's certificate is checked for a host name (a DNS-ID).
    return url_fail(why, why_len, FG_HTTP_ERR_URL, "https:// needs a host name, not an address");
  }
  if (out->numeric) {
    if (out->addr.ss_family == AF_INET) {
      ((struct sockaddr_in *)&out->addr)->sin_port = htons(out->port);
    } else {
      ((struct sockaddr_in6 *)&out->addr)->sin6_port = htons(out->port);
    }
  }
  const char *te = strchr(ae, '#');  // the fragment stays with the client
  size_t tl = te ? (size_t)(te - ae) : strlen(ae);
  if (tl + 2 > sizeof(out->target)) return url_fail(why, why_len, FG_HTTP_ERR_URL, "path too long");
  setf(out->target, sizeof(out->target), "%s%.*s", *ae == '/' ? "" : "/", (int)tl, ae);
  why[0] = 0;
  return FG_HTTP_OK;
}

// --- the client ---

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (p == NULL) abort();  // out of memory is the only fatal error
  return p;
}

fg_http_client *fg_http_client_new(fg_runtime *rt, const fg_http_client_config *cfg) {
  unsigned n = fg_runtime_num_workers(rt);
  fg_http_client *hc = xcalloc(1, sizeof(*hc) + n * sizeof(wstate));
  if (cfg != NULL) hc->cfg = *cfg;
  if (hc->cfg.idle_timeout_ms == 0) hc->cfg.idle_timeout_ms = 30000;
  if (hc->cfg.max_idle_per_host == 0) hc->cfg.max_idle_per_host = 2;
  hc->nets = xcalloc(hc->cfg.n_allowed_networks, sizeof(fg_cidr));
  if (hc->cfg.n_allowed_networks > 0) {
    memcpy(hc->nets, hc->cfg.allowed_networks, hc->cfg.n_allowed_networks * sizeof(fg_cidr));
  }
  hc->cfg.allowed_networks = hc->nets;
  if (hc->cfg.https_trust != NULL) {
    hc->tls = fg_https_ctx_new(hc->cfg.https_trust);
    if (hc->tls == NULL) abort();  // only allocation fails here
  }
  hc->n_workers = n;
  for (unsigned i = 0; i < hc->n_workers; i++) hc->ws[i].hc = hc;
  return hc;
}

void fg_http_client_free(fg_http_client *hc) {
  if (hc == NULL) return;
  fg_tls_ctx_free(hc->tls);
  free(hc->nets);
  free(hc);
}

void fg_http_client_stats_get(const fg_http_client *hc, fg_http_client_stats *out) {
  memset(out, 0, sizeof(*out));
  for (unsigned i = 0; i < hc->n_workers; i++) {
    const fg_http_client_stats *s = &hc->ws[i].st;
    out->requests += s->requests;
    out->connections += s->connections;
    out->reused += s->reused;
    out->retries += s->retries;
    out->idle_closed += s->idle_closed;
  }
}

static int address_allowed(const fg_http_client *hc, const struct sockaddr *sa) {
  if (hc->cfg.allow_special || fg_addr_special_purpose(sa) == NULL) return 1;
  for (size_t i = 0; i < hc->cfg.n_allowed_networks; i++) {
    if (fg_cidr_contains(&hc->nets[i], sa)) return 1;
  }
  return 0;
}

// --- idle connections ---

static void idle_unlink(hconn *h) {
  if (h->prev) h->prev->next = h->next;
  if (h->next) h->next->prev = h->prev;
  if (h->ws->idle == h) h->ws->idle = h->next;
  h->prev = h->next = NULL;
  h->idle = 0;
}

// idle_put keeps |h| for a later request; it returns 0 when the host already
// has its share of idle connections or the worker is stopping.
static int idle_put(hconn *h) {
  wstate *ws = h->ws;
  if (fg_worker_stopping(fg_conn_worker(h->conn))) return 0;
  unsigned same = 0;
  for (hconn *o = ws->idle; o != NULL; o = o->next) {
    if (o->port == h->port && o->https == h->https && strcmp(o->host, h->host) == 0) same++;
  }
  if (same >= ws->hc->cfg.max_idle_per_host) return 0;
  h->idle = 1;
  h->next = ws->idle;
  if (ws->idle) ws->idle->prev = h;
  ws->idle = h;
  fg_conn_set_idle_timeout(h->conn, ws->hc->cfg.idle_timeout_ms);
  return 1;
}

static hconn *idle_take(wstate *ws, const char *host, uint16_t port, int https) {
  for (hconn *h = ws->idle; h != NULL; h = h->next) {
    if (h->port != port || h->https != https || strcmp(h->host, host) != 0) continue;
    idle_unlink(h);
    fg_conn_set_idle_timeout(h->conn, 0);
    h->uses++;
    return h;
  }
  return NULL;
}

// --- requests ---

static void request_free(fg_http_request *req) {
  fg_http_response_cleanup(&req->resp);
  free(req->wire);
  free(req);
}

// detach lets go of everything |req| waits on: its deadline, its lookup, its
// connection (closed at once: a response may be under way on it).
static void detach(fg_http_request *req) {
  fg_worker_timer_cancel(req->w, &req->deadline);
  if (req->ask != NULL) {
    req->ask->req = NULL;
    req->ask = NULL;
  }
  hconn *h = req->conn;
  if (h != NULL) {
    req->conn = NULL;
    h->req = NULL;
    fg_conn_abort(h->conn, FG_CLOSE_LOCAL);
  }
}

static void copy_field(const fg_http_response *r, const char *name, char *out, size_t cap) {
  size_t len;
  const char *v = fg_http_response_field(r, name, &len);
  setf(out, cap, "%.*s", v ? (int)(len < cap ? len : cap - 1) : 0, v ? v : "");
}

// complete ends |req| with |err| and runs its callback.
static void complete(fg_http_request *req, fg_http_error err, const char *fmt, ...) {
  detach(req);
  fg_http_result res = {
      .error = err, .body = (const uint8_t *)"", .content_type = "", .location = ""};
  char ctype[128], location[1024];
  if (err == FG_HTTP_OK) {
    res.status = fg_http_response_code(&req->resp);
    const uint8_t *body = fg_http_response_body(&req->resp, &res.body_len);
    if (body != NULL) res.body = body;
    copy_field(&req->resp, "content-type", ctype, sizeof(ctype));
    copy_field(&req->resp, "location", location, sizeof(location));
    res.content_type = ctype;
    res.location = location;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(res.text, sizeof(res.text), fmt, ap);
  va_end(ap);
  res.reused = req->reused;
  req->cb(req->arg, &res);
  request_free(req);
}

static const fg_conn_handler kHandler;

static void response_reset(fg_http_request *req) {
  fg_http_response_cleanup(&req->resp);
  fg_http_response_limits lim = {.max_body = req->opts.max_response};
  fg_http_response_init(&req->resp, &lim, 0);
}

static void attach(fg_http_request *req, hconn *h) {
  req->conn = h;
  h->req = req;
  response_reset(req);
}

static uint64_t remaining_ms(const fg_http_request *req) {
  uint64_t now = fg_worker_now_ns(req->w);
  uint64_t dl = req->deadline.deadline_ns;
  return dl > now ? (dl - now) / 1000000 + 1 : 1;
}

// connect_to opens a fresh connection to |addr| for |req|. It returns 0 when
// no socket could be made.
static int connect_to(fg_http_request *req, const struct sockaddr_storage *addr, socklen_t len) {
  hconn *h = xcalloc(1, sizeof(*h));
  h->ws = req->ws;
  setf(h->host, sizeof(h->host), "%s", req->url.host);
  h->port = req->url.port;
  h->https = req->url.https;
  memcpy(&h->addr, addr, sizeof(h->addr));
  h->addr_len = len;
  uint64_t ms = remaining_ms(req);
  fg_connect_config cc = {
      .addr = (const struct sockaddr *)&h->addr,
      .addr_len = len,
      .handler = &kHandler,
      .arg = h,
      .timeout_ms =
          (unsigned)(ms < req->opts.connect_timeout_ms ? ms : req->opts.connect_timeout_ms)};
  if (h->https) {
    cc.tls = req->hc->tls;
    cc.server_name = h->host;  // SNI, and the name the certificate must carry
  }
  h->conn = fg_conn_connect(req->w, &cc);
  if (h->conn == NULL) {
    free(h);
    return 0;
  }
  req->ws->st.connections++;
  attach(req, h);
  return 1;
}

// connect_next tries the next address, or ends |req| when none is left.
static void connect_next(fg_http_request *req) {
  while (req->next_addr < req->n_addrs) {
    size_t i = req->next_addr++;
    if (connect_to(req, &req->addrs[i], req->lens[i])) return;
  }
  if (fg_worker_stopping(req->w)) {
    complete(req, FG_HTTP_ERR_SHUTDOWN, "worker stopping");
  } else if (req->last_close == FG_CLOSE_TIMEOUT) {
    complete(req, FG_HTTP_ERR_TIMEOUT, "%s:%u: connect timed out", req->url.host, req->url.port);
  } else if (req->last_close == FG_CLOSE_TLS_ERROR) {
    complete(req, FG_HTTP_ERR_TLS, "%s:%u: TLS handshake failed%s%s", req->url.host, req->url.port,
             req->tls_why[0] ? ": " : "", req->tls_why);
  } else {
    complete(req, FG_HTTP_ERR_CONNECT, "%s:%u: connection failed (%zu address%s)", req->url.host,
             req->url.port, req->n_addrs, req->n_addrs == 1 ? "" : "es");
  }
}

static void send_request(hconn *h) {
  // On failure the connection is closed and on_close carries on.
  fg_conn_send(h->conn, h->req->wire, h->req->wire_len);
}

// use_addresses keeps the allowed ones of |n| addresses and connects.
static void use_addresses(fg_http_request *req, const struct sockaddr_storage *addrs,
                          const socklen_t *lens, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!address_allowed(req->hc, (const struct sockaddr *)&addrs[i])) continue;
    memcpy(&req->addrs[req->n_addrs], &addrs[i], sizeof(addrs[i]));
    req->lens[req->n_addrs++] = lens[i];
  }
  if (req->n_addrs == 0) {
    complete(req, FG_HTTP_ERR_ADDRESS_REFUSED,
             "%s: special-purpose address%s refused (RFC 6890; not in the allowed networks)",
             req->url.host, n == 1 ? "" : "es");
    return;
  }
  connect_next(req);
}

static void dns_arrived(fg_worker *w, fg_msg *m) {
  dns_ask *ask = (dns_ask *)m;
  fg_http_request *req = ask->req;
  if (req != NULL) {
    req->ask = NULL;
    if (ask->status != FG_DNS_OK) {
      complete(req, FG_HTTP_ERR_RESOLVE, "%s: %s", fg_dns_status_name(ask->status), ask->reason);
    } else {
      use_addresses(req, ask->addrs, ask->lens, ask->n);
    }
  }
  free(ask);
}

// dns_done runs on a resolver thread: it copies the answer and posts it to
// the request's worker.
static void dns_done(void *arg, fg_dns_result *res) {
  dns_ask *ask = arg;
  ask->status = res->status;
  setf(ask->reason, sizeof(ask->reason), "%s", res->reason);
  for (size_t i = 0; i < res->num_candidates && ask->n < MAX_ADDRS; i++) {
    memcpy(&ask->addrs[ask->n], &res->candidates[i].addr, sizeof(ask->addrs[0]));
    ask->lens[ask->n++] = res->candidates[i].addr_len;
  }
  fg_dns_result_free(res);
  ask->msg.fn = dns_arrived;
  fg_worker_post(ask->w, &ask->msg);
}

static void deadline_passed(fg_timer *t, void *arg) {
  fg_http_request *req = arg;
  complete(req, FG_HTTP_ERR_TIMEOUT, "no complete response within %u ms", req->opts.timeout_ms);
}

static void start(fg_worker *w, fg_msg *m) {
  fg_http_request *req = (fg_http_request *)m;
  req->started = 1;
  if (req->cancelled) {
    request_free(req);
    return;
  }
  fg_timer_init(&req->deadline, deadline_passed, req);
  fg_worker_timer_arm(w, &req->deadline, req->opts.timeout_ms);
  if (req->url_err != FG_HTTP_OK) {
    complete(req, req->url_err, "%s", req->why);
    return;
  }
  if (req->url.https && req->hc->tls == NULL) {
    complete(req, FG_HTTP_ERR_SCHEME, "https:// is not enabled for this client");
    return;
  }
  hconn *h = idle_take(req->ws, req->url.host, req->url.port, req->url.https);
  if (h != NULL) {
    req->ws->st.reused++;
    req->reused = 1;
    attach(req, h);
    send_request(h);
    return;
  }
  if (req->url.numeric) {
    use_addresses(req, &req->url.addr, &req->url.addr_len, 1);
    return;
  }
  if (req->hc->cfg.dns == NULL) {
    complete(req, FG_HTTP_ERR_RESOLVE, "%s: no resolver for host names", req->url.host);
    return;
  }
  dns_ask *ask = xcalloc(1, sizeof(*ask));
  ask->w = w;
  ask->req = req;
  fg_dns_submit s =
      fg_dns_resolve_host(req->hc->cfg.dns, req->url.host, req->url.port, dns_done, ask);
  if (s != FG_DNS_QUEUED) {
    free(ask);
    complete(req, FG_HTTP_ERR_RESOLVE, "%s: %s", req->url.host,
             s == FG_DNS_SUBMIT_BUSY ? "resolver busy" : "not a valid host name");
    return;
  }
  req->ask = ask;
}

// --- connection events ---

static void on_open(fg_conn *c) {
  hconn *h = fg_conn_arg(c);
  h->opened = 1;
  if (h->req == NULL) {
    fg_conn_close(c);
    return;
  }
  send_request(h);
}

// response_done hands the connection back (or closes it) and reports.
static void response_done(fg_http_request *req, int keep) {
  hconn *h = req->conn;
  if (h != NULL) {
    req->conn = NULL;
    h->req = NULL;
    if (!keep || !idle_put(h)) fg_conn_close(h->conn);
  }
  size_t bl;
  fg_http_response_body(&req->resp, &bl);
  complete(req, FG_HTTP_OK, "HTTP %d, %zu byte%s", fg_http_response_code(&req->resp), bl,
           bl == 1 ? "" : "s");
}

static size_t on_data(fg_conn *c, const uint8_t *data, size_t len) {
  hconn *h = fg_conn_arg(c);
  fg_http_request *req = h->req;
  if (req == NULL) {
    fg_conn_close(c);  // bytes nobody asked for: the connection is not reusable
    return len;
  }
  size_t used = 0;
  fg_http_parse_status s = fg_http_response_feed(&req->resp, data, len, &used);
  if (s == FG_HTTP_PARSE_NEED_MORE) return len;
  if (s == FG_HTTP_PARSE_DONE) {
    // Bytes after the response were never asked for: do not reuse.
    response_done(req, fg_http_response_keep_alive(&req->resp) && used == len);
    return len;
  }
  complete(req, s == FG_HTTP_PARSE_BODY_TOO_LARGE ? FG_HTTP_ERR_TOO_LARGE : FG_HTTP_ERR_PROTOCOL,
           "%s:%u: %s", req->url.host, req->url.port, fg_http_parse_status_name(s));
  return len;
}

static int may_retry(const fg_http_request *req) {
  return !req->retried && (!req->is_post || req->opts.retry_post);
}

static void on_close(fg_conn *c, enum fg_close_reason reason) {
  hconn *h = fg_conn_arg(c);
  fg_http_request *req = h->req;
  if (h->idle) {
    idle_unlink(h);
    h->ws->st.idle_closed++;
  }
  if (req == NULL) {
    free(h);
    return;
  }
  req->conn = NULL;
  int opened = h->opened;
  unsigned uses = h->uses;
  if (h->check.refused) setf(req->tls_why, sizeof(req->tls_why), "%s", h->check.why);
  struct sockaddr_storage addr = h->addr;
  socklen_t addr_len = h->addr_len;
  free(h);
  if (reason == FG_CLOSE_SHUTDOWN) {
    complete(req, FG_HTTP_ERR_SHUTDOWN, "worker stopping");
  } else if (!opened) {
    req->last_close = reason;
    connect_next(req);
  } else if (uses > 0 && fg_http_response_bytes(&req->resp) == 0 && may_retry(req)) {
    // A kept connection the server closed meanwhile (RFC 9112 §9.3.1): once
    // more on a fresh one.
    req->retried = 1;
    req->reused = 0;
    req->ws->st.retries++;
    if (!connect_to(req, &addr, addr_len)) {
      complete(req, FG_HTTP_ERR_CONNECT, "%s:%u: no socket for the retry", req->url.host,
               req->url.port);
    }
  } else if (fg_http_response_finish(&req->resp) == FG_HTTP_PARSE_DONE) {
    response_done(req, 0);
  } else {
    complete(req, FG_HTTP_ERR_CLOSED, "%s:%u: connection closed (%s) after %llu response bytes",
             req->url.host, req->url.port, fg_close_reason_name(reason),
             (unsigned long long)fg_http_response_bytes(&req->resp));
  }
}

static void on_tls_created(fg_conn *c, fg_tls_conn *t) {
  hconn *h = fg_conn_arg(c);
  fg_https_check_attach(t, &h->check);
}

static const fg_conn_handler kHandler = {
    .on_open = on_open, .on_data = on_data, .on_close = on_close, .on_tls_created = on_tls_created};

// --- public entry points ---

static int header_value_ok(const char *v) {
  for (; v != NULL && *v; v++) {
    if ((uint8_t)*v < 0x20 || (uint8_t)*v == 0x7f) return 0;
  }
  return 1;
}

static fg_http_request *request_new(fg_http_client *hc, fg_worker *w, const char *method,
                                    const char *url, const char *content_type, const uint8_t *body,
                                    size_t body_len, const fg_http_options *opts, fg_http_cb cb,
                                    void *arg) {
  if (fg_worker_current() != w) return NULL;
  fg_http_request *req = xcalloc(1, sizeof(*req));
  req->hc = hc;
  req->w = w;
  req->ws = &hc->ws[fg_worker_index(w)];
  req->cb = cb;
  req->arg = arg;
  if (opts != NULL) req->opts = *opts;
  if (req->opts.timeout_ms == 0) req->opts.timeout_ms = 10000;
  if (req->opts.connect_timeout_ms == 0) req->opts.connect_timeout_ms = 3000;
  if (req->opts.max_response == 0) req->opts.max_response = 1024 * 1024;
  req->is_post = content_type != NULL;
  req->url_err = fg_http_url_parse(&req->url, url, req->why, sizeof(req->why));
  if (!header_value_ok(content_type) || !header_value_ok(req->opts.accept)) {
    req->url_err = url_fail(req->why, sizeof(req->why), FG_HTTP_ERR_URL,
                            "control character in a header value");
  }
  if (req->url_err == FG_HTTP_OK) {
    char head[3000], port[8] = "";
    int v6 = strchr(req->url.host, ':') != NULL;
    if (req->url.port != (req->url.https ? 443 : 80))
      setf(port, sizeof(port), ":%u", req->url.port);
    int n =
        snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s%s%s%s\r\nUser-Agent: fedgate\r\n",
                 method, req->url.target, v6 ? "[" : "", req->url.host, v6 ? "]" : "", port);
    if (req->opts.accept != NULL) {
      n += snprintf(head + n, sizeof(head) - (size_t)n, "Accept: %s\r\n", req->opts.accept);
    }
    if (req->is_post) {
      n += snprintf(head + n, sizeof(head) - (size_t)n,
                    "Content-Type: %.200s\r\nContent-Length: %zu\r\n", content_type, body_len);
    }
    n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
    req->wire_len = (size_t)n + body_len;
    req->wire = xcalloc(req->wire_len, 1);
    memcpy(req->wire, head, (size_t)n);
    if (body_len > 0) memcpy(req->wire + n, body, body_len);
  }
  req->ws->st.requests++;
  req->msg.fn = start;
  fg_worker_post(w, &req->msg);
  return req;
}

fg_http_request *fg_http_get(fg_http_client *hc, fg_worker *w, const char *url,
                             const fg_http_options *opts, fg_http_cb cb, void *arg) {
  return request_new(hc, w, "GET", url, NULL, NULL, 0, opts, cb, arg);
}

fg_http_request *fg_http_post(fg_http_client *hc, fg_worker *w, const char *url,
                              const char *content_type, const uint8_t *body, size_t body_len,
                              const fg_http_options *opts, fg_http_cb cb, void *arg) {
  return request_new(hc, w, "POST", url, content_type ? content_type : "application/octet-stream",
                     body, body_len, opts, cb, arg);
}

void fg_http_cancel(fg_http_request *req) {
  if (!req->started) {
    req->cancelled = 1;  // the start message frees it
    return;
  }
  detach(req);
  request_free(req);
}
