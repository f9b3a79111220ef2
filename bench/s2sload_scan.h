// s2sload_scan.h: the sink's fast path. Once a stream carries only stanzas,
// the sink does not need a tree per stanza, only each stanza's id: this
// scanner finds every ` id='L...'` attribute (either quote: a SUT such as
// Prosody re-serialises stanzas, RFC 6120 §8.1.3 does not fix the quoting)
// in chunks of any size. Values that do not start with 'L' or are longer
// than FG_STANZA_ID_MAX (ids s2sload did not write), and attributes merely
// ending in "id" ("jid=", "sid="), are skipped.
#ifndef FEDGATE_BENCH_S2SLOAD_SCAN_H
#define FEDGATE_BENCH_S2SLOAD_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "bench/s2sload_id.h"

// FG_ID_SCAN_KEEP is the most fg_id_scan leaves unconsumed when the chunk
// ends without a complete id: enough for a split " id='<longest id>'".
#define FG_ID_SCAN_KEEP (FG_STANZA_ID_MAX + 8)

typedef void (*fg_id_scan_fn)(void *arg, const uint8_t *id, size_t id_len);

// fg_id_scan calls |fn(arg, value)| for each candidate id attribute complete
// in |in| and returns how many bytes it consumed; the caller passes the
// rest again, followed by newer bytes (io/conn.h on_data semantics). No id
// is reported twice and none is lost at a chunk boundary.
size_t fg_id_scan(const uint8_t *in, size_t in_len, fg_id_scan_fn fn, void *arg);

#endif  // FEDGATE_BENCH_S2SLOAD_SCAN_H
