// cert_expiry.c: daily expiry warnings about our own certificates
// (cert_expiry.h).
#include "gateway/server/cert_expiry.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gateway/server/log.h"

enum { kDayS = 86400, kDomainsMax = 512 };

typedef struct watched {
  char *file;
  char domains[kDomainsMax];
  int64_t not_after;
} watched;

// watch_list is the certificates of one configuration.
typedef struct watch_list {
  watched *certs;
  size_t n;
} watch_list;

struct fg_cert_expiry {
  watch_list *list;  // worker 0's once started
  fg_worker *w;      // worker 0
  fg_timer timer;
  fg_msg start;
};

// swap_msg hands worker 0 the list of a reloaded configuration.
typedef struct swap_msg {
  fg_msg msg;
  fg_cert_expiry *e;
  watch_list *list;
} swap_msg;

fg_cert_expiry_state fg_cert_expiry_judge(int64_t not_after, int64_t now, int64_t *days_left) {
  int64_t left = not_after - now;
  // Whole days, rounded towards "less time": 4.9 days left is 4.
  *days_left = left >= 0 ? left / kDayS : -((-left + kDayS - 1) / kDayS);
  if (left <= 0) return FG_CERT_EXPIRY_EXPIRED;
  return left <= (int64_t)FG_CERT_EXPIRY_WARN_DAYS * kDayS ? FG_CERT_EXPIRY_SOON
                                                           : FG_CERT_EXPIRY_OK;
}

// not_after_of reads the first certificate of the PEM file |path|; 0 when
// it cannot (the server refused to start with it anyway).
static int64_t not_after_of(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if (x == NULL) return 0;
  int days = 0, secs = 0;
  int64_t t = 0;
  if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x))) {
    t = (int64_t)time(NULL) + (int64_t)days * kDayS + secs;
  }
  X509_free(x);
  return t;
}

static watched *find_or_add(watch_list *e, const char *file) {
  for (size_t i = 0; i < e->n; i++) {
    if (strcmp(e->certs[i].file, file) == 0) return &e->certs[i];
  }
  watched *w = &e->certs[e->n];
  w->file = strdup(file);
  if (w->file == NULL) return NULL;
  w->not_after = not_after_of(file);
  e->n++;
  return w;
}

static void add_domain(watched *w, const char *domain) {
  size_t len = strlen(w->domains);
  snprintf(w->domains + len, sizeof(w->domains) - len, "%s%s", len ? ", " : "", domain);
}

static void check_all(const watch_list *e) {
  int64_t now = (int64_t)time(NULL);
  for (size_t i = 0; i < e->n; i++) {
    const watched *w = &e->certs[i];
    if (w->not_after == 0) continue;
    int64_t days = 0;
    char when[32] = "";
    time_t na = (time_t)w->not_after;
    struct tm tm;
    if (gmtime_r(&na, &tm) != NULL) strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *domains = w->domains[0] ? w->domains : "default certificate";
    switch (fg_cert_expiry_judge(w->not_after, now, &days)) {
      case FG_CERT_EXPIRY_OK:
        break;
      case FG_CERT_EXPIRY_SOON:
        fg_log(FG_LOG_SEV_WARN, NULL, NULL,
               "certificate %s (%s) expires in %lld days (notAfter %s): renew it and reload",
               w->file, domains, (long long)days, when);
        break;
      case FG_CERT_EXPIRY_EXPIRED:
        fg_log(FG_LOG_SEV_ERROR, NULL, NULL,
               "certificate %s (%s) expired %lld days ago (notAfter %s): remote servers refuse "
               "it",
               w->file, domains, (long long)-days, when);
        break;
    }
  }
}

static void daily(fg_timer *t, void *arg) {
  fg_cert_expiry *e = arg;
  check_all(e->list);
  fg_worker_timer_arm(fg_worker_current(), t, (uint64_t)kDayS * 1000);
}

static void arm_on_worker(fg_worker *w, fg_msg *m) {
  fg_cert_expiry *e = (fg_cert_expiry *)((char *)m - offsetof(fg_cert_expiry, start));
  fg_timer_init(&e->timer, daily, e);
  fg_worker_timer_arm(w, &e->timer, (uint64_t)kDayS * 1000);
}

static void list_free(watch_list *l) {
  if (l == NULL) return;
  for (size_t i = 0; i < l->n; i++) free(l->certs[i].file);
  free(l->certs);
  free(l);
}

// list_of reads the certificates |cfg| names, with the domains each serves.
static watch_list *list_of(const fg_config *cfg) {
  watch_list *l = calloc(1, sizeof(*l));
  if (l == NULL) return NULL;
  l->certs = calloc(cfg->n_domains + 1, sizeof(watched));
  if (l->certs == NULL) {
    free(l);
    return NULL;
  }
  for (size_t i = 0; i < cfg->n_domains; i++) {
    const fg_config_domain *d = &cfg->domains[i];
    const char *file = d->cert_file != NULL ? d->cert_file : cfg->tls.default_cert_file;
    if (file == NULL) continue;
    watched *w = find_or_add(l, file);
    if (w == NULL) continue;
    char name[264];
    snprintf(name, sizeof(name), "%s%s", d->wildcard ? "*." : "", d->name);
    add_domain(w, name);
  }
  if (cfg->tls.default_cert_file != NULL) find_or_add(l, cfg->tls.default_cert_file);
  return l;
}

fg_cert_expiry *fg_cert_expiry_start(const fg_config *cfg, fg_runtime *rt) {
  fg_cert_expiry *e = calloc(1, sizeof(*e));
  if (e == NULL) return NULL;
  e->list = list_of(cfg);
  if (e->list == NULL) {
    free(e);
    return NULL;
  }
  check_all(e->list);
  e->w = fg_runtime_worker(rt, 0);
  e->start.fn = arm_on_worker;
  fg_worker_post(e->w, &e->start);
  return e;
}

// swap_on_worker runs on worker 0, where the daily timer reads the list.
static void swap_on_worker(fg_worker *w, fg_msg *m) {
  (void)w;
  swap_msg *sm = (swap_msg *)m;
  watch_list *old = sm->e->list;
  sm->e->list = sm->list;
  check_all(sm->e->list);
  list_free(old);
  free(sm);
}

int fg_cert_expiry_follow(fg_cert_expiry *e, const fg_config *cfg) {
  if (e == NULL) return 1;
  swap_msg *sm = calloc(1, sizeof(*sm));
  watch_list *l = sm != NULL ? list_of(cfg) : NULL;
  if (l == NULL) {
    free(sm);
    return 0;
  }
  sm->msg.fn = swap_on_worker;
  sm->e = e;
  sm->list = l;
  fg_worker_post(e->w, &sm->msg);
  return 1;
}

void fg_cert_expiry_free(fg_cert_expiry *e) {
  if (e == NULL) return;
  list_free(e->list);
  free(e);
}
