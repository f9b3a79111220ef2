// bidi_hop_test.c: which stanzas a backend sends back on a bidirectional hop
// link are trusted (XEP-0288 §4): no more than the internal listener would
// trust a stream from the same place, proved the same way.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/server/bidi_hop.h"
#include "gateway/server/router.h"

static fg_config_target kMainAddrs[] = {{"10.0.0.1", 5269}, {"10.0.0.2", 5269}};
static fg_config_target kMucAddrs[] = {{"10.0.1.1", 5269}};
static fg_config_backend kBackends[] = {{"main", kMainAddrs, 2}, {"muc", kMucAddrs, 1}};
static fg_config_domain kDomains[] = {
    {"example.com", 0, 0, NULL, NULL},
    {"muc.example.com", 0, 1, NULL, NULL},
};

typedef struct world {
  fg_config cfg;
  fg_snapshot snap;
  resolved_target main[2], muc[1];
  resolved_target *targets[2];
} world;

static void target(resolved_target *t, const char *ip) {
  struct sockaddr_in *a = (struct sockaddr_in *)&t->addr;
  memset(t, 0, sizeof(*t));
  a->sin_family = AF_INET;
  a->sin_port = htons(5269);
  assert_int_equal(inet_pton(AF_INET, ip, &a->sin_addr), 1);
  t->addr_len = sizeof(*a);
}

static int setup(void **state) {
  static world w;
  memset(&w, 0, sizeof(w));
  w.cfg.domains = kDomains;
  w.cfg.n_domains = 2;
  w.cfg.backends = kBackends;
  w.cfg.n_backends = 2;
  w.cfg.dialback.enabled = 1;
  target(&w.main[0], "10.0.0.1");
  target(&w.main[1], "10.0.0.2");
  target(&w.muc[0], "10.0.1.1");
  w.targets[0] = w.main;
  w.targets[1] = w.muc;
  w.snap.cfg = &w.cfg;
  w.snap.router = fg_router_new(&w.cfg);
  w.snap.backend_targets = w.targets;
  *state = &w;
  return w.snap.router == NULL ? -1 : 0;
}

static int teardown(void **state) {
  fg_router_free(((world *)*state)->snap.router);
  return 0;
}

static struct sockaddr_storage v4(const char *ip) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  struct sockaddr_in *a = (struct sockaddr_in *)&ss;
  a->sin_family = AF_INET;
  a->sin_port = htons(40000);  // the port never matters, only the address
  assert_int_equal(inet_pton(AF_INET, ip, &a->sin_addr), 1);
  return ss;
}

static struct sockaddr_storage v6(const char *ip) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
  a->sin6_family = AF_INET6;
  assert_int_equal(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
  return ss;
}

static const char *refusal(world *w, fg_auth_method proof, const char *hosted,
                           const struct sockaddr_storage *peer) {
  return fg_bidi_hop_refusal(&w->snap, proof, hosted, (const struct sockaddr *)peer);
}

static void test_xep0288_4_backend_proved_by_certificate_at_its_address_is_trusted(void **state) {
  world *w = *state;
  struct sockaddr_storage a = v4("10.0.0.2"), mapped = v6("::ffff:10.0.0.1");
  assert_null(refusal(w, FG_AUTH_PKIX, "example.com", &a));
  assert_null(refusal(w, FG_AUTH_PKIX, "example.com", &mapped));  // IPv4-mapped is its IPv4
  struct sockaddr_storage muc = v4("10.0.1.1");
  assert_null(refusal(w, FG_AUTH_PKIX, "muc.example.com", &muc));
}

static void test_xep0288_4_address_of_another_backend_is_not_trusted(void **state) {
  world *w = *state;
  // The internal listener's rule: only the domain's own backend speaks for it.
  struct sockaddr_storage muc = v4("10.0.1.1"), other = v4("10.0.0.9");
  assert_non_null(refusal(w, FG_AUTH_PKIX, "example.com", &muc));
  assert_non_null(refusal(w, FG_AUTH_PKIX, "example.com", &other));
  assert_non_null(refusal(w, FG_AUTH_PKIX, "not-hosted.example", &other));
  assert_non_null(fg_bidi_hop_refusal(&w->snap, FG_AUTH_PKIX, "example.com", NULL));
}

static void test_xep0288_4_dialback_only_where_dialback_is_accepted(void **state) {
  world *w = *state;
  struct sockaddr_storage a = v4("10.0.0.1");
  assert_null(refusal(w, FG_AUTH_DIALBACK, "example.com", &a));
  w->cfg.dialback.enabled = 0;
  assert_non_null(refusal(w, FG_AUTH_DIALBACK, "example.com", &a));
  w->cfg.dialback.enabled = 1;
  // Never DANE or POSH, which the internal listener does not use.
  assert_non_null(refusal(w, FG_AUTH_DANE_EE, "example.com", &a));
  assert_non_null(refusal(w, FG_AUTH_POSH, "example.com", &a));
  assert_non_null(refusal(w, FG_AUTH_NONE, "example.com", &a));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xep0288_4_backend_proved_by_certificate_at_its_address_is_trusted),
      cmocka_unit_test(test_xep0288_4_address_of_another_backend_is_not_trusted),
      cmocka_unit_test(test_xep0288_4_dialback_only_where_dialback_is_accepted),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
