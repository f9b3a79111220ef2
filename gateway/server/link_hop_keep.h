// link_hop_keep.h: hop links that keep stanzas while their internal server
// is down, and wait for it together (gateway/server/link_hop_keep.c).
//
// When a ready hop stream breaks (its internal server died), its
// replacement keeps what it left and what comes for the pair meanwhile
// through failed attempts, on the hop schedule (link_retry.h), until
// stream_management.give_up_after (link.c). While it waits, another pair
// of the same backend waits with it instead of bouncing, until the same
// give-up time; only the first of them connects while the backend has no
// healthy address (fg_link_hop_follows), and when it connects they all try
// (fg_link_hop_wake). Nothing here connects, fails or frees a link: a stanza
// that comes for a waiting link only moves its retry timer, so that the
// attempt starts from the worker's loop, never inside a delivery.
// Worker thread only.
#ifndef FEDGATE_GATEWAY_LINK_HOP_KEEP_H
#define FEDGATE_GATEWAY_LINK_HOP_KEEP_H

#include "gateway/server/link_types.h"

// fg_link_hop_keeper_of returns a hop link of this worker that keeps
// stanzas for |backend| of snapshot |snap|, other than |except|; NULL when
// none does (nothing waits for that backend).
link *fg_link_hop_keeper_of(const fg_snapshot *snap, size_t backend, const link *except);

// fg_link_hop_keep_with makes hop link |l|, which could not connect, keep
// what it holds like a keeper of its backend does, until the same give-up
// time. It returns 1 when |l| keeps stanzas (it did already, or now does),
// 0 when no keeper waits for its backend or |l| rides on another stream.
int fg_link_hop_keep_with(link *l);

// fg_link_hop_hurry: a stanza came for hop link |l|. When |l| waits between
// attempts, its next attempt starts now, yet no sooner than its schedule's
// first delay after the failed one (steady traffic to a dead internal
// server costs at most one connect per first delay), once per wait; only
// the timer moves.
void fg_link_hop_hurry(link *l);

// fg_link_hop_follows: hop link |l| keeps stanzas for a backend that has no
// healthy address, and another hop link of this worker, listed before it,
// keeps stanzas for that backend too: that one probes the backend and |l|
// waits for its answer without connecting itself (1), so that however many
// pairs wait, a dead internal server sees about one connect per retry delay
// per worker. 0: |l| probes.
int fg_link_hop_follows(const link *l);

// fg_link_hop_wake: a hop link of snapshot |snap| reached |backend|: every
// hop link that waits between attempts for that backend tries now (its
// timer fires from the worker's loop).
void fg_link_hop_wake(const fg_snapshot *snap, size_t backend);

// fg_link_hop_follow_reload: hop link |l| keeps stanzas and is about to try
// again, between two attempts (no connection of it is open). When a reload
// published a snapshot after the one |l| was opened under, and that one
// routes |l|'s internal domain to a backend address that no other hop link
// of the pair serves, |l| moves onto it (the new address, backend and
// health, the snapshot's dialback secret), keeping its stanzas and its
// give-up time: an internal server moved by the operator while it was down
// gets what was kept for it. Otherwise |l| stays on its snapshot.
void fg_link_hop_follow_reload(link *l);

// fg_link_hop_reloaded: this worker took a new snapshot; every hop link of
// it that waits between attempts under an older one tries now (its timer
// fires from the worker's loop, fg_link_hop_follow_reload then moves it).
void fg_link_hop_reloaded(void);

#endif  // FEDGATE_GATEWAY_LINK_HOP_KEEP_H
