// tls_resume_test.c: resumption through crypto/tls.c with the shared ticket
// keys and the client session cache: TLS 1.2 and 1.3 tickets issued by one
// server context resume on another that loaded the same key file (two
// instances), a ticket under the previous key resumes after rotation and one
// under a retired key falls back to a full handshake, the server still holds
// the client's certificate after resumption (so inbound authentication can
// re-validate it), and a resumed client carries exactly the verdict of the
// full handshake that created its session: a rejected peer leaves no session,
// a changed trust scope is never offered an old session, a TLS 1.3 session is
// offered once.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/ssl.h>

#include "crypto/session_cache.h"
#include "crypto/ticket_key_file.h"
#include "crypto/ticket_keys.h"
#include "crypto/tls.h"
#include "crypto/tls_testcert.h"
#include "tests/crypto/tls_pair.h"

static fg_tls_cert *g_cert, *g_client_cert;
static fg_tls_sni *g_sni;
static char g_keyfile[300];
static int g_client_calls, g_server_calls;
static enum fg_tls_verify_result g_answer = FG_TLS_VERIFY_OK;
static uint64_t g_scope = 1;

static enum fg_tls_verify_result client_hook(fg_tls_conn *t, const CRYPTO_BUFFER *const *chain,
                                             size_t n, void *arg) {
  g_client_calls++;
  fg_tls_verdict v = {0};
  v.chain = 11;
  v.identity = 22;
  v.revocation = 33;
  fg_tls_conn_set_verdict(t, &v);
  return g_answer;
}

static enum fg_tls_verify_result server_hook(fg_tls_conn *t, const CRYPTO_BUFFER *const *chain,
                                             size_t n, void *arg) {
  g_server_calls++;
  return FG_TLS_VERIFY_UNTRUSTED;
}

static uint64_t scope(void *arg) {
  return g_scope;
}

static fg_tls_ctx *server(fg_ticket_keys *keys) {
  fg_tls_ctx_config cfg = {0};
  cfg.role = FG_TLS_SERVER;
  cfg.sni = g_sni;
  cfg.verify = server_hook;
  cfg.num_tickets = 1;
  cfg.ticket_keys = keys;
  return fg_tls_ctx_new(&cfg);
}

static fg_tls_ctx *client(int tls12, fg_tls_cert *cert) {
  fg_tls_ctx_config cfg = {0};
  cfg.role = FG_TLS_CLIENT;
  cfg.session_cache = 1;
  cfg.client_cert = cert;
  cfg.verify = client_hook;
  cfg.verify_scope = scope;
  fg_tls_ctx *c = fg_tls_ctx_new(&cfg);
  if (tls12) SSL_CTX_set_max_proto_version(fg_tls_ctx_ssl_ctx(c), TLS1_2_VERSION);
  return c;
}

static fg_ticket_keys *keys_load(void) {
  char err[300];
  fg_ticket_keys *k = fg_ticket_keys_new(g_keyfile, err, sizeof(err));
  if (k == NULL) fprintf(stderr, "%s\n", err);
  assert_non_null(k);
  return k;
}

static void rotate(size_t keep, fg_ticket_keys *a, fg_ticket_keys *b) {
  char err[300];
  assert_true(fg_ticket_keys_file_rotate(g_keyfile, keep, err, sizeof(err)));
  assert_int_equal(fg_ticket_keys_reload(a, err, sizeof(err)), FG_TICKET_KEYS_RELOADED);
  assert_int_equal(fg_ticket_keys_reload(b, err, sizeof(err)), FG_TICKET_KEYS_RELOADED);
}

// connect runs one handshake of |c| against |s| with session key |key| and
// the tickets after it; it returns whether the session was resumed.
static int connect_once(fg_tls_ctx *s, fg_tls_ctx *c, const char *key) {
  pair *p = pair_new(s, c, "example.net");
  assert_true(fg_tls_conn_set_session_key(p->c, key));
  assert_true(handshake(p, 0));
  assert_true(fg_tls_conn_write(p->s, (const uint8_t *)"x", 1));  // TLS 1.3 tickets ride here
  pump(p, 0);
  int resumed = fg_tls_conn_resumed(p->c);
  assert_int_equal(resumed, SSL_session_reused(fg_tls_conn_ssl(p->s)));
  pair_free(p);
  return resumed;
}

static int setup(void **state) {
  const char *names[] = {"example.net"};
  const char *cnames[] = {"client.example"};
  g_cert = fg_tls_testcert_new(NULL, names, 1, 0);
  g_client_cert = fg_tls_testcert_new(NULL, cnames, 1, 0);
  g_sni = fg_tls_sni_new();
  fg_tls_sni_add_cert(g_sni, g_cert);
  fg_tls_sni_set_default(g_sni, g_cert);
  const char *base = getenv("TEST_TMPDIR");
  char dir[256];
  snprintf(dir, sizeof(dir), "%s/trXXXXXX", base ? base : "/tmp");
  if (mkdtemp(dir) == NULL) return -1;
  snprintf(g_keyfile, sizeof(g_keyfile), "%s/ticket.keys", dir);
  char err[300];
  return fg_ticket_keys_file_new(g_keyfile, err, sizeof(err)) ? 0 : -1;
}

static int teardown(void **state) {
  fg_tls_sni_free(g_sni);
  fg_tls_cert_free(g_cert);
  fg_tls_cert_free(g_client_cert);
  unlink(g_keyfile);
  return 0;
}

static void across_instances(int tls12) {
  fg_ticket_keys *ka = keys_load(), *kb = keys_load();
  fg_tls_ctx *a = server(ka), *b = server(kb), *c = client(tls12, NULL);
  assert_false(connect_once(a, c, "one"));
  assert_true(connect_once(b, c, "one"));  // a ticket of A opens on B
  assert_true(connect_once(a, c, "one"));
  // A server with its own keys (BoringSSL's default) cannot open them.
  fg_tls_ctx *lone = server(NULL);
  assert_false(connect_once(lone, c, "one"));
  fg_tls_ctx_free(lone);
  fg_tls_ctx_free(a);
  fg_tls_ctx_free(b);
  fg_tls_ctx_free(c);
  fg_ticket_keys_free(ka);
  fg_ticket_keys_free(kb);
}

static void test_rfc8446_4_6_1_tls13_ticket_resumes_on_other_instance(void **state) {
  across_instances(0);
}

static void test_rfc5077_tls12_ticket_resumes_on_other_instance(void **state) {
  across_instances(1);
}

static void rotation(int tls12) {
  fg_ticket_keys *ka = keys_load(), *kb = keys_load();
  fg_tls_ctx *a = server(ka), *b = server(kb), *c = client(tls12, NULL);
  assert_false(connect_once(a, c, "prev"));
  assert_false(connect_once(a, c, "old"));
  rotate(3, ka, kb);
  fg_ticket_keys_stats before;
  fg_ticket_keys_stats_get(kb, &before);
  // Issued under the previous key: resumes, and the new ticket is under
  // the newest key (renewed).
  assert_true(connect_once(b, c, "prev"));
  fg_ticket_keys_stats after;
  fg_ticket_keys_stats_get(kb, &after);
  assert_int_equal(after.renewed, before.renewed + 1);
  // Retire the first key: "old" still holds a ticket under it.
  rotate(1, ka, kb);
  assert_false(connect_once(b, c, "old"));  // full handshake, and it succeeded
  fg_ticket_keys_stats_get(kb, &after);
  assert_true(after.unknown_names >= 1);
  assert_true(connect_once(a, c, "old"));  // the fresh ticket works again
  fg_tls_ctx_free(a);
  fg_tls_ctx_free(b);
  fg_tls_ctx_free(c);
  fg_ticket_keys_free(ka);
  fg_ticket_keys_free(kb);
}

static void test_rfc8446_tls13_rotation_previous_resumes_retired_full(void **state) {
  rotation(0);
}

static void test_rfc5077_tls12_rotation_previous_resumes_retired_full(void **state) {
  rotation(1);
}

static void server_keeps_client_chain(int tls12) {
  fg_ticket_keys *k = keys_load();
  fg_tls_ctx *s = server(k), *c = client(tls12, g_client_cert);
  pair *p = pair_new(s, c, "example.net");
  assert_true(fg_tls_conn_set_session_key(p->c, "cc"));
  g_server_calls = 0;
  assert_true(handshake(p, 0));
  assert_true(fg_tls_conn_write(p->s, (const uint8_t *)"x", 1));
  pump(p, 0);
  assert_int_equal(g_server_calls, 1);
  const STACK_OF(CRYPTO_BUFFER) *full = SSL_get0_peer_certificates(fg_tls_conn_ssl(p->s));
  assert_non_null(full);
  CRYPTO_BUFFER *leaf = sk_CRYPTO_BUFFER_value(full, 0);
  CRYPTO_BUFFER_up_ref(leaf);
  pair_free(p);
  p = pair_new(s, c, "example.net");
  assert_true(fg_tls_conn_set_session_key(p->c, "cc"));
  assert_true(handshake(p, 0));
  assert_true(fg_tls_conn_resumed(p->s));
  assert_int_equal(g_server_calls, 1);  // no verification in a resumed handshake...
  // ...but the chain came back out of the ticket, for the inbound side to
  // judge against today's trust store, per domain (SASL EXTERNAL).
  const STACK_OF(CRYPTO_BUFFER) *again = SSL_get0_peer_certificates(fg_tls_conn_ssl(p->s));
  assert_non_null(again);
  assert_int_equal(sk_CRYPTO_BUFFER_num(again), 1);
  CRYPTO_BUFFER *l2 = sk_CRYPTO_BUFFER_value(again, 0);
  assert_int_equal(CRYPTO_BUFFER_len(l2), CRYPTO_BUFFER_len(leaf));
  assert_memory_equal(CRYPTO_BUFFER_data(l2), CRYPTO_BUFFER_data(leaf), CRYPTO_BUFFER_len(leaf));
  assert_int_equal(fg_tls_conn_verify_result(p->s), 0);  // nothing was decided here
  CRYPTO_BUFFER_free(leaf);
  pair_free(p);
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
  fg_ticket_keys_free(k);
}

static void test_rfc8446_tls13_resumed_server_keeps_client_chain(void **state) {
  server_keeps_client_chain(0);
}

static void test_rfc5077_tls12_resumed_server_keeps_client_chain(void **state) {
  server_keeps_client_chain(1);
}

static void test_resumed_client_carries_full_handshake_verdict(void **state) {
  fg_ticket_keys *k = keys_load();
  fg_tls_ctx *s = server(k), *c = client(0, NULL);
  g_answer = FG_TLS_VERIFY_UNTRUSTED;  // e.g. dialback will have to prove the peer
  g_client_calls = 0;
  assert_false(connect_once(s, c, "v"));
  assert_int_equal(g_client_calls, 1);
  pair *p = pair_new(s, c, "example.net");
  assert_true(fg_tls_conn_set_session_key(p->c, "v"));
  assert_true(handshake(p, 0));
  assert_true(fg_tls_conn_resumed(p->c));
  assert_int_equal(g_client_calls, 1);  // not verified again...
  // ...and not trusted more than the full handshake said.
  assert_int_equal(fg_tls_conn_verify_result(p->c), FG_TLS_VERIFY_UNTRUSTED);
  const fg_tls_verdict *v = fg_tls_conn_verdict(p->c);
  assert_int_equal(v->result, FG_TLS_VERIFY_UNTRUSTED);
  assert_int_equal(v->chain, 11);
  assert_int_equal(v->identity, 22);
  assert_int_equal(v->revocation, 33);
  assert_int_equal(v->scope, g_scope);
  assert_string_equal(v->domain, "example.net");
  assert_true(fg_tls_conn_write(p->s, (const uint8_t *)"x", 1));
  pump(p, 0);  // the fresh ticket keeps the same verdict
  pair_free(p);
  p = pair_new(s, c, "example.net");
  assert_true(fg_tls_conn_set_session_key(p->c, "v"));
  assert_true(handshake(p, 0));
  assert_true(fg_tls_conn_resumed(p->c));
  assert_int_equal(fg_tls_conn_verify_result(p->c), FG_TLS_VERIFY_UNTRUSTED);
  pair_free(p);
  g_answer = FG_TLS_VERIFY_OK;
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
  fg_ticket_keys_free(k);
}

static void test_rejected_peer_leaves_no_session(void **state) {
  fg_ticket_keys *k = keys_load();
  fg_tls_ctx *s = server(k), *c = client(1, NULL);
  g_answer = FG_TLS_VERIFY_REJECT;
  pair *p = pair_new(s, c, "example.net");
  assert_true(fg_tls_conn_set_session_key(p->c, "r"));
  assert_false(handshake(p, 0));
  pair_free(p);
  fg_session_cache_stats st;
  assert_true(fg_tls_ctx_session_stats(c, &st));
  assert_int_equal(st.entries, 0);
  g_answer = FG_TLS_VERIFY_OK;
  g_client_calls = 0;
  assert_false(connect_once(s, c, "r"));
  assert_int_equal(g_client_calls, 1);
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
  fg_ticket_keys_free(k);
}

static void test_changed_scope_is_not_offered_old_session(void **state) {
  fg_ticket_keys *k = keys_load();
  fg_tls_ctx *s = server(k), *c = client(1, NULL);
  g_client_calls = 0;
  assert_false(connect_once(s, c, "sc"));
  assert_true(connect_once(s, c, "sc"));
  g_scope++;  // the trust store was reloaded, or a revocation learned
  assert_false(connect_once(s, c, "sc"));
  assert_int_equal(g_client_calls, 2);  // verified again under the new scope
  assert_true(connect_once(s, c, "sc"));
  // A verdict dropped after the handshake (e.g. a revoked certificate found
  // later) takes its session with it.
  pair *p = pair_new(s, c, "example.net");
  assert_true(fg_tls_conn_set_session_key(p->c, "sc"));
  assert_true(handshake(p, 0));
  fg_tls_conn_forget_session(p->c);
  pair_free(p);
  assert_false(connect_once(s, c, "sc"));
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
  fg_ticket_keys_free(k);
}

// RFC 8446 §4.6.1 and RFC 6120 §13.7: a session verified for one remote
// domain (the key gateway/server/link.c builds: remote, target, local) is
// never offered on a link to another, nor to the same remote for another
// local domain; each gets a full handshake whose certificate is verified.
static void session_keys_stay_apart(int tls12) {
  fg_ticket_keys *k = keys_load();
  fg_tls_ctx *s = server(k), *c = client(tls12, NULL);
  g_client_calls = 0;
  assert_false(connect_once(s, c, "a.example xmpp.example.net local.example"));
  assert_true(connect_once(s, c, "a.example xmpp.example.net local.example"));
  assert_int_equal(g_client_calls, 1);
  // Same server (target), another remote domain; another local domain.
  assert_false(connect_once(s, c, "b.example xmpp.example.net local.example"));
  assert_false(connect_once(s, c, "a.example xmpp.example.net other.example"));
  assert_int_equal(g_client_calls, 3);
  assert_true(connect_once(s, c, "a.example xmpp.example.net local.example"));
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
  fg_ticket_keys_free(k);
}

static void test_rfc8446_4_6_1_tls13_session_of_one_domain_not_offered_to_another(void **state) {
  session_keys_stay_apart(0);
}

static void test_rfc5077_tls12_session_of_one_domain_not_offered_to_another(void **state) {
  session_keys_stay_apart(1);
}

static void test_rfc8446_c_4_tls13_session_offered_once(void **state) {
  fg_ticket_keys *k = keys_load();
  fg_tls_ctx *s = server(k), *c = client(0, NULL);
  assert_false(connect_once(s, c, "once"));
  // Two connections start together: only the first offers the ticket.
  pair *p1 = pair_new(s, c, "example.net"), *p2 = pair_new(s, c, "example.net");
  assert_true(fg_tls_conn_set_session_key(p1->c, "once"));
  assert_true(fg_tls_conn_set_session_key(p2->c, "once"));
  assert_true(fg_tls_conn_start(p1->c));
  assert_true(fg_tls_conn_start(p2->c));  // before p1's fresh ticket arrives
  pump(p1, 0);
  pump(p2, 0);
  assert_true(p1->done_c && p2->done_c && !p1->err_c && !p2->err_c);
  assert_true(fg_tls_conn_resumed(p1->c));
  assert_false(fg_tls_conn_resumed(p2->c));
  pair_free(p1);
  pair_free(p2);
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
  fg_ticket_keys_free(k);
}

static void test_rfc5077_3_3_lifetime_hint_bounds_cached_session(void **state) {
  fg_ticket_keys *k = keys_load();
  fg_tls_ctx *s = server(k), *c = client(1, NULL);
  SSL_CTX_set_timeout(fg_tls_ctx_ssl_ctx(s), 60);  // the hint the server sends
  pair *p = pair_new(s, c, "example.net");
  assert_true(handshake(p, 0));
  SSL_SESSION *sess = SSL_get1_session(fg_tls_conn_ssl(p->c));
  assert_int_equal(SSL_SESSION_get_ticket_lifetime_hint(sess), 60);
  assert_true(SSL_SESSION_get_timeout(sess) > 60);
  fg_session_cache *cache = fg_session_cache_new(16);
  fg_tls_verdict v = {0}, out;
  int64_t t0 = (int64_t)SSL_SESSION_get_time(sess);
  assert_true(fg_session_cache_put(cache, "h", sess, &v, t0));
  SSL_SESSION *got = fg_session_cache_get(cache, "h", 0, t0 + 59, &out);
  assert_non_null(got);
  SSL_SESSION_free(got);
  assert_null(fg_session_cache_get(cache, "h", 0, t0 + 60, &out));
  fg_session_cache_free(cache);
  SSL_SESSION_free(sess);
  pair_free(p);
  fg_tls_ctx_free(s);
  fg_tls_ctx_free(c);
  fg_ticket_keys_free(k);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc8446_4_6_1_tls13_ticket_resumes_on_other_instance),
      cmocka_unit_test(test_rfc5077_tls12_ticket_resumes_on_other_instance),
      cmocka_unit_test(test_rfc8446_tls13_rotation_previous_resumes_retired_full),
      cmocka_unit_test(test_rfc5077_tls12_rotation_previous_resumes_retired_full),
      cmocka_unit_test(test_rfc8446_tls13_resumed_server_keeps_client_chain),
      cmocka_unit_test(test_rfc5077_tls12_resumed_server_keeps_client_chain),
      cmocka_unit_test(test_resumed_client_carries_full_handshake_verdict),
      cmocka_unit_test(test_rejected_peer_leaves_no_session),
      cmocka_unit_test(test_changed_scope_is_not_offered_old_session),
      cmocka_unit_test(test_rfc8446_4_6_1_tls13_session_of_one_domain_not_offered_to_another),
      cmocka_unit_test(test_rfc5077_tls12_session_of_one_domain_not_offered_to_another),
      cmocka_unit_test(test_rfc8446_c_4_tls13_session_offered_once),
      cmocka_unit_test(test_rfc5077_3_3_lifetime_hint_bounds_cached_session),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
