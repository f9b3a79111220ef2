// blocks.c: the block list and the allow list of the running gateway, and
// the configuration's share of them.
#include "gateway/server/blocks.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fg_blocks {
  fg_blocklist *blocked;
  fg_blocklist *allowed;
  _Atomic int allow_only;  // the allow list has entries: a closed federation
};

fg_blocks *fg_blocks_new(void) {
  fg_blocks *b = calloc(1, sizeof(*b));
  if (b == NULL) return NULL;
  b->blocked = fg_blocklist_new();
  b->allowed = fg_blocklist_new();
  if (b->blocked == NULL || b->allowed == NULL) {
    fg_blocks_free(b);
    return NULL;
  }
  return b;
}

void fg_blocks_free(fg_blocks *b) {
  if (b == NULL) return;
  fg_blocklist_free(b->blocked);
  fg_blocklist_free(b->allowed);
  free(b);
}

// parse_entries turns configuration keys into whole-source entries; the
// normalised keys go to |keys| (n rows of FG_BLOCK_KEY_MAX + 1).
static int parse_entries(char *const *v, size_t n, fg_block_entry *out,
                         char (*keys)[FG_BLOCK_KEY_MAX + 1], char *err, size_t err_len) {
  for (size_t i = 0; i < n; i++) {
    const char *why = NULL;
    if (!fg_block_parse_key(v[i], &out[i].kind, keys[i], &why)) {
      snprintf(err, err_len, "abuse list entry '%s': %s", v[i], why ? why : "invalid");
      return 0;
    }
    out[i].key = keys[i];
    out[i].reason = NULL;
  }
  return 1;
}

// replace makes |v| the whole content of |source| in |bl|.
static int replace(fg_blocklist *bl, const char *source, char *const *v, size_t n, char *err,
                   size_t err_len) {
  fg_block_entry *e = calloc(n ? n : 1, sizeof(*e));
  char(*keys)[FG_BLOCK_KEY_MAX + 1] = calloc(n ? n : 1, sizeof(*keys));
  int ok = e != NULL && keys != NULL;
  if (!ok) snprintf(err, err_len, "out of memory");
  ok = ok && parse_entries(v, n, e, keys, err, err_len);
  if (ok) {
    int rc = fg_blocklist_replace_source(bl, source, e, n);
    if (rc != 1) snprintf(err, err_len, rc < 0 ? "out of memory" : "an entry was refused");
    ok = rc == 1;
  }
  free(e);
  free(keys);
  return ok;
}

int fg_blocks_apply_config(fg_blocks *b, const fg_config *cfg, char *err, size_t err_len) {
  if (!replace(b->blocked, FG_BLOCKS_SOURCE_CONFIG, cfg->abuse.block, cfg->abuse.n_block, err,
               err_len) ||
      !replace(b->allowed, FG_BLOCKS_SOURCE_CONFIG, cfg->abuse.allow_only, cfg->abuse.n_allow_only,
               err, err_len)) {
    return 0;
  }
  atomic_store(&b->allow_only, cfg->abuse.n_allow_only > 0);
  return 1;
}

static void describe(const fg_block_match *m, char *why, size_t why_len) {
  if (why_len == 0) return;
  if (m->reason[0]) {
    snprintf(why, why_len, "%s: %s", m->source, m->reason);
  } else {
    snprintf(why, why_len, "%s", m->source);
  }
}

int fg_blocks_domain_refused(fg_blocks *b, const char *domain, char *why, size_t why_len) {
  fg_block_match m;
  if (fg_blocklist_check_domain(b->blocked, domain, &m)) {
    describe(&m, why, why_len);
    return 1;
  }
  if (atomic_load_explicit(&b->allow_only, memory_order_relaxed) &&
      !fg_blocklist_check_domain(b->allowed, domain, NULL)) {
    if (why_len) snprintf(why, why_len, "not in abuse.allow_only");
    return 1;
  }
  return 0;
}

int fg_blocks_sender_refused(fg_blocks *b, const uint8_t *jid, size_t len, char *why,
                             size_t why_len) {
  char bare[3 * 1024 + 4];
  if (len == 0 || len >= sizeof(bare)) return 0;
  // The lists publish digests of the normalised JID: lowercase (ASCII here).
  for (size_t i = 0; i < len; i++) {
    bare[i] = (char)(jid[i] >= 'A' && jid[i] <= 'Z' ? jid[i] + 32 : jid[i]);
  }
  bare[len] = 0;
  fg_block_match m;
  if (!fg_blocklist_check_jid(b->blocked, bare, &m)) return 0;
  describe(&m, why, why_len);
  return 1;
}

uint64_t fg_blocks_generation(const fg_blocks *b) {
  return fg_blocklist_generation(b->blocked) * 0x9e3779b97f4a7c15ull +
         fg_blocklist_generation(b->allowed);
}

fg_blocklist *fg_blocks_list(fg_blocks *b) {
  return b->blocked;
}

fg_blocklist *fg_blocks_allow_list(fg_blocks *b) {
  return b->allowed;
}
