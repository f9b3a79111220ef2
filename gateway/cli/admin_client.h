// admin_client.h: one blocking HTTP/1.1 request to the admin endpoint (TCP
// or a Unix socket), for `fedgate ctl`.
#ifndef FEDGATE_GATEWAY_ADMIN_CLIENT_H
#define FEDGATE_GATEWAY_ADMIN_CLIENT_H

#include <stddef.h>

#include "gateway/cli/ctl_request.h"

typedef enum fg_admin_call_result {
  FG_ADMIN_CALL_OK = 0,    // |*status| and the body are set
  FG_ADMIN_CALL_CONNECT,   // could not connect (|err| says why)
  FG_ADMIN_CALL_PROTOCOL,  // connected, but no HTTP answer came back
} fg_admin_call_result;

// fg_admin_call sends |req| and reads the answer: the HTTP status code into
// |*status| and the body into a new NUL-terminated |*body| (free() it) of
// |*body_len| bytes.
fg_admin_call_result fg_admin_call(const fg_ctl_request *req, int *status, char **body,
                                   size_t *body_len, char *err, size_t err_cap);

#endif  // FEDGATE_GATEWAY_ADMIN_CLIENT_H
