// link_retry.h: the reconnect schedule of an outbound link that keeps the
// stanzas of a broken stream (stream_management.give_up_after), as pure
// functions of the clock, so that the policy is tested without one.
//
// When a ready remote or hop link breaks, its unacknowledged and held
// stanzas go to a replacement link. A replacement whose connection attempt
// fails (no candidate answers, DNS fails, the internal server is down) does
// not bounce them at once: it tries again after a delay that doubles up to a
// cap, until the give-up time (the break plus give_up_after); the attempt
// that fails after that bounces them with the condition of its failure
// (RFC 6120 §8.3.3.15/16).
//
// Two schedules: towards a remote domain on the internet 250 ms doubling to
// 4 s (fg_link_retry_remote); towards an internal server on the provider's
// own network 100 ms doubling to 1 s (fg_link_retry_hop). A refused connect
// on a LAN costs one round trip, and a restarted internal server (a crash
// and its supervisor's restart) is back within seconds: a 1 s cap gets the
// kept stanzas to it at most about a second after it listens again, at a
// cost of one connect per second per kept hop link while it is down.
#ifndef FEDGATE_GATEWAY_SERVER_LINK_RETRY_H
#define FEDGATE_GATEWAY_SERVER_LINK_RETRY_H

#include <stdint.h>

typedef struct fg_link_retry_schedule {
  uint32_t first_ms;  // the delay after the first failure
  uint32_t max_ms;    // the cap of the doubling
} fg_link_retry_schedule;

extern const fg_link_retry_schedule fg_link_retry_remote;  // 250 ms doubling to 4 s
extern const fg_link_retry_schedule fg_link_retry_hop;     // 100 ms doubling to 1 s

typedef struct fg_link_retry {
  fg_link_retry_schedule schedule;
  uint64_t give_up_ns;  // no attempt starts after this time
  unsigned attempts;    // reconnect attempts started so far
} fg_link_retry;

// fg_link_retry_start sets |r| for a stream that broke at |now_ns|, whose
// stanzas may wait |give_up_after_ms| (0: none, the first failure bounces),
// with the delays of |schedule| (copied).
void fg_link_retry_start(fg_link_retry *r, const fg_link_retry_schedule *schedule, uint64_t now_ns,
                         uint32_t give_up_after_ms);

// fg_link_retry_next returns the delay in milliseconds before the next
// attempt after a failure at |now_ns|, and counts the attempt; it returns 0
// when no attempt is left (the give-up time is reached or would be passed
// before the attempt starts): then the kept stanzas bounce.
uint64_t fg_link_retry_next(fg_link_retry *r, uint64_t now_ns);

#endif  // FEDGATE_GATEWAY_SERVER_LINK_RETRY_H
