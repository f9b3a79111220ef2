// main.c: the `fedgate` binary. Everything happens in a subcommand.
#include <stdio.h>

#include "gateway/cli/command.h"
#include "gateway/xml/xml_simd.h"

int main(int argc, char **argv) {
  // A forced XML parser level (FEDGATE_XML_ISA) that this binary or CPU
  // cannot run is refused before any command starts, never ignored.
  char err[256];
  if (!fg_xml_simd_env_check(err, sizeof(err))) {
    fprintf(stderr, "fedgate: %s\n", err);
    return 2;
  }
  return fg_dispatch(argc, argv);
}
