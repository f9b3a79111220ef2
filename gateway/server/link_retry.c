// link_retry.c: the reconnect schedule of a link keeping a broken stream's
// stanzas (see link_retry.h).
#include "gateway/server/link_retry.h"

const fg_link_retry_schedule fg_link_retry_remote = {250, 4000};
const fg_link_retry_schedule fg_link_retry_hop = {100, 1000};

void fg_link_retry_start(fg_link_retry *r, const fg_link_retry_schedule *schedule, uint64_t now_ns,
                         uint32_t give_up_after_ms) {
  r->schedule = *schedule;
  r->give_up_ns = now_ns + (uint64_t)give_up_after_ms * 1000000ull;
  r->attempts = 0;
}

uint64_t fg_link_retry_next(fg_link_retry *r, uint64_t now_ns) {
  uint64_t max_ms = r->schedule.max_ms;
  uint64_t delay_ms = r->schedule.first_ms;
  for (unsigned i = 0; i < r->attempts && delay_ms < max_ms; i++) delay_ms *= 2;
  if (delay_ms > max_ms) delay_ms = max_ms;
  if (now_ns >= r->give_up_ns) return 0;
  // The last attempt starts at the give-up time at the latest, so that a
  // peer back just before it is still reached.
  uint64_t left_ms = (r->give_up_ns - now_ns) / 1000000ull;
  if (left_ms == 0) return 0;
  if (delay_ms > left_ms) delay_ms = left_ms;
  r->attempts++;
  return delay_ms;
}
