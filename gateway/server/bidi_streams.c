// bidi_streams.c: a small chained hash of (remote domain, stream) entries.
#include "gateway/server/bidi_streams.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "gateway/s2s/jid.h"

enum { kBuckets = 256 };

typedef struct entry {
  struct entry *next;
  void *owner;
  fg_bidi_send_fn send;
  char remote[FG_DOMAIN_MAX + 1];
} entry;

struct fg_bidi_streams {
  entry *b[kBuckets];
  size_t n;
};

static entry **bucket(fg_bidi_streams *t, const char *remote) {
  return &t->b[XXH3_64bits(remote, strlen(remote)) % kBuckets];
}

int fg_bidi_streams_add(fg_bidi_streams **t, const char *remote, void *owner,
                        fg_bidi_send_fn send) {
  if (strlen(remote) > FG_DOMAIN_MAX) return 0;
  if (*t == NULL) {
    *t = calloc(1, sizeof(**t));
    if (*t == NULL) return 0;
  }
  entry **head = bucket(*t, remote);
  for (entry *e = *head; e != NULL; e = e->next) {
    if (e->owner == owner && strcmp(e->remote, remote) == 0) return 1;
  }
  entry *e = calloc(1, sizeof(*e));
  if (e == NULL) return 0;
  e->owner = owner;
  e->send = send;
  memcpy(e->remote, remote, strlen(remote) + 1);
  e->next = *head;  // newest first: the stream most likely still healthy
  *head = e;
  (*t)->n++;
  return 1;
}

void fg_bidi_streams_remove(fg_bidi_streams **t, const char *remote, void *owner) {
  if (*t == NULL) return;
  for (entry **p = bucket(*t, remote); *p != NULL; p = &(*p)->next) {
    entry *e = *p;
    if (e->owner != owner || strcmp(e->remote, remote) != 0) continue;
    *p = e->next;
    free(e);
    if (--(*t)->n == 0) {
      free(*t);
      *t = NULL;
    }
    return;
  }
}

int fg_bidi_streams_send(fg_bidi_streams *t, const char *local, const char *remote,
                         const uint8_t *data, size_t len, int is_bounce) {
  if (t == NULL) return 0;
  for (entry *e = *bucket(t, remote); e != NULL; e = e->next) {
    if (strcmp(e->remote, remote) == 0 && e->send(e->owner, local, remote, data, len, is_bounce)) {
      return 1;
    }
  }
  return 0;
}

size_t fg_bidi_streams_count(const fg_bidi_streams *t) {
  return t != NULL ? t->n : 0;
}
