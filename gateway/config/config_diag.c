// config_diag.c: the diagnostics of the configuration loader: one line per
// problem, "FILE:LINE: [warning: ]KEY.PATH: PROBLEM (value 'V')", collected in
// an fg_config_diag.
#include "gateway/config/config.h"
#include "gateway/config/config_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fg_config_diag_init(fg_config_diag *d) {
  memset(d, 0, sizeof(*d));
}

void fg_config_diag_cleanup(fg_config_diag *d) {
  if (d == NULL) return;
  free(d->text);
  memset(d, 0, sizeof(*d));
}

static void diag_line(fg_config_diag *d, const char *line) {
  size_t n = strlen(line);
  size_t need = d->len + n + 2;
  if (need > d->cap) {
    size_t cap = d->cap ? d->cap : 256;
    while (cap < need) cap *= 2;
    char *t = realloc(d->text, cap);
    if (t == NULL) return;  // out of memory: the count below still records it
    d->text = t;
    d->cap = cap;
  }
  memcpy(d->text + d->len, line, n);
  d->len += n;
  d->text[d->len++] = '\n';
  d->text[d->len] = 0;
}

// printable copies |v| for a message: control and non-ASCII bytes as \xNN,
// cut at 100 bytes.
static void printable(char *out, size_t out_len, const char *v) {
  size_t o = 0;
  for (size_t i = 0; v[i] != 0 && o + 8 < out_len; i++) {
    unsigned char ch = (unsigned char)v[i];
    if (i >= 100) {
      memcpy(out + o, "...", 3);
      o += 3;
      break;
    }
    if (ch < 0x20 || ch >= 0x7f || ch == '\'' || ch == '\\') {
      o += (size_t)snprintf(out + o, out_len - o, "\\x%02x", ch);
    } else {
      out[o++] = (char)ch;
    }
  }
  out[o] = 0;
}

// report adds "FILE:LINE: [warning: ]PATH: MESSAGE (value 'V')". The value is
// the scalar indexed at |path|, if any.
static void report(config_ctx *c, int warning, const char *path, const char *fmt, va_list ap) {
  char msg[1024], where[64] = "", val[512] = "";
  vsnprintf(msg, sizeof(msg), fmt, ap);
  const config_node *nd = NULL;
  unsigned line = path != NULL ? config_nearest_line(c, path, &nd) : 0;
  if (line > 0) snprintf(where, sizeof(where), "%u:", line);
  if (nd != NULL && nd->value != NULL) {
    char p[400];
    printable(p, sizeof(p), nd->value);
    snprintf(val, sizeof(val), " (value '%s')", p);
  }
  if (warning) {
    c->diag->warnings++;
  } else {
    c->diag->errors++;
  }
  const char *pp = path != NULL ? path : "";
  const char *sep = pp[0] != 0 ? ": " : "";
  char line_buf[2048];
  snprintf(line_buf, sizeof(line_buf), "%s:%s %s%s%s%s%s", c->file, where,
           warning ? "warning: " : "", pp, sep, msg, val);
  diag_line(c->diag, line_buf);
}

void config_err(config_ctx *c, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(c, 0, path, fmt, ap);
  va_end(ap);
}

void config_warn(config_ctx *c, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(c, 1, path, fmt, ap);
  va_end(ap);
}

// config_err_line reports a problem that has a line but no key path (YAML
// syntax).
void config_err_line(config_ctx *c, unsigned line, const char *fmt, ...) {
  char msg[1024], buf[1400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (line > 0) {
    snprintf(buf, sizeof(buf), "%s:%u: %s", c->file, line, msg);
  } else {
    snprintf(buf, sizeof(buf), "%s: %s", c->file, msg);
  }
  c->diag->errors++;
  diag_line(c->diag, buf);
}
