// ticket_keys.c: the shared ticket keys in use (see ticket_keys.h).
#include "crypto/ticket_keys.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/cipher.h>
#include <openssl/digest.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

#include "crypto/epoch.h"
#include "crypto/ticket_key_file.h"

typedef struct key_set {
  size_t n;  // newest last
  fg_ticket_key keys[FG_TICKET_KEYS_MAX];
} key_set;

// file_id tells one version of the file from another.
typedef struct file_id {
  int err;  // errno of the failed stat, 0 when it succeeded
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
} file_id;

struct fg_ticket_keys {
  _Atomic(key_set *) current;
  fg_epoch_domain *epoch;
  pthread_mutex_t write_mu;  // reloads, and the file identity below
  char *path;
  file_id seen;  // the version last read (or refused)
  _Atomic uint64_t reloads, refused, unknown_names, renewed;
};

static void key_set_free(void *p) {
  if (p != NULL) OPENSSL_cleanse(p, sizeof(key_set));
  free(p);
}

static void identify(const char *path, file_id *out) {
  struct stat st;
  memset(out, 0, sizeof(*out));
  if (stat(path, &st) != 0) {
    out->err = errno ? errno : EIO;
    return;
  }
  out->dev = st.st_dev;
  out->ino = st.st_ino;
  out->size = st.st_size;
  out->mtime = st.st_mtim;
}

static int same_file(const file_id *a, const file_id *b) {
  return a->err == b->err && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

// load reads the file into a new set (NULL with |err| on failure).
static key_set *load(const char *path, char *err, size_t err_len) {
  key_set *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    snprintf(err, err_len, "%s: out of memory", path);
    return NULL;
  }
  if (!fg_ticket_keys_read_file(path, s->keys, FG_TICKET_KEYS_MAX, &s->n, err, err_len)) {
    key_set_free(s);
    return NULL;
  }
  return s;
}

fg_ticket_keys *fg_ticket_keys_new(const char *path, char *err, size_t err_len) {
  fg_ticket_keys *k = calloc(1, sizeof(*k));
  if (k == NULL) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&k->write_mu, NULL);
  k->path = strdup(path);
  k->epoch = fg_epoch_domain_new();
  identify(path, &k->seen);
  key_set *s = k->path != NULL && k->epoch != NULL ? load(path, err, err_len) : NULL;
  if (s == NULL) {
    fg_ticket_keys_free(k);
    return NULL;
  }
  atomic_store(&k->current, s);
  return k;
}

void fg_ticket_keys_free(fg_ticket_keys *k) {
  if (k == NULL) return;
  key_set_free(atomic_load(&k->current));
  fg_epoch_domain_free(k->epoch);
  pthread_mutex_destroy(&k->write_mu);
  free(k->path);
  free(k);
}

// replace reads the file (whose identity is |id|) and publishes it.
static fg_ticket_keys_reload_result replace(fg_ticket_keys *k, const file_id *id, char *err,
                                            size_t err_len) {
  k->seen = *id;
  key_set *s = load(k->path, err, err_len);
  if (s == NULL) {
    atomic_fetch_add_explicit(&k->refused, 1, memory_order_relaxed);
    return FG_TICKET_KEYS_REFUSED;
  }
  key_set *old = atomic_exchange_explicit(&k->current, s, memory_order_acq_rel);
  fg_epoch_retire(k->epoch, old, key_set_free);
  fg_epoch_reclaim(k->epoch);
  atomic_fetch_add_explicit(&k->reloads, 1, memory_order_relaxed);
  return FG_TICKET_KEYS_RELOADED;
}

fg_ticket_keys_reload_result fg_ticket_keys_poll(fg_ticket_keys *k, char *err, size_t err_len) {
  file_id id;
  identify(k->path, &id);
  pthread_mutex_lock(&k->write_mu);
  fg_ticket_keys_reload_result r = FG_TICKET_KEYS_UNCHANGED;
  if (!same_file(&id, &k->seen)) r = replace(k, &id, err, err_len);
  fg_epoch_reclaim(k->epoch);
  pthread_mutex_unlock(&k->write_mu);
  return r;
}

fg_ticket_keys_reload_result fg_ticket_keys_reload(fg_ticket_keys *k, char *err, size_t err_len) {
  file_id id;
  identify(k->path, &id);
  pthread_mutex_lock(&k->write_mu);
  fg_ticket_keys_reload_result r = replace(k, &id, err, err_len);
  pthread_mutex_unlock(&k->write_mu);
  return r;
}

size_t fg_ticket_keys_count(fg_ticket_keys *k) {
  if (!fg_epoch_enter(k->epoch)) return 0;
  size_t n = atomic_load_explicit(&k->current, memory_order_acquire)->n;
  fg_epoch_exit(k->epoch);
  return n;
}

void fg_ticket_keys_newest_name(fg_ticket_keys *k, uint8_t out[16]) {
  memset(out, 0, 16);
  if (!fg_epoch_enter(k->epoch)) return;
  const key_set *s = atomic_load_explicit(&k->current, memory_order_acquire);
  memcpy(out, s->keys[s->n - 1].name, 16);
  fg_epoch_exit(k->epoch);
}

int fg_ticket_keys_crypt(fg_ticket_keys *k, uint8_t *key_name, uint8_t *iv, EVP_CIPHER_CTX *cipher,
                         HMAC_CTX *hmac, int encrypt) {
  if (encrypt && !RAND_bytes(iv, 16)) return -1;
  if (!fg_epoch_enter(k->epoch)) return encrypt ? -1 : 0;
  const key_set *s = atomic_load_explicit(&k->current, memory_order_acquire);
  const fg_ticket_key *key = NULL;
  int ret = 1;
  if (encrypt) {
    key = &s->keys[s->n - 1];
    memcpy(key_name, key->name, FG_TICKET_KEY_NAME_BYTES);
  } else {
    for (size_t i = s->n; i-- > 0 && key == NULL;) {
      if (CRYPTO_memcmp(s->keys[i].name, key_name, FG_TICKET_KEY_NAME_BYTES) != 0) continue;
      key = &s->keys[i];
      // An older key still opens its tickets; the client gets a fresh one
      // under the newest key, so tickets move off keys about to be retired.
      ret = i + 1 == s->n ? 1 : 2;
    }
  }
  if (key != NULL) {
    int ok = HMAC_Init_ex(hmac, key->hmac_key, sizeof(key->hmac_key), EVP_sha256(), NULL) &&
             (encrypt ? EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, key->aes_key, iv)
                      : EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, key->aes_key, iv));
    if (!ok) ret = encrypt ? -1 : 0;
  }
  fg_epoch_exit(k->epoch);
  if (key == NULL) {
    atomic_fetch_add_explicit(&k->unknown_names, 1, memory_order_relaxed);
    return 0;
  }
  if (ret == 2) atomic_fetch_add_explicit(&k->renewed, 1, memory_order_relaxed);
  return ret;
}

void fg_ticket_keys_stats_get(fg_ticket_keys *k, fg_ticket_keys_stats *out) {
  out->keys = fg_ticket_keys_count(k);
  out->reloads = atomic_load_explicit(&k->reloads, memory_order_relaxed);
  out->refused = atomic_load_explicit(&k->refused, memory_order_relaxed);
  out->unknown_names = atomic_load_explicit(&k->unknown_names, memory_order_relaxed);
  out->renewed = atomic_load_explicit(&k->renewed, memory_order_relaxed);
}
