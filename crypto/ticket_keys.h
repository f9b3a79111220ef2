// ticket_keys.h: the TLS session ticket keys in use, shared by every worker
// and read without locks, loaded from the shared key file
// (crypto/ticket_key_file.h) and re-read when it changes.
//
// The key set is one immutable object behind an atomic pointer. A handshake
// that seals or opens a ticket reads it inside an epoch critical section
// (crypto/epoch.h) and only copies keys into BoringSSL's cipher contexts; a
// re-read publishes a new set with one atomic exchange and retires the old
// one. A file that cannot be read or does not parse is refused: the keys in
// use stay.
#ifndef FEDGATE_CRYPTO_TICKET_KEYS_H
#define FEDGATE_CRYPTO_TICKET_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/base.h>

typedef struct fg_ticket_keys fg_ticket_keys;

// fg_ticket_keys_new loads |path|. It returns the key set, or NULL with
// "PATH: reason" in |err|.
fg_ticket_keys *fg_ticket_keys_new(const char *path, char *err, size_t err_len);

// fg_ticket_keys_free frees |k|; no handshake may use it any more. NULL: no-op.
void fg_ticket_keys_free(fg_ticket_keys *k);

typedef enum fg_ticket_keys_reload_result {
  FG_TICKET_KEYS_UNCHANGED = 0,  // the file is the one already loaded (or refused)
  FG_TICKET_KEYS_RELOADED,       // new keys are in use
  FG_TICKET_KEYS_REFUSED,        // the file is unreadable or malformed: the old keys stay
} fg_ticket_keys_reload_result;

// fg_ticket_keys_poll re-reads the file when its inode, size or modification
// time differ from the last read (a refused version is not read again until
// it changes, so it is reported once). One thread at a time (writers).
fg_ticket_keys_reload_result fg_ticket_keys_poll(fg_ticket_keys *k, char *err, size_t err_len);

// fg_ticket_keys_reload re-reads the file whether or not it changed (for a
// configuration reload). One thread at a time.
fg_ticket_keys_reload_result fg_ticket_keys_reload(fg_ticket_keys *k, char *err, size_t err_len);

// fg_ticket_keys_count returns how many keys are in use.
size_t fg_ticket_keys_count(fg_ticket_keys *k);

// fg_ticket_keys_newest_name copies the name of the key that encrypts new
// tickets into |out| (16 bytes).
void fg_ticket_keys_newest_name(fg_ticket_keys *k, uint8_t out[16]);

// fg_ticket_keys_crypt is BoringSSL's ticket key callback
// (SSL_CTX_set_tlsext_ticket_key_cb) over |k|: with |encrypt| it names the
// newest key, draws an IV and sets up AES-256-CBC and HMAC-SHA256 (returns 1,
// or -1); otherwise it finds the key by |key_name| and returns 1 for the
// newest, 2 for an older one (BoringSSL then issues a fresh ticket under the
// newest), 0 for an unknown (retired) name: a full handshake. Any thread.
int fg_ticket_keys_crypt(fg_ticket_keys *k, uint8_t *key_name, uint8_t *iv, EVP_CIPHER_CTX *cipher,
                         HMAC_CTX *hmac, int encrypt);

typedef struct fg_ticket_keys_stats {
  uint64_t keys, reloads, refused, unknown_names, renewed;
} fg_ticket_keys_stats;

// fg_ticket_keys_stats_get fills |out|.
void fg_ticket_keys_stats_get(fg_ticket_keys *k, fg_ticket_keys_stats *out);

#endif  // FEDGATE_CRYPTO_TICKET_KEYS_H
