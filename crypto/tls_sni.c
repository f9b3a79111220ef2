// tls_sni.c: certificates (CRYPTO_BUFFER chains with their OCSP staple) and
// an open-addressing hash index of exact names and wildcard suffixes.
#include "crypto/tls_sni.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bytestring.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pool.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/epoch.h"

#define MAX_NAME 253

// staple is one published OCSP response; never changed once published.
typedef struct staple {
  int64_t not_after;
  size_t len;
  uint8_t der[];
} staple;

struct fg_tls_cert {
  atomic_int refs;
  size_t n;
  CRYPTO_BUFFER **chain;
  EVP_PKEY *key;
  _Atomic(staple *) staple;
};

// Staples of every certificate share one reclamation domain: replacements
// are rare (a refresh every few hours per certificate).
static fg_epoch_domain *g_staples;
static pthread_once_t g_staples_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_staples_mu = PTHREAD_MUTEX_INITIALIZER;

static void staples_init(void) {
  g_staples = fg_epoch_domain_new();
}

fg_tls_cert *fg_tls_cert_new(CRYPTO_BUFFER_POOL *pool, const uint8_t *const *der,
                             const size_t *der_len, size_t n, EVP_PKEY *key) {
  if (n == 0 || key == NULL) return NULL;
  fg_tls_cert *c = calloc(1, sizeof(*c));
  if (c == NULL) return NULL;
  c->chain = calloc(n, sizeof(*c->chain));
  if (c->chain == NULL) {
    free(c);
    return NULL;
  }
  atomic_init(&c->refs, 1);
  atomic_init(&c->staple, NULL);
  for (size_t i = 0; i < n; i++) {
    c->chain[i] = CRYPTO_BUFFER_new(der[i], der_len[i], pool);
    if (c->chain[i] == NULL) {
      c->n = i;
      fg_tls_cert_free(c);
      return NULL;
    }
  }
  c->n = n;
  EVP_PKEY_up_ref(key);
  c->key = key;
  return c;
}

fg_tls_cert *fg_tls_cert_new_pem(CRYPTO_BUFFER_POOL *pool, const char *chain_pem,
                                 size_t chain_pem_len, const char *key_pem, size_t key_pem_len) {
  enum { kMaxChain = 8 };
  uint8_t *der[kMaxChain];
  size_t der_len[kMaxChain];
  size_t n = 0;
  fg_tls_cert *c = NULL;
  EVP_PKEY *key = NULL;
  BIO *bio = BIO_new_mem_buf(chain_pem, (int)chain_pem_len);
  if (bio == NULL) return NULL;
  X509 *x;
  while (n < kMaxChain && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    uint8_t *p = NULL;
    int len = i2d_X509(x, &p);
    X509_free(x);
    if (len <= 0) goto done;
    der[n] = p;
    der_len[n] = (size_t)len;
    n++;
  }
  BIO_free(bio);
  bio = BIO_new_mem_buf(key_pem, (int)key_pem_len);
  if (bio == NULL) goto done;
  key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
  if (key != NULL) c = fg_tls_cert_new(pool, (const uint8_t *const *)der, der_len, n, key);
done:
  BIO_free(bio);
  EVP_PKEY_free(key);
  for (size_t i = 0; i < n; i++) OPENSSL_free(der[i]);
  return c;
}

void fg_tls_cert_up_ref(fg_tls_cert *c) {
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void fg_tls_cert_free(fg_tls_cert *c) {
  if (c == NULL) return;
  if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1) return;
  for (size_t i = 0; i < c->n; i++) CRYPTO_BUFFER_free(c->chain[i]);
  free(c->chain);
  EVP_PKEY_free(c->key);
  free(atomic_load(&c->staple));  // the last reference: no reader left
  free(c);
}

int fg_tls_cert_set_ocsp(fg_tls_cert *c, const uint8_t *der, size_t der_len, int64_t not_after) {
  pthread_once(&g_staples_once, staples_init);
  if (g_staples == NULL) return 0;
  staple *s = NULL;
  if (der != NULL) {
    s = malloc(sizeof(*s) + der_len);
    if (s == NULL) return 0;
    s->not_after = not_after;
    s->len = der_len;
    memcpy(s->der, der, der_len);
  }
  staple *old = atomic_exchange_explicit(&c->staple, s, memory_order_acq_rel);
  // Retiring and reclaiming are writers' work: one writer at a time.
  pthread_mutex_lock(&g_staples_mu);
  if (old != NULL) fg_epoch_retire(g_staples, old, free);
  fg_epoch_reclaim(g_staples);
  pthread_mutex_unlock(&g_staples_mu);
  return 1;
}

int fg_tls_cert_ocsp_current(const fg_tls_cert *c, int64_t now) {
  pthread_once(&g_staples_once, staples_init);
  if (g_staples == NULL || !fg_epoch_enter(g_staples)) return 0;
  const staple *s = atomic_load_explicit(&c->staple, memory_order_acquire);
  int current = s != NULL && now < s->not_after;
  fg_epoch_exit(g_staples);
  return current;
}

// apply_staple hands |c|'s current staple to |ssl| (BoringSSL copies it).
static int apply_staple(const fg_tls_cert *c, SSL *ssl) {
  if (atomic_load_explicit(&c->staple, memory_order_relaxed) == NULL) return 1;
  pthread_once(&g_staples_once, staples_init);
  if (g_staples == NULL || !fg_epoch_enter(g_staples)) return 1;
  const staple *s = atomic_load_explicit(&c->staple, memory_order_acquire);
  int ok = 1;
  // Never an expired response, even when its refresh is late.
  if (s != NULL && (int64_t)time(NULL) < s->not_after) {
    ok = SSL_set_ocsp_response(ssl, s->der, s->len);
  }
  fg_epoch_exit(g_staples);
  return ok;
}

int fg_tls_cert_apply(const fg_tls_cert *c, SSL *ssl) {
  return SSL_set_chain_and_key(ssl, c->chain, c->n, c->key, NULL) && apply_staple(c, ssl);
}

int fg_tls_use_x509(SSL *ssl, X509 *x, EVP_PKEY *key) {
  uint8_t *der = NULL;
  int len = i2d_X509(x, &der);
  if (len <= 0) return 0;
  CRYPTO_BUFFER *buf = CRYPTO_BUFFER_new(der, (size_t)len, NULL);
  OPENSSL_free(der);
  if (buf == NULL) return 0;
  int ok = SSL_set_chain_and_key(ssl, &buf, 1, key, NULL);
  CRYPTO_BUFFER_free(buf);
  return ok;
}

const CRYPTO_BUFFER *fg_tls_cert_leaf(const fg_tls_cert *c) {
  return c->chain[0];
}

const CRYPTO_BUFFER *fg_tls_cert_chain_at(const fg_tls_cert *c, size_t i) {
  return i < c->n ? c->chain[i] : NULL;
}

// The index: two open-addressing tables (exact names; wildcard parents).
typedef struct entry {
  char *name;  // lower case, no trailing dot; NULL = empty slot
  uint64_t hash;
  fg_tls_cert *cert;
} entry;

typedef struct table {
  entry *slots;
  size_t cap, len;  // cap is a power of two
} table;

struct fg_tls_sni {
  table exact, wild;
  fg_tls_cert *dflt;
};

static uint64_t hash_name(const char *s, size_t len) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (size_t i = 0; i < len; i++) {
    h ^= (uint8_t)s[i];
    h *= 1099511628211ull;
  }
  return h ^ (h >> 29);
}

static entry *table_find(const table *t, const char *name, size_t len, uint64_t h) {
  if (t->cap == 0) return NULL;
  for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    entry *e = &t->slots[i];
    if (e->name == NULL) return e;
    if (e->hash == h && strlen(e->name) == len && memcmp(e->name, name, len) == 0) return e;
  }
}

static int table_grow(table *t) {
  size_t cap = t->cap ? t->cap * 2 : 64;
  entry *slots = calloc(cap, sizeof(*slots));
  if (slots == NULL) return 0;
  for (size_t i = 0; i < t->cap; i++) {
    entry *e = &t->slots[i];
    if (e->name == NULL) continue;
    size_t j = e->hash & (cap - 1);
    while (slots[j].name != NULL) j = (j + 1) & (cap - 1);
    slots[j] = *e;
  }
  free(t->slots);
  t->slots = slots;
  t->cap = cap;
  return 1;
}

static int table_put(table *t, const char *name, size_t len, fg_tls_cert *c) {
  if ((t->len + 1) * 4 > t->cap * 3 && !table_grow(t)) return 0;
  uint64_t h = hash_name(name, len);
  entry *e = table_find(t, name, len, h);
  fg_tls_cert_up_ref(c);
  if (e->name != NULL) {
    fg_tls_cert_free(e->cert);
    e->cert = c;
    return 1;
  }
  e->name = strndup(name, len);
  if (e->name == NULL) {
    fg_tls_cert_free(c);
    return 0;
  }
  e->hash = h;
  e->cert = c;
  t->len++;
  return 1;
}

static void table_free(table *t) {
  for (size_t i = 0; i < t->cap; i++) {
    free(t->slots[i].name);
    fg_tls_cert_free(t->slots[i].cert);
  }
  free(t->slots);
}

// normalize lower-cases |in| into |out| (MAX_NAME + 1 bytes), dropping one
// trailing dot. It returns the length, or 0 for names that cannot match.
static size_t normalize(char *out, const char *in) {
  size_t len = strlen(in);
  if (len > 0 && in[len - 1] == '.') len--;
  if (len == 0 || len > MAX_NAME) return 0;
  for (size_t i = 0; i < len; i++) {
    char ch = in[i];
    if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
             ch == '*' || ch == '_';
    if (!ok) return 0;
    out[i] = ch;
  }
  out[len] = '\0';
  return len;
}

fg_tls_sni *fg_tls_sni_new(void) {
  return calloc(1, sizeof(fg_tls_sni));
}

void fg_tls_sni_free(fg_tls_sni *s) {
  if (s == NULL) return;
  table_free(&s->exact);
  table_free(&s->wild);
  fg_tls_cert_free(s->dflt);
  free(s);
}

int fg_tls_sni_add(fg_tls_sni *s, const char *name, fg_tls_cert *c) {
  char buf[MAX_NAME + 1];
  size_t len = normalize(buf, name);
  if (len == 0) return 0;
  if (len > 2 && buf[0] == '*' && buf[1] == '.') {
    // The suffix must itself hold a dot: "*.com" is never accepted.
    if (memchr(buf + 2, '*', len - 2) != NULL || memchr(buf + 2, '.', len - 2) == NULL) return 0;
    return table_put(&s->wild, buf + 2, len - 2, c);
  }
  if (memchr(buf, '*', len) != NULL) return 0;
  return table_put(&s->exact, buf, len, c);
}

size_t fg_tls_sni_add_cert(fg_tls_sni *s, fg_tls_cert *c) {
  const CRYPTO_BUFFER *leaf = fg_tls_cert_leaf(c);
  const uint8_t *p = CRYPTO_BUFFER_data(leaf);
  X509 *x = d2i_X509(NULL, &p, (long)CRYPTO_BUFFER_len(leaf));
  if (x == NULL) return 0;
  size_t added = 0;
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  for (size_t i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
    if (g->type != GEN_DNS) continue;
    const ASN1_IA5STRING *ia5 = g->d.dNSName;
    char name[MAX_NAME + 1];
    if (ia5->length <= 0 || ia5->length > MAX_NAME) continue;
    memcpy(name, ia5->data, (size_t)ia5->length);
    name[ia5->length] = '\0';
    if (strlen(name) != (size_t)ia5->length) continue;  // embedded NUL
    added += (size_t)fg_tls_sni_add(s, name, c);
  }
  GENERAL_NAMES_free(gens);
  X509_free(x);
  return added;
}

void fg_tls_sni_set_default(fg_tls_sni *s, fg_tls_cert *c) {
  if (c != NULL) fg_tls_cert_up_ref(c);
  fg_tls_cert_free(s->dflt);
  s->dflt = c;
}

fg_tls_cert *fg_tls_sni_find(const fg_tls_sni *s, const char *name) {
  char buf[MAX_NAME + 1];
  size_t len = name ? normalize(buf, name) : 0;
  if (len == 0 || memchr(buf, '*', len) != NULL) return NULL;
  entry *e = table_find(&s->exact, buf, len, hash_name(buf, len));
  if (e != NULL && e->name != NULL) return e->cert;
  const char *dot = memchr(buf, '.', len);
  if (dot == NULL || dot == buf) return NULL;
  size_t plen = len - (size_t)(dot + 1 - buf);
  e = table_find(&s->wild, dot + 1, plen, hash_name(dot + 1, plen));
  return e != NULL && e->name != NULL ? e->cert : NULL;
}

fg_tls_cert *fg_tls_sni_lookup(const fg_tls_sni *s, const char *name) {
  fg_tls_cert *c = fg_tls_sni_find(s, name);
  return c != NULL ? c : s->dflt;
}

size_t fg_tls_sni_count(const fg_tls_sni *s) {
  return s->exact.len + s->wild.len;
}
