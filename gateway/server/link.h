// link.h: the one interface between inbound streams and outbound links:
// delivery of stanzas (to a backend over the hop, to a remote domain over an
// outbound link), bounces, flow control, and dialback verification
// questions. Answers to those questions come back to the inbound stream
// through fg_server.answer_dialback (gateway/server/server_internal.h), so that
// links never call into the inbound side.
#ifndef FEDGATE_GATEWAY_LINK_H
#define FEDGATE_GATEWAY_LINK_H

#include "gateway/server/link_flow.h"
#include "gateway/server/server_internal.h"

// fg_link_verify asks the authoritative server of |originating| about |key|;
// the answer goes to the inbound stream with id |stream_id| on worker |w|.
// It returns 1 when the question is on its way.
int fg_link_verify(fg_server *srv, fg_worker *w, const char *receiving, const char *originating,
                   const char *stream_id, const uint8_t *key, size_t key_len);

// fg_deliver sends a stanza from |from_domain| to |to_domain|: to a hosted
// domain over the hop to its backend, to any other domain over an outbound
// link (resolved, secured, authenticated, with queueing and bounces). |flow|
// identifies the input stream (its stanzas always take the same link, which
// keeps their order when limits.streams_per_pair > 1). |is_bounce| marks an
// error stanza fedgate generated: counted apart and never bounced. It returns
// FG_STANZA_CONDITION_COUNT when accepted, or the condition to bounce it with.
// |in| (may be NULL) is the input stream's flow-control handle.
fg_stanza_condition fg_deliver(fg_server *srv, fg_worker *w, const char *from_domain,
                               const char *to_domain, uint64_t flow, int is_bounce,
                               const uint8_t *data, size_t len, fg_flow *in);

// fg_link_bounce delivers an error stanza (never bounced itself).
void fg_link_bounce(fg_server *srv, fg_worker *w, const char *from_domain, const char *to_domain,
                    const uint8_t *data, size_t len);

// The two ends of a link that the actions on every link of a worker
// (gateway/server/link_admin.h) share with delivery; |l| comes from the
// worker's index (gateway/server/link_types.h). Worker thread only.

// fg_link_fail ends |l|: held stanzas are bounced with |cond|, pending
// questions answered invalid, and the link leaves the worker's index so
// that the next stanza opens a fresh one (after the backoff, for remote
// domains). Its connection or lookup, when it has one, frees it later.
void fg_link_fail(link *l, fg_stanza_condition cond, const char *why);

// fg_link_finish_and_close ends ready link |l| normally: new stanzas open
// a fresh link, and </stream:stream> follows what was written.
void fg_link_finish_and_close(link *l);

#endif  // FEDGATE_GATEWAY_LINK_H
