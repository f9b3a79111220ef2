// command.c: finds and runs a `fedgate` subcommand.
#include "gateway/cli/command.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const fg_command *find_command(const char *name) {
  for (const fg_command *c = fg_commands; c->name != NULL; c++) {
    if (strcmp(c->name, name) == 0) return c;
  }
  return NULL;
}

static void print_help(FILE *out) {
  fprintf(out,
          "fedgate: XMPP server-to-server federation gateway\n"
          "\n"
          "usage: fedgate [--help] [--version] COMMAND [ARGS...]\n"
          "\n"
          "commands:\n");
  for (const fg_command *c = fg_commands; c->name != NULL; c++) {
    fprintf(out, "  %-13s %s\n", c->name, c->summary);
  }
  fprintf(out, "\n'fedgate COMMAND --help' shows a command's arguments.\n");
}

int fg_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "fedgate %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  const fg_command *c = find_command(cmd);
  if (c != NULL) fprintf(stderr, "usage: fedgate %s %s\n", c->name, c->usage);
  return 2;
}

int fg_dispatch(int argc, char **argv) {
  if (argc < 2) {
    print_help(stderr);
    return 2;
  }
  const char *word = argv[1];
  if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0 || strcmp(word, "help") == 0) {
    print_help(stdout);
    return 0;
  }
  if (strcmp(word, "--version") == 0) word = "version";
  if (word[0] == '-') {
    fprintf(stderr, "fedgate: unknown option '%s' (try 'fedgate --help')\n", word);
    return 2;
  }
  const fg_command *c = find_command(word);
  if (c == NULL) {
    fprintf(stderr, "fedgate: unknown command '%s' (try 'fedgate --help')\n", word);
    return 2;
  }
  // A subcommand's own --help is answered here so that every command has it.
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: fedgate %s %s\n%s\n", c->name, c->usage, c->summary);
      return 0;
    }
    if (strcmp(argv[i], "--") == 0) break;
  }
  return c->run(argc - 1, argv + 1);
}
