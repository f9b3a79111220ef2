// pair_set.h: the domain pairs (originating, receiving) one s2s stream
// carries besides the one its header named, and where each stands
// (XEP-0220 §4.3 multiplexing: "piggybacking" further pairs on an
// authenticated stream with one db:result each).
//
// A plain bounded table, no I/O: gateway/s2s/s2s_out.c keeps one per
// outbound stream. Domains are stored as given (callers normalise them).
#ifndef FEDGATE_GATEWAY_S2S_PAIR_SET_H
#define FEDGATE_GATEWAY_S2S_PAIR_SET_H

#include <stddef.h>

#include "gateway/s2s/jid.h"

typedef enum fg_pair_state {
  FG_PAIR_NONE = 0,  // not in the set
  FG_PAIR_PENDING,   // db:result sent, its answer awaited
  FG_PAIR_VALID,     // the peer answered valid: stanzas of the pair may flow
} fg_pair_state;

typedef struct fg_pair {
  char from[FG_DOMAIN_MAX + 1], to[FG_DOMAIN_MAX + 1];
  fg_pair_state state;
} fg_pair;

typedef struct fg_pair_set {
  fg_pair *pairs;  // grown on demand, at most |max|
  size_t n, cap, max;
} fg_pair_set;

// fg_pair_set_init makes |s| empty, holding at most |max| pairs.
void fg_pair_set_init(fg_pair_set *s, size_t max);

// fg_pair_set_cleanup frees what |s| holds.
void fg_pair_set_cleanup(fg_pair_set *s);

// fg_pair_set_state returns the state of (from, to) in |s|.
fg_pair_state fg_pair_set_state(const fg_pair_set *s, const char *from, const char *to);

// fg_pair_set_add puts (from, to) in |s| as pending. It returns 1, or 0
// when the pair is already there, |s| is full, a domain is too long or
// memory runs out.
int fg_pair_set_add(fg_pair_set *s, const char *from, const char *to);

// fg_pair_set_settle moves a pending pair to valid (|valid| 1) or out of
// the set (0). It returns 1, or 0 when (from, to) was not pending.
int fg_pair_set_settle(fg_pair_set *s, const char *from, const char *to, int valid);

// fg_pair_set_count returns how many pairs |s| holds, pending ones included.
size_t fg_pair_set_count(const fg_pair_set *s);

#endif  // FEDGATE_GATEWAY_S2S_PAIR_SET_H
