// bidi_park.h: what fedgate wrote back on a resumable bidirectional inbound
// stream (XEP-0288) and its peer did not acknowledge (XEP-0198), kept with
// the ended stream for its resume window.
//
// A stream that resumes it takes those stanzas (gateway/server/sm_registry.h)
// and writes again only those the peer's h on <resume/> does not cover. When
// the window passes without a resumption, the worker that parked them sends
// them over another stream or bounces them (gateway/server/bidi_resend.h),
// as for a stream that could not be resumed.
#ifndef FEDGATE_GATEWAY_SERVER_BIDI_PARK_H
#define FEDGATE_GATEWAY_SERVER_BIDI_PARK_H

#include <stdint.h>

#include "gateway/s2s/sm.h"
#include "gateway/server/server_internal.h"

// fg_bidi_park parks the ended stream |sm_id| (|stream_id| in the log) with
// its h and |items| (oldest first, following the peer's count |acked|) and
// watches its window on worker |w|. It returns 1, or 0 when it could not
// (no such entry, out of memory, the gateway stops): the caller still owns
// |items| then.
int fg_bidi_park(fg_server *srv, fg_worker *w, const char *stream_id, const char *sm_id, uint32_t h,
                 fg_sm_item *items, uint32_t acked);

// fg_bidi_park_shutdown ends the watches of a stopping worker: what they
// still keep was written and never acknowledged, and is counted unconfirmed.
void fg_bidi_park_shutdown(worker_state *ws);

#endif  // FEDGATE_GATEWAY_SERVER_BIDI_PARK_H
