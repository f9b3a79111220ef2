// admin_reply.h: one HTTP/1.1 answer on an admin connection, then close.
#ifndef FEDGATE_GATEWAY_SERVER_ADMIN_REPLY_H
#define FEDGATE_GATEWAY_SERVER_ADMIN_REPLY_H

#include <stddef.h>

#include "io/conn.h"

// fg_admin_reply sends |status| ("200 OK") and the text |body| of |n| bytes
// on |c| and closes it once sent.
void fg_admin_reply(fg_conn *c, const char *status, const char *body, size_t n);

#endif  // FEDGATE_GATEWAY_SERVER_ADMIN_REPLY_H
