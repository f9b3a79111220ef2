// s2sload_stanza.h: the stanzas s2sload sends. A template per remote domain
// holds the fixed pieces of each stanza kind (from/to already in place); a
// stanza is then written with a few memcpy, the id (s2sload_id.h) and filler
// text, with no allocation and no printf.
//
// The default mix is what a federated server sees: 55 % chat messages with a
// body and a chat state, 25 % presence with entity capabilities (XEP-0115),
// 10 % iq get (disco#info) and 10 % iq set (a PEP publish), each 200 B to
// 2 KiB. A fixed size makes every stanza a message of exactly that many bytes.
#ifndef FEDGATE_BENCH_S2SLOAD_STANZA_H
#define FEDGATE_BENCH_S2SLOAD_STANZA_H

#include <stddef.h>
#include <stdint.h>

#include "bench/s2sload_id.h"

// FG_STANZA_MIX_MIN / FG_STANZA_MIX_MAX bound the mix's sizes (bytes).
#define FG_STANZA_MIX_MIN 200
#define FG_STANZA_MIX_MAX 2048
// FG_STANZA_FIXED_MAX is the largest --size accepted.
#define FG_STANZA_FIXED_MAX 65536

enum { FG_STANZA_KINDS = 4, FG_STANZA_PIECE = 320 };

typedef struct fg_stanza_piece {
  char head[FG_STANZA_PIECE];  // up to the id value
  char mid[FG_STANZA_PIECE];   // after the id, up to the filler
  char tail[FG_STANZA_PIECE];  // after the filler
  size_t head_len, mid_len, tail_len;
} fg_stanza_piece;

typedef struct fg_stanza_tmpl {
  fg_stanza_piece kinds[FG_STANZA_KINDS];
  size_t fixed_size;                                // 0: the mix
  char from[FG_STANZA_PIECE], to[FG_STANZA_PIECE];  // the JIDs, for the sink's check
} fg_stanza_tmpl;

// fg_stanza_layout is what a stanza's id decides: its kind (template
// piece), and its filler text, kFiller from |fill_start| (cyclic) for
// |fill_len| bytes. Everything in a stanza is a function of its id, so the
// sink can tell a stanza delivered whole from one truncated or rewritten
// (s2sload_verify.h).
typedef struct fg_stanza_layout {
  const fg_stanza_piece *piece;
  size_t id_len, fill_len, fill_start, len;
} fg_stanza_layout;

// fg_stanza_tmpl_init prepares stanzas from |from_jid| to |to_jid| (full and
// bare JIDs, XML-safe ASCII), of |fixed_size| bytes each (0: the mix). It
// returns 1, or 0 when the JIDs are too long or |fixed_size| is below
// fg_stanza_tmpl_min_size (or above FG_STANZA_FIXED_MAX).
int fg_stanza_tmpl_init(fg_stanza_tmpl *t, const char *from_jid, const char *to_jid,
                        size_t fixed_size);

// fg_stanza_tmpl_min_size returns the smallest fixed size these JIDs allow
// (every id must fit, whatever its length).
size_t fg_stanza_min_size(const char *from_jid, const char *to_jid);

// fg_stanza_layout_of fills |*l| for the stanza carrying |id|: the mix's
// kind and size are drawn from a hash of the id's stream and sequence
// number, the filler starts at an offset derived from them too.
void fg_stanza_layout_of(const fg_stanza_tmpl *t, const fg_stanza_id *id, fg_stanza_layout *l);

// fg_stanza_write writes one stanza carrying |id| into |out| and returns its
// length, or 0 if |cap| is too small. The same id always gives the same
// bytes (with the same send time).
size_t fg_stanza_write(const fg_stanza_tmpl *t, const fg_stanza_id *id, uint8_t *out, size_t cap);

// fg_stanza_filler_byte returns byte |i| of the cyclic filler text.
uint8_t fg_stanza_filler_byte(size_t i);

#endif  // FEDGATE_BENCH_S2SLOAD_STANZA_H
