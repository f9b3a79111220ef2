// own_listeners.c: this gateway's own listening addresses, which outbound
// links must never connect to (gateway/server/own_listeners.h).
#include "gateway/server/own_listeners.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "io/addr_policy.h"

int fg_own_listeners_load(fg_server *srv) {
  struct ifaddrs *ifa = NULL;
  if (getifaddrs(&ifa) != 0) return 0;
  size_t n = 0;
  for (struct ifaddrs *i = ifa; i != NULL; i = i->ifa_next) {
    if (i->ifa_addr != NULL &&
        (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6)) {
      n++;
    }
  }
  srv->local_addrs = calloc(n ? n : 1, sizeof(struct sockaddr_storage));
  if (srv->local_addrs == NULL) {
    freeifaddrs(ifa);
    return 0;
  }
  for (struct ifaddrs *i = ifa; i != NULL; i = i->ifa_next) {
    if (i->ifa_addr == NULL) continue;
    size_t len = i->ifa_addr->sa_family == AF_INET    ? sizeof(struct sockaddr_in)
                 : i->ifa_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                      : 0;
    if (len == 0) continue;
    memcpy(&srv->local_addrs[srv->n_local_addrs++], i->ifa_addr, len);
  }
  freeifaddrs(ifa);
  return 1;
}

// is_local_ip: an address of this host (any loopback address counts).
static int is_local_ip(const fg_server *srv, const struct sockaddr *sa) {
  const char *kind = fg_addr_special_purpose(sa);
  if (kind != NULL && (strcmp(kind, "loopback") == 0 || strcmp(kind, "unspecified") == 0)) {
    return 1;
  }
  for (size_t i = 0; i < srv->n_local_addrs; i++) {
    if (fg_addr_same_ip((const struct sockaddr *)&srv->local_addrs[i], sa)) return 1;
  }
  return 0;
}

int fg_own_listener(const fg_server *srv, const struct sockaddr *sa) {
  uint16_t port = fg_addr_port(sa);
  for (int id = 0; id < FG_LISTENER_COUNT; id++) {
    const fg_config_listener *l = &srv->boot_cfg->listeners[id];
    if (!l->enabled) continue;
    if (port != l->port && (srv->ports[id] == 0 || port != srv->ports[id])) continue;
    struct sockaddr_in6 la = {0};
    struct sockaddr *lsa = (struct sockaddr *)&la;
    if (inet_pton(AF_INET6, l->address, &la.sin6_addr) == 1) {
      la.sin6_family = AF_INET6;
    } else if (inet_pton(AF_INET, l->address, &((struct sockaddr_in *)lsa)->sin_addr) == 1) {
      lsa->sa_family = AF_INET;
    } else {
      continue;
    }
    // A wildcard listener answers on every address of this host.
    if (fg_addr_is_unspecified(lsa) ? is_local_ip(srv, sa) : fg_addr_same_ip(lsa, sa)) return 1;
  }
  return 0;
}
