// dns.h: asynchronous resolution of XMPP server-to-server peers (RFC 6120
// §3.2, XEP-0368 §3, RFC 2782) with a shared, TTL-honouring cache.
//
// An fg_dns owns a small fixed pool of resolver threads. Workers never block
// on DNS: fg_dns_resolve_xmpp_server queues a request and returns at once;
// the callback runs later on one of the resolver threads, which is not the
// worker that asked. The caller is expected to forward the result to its
// worker (a cross-worker message) and act on it there.
//
// Queries are built and parsed with glibc's libresolv (res_nmkquery,
// ns_initparse, ns_parserr, dn_expand); the UDP/TCP exchange with the
// nameservers is done here so that timeouts, SERVFAIL and NXDOMAIN stay
// distinct, IPv6 nameservers and ports are configurable, and a stop request
// interrupts a wait. No OpenSSL-linked library is used (the process loads
// Android BoringSSL).
#ifndef FEDGATE_IO_DNS_H
#define FEDGATE_IO_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

// fg_dane_rrset: the TLSA records of a target.
#include "crypto/tlsa.h"
// FG_DNS_NAME_MAX and fg_dns_name_valid.
#include "io/dns_name.h"
// fg_dnssec: secure, insecure or bogus.
#include "io/dnssec.h"

typedef struct fg_dns fg_dns;

// fg_dns_status is the outcome of one resolution.
typedef enum fg_dns_status {
  FG_DNS_OK = 0,        // at least one candidate
  FG_DNS_NXDOMAIN,      // the domain does not exist (no SRV, no A/AAAA)
  FG_DNS_NO_SERVICE,    // SRV target "." (RFC 2782, RFC 6120 §3.2.1): not offered
  FG_DNS_NO_ADDRESS,    // names exist, but no target has an A/AAAA address
  FG_DNS_TIMEOUT,       // temporary: no nameserver answered in time
  FG_DNS_SERVFAIL,      // temporary: nameservers answered SERVFAIL/REFUSED
  FG_DNS_INVALID_NAME,  // not a valid host name (submit refuses those: no callback sees it)
  FG_DNS_CANCELLED,     // fg_dns_free ran before the request finished
} fg_dns_status;

// fg_dns_status_name returns a short lowercase name for |s| ("nxdomain").
const char *fg_dns_status_name(fg_dns_status s);

// fg_dns_status_is_temporary returns 1 for outcomes worth retrying soon
// (timeout, servfail, cancelled) and 0 otherwise.
int fg_dns_status_is_temporary(fg_dns_status s);

// fg_dns_candidate is one address to try. |addr| holds the address with
// |port| already set in it (sin_port / sin6_port).
typedef struct fg_dns_candidate {
  struct sockaddr_storage addr;
  socklen_t addr_len;
  uint16_t port;
  uint16_t priority;  // the SRV priority (0 for the fallback and for statics)
  uint16_t weight;    // the SRV weight
  int direct_tls;     // 1: from _xmpps-server (XEP-0368), TLS from the first byte
  // host is the name connected to: the SRV target, the domain itself for the
  // fallback, or a static target as configured. Lowercase, no trailing dot.
  char host[FG_DNS_NAME_MAX + 1];
  // DNSSEC status of the SRV answer that named |host| (insecure for the
  // fallback and statics) and of the AAAA or A answer that gave |addr|.
  fg_dnssec srv_dnssec, addr_dnssec;
  // tlsa indexes fg_dns_result.tlsa: the TLSA lookup for |host| and |port|
  // (asked only with fg_dns_config.dane and a secure SRV answer), or -1.
  int tlsa;
} fg_dns_candidate;

// fg_dns_tlsa_answer is the TLSA lookup of one SRV target (RFC 7673 §3.3:
// _port._tcp.target).
typedef struct fg_dns_tlsa_answer {
  char host[FG_DNS_NAME_MAX + 1];
  uint16_t port;
  fg_dnssec dnssec;  // of the TLSA answer (or of its denial)
  // failed: the lookup got no answer (timeout, SERVFAIL): the target must
  // not be used (RFC 7672 §2.2: no downgrade on a failed TLSA lookup).
  int failed;
  fg_dane_rrset records;  // empty for NXDOMAIN / no data
  char why[96];           // the failure, for logs
} fg_dns_tlsa_answer;

// fg_dns_result is what a callback receives. It owns |candidates|.
typedef struct fg_dns_result {
  fg_dns_status status;
  char domain[FG_DNS_NAME_MAX + 1];  // as asked, lowercased
  char reason[256];                  // human-readable, for logs and bounces
  int from_static;                   // answered by a dns.static override
  int from_cache;                    // every lookup was a cache hit
  uint32_t ttl_s;                    // seconds this answer stays valid
  size_t num_candidates;
  fg_dns_candidate *candidates;  // in connection order
  size_t num_tlsa;
  fg_dns_tlsa_answer *tlsa;  // per target, when asked (see fg_dns_candidate.tlsa)
  // dnssec_refused counts the targets (or SRV names) left out because a
  // trusted validating resolver found their answers bogus, or their TLSA
  // lookup failed.
  size_t dnssec_refused;
  char dnssec_why[256];  // what was refused and why, for logs
} fg_dns_result;

// fg_dns_result_free releases |res| and its candidates. NULL is a no-op.
void fg_dns_result_free(fg_dns_result *res);

// fg_dns_cb receives the result of one request. It runs on a resolver
// thread; the callee owns |res| and frees it with fg_dns_result_free (it may
// hand it to another thread first). It must not call fg_dns_free; it may
// queue new requests.
typedef void (*fg_dns_cb)(void *arg, fg_dns_result *res);

// fg_dns_config tunes a resolver. Fill it with fg_dns_config_init, then
// change what is needed.
typedef struct fg_dns_config {
  // nameservers lists "IPv4", "IPv4:port", "IPv6" or "[IPv6]:port" strings
  // (port 53 when absent). With none, the nameservers of /etc/resolv.conf
  // (res_ninit) are used.
  const char *const *nameservers;
  size_t n_nameservers;
  unsigned threads;          // resolver threads (default 2, at most 64)
  uint32_t timeout_ms;       // wait for one server's answer (default 2000)
  unsigned retries;          // extra passes over the server list (default 1)
  size_t max_pending;        // queued plus running requests (default 1024)
  size_t max_candidates;     // per result (default 32)
  uint32_t max_ttl_s;        // cap on positive TTLs (default 3600)
  uint32_t negative_ttl_s;   // NXDOMAIN / no data (default 60)
  uint32_t failure_ttl_s;    // timeout / SERVFAIL (default 10)
  size_t cache_max_entries;  // (default 10000; 0 disables the cache)
  int ipv4, ipv6;            // look up A / AAAA records (default 1, 1)
  // trusted_resolvers lists those of |nameservers| (same spelling of
  // address and port) whose AD bit is believed: validating resolvers on
  // trusted paths. With any, every question carries the DO bit; answers from
  // other servers are always insecure.
  const char *const *trusted_resolvers;
  size_t n_trusted_resolvers;
  // dane: for SRV targets named by a secure answer, also look up TLSA at
  // _port._tcp.target (RFC 7673 §3.3).
  int dane;
  // rng_seed, when not 0, makes the RFC 2782 weighted order reproducible
  // (tests). 0 seeds from getrandom().
  uint64_t rng_seed;
} fg_dns_config;

// fg_dns_config_init fills |cfg| with the defaults above.
void fg_dns_config_init(fg_dns_config *cfg);

// fg_dns_new starts a resolver with |cfg| (copied; NULL for the defaults).
// It returns NULL and writes a reason to |err| if a nameserver does not parse,
// a trusted resolver is not one of the nameservers,
// /etc/resolv.conf names none, or a thread cannot start.
fg_dns *fg_dns_new(const fg_dns_config *cfg, char *err, size_t err_len);

// fg_dns_free stops the resolver. Every request still queued or running gets
// its callback, with FG_DNS_CANCELLED, before this returns (a running query is
// interrupted within about 100 ms). NULL is a no-op.
void fg_dns_free(fg_dns *dns);

typedef enum fg_dns_submit {
  FG_DNS_QUEUED = 0,       // |cb| will be called exactly once
  FG_DNS_SUBMIT_BAD_NAME,  // |domain| is not a valid host name; no callback
  FG_DNS_SUBMIT_BUSY,      // max_pending reached; no callback
} fg_dns_submit;

// fg_dns_resolve_xmpp_server queues the resolution of the s2s peer |domain|
// (A-labels, an optional trailing dot) and returns without blocking.
//
// The resolver looks up _xmpps-server._tcp.|domain| and
// _xmpp-server._tcp.|domain| together and merges both into one list, ordered
// by priority and then RFC 2782 weighted random within each priority
// (XEP-0368 §3: the two services' priorities and weights are mixed). A set
// whose only record has target "." means that service is not offered. Each
// target's AAAA and A addresses are listed, interleaved IPv6 first, before
// the next target's. Only when neither SRV name has records (NXDOMAIN or no
// data for both) does it fall back to |domain|'s own A/AAAA on port 5269,
// STARTTLS. A dns.static override (fg_dns_set_static) replaces all of this.
fg_dns_submit fg_dns_resolve_xmpp_server(fg_dns *dns, const char *domain, fg_dns_cb cb, void *arg);

// fg_dns_resolve_host queues the lookup of |host|'s own AAAA and A records
// (no SRV, no dns.static override), for clients of other protocols (HTTP for
// OCSP and CRLs). The candidates carry |port|, interleaved IPv6 first like a
// target's in fg_dns_resolve_xmpp_server; a name without addresses is
// FG_DNS_NXDOMAIN or FG_DNS_NO_ADDRESS. Same threads, cache and callback
// contract as fg_dns_resolve_xmpp_server. Port 0 is refused as a bad name.
fg_dns_submit fg_dns_resolve_host(fg_dns *dns, const char *host, uint16_t port, fg_dns_cb cb,
                                  void *arg);

// fg_dns_static_target is one pinned target of a static override.
typedef struct fg_dns_static_target {
  const char *host;  // a host name (resolved by this resolver) or a numeric IP
  uint16_t port;
  int direct_tls;  // 1: direct TLS; 0: STARTTLS
} fg_dns_static_target;

// fg_dns_set_static makes |domain| resolve to |targets| in the given order
// instead of DNS (config dns.static), replacing an earlier override; with
// |n_targets| 0 it removes the override. It returns 0, changing nothing, if a
// name is invalid, a port is 0 or memory runs out.
int fg_dns_set_static(fg_dns *dns, const char *domain, const fg_dns_static_target *targets,
                      size_t n_targets);

// fg_dns_clear_static removes every static override.
void fg_dns_clear_static(fg_dns *dns);

// fg_dns_cache_flush empties the cache.
void fg_dns_cache_flush(fg_dns *dns);

// fg_dns_stats counts since fg_dns_new.
typedef struct fg_dns_stats {
  uint64_t requests;       // fg_dns_resolve_xmpp_server and fg_dns_resolve_host calls queued
  uint64_t rejected;       // refused: busy or bad name
  uint64_t queries_sent;   // DNS questions sent to a nameserver (UDP or TCP)
  uint64_t tcp_fallbacks;  // truncated UDP answers retried over TCP
  uint64_t cache_hits;
  uint64_t cache_misses;
  uint64_t timeouts;  // questions that got no answer from any server
  uint64_t servfails;
  uint64_t static_hits;
  uint64_t secure;      // answers a trusted resolver vouched for (AD bit)
  uint64_t bogus;       // answers a trusted resolver refused (SERVFAIL)
  uint64_t tlsa_asked;  // TLSA questions (cache hits included)
} fg_dns_stats;

// fg_dns_get_stats copies the counters into |out|.
void fg_dns_get_stats(fg_dns *dns, fg_dns_stats *out);

#endif  // FEDGATE_IO_DNS_H
