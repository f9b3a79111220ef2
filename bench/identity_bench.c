// identity_bench.c: XMPP identity matches per second on typical
// certificates (crypto/identity), single core.
//
//   bazel run --config=opt //bench:identity_bench [-- --json]
//
// Three certificates: DNS-ID only; SRV-ID + DNS-ID (the usual XMPP server
// certificate); a 50-name SAN with the reference as the last name. For each,
// three measurements:
//   match      fg_identity_match with a pre-normalised reference
//   ref+match  fg_identity_ref_init + fg_identity_match (one handshake's work
//              once the certificate is parsed)
//   parse+match fg_san_parse_cert from DER + ref_init + match + cleanup
// `--json` prints {"matches_per_s": N, ...} where N is the lowest ref+match
// rate of the three certificates.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/mem.h>

#include "crypto/devpki.h"
#include "crypto/identity.h"
#include "crypto/san.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct cert_case {
  const char *name;
  const char *reference;
  uint8_t *der;
  size_t der_len;
  fg_cert_ids ids;
} cert_case;

static volatile int g_sink;

#define MIN_SECONDS 0.4

// rate runs |fn| in growing batches until MIN_SECONDS pass; it returns calls/s.
static double rate(void (*fn)(cert_case *, int), cert_case *c) {
  int batch = 1000;
  for (;;) {
    double t0 = now();
    fn(c, batch);
    double dt = now() - t0;
    if (dt >= MIN_SECONDS) return batch / dt;
    batch = dt > 0.01 ? (int)(batch * (MIN_SECONDS * 1.2 / dt)) : batch * 10;
  }
}

static void run_match(cert_case *c, int n) {
  fg_identity_ref ref;
  fg_identity_ref_init(&ref, (const uint8_t *)c->reference, strlen(c->reference), NULL);
  int hits = 0;
  for (int i = 0; i < n; i++) {
    hits += fg_identity_match(NULL, &c->ids, &ref, 0) == FG_IDENTITY_MATCH;
    __asm__ volatile("" ::: "memory");
  }
  g_sink = hits;
}

static void run_ref_match(cert_case *c, int n) {
  size_t len = strlen(c->reference);
  int hits = 0;
  for (int i = 0; i < n; i++) {
    fg_identity_ref ref;
    fg_identity_ref_init(&ref, (const uint8_t *)c->reference, len, NULL);
    hits += fg_identity_match(NULL, &c->ids, &ref, 0) == FG_IDENTITY_MATCH;
    __asm__ volatile("" ::: "memory");
  }
  g_sink = hits;
}

static void run_parse_match(cert_case *c, int n) {
  size_t len = strlen(c->reference);
  int hits = 0;
  for (int i = 0; i < n; i++) {
    fg_cert_ids ids;
    fg_cert_ids_init(&ids);
    const char *why;
    fg_san_parse_cert(&ids, c->der, c->der_len, &why);
    fg_identity_ref ref;
    fg_identity_ref_init(&ref, (const uint8_t *)c->reference, len, NULL);
    hits += fg_identity_match(NULL, &ids, &ref, 0) == FG_IDENTITY_MATCH;
    fg_cert_ids_cleanup(&ids);
  }
  g_sink = hits;
}

static void make_case(cert_case *c, EVP_PKEY *key, const fg_devpki_name *names, size_t n) {
  fg_devpki_spec spec = {.cn = c->reference,
                         .path_len = -1,
                         .eku = FG_DEVPKI_EKU_SERVER | FG_DEVPKI_EKU_CLIENT,
                         .not_before = 1700000000,
                         .not_after = 1800000000,
                         .names = names,
                         .num_names = n};
  X509 *x = fg_devpki_mint(&spec, key, NULL, NULL);
  uint8_t *der = NULL;
  int len = x != NULL ? i2d_X509(x, &der) : -1;
  X509_free(x);
  if (len <= 0) {
    fprintf(stderr, "identity_bench: cannot mint %s\n", c->name);
    exit(1);
  }
  c->der = der;
  c->der_len = (size_t)len;
  fg_cert_ids_init(&c->ids);
  const char *why = NULL;
  if (!fg_san_parse_cert(&c->ids, der, (size_t)len, &why)) {
    fprintf(stderr, "identity_bench: %s: %s\n", c->name, why);
    exit(1);
  }
  fg_identity_ref ref;
  fg_identity_ref_init(&ref, (const uint8_t *)c->reference, strlen(c->reference), NULL);
  if (fg_identity_match(NULL, &c->ids, &ref, 0) != FG_IDENTITY_MATCH) {
    fprintf(stderr, "identity_bench: %s does not match\n", c->name);
    exit(1);
  }
}

#define NAME(k, s) \
  { (k), (const uint8_t *)(s), sizeof(s) - 1 }

int main(int argc, char **argv) {
  int json = argc > 1 && strcmp(argv[1], "--json") == 0;
  EVP_PKEY *key = fg_devpki_key_p256();
  cert_case cases[3] = {
      {.name = "dns-id only", .reference = "chat.example.com"},
      {.name = "srv-id + dns-id", .reference = "example.com"},
      {.name = "50-name san", .reference = "host49.example.com"},
  };
  fg_devpki_name dns[] = {NAME(FG_DEVPKI_DNS, "chat.example.com")};
  // Typical XMPP server certificate: the SRV-IDs first, then host names.
  fg_devpki_name srv[] = {NAME(FG_DEVPKI_SRV, "_xmpp-client.example.com"),
                          NAME(FG_DEVPKI_DNS, "xmpp.example.com"),
                          NAME(FG_DEVPKI_DNS, "conference.example.com"),
                          NAME(FG_DEVPKI_SRV, "_xmpp-server.example.com")};
  char bufs[50][32];
  fg_devpki_name many[50];
  for (int i = 0; i < 50; i++) {
    snprintf(bufs[i], sizeof(bufs[i]), "host%02d.example.com", i);
    many[i] = (fg_devpki_name){FG_DEVPKI_DNS, (const uint8_t *)bufs[i], strlen(bufs[i])};
  }
  make_case(&cases[0], key, dns, 1);
  make_case(&cases[1], key, srv, 4);
  make_case(&cases[2], key, many, 50);

  double r_match[3], r_ref[3], r_parse[3], lowest = 0;
  for (int i = 0; i < 3; i++) {
    r_match[i] = rate(run_match, &cases[i]);
    r_ref[i] = rate(run_ref_match, &cases[i]);
    r_parse[i] = rate(run_parse_match, &cases[i]);
    if (i == 0 || r_ref[i] < lowest) lowest = r_ref[i];
  }
  if (json) {
    printf("{\"matches_per_s\": %.0f", lowest);
    static const char *keys[] = {"dns_only", "srv_dns", "san50"};
    for (int i = 0; i < 3; i++) {
      printf(
          ", \"%s_match_per_s\": %.0f, \"%s_ref_match_per_s\": %.0f, "
          "\"%s_parse_match_per_s\": %.0f",
          keys[i], r_match[i], keys[i], r_ref[i], keys[i], r_parse[i]);
    }
    printf("}\n");
  } else {
    printf("%-18s %14s %14s %14s\n", "certificate", "match/s", "ref+match/s", "parse+match/s");
    for (int i = 0; i < 3; i++) {
      printf("%-18s %14.0f %14.0f %14.0f\n", cases[i].name, r_match[i], r_ref[i], r_parse[i]);
    }
    printf("matches_per_s (lowest ref+match): %.0f\n", lowest);
  }
  for (int i = 0; i < 3; i++) {
    fg_cert_ids_cleanup(&cases[i].ids);
    OPENSSL_free(cases[i].der);
  }
  EVP_PKEY_free(key);
  return 0;
}
