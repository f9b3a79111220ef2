// block_watch.h: applying block list changes to open streams. Each worker
// looks at the lists' generation on a short timer (kBlockWatchMs) and, only
// when it changed, scans its inbound streams and outbound links: streams
// from a domain now refused are closed with policy-violation, links to it
// are closed (what they held is bounced). A block thus reaches every open
// stream within one tick, and an unchanged list costs one load per tick.
#ifndef FEDGATE_GATEWAY_SERVER_BLOCK_WATCH_H
#define FEDGATE_GATEWAY_SERVER_BLOCK_WATCH_H

#include "gateway/server/server_internal.h"

// fg_block_watch_start arms the watch on every worker of |srv| (through
// cross-worker messages). It returns 1, 0 when out of memory.
int fg_block_watch_start(fg_server *srv);

#endif  // FEDGATE_GATEWAY_SERVER_BLOCK_WATCH_H
