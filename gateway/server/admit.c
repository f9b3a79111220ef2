// admit.c: abuse.limits.connections applied to new connections.
#include "gateway/server/admit.h"

#include <stdint.h>

#include "gateway/server/abuse_limits.h"
#include "gateway/server/log.h"
#include "gateway/server/metrics.h"
#include "io/addr_policy.h"
#include "io/timer.h"

int fg_admit_address(fg_server *srv, const struct sockaddr *peer, const char *where) {
  uint64_t now = fg_clock_ns();  // io/timer.h
  int first = 0;
  if (fg_abuse_limits_admit(srv->limits, peer, now, &first)) return 1;
  fg_metrics_inc(&srv->metrics, FG_M_LIMITED_CONNECTIONS);
  if (first) {
    char ip[64];
    fg_addr_text(peer, ip, sizeof(ip));
    fg_log(FG_LOG_SEV_WARN, NULL, ip,
           "connections refused %s: over abuse.limits.connections (%u per second); "
           "counted from here on",
           where, srv->boot_cfg->abuse.limits.connections);
  }
  return 0;
}

// At accept: before anything else is done for the socket.
int fg_admit_accepted(void *arg, int fd) {
  fg_server *srv = ((fg_listener_arg *)arg)->srv;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0) return 1;
  return fg_admit_address(srv, (const struct sockaddr *)&ss, "at accept");
}
