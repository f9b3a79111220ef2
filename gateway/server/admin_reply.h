// admin_reply.h: one HTTP/1.1 answer on an admin connection, then close.
#ifndef FEDGATE_GATEWAY_SERVER_ADMIN_REPLY_H
#define FEDGATE_GATEWAY_SERVER_ADMIN_REPLY_H

#include <stddef.h>

#include "io/conn.h"

// fg_admin_reply sends |status| ("200 OK") and the text |body| of |n| bytes
// on |c| and closes it once sent.
void fg_admin_reply(fg_conn *c, const char *status, const char *body, size_t n);

// fg_admin_replyf is fg_admin_reply with a formatted body (at most 1 KiB).
void fg_admin_replyf(fg_conn *c, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif  // FEDGATE_GATEWAY_SERVER_ADMIN_REPLY_H
