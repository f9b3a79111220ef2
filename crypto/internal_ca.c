// internal_ca.c: mints and caches the internal hop's per-domain certificates.
//
// Minting happens once per remote domain per lifetime, when a hop stream is
// opened, never per stanza; a mutex around the small cache is therefore
// enough and keeps the code obvious. The cache is bounded: past
// kMaxEntries, the entry closest to expiry is replaced.
#include "crypto/internal_ca.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "crypto/devpki.h"

enum { kMaxEntries = 4096, kMaxDomain = 253 };

typedef struct ca_entry {
  char domain[kMaxDomain + 1];
  X509 *cert;
  EVP_PKEY *key;
  int64_t not_after;
} ca_entry;

struct fg_internal_ca {
  X509 *cert;
  EVP_PKEY *key;
  int64_t lifetime;
  pthread_mutex_t lock;
  ca_entry *entries;
  size_t num_entries, cap_entries;
  _Atomic uint64_t minted;  // read without the lock (metrics)
};

fg_internal_ca *fg_internal_ca_new(X509 *cert, EVP_PKEY *key, int64_t lifetime_s) {
  if (cert == NULL || key == NULL || X509_check_private_key(cert, key) != 1) return NULL;
  fg_internal_ca *ca = calloc(1, sizeof(*ca));
  if (ca == NULL) return NULL;
  X509_up_ref(cert);
  EVP_PKEY_up_ref(key);
  ca->cert = cert;
  ca->key = key;
  ca->lifetime = lifetime_s > 0 ? lifetime_s : 86400;
  pthread_mutex_init(&ca->lock, NULL);
  return ca;
}

fg_internal_ca *fg_internal_ca_load(const char *cert_path, const char *key_path, int64_t lifetime_s,
                                    char *err, size_t err_len) {
  FILE *f = fopen(cert_path, "r");
  if (f == NULL) {
    snprintf(err, err_len, "%s: cannot open the internal CA certificate", cert_path);
    return NULL;
  }
  X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if (cert == NULL) {
    snprintf(err, err_len, "%s: not a PEM certificate", cert_path);
    return NULL;
  }
  f = fopen(key_path, "r");
  if (f == NULL) {
    X509_free(cert);
    snprintf(err, err_len, "%s: cannot open the internal CA key", key_path);
    return NULL;
  }
  EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  if (key == NULL) {
    X509_free(cert);
    snprintf(err, err_len, "%s: not a PEM private key", key_path);
    return NULL;
  }
  fg_internal_ca *ca = fg_internal_ca_new(cert, key, lifetime_s);
  if (ca == NULL) snprintf(err, err_len, "%s: key does not match %s", key_path, cert_path);
  X509_free(cert);
  EVP_PKEY_free(key);
  ERR_clear_error();
  return ca;
}

static void entry_clear(ca_entry *e) {
  X509_free(e->cert);
  EVP_PKEY_free(e->key);
  e->cert = NULL;
  e->key = NULL;
}

void fg_internal_ca_free(fg_internal_ca *ca) {
  if (ca == NULL) return;
  for (size_t i = 0; i < ca->num_entries; i++) entry_clear(&ca->entries[i]);
  free(ca->entries);
  X509_free(ca->cert);
  EVP_PKEY_free(ca->key);
  pthread_mutex_destroy(&ca->lock);
  free(ca);
}

// slot_for returns the entry to use for |domain|: its own, a free one, or the
// one closest to expiry when the cache is full.
static ca_entry *slot_for(fg_internal_ca *ca, const char *domain) {
  for (size_t i = 0; i < ca->num_entries; i++) {
    if (strcmp(ca->entries[i].domain, domain) == 0) return &ca->entries[i];
  }
  if (ca->num_entries == ca->cap_entries && ca->cap_entries < kMaxEntries) {
    size_t cap = ca->cap_entries ? ca->cap_entries * 2 : 16;
    if (cap > kMaxEntries) cap = kMaxEntries;
    ca_entry *grown = realloc(ca->entries, cap * sizeof(*grown));
    if (grown != NULL) {
      ca->entries = grown;
      ca->cap_entries = cap;
    }
  }
  if (ca->num_entries < ca->cap_entries) {
    ca_entry *e = &ca->entries[ca->num_entries++];
    memset(e, 0, sizeof(*e));
    snprintf(e->domain, sizeof(e->domain), "%s", domain);
    return e;
  }
  if (ca->num_entries == 0) return NULL;
  ca_entry *oldest = &ca->entries[0];
  for (size_t i = 1; i < ca->num_entries; i++) {
    if (ca->entries[i].not_after < oldest->not_after) oldest = &ca->entries[i];
  }
  entry_clear(oldest);
  snprintf(oldest->domain, sizeof(oldest->domain), "%s", domain);
  return oldest;
}

int fg_internal_ca_get(fg_internal_ca *ca, const char *domain, int64_t now, X509 **out_cert,
                       EVP_PKEY **out_key) {
  if (strlen(domain) > kMaxDomain) return 0;
  pthread_mutex_lock(&ca->lock);
  ca_entry *e = slot_for(ca, domain);
  int ok = e != NULL;
  if (ok && (e->cert == NULL || e->not_after - now < ca->lifetime / 3)) {
    EVP_PKEY *key = fg_devpki_key_p256();
    // DNS-ID and SRV-ID only: ejabberd 23.01 (p1_xmpp 1.6.1) kills the
    // inbound stream when a client certificate has a bare-domain XmppAddr.
    // Backdated a little so that a hop peer's slightly slow clock accepts it.
    X509 *cert = key ? fg_devpki_mint_leaf(key, domain, FG_DEVPKI_ID_DNS | FG_DEVPKI_ID_SRV_SERVER,
                                           now - 300, now + ca->lifetime, ca->cert, ca->key)
                     : NULL;
    if (cert != NULL) {
      entry_clear(e);
      e->cert = cert;
      e->key = key;
      e->not_after = now + ca->lifetime;
      atomic_fetch_add_explicit(&ca->minted, 1, memory_order_relaxed);
    } else {
      EVP_PKEY_free(key);
      ok = e->cert != NULL && e->not_after > now;  // keep serving a still-valid one
    }
  }
  if (ok) {
    X509_up_ref(e->cert);
    EVP_PKEY_up_ref(e->key);
    *out_cert = e->cert;
    *out_key = e->key;
  }
  pthread_mutex_unlock(&ca->lock);
  return ok;
}

uint64_t fg_internal_ca_minted(const fg_internal_ca *ca) {
  return atomic_load_explicit(&ca->minted, memory_order_relaxed);
}
