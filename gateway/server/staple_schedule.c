// staple_schedule.c: the refresh policy of fedgate's own OCSP staples (see
// staple_schedule.h).
#include "gateway/server/staple_schedule.h"

#include <stdlib.h>

int64_t fg_staple_not_after(int64_t this_update, int has_next, int64_t next_update) {
  return has_next ? next_update : this_update + FG_STAPLE_WINDOW_WITHOUT_NEXT;
}

int64_t fg_staple_refresh_at(int64_t this_update, int has_next, int64_t next_update, int64_t now,
                             double fraction, double jitter) {
  int64_t end = fg_staple_not_after(this_update, has_next, next_update);
  int64_t window = end > this_update ? end - this_update : 0;
  if (jitter < -1) jitter = -1;
  if (jitter > 1) jitter = 1;
  double delay = (double)window * fraction * (1.0 + 0.1 * jitter);
  int64_t at = this_update + (int64_t)delay;
  if (at > end) at = end;
  return at < now ? now : at;
}

int64_t fg_staple_backoff(unsigned failures) {
  int64_t d = FG_STAPLE_BACKOFF_FIRST;
  for (unsigned i = 1; i < failures && d < FG_STAPLE_BACKOFF_MAX; i++) d *= 2;
  return d < FG_STAPLE_BACKOFF_MAX ? d : FG_STAPLE_BACKOFF_MAX;
}

double fg_staple_fraction_parse(const char *text) {
  if (text == NULL || *text == 0) return FG_STAPLE_DEFAULT_FRACTION;
  char *end = NULL;
  double f = strtod(text, &end);
  if (*end != 0 || !(f > 0 && f <= 1)) return FG_STAPLE_DEFAULT_FRACTION;
  return f;
}
