// command.h: the `fedgate` subcommand table and its dispatcher.
#ifndef FEDGATE_GATEWAY_COMMAND_H
#define FEDGATE_GATEWAY_COMMAND_H

// fg_command is one subcommand of the `fedgate` binary. |run| receives the
// arguments after the subcommand name (argv[0] is the subcommand name) and
// returns the process exit status: 0 success, 1 a negative verdict or runtime
// failure, 2 a usage error.
typedef struct fg_command {
  const char *name;
  const char *usage;    // one line: arguments after the name
  const char *summary;  // one line: what it does
  int (*run)(int argc, char **argv);
} fg_command;

// fg_commands is the table of subcommands, terminated by an entry whose name
// is NULL. It lives in gateway/cli/commands.c.
extern const fg_command fg_commands[];

// fg_dispatch runs the subcommand named by argv[1] (or handles --help and
// --version) and returns the exit status. Unknown subcommands and flags print
// a message naming the offending word to stderr and return 2.
int fg_dispatch(int argc, char **argv);

// fg_usage_error prints "fedgate CMD: MESSAGE" and the command's usage line to
// stderr and returns 2, for subcommands to report bad arguments uniformly.
int fg_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif  // FEDGATE_GATEWAY_COMMAND_H
