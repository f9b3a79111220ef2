// tls.h: BoringSSL driven over memory, for the io/ runtime. Ciphertext comes
// in through fg_tls_conn_set_input (borrowed, usually straight from a recv
// buffer) and goes out through a write callback (straight into the
// connection's send queue); no socket BIO, no blocking I/O.
//
// Policy: TLS 1.2 and 1.3 only; TLS 1.2 with ECDHE + AEAD suites only; groups
// X25519, P-256, P-384; ECDSA and RSA certificates; renegotiation refused;
// client certificates requested by servers but optional; every peer chain goes
// to the fg_tls_verify_fn hook (SSL_CTX_set_custom_verify).
#ifndef FEDGATE_CRYPTO_TLS_H
#define FEDGATE_CRYPTO_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/base.h>

#include "crypto/session_cache.h"
#include "crypto/ticket_keys.h"
#include "crypto/tls_sni.h"
#include "crypto/tls_verdict.h"

typedef struct fg_tls_ctx fg_tls_ctx;
typedef struct fg_tls_conn fg_tls_conn;

enum fg_tls_role { FG_TLS_SERVER, FG_TLS_CLIENT };

// fg_tls_verify_result is what the upper layer decides about a peer chain.
enum fg_tls_verify_result {
  FG_TLS_VERIFY_OK = 1,         // chain valid for the expected peer
  FG_TLS_VERIFY_UNTRUSTED = 2,  // continue; peer unauthenticated (dialback may follow)
  FG_TLS_VERIFY_REJECT = 3,     // abort the handshake (bad_certificate)
};

// fg_tls_verify_fn is called once per handshake in which the peer presented
// a certificate, with the chain as sent (leaf first). It runs on the worker
// thread during the handshake and must not block.
typedef enum fg_tls_verify_result (*fg_tls_verify_fn)(fg_tls_conn *t,
                                                      const CRYPTO_BUFFER *const *chain,
                                                      size_t chain_len, void *arg);

typedef struct fg_tls_ctx_config {
  enum fg_tls_role role;
  // direct_tls offers (client) or requires-if-offered (server) ALPN
  // "xmpp-server" (XEP-0368).
  int direct_tls;
  // capture_secrets keeps the TLS 1.3 traffic secrets so the connection can be
  // moved to kernel TLS (io/ktls.h).
  int capture_secrets;
  // tls13_only refuses TLS 1.2.
  int tls13_only;
  // server: the certificate index (not owned; must outlive the context).
  const fg_tls_sni *sni;
  // server, instead of |sni|: returns the index to use for this handshake
  // (called from the handshake's thread; the index must stay valid until
  // the callback returns to the handshake, which copies the certificate).
  const fg_tls_sni *(*sni_current)(void *arg);
  void *sni_arg;
  // client: optional certificate offered when the server asks (a reference is taken).
  fg_tls_cert *client_cert;
  fg_tls_verify_fn verify;
  void *verify_arg;
  // client: remember sessions in a cache shared by every worker (one per
  // context, crypto/session_cache.h) and offer them again, keyed by the
  // connection's session key (fg_tls_conn_set_session_key, else the server
  // name). A resumed connection carries the verdict of the full handshake.
  int session_cache;
  // client: bound of that cache (0: FG_SESSION_CACHE_DEFAULT).
  size_t session_cache_entries;
  // client, optional: the verifier's current scope (what its verdicts depend
  // on: trust store, identity rules, revocation knowledge). A cached session
  // whose verdict was reached under another scope is not offered. NULL: 0.
  uint64_t (*verify_scope)(void *verify_arg);
  // server, optional: the shared ticket keys (crypto/ticket_keys.h; not
  // owned, must outlive the context). NULL: BoringSSL's own per-context key.
  fg_ticket_keys *ticket_keys;
  // client: ask the server for its stapled OCSP response (status_request,
  // RFC 6066 §8); read it with SSL_get0_ocsp_response after the handshake.
  int ocsp_stapling;
  // server: TLS 1.3 tickets to send (0 = BoringSSL's default of 2; -1 = none).
  int num_tickets;
  // optional: peers' certificates are kept once in this pool however many
  // connections present them (it must outlive the context's connections).
  CRYPTO_BUFFER_POOL *buffer_pool;
} fg_tls_ctx_config;

// fg_tls_ctx_new builds a context from |cfg|. The result has one reference.
fg_tls_ctx *fg_tls_ctx_new(const fg_tls_ctx_config *cfg);

// fg_tls_ctx_up_ref adds a reference. Each fg_tls_conn holds one.
void fg_tls_ctx_up_ref(fg_tls_ctx *ctx);

// fg_tls_ctx_free drops a reference; fg_tls_ctx_free(NULL) is a no-op.
void fg_tls_ctx_free(fg_tls_ctx *ctx);

// fg_tls_ctx_ssl_ctx returns the underlying SSL_CTX (for tests and tuning).
SSL_CTX *fg_tls_ctx_ssl_ctx(fg_tls_ctx *ctx);

// fg_tls_ctx_role returns the context's role.
enum fg_tls_role fg_tls_ctx_role(const fg_tls_ctx *ctx);

// fg_tls_ctx_captures_secrets returns cfg->capture_secrets.
int fg_tls_ctx_captures_secrets(const fg_tls_ctx *ctx);

// fg_tls_write_fn receives ciphertext to send, in order. It returns 1, or 0
// to fail the TLS operation (e.g. the send queue is over its hard limit).
typedef int (*fg_tls_write_fn)(void *arg, const uint8_t *data, size_t len);

// fg_tls_conn_new starts a connection in |ctx|'s role. |server_name| (client
// only, may be NULL) is sent as SNI. Output goes to |out(out_arg, ...)|.
fg_tls_conn *fg_tls_conn_new(fg_tls_ctx *ctx, const char *server_name, fg_tls_write_fn out,
                             void *out_arg);

// fg_tls_conn_free frees |t| without sending anything.
void fg_tls_conn_free(fg_tls_conn *t);

enum fg_tls_status {
  FG_TLS_WANT_INPUT = 0,  // everything given has been processed
  FG_TLS_HANDSHAKE_DONE,  // returned once, when the handshake completes
  FG_TLS_DATA,            // |*out_len| > 0 plaintext bytes were written
  FG_TLS_CLOSED,          // peer sent close_notify
  FG_TLS_ERROR,           // fatal; see fg_tls_conn_error
};

// fg_tls_conn_set_input lends |in| to |t| until fg_tls_conn_input_done.
void fg_tls_conn_set_input(fg_tls_conn *t, const uint8_t *in, size_t in_len);

// fg_tls_conn_input_done copies whatever part of the lent input BoringSSL did
// not take into |t|'s staging buffer. It returns 1, or 0 if that would exceed
// 64 KiB (a peer sending faster than we read).
int fg_tls_conn_input_done(fg_tls_conn *t);

// fg_tls_conn_read drives the handshake and decrypts into |out|. Call it until
// it returns FG_TLS_WANT_INPUT, FG_TLS_CLOSED or FG_TLS_ERROR.
enum fg_tls_status fg_tls_conn_read(fg_tls_conn *t, uint8_t *out, size_t out_cap, size_t *out_len);

// fg_tls_conn_start sends the ClientHello (client role; a no-op for servers).
// It returns 1 or 0.
int fg_tls_conn_start(fg_tls_conn *t);

// fg_tls_conn_write encrypts all of |in| once the handshake is done. It
// returns 1 or 0.
int fg_tls_conn_write(fg_tls_conn *t, const uint8_t *in, size_t in_len);

// fg_tls_conn_shutdown queues close_notify. It returns 1 or 0.
int fg_tls_conn_shutdown(fg_tls_conn *t);

// fg_tls_conn_handshake_done returns 1 once the handshake completed.
int fg_tls_conn_handshake_done(const fg_tls_conn *t);

// fg_tls_conn_verify_result returns what the verify hook said (0 if the peer
// sent no certificate); on a resumed client connection, what it said in the
// full handshake that created the session.
int fg_tls_conn_verify_result(const fg_tls_conn *t);

// fg_tls_conn_verdict returns what was concluded about the peer's
// certificate: by the verify hook in a full handshake, or carried by the
// session a client resumed (fg_tls_conn_resumed).
const fg_tls_verdict *fg_tls_conn_verdict(const fg_tls_conn *t);

// fg_tls_conn_set_verdict records the verify hook's details about the peer:
// |v|'s chain, identity and revocation codes and, when not empty, its domain
// (by default the server name). The result is what the hook returns and the
// scope the context's verify_scope. Call it from the hook; the session cache
// keeps the verdict with the session.
void fg_tls_conn_set_verdict(fg_tls_conn *t, const fg_tls_verdict *v);

// fg_tls_conn_resumed returns 1 once a handshake resumed a session.
int fg_tls_conn_resumed(const fg_tls_conn *t);

// fg_tls_conn_set_session_key names the client session cache entry of |t|
// (e.g. "domain target"); call it before fg_tls_conn_start. It returns 1 or 0.
int fg_tls_conn_set_session_key(fg_tls_conn *t, const char *key);

// fg_tls_conn_forget_session drops the cached session of |t|'s key (the peer
// was refused after the handshake, e.g. its certificate found revoked).
void fg_tls_conn_forget_session(fg_tls_conn *t);

// fg_tls_ctx_session_stats fills |out| from a client context's session
// cache. It returns 0 when the context has none.
int fg_tls_ctx_session_stats(fg_tls_ctx *ctx, fg_session_cache_stats *out);

// fg_tls_conn_ctx returns the context |t| was made from.
fg_tls_ctx *fg_tls_conn_ctx(const fg_tls_conn *t);

// fg_tls_conn_error returns a short description of the last error.
const char *fg_tls_conn_error(const fg_tls_conn *t);

// fg_tls_conn_ssl returns the SSL object (peer certificates, cipher, ALPN...).
SSL *fg_tls_conn_ssl(fg_tls_conn *t);

// fg_tls_conn_set_app_data / fg_tls_conn_app_data attach a pointer for the hook.
void fg_tls_conn_set_app_data(fg_tls_conn *t, void *p);
void *fg_tls_conn_app_data(const fg_tls_conn *t);

// fg_tls_conn_staged returns the bytes of ciphertext held in staging (not yet
// given to BoringSSL).
size_t fg_tls_conn_staged(const fg_tls_conn *t);

// fg_tls_conn_take_staged moves up to |cap| staged bytes to |out| and returns
// how many (kTLS hand-over of bytes read but not yet decrypted).
size_t fg_tls_conn_take_staged(fg_tls_conn *t, uint8_t *out, size_t cap);

// fg_tls_conn_set_record_aligned makes the input path hand BoringSSL whole
// records only, so that a partial record is always in staging, never inside
// BoringSSL (needed before moving reception to the kernel).
void fg_tls_conn_set_record_aligned(fg_tls_conn *t, int on);

// fg_tls_conn_record_need returns how many more bytes of ciphertext complete
// the record that staging ends in the middle of: the rest of its 5-byte header
// if that is incomplete, else the rest of its body; 0 when staging ends on a
// record boundary (with record-aligned input on). Reading exactly that many
// bytes from the socket, feeding them in and asking again brings the socket
// to a record boundary (kTLS hand-over).
size_t fg_tls_conn_record_need(const fg_tls_conn *t);

// fg_tls_conn_tickets_received returns how many TLS 1.3 NewSessionTickets
// BoringSSL has processed on |t| (counted when capture_secrets is on).
int fg_tls_conn_tickets_received(const fg_tls_conn *t);

// fg_tls_traffic_secrets holds TLS 1.3 application traffic secrets.
typedef struct fg_tls_traffic_secrets {
  uint16_t cipher_suite;  // IANA number, e.g. 0x1301
  size_t secret_len;
  uint8_t client[48];
  uint8_t server[48];
} fg_tls_traffic_secrets;

// fg_tls_conn_traffic_secrets copies the captured TLS 1.3 application traffic
// secrets into |out|. It returns 1, or 0 if none were captured (TLS 1.2, or
// capture_secrets off) or if they are stale because a KeyUpdate already went
// through BoringSSL (then the connection stays in user space).
int fg_tls_conn_traffic_secrets(const fg_tls_conn *t, fg_tls_traffic_secrets *out);

// fg_tls_conn_set_traffic_secrets replaces the kept secrets (after a
// KeyUpdate handled by kernel TLS).
void fg_tls_conn_set_traffic_secrets(fg_tls_conn *t, const fg_tls_traffic_secrets *in);

// fg_tls_conn_forget_secrets wipes the captured secrets.
void fg_tls_conn_forget_secrets(fg_tls_conn *t);

#endif  // FEDGATE_CRYPTO_TLS_H
