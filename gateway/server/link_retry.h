// link_retry.h: the reconnect schedule of an outbound link that keeps the
// stanzas of a broken stream (stream_management.give_up_after), as pure
// functions of the clock, so that the policy is tested without one.
//
// When a ready remote link breaks, its unacknowledged and held stanzas go
// to a replacement link. A replacement whose connection attempt fails (no
// candidate answers, DNS fails) does not bounce them at once: it tries
// again after 250 ms, doubling up to 4 s, until the give-up time (the
// break plus give_up_after); the attempt that fails after that bounces
// them with the condition of its failure (RFC 6120 §8.3.3.15/16).
#ifndef FEDGATE_GATEWAY_SERVER_LINK_RETRY_H
#define FEDGATE_GATEWAY_SERVER_LINK_RETRY_H

#include <stdint.h>

#define FG_LINK_RETRY_FIRST_MS 250
#define FG_LINK_RETRY_MAX_MS 4000

typedef struct fg_link_retry {
  uint64_t give_up_ns;  // no attempt starts after this time
  unsigned attempts;    // reconnect attempts started so far
} fg_link_retry;

// fg_link_retry_start sets |r| for a stream that broke at |now_ns|, whose
// stanzas may wait |give_up_after_ms| (0: none, the first failure bounces).
void fg_link_retry_start(fg_link_retry *r, uint64_t now_ns, uint32_t give_up_after_ms);

// fg_link_retry_next returns the delay in milliseconds before the next
// attempt after a failure at |now_ns|, and counts the attempt; it returns 0
// when no attempt is left (the give-up time is reached or would be passed
// before the attempt starts): then the kept stanzas bounce.
uint64_t fg_link_retry_next(fg_link_retry *r, uint64_t now_ns);

#endif  // FEDGATE_GATEWAY_SERVER_LINK_RETRY_H
