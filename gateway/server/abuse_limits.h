// abuse_limits.h: the rate limits of abuse.limits (docs/abuse.md), on top of
// gateway/policy/rate_limit.h (token buckets shared by every worker):
//   - inbound, per remote domain and per remote address: stanzas/s and
//     bytes/s; excess is refused with resource-constraint, and a stream
//     refused without pause for abuse.limits.sustained is closed with
//     policy-violation;
//   - unsolicited traffic: messages and presence subscription requests from
//     a remote sender to a local recipient who never sent that sender
//     anything (fedgate has no rosters: a stanza from the local user to the
//     remote one marks the pair as solicited, in both directions of
//     meaning), per (remote sender, local recipient) pair, on a per-minute
//     budget; excess is refused with policy-violation, replies always pass;
//   - new connections per remote address, checked when the socket is
//     accepted, before any TLS work, and per remote domain, checked at the
//     first stream header that names it (before STARTTLS on 5269);
//   - outbound, per local sender (bare JID): stanzas/s; per remote domain:
//     stanzas/s and bytes/s (one internal server cannot flood one peer).
// Everything here is thread-safe and allocation-free after creation.
#ifndef FEDGATE_GATEWAY_SERVER_ABUSE_LIMITS_H
#define FEDGATE_GATEWAY_SERVER_ABUSE_LIMITS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gateway/config/config.h"
#include "gateway/s2s/bounce.h"
#include "gateway/xml/xml_types.h"

typedef struct fg_abuse_limits fg_abuse_limits;

// fg_abuse_limits_new returns the limits of |cfg| (abuse.limits, with
// limits.ipv6_prefix for addresses), NULL when every limit is off or out of
// memory (|*oom| says which).
fg_abuse_limits *fg_abuse_limits_new(const fg_config *cfg, int *oom);

// fg_abuse_limits_free frees |l|. NULL is a no-op.
void fg_abuse_limits_free(fg_abuse_limits *l);

// fg_limit_result says whether a stanza is refused, the condition to
// bounce it with, which limit spoke ("stanzas per domain", ...), and whether
// it was a rate of the stream's domain or address (sustained excess of
// those closes the stream; the caller keeps the time per stream).
typedef struct fg_limit_result {
  int refused;
  fg_stanza_condition condition;
  const char *limit;
  int stream_rate;
} fg_limit_result;

// fg_limit_lease is one stream's share of the shared buckets: instead of
// one shared take per stanza and bucket, a stream takes 10 ms worth of a
// rate at a time (at least the stanza's cost, at most the burst) and spends
// it locally, so that the shared table is touched rarely at high rates. A
// stream can thus run ahead of its domain's other streams by 10 ms of the
// rate. Zeroed when the stream opens; owned by the stream.
typedef struct fg_limit_lease {
  double left[5];         // tokens in hand, per bucket (see abuse_limits.c)
  uint64_t domain;        // hash of the domain the domain leases are for
  const char *domain_at;  // where that domain was passed last (the stream's own copy)
  uint64_t pair;          // hash of the (sender, recipient) pair the pair lease is for
  // The pair as written ("from" NUL "to", bare), when short enough: a run
  // of stanzas between the same two JIDs skips the hash and the marks.
  uint8_t pair_raw[128];
  size_t pair_raw_len;
} fg_limit_lease;

// fg_abuse_limits_inbound judges stanza |el| (|len| bytes) from a remote
// server authenticated as |from_domain| to hosted |to_domain| (the
// domainparts of its 'from' and 'to' as the addressing checks normalised
// them, RFC 7622 §3.2: the budget of a sender and recipient is kept under
// their JIDs so normalised), arriving from |peer|, at |now_ns|, spending
// |lease| (the stream's).
fg_limit_result fg_abuse_limits_inbound(fg_abuse_limits *l, fg_limit_lease *lease,
                                        const fg_xml_element *el, size_t len,
                                        const char *from_domain, const char *to_domain,
                                        const struct sockaddr *peer, uint64_t now_ns);

// fg_abuse_limits_outbound judges stanza |el| from an internal server (its
// local sender's budget, the budget of the remote domain it goes to) and
// marks its (recipient, sender) pair solicited. |from_domain| and
// |to_domain| are the domainparts of its 'from' and 'to' as the addressing
// checks normalised them (RFC 7622 §3.2): the budgets are kept under them,
// whatever case or trailing dot the stanza spells them with.
fg_limit_result fg_abuse_limits_outbound(fg_abuse_limits *l, const fg_xml_element *el,
                                         const char *from_domain, const char *to_domain,
                                         uint64_t now_ns);

// fg_abuse_limits_admit takes one new connection from |peer| at |now_ns|:
// 1 when it may go on; 0 when over abuse.limits.connections, with |*first|
// set for the first refusal of a run (to log it once).
int fg_abuse_limits_admit(fg_abuse_limits *l, const struct sockaddr *peer, uint64_t now_ns,
                          int *first);

// fg_abuse_limits_admit_domain takes one new connection of remote domain
// |domain| (named in the stream header, before STARTTLS on 5269) at
// |now_ns|: 1 when it may go on; 0 when over
// abuse.limits.domain_connections, |*first| as for fg_abuse_limits_admit.
int fg_abuse_limits_admit_domain(fg_abuse_limits *l, const char *domain, uint64_t now_ns,
                                 int *first);

// fg_abuse_limits_bytes returns the memory of the buckets and marks.
size_t fg_abuse_limits_bytes(const fg_abuse_limits *l);

#endif  // FEDGATE_GATEWAY_SERVER_ABUSE_LIMITS_H
