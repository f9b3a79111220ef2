// mux_memory.h: remote domains whose server ended a shared stream while a
// further domain pair's db:result awaited its answer (XEP-0220 §4.3).
//
// A server that does not take further pairs on a stream may answer the
// db:result with a stream error, its closing tag or a reset instead of
// type='invalid'. The pair then opens its own stream; so that the next new
// pair does not break the replacement stream the same way, streams to that
// remote domain carry no further pairs for a while. A plain bounded table
// (the oldest entry gives way), no I/O and no clock of its own: each worker
// keeps one (gateway/server/link.c).
#ifndef FEDGATE_GATEWAY_SERVER_MUX_MEMORY_H
#define FEDGATE_GATEWAY_SERVER_MUX_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/s2s/jid.h"

enum { FG_MUX_MEMORY_ENTRIES = 64 };

typedef struct fg_mux_memory {
  struct {
    char remote[FG_DOMAIN_MAX + 1];
    uint64_t until_ns;  // 0: free
  } e[FG_MUX_MEMORY_ENTRIES];
  size_t next;  // the entry a new domain takes when none is free or expired
} fg_mux_memory;

// fg_mux_memory_note remembers |remote| until |until_ns| (a monotonic time),
// renewing its entry if it has one; when the table is full the oldest
// entry gives way.
void fg_mux_memory_note(fg_mux_memory *m, const char *remote, uint64_t now_ns, uint64_t until_ns);

// fg_mux_memory_has says whether |remote| is remembered at |now_ns|. It
// returns 1 or 0.
int fg_mux_memory_has(const fg_mux_memory *m, const char *remote, uint64_t now_ns);

#endif  // FEDGATE_GATEWAY_SERVER_MUX_MEMORY_H
