// config_index.c: the index of the configuration file built by the libyaml
// pass: every key path with its line and scalar value (open addressing on an
// xxHash of the path), and the line lookup diagnostics use.
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "gateway/config/config_internal.h"

const config_node *config_index_find(const config_index *x, const char *path) {
  if (x->slots == NULL) return NULL;
  uint64_t h = XXH3_64bits(path, strlen(path));
  for (size_t i = h & x->mask;; i = (i + 1) & x->mask) {
    uint32_t s = x->slots[i];
    if (s == 0) return NULL;
    const config_node *nd = &x->v[s - 1];
    if (nd->hash == h && strcmp(nd->path, path) == 0) return nd;
  }
}

static void index_rehash(config_index *x) {
  for (size_t i = 0; i <= x->mask; i++) x->slots[i] = 0;
  for (size_t k = 0; k < x->n; k++) {
    size_t i = x->v[k].hash & x->mask;
    while (x->slots[i] != 0) i = (i + 1) & x->mask;
    x->slots[i] = (uint32_t)(k + 1);
  }
}

config_node *config_index_add(config_index *x, const char *path, unsigned line) {
  if (x->n == x->cap) {
    size_t cap = x->cap ? 2 * x->cap : 64;
    config_node *v = realloc(x->v, cap * sizeof(config_node));
    if (v == NULL) return NULL;
    x->v = v;
    x->cap = cap;
  }
  if (x->slots == NULL || 2 * (x->n + 1) > x->mask + 1) {
    size_t cap = x->slots ? 2 * (x->mask + 1) : 128;
    uint32_t *s = calloc(cap, sizeof(uint32_t));
    if (s == NULL) return NULL;
    free(x->slots);
    x->slots = s;
    x->mask = cap - 1;
    index_rehash(x);
  }
  config_node *nd = &x->v[x->n];
  nd->path = strdup(path);
  if (nd->path == NULL) return NULL;
  nd->line = line;
  nd->value = NULL;
  nd->hash = XXH3_64bits(path, strlen(path));
  size_t i = nd->hash & x->mask;
  while (x->slots[i] != 0) i = (i + 1) & x->mask;
  x->slots[i] = (uint32_t)(x->n + 1);
  x->n++;
  return nd;
}

void config_index_free(config_index *x) {
  for (size_t i = 0; i < x->n; i++) {
    free(x->v[i].path);
    free(x->v[i].value);
  }
  free(x->v);
  free(x->slots);
  memset(x, 0, sizeof(*x));
}

// config_nearest_line returns the line of |path| or of its closest indexed
// ancestor ("a.b[2].c" -> "a.b[2]" -> "a.b" -> "a"), or 0.
unsigned config_nearest_line(const config_ctx *c, const char *path, const config_node **found) {
  char buf[MAX_PATH_KEY];
  snprintf(buf, sizeof(buf), "%s", path);
  *found = NULL;
  for (;;) {
    const config_node *nd = config_index_find(&c->idx, buf);
    if (nd != NULL) {
      if (strcmp(buf, path) == 0) *found = nd;
      return nd->line;
    }
    char *cut = strrchr(buf, '.');
    char *br = strrchr(buf, '[');
    if (br != NULL && (cut == NULL || br > cut)) cut = br;
    if (cut == NULL) return 0;
    *cut = 0;
  }
}
