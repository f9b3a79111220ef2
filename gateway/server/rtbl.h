// rtbl.h: fedgate as a subscriber of real-time block lists (RTBL): for each
// abuse.rtbl entry it acts as an XMPP entity of its own (a JID on a hosted
// domain), fetches the XEP-0060 node's items (whole-source replacement of
// the list "rtbl:SERVICE/NODE"), subscribes, follows the notifications
// (publish, retract, purge) and, when the service or the link to it goes
// away, fetches and subscribes again with exponential backoff.
//
// The lists' state lives on worker 0; stanzas for the RTBL JIDs arrive on
// any worker and change the shared block list there (gateway/server/blocks.h),
// telling worker 0 what they mean for the state through a message.
#ifndef FEDGATE_GATEWAY_SERVER_RTBL_H
#define FEDGATE_GATEWAY_SERVER_RTBL_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/server/server_internal.h"
#include "gateway/xml/xml_types.h"

typedef struct fg_rtbl fg_rtbl;

// fg_rtbl_new returns the subscriptions of |srv|'s abuse.rtbl (NULL when
// there are none or out of memory: check srv->cfg->abuse.n_rtbl). The
// runtime (srv->rt) must exist.
fg_rtbl *fg_rtbl_new(fg_server *srv);

// fg_rtbl_free frees |r|. NULL is a no-op.
void fg_rtbl_free(fg_rtbl *r);

// fg_rtbl_start fetches and subscribes every list (from worker 0). It
// returns 1, 0 when out of memory.
int fg_rtbl_start(fg_rtbl *r);

// fg_rtbl_addressed says whether a stanza to |to| (the raw 'to' attribute)
// is for an RTBL JID of |r|: such stanzas never reach a backend.
int fg_rtbl_addressed(const fg_rtbl *r, const uint8_t *to, size_t to_len);

// fg_rtbl_consume takes a stanza addressed to an RTBL JID. It returns
// FG_STANZA_CONDITION_COUNT when it was taken (a result, an error, a
// notification), or the condition to bounce a request with.
fg_stanza_condition fg_rtbl_consume(fg_rtbl *r, const fg_xml_element *el);

// fg_rtbl_take_bounce takes an error stanza fedgate generated for one of its
// own requests (a link to the service failed). It returns 1 when taken.
int fg_rtbl_take_bounce(fg_rtbl *r, const uint8_t *data, size_t len);

// fg_rtbl_peer_gone tells the lists that a stream from remote |domain|
// closed: a list whose service is there is fetched and subscribed again.
void fg_rtbl_peer_gone(fg_rtbl *r, const char *domain);

#endif  // FEDGATE_GATEWAY_SERVER_RTBL_H
