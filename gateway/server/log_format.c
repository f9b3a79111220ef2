// log_format.c: the log line formats (log_format.h).
#include "gateway/server/log_format.h"

#include <stdio.h>
#include <string.h>

const char *fg_log_severity_name(fg_log_severity sev) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  return (unsigned)sev < 4 ? names[sev] : "info";
}

// line is a bounded cursor: appends stop at the reserved tail, so that the
// closing bytes (quote, brace, newline) always fit.
typedef struct line {
  char *p;
  size_t n, cap;
} line;

static void put(line *l, const char *s, size_t len) {
  size_t room = l->n < l->cap ? l->cap - l->n : 0;
  if (len > room) len = room;
  memcpy(l->p + l->n, s, len);
  l->n += len;
}

static void puts_(line *l, const char *s) {
  put(l, s, strlen(s));
}

// put_escaped appends |s| for a JSON string or a quoted logfmt value:
// backslash, quote and control bytes escaped (an escape is never cut in half).
static void put_escaped(line *l, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[8];
    size_t len = 1;
    esc[0] = (char)c;
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      len = 2;
    } else if (c == '\n' || c == '\r' || c == '\t') {
      esc[0] = '\\';
      esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
      len = 2;
    } else if (c < 0x20 || c == 0x7f) {
      len = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
    }
    if (l->n >= l->cap || len > l->cap - l->n) return;
    put(l, esc, len);
  }
}

// needs_quotes: a logfmt value with a space, '=', a quote or a control byte
// (or an empty one) is written quoted.
static int needs_quotes(const char *s) {
  if (*s == 0) return 1;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7f) return 1;
  }
  return 0;
}

static void put_kv(line *l, const char *key, const char *value) {
  if (l->n > 0) puts_(l, " ");
  puts_(l, key);
  puts_(l, "=");
  if (!needs_quotes(value)) {
    puts_(l, value);
    return;
  }
  puts_(l, "\"");
  put_escaped(l, value);
  puts_(l, "\"");
}

// put_json appends "key":"value"; the closing quote may use the byte
// reserved for it, so a value cut short still ends its string.
static void put_json(line *l, const char *key, const char *value) {
  puts_(l, l->n > 1 ? ",\"" : "\"");
  puts_(l, key);
  puts_(l, "\":\"");
  put_escaped(l, value);
  l->cap++;
  puts_(l, "\"");
  l->cap--;
}

// sd-daemon.h's priorities: SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG.
static const char *const kJournalPrefix[] = {"<3>", "<4>", "<6>", "<7>"};

size_t fg_log_format_line(char *out, fg_log_style style, fg_log_severity sev, time_t when,
                          const char *stream, const char *peer, const char *msg) {
  // Reserve room for what closes the line: `"}` and the newline.
  line l = {out, 0, FG_LOG_LINE_MAX - 3};
  char ts[32] = "";
  struct tm tm;
  if (gmtime_r(&when, &tm) != NULL) strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
  int has_stream = stream != NULL && stream[0], has_peer = peer != NULL && peer[0];
  const char *level = fg_log_severity_name(sev);
  switch (style) {
    case FG_LOG_STYLE_KV:
      put_kv(&l, "ts", ts);
      put_kv(&l, "level", level);
      if (has_stream) put_kv(&l, "stream", stream);
      if (has_peer) put_kv(&l, "peer", peer);
      put_kv(&l, "msg", msg);
      break;
    case FG_LOG_STYLE_JSON:
      puts_(&l, "{");
      put_json(&l, "ts", ts);
      put_json(&l, "level", level);
      if (has_stream) put_json(&l, "stream", stream);
      if (has_peer) put_json(&l, "peer", peer);
      put_json(&l, "msg", msg);
      l.cap = FG_LOG_LINE_MAX - 1;  // the brace always fits
      puts_(&l, "}");
      break;
    case FG_LOG_STYLE_TEXT:
    case FG_LOG_STYLE_JOURNAL:
      if (style == FG_LOG_STYLE_JOURNAL) {
        puts_(&l, kJournalPrefix[(unsigned)sev < 4 ? sev : 2]);
      } else {
        puts_(&l, ts);
        puts_(&l, " ");
      }
      puts_(&l, level);
      if (has_stream) {
        puts_(&l, " stream=");
        puts_(&l, stream);
      }
      if (has_peer) {
        puts_(&l, " peer=");
        puts_(&l, peer);
      }
      puts_(&l, ": ");
      // A message is one line: an embedded newline would forge another.
      for (const char *m = msg; *m && l.n < l.cap; m++) {
        char c = *m == '\n' || *m == '\r' ? ' ' : *m;
        put(&l, &c, 1);
      }
      break;
  }
  out[l.n++] = '\n';
  return l.n;
}
