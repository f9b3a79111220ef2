// link_flow.h: an input stream's flow control towards the outbound links
// it feeds (gateway/server/link_flow.c).
#ifndef FEDGATE_GATEWAY_LINK_FLOW_H
#define FEDGATE_GATEWAY_LINK_FLOW_H

#include <stdint.h>

#include "gateway/server/server_internal.h"

// fg_flow is an input stream's handle for flow control: when a stanza it
// delivered leaves its link fg_link_congested (output above the high-water mark;
// or a hop link, still connecting, with its queue half full), fg_deliver
// pauses reading |conn| and parks the flow on that link until the link
// drains, becomes ready or fails. The remote peer then meets TCP back-pressure instead of fedgate
// buffering without bound or dropping the link. Owned by the input stream;
// fg_flow_cancel before it goes away.
typedef struct fg_flow {
  fg_conn *conn;
  link *on;  // the link it waits for, or NULL
  struct fg_flow *prev, *next;
  // The link the stream's last stanza took, valid while the worker's link
  // index and the backends' health are as they were then (see fg_deliver).
  link *last;
  uint64_t last_links_epoch, last_health_epoch;
} fg_flow;

// fg_flow_cancel unparks |f| (the input stream is closing).
void fg_flow_cancel(fg_flow *f);

// fg_link_flow_wake resumes every input stream parked on |l| (the runtime
// delivers their held-back bytes from its loop, never from inside this
// call).
void fg_link_flow_wake(link *l);

// fg_link_congested says whether |l| should take no more from its inputs
// for now.
int fg_link_congested(const link *l);

// fg_link_flow_park pauses the input stream |f| (may be NULL) on |l| when
// |l| is congested.
void fg_link_flow_park(link *l, fg_flow *f);

#endif  // FEDGATE_GATEWAY_LINK_FLOW_H
