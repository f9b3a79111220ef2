// bidi_hop.h: XEP-0288 on the internal hop, where the peer is an internal
// server (a backend) rather than a remote server.
//
// Both ways of the hop can carry both directions:
//   - a hop link (fedgate -> backend, as remote domain R) the backend made
//     bidirectional carries the backend's stanzas from its hosted domain L
//     back to R; they are trusted exactly as far as a stream the backend
//     opened to the internal listener would be (fg_bidi_hop_refusal), then
//     judged and routed as such a stream's stanzas are;
//   - a stream the backend opened to the internal listener and made
//     bidirectional carries stanzas from R to L instead of a new hop link
//     (fg_bidi_hop_send).
#ifndef FEDGATE_GATEWAY_SERVER_BIDI_HOP_H
#define FEDGATE_GATEWAY_SERVER_BIDI_HOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gateway/s2s/auth_method.h"
#include "gateway/server/server_internal.h"

// fg_bidi_hop_source_is_backend says whether |peer| is one of the addresses
// of the backend that hosts |domain| in snapshot |s| (an IPv4-mapped address
// equals its IPv4): the internal listener lets only such a source speak for
// a hosted domain.
int fg_bidi_hop_source_is_backend(const fg_snapshot *s, const char *domain,
                                  const struct sockaddr *peer);

// fg_bidi_hop_refusal judges stanzas a backend sends back from its hosted
// domain |hosted| on a hop link connected to |peer| whose backend was
// proved by |proof|: NULL when they may pass, else why not (for the log).
// They pass only when the internal listener would have authenticated a
// stream from there as |hosted| (gateway/s2s/bidi.h
// fg_bidi_hop_reverse_trusted; the address is still that domain's
// backend's in the current configuration).
const char *fg_bidi_hop_refusal(const fg_snapshot *s, fg_auth_method proof, const char *hosted,
                                const struct sockaddr *peer);

// fg_bidi_hop_send writes the stanza from |from| to the hosted domain |to|
// on a stream |to|'s backend opened to the internal listener and made
// bidirectional, if worker state |ws| has one that takes it, and counts it;
// it returns 1 when sent, 0 when a hop link must carry it.
int fg_bidi_hop_send(fg_server *srv, worker_state *ws, const char *from, const char *to,
                     const uint8_t *data, size_t len, int is_bounce);

#endif  // FEDGATE_GATEWAY_SERVER_BIDI_HOP_H
