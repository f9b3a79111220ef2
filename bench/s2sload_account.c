// s2sload_account.c: what the sink learns from each stanza id: unique
// deliveries (a bitmap of sequence numbers per stream makes duplicates
// exact), reordering, latency into the worker's histogram, and the wake-up
// of a sender whose window has room again.
#include <stdarg.h>
#include <stdio.h>

#include "bench/s2sload_core.h"
#include "bench/s2sload_id.h"
#include "bench/s2sload_verify.h"

fg_load g_load;

static _Atomic uint64_t g_drop_count;

void fg_load_error(const char *fmt, ...) {
  uint64_t n = atomic_fetch_add(&g_load.errors, 1);
  if (n >= 20) {
    if (n == 20) fprintf(stderr, "s2sload: (further errors counted, not printed)\n");
    return;
  }
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  fprintf(stderr, "s2sload: %s\n", buf);
}

void fg_load_wake(fg_load_stream *s) {
  if (atomic_exchange(&s->wake_pending, 1) == 0) fg_worker_post(s->wc->w, &s->wake);
}

// whole checks the stanza at |raw| (see fg_load_deliver); 0: corrupted.
static int whole(const fg_stanza_id *id, const uint8_t *raw, size_t raw_len, int sample) {
  if (sample && id->seq % FG_LOAD_SAMPLE_EVERY != 0) return 1;
  if (raw == NULL) {
    // A stanza of the sample whose start the scanner no longer holds (it
    // began in an earlier read): not checked, and counted so.
    atomic_fetch_add_explicit(&g_load.unverifiable, 1, memory_order_relaxed);
    return 1;
  }
  const fg_load_stream *s = &g_load.streams[id->stream];
  const char *why = NULL;
  switch (fg_stanza_verify(&g_load.tmpl[s->remote], id, raw, raw_len, &why)) {
    case FG_STANZA_WHOLE:
      atomic_fetch_add_explicit(&g_load.verified, 1, memory_order_relaxed);
      return 1;
    case FG_STANZA_INCOMPLETE:
      atomic_fetch_add_explicit(&g_load.unverifiable, 1, memory_order_relaxed);
      return 1;
    case FG_STANZA_CORRUPTED:
      break;
  }
  atomic_fetch_add(&g_load.corrupted, 1);
  fg_load_error("stream %u: stanza %llu corrupted (%s): %.*s", id->stream,
                (unsigned long long)id->seq, why, (int)(raw_len < 300 ? raw_len : 300),
                (const char *)raw);
  return 0;
}

void fg_load_deliver(fg_load_wctx *wc, const uint8_t *idp, size_t id_len, const uint8_t *raw,
                     size_t raw_len, int sample, uint64_t now) {
  fg_stanza_id id;
  if (!fg_stanza_id_decode(&id, idp, id_len) || id.stream >= g_load.num_streams) {
    // Not one of ours (a SUT may send its own stanzas to the sink): counted
    // apart; a mangled id of ours shows up as a loss.
    atomic_fetch_add(&g_load.unknown_ids, 1);
    return;
  }
  if (!whole(&id, raw, raw_len, sample)) return;
  unsigned every = g_load.o.sink_drop_every;
  if (every != 0 &&
      (atomic_fetch_add_explicit(&g_drop_count, 1, memory_order_relaxed) + 1) % every == 0) {
    // --sink-drop-every: a debug sink that loses stanzas, to prove the loss
    // accounting.
    atomic_fetch_add(&g_load.dropped, 1);
    return;
  }
  fg_load_stream *s = &g_load.streams[id.stream];
  if (id.seq >= s->seen_bits) {
    fg_load_error("stream %u: sequence number %llu beyond what it may send", id.stream,
                  (unsigned long long)id.seq);
    return;
  }
  uint64_t mask = UINT64_C(1) << (id.seq & 63);
  uint64_t old = atomic_fetch_or_explicit(&s->seen[id.seq >> 6], mask, memory_order_relaxed);
  if (old & mask) {
    atomic_fetch_add_explicit(&g_load.duplicated, 1, memory_order_relaxed);
    return;
  }
  uint64_t mx = atomic_load_explicit(&s->max_seq1, memory_order_relaxed);
  if (id.seq + 1 < mx) {
    atomic_fetch_add_explicit(&g_load.out_of_order, 1, memory_order_relaxed);
  } else {
    while (mx < id.seq + 1 && !atomic_compare_exchange_weak(&s->max_seq1, &mx, id.seq + 1)) {
    }
  }
  uint64_t d = atomic_fetch_add(&s->delivered, 1) + 1;
  uint64_t ws = atomic_load_explicit(&g_load.win_start_ns, memory_order_relaxed);
  uint64_t we = atomic_load_explicit(&g_load.win_end_ns, memory_order_relaxed);
  if (ws != 0) {
    if (id.ns >= ws && id.ns < we) {
      fg_hist_record(&wc->hist, now > id.ns ? now - id.ns : 0);
      fg_stalls_note(&wc->stalls, id.ns, now);
    }
    if (now >= ws && now < we) wc->win_delivered++;
  }
  switch (g_load.o.mode) {
    case FG_LOAD_RELAY:
      if (g_load.o.rate == 0 && atomic_load(&s->window_blocked) &&
          atomic_load(&s->sent) - d <= g_load.o.window / 2) {
        fg_load_wake(s);
      }
      break;
    case FG_LOAD_CHURN:
      if (d >= atomic_load(&s->sent)) fg_load_wake(s);
      break;
    case FG_LOAD_IDLE:
      break;
  }
}
