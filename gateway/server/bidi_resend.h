// bidi_resend.h: what this gateway wrote on a bidirectional inbound stream
// (XEP-0288) and its peer did not acknowledge (XEP-0198) when the stream
// ended: each stanza is delivered again, by the way delivery now picks (an
// outbound link, or another bidirectional stream), or bounced. As with
// links (docs/stream-management.md), a stanza the peer handled but had not
// acknowledged yet may arrive twice.
#ifndef FEDGATE_GATEWAY_SERVER_BIDI_RESEND_H
#define FEDGATE_GATEWAY_SERVER_BIDI_RESEND_H

#include "gateway/s2s/sm.h"
#include "gateway/server/server_internal.h"

// fg_bidi_resend delivers the stanzas |items| (oldest first; the tag of
// each says whether it is a bounce fedgate made) again on worker |w| and
// frees them. |stream_id| names the ended stream in the log.
void fg_bidi_resend(fg_server *srv, fg_worker *w, const char *stream_id, fg_sm_item *items);

#endif  // FEDGATE_GATEWAY_SERVER_BIDI_RESEND_H
