// reload.c: hot reload (see reload.h): load and check completely, refuse
// what needs a restart, publish one snapshot to every worker, keep the
// runtime overlay of hosted domains, and remember how the last reload went.
#include "gateway/server/reload.h"

#include "gateway/server/ticket_watch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway/server/blocks.h"
#include "gateway/server/cert_expiry.h"
#include "gateway/server/inbound.h"
#include "gateway/server/link_admin.h"
#include "gateway/server/log.h"
#include "gateway/server/restart_keys.h"
#include "gateway/server/server_internal.h"
#include "gateway/server/stapler.h"
#include "io/listener.h"

// kAckWaitS bounds the wait for the workers to take a new snapshot (a worker
// takes it between two events; only a wedged worker takes longer).
enum { kAckWaitS = 10 };

// overlay_op is one runtime change of the hosted domains.
typedef struct overlay_op {
  int add;  // 1: /domains/add, 0: /domains/remove
  char *domain, *backend, *cert, *key;
} overlay_op;

typedef struct fg_reload_state fg_reload_state;

struct fg_reload_state {
  pthread_mutex_t serial;  // one reload or domain change at a time
  pthread_mutex_t drains;  // fg_server.snap's swap and the operator's drains
  pthread_mutex_t mu;      // what follows, for readers on any thread
  pthread_cond_t acked;
  unsigned pending;  // workers that have not taken the new snapshot yet
  uint64_t generation;
  uint64_t n_ok, n_failed;
  int64_t last_ok_s, last_failed_s;
  int last_failed;       // the last attempt failed
  char last_error[512];  // its first diagnostic
  overlay_op *ops;
  size_t n_ops;
  char *path;  // the file in force
};

static void op_free(overlay_op *op) {
  free(op->domain);
  free(op->backend);
  free(op->cert);
  free(op->key);
}

void fg_reload_result_cleanup(fg_reload_result *r) {
  if (r == NULL) return;
  free(r->diagnostics.data);
  memset(&r->diagnostics, 0, sizeof(r->diagnostics));
}

int fg_reload_state_new(fg_server *srv) {
  fg_reload_state *st = calloc(1, sizeof(*st));
  if (st == NULL) return 0;
  st->path = strdup(srv->boot_cfg->path);
  if (st->path == NULL) {
    free(st);
    return 0;
  }
  pthread_mutex_init(&st->serial, NULL);
  pthread_mutex_init(&st->mu, NULL);
  pthread_mutex_init(&st->drains, NULL);
  pthread_cond_init(&st->acked, NULL);
  st->generation = atomic_load(&srv->snap)->generation;
  st->last_ok_s = (int64_t)time(NULL);
  srv->reload = st;
  return 1;
}

void fg_reload_state_free(fg_server *srv) {
  fg_reload_state *st = srv->reload;
  if (st == NULL) return;
  // A reload still running (an admin request's thread) finishes first.
  pthread_mutex_lock(&st->serial);
  pthread_mutex_unlock(&st->serial);
  for (size_t i = 0; i < st->n_ops; i++) op_free(&st->ops[i]);
  free(st->ops);
  free(st->path);
  pthread_cond_destroy(&st->acked);
  pthread_mutex_destroy(&st->mu);
  pthread_mutex_destroy(&st->drains);
  pthread_mutex_destroy(&st->serial);
  free(st);
  srv->reload = NULL;
}

// --- publication ---

typedef struct switch_msg {
  fg_msg msg;
  fg_server *srv;
  fg_snapshot *snap;  // a reference for the worker
} switch_msg;

// proxy_networks_taken gives this worker's PROXY protocol listeners the
// balancers' networks of |cfg| (restart_keys.c refuses a reload that turns
// the protocol on or off).
static void proxy_networks_taken(fg_worker *w, fg_server *srv, const fg_config *cfg) {
  for (int id = 0; id < FG_LISTENER_COUNT; id++) {
    const fg_config_listener *l = &cfg->listeners[id];
    if (!l->enabled || l->n_proxy_trusted == 0 || srv->ports[id] == 0) continue;
    if (!fg_listener_set_proxy_trusted(w, srv->ports[id], l->proxy_trusted, l->n_proxy_trusted)) {
      fg_log(FG_LOG_SEV_WARN, NULL, NULL,
             "reload: listeners.%s.proxy_protocol.trusted_networks not applied on worker %u "
             "(out of memory): the previous networks stay",
             fg_config_listener_name((fg_listener_id)id), fg_worker_index(w));
    }
  }
}

// take_snapshot runs on each worker between two events: no code of this
// worker holds a pointer into its old snapshot at that moment.
static void take_snapshot(fg_worker *w, fg_msg *m) {
  switch_msg *sm = (switch_msg *)m;
  fg_server *srv = sm->srv;
  worker_state *ws = fg_server_worker_state(srv, w);
  fg_snapshot *old = ws->snap;
  ws->snap = sm->snap;
  ws->links_epoch++;  // the streams' remembered routes were decided with |old|
  fg_snapshot_release(old);
  proxy_networks_taken(w, srv, ws->snap->cfg);
  fg_link_snapshot_taken(ws);
  fg_inbound_snapshot_taken(ws);  // and the streams' remembered domain pairs
  free(sm);
  fg_reload_state *st = srv->reload;
  pthread_mutex_lock(&st->mu);
  if (--st->pending == 0) pthread_cond_signal(&st->acked);
  pthread_mutex_unlock(&st->mu);
}

// publish makes |s| (its reference passes to the server) the snapshot of
// every worker and waits until each has taken it.
static void publish(fg_server *srv, fg_snapshot *s, fg_text *diag) {
  fg_reload_state *st = srv->reload;
  // The operator's drains carry over; none can be set on the old snapshot
  // once the swap is done (fg_reload_set_drained holds the same lock).
  pthread_mutex_lock(&st->drains);
  fg_snapshot *old = atomic_load_explicit(&srv->snap, memory_order_acquire);
  fg_snapshot_copy_drains(s->router, old->router);
  atomic_store_explicit(&srv->snap, s, memory_order_release);
  pthread_mutex_unlock(&st->drains);
  // New trust stores: cached verdicts and outbound sessions verified under
  // the old ones are not trusted again (server_internal.h).
  atomic_fetch_add_explicit(&srv->trust_generation, 1, memory_order_relaxed);
  pthread_mutex_lock(&st->mu);
  st->pending = srv->num_workers;
  pthread_mutex_unlock(&st->mu);
  for (unsigned i = 0; i < srv->num_workers; i++) {
    switch_msg *sm = calloc(1, sizeof(*sm));
    if (sm == NULL) {
      // Out of memory: this worker keeps deciding with the old snapshot
      // until the next reload reaches it.
      pthread_mutex_lock(&st->mu);
      st->pending--;
      pthread_mutex_unlock(&st->mu);
      fg_text_printf(diag, "worker %u: out of memory: still on the previous configuration\n", i);
      continue;
    }
    sm->msg.fn = take_snapshot;
    sm->srv = srv;
    sm->snap = fg_snapshot_up_ref(s);
    fg_worker_post(fg_runtime_worker(srv->rt, i), &sm->msg);
  }
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += kAckWaitS;
  pthread_mutex_lock(&st->mu);
  while (st->pending > 0) {
    if (pthread_cond_timedwait(&st->acked, &st->mu, &until) != 0) {
      fg_text_printf(diag, "%u worker(s) took longer than %d s to take the new configuration\n",
                     st->pending, kAckWaitS);
      break;
    }
  }
  pthread_mutex_unlock(&st->mu);
  fg_snapshot_release(old);
}

void fg_reload_set_drained(fg_server *srv, fg_router *router, size_t backend, size_t address,
                           int drained) {
  fg_reload_state *st = srv->reload;
  pthread_mutex_lock(&st->drains);
  fg_router_set_drained(router, backend, address, drained);
  // The published snapshot lives at least until the lock is released.
  fg_snapshot *published = atomic_load_explicit(&srv->snap, memory_order_acquire);
  fg_snapshot_copy_drains(published->router, router);
  pthread_mutex_unlock(&st->drains);
}

// --- status ---

// first_line copies the first line of |t| that is not a warning (else the
// first line) into |out|.
static void first_line(const fg_text *t, char *out, size_t out_len) {
  const char *text = t->data != NULL ? t->data : "";
  const char *pick = text;
  for (const char *p = text; *p != 0;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
    if (memmem(p, n, ": warning: ", 11) == NULL) {
      pick = p;
      break;
    }
    p += n + (nl != NULL);
  }
  size_t n = strcspn(pick, "\n");
  snprintf(out, out_len, "%.*s", (int)n, pick);
}

// record counts the outcome, logs every diagnostic once and remembers the
// first one of a failure for /ready.
static void record(fg_server *srv, const char *what, fg_reload_outcome outcome,
                   const fg_text *diag) {
  fg_reload_state *st = srv->reload;
  int ok = outcome == FG_RELOAD_OK;
  char first[512] = "";
  if (!ok) first_line(diag, first, sizeof(first));
  // Each line once: the first error goes into the summary line below.
  const char *text = diag->data != NULL ? diag->data : "";
  for (const char *p = text; *p != 0;) {
    size_t n = strcspn(p, "\n");
    int warning = memmem(p, n, ": warning: ", 11) != NULL || ok;
    if (ok || strlen(first) != n || memcmp(first, p, n) != 0) {
      fg_log(warning ? FG_LOG_SEV_WARN : FG_LOG_SEV_ERROR, NULL, NULL, "%s: %.*s", what, (int)n, p);
    }
    p += n + (p[n] == '\n');
  }
  pthread_mutex_lock(&st->mu);
  int64_t now = (int64_t)time(NULL);
  if (ok) {
    st->n_ok++;
    st->last_ok_s = now;
    st->last_failed = 0;
  } else {
    st->n_failed++;
    st->last_failed_s = now;
    st->last_failed = 1;
    snprintf(st->last_error, sizeof(st->last_error), "%s", first);
  }
  uint64_t gen = st->generation;
  pthread_mutex_unlock(&st->mu);
  if (ok) {
    fg_log(FG_LOG_SEV_INFO, NULL, NULL, "%s: configuration generation %llu in force", what,
           (unsigned long long)gen);
  } else {
    fg_log(FG_LOG_SEV_ERROR, NULL, NULL, "%s refused (%s), generation %llu keeps running: %s", what,
           outcome == FG_RELOAD_RESTART_NEEDED ? "needs a restart" : "invalid",
           (unsigned long long)gen, first);
  }
}

// --- the overlay ---

static int apply_op(fg_config *cfg, const overlay_op *op, char *err, size_t err_len) {
  if (op->add) {
    return fg_config_add_domain(cfg, "runtime /domains/add", op->domain, op->backend, op->cert,
                                op->key, err, err_len);
  }
  return fg_config_remove_domain(cfg, "runtime /domains/remove", op->domain, err, err_len);
}

// apply_overlay replays the runtime changes on |cfg|, the file just loaded,
// and marks in |keep| those that still apply. One that no longer does (the
// file now hosts the domain, or no longer does, or lost the backend) leaves
// the overlay once this configuration is published (commit_overlay): the
// file decides. Called with |serial| held.
static void apply_overlay(fg_reload_state *st, fg_config *cfg, unsigned char *keep, fg_text *diag) {
  size_t kept = 0;
  for (size_t i = 0; i < st->n_ops; i++) {
    char err[600];
    keep[i] = (unsigned char)apply_op(cfg, &st->ops[i], err, sizeof(err));
    if (keep[i]) {
      kept++;
      continue;
    }
    fg_text_printf(diag, "%s: warning: runtime change no longer applies, the file decides: %s\n",
                   cfg->path, err);
  }
  if (kept > 0) {
    fg_text_printf(diag,
                   "%s: warning: %zu runtime domain change(s) from the admin API are not in this "
                   "file; they are kept until restart (GET /domains lists them)\n",
                   cfg->path, kept);
  }
}

// commit_overlay drops the changes |keep| does not keep (the configuration
// that left them out is now published).
static void commit_overlay(fg_reload_state *st, const unsigned char *keep) {
  pthread_mutex_lock(&st->mu);
  size_t kept = 0;
  for (size_t i = 0; i < st->n_ops; i++) {
    if (keep[i]) {
      st->ops[kept++] = st->ops[i];
    } else {
      op_free(&st->ops[i]);
    }
  }
  st->n_ops = kept;
  pthread_mutex_unlock(&st->mu);
}

// load reads |path| and the overlay into a new configuration, or returns
// NULL with the diagnostics in |diag|. |*keep| (free it) marks the overlay
// changes that still apply.
static fg_config *load(fg_reload_state *st, const char *path, unsigned char **keep, fg_text *diag) {
  fg_config_diag d;
  fg_config_diag_init(&d);
  fg_config *cfg = fg_config_load(path, &d);
  if (d.text != NULL) fg_text_printf(diag, "%s", d.text);
  if (cfg == NULL && d.errors == 0) fg_text_printf(diag, "%s: cannot be loaded\n", path);
  fg_config_diag_cleanup(&d);
  *keep = calloc(st->n_ops + 1, 1);
  if (cfg != NULL && *keep == NULL) {
    fg_text_printf(diag, "%s: out of memory\n", path);
    fg_config_free(cfg);
    return NULL;
  }
  if (cfg != NULL) apply_overlay(st, cfg, *keep, diag);
  return cfg;
}

// follow_certificates hands the certificates of |s| (collected in |certs|,
// consumed) to the stapler and the expiry warnings. Before |s| is published:
// a certificate stapled before already carries its staple on the first
// handshake of the new snapshot.
static void follow_certificates(fg_server *srv, const fg_snapshot *s, fg_stapler_certs *certs,
                                fg_text *diag) {
  if (!fg_stapler_follow(srv->stapler, certs)) {
    fg_text_printf(diag,
                   "%s: warning: OCSP stapling could not take the new certificates (out of "
                   "memory or worker 0 busy); /certs may show the previous ones\n",
                   s->cfg->path);
  }
  if (!fg_cert_expiry_follow(srv->expiry, s->cfg)) {
    fg_text_printf(diag,
                   "%s: warning: expiry warnings keep the previous certificates (out of memory)\n",
                   s->cfg->path);
  }
}

// install checks |cfg| against what needs a restart, builds its snapshot and
// publishes it. Called with |serial| held; |cfg| is consumed.
static fg_reload_outcome install(fg_server *srv, fg_config *cfg, fg_text *diag) {
  fg_reload_state *st = srv->reload;
  if (fg_restart_keys_check(srv->boot_cfg, cfg, diag) > 0) {
    fg_config_free(cfg);
    return FG_RELOAD_RESTART_NEEDED;
  }
  char err[600] = "";
  char where[512];  // |cfg| is the snapshot's from here on
  snprintf(where, sizeof(where), "%s", cfg->path);
  fg_log_severity level = (fg_log_severity)cfg->log_level;
  fg_stapler_certs *certs = fg_stapler_certs_new();
  if (certs == NULL) {
    fg_config_free(cfg);
    fg_text_printf(diag, "%s: out of memory\n", where);
    return FG_RELOAD_INVALID;
  }
  fg_snapshot *s = fg_snapshot_build(srv, cfg, st->generation + 1, fg_stapler_certs_add, certs, err,
                                     sizeof(err));
  if (s == NULL) {
    fg_stapler_certs_free(certs);
    fg_text_printf(diag, "%s: %s\n", where, err);
    return FG_RELOAD_INVALID;
  }
  uint64_t generation = s->generation;
  fg_log_set_level(level);
  // abuse.block and abuse.allow_only: the lists outlive snapshots; the
  // file's entries replace the source "config" (admin and RTBL entries stay).
  if (!fg_blocks_apply_config(srv->blocks, s->cfg, err, sizeof(err))) {
    fg_text_printf(diag, "%s: warning: abuse lists not replaced (%s); the lists in force stay\n",
                   where, err);
  }
  follow_certificates(srv, s, certs, diag);
  publish(srv, s, diag);
  // The shared ticket keys are read again with the rest (their watcher also
  // re-reads them on its own when the file changes).
  if (srv->tickets != NULL && !fg_ticket_watch_reload(srv->tickets)) {
    fg_text_printf(diag,
                   "%s: warning: tls.ticket_key_file could not be read again; the keys in "
                   "use stay\n",
                   where);
  }
  // Counted once every worker uses it: a reader of the generation can rely
  // on the next stanza following it.
  pthread_mutex_lock(&st->mu);
  st->generation = generation;
  pthread_mutex_unlock(&st->mu);
  return FG_RELOAD_OK;
}

// begin takes the serialising lock; it refuses while the gateway stops.
static int begin(fg_server *srv, fg_reload_result *out) {
  if (out != NULL) memset(out, 0, sizeof(*out));
  // A worker would wait for itself to take the new snapshot.
  const char *why = srv->reload == NULL || atomic_load(&srv->stopping)
                        ? "the gateway is not running: nothing reloaded"
                    : atomic_load(&srv->draining) ? "the gateway is draining: nothing reloaded"
                    : fg_worker_current() != NULL ? "a reload cannot run on a worker thread"
                                                  : NULL;
  if (why != NULL) {
    if (out != NULL) {
      out->outcome = FG_RELOAD_INVALID;
      fg_text_printf(&out->diagnostics, "%s\n", why);
    }
    fg_log(FG_LOG_SEV_ERROR, NULL, NULL, "reload refused: %s", why);
    return 0;
  }
  pthread_mutex_lock(&srv->reload->serial);
  return 1;
}

// finish records the outcome, fills |out| and releases the lock.
static int finish(fg_server *srv, const char *what, fg_reload_outcome outcome, fg_text *diag,
                  fg_reload_result *out) {
  fg_reload_state *st = srv->reload;
  record(srv, what, outcome, diag);
  if (out != NULL) {
    out->outcome = outcome;
    pthread_mutex_lock(&st->mu);
    out->generation = st->generation;
    pthread_mutex_unlock(&st->mu);
    out->diagnostics = *diag;
  } else {
    free(diag->data);
  }
  pthread_mutex_unlock(&st->serial);
  return outcome == FG_RELOAD_OK;
}

int fg_server_reload(fg_server *srv, const char *path, fg_reload_result *out) {
  if (!begin(srv, out)) return 0;
  fg_reload_state *st = srv->reload;
  fg_text diag = {0};
  const char *file = path != NULL ? path : st->path;
  unsigned char *keep = NULL;
  fg_config *cfg = load(st, file, &keep, &diag);
  fg_reload_outcome outcome = cfg != NULL ? install(srv, cfg, &diag) : FG_RELOAD_INVALID;
  if (outcome == FG_RELOAD_OK) commit_overlay(st, keep);
  free(keep);
  if (outcome == FG_RELOAD_OK && path != NULL && strcmp(path, st->path) != 0) {
    char *p = strdup(path);
    if (p != NULL) {
      free(st->path);
      st->path = p;
    }
  }
  return finish(srv, "reload", outcome, &diag, out);
}

// grow_ops makes room for one more overlay change (readers of the overlay
// hold |mu|). It returns the array, or NULL when memory is short.
static overlay_op *grow_ops(fg_reload_state *st) {
  pthread_mutex_lock(&st->mu);
  overlay_op *grown = realloc(st->ops, (st->n_ops + 1) * sizeof(*grown));
  if (grown != NULL) st->ops = grown;
  pthread_mutex_unlock(&st->mu);
  return grown;
}

// record_op adds |op| (published) to the overlay. Removing a domain the
// overlay added cancels that addition instead: the overlay stays the
// shortest list of what differs from the file.
static void record_op(fg_reload_state *st, overlay_op *op) {
  pthread_mutex_lock(&st->mu);
  size_t i = st->n_ops;
  while (!op->add && i > 0 &&
         !(st->ops[i - 1].add && strcasecmp(st->ops[i - 1].domain, op->domain) == 0)) {
    i--;
  }
  if (!op->add && i > 0) {
    op_free(&st->ops[i - 1]);
    memmove(&st->ops[i - 1], &st->ops[i], (st->n_ops - i) * sizeof(st->ops[0]));
    st->n_ops--;
    op_free(op);
  } else {
    st->ops[st->n_ops++] = *op;
  }
  pthread_mutex_unlock(&st->mu);
}

// change applies one more overlay change on top of the file in force.
static int change(fg_server *srv, overlay_op *op, const char *what, fg_reload_result *out) {
  if (!begin(srv, out)) {
    op_free(op);
    return 0;
  }
  fg_reload_state *st = srv->reload;
  fg_text diag = {0};
  unsigned char *keep = NULL;
  fg_config *cfg = load(st, st->path, &keep, &diag);
  fg_reload_outcome outcome = FG_RELOAD_INVALID;
  char err[600];
  overlay_op *grown = NULL;
  if (cfg == NULL) {
    op_free(op);
  } else if (!apply_op(cfg, op, err, sizeof(err))) {
    fg_text_printf(&diag, "%s\n", err);
    fg_config_free(cfg);
    op_free(op);
  } else if ((grown = grow_ops(st)) == NULL) {
    fg_text_printf(&diag, "%s: out of memory\n", what);
    fg_config_free(cfg);
    op_free(op);
  } else {
    outcome = install(srv, cfg, &diag);
    if (outcome == FG_RELOAD_OK) {
      commit_overlay(st, keep);
      record_op(st, op);
    } else {
      op_free(op);
    }
  }
  free(keep);
  return finish(srv, what, outcome, &diag, out);
}

static char *dup_or_null(const char *s) {
  return s != NULL && s[0] != 0 ? strdup(s) : NULL;
}

int fg_server_domain_add(fg_server *srv, const char *domain, const char *backend,
                         const char *cert_file, const char *key_file, fg_reload_result *out) {
  overlay_op op = {1, strdup(domain != NULL ? domain : ""), strdup(backend != NULL ? backend : ""),
                   dup_or_null(cert_file), dup_or_null(key_file)};
  return change(srv, &op, "domain add", out);
}

int fg_server_domain_remove(fg_server *srv, const char *domain, fg_reload_result *out) {
  overlay_op op = {0, strdup(domain != NULL ? domain : ""), NULL, NULL, NULL};
  return change(srv, &op, "domain remove", out);
}

// --- what the admin endpoint shows ---

static void iso_time(char *out, size_t n, int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void fg_reload_describe_status(fg_server *srv, fg_text *out) {
  fg_reload_state *st = srv->reload;
  if (st == NULL) return;
  pthread_mutex_lock(&st->mu);
  if (st->last_failed) {
    char when[32];
    iso_time(when, sizeof(when), st->last_failed_s);
    fg_text_printf(out, "last reload failed at %s (generation %llu still serving): %s\n", when,
                   (unsigned long long)st->generation, st->last_error);
  }
  pthread_mutex_unlock(&st->mu);
}

void fg_reload_metrics(fg_server *srv, fg_text *out) {
  fg_reload_state *st = srv->reload;
  if (st == NULL) return;
  pthread_mutex_lock(&st->mu);
  fg_text_printf(out,
                 "# TYPE fedgate_reloads_total counter\n"
                 "fedgate_reloads_total{result=\"ok\"} %llu\n"
                 "fedgate_reloads_total{result=\"failed\"} %llu\n"
                 "# TYPE fedgate_config_generation gauge\n"
                 "fedgate_config_generation %llu\n"
                 "# TYPE fedgate_config_last_reload_success_timestamp_seconds gauge\n"
                 "fedgate_config_last_reload_success_timestamp_seconds %lld\n",
                 (unsigned long long)st->n_ok, (unsigned long long)st->n_failed,
                 (unsigned long long)st->generation, (long long)st->last_ok_s);
  pthread_mutex_unlock(&st->mu);
}

// overlay_added says whether the overlay added |name| (as normalised in the
// snapshot; the overlay keeps what the operator typed).
static int overlay_added(const fg_reload_state *st, const fg_config_domain *d) {
  char name[FG_DOMAIN_MAX + 3];
  snprintf(name, sizeof(name), "%s%s", d->wildcard ? "*." : "", d->name);
  for (size_t i = 0; i < st->n_ops; i++) {
    if (st->ops[i].add && strcasecmp(st->ops[i].domain, name) == 0) return 1;
  }
  return 0;
}

void fg_reload_describe_domains(fg_server *srv, fg_text *out) {
  fg_reload_state *st = srv->reload;
  const fg_snapshot *s = fg_server_snapshot(srv);
  const fg_config *cfg = s->cfg;
  if (st != NULL) pthread_mutex_lock(&st->mu);
  for (size_t i = 0; i < cfg->n_domains; i++) {
    const fg_config_domain *d = &cfg->domains[i];
    fg_text_printf(out, "domain %s%s backend=%s source=%s\n", d->wildcard ? "*." : "", d->name,
                   cfg->backends[d->backend].name,
                   st != NULL && overlay_added(st, d) ? "overlay" : "file");
  }
  for (size_t i = 0; st != NULL && i < st->n_ops; i++) {
    if (!st->ops[i].add) fg_text_printf(out, "removed %s source=overlay\n", st->ops[i].domain);
  }
  if (st != NULL) pthread_mutex_unlock(&st->mu);
}
