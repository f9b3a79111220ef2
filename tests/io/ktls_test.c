// ktls_test.c: kernel TLS. Key/IV derivation runs everywhere (RFC 8448
// vectors); attaching to real sockets skips, with the reason, on kernels
// without the `tls` ULP.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/digest.h>

#include "io/conn.h"
#include "io/ktls.h"
#include "io/listener.h"
#include "io/worker.h"
#include "tests/io/testnet.h"

static void unhex(uint8_t *out, const char *hex) {
  for (size_t i = 0; hex[2 * i]; i++) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
}

typedef struct vec {
  const char *what, *secret, *key, *iv;
} vec;

// RFC 8448 §3 (Simple 1-RTT Handshake, TLS_AES_128_GCM_SHA256).
static const vec kRfc8448[] = {
    {"server handshake", "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
     "3fce516009c21727d0f2e4e86ee403bc", "5d313eb2671276ee13000b30"},
    {"client handshake", "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21",
     "dbfaa693d1762c5b666af5d950258d01", "5bd3c71b836e0b76bb73265f"},
    {"server application", "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
     "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984"},
    {"client application", "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
     "17422dda596ed5d9acd890e3c63f5051", "5b78923dee08579033e523d9"},
};

static void test_rfc8448_3_traffic_key_and_iv(void **state) {
  for (size_t i = 0; i < sizeof(kRfc8448) / sizeof(kRfc8448[0]); i++) {
    uint8_t secret[32], want_key[16], want_iv[12], key[32], iv[12];
    size_t key_len = 0;
    unhex(secret, kRfc8448[i].secret);
    unhex(want_key, kRfc8448[i].key);
    unhex(want_iv, kRfc8448[i].iv);
    assert_true(fg_ktls_derive(0x1301, secret, sizeof(secret), key, &key_len, iv));
    assert_int_equal(key_len, 16);
    assert_memory_equal(key, want_key, 16);
    assert_memory_equal(iv, want_iv, 12);
  }
}

// RFC 8448 §3: "derive secret for handshake tls13 derived" is
// HKDF-Expand-Label(early_secret, "derived", SHA-256(""), 32).
static void test_rfc8448_3_expand_label_with_context(void **state) {
  uint8_t early[32], empty_hash[32], want[32], out[32];
  unhex(early, "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a");
  unhex(empty_hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  unhex(want, "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba");
  assert_true(
      fg_ktls_hkdf_expand_label(EVP_sha256(), early, 32, "derived", empty_hash, 32, out, 32));
  assert_memory_equal(out, want, 32);
}

static void test_rfc8446_7_2_next_secret_and_suites(void **state) {
  uint8_t secret[48] = {1}, next[48], again[48];
  assert_true(fg_ktls_next_secret(0x1301, secret, 32, next));
  assert_true(
      fg_ktls_hkdf_expand_label(EVP_sha256(), secret, 32, "traffic upd", NULL, 0, again, 32));
  assert_memory_equal(next, again, 32);
  assert_true(fg_ktls_next_secret(0x1302, secret, 48, next));
  assert_false(fg_ktls_next_secret(0x1302, secret, 32, next));  // wrong length for SHA-384
  assert_true(fg_ktls_suite_supported(0x1303));
  assert_false(fg_ktls_suite_supported(0xc02b));  // TLS 1.2 suite: stays in user space
  uint8_t key[32], iv[12];
  size_t key_len;
  assert_true(fg_ktls_derive(0x1303, secret, 32, key, &key_len, iv));
  assert_int_equal(key_len, 32);
}

// On a kernel with the ULP: TLS 1.3 connections move to kTLS both ways and
// echo still works (1-byte records, then a large block). Elsewhere: skip.
static void test_ktls_attach_echo(void **state) {
  char why[200];
  if (!fg_ktls_probe(why, sizeof(why))) {
    print_message("skipping: %s\n", why);
    skip();
  }
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 1;
  fg_runtime *rt = fg_runtime_new(&o);
  tn_echo_reset();
  fg_tls_ctx *sctx = tn_server_ctx("example.net", 1, 1);
  fg_listener_config lc = {0};
  lc.tls = sctx;
  lc.handler = &tn_echo_handler;
  uint16_t port;
  assert_true(fg_runtime_listen(rt, &lc, &port));
  int fd = tn_connect(port);
  SSL *ssl = tn_ssl_client(fd, "example.net", 1);
  assert_non_null(ssl);
  for (int i = 0; i < 100; i++) {
    uint8_t b = (uint8_t)i, r;
    assert_int_equal(SSL_write(ssl, &b, 1), 1);
    assert_int_equal(SSL_read(ssl, &r, 1), 1);
    assert_int_equal(r, b);
  }
  static uint8_t big[1 << 20], back[1 << 20];
  for (size_t i = 0; i < sizeof(big); i++) big[i] = (uint8_t)(i * 13);
  assert_int_equal(SSL_write(ssl, big, sizeof(big)), sizeof(big));
  assert_true(tn_ssl_read_full(ssl, back, sizeof(back)));
  assert_memory_equal(big, back, sizeof(big));
  SSL_shutdown(ssl);
  SSL_free(ssl);
  close(fd);
  assert_true(tn_wait_until(&tn_echo_closed, 1, 5000));
  fg_runtime_shutdown(rt, 1000);
  fg_worker_stats st;
  fg_runtime_stats(rt, &st);
  print_message("ktls attached %llu, fallbacks %llu\n", (unsigned long long)st.ktls_attached,
                (unsigned long long)st.ktls_fallbacks);
  assert_int_equal(st.ktls_attached + st.ktls_fallbacks, 1);
  fg_runtime_free(rt);
  fg_tls_ctx_free(sctx);
}

// Without the ULP (or with secrets not captured) a connection that asked for
// kTLS falls back to user space and is counted as such.
static void test_ktls_absent_falls_back_to_user_space(void **state) {
  char why[200];
  if (fg_ktls_probe(why, sizeof(why))) {
    print_message("skipping: this kernel has the tls ULP\n");
    skip();
  }
  fg_worker_options o;
  fg_worker_options_init(&o);
  o.workers = 1;
  fg_runtime *rt = fg_runtime_new(&o);
  tn_echo_reset();
  fg_tls_ctx *sctx = tn_server_ctx("example.net", 1, 1);
  fg_listener_config lc = {0};
  lc.tls = sctx;
  lc.handler = &tn_echo_handler;
  uint16_t port;
  assert_true(fg_runtime_listen(rt, &lc, &port));
  int fd = tn_connect(port);
  SSL *ssl = tn_ssl_client(fd, "example.net", 1);
  assert_non_null(ssl);
  uint8_t r;
  assert_int_equal(SSL_write(ssl, "k", 1), 1);
  assert_int_equal(SSL_read(ssl, &r, 1), 1);
  SSL_free(ssl);
  close(fd);
  assert_true(tn_wait_until(&tn_echo_closed, 1, 5000));
  fg_runtime_shutdown(rt, 1000);
  fg_worker_stats st;
  fg_runtime_stats(rt, &st);
  assert_int_equal(st.ktls_attached, 0);
  assert_int_equal(st.ktls_fallbacks, 1);
  fg_runtime_free(rt);
  fg_tls_ctx_free(sctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc8448_3_traffic_key_and_iv),
      cmocka_unit_test(test_rfc8448_3_expand_label_with_context),
      cmocka_unit_test(test_rfc8446_7_2_next_secret_and_suites),
      cmocka_unit_test(test_ktls_attach_echo),
      cmocka_unit_test(test_ktls_absent_falls_back_to_user_space),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
