// blocklist.h: the set of blocked remote domains and senders, read by every
// worker without a lock and changed at run time (configuration, admin API,
// real-time block lists).
//
// Entries are of three kinds:
//   - a domain, matched exactly ("spam.example");
//   - a domain suffix, written "*.spam.example": every name below
//     spam.example, at any depth, but not spam.example itself (the
//     configuration's wildcard rule; list both to block both);
//   - a sender: the SHA-256 of a bare JID, lowercase hex (the form the
//     public block lists publish, e.g. xmppbl.org's muc_bans_sha256), so a
//     list can name a JID without revealing it.
// Each entry belongs to a source (a list: "config", "admin", an RTBL node);
// the same key may be listed by several sources, and removing it from one
// leaves the others in force. An entry may carry a reason, shown by explain.
//
// Readers (fg_blocklist_check_*) never block and never allocate: the list is
// sharded into immutable hash tables, each change rebuilds the one shard it
// touches (a whole-source replacement rebuilds them all, once) and publishes
// a new shard table by one pointer swap; old tables are freed by epoch-based
// reclamation (crypto/epoch.h) once no reader can hold them. Writers
// serialise on a mutex of the list. Hashes are keyed with a random secret per
// list, so entries cannot be chosen to collide.
//
// The same structure serves as an allow list (closed federations): a list
// whose domains are the only ones accepted.
#ifndef FEDGATE_GATEWAY_POLICY_BLOCKLIST_H
#define FEDGATE_GATEWAY_POLICY_BLOCKLIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct fg_blocklist fg_blocklist;

typedef enum fg_block_kind {
  FG_BLOCK_DOMAIN = 0,     // exact domain
  FG_BLOCK_DOMAIN_SUFFIX,  // every name below a domain ("*.example")
  FG_BLOCK_JID_SHA256,     // SHA-256 of a bare JID
} fg_block_kind;

// Longest key, source name and reason kept (longer ones are refused/cut).
#define FG_BLOCK_KEY_MAX 255
#define FG_BLOCK_SOURCE_MAX 127
#define FG_BLOCK_REASON_MAX 255
// Distinct sources a list holds at most.
#define FG_BLOCK_SOURCES_MAX 256

// fg_block_match says which entry matched (check and explain).
typedef struct fg_block_match {
  fg_block_kind kind;
  char key[FG_BLOCK_KEY_MAX + 1];  // as listed: "spam.example", "*.spam.example", hex digest
  char source[FG_BLOCK_SOURCE_MAX + 1];
  char reason[FG_BLOCK_REASON_MAX + 1];  // "" when none was given
} fg_block_match;

// fg_blocklist_new returns an empty list, or NULL when out of memory.
fg_blocklist *fg_blocklist_new(void);

// fg_blocklist_free frees |bl|; no reader may still use it. NULL is a no-op.
void fg_blocklist_free(fg_blocklist *bl);

// fg_block_parse_key classifies an entry as written by an operator or a
// block list: "*.suffix" is a suffix, 64 hex digits a JID digest, anything
// else a domain. It writes the normalised key (lowercase, no trailing dot,
// without "*.") to |key| (FG_BLOCK_KEY_MAX + 1 bytes) and returns 1, or
// returns 0 with a reason in |err| for a key that is not a valid LDH domain
// name (A-labels; U-labels must be converted before) or digest.
int fg_block_parse_key(const char *text, fg_block_kind *kind, char *key, const char **err);

// fg_blocklist_add lists |key| (normalised, as fg_block_parse_key writes it)
// of |kind| under |source| with an optional |reason| (NULL or ""). Listing
// it again under the same source replaces the reason. It returns 1, 0 for an
// invalid key or source (or too many sources), or -1 when out of memory (the
// list is then unchanged).
int fg_blocklist_add(fg_blocklist *bl, fg_block_kind kind, const char *key, const char *source,
                     const char *reason);

// fg_blocklist_remove removes |key| of |kind| from |source|. It returns 1
// when it was listed there, 0 when not, -1 when out of memory.
int fg_blocklist_remove(fg_blocklist *bl, fg_block_kind kind, const char *key, const char *source);

// fg_block_entry is one entry of a whole-source replacement.
typedef struct fg_block_entry {
  fg_block_kind kind;
  const char *key;     // normalised
  const char *reason;  // may be NULL
} fg_block_entry;

// fg_blocklist_replace_source makes |entries| the whole content of |source|
// in one change: readers see the old content or the new one, never a mix
// (a block list fetched again after a reconnection). It returns 1, 0 when an
// entry is invalid (nothing changes), -1 when out of memory (nothing changes).
int fg_blocklist_replace_source(fg_blocklist *bl, const char *source, const fg_block_entry *entries,
                                size_t n);

// fg_blocklist_check_domain returns 1 when |domain| (lowercase A-labels, no
// trailing dot) is listed exactly or below a listed suffix, filling |out|
// (may be NULL) with the most specific entry; 0 otherwise. Lock-free.
int fg_blocklist_check_domain(fg_blocklist *bl, const char *domain, fg_block_match *out);

// fg_blocklist_check_jid returns 1 when the SHA-256 of |bare_jid| is listed,
// filling |out| (may be NULL); 0 otherwise (its domain is not checked here).
// It hashes only when the list holds JID entries. Lock-free.
int fg_blocklist_check_jid(fg_blocklist *bl, const char *bare_jid, fg_block_match *out);

// fg_blocklist_generation counts changes: a reader that checked at one
// generation knows nothing changed while it stays the same.
uint64_t fg_blocklist_generation(const fg_blocklist *bl);

// fg_blocklist_stats: entries (source, key pairs), entries of each kind, and
// the bytes the tables use (reported per entry in docs).
typedef struct fg_blocklist_stats {
  size_t entries;
  size_t by_kind[3];
  size_t bytes;
  uint64_t generation;
} fg_blocklist_stats;
void fg_blocklist_stats_get(fg_blocklist *bl, fg_blocklist_stats *out);

// fg_blocklist_each calls |fn| for every entry, in no particular order, on
// the list as it was when the call started; |fn| returns 0 to stop. Not for
// the stanza path (the admin API lists with it).
void fg_blocklist_each(fg_blocklist *bl, int (*fn)(const fg_block_match *m, void *arg), void *arg);

// fg_blocklist_jid_digest writes the lowercase hex SHA-256 of |bare_jid| to
// |hex| (65 bytes), the key a JID entry is listed under.
void fg_blocklist_jid_digest(const char *bare_jid, char hex[65]);

#endif  // FEDGATE_GATEWAY_POLICY_BLOCKLIST_H
