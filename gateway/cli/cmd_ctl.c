// cmd_ctl.c: `fedgate ctl`: admin actions on a running gateway through its
// admin endpoint (docs/admin.md). The commands are the table of
// gateway/cli/ctl_request.c.
#include <stdio.h>
#include <stdlib.h>

#include "gateway/cli/admin_client.h"
#include "gateway/cli/cmd.h"
#include "gateway/cli/ctl_request.h"

int fg_cmd_ctl(int argc, char **argv) {
  fg_ctl_request req;
  char err[512];
  if (!fg_ctl_parse(&req, err, sizeof(err), argc, argv)) {
    fprintf(stderr, "fedgate ctl: %s\n", err);
    fg_ctl_usage(stderr);
    return 2;
  }
  int status = 0;
  char *body = NULL;
  size_t len = 0;
  switch (fg_admin_call(&req, &status, &body, &len, err, sizeof(err))) {
    case FG_ADMIN_CALL_CONNECT:
      fprintf(stderr, "fedgate ctl: %s\n", err);
      return 3;
    case FG_ADMIN_CALL_PROTOCOL:
      fprintf(stderr, "fedgate ctl: %s\n", err);
      return 1;
    case FG_ADMIN_CALL_OK:
      break;
  }
  int done = status >= 200 && status < 300;
  FILE *out = done ? stdout : stderr;
  fwrite(body, 1, len, out);
  if (len == 0 && !done) fprintf(out, "error: HTTP status %d\n", status);
  if (len > 0 && body[len - 1] != '\n') fputc('\n', out);
  free(body);
  return done ? 0 : 1;
}
