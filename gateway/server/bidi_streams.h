// bidi_streams.h: one worker's inbound streams that their peers made
// bidirectional (XEP-0288), by remote domain, so that a stanza for that
// domain can leave on such a stream instead of opening an outbound link.
//
// The inbound side adds a stream under each remote domain it carries once
// the peer enabled bidi, and removes it when the stream goes away; delivery
// (gateway/server/link.c) asks the table before opening a link. Each entry
// answers through its owner's send function, which checks what the
// protocol allows (gateway/s2s/s2s_in.h fg_s2s_in_bidi_send), so this table
// knows neither streams nor links. One table per worker (a connection never
// changes worker): another worker with stanzas for the same pair opens its
// own link.
#ifndef FEDGATE_GATEWAY_SERVER_BIDI_STREAMS_H
#define FEDGATE_GATEWAY_SERVER_BIDI_STREAMS_H

#include <stddef.h>
#include <stdint.h>

typedef struct fg_bidi_streams fg_bidi_streams;

// fg_bidi_send_fn writes the serialized stanza |data| from |local| to
// |remote| on the stream |owner| and returns 1, or returns 0 when that
// stream may not carry it (pair not authenticated there, stream closing,
// too much unacknowledged). |is_bounce| marks an error stanza fedgate made.
typedef int (*fg_bidi_send_fn)(void *owner, const char *local, const char *remote,
                               const uint8_t *data, size_t len, int is_bounce);

// fg_bidi_streams_add registers |owner| (sending with |send|) as a way to
// |remote| in |*t|, creating the table on first use. Adding the same
// (remote, owner) twice registers it once. It returns 0 when out of memory.
int fg_bidi_streams_add(fg_bidi_streams **t, const char *remote, void *owner, fg_bidi_send_fn send);

// fg_bidi_streams_remove drops the entry (remote, owner), if any; the table
// is freed (|*t| set to NULL) when its last entry goes.
void fg_bidi_streams_remove(fg_bidi_streams **t, const char *remote, void *owner);

// fg_bidi_streams_send offers the stanza to the streams registered for
// |remote|, newest first, until one takes it. It returns 1 when one did.
int fg_bidi_streams_send(fg_bidi_streams *t, const char *local, const char *remote,
                         const uint8_t *data, size_t len, int is_bounce);

// fg_bidi_streams_count returns the number of (remote, stream) entries.
size_t fg_bidi_streams_count(const fg_bidi_streams *t);

#endif  // FEDGATE_GATEWAY_SERVER_BIDI_STREAMS_H
