// mux_memory.c: remote domains that take no further pairs on a stream for
// a while (see mux_memory.h).
#include "gateway/server/mux_memory.h"

#include <stdio.h>
#include <string.h>

static int live(const fg_mux_memory *m, size_t i, uint64_t now_ns) {
  return m->e[i].until_ns != 0 && m->e[i].until_ns > now_ns;
}

void fg_mux_memory_note(fg_mux_memory *m, const char *remote, uint64_t now_ns, uint64_t until_ns) {
  size_t slot = FG_MUX_MEMORY_ENTRIES;
  for (size_t i = 0; i < FG_MUX_MEMORY_ENTRIES; i++) {
    if (live(m, i, now_ns) && strcmp(m->e[i].remote, remote) == 0) {
      slot = i;  // renewed
      break;
    }
    if (slot == FG_MUX_MEMORY_ENTRIES && !live(m, i, now_ns)) slot = i;
  }
  if (slot == FG_MUX_MEMORY_ENTRIES) {  // full: the oldest note gives way
    slot = m->next;
    m->next = (m->next + 1) % FG_MUX_MEMORY_ENTRIES;
  }
  snprintf(m->e[slot].remote, sizeof(m->e[slot].remote), "%s", remote);
  m->e[slot].until_ns = until_ns;
}

int fg_mux_memory_has(const fg_mux_memory *m, const char *remote, uint64_t now_ns) {
  for (size_t i = 0; i < FG_MUX_MEMORY_ENTRIES; i++) {
    if (live(m, i, now_ns) && strcmp(m->e[i].remote, remote) == 0) return 1;
  }
  return 0;
}
