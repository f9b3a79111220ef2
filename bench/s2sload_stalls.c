// s2sload_stalls.c: the worst distinct latency events (see s2sload_stalls.h).
#include "bench/s2sload_stalls.h"

#include <stdlib.h>
#include <string.h>

static uint64_t latency(const fg_stall *e) {
  return e->arrive_ns - e->sched_ns;
}

void fg_stalls_init(fg_stalls *s, uint64_t floor_ns) {
  memset(s, 0, sizeof(*s));
  s->floor_ns = floor_ns;
}

static void add(fg_stalls *s, const fg_stall *in) {
  uint64_t lat = latency(in);
  for (size_t i = 0; i < s->n; i++) {
    fg_stall *e = &s->ev[i];
    if (in->from_ns >= e->to_ns || in->to_ns <= e->from_ns) continue;
    // The same event: widen it, keep its worst stanza.
    if (in->from_ns < e->from_ns) e->from_ns = in->from_ns;
    if (in->to_ns > e->to_ns) e->to_ns = in->to_ns;
    e->stanzas += in->stanzas;
    if (lat > latency(e)) {
      e->sched_ns = in->sched_ns;
      e->arrive_ns = in->arrive_ns;
    }
    return;
  }
  if (s->n < FG_STALLS_MAX) {
    s->ev[s->n++] = *in;
    return;
  }
  size_t least = 0;
  for (size_t i = 1; i < s->n; i++)
    if (latency(&s->ev[i]) < latency(&s->ev[least])) least = i;
  if (lat > latency(&s->ev[least])) s->ev[least] = *in;
}

void fg_stalls_note(fg_stalls *s, uint64_t sched_ns, uint64_t arrive_ns) {
  if (arrive_ns <= sched_ns || arrive_ns - sched_ns < s->floor_ns) return;
  fg_stall in = {sched_ns, arrive_ns, sched_ns, arrive_ns, 1};
  add(s, &in);
}

void fg_stalls_merge(fg_stalls *dst, const fg_stalls *src) {
  for (size_t i = 0; i < src->n; i++) add(dst, &src->ev[i]);
}

static int worst_first(const void *a, const void *b) {
  uint64_t x = latency(a), y = latency(b);
  return x < y ? 1 : x > y ? -1 : 0;
}

void fg_stalls_sort(fg_stalls *s) {
  qsort(s->ev, s->n, sizeof(s->ev[0]), worst_first);
}
