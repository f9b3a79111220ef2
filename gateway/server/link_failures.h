// link_failures.h: what a failed outbound link leaves behind
// (gateway/server/link_failures.c): bounces of what it held, the memory of
// unreachable remote domains, reports of lost streams. Worker thread only.
#ifndef FEDGATE_GATEWAY_LINK_FAILURES_H
#define FEDGATE_GATEWAY_LINK_FAILURES_H

#include "gateway/server/link_types.h"

// fg_link_bounce_build writes to |out| (|out_cap| bytes, length in
// |*out_len|) the error stanza that answers the held stanza |data| with
// |cond| (RFC 6120 §8.3), and the domains it goes from (|ours|: the held
// stanza's recipient) and to (|sender|). It returns 0 when the stanza gets
// no answer (not a stanza, an error itself, no domains, too long).
int fg_link_bounce_build(uint8_t *out, size_t *out_len, size_t out_cap,
                         char ours[FG_DOMAIN_MAX + 1], char sender[FG_DOMAIN_MAX + 1],
                         const uint8_t *data, size_t data_len, fg_stanza_condition cond);

// fg_link_unreachable_find returns what |ws| remembers of |domain|'s last
// failure, or NULL.
unreachable *fg_link_unreachable_find(worker_state *ws, const char *domain);

// fg_link_unreachable_note remembers that |l|'s remote domain could not be
// reached (stanzas get |cond| until its retry time: 5 s doubling up to 10
// min, with jitter).
void fg_link_unreachable_note(link *l, fg_stanza_condition cond);

// fg_link_unreachable_forget forgets |l|'s remote domain's failures (a
// link to it became ready).
void fg_link_unreachable_forget(link *l);

// fg_link_report_lost tells gateway/server/link_loss.h that the stream
// |stream_id| of the pair's link with |remote| is lost.
void fg_link_report_lost(fg_server *srv, fg_worker *w, const char *remote, const char *stream_id,
                         const char *why);

// fg_link_report_riders_lost: the stream of carrier |l|, |stream_id|,
// broke. The other remote domains whose pairs rode on it lost their link
// as well; each is reported once (the carrier's own domain is reported by
// its caller).
void fg_link_report_riders_lost(const link *l, const char *stream_id, const char *why);

#endif  // FEDGATE_GATEWAY_LINK_FAILURES_H
