// ocsp_cache.h: the process-wide OCSP response cache, shared by every worker
// (and by whatever fetches responses), read without locks.
//
// Entries are immutable: a key (the DER of an OCSP CertID, or any byte
// string naming one certificate's status), the verdict fields the caller
// stored, an expiry, and optionally the DER response itself (what a
// handshake staples). Readers look an entry up inside an epoch critical
// section (crypto/epoch.h) and copy out what they need; writers, serialised
// by a mutex among themselves, publish a new entry with one atomic pointer
// swap and retire the old one to the epoch domain, which frees it once no
// reader can hold it. Readers never lock and never wait for a writer.
//
// The table is set-associative: 2^k buckets of FG_OCSP_CACHE_WAYS atomic
// pointers, the bucket chosen by an xxHash of the key. A full bucket evicts
// its entry that expires first; the total of entry bytes is bounded too
// (entries are evicted round the table until under the bound). Negative
// entries ("no answer" from the responder) are ordinary entries with
// |negative| set and a short expiry chosen by the caller.
#ifndef FEDGATE_CRYPTO_OCSP_CACHE_H
#define FEDGATE_CRYPTO_OCSP_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define FG_OCSP_CACHE_WAYS 4
#define FG_OCSP_CACHE_KEY_MAX 128

typedef struct fg_ocsp_cache fg_ocsp_cache;

// fg_ocsp_cache_value is what one entry says. |status| and |reason| are the
// caller's (the OCSP module's verdict and revocation reason); the cache only
// stores them. Times are seconds since the epoch.
typedef struct fg_ocsp_cache_value {
  int status;
  int reason;
  int negative;  // a failed fetch remembered briefly
  int64_t this_update, next_update, revoked_at;
  int64_t expires_at;  // the entry is a miss from this time on
} fg_ocsp_cache_value;

typedef struct fg_ocsp_cache_stats {
  uint64_t entries, bytes, inserts, replaces, evictions, retired_pending;
} fg_ocsp_cache_stats;

// fg_ocsp_cache_new returns a cache of at most |max_entries| entries and
// |max_bytes| bytes of entries (keys and responses included), or NULL.
fg_ocsp_cache *fg_ocsp_cache_new(size_t max_entries, size_t max_bytes);

// fg_ocsp_cache_free frees |c|; no thread may use it any more. NULL: no-op.
void fg_ocsp_cache_free(fg_ocsp_cache *c);

// fg_ocsp_cache_get looks |key| up at time |now|. On a hit it copies the
// value into |out| and, when |der| is not NULL, up to |der_cap| bytes of the
// stored response into |der| with its full length in |*der_len| (a caller
// whose buffer was short sees *der_len > der_cap). It returns 1 on a hit, 0
// on a miss (absent or expired). Lock-free; any thread.
int fg_ocsp_cache_get(fg_ocsp_cache *c, const uint8_t *key, size_t key_len, int64_t now,
                      fg_ocsp_cache_value *out, uint8_t *der, size_t der_cap, size_t *der_len);

// fg_ocsp_cache_put stores |v| (and the response |der|, may be NULL) for
// |key|, replacing any entry for it. It returns 1, or 0 when the key is too
// long or the entry alone exceeds the byte bound or memory is short.
int fg_ocsp_cache_put(fg_ocsp_cache *c, const uint8_t *key, size_t key_len,
                      const fg_ocsp_cache_value *v, const uint8_t *der, size_t der_len);

// fg_ocsp_cache_remove drops the entry for |key| (e.g. a learned revocation
// invalidating what was derived from it). It returns 1 when one was there.
int fg_ocsp_cache_remove(fg_ocsp_cache *c, const uint8_t *key, size_t key_len);

// fg_ocsp_cache_stats_get fills |out| (writers' view; approximate while
// writers run).
void fg_ocsp_cache_stats_get(fg_ocsp_cache *c, fg_ocsp_cache_stats *out);

#endif  // FEDGATE_CRYPTO_OCSP_CACHE_H
