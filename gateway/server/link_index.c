// link_index.c: where a worker finds its outbound links: the index by
// (kind, local, remote) that a stanza takes to its link, and the lists of
// links that may carry further pairs or questions (link_pairs.c,
// fg_link_verify) and of hop links keeping stanzas (link_hop_keep.c).
#include "gateway/server/link_index.h"

#include <string.h>

#include <xxhash.h>
// carriers lists this worker's ready remote links, which may carry further
// pairs; verifiers its verify links to pinned targets, which carry the
// questions of every pair for the target (links live and die on their
// worker); hop_carriers its ready hop links, which may carry further pairs
// of their remote domain to the same backend (backends[].pairs_per_stream).
static _Thread_local link *carriers, *verifiers, *hop_carriers;

link *fg_link_carriers_first(link_kind kind) {
  return kind == LINK_VERIFY ? verifiers : kind == LINK_HOP ? hop_carriers : carriers;
}

static link **shared_list(const link *l) {
  return l->kind == LINK_VERIFY ? &verifiers : l->kind == LINK_HOP ? &hop_carriers : &carriers;
}

void fg_link_carriers_add(link *l) {
  if (l->in_carriers || l->carrier != NULL) return;
  link **head = shared_list(l);
  l->carrier_prev = NULL;
  l->carrier_next = *head;
  if (*head) (*head)->carrier_prev = l;
  *head = l;
  l->in_carriers = 1;
}

void fg_link_carriers_remove(link *l) {
  if (!l->in_carriers) return;
  link **head = shared_list(l);
  if (l->carrier_prev) l->carrier_prev->carrier_next = l->carrier_next;
  if (l->carrier_next) l->carrier_next->carrier_prev = l->carrier_prev;
  if (*head == l) *head = l->carrier_next;
  l->carrier_prev = l->carrier_next = NULL;
  l->in_carriers = 0;
}

// hop_keepers lists this worker's hop links that keep a broken stream's
// stanzas through failed attempts: while one waits for its backend, another
// pair of that backend waits with it (link_hop_keep.h).
static _Thread_local link *hop_keepers;

link *fg_link_keepers_first(void) {
  return hop_keepers;
}

void fg_link_keepers_add(link *l) {
  if (l->in_keepers || l->kind != LINK_HOP) return;
  l->keeper_prev = NULL;
  l->keeper_next = hop_keepers;
  if (hop_keepers) hop_keepers->keeper_prev = l;
  hop_keepers = l;
  l->in_keepers = 1;
}

void fg_link_keepers_remove(link *l) {
  if (!l->in_keepers) return;
  if (l->keeper_prev) l->keeper_prev->keeper_next = l->keeper_next;
  if (l->keeper_next) l->keeper_next->keeper_prev = l->keeper_prev;
  if (hop_keepers == l) hop_keepers = l->keeper_next;
  l->keeper_prev = l->keeper_next = NULL;
  l->in_keepers = 0;
}

static size_t bucket_of(link_kind kind, const char *local, const char *remote) {
  char key[2 * FG_DOMAIN_MAX + 4];
  size_t a = strlen(local), b = strlen(remote);
  key[0] = (char)kind;
  memcpy(key + 1, local, a);
  key[a + 1] = 0;  // separates "a.b"+"c" from "a"+"b.c"
  memcpy(key + a + 2, remote, b);
  return (size_t)(XXH3_64bits(key, a + b + 2) % FG_LINK_BUCKETS);
}

void fg_link_index_add(link *l) {
  worker_state *ws = fg_server_worker_state(l->srv, l->w);
  link **head = &ws->links[bucket_of(l->kind, l->local, l->remote)];
  l->prev = NULL;
  l->next = *head;
  if (*head) (*head)->prev = l;
  *head = l;
  l->indexed = 1;
}

void fg_link_index_remove(link *l) {
  fg_link_carriers_remove(l);
  fg_link_keepers_remove(l);
  if (!l->indexed) return;
  worker_state *ws = fg_server_worker_state(l->srv, l->w);
  link **head = &ws->links[bucket_of(l->kind, l->local, l->remote)];
  if (l->prev) l->prev->next = l->next;
  if (l->next) l->next->prev = l->prev;
  if (*head == l) *head = l->next;
  l->prev = l->next = NULL;
  l->indexed = 0;
  fg_server_worker_state(l->srv, l->w)->links_epoch++;  // fg_flow.last may name it
}

link *fg_link_index_find(worker_state *ws, link_kind kind, const char *local, const char *remote,
                         const resolved_target *pinned, unsigned slot) {
  for (link *l = ws->links[bucket_of(kind, local, remote)]; l != NULL; l = l->next) {
    if (l->kind == kind && link_same_target(l->pinned, pinned) && l->slot == slot &&
        strcmp(l->local, local) == 0 && strcmp(l->remote, remote) == 0) {
      return l;
    }
  }
  return NULL;
}

link *fg_link_index_find_kept(worker_state *ws, const char *local, const char *remote,
                              unsigned slot) {
  for (link *l = ws->links[bucket_of(LINK_HOP, local, remote)]; l != NULL; l = l->next) {
    if (l->kind == LINK_HOP && !l->dead && l->keeping && l->slot == slot &&
        strcmp(l->local, local) == 0 && strcmp(l->remote, remote) == 0) {
      return l;
    }
  }
  return NULL;
}
