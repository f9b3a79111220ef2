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
#include "gateway/server/text.h"

// fg_link_describe appends one line per outbound link of |ws|.
void fg_link_describe(worker_state *ws, unsigned worker, fg_text *out);

// fg_link_shutdown closes every outbound link of |ws| (</stream:stream>).
// Worker thread only.
void fg_link_shutdown(worker_state *ws);

// fg_link_drain ends, the RFC 6120 §4.4 way (</stream:stream>, then the
// peer's closing tag is awaited), every ready link of |ws| that holds
// nothing and waits for no answer; links still connecting keep their queue
// and are ended by a later call once they delivered it. It returns the
// number of links still alive, ending ones included. Worker thread only.
size_t fg_link_drain(worker_state *ws);

// fg_link_bounce_held fails every link of |ws| that still holds stanzas:
// each is bounced to its sender with remote-server-timeout (RFC 6120
// §8.3.3.16). It returns the number of stanzas bounced (counted as
// drain_stanzas_bounced). Worker thread only.
size_t fg_link_bounce_held(worker_state *ws);

// fg_link_close_stream closes the link of |ws| whose id (as /streams shows
// it, "out-W-N") is |id|: a ready link ends its stream with
// </stream:stream> after what it has written; a link not ready yet bounces
// the stanzas it holds (remote-server-timeout). It returns 1, or 0 when |ws|
// has no such link. Worker thread only.
int fg_link_close_stream(worker_state *ws, const char *id);

// fg_link_close_refused closes the links of |ws| to remote domains that
// |refused| (called with |arg| and the domain) says are refused: a ready
// link ends its stream after what it has written, a link not ready yet
// bounces what it holds with policy-violation (RFC 6120 §8.3.3.12). It
// returns how many. Worker thread only.
size_t fg_link_close_refused(worker_state *ws, int (*refused)(void *arg, const char *domain),
                             void *arg);

// fg_link_close_hop_of ends, after what they have written
// (</stream:stream>), the ready hop links of |ws| that speak as remote
// domain |remote| to an internal server (gateway/server/link_loss.h). It
// returns how many. Worker thread only.
size_t fg_link_close_hop_of(worker_state *ws, const char *remote);

// fg_link_drain_backend closes the hop links of |ws| to the backend named
// |backend|, at address |host|:|port| (|host| NULL: every address; names,
// not indices: links opened before a reload use an older snapshot's
// indices), once they have written what
// they hold: ready links at once, links still connecting as soon as they
// are ready and have flushed their queue. New stanzas no longer reach them
// (the router skips drained addresses). It returns the number of links
// affected. Worker thread only.
size_t fg_link_drain_backend(worker_state *ws, const char *backend, const char *host,
                             uint16_t port);

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

#endif  // FEDGATE_GATEWAY_LINK_H
