// cmd_check_config.c: `fedgate check-config FILE` validates a configuration
// file without starting anything.
#include <stdio.h>
#include <string.h>

#include "gateway/cli/cmd.h"
#include "gateway/cli/command.h"
#include "gateway/config/config.h"

int fg_cmd_check_config(int argc, char **argv) {
  if (argc < 2) return fg_usage_error("check-config", "missing FILE");
  if (argc > 2) return fg_usage_error("check-config", "unexpected argument '%s'", argv[2]);
  if (argv[1][0] == '-' && argv[1][1] != 0) {
    return fg_usage_error("check-config", "unknown option '%s'", argv[1]);
  }
  fg_config_diag diag;
  fg_config_diag_init(&diag);
  fg_config *cfg = fg_config_load(argv[1], &diag);
  if (diag.text != NULL) fputs(diag.text, stderr);
  if (cfg == NULL) {
    fprintf(stderr, "config invalid: %u error%s\n", diag.errors, diag.errors == 1 ? "" : "s");
    fg_config_diag_cleanup(&diag);
    return 1;
  }
  printf("config ok: %zu domain%s, %zu backend%s, listeners", cfg->n_domains,
         cfg->n_domains == 1 ? "" : "s", cfg->n_backends, cfg->n_backends == 1 ? "" : "s");
  for (int i = 0; i < FG_LISTENER_COUNT; i++) {
    const fg_config_listener *l = &cfg->listeners[i];
    int v6 = strchr(l->address, ':') != NULL;
    if (l->enabled) {
      printf("%s %s %s%s%s:%u", i ? "," : "", fg_config_listener_name((fg_listener_id)i),
             v6 ? "[" : "", l->address, v6 ? "]" : "", l->port);
      if (l->n_proxy_trusted > 0) {
        printf(" (PROXY protocol from %zu network%s)", l->n_proxy_trusted,
               l->n_proxy_trusted == 1 ? "" : "s");
      }
    } else {
      printf("%s %s off", i ? "," : "", fg_config_listener_name((fg_listener_id)i));
    }
  }
  printf("; internal hop %s%s", fg_config_hop_mode_name(cfg->internal_hop.mode),
         cfg->internal_hop.plaintext ? " (plaintext)" : "");
  // Backends whose hop_mode differs from the instance-wide one.
  for (size_t b = 0; b < cfg->n_backends; b++) {
    if (cfg->backends[b].hop_mode == cfg->internal_hop.mode) continue;
    printf(", backend %s %s", cfg->backends[b].name,
           fg_config_hop_mode_name(cfg->backends[b].hop_mode));
  }
  printf("\n");
  fg_config_free(cfg);
  fg_config_diag_cleanup(&diag);
  return 0;
}
