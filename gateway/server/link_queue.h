// link_queue.h: an outbound link's held stanzas and their writing
// (gateway/server/link_queue.c). Worker thread only.
#ifndef FEDGATE_GATEWAY_LINK_QUEUE_H
#define FEDGATE_GATEWAY_LINK_QUEUE_H

#include "gateway/server/link_types.h"

// fg_link_count_written counts a stanza written to a ready stream:
// forwarded, or a bounce fedgate generated (counted apart).
void fg_link_count_written(fg_server *srv, int is_bounce);

// fg_link_sm_timer_fired is the timer of link.sm_timer: it asks for an
// XEP-0198 ack while stanzas stay unacknowledged.
void fg_link_sm_timer_fired(fg_timer *t, void *arg);

// fg_link_write_stanza writes one stanza of |l| on its ready stream (its
// carrier's when it rides on one).
void fg_link_write_stanza(link *l, const uint8_t *data, size_t len, int is_bounce);

// fg_link_queue_pop takes the oldest held stanza of |l| off its queue
// (NULL: none); the caller frees it.
qitem *fg_link_queue_pop(link *l);

// fg_link_queue_push links |q| at the end of |l|'s queue and counts it.
void fg_link_queue_push(link *l, qitem *q);

// fg_link_queue_append puts a copy of a stanza at the end of |l|'s queue,
// whatever its bounds (the caller checks them). It returns 0 when out of
// memory.
int fg_link_queue_append(link *l, const uint8_t *data, size_t len, int is_bounce);

#endif  // FEDGATE_GATEWAY_LINK_QUEUE_H
