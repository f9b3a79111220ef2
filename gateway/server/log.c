// log.c: one formatted line per event, written with a single write(2) so that
// lines from different workers never interleave.
#include "gateway/server/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static atomic_int g_level = FG_LOG_SEV_INFO;

void fg_log_set_level(fg_log_severity max) {
  atomic_store(&g_level, (int)max);
}

void fg_log(fg_log_severity sev, const char *stream, const char *peer, const char *fmt, ...) {
  if ((int)sev > atomic_load(&g_level)) return;
  static const char *const names[] = {"error", "warn", "info", "debug"};
  char line[1024];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
  n += (size_t)snprintf(line + n, sizeof(line) - n, "%s", names[sev]);
  if (stream != NULL && stream[0])
    n += (size_t)snprintf(line + n, sizeof(line) - n, " stream=%s", stream);
  if (peer != NULL && peer[0]) n += (size_t)snprintf(line + n, sizeof(line) - n, " peer=%s", peer);
  if (n < sizeof(line) - 2) {
    line[n++] = ':';
    line[n++] = ' ';
  }
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
  va_end(ap);
  if (m > 0) n += (size_t)m < sizeof(line) - n - 1 ? (size_t)m : sizeof(line) - n - 2;
  line[n++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, n);
  (void)w;
}
