// log.c: where log lines go (stderr, the journal, or log.file) and the
// level; gateway/server/log_format.c writes the lines. Each line is one
// write(2), so lines of different workers never interleave; the output
// descriptor never changes number (a reopened file is dup2'ed over it), so
// writers need no lock.
#include "gateway/server/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gateway/server/log_format.h"

static atomic_int g_level = FG_LOG_SEV_INFO;
static atomic_int g_style = FG_LOG_STYLE_TEXT;
static atomic_int g_fd = STDERR_FILENO;
static char g_path[4096];  // log.file, or "" (set once by fg_log_open)
static pthread_mutex_t g_reopen_mu = PTHREAD_MUTEX_INITIALIZER;

void fg_log_set_level(fg_log_severity max) {
  atomic_store(&g_level, (int)max);
}

// stderr_is_journal: systemd connects stderr to journald and names that
// socket in JOURNAL_STREAM ("DEV:INODE"); a redirected stderr no longer
// matches it.
static int stderr_is_journal(void) {
  const char *v = getenv("JOURNAL_STREAM");
  unsigned long long dev = 0, ino = 0;
  struct stat st;
  if (v == NULL || sscanf(v, "%llu:%llu", &dev, &ino) != 2) return 0;
  if (fstat(STDERR_FILENO, &st) != 0) return 0;
  return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static int open_append(const char *path) {
  return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int fg_log_open(fg_log_style style, const char *file, char *err, size_t err_len) {
  if (file != NULL) {
    if (strlen(file) >= sizeof(g_path)) {
      snprintf(err, err_len, "log.file: path too long");
      return 0;
    }
    int fd = open_append(file);
    if (fd < 0) {
      snprintf(err, err_len, "log.file %s: %s", file, strerror(errno));
      return 0;
    }
    int old = atomic_load(&g_fd);
    if (old != STDERR_FILENO) close(old);
    snprintf(g_path, sizeof(g_path), "%s", file);
    atomic_store(&g_fd, fd);
  } else if (style == FG_LOG_STYLE_TEXT && stderr_is_journal()) {
    style = FG_LOG_STYLE_JOURNAL;
  }
  atomic_store(&g_style, (int)style);
  return 1;
}

void fg_log_reopen(void) {
  pthread_mutex_lock(&g_reopen_mu);
  if (g_path[0] == 0) {
    pthread_mutex_unlock(&g_reopen_mu);
    return;
  }
  int fd = open_append(g_path);
  int ok = fd >= 0 && dup2(fd, atomic_load(&g_fd)) >= 0;
  int why = errno;
  if (fd >= 0) close(fd);
  pthread_mutex_unlock(&g_reopen_mu);
  if (!ok) {
    fg_log(FG_LOG_SEV_ERROR, NULL, NULL,
           "log.file %s: cannot reopen (%s): still writing to the file as it was opened", g_path,
           strerror(why));
  } else {
    fg_log(FG_LOG_SEV_INFO, NULL, NULL, "log.file %s reopened", g_path);
  }
}

void fg_log(fg_log_severity sev, const char *stream, const char *peer, const char *fmt, ...) {
  if ((int)sev > atomic_load(&g_level)) return;
  char msg[FG_LOG_LINE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  char line[FG_LOG_LINE_MAX];
  size_t n = fg_log_format_line(line, (fg_log_style)atomic_load(&g_style), sev, time(NULL), stream,
                                peer, msg);
  ssize_t w = write(atomic_load(&g_fd), line, n);
  (void)w;
}
