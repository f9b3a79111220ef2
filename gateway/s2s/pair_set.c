// pair_set.c: a bounded table of domain pairs and their dialback state.
#include "gateway/s2s/pair_set.h"

#include <stdlib.h>
#include <string.h>

void fg_pair_set_init(fg_pair_set *s, size_t max) {
  memset(s, 0, sizeof(*s));
  s->max = max;
}

void fg_pair_set_cleanup(fg_pair_set *s) {
  free(s->pairs);
  memset(s, 0, sizeof(*s));
}

static fg_pair *find(const fg_pair_set *s, const char *from, const char *to) {
  for (size_t i = 0; i < s->n; i++) {
    if (strcmp(s->pairs[i].from, from) == 0 && strcmp(s->pairs[i].to, to) == 0) {
      return &s->pairs[i];
    }
  }
  return NULL;
}

fg_pair_state fg_pair_set_state(const fg_pair_set *s, const char *from, const char *to) {
  const fg_pair *p = find(s, from, to);
  return p != NULL ? p->state : FG_PAIR_NONE;
}

int fg_pair_set_add(fg_pair_set *s, const char *from, const char *to) {
  size_t fl = strlen(from), tl = strlen(to);
  if (fl > FG_DOMAIN_MAX || tl > FG_DOMAIN_MAX || find(s, from, to) != NULL || s->n >= s->max) {
    return 0;
  }
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 4;
    if (cap > s->max) cap = s->max;
    fg_pair *grown = realloc(s->pairs, cap * sizeof(*grown));
    if (grown == NULL) return 0;
    s->pairs = grown;
    s->cap = cap;
  }
  fg_pair *p = &s->pairs[s->n++];
  memcpy(p->from, from, fl + 1);
  memcpy(p->to, to, tl + 1);
  p->state = FG_PAIR_PENDING;
  return 1;
}

int fg_pair_set_settle(fg_pair_set *s, const char *from, const char *to, int valid) {
  fg_pair *p = find(s, from, to);
  if (p == NULL || p->state != FG_PAIR_PENDING) return 0;
  if (valid) {
    p->state = FG_PAIR_VALID;
    return 1;
  }
  *p = s->pairs[--s->n];
  return 1;
}

size_t fg_pair_set_count(const fg_pair_set *s) {
  return s->n;
}
