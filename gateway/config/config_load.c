// config_load.c: fg_config_load: the three passes in order (libyaml index
// and libcyaml schema in config_yaml.c, section checks in config_sections.c
// with the value parsers of config_values.c and config_files.c), diagnostics
// through config_diag.c.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/config/config.h"
#include "gateway/config/config_internal.h"

static char *dir_of(const char *path) {
  char *copy = strdup(path);
  if (copy == NULL) return NULL;
  char *slash = strrchr(copy, '/');
  if (slash == NULL) {
    free(copy);
    copy = strdup(".");
  } else if (slash == copy) {
    slash[1] = 0;
  } else {
    *slash = 0;
  }
  if (copy == NULL) return NULL;
  char *abs = realpath(copy, NULL);
  free(copy);
  return abs;
}

fg_config *fg_config_load(const char *path, fg_config_diag *diag) {
  fg_config_diag local;
  fg_config_diag_init(&local);
  config_ctx c = {path, diag != NULL ? diag : &local, {0}, NULL};
  unsigned errors_before = c.diag->errors;
  fg_config *cfg = calloc(1, sizeof(*cfg));
  raw_top *raw = NULL;
  if (cfg == NULL) goto fail;
  c.cfg = cfg;
  cfg->path = strdup(path);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    config_err_line(&c, 0, "cannot open: %s", strerror(errno));
    goto fail;
  }
  cfg->dir = dir_of(path);
  int indexed = config_index_file(&c, f);
  fclose(f);
  if (!indexed || cfg->path == NULL || cfg->dir == NULL) goto fail;

  if (!config_schema_load(&c, path, &raw)) goto fail;
  config_load_sections(&c, raw);
  config_schema_free(raw);
  raw = NULL;
  if (c.diag->errors != errors_before) goto fail;
  config_index_free(&c.idx);
  fg_config_diag_cleanup(&local);
  return cfg;
fail:
  config_schema_free(raw);
  config_index_free(&c.idx);
  fg_config_free(cfg);
  fg_config_diag_cleanup(&local);
  return NULL;
}
