// testnet.h: helpers for the runtime tests: certificates, TLS contexts,
// blocking loopback clients, an echo handler.
#ifndef FEDGATE_TESTS_IO_TESTNET_H
#define FEDGATE_TESTS_IO_TESTNET_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "crypto/tls.h"
#include "io/conn.h"

// tn_raise_nofile raises RLIMIT_NOFILE to its hard limit and returns it.
long tn_raise_nofile(void);

// tn_server_ctx returns a server context whose SNI index holds one ECDSA
// P-256 certificate for |name| (also the default).
fg_tls_ctx *tn_server_ctx(const char *name, int direct_tls, int capture_secrets);

// tn_client_ctx returns a client context whose verify hook accepts any chain
// as FG_TLS_VERIFY_UNTRUSTED and counts calls in tn_verify_calls.
fg_tls_ctx *tn_client_ctx(int direct_tls, int session_cache);
extern atomic_int tn_verify_calls;

// tn_connect opens a blocking TCP connection to 127.0.0.1:|port|.
int tn_connect(uint16_t port);

// tn_ssl_client performs a blocking TLS client handshake over |fd| (SNI
// |name|, ALPN xmpp-server if |alpn|). It returns NULL on failure.
SSL *tn_ssl_client(int fd, const char *name, int alpn);

// tn_read_full reads exactly |n| bytes (plain socket). It returns 1 or 0.
int tn_read_full(int fd, uint8_t *out, size_t n);

// tn_ssl_read_full reads exactly |n| bytes over TLS. It returns 1 or 0.
int tn_ssl_read_full(SSL *ssl, uint8_t *out, size_t n);

// tn_wait_until polls |*v| until it is >= |target| or |ms| pass. It returns 1
// if reached.
int tn_wait_until(atomic_long *v, long target, unsigned ms);

// The echo server: sends back every byte, pausing its own reading while its
// output is above the high-water mark. Counters below are global.
extern const fg_conn_handler tn_echo_handler;
extern atomic_long tn_echo_open, tn_echo_closed, tn_echo_bytes;
extern atomic_long tn_echo_reason[16];
void tn_echo_reset(void);

// tn_echo_once connects to 127.0.0.1:|port|, sends four bytes and reads
// them back. It returns 1, or 0 when any of that failed.
int tn_echo_once(uint16_t port);

// tn_sleep_ms sleeps |ms| milliseconds.
void tn_sleep_ms(unsigned ms);

// tn_notice is a fg_worker_options.notice hook that keeps every line (up to
// 8 KiB in all); tn_notice_count returns how many kept lines hold |what|,
// and tn_notices_print prints them all. Any thread.
void tn_notice(const char *text);
int tn_notice_count(const char *what);
void tn_notices_print(void);

// tn_runtime_new starts a runtime of |workers| workers whose notices go to
// tn_notice, with the echo counters reset. It returns NULL on failure.
fg_runtime *tn_runtime_new(unsigned workers);

#endif  // FEDGATE_TESTS_IO_TESTNET_H
