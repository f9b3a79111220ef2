// link_index.h: a worker's index of its outbound links and its lists of
// links that may carry further pairs (gateway/server/link_index.c). Worker
// thread only: links live and die on their worker.
#ifndef FEDGATE_GATEWAY_LINK_INDEX_H
#define FEDGATE_GATEWAY_LINK_INDEX_H

#include "gateway/server/link_types.h"

// fg_link_index_add puts |l| in its worker's index.
void fg_link_index_add(link *l);

// fg_link_index_remove takes |l| out of its worker's index, the carrier
// lists and the keeping hop links, so that the next stanza of its pair
// finds another link.
void fg_link_index_remove(link *l);

// fg_link_index_find returns the link of |ws| of |kind| for (|local|,
// |remote|), to |pinned| (NULL: a resolved remote link), stream |slot| of
// the pair; NULL when there is none.
link *fg_link_index_find(worker_state *ws, link_kind kind, const char *local, const char *remote,
                         const resolved_target *pinned, unsigned slot);

// fg_link_carriers_first returns the first of this worker's links of
// |kind| that may carry more: ready remote links further pairs, verify
// links to pinned targets the questions of every pair for the target,
// ready hop links further pairs of their remote domain. The list goes on
// through link.carrier_next.
link *fg_link_carriers_first(link_kind kind);

// fg_link_carriers_add lists |l| among the links of its kind that may
// carry more (no-op for a link riding on another, or listed already).
void fg_link_carriers_add(link *l);

// fg_link_carriers_remove takes |l| off that list.
void fg_link_carriers_remove(link *l);

// fg_link_keepers_first returns the first of this worker's hop links that
// keep a broken stream's stanzas through failed attempts (link.keeping);
// the list goes on through link.keeper_next.
link *fg_link_keepers_first(void);

// fg_link_keepers_add lists hop link |l| among them (no-op for other links,
// or when listed already); fg_link_keepers_remove takes it off.
void fg_link_keepers_add(link *l);
void fg_link_keepers_remove(link *l);

// fg_link_index_find_kept returns the hop link of |ws| for (|local|,
// |remote|), stream |slot| of the pair, that keeps stanzas through failed
// attempts, whatever address it tries; NULL when there is none.
link *fg_link_index_find_kept(worker_state *ws, const char *local, const char *remote,
                              unsigned slot);

#endif  // FEDGATE_GATEWAY_LINK_INDEX_H
