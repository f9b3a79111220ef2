// dns.c: the s2s resolver (RFC 6120 §3.2, XEP-0368 §3, RFC 2782) behind the
// public API of dns.h: its threads and request queue, the exchange with the
// nameservers (UDP, TCP after truncation, timeouts, retries), the SRV order
// and the candidate list, dns.static overrides. See dns.h for the contract
// and docs/dns.md for operations. The message format is dns_wire.c's, the
// answer cache dns_cache.c's, host names dns_name.c's.
//
// Why one file of about 1,200 lines: what remains is one state machine per
// request (queue, batches, sockets, retries, ordering) over one set of
// fields; cutting the nameserver exchange out would need those fields, the
// stop flag and the random source shared through an internal header, for no
// reader's gain.
//
// Shape: requests wait in one FIFO; each resolver thread takes one request
// and runs it to the end in two batches of questions (the two SRV names
// together, then every target's AAAA and A together). A batch sends all its
// questions at once over UDP and polls their sockets, so a request costs the
// slowest question, not the sum.
#include "io/dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "io/dns_cache.h"
#include "io/dns_wire.h"
#include "io/timer.h"

#define MAX_THREADS 64
#define MAX_SERVERS 16
#define STOP_SLICE_MS 100   // how long a wait may go without checking for stop
#define FALLBACK_PORT 5269  // RFC 6120 §3.2.2

typedef struct server {
  struct sockaddr_storage addr;
  socklen_t len;
  char text[64];
  int trusted;  // a validating resolver whose AD bit is believed
} server;

typedef struct request {
  struct request *next;
  fg_dns_cb cb;
  void *arg;
  char domain[FG_DNS_NAME_MAX + 1];
  uint16_t host_port;  // not 0: a plain host lookup (fg_dns_resolve_host)
} request;

typedef struct static_target {
  char host[FG_DNS_NAME_MAX + 1];
  uint16_t port;
  int direct_tls;
  int numeric;  // |addr| holds the address
  struct sockaddr_storage addr;
  socklen_t addr_len;
} static_target;

typedef struct static_entry {
  struct static_entry *next;
  char domain[FG_DNS_NAME_MAX + 1];
  size_t n;
  static_target *targets;
} static_entry;

typedef struct rthread {
  fg_dns *dns;
  pthread_t tid;
  struct __res_state res;
} rthread;

struct fg_dns {
  fg_dns_config cfg;
  server servers[MAX_SERVERS];
  size_t n_servers;

  pthread_mutex_t qlock;
  pthread_cond_t qcond;
  request *qhead, *qtail;
  size_t pending;  // queued plus running
  int stopping;
  atomic_int stop;  // read by waits inside a running request

  rthread *threads;
  unsigned n_threads;

  fg_dns_cache cache;
  int dnssec_ok;  // a trusted resolver is configured: questions carry the DO bit

  pthread_mutex_t slock;
  static_entry *statics;

  _Atomic uint64_t rng;

  _Atomic uint64_t st_requests, st_rejected, st_queries, st_tcp, st_hits, st_misses, st_timeouts,
      st_servfails, st_static, st_secure, st_bogus, st_tlsa;
};

// setf formats into |out|, truncating: reasons and labels only.
static void setf(char *out, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out, cap, fmt, ap);
  va_end(ap);
}

// rng_next is splitmix64 over an atomic counter: lock-free, and with a fixed
// seed the sequence of draws is reproducible whatever thread draws them.
static uint64_t rng_next(fg_dns *dns) {
  uint64_t z = atomic_fetch_add(&dns->rng, 0x9e3779b97f4a7c15ull) + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// rng_below returns a number in [0, n). The modulo bias is below 2^-40 for
// the sums of 16-bit weights used here.
static uint64_t rng_below(fg_dns *dns, uint64_t n) {
  return n == 0 ? 0 : rng_next(dns) % n;
}

static uint16_t query_id(fg_dns *dns) {
  uint16_t id;
  // Transaction IDs must be unpredictable (RFC 5452), even with a test seed.
  if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id)) {
    id = (uint16_t)(rng_next(dns) ^ fg_clock_ns());
  }
  return id;
}

const char *fg_dns_status_name(fg_dns_status s) {
  switch (s) {
    case FG_DNS_OK:
      return "ok";
    case FG_DNS_NXDOMAIN:
      return "nxdomain";
    case FG_DNS_NO_SERVICE:
      return "no-service";
    case FG_DNS_NO_ADDRESS:
      return "no-address";
    case FG_DNS_TIMEOUT:
      return "timeout";
    case FG_DNS_SERVFAIL:
      return "servfail";
    case FG_DNS_INVALID_NAME:
      return "invalid-name";
    case FG_DNS_CANCELLED:
      return "cancelled";
  }
  return "unknown";
}

int fg_dns_status_is_temporary(fg_dns_status s) {
  return s == FG_DNS_TIMEOUT || s == FG_DNS_SERVFAIL || s == FG_DNS_CANCELLED;
}

void fg_dns_config_init(fg_dns_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->threads = 2;
  cfg->timeout_ms = 2000;
  cfg->retries = 1;
  cfg->max_pending = 1024;
  cfg->max_candidates = 32;
  cfg->max_ttl_s = 3600;
  cfg->negative_ttl_s = 60;
  cfg->failure_ttl_s = 10;
  cfg->cache_max_entries = 10000;
  cfg->ipv4 = 1;
  cfg->ipv6 = 1;
}

// --- one question on the wire ---

typedef struct query {
  char name[NS_MAXDNAME];
  uint16_t type;
  fg_dns_rrset res;
  int done, from_cache, sent;
  // Transport state.
  int fd;
  size_t server;
  unsigned pass;
  uint64_t deadline;
  int saw_servfail;
  int trusted_servfail;  // a trusted validating resolver answered SERVFAIL: bogus
  uint8_t msg[NS_PACKETSZ];
  int msg_len;
  char why[96];  // the last server failure, for the reason text
} query;

// wait_fd waits for |events| until |deadline|; 1 ready, 0 timed out, -1 stop.
static int wait_fd(fg_dns *dns, int fd, short events, uint64_t deadline) {
  for (;;) {
    if (atomic_load(&dns->stop)) return -1;
    uint64_t now = fg_clock_ns();
    if (now >= deadline) return 0;
    uint64_t ms = (deadline - now + 999999) / 1000000;
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, (int)(ms < STOP_SLICE_MS ? ms : STOP_SLICE_MS));
    if (r > 0) return 1;
    if (r < 0 && errno != EINTR) return 0;
  }
}

static int io_full(fg_dns *dns, int fd, uint8_t *buf, size_t len, int writing, uint64_t deadline) {
  size_t off = 0;
  while (off < len) {
    ssize_t n =
        writing ? send(fd, buf + off, len - off, MSG_NOSIGNAL) : recv(fd, buf + off, len - off, 0);
    if (n > 0) {
      off += (size_t)n;
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) return 0;
    if (wait_fd(dns, fd, writing ? POLLOUT : POLLIN, deadline) != 1) return 0;
  }
  return 1;
}

// tcp_exchange repeats q's question over TCP to the current server after a
// truncated UDP answer (RFC 7766 §5).
static fg_dns_answer tcp_exchange(fg_dns *dns, query *q) {
  const server *s = &dns->servers[q->server];
  atomic_fetch_add(&dns->st_tcp, 1);
  atomic_fetch_add(&dns->st_queries, 1);
  uint64_t deadline = fg_clock_ns() + (uint64_t)dns->cfg.timeout_ms * 1000000ull;
  int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return FG_DNS_ANSWER_SERVER_FAIL;
  fg_dns_answer result = FG_DNS_ANSWER_SERVER_FAIL;
  uint8_t *resp = NULL;
  setf(q->why, sizeof(q->why), "TCP to %s failed", s->text);
  if (connect(fd, (const struct sockaddr *)&s->addr, s->len) < 0 && errno != EINPROGRESS) goto out;
  if (wait_fd(dns, fd, POLLOUT, deadline) != 1) goto out;
  int soerr = 0;
  socklen_t sl = sizeof(soerr);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) goto out;
  uint8_t hdr[2 + NS_PACKETSZ];
  ns_put16((unsigned)q->msg_len, hdr);
  memcpy(hdr + 2, q->msg, (size_t)q->msg_len);
  if (!io_full(dns, fd, hdr, 2 + (size_t)q->msg_len, 1, deadline)) goto out;
  uint8_t lenb[2];
  if (!io_full(dns, fd, lenb, 2, 0, deadline)) goto out;
  size_t len = ns_get16(lenb);
  resp = malloc(len ? len : 1);
  if (resp == NULL || !io_full(dns, fd, resp, len, 0, deadline)) goto out;
  result = fg_dns_parse_answer(&q->res, q->why, sizeof(q->why), resp, len, ns_get16(q->msg),
                               q->name, q->type);
  // Over TCP nothing else may answer: a mismatch or a truncation is a
  // broken server.
  if (result == FG_DNS_ANSWER_IGNORE || result == FG_DNS_ANSWER_TRUNCATED) {
    setf(q->why, sizeof(q->why), "bad TCP answer from %s", s->text);
    result = FG_DNS_ANSWER_SERVER_FAIL;
  }
out:
  if (result != FG_DNS_ANSWER_DONE && atomic_load(&dns->stop) == 0 && fg_clock_ns() >= deadline) {
    setf(q->why, sizeof(q->why), "TCP to %s timed out", s->text);
  }
  free(resp);
  close(fd);
  return result;
}

static void finish(fg_dns *dns, query *q, fg_dns_rstatus st) {
  if (q->fd >= 0) close(q->fd);
  q->fd = -1;
  q->done = 1;
  if (st != FG_DNS_RS_OK) {
    fg_dnssec sec = q->res.dnssec;  // a secure denial stays secure
    fg_dns_rrset_cleanup(&q->res);
    q->res.status = st;
    q->res.dnssec = sec;
  }
  // A validating resolver answers SERVFAIL for data that fails validation
  // (RFC 4035 §5.5): after that, no other server's answer is trusted either.
  if (q->trusted_servfail && st != FG_DNS_RS_CANCELLED) q->res.dnssec = FG_DNSSEC_BOGUS;
  if (q->res.dnssec == FG_DNSSEC_SECURE) atomic_fetch_add(&dns->st_secure, 1);
  if (q->res.dnssec == FG_DNSSEC_BOGUS) atomic_fetch_add(&dns->st_bogus, 1);
  if (st == FG_DNS_RS_TIMEOUT) atomic_fetch_add(&dns->st_timeouts, 1);
  if (st == FG_DNS_RS_SERVFAIL) atomic_fetch_add(&dns->st_servfails, 1);
}

// send_udp sends q's question to its current server; 0 if that failed.
static int send_udp(fg_dns *dns, query *q) {
  const server *s = &dns->servers[q->server];
  if (q->fd >= 0) close(q->fd);
  // A fresh connected socket per send: a random source port (RFC 5452 §4.5)
  // and the kernel drops datagrams from any other address.
  q->fd = socket(s->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (q->fd < 0) return 0;
  uint16_t id = query_id(dns);
  ns_put16(id, q->msg);
  if (connect(q->fd, (const struct sockaddr *)&s->addr, s->len) < 0 ||
      send(q->fd, q->msg, (size_t)q->msg_len, MSG_NOSIGNAL) != q->msg_len) {
    setf(q->why, sizeof(q->why), "cannot send to %s: %s", s->text, strerror(errno));
    close(q->fd);
    q->fd = -1;
    return 0;
  }
  atomic_fetch_add(&dns->st_queries, 1);
  q->deadline = fg_clock_ns() + (uint64_t)dns->cfg.timeout_ms * 1000000ull;
  return 1;
}

// advance moves q to the next server (or the next pass) after |server_fail|
// (1: the server answered with an error; 0: it timed out) and sends again.
static void advance(fg_dns *dns, query *q, int server_fail) {
  for (;;) {
    if (server_fail) q->saw_servfail = 1;
    if (++q->server == dns->n_servers) {
      q->server = 0;
      if (++q->pass > dns->cfg.retries) {
        finish(dns, q, q->saw_servfail ? FG_DNS_RS_SERVFAIL : FG_DNS_RS_TIMEOUT);
        return;
      }
    }
    if (send_udp(dns, q)) return;
    server_fail = 1;
  }
}

static void start_query(fg_dns *dns, rthread *t, query *q) {
  q->fd = -1;
  q->sent = 1;
  size_t len;
  if (!fg_dns_build_query(&t->res, q->msg, &len, sizeof(q->msg), q->name, q->type)) {
    // Only a name too long for the wire gets here (e.g. the SRV prefix on a
    // 250-byte domain): it cannot exist.
    setf(q->why, sizeof(q->why), "name too long for a question");
    q->sent = 0;
    finish(dns, q, FG_DNS_RS_NXDOMAIN);
    return;
  }
  // RFC 3225 §3: the DO bit asks a validating resolver for the AD bit.
  if (dns->dnssec_ok) fg_dns_add_edns_do(q->msg, &len, sizeof(q->msg));
  q->msg_len = (int)len;
  if (!send_udp(dns, q)) advance(dns, q, 1);
}

// run_batch answers every question of |qs|, from the cache or the network,
// all in flight at once.
static void run_batch(rthread *t, query *qs, size_t n) {
  fg_dns *dns = t->dns;
  for (size_t i = 0; i < n; i++) {
    query *q = &qs[i];
    q->fd = -1;
    if (fg_dns_cache_get(&dns->cache, q->name, q->type, &q->res)) {
      atomic_fetch_add(&dns->st_hits, 1);
      q->done = q->from_cache = 1;
      continue;
    }
    atomic_fetch_add(&dns->st_misses, 1);
    start_query(dns, t, q);
  }
  struct pollfd *pfd = calloc(n ? n : 1, sizeof(*pfd));
  size_t *map = calloc(n ? n : 1, sizeof(*map));
  if (pfd == NULL || map == NULL) abort();  // out of memory is fatal
  uint8_t buf[4096];
  for (;;) {
    size_t np = 0;
    uint64_t first = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
      if (qs[i].done) continue;
      pfd[np] = (struct pollfd){.fd = qs[i].fd, .events = POLLIN};
      map[np++] = i;
      if (qs[i].deadline < first) first = qs[i].deadline;
    }
    if (np == 0) break;
    if (atomic_load(&dns->stop)) {
      for (size_t k = 0; k < np; k++) finish(dns, &qs[map[k]], FG_DNS_RS_CANCELLED);
      break;
    }
    uint64_t now = fg_clock_ns();
    uint64_t ms = first > now ? (first - now + 999999) / 1000000 : 0;
    int r = poll(pfd, np, (int)(ms < STOP_SLICE_MS ? ms : STOP_SLICE_MS));
    if (r < 0 && errno != EINTR) r = 0;
    for (size_t k = 0; k < np && r > 0; k++) {
      if (pfd[k].revents == 0) continue;
      query *q = &qs[map[k]];
      for (;;) {
        ssize_t got = recv(q->fd, buf, sizeof(buf), 0);
        if (got < 0) {
          if (errno == EAGAIN || errno == EINTR) break;
          // ICMP port unreachable and the like: this server is not there.
          setf(q->why, sizeof(q->why), "%s: %s", dns->servers[q->server].text, strerror(errno));
          advance(dns, q, 1);
          break;
        }
        fg_dns_answer a = fg_dns_parse_answer(&q->res, q->why, sizeof(q->why), buf, (size_t)got,
                                              ns_get16(q->msg), q->name, q->type);
        if (a == FG_DNS_ANSWER_TRUNCATED) a = tcp_exchange(dns, q);
        const server *from = &dns->servers[q->server];
        if (a == FG_DNS_ANSWER_DONE) {
          // The AD bit counts only from a trusted validating resolver.
          q->res.dnssec = from->trusted && q->res.ad ? FG_DNSSEC_SECURE : FG_DNSSEC_INSECURE;
          finish(dns, q, q->res.status);
          break;
        }
        if (a == FG_DNS_ANSWER_SERVER_FAIL) {
          if (from->trusted && q->res.rcode == ns_r_servfail) q->trusted_servfail = 1;
          fg_dns_rrset_cleanup(&q->res);
          advance(dns, q, 1);
          break;
        }
      }
    }
    now = fg_clock_ns();
    for (size_t k = 0; k < np; k++) {
      query *q = &qs[map[k]];
      if (!q->done && q->fd >= 0 && now >= q->deadline) {
        setf(q->why, sizeof(q->why), "no answer from %s", dns->servers[q->server].text);
        advance(dns, q, 0);
      }
    }
  }
  free(pfd);
  free(map);
  for (size_t i = 0; i < n; i++) {
    query *q = &qs[i];
    if (q->sent && !q->from_cache && q->res.status != FG_DNS_RS_CANCELLED) {
      fg_dns_cache_put(&dns->cache, q->name, q->type, &q->res);
    }
  }
}

static void batch_cleanup(query *qs, size_t n) {
  for (size_t i = 0; i < n; i++) fg_dns_rrset_cleanup(&qs[i].res);
}

// --- resolution ---

typedef struct srv_item {
  uint16_t prio, weight, port;
  int direct_tls;
  fg_dnssec dnssec;  // of the SRV answer
  const char *target;
} srv_item;

static int cmp_prio(const void *a, const void *b) {
  const srv_item *x = a, *y = b;
  return (int)x->prio - (int)y->prio;
}

// order_group orders one priority's records by RFC 2782's weighted random
// selection: zero weights first among the unordered records (any order
// otherwise: a shuffle, so all-zero sets spread evenly), draw a number in
// [0, sum of weights], take the first record whose running sum reaches it.
static int cmp_item(const void *a, const void *b) {
  const srv_item *x = a, *y = b;
  int c = strcmp(x->target, y->target);
  if (c != 0) return c;
  if (x->port != y->port) return (int)x->port - (int)y->port;
  return x->direct_tls - y->direct_tls;
}

static void order_group(fg_dns *dns, srv_item *it, size_t n) {
  // A canonical start (nameservers rotate their answers): with a fixed seed
  // the order is then reproducible.
  qsort(it, n, sizeof(srv_item), cmp_item);
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)rng_below(dns, i);
    srv_item tmp = it[i - 1];
    it[i - 1] = it[j];
    it[j] = tmp;
  }
  for (size_t i = 0; i < n; i++) {
    // Zero weights to the front of the unordered part, keeping order.
    size_t z = i;
    for (size_t j = i; j < n; j++) {
      if (it[j].weight != 0) continue;
      srv_item tmp = it[j];
      memmove(&it[z + 1], &it[z], (j - z) * sizeof(srv_item));
      it[z++] = tmp;
    }
    uint64_t sum = 0;
    for (size_t j = i; j < n; j++) sum += it[j].weight;
    uint64_t r = rng_below(dns, sum + 1);
    uint64_t run = 0;
    size_t pick = n - 1;
    for (size_t j = i; j < n; j++) {
      run += it[j].weight;
      if (run >= r) {
        pick = j;
        break;
      }
    }
    srv_item tmp = it[pick];
    memmove(&it[i + 1], &it[i], (pick - i) * sizeof(srv_item));
    it[i] = tmp;
  }
}

static fg_dns_status temp_status(const query *qs, size_t n) {
  int timeout = 0;
  for (size_t i = 0; i < n; i++) {
    if (qs[i].res.status == FG_DNS_RS_CANCELLED) return FG_DNS_CANCELLED;
    if (qs[i].res.status == FG_DNS_RS_SERVFAIL) return FG_DNS_SERVFAIL;
    timeout |= qs[i].res.status == FG_DNS_RS_TIMEOUT;
  }
  return timeout ? FG_DNS_TIMEOUT : FG_DNS_OK;
}

static const char *rstatus_text(fg_dns_rstatus s) {
  static const char *const kText[] = {"ok",      "NXDOMAIN", "no data",
                                      "timeout", "SERVFAIL", "cancelled"};
  return kText[s];
}

static const char *qtype_text(uint16_t type) {
  return type == ns_t_srv           ? "SRV"
         : type == ns_t_a           ? "A"
         : type == FG_DNS_TYPE_TLSA ? "TLSA"
                                    : "AAAA";
}

// describe appends "NAME TYPE: status (why)" for a failed question.
static void describe(char *out, size_t cap, const query *q) {
  size_t len = strlen(out);
  if (len >= cap - 1) return;
  setf(out + len, cap - len, "%s%s %s: %s%s%s%s%s", len ? "; " : "", q->name, qtype_text(q->type),
       rstatus_text(q->res.status), q->res.dnssec == FG_DNSSEC_BOGUS ? ", DNSSEC bogus" : "",
       q->why[0] ? " (" : "", q->why, q->why[0] ? ")" : "");
}

static void set_addr(fg_dns_candidate *c, int v6, const uint8_t *a, uint16_t port) {
  memset(&c->addr, 0, sizeof(c->addr));
  if (v6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->addr;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    memcpy(&s6->sin6_addr, a, 16);
    c->addr_len = sizeof(*s6);
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&c->addr;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    memcpy(&s4->sin_addr, a, 4);
    c->addr_len = sizeof(*s4);
  }
  c->port = port;
}

typedef struct target_ref {
  const char *host;
  uint16_t port, prio, weight;
  int direct_tls;
  fg_dnssec srv_dnssec;  // of the SRV answer that named it
  int numeric;           // static numeric: |addr| below
  const struct sockaddr_storage *addr;
  socklen_t addr_len;
} target_ref;

static const query *find_q(const query *qs, size_t n, const char *name, uint16_t type) {
  for (size_t i = 0; i < n; i++) {
    if (qs[i].type == type && strcmp(qs[i].name, name) == 0) return &qs[i];
  }
  return NULL;
}

static void min_ttl(fg_dns_result *res, uint32_t ttl) {
  if (ttl < res->ttl_s) res->ttl_s = ttl;
}

// tlsa_name writes _port._tcp.host (RFC 6698 §3, RFC 7673 §3.3).
static void tlsa_name(char *out, size_t cap, const target_ref *t) {
  setf(out, cap, "_%u._tcp.%s", t->port, t->host);
}

// wants_tlsa: DANE applies to a target named by a secure SRV answer only
// (RFC 7673 §3.3).
static int wants_tlsa(const fg_dns *dns, const target_ref *t) {
  return dns->cfg.dane && !t->numeric && t->srv_dnssec == FG_DNSSEC_SECURE;
}

// add_tlsa_answer records the TLSA lookup |q| in |res| and returns its index.
static int add_tlsa_answer(fg_dns_result *res, const query *q, const target_ref *t) {
  for (size_t i = 0; i < res->num_tlsa; i++) {
    if (res->tlsa[i].port == t->port && strcmp(res->tlsa[i].host, t->host) == 0) return (int)i;
  }
  fg_dns_tlsa_answer *a = &res->tlsa[res->num_tlsa];
  memset(a, 0, sizeof(*a));
  setf(a->host, sizeof(a->host), "%s", t->host);
  a->port = t->port;
  a->dnssec = q->res.dnssec;
  // NXDOMAIN and no data are answers (no TLSA: PKIX rules); anything else
  // leaves the target unauthenticatable.
  a->failed = q->res.status != FG_DNS_RS_OK && q->res.status != FG_DNS_RS_NXDOMAIN &&
              q->res.status != FG_DNS_RS_NODATA;
  if (q->res.dnssec == FG_DNSSEC_BOGUS) a->failed = 1;
  if (a->failed) {
    a->why[0] = 0;
    describe(a->why, sizeof(a->why), q);
  }
  if (q->res.status == FG_DNS_RS_OK && q->res.tlsa != NULL &&
      !fg_dane_rrset_copy(&a->records, q->res.tlsa)) {
    a->failed = 1;
    setf(a->why, sizeof(a->why), "out of memory");
  }
  return (int)res->num_tlsa++;
}

// resolve_targets looks up every named target's AAAA and A (and TLSA where
// DANE applies) at once and emits candidates in target order, each target's
// addresses interleaved IPv6 first. Targets whose answers a validating
// resolver refused (bogus) or whose TLSA lookup failed are left out. Sets
// res->status.
static void resolve_targets(rthread *t, fg_dns_result *res, const target_ref *tg, size_t nt,
                            char *fail, size_t fail_cap) {
  fg_dns *dns = t->dns;
  size_t cap = 3 * nt;
  query *qs = calloc(cap ? cap : 1, sizeof(query));
  res->tlsa = calloc(nt ? nt : 1, sizeof(fg_dns_tlsa_answer));
  if (qs == NULL || res->tlsa == NULL) abort();  // out of memory is fatal
  size_t nq = 0;
  int all_cached = 1;
  for (size_t i = 0; i < nt; i++) {
    if (tg[i].numeric) continue;
    for (int f = 0; f < 3; f++) {
      uint16_t type = f == 0 ? ns_t_aaaa : f == 1 ? ns_t_a : FG_DNS_TYPE_TLSA;
      if ((type == ns_t_aaaa && !dns->cfg.ipv6) || (type == ns_t_a && !dns->cfg.ipv4)) continue;
      char name[NS_MAXDNAME];
      if (type == FG_DNS_TYPE_TLSA) {
        if (!wants_tlsa(dns, &tg[i])) continue;
        tlsa_name(name, sizeof(name), &tg[i]);
        atomic_fetch_add(&dns->st_tlsa, 1);
      } else {
        setf(name, sizeof(name), "%s", tg[i].host);
      }
      if (find_q(qs, nq, name, type) != NULL) continue;
      setf(qs[nq].name, sizeof(qs[nq].name), "%s", name);
      qs[nq++].type = type;
    }
  }
  run_batch(t, qs, nq);
  for (size_t i = 0; i < nq; i++) {
    all_cached &= qs[i].from_cache;
    if (qs[i].res.status == FG_DNS_RS_OK) min_ttl(res, qs[i].res.ttl);
  }
  if (!all_cached) res->from_cache = 0;
  size_t max = dns->cfg.max_candidates;
  for (size_t i = 0; i < nt && res->num_candidates < max; i++) {
    if (tg[i].numeric) {
      fg_dns_candidate *c = &res->candidates[res->num_candidates++];
      memcpy(&c->addr, tg[i].addr, sizeof(c->addr));
      c->addr_len = tg[i].addr_len;
      c->port = tg[i].port;
      c->priority = tg[i].prio;
      c->weight = tg[i].weight;
      c->direct_tls = tg[i].direct_tls;
      c->tlsa = -1;
      setf(c->host, sizeof(c->host), "%s", tg[i].host);
      continue;
    }
    int tlsa = -1;
    if (wants_tlsa(dns, &tg[i])) {
      char name[NS_MAXDNAME];
      tlsa_name(name, sizeof(name), &tg[i]);
      const query *qt = find_q(qs, nq, name, FG_DNS_TYPE_TLSA);
      if (qt != NULL) tlsa = add_tlsa_answer(res, qt, &tg[i]);
      // RFC 7672 §2.2 with RFC 7673 §3.3: a target whose TLSA records
      // cannot be known is not used; the next target may still be.
      if (tlsa >= 0 && res->tlsa[tlsa].failed) {
        res->dnssec_refused++;
        describe(res->dnssec_why, sizeof(res->dnssec_why), find_q(qs, nq, name, FG_DNS_TYPE_TLSA));
        continue;
      }
    }
    const query *q6 = find_q(qs, nq, tg[i].host, ns_t_aaaa);
    const query *q4 = find_q(qs, nq, tg[i].host, ns_t_a);
    // Addresses a validating resolver called bogus are never connected to.
    int bad6 = q6 && q6->res.dnssec == FG_DNSSEC_BOGUS;
    int bad4 = q4 && q4->res.dnssec == FG_DNSSEC_BOGUS;
    size_t n6 = q6 && !bad6 && q6->res.status == FG_DNS_RS_OK ? q6->res.n : 0;
    size_t n4 = q4 && !bad4 && q4->res.status == FG_DNS_RS_OK ? q4->res.n : 0;
    if (bad6) describe(res->dnssec_why, sizeof(res->dnssec_why), q6);
    if (bad4) describe(res->dnssec_why, sizeof(res->dnssec_why), q4);
    if ((bad6 || bad4) && n6 + n4 == 0) res->dnssec_refused++;
    // Interleave (RFC 8305 §4): a broken IPv6 path costs one attempt, not all.
    for (size_t k = 0; k < n6 + n4 && res->num_candidates < max; k++) {
      size_t pair = k / 2;
      int v6;
      size_t idx;
      if (pair < n6 && pair < n4) {
        v6 = (k % 2) == 0;
        idx = pair;
      } else if (n6 > n4) {
        v6 = 1;
        idx = k - n4;
      } else {
        v6 = 0;
        idx = k - n6;
      }
      fg_dns_candidate *c = &res->candidates[res->num_candidates++];
      set_addr(c, v6, v6 ? q6->res.addr[idx] : q4->res.addr[idx], tg[i].port);
      c->priority = tg[i].prio;
      c->weight = tg[i].weight;
      c->direct_tls = tg[i].direct_tls;
      c->srv_dnssec = tg[i].srv_dnssec;
      c->addr_dnssec = v6 ? q6->res.dnssec : q4->res.dnssec;
      c->tlsa = tlsa;
      setf(c->host, sizeof(c->host), "%s", tg[i].host);
    }
  }
  fail[0] = 0;
  for (size_t i = 0; i < nq; i++) {
    if (qs[i].res.status != FG_DNS_RS_OK || qs[i].res.dnssec == FG_DNSSEC_BOGUS) {
      describe(fail, fail_cap, &qs[i]);
    }
  }
  if (res->num_candidates > 0) {
    res->status = FG_DNS_OK;
  } else {
    fg_dns_status tmp = temp_status(qs, nq);
    res->status = tmp != FG_DNS_OK ? tmp : FG_DNS_NO_ADDRESS;
    int all_nx = nq > 0;
    for (size_t i = 0; i < nq; i++) all_nx &= qs[i].res.status == FG_DNS_RS_NXDOMAIN;
    if (all_nx) res->status = FG_DNS_NXDOMAIN;
  }
  batch_cleanup(qs, nq);
  free(qs);
}

static void resolve_static(rthread *t, fg_dns_result *res, const static_entry *se) {
  target_ref *tg = calloc(se->n, sizeof(target_ref));
  if (tg == NULL) {
    res->status = FG_DNS_SERVFAIL;
    setf(res->reason, sizeof(res->reason), "out of memory");
    return;
  }
  for (size_t i = 0; i < se->n; i++) {
    const static_target *s = &se->targets[i];
    tg[i] = (target_ref){.host = s->host,
                         .port = s->port,
                         .direct_tls = s->direct_tls,
                         .numeric = s->numeric,
                         .addr = &s->addr,
                         .addr_len = s->addr_len};
  }
  char fail[192];
  resolve_targets(t, res, tg, se->n, fail, sizeof(fail));
  // A static answer only names hosts; their failures are reported as such.
  if (res->status == FG_DNS_NXDOMAIN) res->status = FG_DNS_NO_ADDRESS;
  if (res->status == FG_DNS_OK) {
    setf(res->reason, sizeof(res->reason), "dns.static: %zu target%s, %zu candidate%s", se->n,
         se->n == 1 ? "" : "s", res->num_candidates, res->num_candidates == 1 ? "" : "s");
  } else {
    setf(res->reason, sizeof(res->reason), "dns.static targets have no address: %s", fail);
  }
  free(tg);
}

static void resolve_dns(rthread *t, fg_dns_result *res) {
  fg_dns *dns = t->dns;
  const char *d = res->domain;
  // RFC 6120 §3.2.1 with XEP-0368 §3: both SRV names together.
  query sq[2];
  memset(sq, 0, sizeof(sq));
  setf(sq[0].name, sizeof(sq[0].name), "_xmpps-server._tcp.%s", d);
  setf(sq[1].name, sizeof(sq[1].name), "_xmpp-server._tcp.%s", d);
  sq[0].type = sq[1].type = ns_t_srv;
  run_batch(t, sq, 2);
  res->from_cache = sq[0].from_cache && sq[1].from_cache;

  srv_item items[2 * FG_DNS_MAX_RECORDS];
  size_t ni = 0;
  int dot = 0;
  for (int s = 0; s < 2; s++) {
    const fg_dns_rrset *set = &sq[s].res;
    if (set->dnssec == FG_DNSSEC_BOGUS) {
      res->dnssec_refused++;
      describe(res->dnssec_why, sizeof(res->dnssec_why), &sq[s]);
    }
    if (set->status != FG_DNS_RS_OK || set->dnssec == FG_DNSSEC_BOGUS) continue;
    min_ttl(res, set->ttl);
    size_t real = 0;
    for (size_t i = 0; i < set->n; i++) {
      if (set->srv[i].dot) continue;
      items[ni++] = (srv_item){.prio = set->srv[i].prio,
                               .weight = set->srv[i].weight,
                               .port = set->srv[i].port,
                               .direct_tls = s == 0,
                               .dnssec = set->dnssec,
                               .target = set->srv[i].target};
      real++;
    }
    // RFC 2782: "." as the target means "decidedly not available". A "."
    // mixed with real targets is a broken zone; the real targets win.
    if (real == 0 && set->n > 0) dot = 1;
  }

  char fail[192];
  if (ni > 0) {
    // XEP-0368 §3: the two services' records form one RFC 2782 set.
    qsort(items, ni, sizeof(srv_item), cmp_prio);
    for (size_t i = 0; i < ni;) {
      size_t j = i;
      while (j < ni && items[j].prio == items[i].prio) j++;
      order_group(dns, &items[i], j - i);
      i = j;
    }
    if (ni > dns->cfg.max_candidates) ni = dns->cfg.max_candidates;
    target_ref tg[2 * FG_DNS_MAX_RECORDS];
    for (size_t i = 0; i < ni; i++) {
      tg[i] = (target_ref){.host = items[i].target,
                           .port = items[i].port,
                           .prio = items[i].prio,
                           .weight = items[i].weight,
                           .direct_tls = items[i].direct_tls,
                           .srv_dnssec = items[i].dnssec};
    }
    resolve_targets(t, res, tg, ni, fail, sizeof(fail));
    if (res->status == FG_DNS_NXDOMAIN) res->status = FG_DNS_NO_ADDRESS;
    if (res->status == FG_DNS_OK) {
      setf(res->reason, sizeof(res->reason), "SRV: %zu target%s, %zu candidate%s", ni,
           ni == 1 ? "" : "s", res->num_candidates, res->num_candidates == 1 ? "" : "s");
    } else {
      setf(res->reason, sizeof(res->reason), "no SRV target of %s has an address: %s", d, fail);
    }
    batch_cleanup(sq, 2);
    return;
  }

  fail[0] = 0;
  for (int s = 0; s < 2; s++) {
    if (sq[s].res.status != FG_DNS_RS_OK) describe(fail, sizeof(fail), &sq[s]);
  }
  fg_dns_status tmp = temp_status(sq, 2);
  if (tmp != FG_DNS_OK) {
    // An unanswered SRV question might have held targets: neither "no
    // service" nor the fallback can be concluded.
    res->status = tmp;
    setf(res->reason, sizeof(res->reason), "SRV lookup for %s failed: %s", d, fail);
  } else if (dot) {
    res->status = FG_DNS_NO_SERVICE;
    setf(res->reason, sizeof(res->reason),
         "%s: SRV target \".\": XMPP server service decidedly not available", d);
  } else {
    // RFC 6120 §3.2.2: no SRV records at all, the domain itself on 5269.
    target_ref tg = {.host = d, .port = FALLBACK_PORT};
    resolve_targets(t, res, &tg, 1, fail, sizeof(fail));
    if (res->status == FG_DNS_OK) {
      setf(res->reason, sizeof(res->reason), "no SRV records; %s:%d, %zu candidate%s", d,
           FALLBACK_PORT, res->num_candidates, res->num_candidates == 1 ? "" : "s");
    } else if (res->status == FG_DNS_NXDOMAIN) {
      setf(res->reason, sizeof(res->reason), "%s does not exist (NXDOMAIN)", d);
    } else {
      setf(res->reason, sizeof(res->reason), "%s: no SRV records and no address: %s", d, fail);
    }
  }
  batch_cleanup(sq, 2);
}

// resolve_host answers fg_dns_resolve_host: the name's own AAAA and A.
static void resolve_host(rthread *t, fg_dns_result *res, uint16_t port) {
  char fail[192];
  target_ref tg = {.host = res->domain, .port = port};
  resolve_targets(t, res, &tg, 1, fail, sizeof(fail));
  if (res->status == FG_DNS_OK) {
    setf(res->reason, sizeof(res->reason), "%s: %zu address%s", res->domain, res->num_candidates,
         res->num_candidates == 1 ? "" : "es");
  } else if (res->status == FG_DNS_NXDOMAIN) {
    setf(res->reason, sizeof(res->reason), "%s does not exist (NXDOMAIN)", res->domain);
  } else {
    setf(res->reason, sizeof(res->reason), "%s: no address: %s", res->domain, fail);
  }
}

static fg_dns_result *result_new(fg_dns *dns, const char *domain) {
  fg_dns_result *res = calloc(1, sizeof(*res));
  if (res == NULL) return NULL;
  res->candidates =
      calloc(dns->cfg.max_candidates ? dns->cfg.max_candidates : 1, sizeof(fg_dns_candidate));
  if (res->candidates == NULL) {
    free(res);
    return NULL;
  }
  setf(res->domain, sizeof(res->domain), "%s", domain);
  res->ttl_s = UINT32_MAX;
  res->from_cache = 1;
  return res;
}

void fg_dns_result_free(fg_dns_result *res) {
  if (res == NULL) return;
  for (size_t i = 0; i < res->num_tlsa; i++) fg_dane_rrset_cleanup(&res->tlsa[i].records);
  free(res->tlsa);
  free(res->candidates);
  free(res);
}

// copy_static returns a private copy of |domain|'s override, or NULL.
static static_entry *copy_static(fg_dns *dns, const char *domain) {
  static_entry *out = NULL;
  pthread_mutex_lock(&dns->slock);
  for (static_entry *e = dns->statics; e != NULL; e = e->next) {
    if (strcmp(e->domain, domain) != 0) continue;
    out = calloc(1, sizeof(*out));
    if (out != NULL) {
      *out = *e;
      out->next = NULL;
      out->targets = malloc(e->n * sizeof(static_target));
      if (out->targets == NULL) {
        free(out);
        out = NULL;
      } else {
        memcpy(out->targets, e->targets, e->n * sizeof(static_target));
      }
    }
    break;
  }
  pthread_mutex_unlock(&dns->slock);
  return out;
}

static void resolve_request(rthread *t, request *rq) {
  fg_dns *dns = t->dns;
  fg_dns_result *res = result_new(dns, rq->domain);
  if (res == NULL) abort();  // out of memory is the only fatal error
  static_entry *se = rq->host_port ? NULL : copy_static(dns, rq->domain);
  if (rq->host_port) {
    resolve_host(t, res, rq->host_port);
  } else if (se != NULL) {
    atomic_fetch_add(&dns->st_static, 1);
    res->from_static = 1;
    resolve_static(t, res, se);
    free(se->targets);
    free(se);
  } else {
    resolve_dns(t, res);
  }
  if (res->status != FG_DNS_OK) {
    res->num_candidates = 0;
    if (res->status == FG_DNS_CANCELLED) {
      setf(res->reason, sizeof(res->reason), "resolver stopped");
    }
  }
  if (res->ttl_s == UINT32_MAX || res->status != FG_DNS_OK) {
    res->ttl_s =
        fg_dns_status_is_temporary(res->status) ? dns->cfg.failure_ttl_s : dns->cfg.negative_ttl_s;
  }
  if (res->status == FG_DNS_OK && res->ttl_s > dns->cfg.max_ttl_s) res->ttl_s = dns->cfg.max_ttl_s;
  rq->cb(rq->arg, res);
}

// --- threads and requests ---

static void *thread_main(void *p) {
  rthread *t = p;
  fg_dns *dns = t->dns;
  for (;;) {
    pthread_mutex_lock(&dns->qlock);
    while (!dns->stopping && dns->qhead == NULL) pthread_cond_wait(&dns->qcond, &dns->qlock);
    request *rq = dns->qhead;
    if (rq != NULL) {
      dns->qhead = rq->next;
      if (dns->qhead == NULL) dns->qtail = NULL;
    }
    int stopping = dns->stopping;
    pthread_mutex_unlock(&dns->qlock);
    if (rq == NULL) break;
    if (stopping) {
      fg_dns_result *res = result_new(dns, rq->domain);
      if (res == NULL) abort();
      res->status = FG_DNS_CANCELLED;
      res->ttl_s = 0;
      setf(res->reason, sizeof(res->reason), "resolver stopped");
      rq->cb(rq->arg, res);
    } else {
      resolve_request(t, rq);
    }
    free(rq);
    pthread_mutex_lock(&dns->qlock);
    dns->pending--;
    pthread_mutex_unlock(&dns->qlock);
  }
  return NULL;
}

static fg_dns_submit submit(fg_dns *dns, const char *domain, uint16_t host_port, fg_dns_cb cb,
                            void *arg) {
  request *rq = calloc(1, sizeof(*rq));
  if (rq == NULL) abort();
  rq->host_port = host_port;
  if (!fg_dns_name_normalize(rq->domain, domain)) {
    free(rq);
    atomic_fetch_add(&dns->st_rejected, 1);
    return FG_DNS_SUBMIT_BAD_NAME;
  }
  rq->cb = cb;
  rq->arg = arg;
  pthread_mutex_lock(&dns->qlock);
  if (dns->stopping || dns->pending >= dns->cfg.max_pending) {
    pthread_mutex_unlock(&dns->qlock);
    free(rq);
    atomic_fetch_add(&dns->st_rejected, 1);
    return FG_DNS_SUBMIT_BUSY;
  }
  dns->pending++;
  if (dns->qtail)
    dns->qtail->next = rq;
  else
    dns->qhead = rq;
  dns->qtail = rq;
  pthread_cond_signal(&dns->qcond);
  pthread_mutex_unlock(&dns->qlock);
  atomic_fetch_add(&dns->st_requests, 1);
  return FG_DNS_QUEUED;
}

fg_dns_submit fg_dns_resolve_xmpp_server(fg_dns *dns, const char *domain, fg_dns_cb cb, void *arg) {
  return submit(dns, domain, 0, cb, arg);
}

fg_dns_submit fg_dns_resolve_host(fg_dns *dns, const char *host, uint16_t port, fg_dns_cb cb,
                                  void *arg) {
  if (port == 0) {
    atomic_fetch_add(&dns->st_rejected, 1);
    return FG_DNS_SUBMIT_BAD_NAME;
  }
  return submit(dns, host, port, cb, arg);
}

// parse_server reads "IPv4[:port]", "IPv6" or "[IPv6][:port]".
static int parse_server(server *s, const char *in) {
  char host[64];
  const char *port = NULL;
  memset(s, 0, sizeof(*s));
  if (in[0] == '[') {
    const char *end = strchr(in, ']');
    if (end == NULL || (size_t)(end - in - 1) >= sizeof(host)) return 0;
    memcpy(host, in + 1, (size_t)(end - in - 1));
    host[end - in - 1] = 0;
    if (end[1] == ':')
      port = end + 2;
    else if (end[1] != 0)
      return 0;
  } else {
    const char *c = strchr(in, ':');
    size_t hl = strlen(in);
    if (c != NULL && strchr(c + 1, ':') == NULL) {  // exactly one colon: IPv4:port
      hl = (size_t)(c - in);
      port = c + 1;
    }
    if (hl >= sizeof(host)) return 0;
    memcpy(host, in, hl);
    host[hl] = 0;
  }
  unsigned long p = 53;
  if (port != NULL) {
    char *e;
    if (*port == 0) return 0;
    p = strtoul(port, &e, 10);
    if (*e != 0 || p == 0 || p > 65535) return 0;
  }
  struct sockaddr_in *s4 = (struct sockaddr_in *)&s->addr;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&s->addr;
  if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)p);
    s->len = sizeof(*s4);
    setf(s->text, sizeof(s->text), "%s#%lu", host, p);
    return 1;
  }
  if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)p);
    s->len = sizeof(*s6);
    setf(s->text, sizeof(s->text), "%s#%lu", host, p);
    return 1;
  }
  return 0;
}

// system_servers takes /etc/resolv.conf's nameservers through res_ninit.
static void system_servers(fg_dns *dns) {
  struct __res_state st;
  memset(&st, 0, sizeof(st));
  if (res_ninit(&st) != 0) return;
  for (int i = 0; i < st.nscount && i < MAXNS && dns->n_servers < MAX_SERVERS; i++) {
    server *s = &dns->servers[dns->n_servers];
    memset(s, 0, sizeof(*s));
    char text[INET6_ADDRSTRLEN] = "";
    if (st.nsaddr_list[i].sin_family == AF_INET) {
      memcpy(&s->addr, &st.nsaddr_list[i], sizeof(struct sockaddr_in));
      s->len = sizeof(struct sockaddr_in);
      inet_ntop(AF_INET, &st.nsaddr_list[i].sin_addr, text, sizeof(text));
    } else if (st._u._ext.nsaddrs[i] != NULL && st._u._ext.nsaddrs[i]->sin6_family == AF_INET6) {
      // glibc keeps IPv6 nameservers in the extension area.
      memcpy(&s->addr, st._u._ext.nsaddrs[i], sizeof(struct sockaddr_in6));
      s->len = sizeof(struct sockaddr_in6);
      inet_ntop(AF_INET6, &st._u._ext.nsaddrs[i]->sin6_addr, text, sizeof(text));
    } else {
      continue;
    }
    uint16_t port = ntohs(((struct sockaddr_in *)&s->addr)->sin_port);
    setf(s->text, sizeof(s->text), "%s#%u", text, port);
    dns->n_servers++;
  }
  res_nclose(&st);
}

fg_dns *fg_dns_new(const fg_dns_config *cfg, char *err, size_t err_len) {
  fg_dns *dns = calloc(1, sizeof(*dns));
  if (dns == NULL) {
    setf(err, err_len, "out of memory");
    return NULL;
  }
  if (cfg != NULL)
    dns->cfg = *cfg;
  else
    fg_dns_config_init(&dns->cfg);
  dns->cfg.nameservers = NULL;  // not kept: parsed below
  if (dns->cfg.threads == 0) dns->cfg.threads = 1;
  if (dns->cfg.threads > MAX_THREADS) dns->cfg.threads = MAX_THREADS;
  if (dns->cfg.max_candidates == 0) dns->cfg.max_candidates = 1;
  if (dns->cfg.max_candidates > 2 * FG_DNS_MAX_RECORDS)
    dns->cfg.max_candidates = 2 * FG_DNS_MAX_RECORDS;
  if (dns->cfg.timeout_ms == 0) dns->cfg.timeout_ms = 1;
  if (!dns->cfg.ipv4 && !dns->cfg.ipv6) {
    setf(err, err_len, "both IPv4 and IPv6 lookups are disabled");
    free(dns);
    return NULL;
  }
  if (cfg != NULL && cfg->n_nameservers > 0) {
    if (cfg->n_nameservers > MAX_SERVERS) {
      setf(err, err_len, "at most %d nameservers", MAX_SERVERS);
      free(dns);
      return NULL;
    }
    for (size_t i = 0; i < cfg->n_nameservers; i++) {
      if (!parse_server(&dns->servers[dns->n_servers++], cfg->nameservers[i])) {
        setf(err, err_len, "nameserver \"%s\": expected IP, IP:port or [IPv6]:port",
             cfg->nameservers[i]);
        free(dns);
        return NULL;
      }
    }
  } else {
    system_servers(dns);
    if (dns->n_servers == 0) {
      setf(err, err_len, "no nameserver in /etc/resolv.conf");
      free(dns);
      return NULL;
    }
  }
  for (size_t i = 0; cfg != NULL && i < cfg->n_trusted_resolvers; i++) {
    server tr;
    size_t k = 0;
    if (!parse_server(&tr, cfg->trusted_resolvers[i])) {
      setf(err, err_len, "trusted resolver \"%s\": expected IP, IP:port or [IPv6]:port",
           cfg->trusted_resolvers[i]);
      free(dns);
      return NULL;
    }
    while (k < dns->n_servers && (dns->servers[k].len != tr.len ||
                                  memcmp(&dns->servers[k].addr, &tr.addr, tr.len) != 0)) {
      k++;
    }
    if (k == dns->n_servers) {
      setf(err, err_len, "trusted resolver \"%s\" is not one of the nameservers",
           cfg->trusted_resolvers[i]);
      free(dns);
      return NULL;
    }
    dns->servers[k].trusted = 1;
    dns->dnssec_ok = 1;
  }
  dns->cfg.trusted_resolvers = NULL;  // not kept: marked on the servers
  uint64_t seed = dns->cfg.rng_seed;
  if (seed == 0 && getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) seed = fg_clock_ns();
  atomic_init(&dns->rng, seed);
  if (!fg_dns_cache_init(&dns->cache, dns->cfg.cache_max_entries, dns->cfg.max_ttl_s,
                         dns->cfg.negative_ttl_s, dns->cfg.failure_ttl_s)) {
    setf(err, err_len, "out of memory");
    free(dns);
    return NULL;
  }
  pthread_mutex_init(&dns->qlock, NULL);
  pthread_cond_init(&dns->qcond, NULL);
  pthread_mutex_init(&dns->slock, NULL);
  dns->threads = calloc(dns->cfg.threads, sizeof(rthread));
  if (dns->threads == NULL) {
    setf(err, err_len, "out of memory");
    fg_dns_free(dns);
    return NULL;
  }
  for (unsigned i = 0; i < dns->cfg.threads; i++) {
    rthread *t = &dns->threads[i];
    t->dns = dns;
    // Each thread has its own resolver state: res_nmkquery is then
    // thread-safe.
    if (res_ninit(&t->res) != 0) {
      setf(err, err_len, "res_ninit failed");
      fg_dns_free(dns);
      return NULL;
    }
    t->res.options |= RES_RECURSE;
    if (pthread_create(&t->tid, NULL, thread_main, t) != 0) {
      res_nclose(&t->res);
      setf(err, err_len, "cannot start a resolver thread");
      fg_dns_free(dns);
      return NULL;
    }
    dns->n_threads++;
  }
  return dns;
}

void fg_dns_free(fg_dns *dns) {
  if (dns == NULL) return;
  pthread_mutex_lock(&dns->qlock);
  dns->stopping = 1;
  atomic_store(&dns->stop, 1);
  pthread_cond_broadcast(&dns->qcond);
  pthread_mutex_unlock(&dns->qlock);
  for (unsigned i = 0; i < dns->n_threads; i++) {
    pthread_join(dns->threads[i].tid, NULL);
    res_nclose(&dns->threads[i].res);
  }
  free(dns->threads);
  fg_dns_cache_cleanup(&dns->cache);
  fg_dns_clear_static(dns);
  pthread_mutex_destroy(&dns->qlock);
  pthread_cond_destroy(&dns->qcond);
  pthread_mutex_destroy(&dns->slock);
  free(dns);
}

static void static_free(static_entry *e) {
  if (e == NULL) return;
  free(e->targets);
  free(e);
}

int fg_dns_set_static(fg_dns *dns, const char *domain, const fg_dns_static_target *targets,
                      size_t n_targets) {
  char d[FG_DNS_NAME_MAX + 1];
  if (!fg_dns_name_normalize(d, domain)) return 0;
  static_entry *ne = NULL;
  if (n_targets > 0) {
    if (n_targets > dns->cfg.max_candidates) return 0;
    ne = calloc(1, sizeof(*ne));
    if (ne == NULL) return 0;
    ne->targets = calloc(n_targets, sizeof(static_target));
    if (ne->targets == NULL) {
      free(ne);
      return 0;
    }
    setf(ne->domain, sizeof(ne->domain), "%s", d);
    ne->n = n_targets;
    for (size_t i = 0; i < n_targets; i++) {
      static_target *s = &ne->targets[i];
      const char *h = targets[i].host;
      s->port = targets[i].port;
      s->direct_tls = targets[i].direct_tls != 0;
      struct sockaddr_in *s4 = (struct sockaddr_in *)&s->addr;
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&s->addr;
      int ok = h != NULL && s->port != 0;
      if (ok && inet_pton(AF_INET, h, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(s->port);
        s->addr_len = sizeof(*s4);
        s->numeric = 1;
        setf(s->host, sizeof(s->host), "%s", h);
      } else if (ok && inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(s->port);
        s->addr_len = sizeof(*s6);
        s->numeric = 1;
        setf(s->host, sizeof(s->host), "%s", h);
      } else if (!ok || !fg_dns_name_normalize(s->host, h)) {
        static_free(ne);
        return 0;
      }
    }
  }
  pthread_mutex_lock(&dns->slock);
  static_entry **pp = &dns->statics;
  while (*pp != NULL && strcmp((*pp)->domain, d) != 0) pp = &(*pp)->next;
  static_entry *old = *pp;
  if (old != NULL) *pp = old->next;
  if (ne != NULL) {
    ne->next = dns->statics;
    dns->statics = ne;
  }
  pthread_mutex_unlock(&dns->slock);
  static_free(old);
  return 1;
}

void fg_dns_clear_static(fg_dns *dns) {
  pthread_mutex_lock(&dns->slock);
  static_entry *e = dns->statics;
  dns->statics = NULL;
  pthread_mutex_unlock(&dns->slock);
  while (e != NULL) {
    static_entry *next = e->next;
    static_free(e);
    e = next;
  }
}

void fg_dns_get_stats(fg_dns *dns, fg_dns_stats *out) {
  out->requests = atomic_load(&dns->st_requests);
  out->rejected = atomic_load(&dns->st_rejected);
  out->queries_sent = atomic_load(&dns->st_queries);
  out->tcp_fallbacks = atomic_load(&dns->st_tcp);
  out->cache_hits = atomic_load(&dns->st_hits);
  out->cache_misses = atomic_load(&dns->st_misses);
  out->timeouts = atomic_load(&dns->st_timeouts);
  out->servfails = atomic_load(&dns->st_servfails);
  out->static_hits = atomic_load(&dns->st_static);
  out->secure = atomic_load(&dns->st_secure);
  out->bogus = atomic_load(&dns->st_bogus);
  out->tlsa_asked = atomic_load(&dns->st_tlsa);
}

void fg_dns_cache_flush(fg_dns *dns) {
  fg_dns_cache_clear(&dns->cache);
}
