// commands.c: the table of `fedgate` subcommands. Each entry's implementation
// lives in its own file (gateway/cmd_*.c).
#include <stddef.h>

#include "gateway/command.h"
#include "gateway/cmd.h"

const fg_command fg_commands[] = {
    {"probe", "", "report which io_uring and kernel TLS features this kernel offers", fg_cmd_probe},
    {"version", "", "print fedgate's version and the linked library versions", fg_cmd_version},
    {NULL, NULL, NULL, NULL},
};
