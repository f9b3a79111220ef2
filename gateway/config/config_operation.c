// config_operation.c: the keys about running the process rather than
// federating: log.format, log.file and shutdown.grace.
#include "gateway/config/config.h"
#include "gateway/config/config_internal.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// check_log_file reports a log file that could not be opened for appending:
// an existing file must be a writable regular file, a new one needs a
// writable directory.
static void check_log_file(config_ctx *c, const char *file) {
  struct stat st;
  if (stat(file, &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      config_err(c, "log.file", "not a regular file");
    } else if (access(file, W_OK) != 0) {
      config_err(c, "log.file", "cannot be written: %s", strerror(errno));
    }
    return;
  }
  char *copy = strdup(file);
  if (copy == NULL) return;
  const char *dir = dirname(copy);
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    config_err(c, "log.file", "directory %s does not exist", dir);
  } else if (access(dir, W_OK) != 0) {
    config_err(c, "log.file", "directory %s is not writable: %s", dir, strerror(errno));
  }
  free(copy);
}

void config_load_operation(config_ctx *c, const raw_top *t) {
  fg_config *cfg = c->cfg;
  cfg->log.format = FG_LOG_FORMAT_AUTO;
  const raw_log *rl = t->log;
  if (rl != NULL && rl->format != NULL) {
    static const char *const kFormats[] = {"auto", "text", "kv", "json"};
    int found = 0;
    for (int i = 0; i < 4; i++) {
      if (strcmp(rl->format, kFormats[i]) == 0) {
        cfg->log.format = (fg_log_format)i;
        found = 1;
      }
    }
    if (!found) config_err(c, "log.format", "expected text, kv, json or auto");
  }
  if (rl != NULL && rl->file != NULL) {
    if (rl->file[0] == 0) {
      config_err(c, "log.file", "expected a file path");
    } else {
      cfg->log.file = config_resolve_path(c, rl->file);
      if (cfg->log.file != NULL) check_log_file(c, cfg->log.file);
    }
  }
  uint64_t ms = 0;
  // At least a second (a drain must have time to say goodbye), at most an
  // hour (a service manager's stop timeout must stay above it).
  config_parse_duration(c, "shutdown.grace", t->shutdown ? t->shutdown->grace : NULL, 1000, 3600000,
                        30000, &ms);
  cfg->shutdown.grace_ms = (uint32_t)ms;
}
