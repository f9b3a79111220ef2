// log_format.h: one operator log line in each of fedgate's formats, as pure
// functions of their inputs (gateway/server/log.c writes them):
//   text:    2026-11-22T03:14:15Z warn stream=3f2a.. peer=a.example: invalid-from
//   journal: <4>warn stream=3f2a.. peer=a.example: invalid-from
//            (stderr is the journal: the sd-daemon.h priority prefix, no time)
//   kv:      ts=2026-11-22T03:14:15Z level=warn stream=3f2a.. peer=a.example msg=invalid-from
//   json:    {"ts":"2026-11-22T03:14:15Z","level":"warn","stream":"3f2a..",
//            "peer":"a.example","msg":"invalid-from"}
#ifndef FEDGATE_GATEWAY_LOG_FORMAT_H
#define FEDGATE_GATEWAY_LOG_FORMAT_H

#include <stddef.h>
#include <time.h>

#include "gateway/server/log.h"

// FG_LOG_LINE_MAX bounds one line; a longer message is cut (and a json line
// stays valid JSON).
#define FG_LOG_LINE_MAX 1024

// fg_log_format_line writes the line for one event into |out| (capacity at
// least FG_LOG_LINE_MAX), newline included, and returns its length.
// |stream| and |peer| may be NULL or "" (then left out).
size_t fg_log_format_line(char *out, fg_log_style style, fg_log_severity sev, time_t when,
                          const char *stream, const char *peer, const char *msg);

// fg_log_severity_name returns "error", "warn", "info" or "debug".
const char *fg_log_severity_name(fg_log_severity sev);

#endif  // FEDGATE_GATEWAY_LOG_FORMAT_H
