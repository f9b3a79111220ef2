// blocks_bench.c: per-operation cost of the inbound building blocks: router
// lookup and address choice, XEP-0185 key generation/verification, RFC 6120
// §8.3 bounce building. Prints one human line per case, or JSON with --json.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/dialback_key.h"
#include "gateway/s2s/bounce.h"
#include "gateway/config/config.h"
#include "gateway/server/router.h"

#define N_DOMAINS 10000
#define N_WILD 100
#define N_BACKENDS 3
#define N_ADDRS 4

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct result {
  const char *name;
  double ns_per_op;
  long ops;
} result;

static volatile size_t g_sink;

int main(int argc, char **argv) {
  int json = argc > 1 && strcmp(argv[1], "--json") == 0;
  // A configuration with many hosted domains, built in memory.
  static fg_config_domain domains[N_DOMAINS + N_WILD];
  static char names[N_DOMAINS + N_WILD][64];
  static fg_config_target targets[N_BACKENDS][N_ADDRS];
  static char hosts[N_BACKENDS][N_ADDRS][32];
  fg_config_backend backends[N_BACKENDS];
  for (int b = 0; b < N_BACKENDS; b++) {
    for (int a = 0; a < N_ADDRS; a++) {
      snprintf(hosts[b][a], sizeof(hosts[b][a]), "10.%d.0.%d", b, a + 1);
      targets[b][a] = (fg_config_target){hosts[b][a], 5269};
    }
    backends[b] = (fg_config_backend){"backend", targets[b], N_ADDRS};
  }
  for (int i = 0; i < N_DOMAINS; i++) {
    snprintf(names[i], sizeof(names[i]), "tenant%d.example.com", i);
    domains[i] = (fg_config_domain){names[i], 0, (size_t)(i % N_BACKENDS), NULL, NULL};
  }
  for (int i = 0; i < N_WILD; i++) {
    snprintf(names[N_DOMAINS + i], sizeof(names[0]), "muc%d.example.net", i);
    domains[N_DOMAINS + i] = (fg_config_domain){names[N_DOMAINS + i], 1, 0, NULL, NULL};
  }
  fg_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.domains = domains;
  cfg.n_domains = N_DOMAINS + N_WILD;
  cfg.backends = backends;
  cfg.n_backends = N_BACKENDS;
  double t0 = now_ns();
  fg_router *r = fg_router_new(&cfg);
  double build_ns = now_ns() - t0;
  if (r == NULL) return 1;

  // Queries: exact hits (mixed case), wildcard hits, misses.
  enum { Q = 4096 };
  static char q_exact[Q][64], q_wild[Q][64], q_miss[Q][64];
  for (int i = 0; i < Q; i++) {
    snprintf(q_exact[i], 64, "Tenant%d.Example.com", (i * 7919) % N_DOMAINS);
    snprintf(q_wild[i], 64, "room%d.muc%d.example.net", i, i % N_WILD);
    snprintf(q_miss[i], 64, "other%d.example.org", i);
  }
  result res[8];
  int nres = 0;
  const long iters = 2000000;
#define BENCH(label, body)                                        \
  do {                                                            \
    double s = now_ns();                                          \
    for (long it = 0; it < iters; it++) {                         \
      body;                                                       \
    }                                                             \
    res[nres++] = (result){label, (now_ns() - s) / iters, iters}; \
  } while (0)
  size_t b;
  fg_route rt;
  BENCH("router_lookup_exact", {
    const char *d = q_exact[it & (Q - 1)];
    g_sink += fg_router_lookup(r, d, strlen(d), &b);
  });
  BENCH("router_lookup_wildcard", {
    const char *d = q_wild[it & (Q - 1)];
    g_sink += fg_router_lookup(r, d, strlen(d), &b);
  });
  BENCH("router_lookup_miss", {
    const char *d = q_miss[it & (Q - 1)];
    g_sink += fg_router_lookup(r, d, strlen(d), &b);
  });
  BENCH("router_route_4_addresses", {
    const char *d = q_exact[it & (Q - 1)];
    g_sink += fg_router_route(r, d, strlen(d), &rt) + rt.address;
  });

  fg_dialback_secret sec;
  fg_dialback_secret_init(&sec, (const uint8_t *)"s3cr3tf0rd14lb4ck", 17);
  uint8_t key[FG_DIALBACK_KEY_LEN];
  const long db_iters = 500000;
  {
    double s = now_ns();
    for (long it = 0; it < db_iters; it++) {
      g_sink += fg_dialback_key_generate(&sec, key, "xmpp.example.com", 16, "example.org", 11,
                                         "D60000229F", 10);
    }
    res[nres++] = (result){"dialback_key_generate", (now_ns() - s) / db_iters, db_iters};
    s = now_ns();
    for (long it = 0; it < db_iters; it++) {
      g_sink += fg_dialback_key_verify(&sec, "xmpp.example.com", 16, "example.org", 11,
                                       "D60000229F", 10, key, sizeof(key));
    }
    res[nres++] = (result){"dialback_key_verify", (now_ns() - s) / db_iters, db_iters};
  }
  fg_dialback_secret_cleanup(&sec);

  fg_bounce_stanza st = {FG_STANZA_MESSAGE,
                         "chat",
                         4,
                         "juliet@capulet.example/balcony",
                         30,
                         "romeo@montague.example/garden",
                         29,
                         "a1b2c3d4",
                         8};
  uint8_t out[1024];
  size_t out_len;
  BENCH("bounce_build", {
    g_sink += fg_bounce_build(out, &out_len, sizeof(out), &st, FG_STANZA_REMOTE_SERVER_TIMEOUT,
                              FG_STANZA_ERROR_TYPE_DEFAULT, NULL, NULL) +
              out_len;
  });

  if (json) {
    printf("{\"bench\":\"blocks\",\"router_domains\":%d,\"router_build_ms\":%.2f,\"results\":[",
           N_DOMAINS + N_WILD, build_ns / 1e6);
    for (int i = 0; i < nres; i++) {
      printf("%s{\"name\":\"%s\",\"ns_per_op\":%.1f,\"ops\":%ld}", i ? "," : "", res[i].name,
             res[i].ns_per_op, res[i].ops);
    }
    printf("]}\n");
  } else {
    printf("router build: %d domains in %.2f ms\n", N_DOMAINS + N_WILD, build_ns / 1e6);
    for (int i = 0; i < nres; i++) {
      printf("%-26s %8.1f ns/op  (%.2f M ops/s, %ld ops)\n", res[i].name, res[i].ns_per_op,
             1e3 / res[i].ns_per_op, res[i].ops);
    }
  }
  fg_router_free(r);
  return 0;
}
