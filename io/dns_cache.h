// dns_cache.h: the answer cache of io/dns, shared by its resolver threads:
// one rrset per (type, name), positive answers for their TTL, negative answers
// and failures for fixed times. Not part of the public API (io/dns.h).
#ifndef FEDGATE_IO_DNS_CACHE_H
#define FEDGATE_IO_DNS_CACHE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "io/dns_wire.h"

typedef struct fg_dns_cache_entry fg_dns_cache_entry;

// fg_dns_cache is a hash of entries plus a list in insertion order, under one
// mutex. Resolution is off the workers' hot path and the critical sections
// only copy a few records, so a lock is cheaper than an RCU scheme. Fields are
// private to dns_cache.c.
typedef struct fg_dns_cache {
  pthread_mutex_t lock;
  fg_dns_cache_entry **buckets;
  size_t n_buckets;  // 0: the cache is disabled
  fg_dns_cache_entry *oldest, *newest;
  size_t n_entries;
  size_t max_entries;
  uint32_t max_ttl_s, negative_ttl_s, failure_ttl_s;
} fg_dns_cache;

// fg_dns_cache_init sets |c| up for at most |max_entries| entries (0 disables
// it: nothing is kept, every lookup misses). Positive answers are kept for
// their TTL capped at |max_ttl_s|; NXDOMAIN and NODATA for |negative_ttl_s|;
// timeouts and SERVFAIL for |failure_ttl_s|. It returns 1, or 0 (nothing to
// clean up) when memory runs out.
int fg_dns_cache_init(fg_dns_cache *c, size_t max_entries, uint32_t max_ttl_s,
                      uint32_t negative_ttl_s, uint32_t failure_ttl_s);

// fg_dns_cache_cleanup frees every entry and what fg_dns_cache_init set up.
void fg_dns_cache_cleanup(fg_dns_cache *c);

// fg_dns_cache_get copies the live entry for (|name|, |type|) into |out|
// (zeroed by the caller; freed with fg_dns_rrset_cleanup), with |out->ttl|
// set to the seconds it has left, rounded up. It returns 1 on a hit and 0 on
// a miss, an expired entry (then dropped) or when memory runs out.
int fg_dns_cache_get(fg_dns_cache *c, const char *name, uint16_t type, fg_dns_rrset *out);

// fg_dns_cache_put stores a copy of |s| for (|name|, |type|), replacing an
// older entry, for the time its status earns (see fg_dns_cache_init); an
// answer that earns 0 seconds (TTL 0, a cancelled question) is not stored.
// When the cache is full the oldest insertion is dropped first.
void fg_dns_cache_put(fg_dns_cache *c, const char *name, uint16_t type, const fg_dns_rrset *s);

// fg_dns_cache_clear drops every entry.
void fg_dns_cache_clear(fg_dns_cache *c);

#endif  // FEDGATE_IO_DNS_CACHE_H
