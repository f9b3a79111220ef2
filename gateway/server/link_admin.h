// link_admin.h: actions on every outbound link of a worker, or on one
// (gateway/server/link_admin.c): shutdown, drain, bounces of what is held,
// closes asked by operators, block lists and lost links, /streams.
#ifndef FEDGATE_GATEWAY_LINK_ADMIN_H
#define FEDGATE_GATEWAY_LINK_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/server/server_internal.h"
#include "gateway/server/text.h"

// fg_link_describe appends one line per outbound link of |ws|.
void fg_link_describe(worker_state *ws, unsigned worker, fg_text *out);

// fg_link_snapshot_taken: the worker of |ws| decides with a new snapshot
// (a reload): its hop links waiting for an internal server under an older
// one try now, at the address the new one gives (link_hop_keep.h). Worker
// thread only.
void fg_link_snapshot_taken(worker_state *ws);

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

#endif  // FEDGATE_GATEWAY_LINK_ADMIN_H
