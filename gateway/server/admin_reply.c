// admin_reply.c: the answer's head (status, text/plain, Content-Length,
// Connection: close) and body, queued at once; the graceful close flushes
// them.
#include "gateway/server/admin_reply.h"

#include <stdarg.h>
#include <stdio.h>

void fg_admin_reply(fg_conn *c, const char *status, const char *body, size_t n) {
  char head[200];
  int h = snprintf(head, sizeof(head),
                   "HTTP/1.1 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                   status, n);
  fg_conn_send(c, (const uint8_t *)head, (size_t)h);
  fg_conn_send(c, (const uint8_t *)body, n);
  fg_conn_close(c);
}

void fg_admin_replyf(fg_conn *c, const char *status, const char *fmt, ...) {
  char body[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(body, sizeof(body), fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof(body)) n = (int)sizeof(body) - 1;
  fg_admin_reply(c, status, body, (size_t)n);
}
