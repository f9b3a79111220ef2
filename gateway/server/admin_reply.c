// admin_reply.c: one HTTP/1.1 answer on an admin connection (admin_reply.h).
#include "gateway/server/admin_reply.h"

#include <stdint.h>
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
