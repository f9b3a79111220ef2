// sm_registry.h: the XEP-0198 §5 resumption state of inbound streams,
// shared by the workers (a resumed stream may land on another worker than
// the one that carried it).
//
// An inbound stream whose peer enabled stream management with resume='true'
// opens an entry under its resume id (live). When the stream ends, the entry
// is parked with the stream's final h (stanzas handled) and kept for the
// resume timeout. A new stream of the same peer that resumes it takes the
// entry (live again) and continues counting from h, so that the peer sends
// again only what was never handled: no duplicates.
//
// On a bidirectional stream (XEP-0288) the entry also keeps, while parked,
// the stanzas this side wrote back and the peer did not acknowledge, with
// the peer's count they follow: the stream that resumes takes them, the
// peer's h on <resume/> says which of them it handled (XEP-0198 §5), and
// only the rest is written again. When the window ends without a
// resumption they are taken back (fg_sm_registry_take_expired) and sent
// over another stream or bounced.
//
// Opened, parked and resumed once per stream, never per stanza: a mutex
// guards the table.
#ifndef FEDGATE_GATEWAY_SERVER_SM_REGISTRY_H
#define FEDGATE_GATEWAY_SERVER_SM_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/s2s/sm.h"

typedef struct fg_sm_registry fg_sm_registry;

// fg_sm_registry_new returns an empty registry holding at most |max_entries|
// (parked entries beyond are forgotten oldest first), each parked entry for
// |keep_ms|; NULL when out of memory.
fg_sm_registry *fg_sm_registry_new(size_t max_entries, uint64_t keep_ms);

// fg_sm_registry_free frees |r|. NULL is a no-op.
void fg_sm_registry_free(fg_sm_registry *r);

// fg_sm_registry_open registers a live stream of |peer| to |local| under
// |id|. It returns 1, or 0 when the table is full of live streams or the id
// is taken (then the stream is not resumable).
int fg_sm_registry_open(fg_sm_registry *r, const char *id, const char *peer, const char *local);

// fg_sm_registry_park records that the stream of |id| ended having handled
// |h| stanzas: resumable until |now_ms| + keep_ms.
void fg_sm_registry_park(fg_sm_registry *r, const char *id, uint32_t h, uint64_t now_ms);

// fg_sm_registry_park_sent_back is fg_sm_registry_park for a bidirectional
// stream: the entry also takes |items| (oldest first; freed with free()),
// the stanzas this side wrote on it and the peer did not acknowledge, the
// first following the peer's count |acked|. It returns 1, or 0 when no
// entry is open under |id| (the caller keeps |items|).
int fg_sm_registry_park_sent_back(fg_sm_registry *r, const char *id, uint32_t h, fg_sm_item *items,
                                  uint32_t acked, uint64_t now_ms);

// fg_sm_registry_take_expired hands back the stanzas kept with the parked
// entry |id| once its window has passed (|now_ms|) and forgets the entry.
// NULL when it holds none or was resumed; also NULL, with |*out_wait_ms|
// set to the time left, while its window has not passed (parked again
// later, or the caller's clock ran ahead); |*out_wait_ms| is 0 otherwise.
fg_sm_item *fg_sm_registry_take_expired(fg_sm_registry *r, const char *id, uint64_t now_ms,
                                        uint64_t *out_wait_ms);

typedef enum fg_sm_resume_verdict {
  FG_SM_RESUME_OK = 0,
  FG_SM_RESUME_UNKNOWN,     // no such id, or it expired
  FG_SM_RESUME_LIVE,        // its stream has not ended (yet)
  FG_SM_RESUME_WRONG_PEER,  // another peer or local domain
} fg_sm_resume_verdict;

// fg_sm_registry_resume takes the parked entry |id| for a new stream of
// |peer| to |local|: on FG_SM_RESUME_OK |*out_h| is the old stream's h and
// the entry is live again (for the new stream). When |out_sent_back| is not
// NULL, it receives the stanzas parked with the entry (the caller owns them;
// NULL when none) and |*out_acked| the count they follow.
fg_sm_resume_verdict fg_sm_registry_resume(fg_sm_registry *r, const char *id, const char *peer,
                                           const char *local, uint64_t now_ms, uint32_t *out_h,
                                           fg_sm_item **out_sent_back, uint32_t *out_acked);

// fg_sm_registry_recovered says, once the resume window of a stream parked
// under |id| has passed (|now_ms|), whether it was resumed: 1 when its
// entry is live (a new stream took it) or parked again later (the new
// stream ended in turn, and is judged when its own window passes), 0 when
// it expired or is gone.
int fg_sm_registry_recovered(fg_sm_registry *r, const char *id, uint64_t now_ms);

// fg_sm_resume_verdict_name names |v| for logs ("ok", "unknown", ...).
const char *fg_sm_resume_verdict_name(fg_sm_resume_verdict v);

#endif  // FEDGATE_GATEWAY_SERVER_SM_REGISTRY_H
