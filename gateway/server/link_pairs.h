// link_pairs.h: several domain pairs on one outbound stream (XEP-0220
// §4.3; gateway/server/link_pairs.c). A rider is a link whose pair rides on
// its carrier's stream. Worker thread only.
#ifndef FEDGATE_GATEWAY_LINK_PAIRS_H
#define FEDGATE_GATEWAY_LINK_PAIRS_H

#include "gateway/server/link_types.h"

// fg_link_pairs_attach lets remote link |l|, whose candidates are known,
// ride on a stream of this worker that may carry its pair instead of
// opening its own: a ready one is asked at once; one to the same remote
// domain that is still connecting is waited for. It returns 1 when |l|
// rides or waits.
int fg_link_pairs_attach(link *l);

// fg_link_pairs_hop_carrier returns a ready hop link of this worker that
// may carry hop pair (|local|, |remote|) to backend address |t|, stream
// |slot|, with at most |max| pairs on it (backends[].pairs_per_stream);
// NULL when none may (or |max| is 1).
link *fg_link_pairs_hop_carrier(fg_worker *w, const char *local, const char *remote,
                                const resolved_target *t, unsigned slot, unsigned max);

// fg_link_pairs_hop_ask asks hop carrier |c| to take new hop link |l|'s
// pair (db:result, which the internal server checks with a db:verify). It
// returns 1 when asked (|l| then rides, its answer awaited as long as a
// handshake), 0 when the stream takes no further pair.
int fg_link_pairs_hop_ask(link *l, link *c);

// fg_link_pairs_ask_waiting: carrier |c| became ready; the pairs that
// waited for it ask for their place on it, or go elsewhere.
void fg_link_pairs_ask_waiting(link *c);

// fg_link_pairs_answer is the peer's answer for a rider's pair on carrier
// |arg| (fg_s2s_out_ops.pair_answer). A refused pair connects on its own
// (XEP-0220 §2.4: the stream goes on).
void fg_link_pairs_answer(void *arg, const char *from, const char *to, const char *condition);

// fg_link_pairs_timed_out: rider |r|'s db:result got no answer within
// limits.handshake_timeout; the pair connects on its own.
void fg_link_pairs_timed_out(link *r);

// fg_link_pairs_note_ended_asking: carrier |c|'s stream ends by its peer's
// doing (|why|) while pairs await their answer: those pairs go alone, and
// for an hour no stream to c's remote domain is asked to carry one.
void fg_link_pairs_note_ended_asking(link *c, const char *why);

// fg_link_pairs_flush writes what carrier |c| and its accepted riders
// hold, shared by deficit round robin while the stream takes it, then
// resumes the input streams of the pairs left with nothing held.
void fg_link_pairs_flush(link *c);

// fg_link_pairs_output_full says whether carrier |c|'s stream takes no
// more writes for now.
int fg_link_pairs_output_full(const link *c);

// fg_link_pairs_release lets the riders of carrier |c|, whose stream ends,
// go: those holding nothing end with it, the others ride on another stream
// or connect on their own.
void fg_link_pairs_release(link *c);

// fg_link_pairs_detach takes rider |r| off its carrier's list.
void fg_link_pairs_detach(link *r);

// fg_link_pairs_orphan detaches a dead rider, which owns no connection,
// and frees it from the worker's loop (its callers may be walking the link
// index).
void fg_link_pairs_orphan(link *r);

// fg_link_pairs_busy says whether a rider of |c| holds stanzas.
int fg_link_pairs_busy(const link *c);

#endif  // FEDGATE_GATEWAY_LINK_PAIRS_H
