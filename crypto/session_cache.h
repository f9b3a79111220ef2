// session_cache.h: the client-side TLS session cache of outbound links,
// shared by every worker and read without locks.
//
// An entry is immutable: its key (the remote domain and the target it was
// reached at, any string up to FG_SESSION_CACHE_KEY_MAX bytes) and up to
// FG_SESSION_CACHE_PER_KEY sessions, newest first. Each session keeps one
// reference to the SSL_SESSION, the time it stops being offered (its
// lifetime, or the server's ticket lifetime hint when shorter), whether it
// may be used once only (TLS 1.3, RFC 8446 appendix C.4: a key then keeps
// several, so that links opened together each find one), and the verdict
// fedgate reached about the peer in the full handshake
// (crypto/tls_verdict.h). Readers look entries up inside an epoch critical
// section (crypto/epoch.h, the scheme crypto/ocsp_cache.h uses too) and take
// their own reference to a session; a single-use session is claimed with
// one atomic exchange, so two workers never offer the same TLS 1.3 ticket.
// Writers (a new session, a removal) serialise on a mutex among themselves,
// publish a new entry (carrying the unused sessions of the old one) with one
// atomic pointer store and retire what they replace.
//
// The table is 2^k buckets of FG_SESSION_CACHE_WAYS ways, at most the
// requested number of keys: a full bucket replaces the key whose sessions
// are all used or expired, else the one whose newest session expires first.
#ifndef FEDGATE_CRYPTO_SESSION_CACHE_H
#define FEDGATE_CRYPTO_SESSION_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/base.h>

#include "crypto/tls_verdict.h"

#define FG_SESSION_CACHE_WAYS 4
#define FG_SESSION_CACHE_KEY_MAX 600
#define FG_SESSION_CACHE_PER_KEY 8
// FG_SESSION_CACHE_DEFAULT is the size of a cache asked for with 0 entries.
#define FG_SESSION_CACHE_DEFAULT 4096

typedef struct fg_session_cache fg_session_cache;

typedef struct fg_session_cache_stats {
  uint64_t capacity, entries, inserts, replaces, evictions, removals, retired_pending;
} fg_session_cache_stats;

// fg_session_cache_new returns a cache of at most |max_entries| keys
// (rounded down to FG_SESSION_CACHE_WAYS times a power of two, at least one
// bucket; 0 means FG_SESSION_CACHE_DEFAULT), or NULL.
fg_session_cache *fg_session_cache_new(size_t max_entries);

// fg_session_cache_free frees |c| and drops its sessions; no thread may use
// it any more. NULL: no-op.
void fg_session_cache_free(fg_session_cache *c);

// fg_session_cache_put stores |session| (the cache takes its own reference)
// under |key| with |verdict|: a single-use session joins the key's unused
// single-use ones (the oldest beyond FG_SESSION_CACHE_PER_KEY dropped), a
// reusable one replaces them. |now| is the
// current time in seconds since the epoch. It returns 1, or 0 when the key is
// empty or too long, the session cannot be resumed or has expired, or memory
// is short.
int fg_session_cache_put(fg_session_cache *c, const char *key, SSL_SESSION *session,
                         const fg_tls_verdict *verdict, int64_t now);

// fg_session_cache_get looks |key| up at time |now| and returns a new
// reference to its newest usable session (the caller frees it), copying its verdict into
// |verdict_out|; NULL on a miss: absent, expired, already used (single-use),
// or verified under another |scope| than the caller's now. A single-use
// session is claimed: no other caller gets it. Lock-free; any thread.
SSL_SESSION *fg_session_cache_get(fg_session_cache *c, const char *key, uint64_t scope, int64_t now,
                                  fg_tls_verdict *verdict_out);

// fg_session_cache_remove drops every session of |key| (e.g. the link it
// resumed was refused after the handshake). It returns 1 when one was there.
int fg_session_cache_remove(fg_session_cache *c, const char *key);

// fg_session_cache_stats_get fills |out| (writers' view).
void fg_session_cache_stats_get(fg_session_cache *c, fg_session_cache_stats *out);

#endif  // FEDGATE_CRYPTO_SESSION_CACHE_H
