// link_hop_failover.h: another address of the backend for a hop link whose
// connection failed (gateway/server/link_hop_failover.c).
#ifndef FEDGATE_GATEWAY_LINK_HOP_FAILOVER_H
#define FEDGATE_GATEWAY_LINK_HOP_FAILOVER_H

#include "gateway/server/link_types.h"

// fg_link_hop_failover marks the failed backend address of hop link |l|
// down for 10 s (unless it is marked down already; a hop link that becomes
// ready marks its address up at once) and adds the address the router picks now, if any, to its
// candidates. Worker thread only.
void fg_link_hop_failover(link *l);

#endif  // FEDGATE_GATEWAY_LINK_HOP_FAILOVER_H
