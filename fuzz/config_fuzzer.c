// config_fuzzer.c: feeds arbitrary bytes to the configuration loader (libyaml
// index pass, libcyaml schema pass, semantic checks) through an in-memory
// file, then builds a router from any configuration that loads.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gateway/config/config.h"
#include "gateway/server/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 16) return 0;
  int fd = memfd_create("fedgate-config", 0);
  if (fd < 0) return 0;
  if (write(fd, data, size) != (ssize_t)size) {
    close(fd);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  fg_config_diag diag;
  fg_config_diag_init(&diag);
  fg_config *cfg = fg_config_load(path, &diag);
  if (cfg != NULL) {
    fg_router *r = fg_router_new(cfg);
    fg_route rt;
    for (size_t i = 0; r != NULL && i < cfg->n_domains; i++) {
      fg_router_route(r, cfg->domains[i].name, strlen(cfg->domains[i].name), &rt);
      fg_router_route(r, "a.b.example.com", 15, &rt);
    }
    fg_router_free(r);
    fg_config_free(cfg);
  }
  fg_config_diag_cleanup(&diag);
  close(fd);
  return 0;
}
