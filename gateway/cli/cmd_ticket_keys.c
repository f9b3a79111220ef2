// cmd_ticket_keys.c: `fedgate ticket-keys new FILE` writes a key file with one
// fresh key; `fedgate ticket-keys rotate FILE [--keep N]` adds a fresh newest
// key and retires the oldest beyond N (default 3). Both replace the file
// atomically with mode 0600 (crypto/ticket_key_file.h); running gateways
// that name it in tls.ticket_key_file re-read it by themselves.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ticket_key_file.h"
#include "gateway/cli/cmd.h"
#include "gateway/cli/command.h"

static const char kName[] = "ticket-keys";

// parse_keep reads --keep's value: 1 to FG_TICKET_KEYS_MAX.
static int parse_keep(const char *v, size_t *out) {
  char *end = NULL;
  unsigned long n = strtoul(v, &end, 10);
  if (v[0] < '0' || v[0] > '9' || *end != 0 || n < 1 || n > FG_TICKET_KEYS_MAX) return 0;
  *out = n;
  return 1;
}

int fg_cmd_ticket_keys(int argc, char **argv) {
  if (argc < 2) return fg_usage_error(kName, "missing 'new' or 'rotate'");
  int rotate = strcmp(argv[1], "rotate") == 0;
  if (!rotate && strcmp(argv[1], "new") != 0) {
    return fg_usage_error(kName, "unknown operation '%s' (new or rotate)", argv[1]);
  }
  const char *file = NULL;
  size_t keep = FG_TICKET_KEYS_KEEP;
  for (int i = 2; i < argc; i++) {
    if (rotate && strcmp(argv[i], "--keep") == 0) {
      if (i + 1 >= argc) return fg_usage_error(kName, "--keep needs a number");
      if (!parse_keep(argv[++i], &keep)) {
        return fg_usage_error(kName, "--keep '%s': a number from 1 to %d", argv[i],
                              FG_TICKET_KEYS_MAX);
      }
    } else if (argv[i][0] == '-' && argv[i][1] != 0) {
      return fg_usage_error(kName, "unknown option '%s'", argv[i]);
    } else if (file == NULL) {
      file = argv[i];
    } else {
      return fg_usage_error(kName, "unexpected argument '%s'", argv[i]);
    }
  }
  if (file == NULL) return fg_usage_error(kName, "missing FILE");
  char err[512];
  int ok = rotate ? fg_ticket_keys_file_rotate(file, keep, err, sizeof(err))
                  : fg_ticket_keys_file_new(file, err, sizeof(err));
  if (!ok) {
    fprintf(stderr, "fedgate ticket-keys %s: %s\n", argv[1], err);
    return 1;
  }
  fg_ticket_key keys[FG_TICKET_KEYS_MAX];
  size_t n = 0;
  if (!fg_ticket_keys_read_file(file, keys, FG_TICKET_KEYS_MAX, &n, err, sizeof(err))) {
    fprintf(stderr, "fedgate ticket-keys %s: written, but: %s\n", argv[1], err);
    return 1;
  }
  printf("%s: %zu key%s; the newest (name %02x%02x%02x%02x...) encrypts new tickets\n", file, n,
         n == 1 ? "" : "s", keys[n - 1].name[0], keys[n - 1].name[1], keys[n - 1].name[2],
         keys[n - 1].name[3]);
  memset(keys, 0, sizeof(keys));
  return 0;
}
