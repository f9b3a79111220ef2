// tls.c: BoringSSL contexts and memory-driven connections.
#include "crypto/tls.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/pool.h>
#include <openssl/ssl.h>

#define STAGING_MAX (64 * 1024)

static const char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
static const uint8_t kAlpnXmppServer[] = "\x0bxmpp-server";

struct fg_tls_ctx {
  atomic_int refs;
  SSL_CTX *ssl_ctx;
  fg_tls_ctx_config cfg;
  fg_session_cache *sessions;  // client: shared by every worker
};

struct fg_tls_conn {
  fg_tls_ctx *ctx;
  char *session_scope;  // client identity the cached session belongs to (may be NULL)
  SSL *ssl;
  BIO *bio;
  fg_tls_write_fn out;
  void *out_arg;
  void *app_data;
  const uint8_t *in;  // lent input
  size_t in_len, in_off;
  uint8_t *staged;  // input BoringSSL has not taken yet
  size_t staged_len, staged_off, staged_cap;
  // Record framing of the bytes already handed to BoringSSL.
  uint8_t hdr[5];
  size_t hdr_have, rec_left;
  int record_aligned;
  int handshake_done, handshake_reported;
  int verify_result;
  int failed;
  const char *error;
  char *server_name;  // client: the SNI (NULL on servers)
  char *session_key;  // client: the session cache key (NULL: server_name)
  int resumed;
  fg_tls_verdict verdict;  // the hook's, or carried by the offered session
  // offered: client, the verdict of the session offered (NULL: none; kept
  // out of line, a server never offers one).
  fg_tls_verdict *offered;
  int have_client_secret, have_server_secret;
  int key_updates;       // KeyUpdates BoringSSL sent or received: captured secrets are stale
  int tickets_received;  // TLS 1.3 NewSessionTickets BoringSSL processed (client)
  // secrets: captured for kernel TLS (NULL: none), held only until the
  // record layer is handed over or stays in user space.
  fg_tls_traffic_secrets *secrets;
};

static int g_ex_index = -1;
static pthread_once_t g_ex_once = PTHREAD_ONCE_INIT;
static BIO_METHOD *g_bio_method;

static void bio_setup(void);

static void ex_init(void) {
  g_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
  bio_setup();
}

static fg_tls_conn *conn_of(const SSL *ssl) {
  return SSL_get_ex_data(ssl, g_ex_index);
}

// --- memory BIO --------------------------------------------------------

// framing_skip advances the record framing state over |n| bytes at |p| and
// returns how many of them end exactly at a record boundary (0 if none): used
// both to track and, on a copy of the state, to measure whole records.
static size_t framing_walk(uint8_t *hdr, size_t *hdr_have, size_t *rec_left, const uint8_t *p,
                           size_t n, size_t *last_boundary, size_t base) {
  size_t i = 0;
  while (i < n) {
    if (*rec_left > 0) {
      size_t k = n - i < *rec_left ? n - i : *rec_left;
      *rec_left -= k;
      i += k;
      if (*rec_left == 0 && last_boundary) *last_boundary = base + i;
      continue;
    }
    hdr[(*hdr_have)++] = p[i++];
    if (*hdr_have == 5) {
      *hdr_have = 0;
      *rec_left = ((size_t)hdr[3] << 8) | hdr[4];
      if (*rec_left == 0 && last_boundary) *last_boundary = base + i;
    }
  }
  return i;
}

static size_t aligned_avail(const fg_tls_conn *t) {
  uint8_t hdr[5];
  memcpy(hdr, t->hdr, sizeof(hdr));
  size_t hdr_have = t->hdr_have, rec_left = t->rec_left, boundary = 0;
  size_t s = t->staged_len - t->staged_off;
  if (s > 0) framing_walk(hdr, &hdr_have, &rec_left, t->staged + t->staged_off, s, &boundary, 0);
  if (t->in_len > t->in_off) {
    framing_walk(hdr, &hdr_have, &rec_left, t->in + t->in_off, t->in_len - t->in_off, &boundary, s);
  }
  return boundary;
}

static int bio_read(BIO *b, char *out, int len) {
  fg_tls_conn *t = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  size_t want = len > 0 ? (size_t)len : 0;
  size_t avail = (t->staged_len - t->staged_off) + (t->in_len - t->in_off);
  if (t->record_aligned) avail = aligned_avail(t);
  if (want > avail) want = avail;
  if (want == 0) {
    BIO_set_retry_read(b);
    return -1;
  }
  size_t done = 0;
  size_t s = t->staged_len - t->staged_off;
  if (s > 0) {
    size_t k = s < want ? s : want;
    memcpy(out, t->staged + t->staged_off, k);
    t->staged_off += k;
    done = k;
    if (t->staged_off == t->staged_len) t->staged_off = t->staged_len = 0;
  }
  if (done < want) {
    size_t k = want - done;
    memcpy(out + done, t->in + t->in_off, k);
    t->in_off += k;
    done += k;
  }
  framing_walk(t->hdr, &t->hdr_have, &t->rec_left, (const uint8_t *)out, done, NULL, 0);
  return (int)done;
}

static int bio_write(BIO *b, const char *in, int len) {
  fg_tls_conn *t = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (len <= 0) return 0;
  if (!t->out(t->out_arg, (const uint8_t *)in, (size_t)len)) return -1;
  return len;
}

static long bio_ctrl(BIO *b, int cmd, long larg, void *parg) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static void bio_setup(void) {
  g_bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "fedgate-mem");
  BIO_meth_set_read(g_bio_method, bio_read);
  BIO_meth_set_write(g_bio_method, bio_write);
  BIO_meth_set_ctrl(g_bio_method, bio_ctrl);
  BIO_meth_set_create(g_bio_method, bio_create);
}

// --- context callbacks --------------------------------------------------

static enum ssl_verify_result_t custom_verify(SSL *ssl, uint8_t *out_alert) {
  fg_tls_conn *t = conn_of(ssl);
  const STACK_OF(CRYPTO_BUFFER) *chain = SSL_get0_peer_certificates(ssl);
  size_t n = chain ? sk_CRYPTO_BUFFER_num(chain) : 0;
  if (t == NULL || n == 0) return ssl_verify_invalid;
  enum fg_tls_verify_result r = FG_TLS_VERIFY_UNTRUSTED;
  memset(&t->verdict, 0, sizeof(t->verdict));
  if (t->server_name != NULL) {
    snprintf(t->verdict.domain, sizeof(t->verdict.domain), "%s", t->server_name);
  }
  if (t->ctx->cfg.verify_scope != NULL) {
    t->verdict.scope = t->ctx->cfg.verify_scope(t->ctx->cfg.verify_arg);
  }
  if (t->ctx->cfg.verify != NULL) {
    const CRYPTO_BUFFER *certs[16];
    if (n > 16) n = 16;
    for (size_t i = 0; i < n; i++) certs[i] = sk_CRYPTO_BUFFER_value(chain, i);
    r = t->ctx->cfg.verify(t, certs, n, t->ctx->cfg.verify_arg);
  }
  t->verify_result = (int)r;
  t->verdict.result = (int)r;
  if (r == FG_TLS_VERIFY_REJECT) {
    *out_alert = SSL_AD_BAD_CERTIFICATE;
    t->error = "peer certificate rejected";
    return ssl_verify_invalid;
  }
  return ssl_verify_ok;
}

static int cert_cb(SSL *ssl, void *arg) {
  fg_tls_ctx *ctx = arg;
  const fg_tls_sni *sni =
      ctx->cfg.sni_current != NULL ? ctx->cfg.sni_current(ctx->cfg.sni_arg) : ctx->cfg.sni;
  if (sni == NULL) return 0;
  fg_tls_cert *c = fg_tls_sni_lookup(sni, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
  if (c == NULL) {
    fg_tls_conn *t = conn_of(ssl);
    if (t) t->error = "no certificate for the requested name";
    return 0;
  }
  return fg_tls_cert_apply(c, ssl);
}

static int alpn_select(SSL *ssl, const uint8_t **out, uint8_t *out_len, const uint8_t *in,
                       unsigned in_len, void *arg) {
  fg_tls_ctx *ctx = arg;
  for (unsigned i = 0; i < in_len;) {
    unsigned l = in[i];
    if (i + 1 + l > in_len) break;
    if (l == 11 && memcmp(in + i + 1, "xmpp-server", 11) == 0) {
      *out = in + i + 1;
      *out_len = 11;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + l;
  }
  // XEP-0368: a direct-TLS s2s port speaks only xmpp-server; a STARTTLS port
  // ignores ALPN.
  return ctx->cfg.direct_tls ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
}

static int hex_decode(uint8_t *out, size_t cap, const char *hex, size_t *out_len) {
  size_t n = strlen(hex);
  if (n % 2 || n / 2 > cap) return 0;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v = 0;
    for (int j = 0; j < 2; j++) {
      char ch = hex[2 * i + j];
      v <<= 4;
      if (ch >= '0' && ch <= '9')
        v |= (unsigned)(ch - '0');
      else if (ch >= 'a' && ch <= 'f')
        v |= (unsigned)(ch - 'a' + 10);
      else if (ch >= 'A' && ch <= 'F')
        v |= (unsigned)(ch - 'A' + 10);
      else
        return 0;
    }
    out[i] = (uint8_t)v;
  }
  *out_len = n / 2;
  return 1;
}

// keylog_cb captures the TLS 1.3 application traffic secrets (NSS key log
// format: "LABEL <client_random> <secret>") for kernel TLS.
static void keylog_cb(const SSL *ssl, const char *line) {
  fg_tls_conn *t = conn_of(ssl);
  if (t == NULL) return;
  int client = strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) == 0;
  if (!client && strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) != 0) return;
  // Out of memory: no secrets, so the record layer stays in user space.
  if (t->secrets == NULL && (t->secrets = calloc(1, sizeof(*t->secrets))) == NULL) return;
  uint8_t *dst = client ? t->secrets->client : t->secrets->server;
  int *have = client ? &t->have_client_secret : &t->have_server_secret;
  const char *sp = strchr(line + 24, ' ');
  size_t len;
  if (sp == NULL || !hex_decode(dst, 48, sp + 1, &len)) return;
  t->secrets->secret_len = len;
  *have = 1;
}

// msg_cb notices KeyUpdate messages (RFC 8446 §4.6.3) going through
// BoringSSL in either direction (the captured _0 secrets no longer match the
// record layer's keys after one) and NewSessionTickets received (§4.6.1).
static void msg_cb(int is_write, int version, int content_type, const void *buf, size_t len,
                   SSL *ssl, void *arg) {
  fg_tls_conn *t = conn_of(ssl);
  if (t == NULL || content_type != SSL3_RT_HANDSHAKE || len < 1) return;
  uint8_t type = ((const uint8_t *)buf)[0];
  if (type == SSL3_MT_KEY_UPDATE) t->key_updates++;
  if (type == SSL3_MT_NEW_SESSION_TICKET && !is_write) t->tickets_received++;
}

static const char *session_key_of(const fg_tls_conn *t) {
  return t->session_key != NULL ? t->session_key : t->server_name;
}

static uint64_t scope_now(const fg_tls_ctx *ctx) {
  return ctx->cfg.verify_scope != NULL ? ctx->cfg.verify_scope(ctx->cfg.verify_arg) : 0;
}

// new_session_cb keeps a client session with the verdict about the peer
// that goes with it: the hook's in a full handshake, the carried one in a
// resumed handshake (the server's fresh ticket renews the same trust).
// offered_verdict is the verdict of the session |t| offered; none offered
// (a server, or nothing cached) reads as a peer never verified.
static const fg_tls_verdict *offered_verdict(const fg_tls_conn *t) {
  static const fg_tls_verdict kNone;
  return t->offered != NULL ? t->offered : &kNone;
}

static int new_session_cb(SSL *ssl, SSL_SESSION *session) {
  fg_tls_conn *t = conn_of(ssl);
  if (t == NULL || session_key_of(t) == NULL || t->ctx->sessions == NULL) return 0;
  // A TLS 1.2 server may renew the ticket inside a resumed handshake, before
  // handshake_finished has taken the carried verdict over.
  const fg_tls_verdict *v = SSL_session_reused(ssl) ? offered_verdict(t) : &t->verdict;
  if (v->result == FG_TLS_VERIFY_REJECT) return 0;
  fg_session_cache_put(t->ctx->sessions, session_key_of(t), session, v, (int64_t)time(NULL));
  return 0;  // the cache took its own reference
}

static void offer_session(fg_tls_conn *t) {
  fg_tls_verdict v;
  SSL_SESSION *s = fg_session_cache_get(t->ctx->sessions, session_key_of(t), scope_now(t->ctx),
                                        (int64_t)time(NULL), &v);
  if (s == NULL) return;
  if (t->offered == NULL && (t->offered = malloc(sizeof(*t->offered))) == NULL) {
    SSL_SESSION_free(s);  // out of memory: a full handshake instead
    return;
  }
  *t->offered = v;
  SSL_set_session(t->ssl, s);
  SSL_SESSION_free(s);
}

// ticket_key_cb seals and opens tickets with the shared keys.
static int ticket_key_cb(SSL *ssl, uint8_t *key_name, uint8_t *iv, EVP_CIPHER_CTX *cipher,
                         HMAC_CTX *hmac, int encrypt) {
  fg_tls_conn *t = conn_of(ssl);
  if (t == NULL || t->ctx->cfg.ticket_keys == NULL) return encrypt ? -1 : 0;
  return fg_ticket_keys_crypt(t->ctx->cfg.ticket_keys, key_name, iv, cipher, hmac, encrypt);
}

void fg_tls_conn_set_session_scope(fg_tls_conn *t, const char *identity) {
  if (t->server_name == NULL || !t->ctx->cfg.session_cache) return;
  free(t->session_scope);
  t->session_scope = identity != NULL ? strdup(identity) : NULL;
  offer_session(t);  // the session of this identity, or none
}

// --- context ------------------------------------------------------------

fg_tls_ctx *fg_tls_ctx_new(const fg_tls_ctx_config *cfg) {
  pthread_once(&g_ex_once, ex_init);
  if (g_ex_index < 0 || g_bio_method == NULL) return NULL;
  fg_tls_ctx *ctx = calloc(1, sizeof(*ctx));
  if (ctx == NULL) return NULL;
  atomic_init(&ctx->refs, 1);
  ctx->cfg = *cfg;
  ctx->cfg.client_cert = NULL;
  SSL_CTX *s = SSL_CTX_new(TLS_with_buffers_method());
  ctx->ssl_ctx = s;
  if (s == NULL) goto fail;
  if (!SSL_CTX_set_min_proto_version(s, cfg->tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(s, TLS1_3_VERSION) ||
      !SSL_CTX_set_strict_cipher_list(s, kTls12Ciphers) ||
      !SSL_CTX_set1_curves_list(s, "X25519:P-256:P-384")) {
    goto fail;
  }
  SSL_CTX_set_custom_verify(s, SSL_VERIFY_PEER, custom_verify);
  if (cfg->buffer_pool != NULL) SSL_CTX_set0_buffer_pool(s, cfg->buffer_pool);
  if (cfg->capture_secrets) {
    SSL_CTX_set_keylog_callback(s, keylog_cb);
    SSL_CTX_set_msg_callback(s, msg_cb);
  }
  if (cfg->role == FG_TLS_SERVER) {
    SSL_CTX_set_cert_cb(s, cert_cb, ctx);
    SSL_CTX_set_alpn_select_cb(s, alpn_select, ctx);
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);  // stateless tickets only
    if (cfg->num_tickets != 0)
      SSL_CTX_set_num_tickets(s, cfg->num_tickets < 0 ? 0 : (size_t)cfg->num_tickets);
    // Tickets sealed with keys every instance shares resume on any of them.
    if (cfg->ticket_keys != NULL) SSL_CTX_set_tlsext_ticket_key_cb(s, ticket_key_cb);
  } else {
    if (cfg->direct_tls && SSL_CTX_set_alpn_protos(s, kAlpnXmppServer, 12) != 0) goto fail;
    if (cfg->client_cert != NULL) {
      fg_tls_cert_up_ref(cfg->client_cert);
      ctx->cfg.client_cert = cfg->client_cert;
    }
    if (cfg->ocsp_stapling) SSL_CTX_enable_ocsp_stapling(s);
    if (cfg->session_cache) {
      ctx->sessions = fg_session_cache_new(cfg->session_cache_entries);
      if (ctx->sessions == NULL) goto fail;
      SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
      SSL_CTX_sess_set_new_cb(s, new_session_cb);
    }
  }
  return ctx;
fail:
  fg_tls_ctx_free(ctx);
  return NULL;
}

void fg_tls_ctx_up_ref(fg_tls_ctx *ctx) {
  atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
}

void fg_tls_ctx_free(fg_tls_ctx *ctx) {
  if (ctx == NULL) return;
  if (atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) != 1) return;
  fg_tls_cert_free(ctx->cfg.client_cert);
  SSL_CTX_free(ctx->ssl_ctx);
  fg_session_cache_free(ctx->sessions);
  free(ctx);
}

SSL_CTX *fg_tls_ctx_ssl_ctx(fg_tls_ctx *ctx) {
  return ctx->ssl_ctx;
}

enum fg_tls_role fg_tls_ctx_role(const fg_tls_ctx *ctx) {
  return ctx->cfg.role;
}

int fg_tls_ctx_captures_secrets(const fg_tls_ctx *ctx) {
  return ctx->cfg.capture_secrets;
}

// --- connection ---------------------------------------------------------

fg_tls_conn *fg_tls_conn_new(fg_tls_ctx *ctx, const char *server_name, fg_tls_write_fn out,
                             void *out_arg) {
  fg_tls_conn *t = calloc(1, sizeof(*t));
  if (t == NULL) return NULL;
  t->out = out;
  t->out_arg = out_arg;
  t->ssl = SSL_new(ctx->ssl_ctx);
  t->bio = BIO_new(g_bio_method);
  if (t->ssl == NULL || t->bio == NULL) {
    SSL_free(t->ssl);
    BIO_free(t->bio);
    free(t);
    return NULL;
  }
  fg_tls_ctx_up_ref(ctx);
  t->ctx = ctx;
  t->record_aligned = ctx->cfg.capture_secrets;
  BIO_set_data(t->bio, t);
  BIO_up_ref(t->bio);
  SSL_set_bio(t->ssl, t->bio, t->bio);
  SSL_set_ex_data(t->ssl, g_ex_index, t);
  // Nothing set by the caller is needed once the handshake is done: a quiet
  // connection keeps less (memory per idle stream).
  SSL_set_shed_handshake_config(t->ssl, 1);
  if (ctx->cfg.role == FG_TLS_SERVER) {
    SSL_set_accept_state(t->ssl);
  } else {
    SSL_set_connect_state(t->ssl);
    // RFC 6120 §13.7.2.1 has no use for renegotiation; BoringSSL servers never do it.
    SSL_set_renegotiate_mode(t->ssl, ssl_renegotiate_never);
    if (server_name != NULL) {
      t->server_name = strdup(server_name);  // NULL: no session cache for this one
      SSL_set_tlsext_host_name(t->ssl, server_name);
    }
    if (ctx->cfg.client_cert != NULL) fg_tls_cert_apply(ctx->cfg.client_cert, t->ssl);
  }
  return t;
}

void fg_tls_conn_free(fg_tls_conn *t) {
  if (t == NULL) return;
  SSL_free(t->ssl);
  BIO_free(t->bio);
  fg_tls_conn_forget_secrets(t);
  free(t->offered);
  free(t->staged);
  free(t->server_name);
  free(t->session_key);
  fg_tls_ctx_free(t->ctx);
  free(t);
}

void fg_tls_conn_set_input(fg_tls_conn *t, const uint8_t *in, size_t in_len) {
  t->in = in;
  t->in_len = in_len;
  t->in_off = 0;
}

int fg_tls_conn_input_done(fg_tls_conn *t) {
  size_t left = t->in_len - t->in_off;
  const uint8_t *src = t->in + t->in_off;
  t->in = NULL;
  t->in_len = t->in_off = 0;
  if (left == 0) return 1;
  if (t->staged_off > 0) {
    memmove(t->staged, t->staged + t->staged_off, t->staged_len - t->staged_off);
    t->staged_len -= t->staged_off;
    t->staged_off = 0;
  }
  if (t->staged_len + left > STAGING_MAX) return 0;
  if (t->staged_len + left > t->staged_cap) {
    size_t cap = t->staged_cap ? t->staged_cap : 4096;
    while (cap < t->staged_len + left) cap *= 2;
    uint8_t *p = realloc(t->staged, cap);
    if (p == NULL) return 0;
    t->staged = p;
    t->staged_cap = cap;
  }
  memcpy(t->staged + t->staged_len, src, left);
  t->staged_len += left;
  return 1;
}

static enum fg_tls_status fail(fg_tls_conn *t, int ret) {
  int err = SSL_get_error(t->ssl, ret);
  if (err == SSL_ERROR_WANT_READ) return FG_TLS_WANT_INPUT;
  if (err == SSL_ERROR_ZERO_RETURN) return FG_TLS_CLOSED;
  t->failed = 1;
  if (t->error == NULL) {
    uint32_t e = ERR_peek_error();
    t->error = e ? ERR_reason_error_string(e) : "TLS failure";
    if (t->error == NULL) t->error = "TLS failure";
  }
  ERR_clear_error();
  return FG_TLS_ERROR;
}

// handshake_finished notes the end of the handshake. A resumed client
// connection skipped certificate verification: it takes the verdict that
// came with the session, never more.
static void handshake_finished(fg_tls_conn *t) {
  t->handshake_done = 1;
  t->resumed = SSL_session_reused(t->ssl);
  if (t->resumed && t->ctx->cfg.role == FG_TLS_CLIENT) {
    t->verdict = *offered_verdict(t);
    t->verify_result = t->verdict.result;
  }
}

int fg_tls_conn_start(fg_tls_conn *t) {
  if (t->ctx->cfg.role != FG_TLS_CLIENT) return 1;
  if (t->ctx->sessions != NULL && session_key_of(t) != NULL) offer_session(t);
  int ret = SSL_do_handshake(t->ssl);
  if (ret == 1) {
    handshake_finished(t);
    return 1;
  }
  return fail(t, ret) == FG_TLS_WANT_INPUT;
}

enum fg_tls_status fg_tls_conn_read(fg_tls_conn *t, uint8_t *out, size_t out_cap, size_t *out_len) {
  *out_len = 0;
  if (t->failed) return FG_TLS_ERROR;
  if (!t->handshake_done) {
    int ret = SSL_do_handshake(t->ssl);
    if (ret != 1) return fail(t, ret);
    handshake_finished(t);
    if (t->ctx->cfg.role == FG_TLS_SERVER) {
      // BoringSSL holds TLS 1.3 NewSessionTickets back until the first write;
      // an empty write sends them now, so that clients can resume and so
      // that nothing is pending in user space when kTLS takes over.
      if (SSL_write(t->ssl, "", 0) < 0) ERR_clear_error();
    }
  }
  if (!t->handshake_reported) {
    t->handshake_reported = 1;
    return FG_TLS_HANDSHAKE_DONE;
  }
  // Every byte lent and staged is with BoringSSL, and it holds neither
  // unread plaintext nor an unopened record: SSL_read could only fail for
  // want of input (a BIO read, the error queue). The last call of each
  // receive's pump is this one, so the saving is one per receive.
  if (t->in_off == t->in_len && t->staged_off == t->staged_len && !SSL_has_pending(t->ssl)) {
    return FG_TLS_WANT_INPUT;
  }
  int cap = out_cap > 0x40000000 ? 0x40000000 : (int)out_cap;
  int ret = SSL_read(t->ssl, out, cap);
  if (ret > 0) {
    *out_len = (size_t)ret;
    return FG_TLS_DATA;
  }
  return fail(t, ret);
}

int fg_tls_conn_write(fg_tls_conn *t, const uint8_t *in, size_t in_len) {
  if (t->failed || !t->handshake_done) return 0;
  while (in_len > 0) {
    int chunk = in_len > 0x40000000 ? 0x40000000 : (int)in_len;
    int ret = SSL_write(t->ssl, in, chunk);
    if (ret <= 0) {
      fail(t, ret);
      return 0;
    }
    in += ret;
    in_len -= (size_t)ret;
  }
  return 1;
}

int fg_tls_conn_shutdown(fg_tls_conn *t) {
  if (t->failed || !t->handshake_done) return 0;
  int ret = SSL_shutdown(t->ssl);
  if (ret < 0) ERR_clear_error();
  return ret >= 0;
}

int fg_tls_conn_handshake_done(const fg_tls_conn *t) {
  return t->handshake_done;
}

int fg_tls_conn_verify_result(const fg_tls_conn *t) {
  return t->verify_result;
}

const fg_tls_verdict *fg_tls_conn_verdict(const fg_tls_conn *t) {
  return &t->verdict;
}

void fg_tls_conn_set_verdict(fg_tls_conn *t, const fg_tls_verdict *v) {
  // The scope is the context's (verify_scope), so that offers compare like
  // with like; the result is what the hook returns.
  t->verdict.recorded = 1;
  t->verdict.chain = v->chain;
  t->verdict.identity = v->identity;
  t->verdict.revocation = v->revocation;
  if (v->domain[0] != 0) snprintf(t->verdict.domain, sizeof(t->verdict.domain), "%s", v->domain);
}

int fg_tls_conn_resumed(const fg_tls_conn *t) {
  return t->resumed;
}

int fg_tls_conn_set_session_key(fg_tls_conn *t, const char *key) {
  char *k = strdup(key);
  if (k == NULL) return 0;
  free(t->session_key);
  t->session_key = k;
  return 1;
}

void fg_tls_conn_forget_session(fg_tls_conn *t) {
  if (t->ctx->sessions != NULL && session_key_of(t) != NULL) {
    fg_session_cache_remove(t->ctx->sessions, session_key_of(t));
  }
}

int fg_tls_ctx_session_stats(fg_tls_ctx *ctx, fg_session_cache_stats *out) {
  if (ctx->sessions == NULL) return 0;
  fg_session_cache_stats_get(ctx->sessions, out);
  return 1;
}

fg_tls_ctx *fg_tls_conn_ctx(const fg_tls_conn *t) {
  return t->ctx;
}

const char *fg_tls_conn_error(const fg_tls_conn *t) {
  return t->error ? t->error : "";
}

SSL *fg_tls_conn_ssl(fg_tls_conn *t) {
  return t->ssl;
}

void fg_tls_conn_set_app_data(fg_tls_conn *t, void *p) {
  t->app_data = p;
}

void *fg_tls_conn_app_data(const fg_tls_conn *t) {
  return t->app_data;
}

size_t fg_tls_conn_staged(const fg_tls_conn *t) {
  return t->staged_len - t->staged_off;
}

size_t fg_tls_conn_take_staged(fg_tls_conn *t, uint8_t *out, size_t cap) {
  size_t n = t->staged_len - t->staged_off;
  if (n > cap) n = cap;
  memcpy(out, t->staged + t->staged_off, n);
  t->staged_off += n;
  if (t->staged_off == t->staged_len) t->staged_off = t->staged_len = 0;
  return n;
}

size_t fg_tls_conn_record_need(const fg_tls_conn *t) {
  uint8_t hdr[5];
  memcpy(hdr, t->hdr, sizeof(hdr));
  size_t hdr_have = t->hdr_have, rec_left = t->rec_left;
  size_t s = t->staged_len - t->staged_off;
  if (s > 0) framing_walk(hdr, &hdr_have, &rec_left, t->staged + t->staged_off, s, NULL, 0);
  if (rec_left > 0) return rec_left;
  return hdr_have > 0 ? 5 - hdr_have : 0;
}

int fg_tls_conn_tickets_received(const fg_tls_conn *t) {
  return t->tickets_received;
}

void fg_tls_conn_set_record_aligned(fg_tls_conn *t, int on) {
  t->record_aligned = on;
}

int fg_tls_conn_traffic_secrets(const fg_tls_conn *t, fg_tls_traffic_secrets *out) {
  if (t->secrets == NULL || !t->have_client_secret || !t->have_server_secret ||
      t->key_updates > 0) {
    return 0;
  }
  if (SSL_version(t->ssl) != TLS1_3_VERSION) return 0;
  const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
  if (c == NULL) return 0;
  *out = *t->secrets;
  out->cipher_suite = SSL_CIPHER_get_protocol_id(c);
  return 1;
}

void fg_tls_conn_set_traffic_secrets(fg_tls_conn *t, const fg_tls_traffic_secrets *in) {
  if (t->secrets == NULL && (t->secrets = malloc(sizeof(*t->secrets))) == NULL) return;
  *t->secrets = *in;
  t->have_client_secret = t->have_server_secret = 1;
}

void fg_tls_conn_forget_secrets(fg_tls_conn *t) {
  if (t->secrets != NULL) {
    OPENSSL_cleanse(t->secrets, sizeof(*t->secrets));
    free(t->secrets);
    t->secrets = NULL;
  }
  t->have_client_secret = t->have_server_secret = 0;
}
