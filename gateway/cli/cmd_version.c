// cmd_version.c: `fedgate version` / `fedgate --version`.
#include <stdio.h>

#include "gateway/cli/cmd.h"
#include "gateway/cli/command.h"
#include "gateway/cli/version.h"

int fg_cmd_version(int argc, char **argv) {
  if (argc > 1) return fg_usage_error("version", "unexpected argument '%s'", argv[1]);
  fg_version_print(stdout);
  return 0;
}
