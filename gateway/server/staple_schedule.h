// staple_schedule.h: when fedgate fetches the OCSP response of one of its
// own certificates again (gateway/server/stapler.h), as pure functions of
// the response's times, so that the policy is tested without a clock.
//
// A good response is refreshed at a fraction (one half) of its validity
// window, thisUpdate to nextUpdate, moved by up to ±10 % of that delay so
// that certificates fetched together do not stay in step; without
// nextUpdate the window is one hour. A failed fetch is retried after 10 s,
// doubling up to 10 minutes, while the last good response is served until
// its nextUpdate.
#ifndef FEDGATE_GATEWAY_SERVER_STAPLE_SCHEDULE_H
#define FEDGATE_GATEWAY_SERVER_STAPLE_SCHEDULE_H

#include <stdint.h>

// FG_STAPLE_DEFAULT_FRACTION is the part of the window after which a good
// response is fetched again.
#define FG_STAPLE_DEFAULT_FRACTION 0.5
// FG_STAPLE_WINDOW_WITHOUT_NEXT is the window of a response without
// nextUpdate, in seconds.
#define FG_STAPLE_WINDOW_WITHOUT_NEXT 3600
#define FG_STAPLE_BACKOFF_FIRST 10
#define FG_STAPLE_BACKOFF_MAX 600

// fg_staple_not_after returns the time (POSIX seconds) from which a response
// with these times is no longer stapled: its nextUpdate, or thisUpdate plus
// FG_STAPLE_WINDOW_WITHOUT_NEXT.
int64_t fg_staple_not_after(int64_t this_update, int has_next, int64_t next_update);

// fg_staple_refresh_at returns when to fetch again a good response with
// these times: thisUpdate + |fraction| of the window, the delay scaled by
// (1 + 0.1 * |jitter|) with |jitter| in [-1, 1]; never later than the
// response's end (fg_staple_not_after) and never before |now|.
int64_t fg_staple_refresh_at(int64_t this_update, int has_next, int64_t next_update, int64_t now,
                             double fraction, double jitter);

// fg_staple_backoff returns the delay in seconds before the retry that
// follows |failures| consecutive failed fetches (1: 10 s, then doubling, at
// most 600 s).
int64_t fg_staple_backoff(unsigned failures);

// fg_staple_fraction_parse reads |text| (the test-only environment variable
// FEDGATE_TEST_STAPLE_REFRESH_FRACTION), a number in (0, 1]. It returns the
// fraction, or FG_STAPLE_DEFAULT_FRACTION when |text| is NULL or not such a
// number.
double fg_staple_fraction_parse(const char *text);

#endif  // FEDGATE_GATEWAY_SERVER_STAPLE_SCHEDULE_H
