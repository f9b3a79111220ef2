// main.c: the `fedgate` binary. Everything happens in a subcommand.
#include "gateway/cli/command.h"

int main(int argc, char **argv) {
  return fg_dispatch(argc, argv);
}
