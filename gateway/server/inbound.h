// inbound.h: connections accepted on the s2s, s2s-tls and internal
// listeners, each carrying one inbound s2s session (gateway/s2s/s2s_in.h).
#ifndef FEDGATE_GATEWAY_INBOUND_H
#define FEDGATE_GATEWAY_INBOUND_H

#include "gateway/server/server_internal.h"
#include "gateway/server/text.h"
#include "io/conn.h"

extern const fg_conn_handler fg_inbound_handler_s2s;
extern const fg_conn_handler fg_inbound_handler_s2s_tls;
extern const fg_conn_handler fg_inbound_handler_internal;

// fg_inbound_reverse_ops judges and routes the stanzas remote servers send
// back on outbound links they made bidirectional (XEP-0288) as an inbound
// stream's; installed as fg_server.reverse.
extern const fg_reverse_ops fg_inbound_reverse_ops;

// fg_inbound_describe appends one line per live inbound stream of |ws|.
void fg_inbound_describe(worker_state *ws, unsigned worker, fg_text *out);

// fg_inbound_shutdown ends every inbound stream of |ws| with the stream
// error system-shutdown. Worker thread only.
void fg_inbound_shutdown(worker_state *ws);

// fg_inbound_drain closes, the RFC 6120 §4.4 way (</stream:stream>, then
// the peer's data is still routed until its own closing tag), every inbound
// stream of |ws| that has no work in progress; the others are left for a
// later call. It returns the number of inbound streams still open, closing
// ones included. Worker thread only.
size_t fg_inbound_drain(worker_state *ws);

// fg_inbound_close_stream ends the stream of |ws| whose id is |stream_id|
// with the stream error policy-violation (RFC 6120 §4.9.3.14) and |text|
// (may be NULL), for the operator. It returns 1, or 0 when |ws| has no such
// stream. Worker thread only.
int fg_inbound_close_stream(worker_state *ws, const char *stream_id, const char *text);

struct fg_blocks;

// fg_inbound_close_refused ends every stream of |ws| from a remote domain
// the block lists |b| now refuse (its header's domain or any domain pair)
// with policy-violation, logging and counting each. It returns how many.
// Worker thread only.
size_t fg_inbound_close_refused(worker_state *ws, struct fg_blocks *b);

// fg_inbound_snapshot_taken tells every stream of |ws| that its worker
// decides with a new configuration snapshot (gateway/server/reload.c): the
// next stanza of each is judged by it (fg_s2s_in_config_changed). Worker
// thread only.
void fg_inbound_snapshot_taken(worker_state *ws);

// fg_inbound_close_hop_to closes (</stream:stream>, RFC 6120 §4.4) the
// streams of |ws| on which an internal server sends to remote domain
// |remote| (their header's 'to'), once that domain's link is lost
// (gateway/server/link_loss.h). It returns how many. Worker thread only.
size_t fg_inbound_close_hop_to(worker_state *ws, const char *remote);

// fg_inbound_dialback_answer hands a verification answer to the stream of
// |ws| with id |stream_id| (an fg_dialback_answer_fn); a stream that is gone
// is skipped.
void fg_inbound_dialback_answer(worker_state *ws, const char *stream_id, const char *originating,
                                const char *receiving, int valid);

#endif  // FEDGATE_GATEWAY_INBOUND_H
