// link_retry.c: the reconnect schedule of a link keeping a broken stream's
// stanzas (see link_retry.h).
#include "gateway/server/link_retry.h"

void fg_link_retry_start(fg_link_retry *r, uint64_t now_ns, uint32_t give_up_after_ms) {
  r->give_up_ns = now_ns + (uint64_t)give_up_after_ms * 1000000ull;
  r->attempts = 0;
}

uint64_t fg_link_retry_next(fg_link_retry *r, uint64_t now_ns) {
  uint64_t delay_ms = FG_LINK_RETRY_FIRST_MS;
  for (unsigned i = 0; i < r->attempts && delay_ms < FG_LINK_RETRY_MAX_MS; i++) delay_ms *= 2;
  if (delay_ms > FG_LINK_RETRY_MAX_MS) delay_ms = FG_LINK_RETRY_MAX_MS;
  if (now_ns >= r->give_up_ns) return 0;
  // The last attempt starts at the give-up time at the latest, so that a
  // peer back just before it is still reached.
  uint64_t left_ms = (r->give_up_ns - now_ns) / 1000000ull;
  if (left_ms == 0) return 0;
  if (delay_ms > left_ms) delay_ms = left_ms;
  r->attempts++;
  return delay_ms;
}
