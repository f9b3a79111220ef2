// log.h: operator log lines. One line per event, written with one write(2)
// (lines of different threads never interleave), to stderr or log.file, in
// the format log.format chooses (gateway/server/log_format.h shows each):
//   2026-11-22T03:14:15Z warn stream=3f2a.. peer=a.example: invalid-from (...)
// When stderr is the systemd journal (JOURNAL_STREAM names it) and no file
// is set, text lines carry the journal's priority prefix instead of a time.
// Errors carry the stream id, the peer domain and the reason (DESIGN.md).
#ifndef FEDGATE_GATEWAY_LOG_H
#define FEDGATE_GATEWAY_LOG_H

#include <stddef.h>

typedef enum fg_log_severity {
  FG_LOG_SEV_ERROR = 0,
  FG_LOG_SEV_WARN,
  FG_LOG_SEV_INFO,
  FG_LOG_SEV_DEBUG,
} fg_log_severity;

typedef enum fg_log_style {
  FG_LOG_STYLE_TEXT = 0,
  FG_LOG_STYLE_JOURNAL,  // text with a <N> priority prefix and no time (journald)
  FG_LOG_STYLE_KV,       // logfmt key=value
  FG_LOG_STYLE_JSON,     // one object per line
} fg_log_style;

// fg_log_set_level sets the most verbose severity written (default INFO).
void fg_log_set_level(fg_log_severity max);

// fg_log_open chooses the output: |style| TEXT, KV or JSON (TEXT becomes
// JOURNAL when |file| is NULL and stderr is the journal), appended to |file|
// or written to stderr when |file| is NULL. It returns 1, or 0 with the
// reason in |err| (the output stays as it was). Call it before any thread
// logs; fg_log_reopen may run at any time after.
int fg_log_open(fg_log_style style, const char *file, char *err, size_t err_len);

// fg_log_reopen opens the log file again under its name (after logrotate
// renamed it; SIGUSR1) and puts it in place of the old one atomically; if
// that fails, the old descriptor stays and the reason is logged. A no-op
// without a log file.
void fg_log_reopen(void);

// fg_log writes one line if |sev| passes the level. |stream| and |peer| may
// be NULL or "".
void fg_log(fg_log_severity sev, const char *stream, const char *peer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif  // FEDGATE_GATEWAY_LOG_H
