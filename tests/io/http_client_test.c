// http_client_test.c: io/http_client against a small HTTP/1.1 server run by
// this test on a loopback port (one thread per connection, counting
// connections and requests): GET, POST, kept connections reused, a kept
// connection closed by the server (retried), timeouts while the worker keeps
// serving, size cap, 3xx reported, refused connections, cancel; and the URL
// parser.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/http_client.h"
#include "io/worker.h"

// --- the server ---

typedef struct server {
  int lfd;
  uint16_t port;
  pthread_t accept_thread;
  pthread_t conn_threads[64];
  int fds[64];
  atomic_int n_conns;
  atomic_int stop;
  atomic_long requests, stalled;
  int drop_second;  // close, unanswered, the second request on each connection
} server;

typedef struct conn_ctx {
  server *s;
  int fd;
} conn_ctx;

static int wait_readable(server *s, int fd) {
  while (!atomic_load(&s->stop)) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 50) > 0) return 1;
  }
  return 0;
}

static void send_all(int fd, const char *b, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w <= 0) return;
    b += w;
    n -= (size_t)w;
  }
}

static void send_text(int fd, const char *text) {
  send_all(fd, text, strlen(text));
}

// answer writes the response for |path|; it returns 0 to close the connection.
static int answer(server *s, int fd, const char *path, const char *ctype, const char *body,
                  size_t blen) {
  char out[512];
  if (strcmp(path, "/hello") == 0) {
    send_text(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
    return 1;
  }
  if (strcmp(path, "/post") == 0) {
    int n = snprintf(out, sizeof(out),
                     "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "%zx\r\n",
                     ctype, blen);
    send_all(fd, out, (size_t)n);
    send_all(fd, body, blen);
    send_all(fd, "\r\n0\r\n\r\n", 7);
    return 1;
  }
  if (strcmp(path, "/stall") == 0) {
    atomic_fetch_add(&s->stalled, 1);
    return 1;
  }
  if (strcmp(path, "/big") == 0) {
    static char big[100000];
    memset(big, 'x', sizeof(big));
    int n =
        snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", sizeof(big));
    send_all(fd, out, (size_t)n);
    send_all(fd, big, sizeof(big));
    return 1;
  }
  if (strcmp(path, "/redirect") == 0) {
    const char *r =
        "HTTP/1.1 302 Found\r\nLocation: https://elsewhere.example/crl\r\nContent-Length: "
        "0\r\n\r\n";
    send_text(fd, r);
    return 1;
  }
  if (strcmp(path, "/close") == 0) {
    const char *r = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end";
    send_text(fd, r);
    return 0;
  }
  send_text(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  return 1;
}

static void *conn_main(void *p) {
  conn_ctx *cc = p;
  server *s = cc->s;
  int fd = cc->fd;
  free(cc);
  char buf[8192];
  size_t len = 0;
  int served = 0;
  while (wait_readable(s, fd)) {
    ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
    if (r <= 0) break;
    len += (size_t)r;
    buf[len] = 0;
    char *end = strstr(buf, "\r\n\r\n");
    if (end == NULL) continue;
    size_t head = (size_t)(end + 4 - buf), blen = 0;
    char *cl = strcasestr(buf, "\r\nContent-Length: ");
    if (cl != NULL && cl < end) blen = strtoul(cl + 18, NULL, 10);
    if (len < head + blen) continue;
    atomic_fetch_add(&s->requests, 1);
    char path[256] = "", ctype[128] = "";
    sscanf(buf, "%*s %255s", path);
    char *ct = strcasestr(buf, "\r\nContent-Type: ");
    if (ct != NULL && ct < end) sscanf(ct + 16, "%127[^\r]", ctype);
    if (s->drop_second && served == 1) break;
    served++;
    if (!answer(s, fd, path, ctype, buf + head, blen)) break;
    memmove(buf, buf + head + blen, len - head - blen);
    len -= head + blen;
  }
  close(fd);
  return NULL;
}

static void *accept_main(void *p) {
  server *s = p;
  while (wait_readable(s, s->lfd)) {
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0) continue;
    int i = atomic_fetch_add(&s->n_conns, 1);
    assert_true(i < 64);
    conn_ctx *cc = calloc(1, sizeof(*cc));
    cc->s = s;
    cc->fd = fd;
    pthread_create(&s->conn_threads[i], NULL, conn_main, cc);
  }
  return NULL;
}

static server *server_start(int drop_second) {
  server *s = calloc(1, sizeof(*s));
  s->drop_second = drop_second;
  s->lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof(sin);
  assert_int_equal(bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  assert_int_equal(listen(s->lfd, 64), 0);
  getsockname(s->lfd, (struct sockaddr *)&sin, &sl);
  s->port = ntohs(sin.sin_port);
  pthread_create(&s->accept_thread, NULL, accept_main, s);
  return s;
}

static void server_stop(server *s) {
  atomic_store(&s->stop, 1);
  pthread_join(s->accept_thread, NULL);
  for (int i = 0; i < atomic_load(&s->n_conns); i++) pthread_join(s->conn_threads[i], NULL);
  close(s->lfd);
  free(s);
}

// --- the client side ---

typedef struct call {
  atomic_int done;
  atomic_int calls;
  fg_http_request *req;
  fg_http_error error;
  int status, reused;
  long seq;  // order of completion
  char body[256];
  size_t body_len;
  char ctype[128], location[256], text[256];
} call;

static atomic_long g_seq;

static void on_result(void *arg, const fg_http_result *res) {
  call *c = arg;
  c->error = res->error;
  c->status = res->status;
  c->reused = res->reused;
  c->body_len = res->body_len;
  memcpy(c->body, res->body, res->body_len < sizeof(c->body) ? res->body_len : 0);
  snprintf(c->ctype, sizeof(c->ctype), "%s", res->content_type);
  snprintf(c->location, sizeof(c->location), "%s", res->location);
  snprintf(c->text, sizeof(c->text), "%s", res->text);
  c->seq = atomic_fetch_add(&g_seq, 1);
  atomic_fetch_add(&c->calls, 1);
  atomic_store(&c->done, 1);
}

typedef struct launch_msg {
  fg_msg m;
  fg_http_client *hc;
  char url[256];
  const char *post_body;  // NULL: GET
  fg_http_options opts;
  call *out;
  int cancel_at_once;  // cancel right after starting
  int cancel_only;     // only cancel out->req
} launch_msg;

static void launch_fn(fg_worker *w, fg_msg *m) {
  launch_msg *l = (launch_msg *)m;
  if (l->cancel_only) {
    fg_http_cancel(l->out->req);
  } else if (l->post_body != NULL) {
    l->out->req =
        fg_http_post(l->hc, w, l->url, "application/ocsp-request", (const uint8_t *)l->post_body,
                     strlen(l->post_body), &l->opts, on_result, l->out);
  } else {
    l->out->req = fg_http_get(l->hc, w, l->url, &l->opts, on_result, l->out);
  }
  assert_non_null(l->out->req);
  if (l->cancel_at_once) fg_http_cancel(l->out->req);
  free(l);
}

typedef struct env {
  fg_runtime *rt;
  fg_http_client *hc;
  server *srv;
} env;

static void env_start(env *e, int drop_second, unsigned idle_ms) {
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 1;
  e->rt = fg_runtime_new(&o);
  assert_non_null(e->rt);
  fg_http_client_config cfg = {.allow_special = 1, .idle_timeout_ms = idle_ms};
  e->hc = fg_http_client_new(e->rt, &cfg);
  e->srv = server_start(drop_second);
}

static void env_stop(env *e) {
  fg_runtime_shutdown(e->rt, 0);
  fg_http_client_free(e->hc);
  fg_runtime_free(e->rt);
  server_stop(e->srv);
}

// Fixtures: a runtime of one worker, a client allowing loopback, a server.
static int setup_with(void **state, int drop_second, unsigned idle_ms) {
  env *e = calloc(1, sizeof(*e));
  env_start(e, drop_second, idle_ms);
  *state = e;
  return 0;
}

static int setup(void **state) {
  return setup_with(state, 0, 0);
}

// setup_drop_second: the server closes each connection, unanswered, at its
// second request.
static int setup_drop_second(void **state) {
  return setup_with(state, 1, 0);
}

static int setup_short_idle(void **state) {
  return setup_with(state, 0, 150);
}

static int teardown(void **state) {
  env_stop(*state);
  free(*state);
  return 0;
}

static void launch(env *e, call *out, const char *path_or_url, const char *post_body,
                   unsigned timeout_ms, size_t cap, int cancel_at_once) {
  launch_msg *l = calloc(1, sizeof(*l));
  l->m.fn = launch_fn;
  l->hc = e->hc;
  if (strstr(path_or_url, "://") != NULL) {
    snprintf(l->url, sizeof(l->url), "%s", path_or_url);
  } else {
    snprintf(l->url, sizeof(l->url), "http://127.0.0.1:%u%s", e->srv->port, path_or_url);
  }
  l->post_body = post_body;
  l->opts.timeout_ms = timeout_ms;
  l->opts.max_response = cap;
  l->out = out;
  l->cancel_at_once = cancel_at_once;
  fg_worker_post(fg_runtime_worker(e->rt, 0), &l->m);
}

static fg_http_client_stats stats(const env *e) {
  fg_http_client_stats st;
  fg_http_client_stats_get(e->hc, &st);
  return st;
}

static void sleep_ms(unsigned ms) {
  usleep(ms * 1000);
}

static void wait_done(call *c) {
  for (int i = 0; i < 1000 && !atomic_load(&c->done); i++) sleep_ms(10);
  assert_true(atomic_load(&c->done));
  assert_int_equal(atomic_load(&c->calls), 1);
}

static void wait_count(atomic_long *v, long n) {
  for (int i = 0; i < 1000 && atomic_load(v) < n; i++) sleep_ms(10);
  assert_true(atomic_load(v) >= n);
}

// fetch runs one request with the default options and waits for its end.
static void fetch(env *e, call *c, const char *path_or_url, const char *post_body) {
  launch(e, c, path_or_url, post_body, 0, 0, 0);
  wait_done(c);
}

// RFC 9112 §9.3: a persistent connection carries the next request.
static void test_rfc9112_9_3_get_post_and_reuse(void **state) {
  env *e = *state;
  call a = {0}, b = {0}, c = {0};
  fetch(e, &a, "/hello", NULL);
  assert_int_equal(a.error, FG_HTTP_OK);
  assert_int_equal(a.status, 200);
  assert_int_equal(a.body_len, 5);
  assert_memory_equal(a.body, "hello", 5);
  assert_string_equal(a.ctype, "text/plain");
  assert_int_equal(a.reused, 0);
  fetch(e, &b, "/post", "ocsp-request-bytes");
  assert_int_equal(b.error, FG_HTTP_OK);
  assert_int_equal(b.body_len, strlen("ocsp-request-bytes"));
  assert_memory_equal(b.body, "ocsp-request-bytes", b.body_len);
  assert_string_equal(b.ctype, "application/ocsp-request");
  assert_int_equal(b.reused, 1);
  fetch(e, &c, "/hello", NULL);
  assert_int_equal(c.reused, 1);
  assert_int_equal(atomic_load(&e->srv->n_conns), 1);
  assert_int_equal(atomic_load(&e->srv->requests), 3);
  assert_int_equal(stats(e).connections, 1);
  assert_int_equal(stats(e).reused, 2);
}

// RFC 9112 §9.3.1: the server closed a kept connection just as a request went
// out on it; no response byte came, so the request goes again on a fresh one.
static void test_rfc9112_9_3_1_closed_kept_connection_retried(void **state) {
  env *e = *state;
  call a = {0}, b = {0};
  fetch(e, &a, "/hello", NULL);
  assert_int_equal(a.error, FG_HTTP_OK);
  launch(e, &b, "/post", "again", 0, 0, 0);  // a POST is not retried by default
  wait_done(&b);
  assert_int_equal(b.error, FG_HTTP_ERR_CLOSED);
  call c = {0}, d = {0};
  fetch(e, &c, "/hello", NULL);
  fetch(e, &d, "/hello", NULL);
  assert_int_equal(d.error, FG_HTTP_OK);
  assert_int_equal(d.status, 200);
  assert_int_equal(d.reused, 0);  // answered on the fresh connection
  assert_int_equal(stats(e).retries, 1);
  assert_int_equal(atomic_load(&e->srv->n_conns), 3);
}

// A kept connection closes after idle_timeout_ms; the next request opens one.
static void test_idle_connection_expires(void **state) {
  env *e = *state;
  call a = {0}, b = {0};
  fetch(e, &a, "/hello", NULL);
  sleep_ms(600);
  fetch(e, &b, "/hello", NULL);
  assert_int_equal(b.error, FG_HTTP_OK);
  assert_int_equal(b.reused, 0);
  assert_int_equal(atomic_load(&e->srv->n_conns), 2);
  assert_int_equal(stats(e).idle_closed, 1);
}

// A server that never answers: the request times out, and meanwhile the
// worker serves another request to completion.
static void test_timeout_does_not_block_the_worker(void **state) {
  env *e = *state;
  call slow = {0}, quick = {0};
  launch(e, &slow, "/stall", NULL, 1500, 0, 0);
  wait_count(&e->srv->stalled, 1);
  fetch(e, &quick, "/hello", NULL);
  assert_int_equal(quick.error, FG_HTTP_OK);
  assert_false(atomic_load(&slow.done));
  wait_done(&slow);
  assert_int_equal(slow.error, FG_HTTP_ERR_TIMEOUT);
  assert_true(quick.seq < slow.seq);
}

static void test_size_cap_redirect_and_close_delimited(void **state) {
  env *e = *state;
  call big = {0}, ok = {0}, redir = {0}, close = {0};
  launch(e, &big, "/big", NULL, 0, 10000, 0);
  wait_done(&big);
  assert_int_equal(big.error, FG_HTTP_ERR_TOO_LARGE);
  launch(e, &ok, "/big", NULL, 0, 100000, 0);
  wait_done(&ok);
  assert_int_equal(ok.error, FG_HTTP_OK);
  assert_int_equal(ok.body_len, 100000);
  // RFC 9110 §15.4: a redirect is the caller's to judge; never followed.
  fetch(e, &redir, "/redirect", NULL);
  assert_int_equal(redir.error, FG_HTTP_OK);
  assert_int_equal(redir.status, 302);
  assert_string_equal(redir.location, "https://elsewhere.example/crl");
  // RFC 9112 §6.3 (8): the body ends with the connection.
  fetch(e, &close, "/close", NULL);
  assert_int_equal(close.error, FG_HTTP_OK);
  assert_int_equal(close.body_len, strlen("until the end"));
}

static void test_refused_connection_and_refused_schemes(void **state) {
  env *e = *state;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof(sin);
  bind(fd, (struct sockaddr *)&sin, sizeof(sin));
  getsockname(fd, (struct sockaddr *)&sin, &sl);
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/", ntohs(sin.sin_port));
  close(fd);  // nobody listens there now
  call refused = {0}, https = {0}, ldap = {0}, noname = {0};
  launch(e, &refused, url, NULL, 0, 0, 0);
  launch(e, &https, "https://ocsp.example/", NULL, 0, 0, 0);
  launch(e, &ldap, "ldap://ldap.example/cn=crl", NULL, 0, 0, 0);
  launch(e, &noname, "http://ocsp.example/", NULL, 0, 0, 0);  // the client has no resolver
  wait_done(&refused);
  wait_done(&https);
  wait_done(&ldap);
  wait_done(&noname);
  assert_int_equal(refused.error, FG_HTTP_ERR_CONNECT);
  // A client without a trust store fetches no https:// URL.
  assert_int_equal(https.error, FG_HTTP_ERR_SCHEME);
  assert_non_null(strstr(https.text, "https:// is not enabled"));
  assert_int_equal(ldap.error, FG_HTTP_ERR_SCHEME);
  assert_int_equal(noname.error, FG_HTTP_ERR_RESOLVE);
}

// Special-purpose addresses are refused unless allowed (RFC 6890).
static void test_rfc6890_special_addresses_refused_by_default(void **state) {
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 1;
  env e = {.rt = fg_runtime_new(&o), .srv = server_start(0)};
  e.hc = fg_http_client_new(e.rt, NULL);
  call c = {0};
  fetch(&e, &c, "/hello", NULL);
  assert_int_equal(c.error, FG_HTTP_ERR_ADDRESS_REFUSED);
  assert_int_equal(atomic_load(&e.srv->n_conns), 0);
  fg_http_client_free(e.hc);
  fg_cidr lo;
  assert_true(fg_cidr_parse(&lo, "127.0.0.0/8"));
  fg_http_client_config cfg = {.allowed_networks = &lo, .n_allowed_networks = 1};
  e.hc = fg_http_client_new(e.rt, &cfg);
  call d = {0};
  fetch(&e, &d, "/hello", NULL);
  assert_int_equal(d.error, FG_HTTP_OK);
  env_stop(&e);
}

// fg_http_cancel: the callback never runs, whether the request had started
// or not; the connection of a cancelled request is not kept.
static void test_cancel(void **state) {
  env *e = *state;
  call at_once = {0}, stalled = {0}, after = {0};
  launch(e, &at_once, "/hello", NULL, 0, 0, 1);
  launch(e, &stalled, "/stall", NULL, 400, 0, 0);
  wait_count(&e->srv->stalled, 1);
  launch_msg *cancel = calloc(1, sizeof(*cancel));
  cancel->m.fn = launch_fn;
  cancel->out = &stalled;
  cancel->cancel_only = 1;
  fg_worker_post(fg_runtime_worker(e->rt, 0), &cancel->m);
  sleep_ms(800);  // twice the request's timeout
  assert_false(atomic_load(&at_once.done));
  assert_false(atomic_load(&stalled.done));
  fetch(e, &after, "/hello", NULL);
  assert_int_equal(after.error, FG_HTTP_OK);
  assert_int_equal(after.reused, 0);
  assert_int_equal(atomic_load(&e->srv->n_conns), 2);
}

static void test_url_parse(void **state) {
  static const struct {
    const char *url;
    fg_http_error want;
    const char *host, *target;
    unsigned port;
  } kCases[] = {
      {"http://ocsp.example.com", FG_HTTP_OK, "ocsp.example.com", "/", 80},
      {"HTTP://OCSP.Example.COM.:8080/a/b?c=d#frag", FG_HTTP_OK, "ocsp.example.com", "/a/b?c=d",
       8080},
      {"http://192.0.2.1:/crl", FG_HTTP_OK, "192.0.2.1", "/crl", 80},
      {"http://[2001:db8::1]:81?x", FG_HTTP_OK, "2001:db8::1", "/?x", 81},
      {"http://ocsp.example/MEowSDBGMEQwQjAJBgUrDgMCGgUABBQ%2B", FG_HTTP_OK, "ocsp.example",
       "/MEowSDBGMEQwQjAJBgUrDgMCGgUABBQ%2B", 80},
      {"https://example.org/.well-known/posh/xmpp-server.json", FG_HTTP_OK, "example.org",
       "/.well-known/posh/xmpp-server.json", 443},
      {"HTTPS://example.org:8443", FG_HTTP_OK, "example.org", "/", 8443},
      {"https://192.0.2.1/", FG_HTTP_ERR_URL, NULL, NULL, 0},
      {"https://[2001:db8::1]/", FG_HTTP_ERR_URL, NULL, NULL, 0},
      {"ftp://crl.example/x.crl", FG_HTTP_ERR_SCHEME, NULL, NULL, 0},
      {"ocsp.example/", FG_HTTP_ERR_URL, NULL, NULL, 0},
      {"http://user@ocsp.example/", FG_HTTP_ERR_URL, NULL, NULL, 0},
      {"http:///path", FG_HTTP_ERR_URL, NULL, NULL, 0},
      {"http://ocsp.example:0/", FG_HTTP_ERR_URL, NULL, NULL, 0},
      {"http://ocsp.example:65536/", FG_HTTP_ERR_URL, NULL, NULL, 0},
      {"http://ocsp.example:8o/", FG_HTTP_ERR_URL, NULL, NULL, 0},
      {"http://[2001:db8::1/", FG_HTTP_ERR_URL, NULL, NULL, 0},
      {"http://[ocsp.example]/", FG_HTTP_ERR_URL, NULL, NULL, 0},
      {"http://bad_name.example/", FG_HTTP_ERR_URL, NULL, NULL, 0},
      {"http://ocsp.example/a b", FG_HTTP_ERR_URL, NULL, NULL, 0},
      {"http://ocsp.example/a\r\nX-Injected: 1", FG_HTTP_ERR_URL, NULL, NULL, 0},
      {"http://ocsp.example/\xc3\xa9", FG_HTTP_ERR_URL, NULL, NULL, 0},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    fg_http_url u;
    char why[200];
    fg_http_error got = fg_http_url_parse(&u, kCases[i].url, why, sizeof(why));
    if (got != kCases[i].want) {
      fail_msg("%s: %s (%s), want %s", kCases[i].url, fg_http_error_name(got), why,
               fg_http_error_name(kCases[i].want));
    }
    if (got != FG_HTTP_OK) {
      assert_true(why[0] != 0);
      continue;
    }
    assert_string_equal(u.host, kCases[i].host);
    assert_string_equal(u.target, kCases[i].target);
    assert_int_equal(u.port, kCases[i].port);
  }
  char long_url[3000];
  memset(long_url, 'a', sizeof(long_url));
  memcpy(long_url, "http://x/", 9);
  long_url[sizeof(long_url) - 1] = 0;
  fg_http_url u;
  char why[200];
  assert_int_equal(fg_http_url_parse(&u, long_url, why, sizeof(why)), FG_HTTP_ERR_URL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_url_parse),
      cmocka_unit_test_setup_teardown(test_rfc9112_9_3_get_post_and_reuse, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rfc9112_9_3_1_closed_kept_connection_retried,
                                      setup_drop_second, teardown),
      cmocka_unit_test_setup_teardown(test_idle_connection_expires, setup_short_idle, teardown),
      cmocka_unit_test_setup_teardown(test_timeout_does_not_block_the_worker, setup, teardown),
      cmocka_unit_test_setup_teardown(test_size_cap_redirect_and_close_delimited, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refused_connection_and_refused_schemes, setup, teardown),
      cmocka_unit_test(test_rfc6890_special_addresses_refused_by_default),
      cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
