// ctl_request.h: `fedgate ctl` arguments turned into one admin request. A
// table (ctl_request.c) maps each VERB [OBJECT] to a method, a path, the
// form key of its argument and its options; adding a command is one entry.
#ifndef FEDGATE_GATEWAY_CTL_REQUEST_H
#define FEDGATE_GATEWAY_CTL_REQUEST_H

#include <stddef.h>
#include <stdio.h>

#define FG_CTL_DEFAULT_ADMIN "127.0.0.1:5280"
#define FG_CTL_MAX_BODY 4096

// fg_ctl_request is what one `fedgate ctl` invocation sends, and where.
typedef struct fg_ctl_request {
  char host[256];  // the admin listener (no brackets), unless |socket_path|
  char port[8];
  char admin[300];             // as given, for messages
  const char *socket_path;     // --socket PATH, or NULL
  const char *method;          // "GET" or "POST"
  const char *path;            // "/streams/close"
  char body[FG_CTL_MAX_BODY];  // application/x-www-form-urlencoded (POST)
  size_t body_len;
} fg_ctl_request;

// fg_ctl_parse reads `fedgate ctl` arguments (|argv|[0] is "ctl") into
// |req|. It returns 1, or 0 with the reason in |err| (capacity |err_cap|):
// an unknown verb, object or option, a missing or extra argument, a bad
// --admin address, both --admin and --socket.
int fg_ctl_parse(fg_ctl_request *req, char *err, size_t err_cap, int argc, char **argv);

// fg_ctl_usage writes the usage text (every command of the table) to |out|.
void fg_ctl_usage(FILE *out);

#endif  // FEDGATE_GATEWAY_CTL_REQUEST_H
