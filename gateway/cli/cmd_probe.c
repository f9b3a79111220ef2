// cmd_probe.c: `fedgate probe` reports the kernel features fedgate can use.
#include <stdio.h>

#include "gateway/cli/cmd.h"
#include "gateway/cli/command.h"
#include "io/probe.h"

int fg_cmd_probe(int argc, char **argv) {
  if (argc > 1) return fg_usage_error("probe", "unexpected argument '%s'", argv[1]);
  fg_probe_result r;
  int ok = fg_probe_run(&r);
  fg_probe_print(&r, stdout);
  if (!ok) {
    fprintf(stderr, "fedgate probe: io_uring is unavailable, fedgate cannot run here: %s\n",
            r.reason[FG_PROBE_IO_URING]);
    return 1;
  }
  return 0;
}
