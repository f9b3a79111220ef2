// log.h: operator log lines. One line per event, to stderr:
//   2026-11-22T03:14:15Z warn stream=3f2a.. peer=a.example: invalid-from (...)
// Errors carry the stream id, the peer domain and the reason (DESIGN.md).
#ifndef FEDGATE_GATEWAY_LOG_H
#define FEDGATE_GATEWAY_LOG_H

typedef enum fg_log_severity {
  FG_LOG_SEV_ERROR = 0,
  FG_LOG_SEV_WARN,
  FG_LOG_SEV_INFO,
  FG_LOG_SEV_DEBUG,
} fg_log_severity;

// fg_log_set_level sets the most verbose severity written (default INFO).
void fg_log_set_level(fg_log_severity max);

// fg_log writes one line if |sev| passes the level. |stream| and |peer| may
// be NULL or "".
void fg_log(fg_log_severity sev, const char *stream, const char *peer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif  // FEDGATE_GATEWAY_LOG_H
