// s2sload_stalls.h: the worst latency events of a run, with their times.
// A stall delays every stanza that was in its way, so the largest latencies
// of a run mostly belong to one event; this keeps the worst FG_STALLS_MAX
// *distinct* events: a sample whose interval (scheduled time to arrival)
// overlaps a kept one belongs to that event and only raises its latency.
// Times are CLOCK_MONOTONIC nanoseconds, the clock of the kernel's trace
// buffer with trace_clock "mono" (bench/sched_trace.py), so each event can
// be matched with what the scheduler did meanwhile. One set per worker
// (no locking), merged at the end.
#ifndef FEDGATE_BENCH_S2SLOAD_STALLS_H
#define FEDGATE_BENCH_S2SLOAD_STALLS_H

#include <stddef.h>
#include <stdint.h>

#define FG_STALLS_MAX 16

typedef struct fg_stall {
  uint64_t sched_ns, arrive_ns;  // the event's worst stanza
  uint64_t from_ns, to_ns;       // the union of its stanzas' intervals
  uint64_t stanzas;              // stanzas counted in it
} fg_stall;

typedef struct fg_stalls {
  fg_stall ev[FG_STALLS_MAX];
  size_t n;
  uint64_t floor_ns;  // latencies below this are not considered
} fg_stalls;

// fg_stalls_init empties |s|; latencies below |floor_ns| are never kept.
void fg_stalls_init(fg_stalls *s, uint64_t floor_ns);

// fg_stalls_note considers one stanza scheduled at |sched_ns| that arrived
// at |arrive_ns|. Cheap when its latency is below the floor or below every
// kept event once the set is full.
void fg_stalls_note(fg_stalls *s, uint64_t sched_ns, uint64_t arrive_ns);

// fg_stalls_merge adds the events of |src| to |dst| (overlapping ones join).
void fg_stalls_merge(fg_stalls *dst, const fg_stalls *src);

// fg_stalls_sort orders the events of |s| by latency, worst first.
void fg_stalls_sort(fg_stalls *s);

#endif  // FEDGATE_BENCH_S2SLOAD_STALLS_H
