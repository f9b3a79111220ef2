// link_loss.h: telling the internal servers that a remote domain's link is
// lost. Behind a gateway the internal server never sees the remote side go
// away: its own s2s streams end at fedgate and stay up. When fedgate loses
// its link with remote domain R without a clean close (RFC 6120 §4.4) and
// XEP-0198 resumption does not recover it, every worker closes its hop
// streams of R with </stream:stream> after what they hold: the hop links
// fedgate opened as R to the internal servers, and the internal servers'
// own streams to R on the internal listener. The internal server then sees
// its session with R end, and its own recovery runs (XEP-0410 MUC
// self-ping, presence probes, a new stream for its next stanza).
// internal_hop.close_on_link_loss turns it off.
//
// links (gateway/server/link.c) and inbound streams (inbound.c) report
// through fg_server.link_lost, which server.c sets to fg_link_loss_report,
// so that neither calls into this module (no call circle).
#ifndef FEDGATE_GATEWAY_SERVER_LINK_LOSS_H
#define FEDGATE_GATEWAY_SERVER_LINK_LOSS_H

#include "gateway/server/server_internal.h"

// fg_link_loss_report is an fg_link_lost_fn: the link with |remote|
// (stream |stream_id|, may be "") ended without a clean close because of
// |why|. With |sm_id| "" the link is lost now: the loss is logged once,
// counted (remote_links_lost_total) and every worker closes its hop streams
// of |remote|. Otherwise |sm_id| names a resumable inbound stream
// (gateway/server/sm_registry.h): the loss is decided when its resume
// window has passed, and only if no new stream resumed it. Worker thread.
void fg_link_loss_report(fg_server *srv, fg_worker *w, const char *remote, const char *stream_id,
                         const char *sm_id, const char *why);

// fg_link_loss_shutdown forgets the resume windows |ws| still watches.
// Worker thread only, at shutdown.
void fg_link_loss_shutdown(worker_state *ws);

#endif  // FEDGATE_GATEWAY_SERVER_LINK_LOSS_H
