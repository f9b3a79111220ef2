// admin_request.h: the admin endpoint's requests: one HTTP/1.1 request per
// connection (method, path, Content-Length body); answers are
// gateway/server/admin_reply.h's.
#ifndef FEDGATE_GATEWAY_ADMIN_REQUEST_H
#define FEDGATE_GATEWAY_ADMIN_REQUEST_H

#include <stddef.h>
#include <stdint.h>

// FG_ADMIN_MAX_HEAD and FG_ADMIN_MAX_BODY bound one request.
#define FG_ADMIN_MAX_HEAD 8192
#define FG_ADMIN_MAX_BODY 8192

// fg_admin_request is one parsed request; |body| points into the input.
typedef struct fg_admin_request {
  char method[8];
  char path[256];  // without the query string
  const char *body;
  size_t body_len;
} fg_admin_request;

typedef enum fg_admin_parse_result {
  FG_ADMIN_REQ_OK = 0,
  FG_ADMIN_REQ_INCOMPLETE,  // more bytes needed
  FG_ADMIN_REQ_BAD,         // not a request this endpoint reads (400)
  FG_ADMIN_REQ_TOO_LARGE,   // head or body over the bounds above (413)
} fg_admin_parse_result;

// fg_admin_request_parse reads the request at the start of the |len| bytes
// at |in| into |out|.
fg_admin_parse_result fg_admin_request_parse(fg_admin_request *out, const uint8_t *in, size_t len);

#endif  // FEDGATE_GATEWAY_ADMIN_REQUEST_H
