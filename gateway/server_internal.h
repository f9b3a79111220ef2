// server_internal.h: state shared by gateway/server.c, gateway/inbound.c and
// gateway/link.c. Not a public interface.
#ifndef FEDGATE_GATEWAY_SERVER_INTERNAL_H
#define FEDGATE_GATEWAY_SERVER_INTERNAL_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "crypto/chain.h"
#include "crypto/dialback_key.h"
#include "crypto/internal_ca.h"
#include "crypto/tls.h"
#include "crypto/tls_sni.h"
#include "gateway/config.h"
#include "gateway/metrics.h"
#include "gateway/router.h"
#include "gateway/s2s_in.h"
#include "gateway/s2s_out.h"
#include "gateway/server.h"
#include "io/conn.h"
#include "io/worker.h"

typedef struct in_conn in_conn;
typedef struct link link;

// resolved_target is one address to connect to: a backend, a pinned
// (dns.static) target, or a candidate from DNS.
typedef struct resolved_target {
  struct sockaddr_storage addr;
  socklen_t addr_len;
  int direct_tls;  // XEP-0368 _xmpps-server: TLS from the first byte
  char name[300];  // host:port, for logs
} resolved_target;

// static_route pins a remote domain to targets (config dns.static).
typedef struct static_route {
  char domain[FG_DOMAIN_MAX + 1];
  resolved_target *targets;
  size_t n_targets;
} static_route;

// worker_state is what one worker owns: its inbound streams and outbound
// links. Touched only by that worker's thread.
// unreachable remembers a remote domain whose last link failed, so that a
// dead domain costs neither a lookup nor a connect per stanza until its
// retry time (RFC 6120 §3.3: exponential backoff with jitter).
typedef struct unreachable {
  struct unreachable *next;
  char domain[FG_DOMAIN_MAX + 1];
  uint64_t retry_at_ns;
  unsigned failures;
  fg_stanza_condition condition;  // what stanzas get until the retry time
} unreachable;

// FG_LINK_BUCKETS sizes each worker's index of outbound links.
#define FG_LINK_BUCKETS 4096

typedef struct worker_state {
  in_conn *streams;  // doubly linked list of live inbound streams
  // Outbound links (hop, remote, verify), hashed by (kind, local, remote):
  // a stanza finds its link without scanning the others.
  link *links[FG_LINK_BUCKETS];
  unreachable *unreachable;
  size_t n_unreachable;
  size_t queued_bytes;           // held by this worker's links until they are ready
  uint64_t links_epoch;          // bumped whenever a link leaves the index or is freed
  struct fg_xml_writer *writer;  // reused to re-serialise non-canonical stanzas
} worker_state;

#define FG_PER_IP_SLOTS 4096

// fg_listener_arg is the argument of every connection a listener accepts,
// until on_open replaces it with the session.
typedef struct fg_listener_arg {
  uint32_t magic;  // 0: never a session
  fg_server *srv;
} fg_listener_arg;

struct fg_server {
  fg_config *cfg;
  fg_router *router;
  fg_trust_store *trust;           // remote servers
  fg_trust_store *trust_internal;  // internal servers: trust store + internal CA
  CRYPTO_BUFFER_POOL *pool;
  fg_tls_sni *sni;
  fg_tls_ctx *tls_starttls;         // server: STARTTLS on s2s and internal
  fg_tls_ctx *tls_direct;           // server: direct TLS (XEP-0368)
  fg_tls_ctx *tls_client;           // client: hop links (the backend's certificate must be valid)
  fg_tls_ctx *tls_client_dialback;  // client: remote and verify links (dialback may follow)
  fg_tls_ctx *tls_client_direct;    // client: direct TLS to _xmpps-server targets
  fg_internal_ca *ica;
  struct fg_dns *dns;  // outbound resolution (io/dns.h)
  fg_dialback_secret db_secret;
  int have_db_secret;
  fg_runtime *rt;
  worker_state *workers;
  unsigned num_workers;
  resolved_target **backend_targets;  // [backend][address]
  static_route *static_routes;
  size_t n_static_routes;
  struct sockaddr_storage *local_addrs;  // this host's interface addresses
  size_t n_local_addrs;
  fg_stream_tag stream_tag;  // starts every stream id issued (loop detection)
  uint16_t ports[FG_LISTENER_COUNT];
  fg_listener_arg listener_arg;
  _Atomic uint32_t per_ip[FG_PER_IP_SLOTS];
  fg_metrics metrics;
  int stopped;
  _Atomic unsigned shutdown_pending;  // workers that have not closed their streams yet
  _Atomic int stopping;               // no new links from here on
};

// --- admin.c ---
extern const fg_conn_handler fg_admin_handler;

// fg_text is a growable text buffer for admin answers.
typedef struct fg_text {
  char *data;
  size_t len, cap;
} fg_text;

// fg_text_printf appends to |t| (silently truncating when out of memory).
void fg_text_printf(fg_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// --- inbound.c ---
extern const fg_conn_handler fg_inbound_handler_s2s;
extern const fg_conn_handler fg_inbound_handler_s2s_tls;
extern const fg_conn_handler fg_inbound_handler_internal;

// fg_inbound_find returns the live inbound stream of worker |ws| whose
// stream id is |stream_id|, or NULL.
in_conn *fg_inbound_find(worker_state *ws, const char *stream_id);

// fg_inbound_describe appends one line per live inbound stream of |ws|.
void fg_inbound_describe(worker_state *ws, unsigned worker, fg_text *out);

// fg_inbound_shutdown ends every inbound stream of |ws| with the stream
// error system-shutdown. Worker thread only.
void fg_inbound_shutdown(worker_state *ws);

// fg_inbound_dialback_answer hands a verification answer to |ic|.
void fg_inbound_dialback_answer(in_conn *ic, const char *originating, const char *receiving,
                                int valid);

// --- link.c ---

typedef enum link_kind {
  LINK_HOP = 0,  // to a backend, as an authenticated remote domain
  LINK_REMOTE,   // to a remote server, as a hosted domain (bounces)
  LINK_VERIFY,   // to an authoritative server, for db:verify questions
} link_kind;

// fg_flow is an input stream's handle for flow control: when a stanza it
// delivered leaves its link congested (output above the high-water mark;
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

// fg_link_describe appends one line per outbound link of |ws|.
void fg_link_describe(worker_state *ws, unsigned worker, fg_text *out);

// fg_link_shutdown closes every outbound link of |ws| (</stream:stream>).
// Worker thread only.
void fg_link_shutdown(worker_state *ws);

// fg_link_resolved hands the candidates found for |l|'s remote domain (or a
// failure when |n| is 0, with |condition|) to the link. Worker thread only.
void fg_link_resolved(link *l, const resolved_target *candidates, size_t n,
                      fg_stanza_condition condition, const char *why);

// fg_link_verify asks the authoritative server of |originating| about |key|;
// the answer goes to the inbound stream with id |stream_id| on worker |w|.
// It returns 1 when the question is on its way.
int fg_link_verify(fg_server *srv, fg_worker *w, const char *receiving, const char *originating,
                   const char *stream_id, const uint8_t *key, size_t key_len);

// fg_deliver sends a stanza from |from_domain| to |to_domain|: to a hosted
// domain over the hop to its backend, to any other domain over an outbound
// link (resolved, secured, authenticated, with queueing and bounces). |flow|
// identifies the input stream (its stanzas always take the same link, which
// keeps their order when limits.streams_per_pair > 1). |is_bounce| marks an
// error stanza fedgate generated: counted apart and never bounced. It returns
// FG_STANZA_CONDITION_COUNT when accepted, or the condition to bounce it with.
// |in| (may be NULL) is the input stream's flow-control handle.
fg_stanza_condition fg_deliver(fg_server *srv, fg_worker *w, const char *from_domain,
                               const char *to_domain, uint64_t flow, int is_bounce,
                               const uint8_t *data, size_t len, fg_flow *in);

// fg_link_bounce delivers an error stanza (never bounced itself).
void fg_link_bounce(fg_server *srv, fg_worker *w, const char *from_domain, const char *to_domain,
                    const uint8_t *data, size_t len);

// fg_server_backend_target picks the backend address for hosted |domain|
// (router, rendezvous hashing over healthy addresses), or NULL.
const resolved_target *fg_server_backend_target(fg_server *srv, const char *domain, size_t *backend,
                                                size_t *address);

// fg_server_static_route returns the pinned targets of |domain|, or NULL.
const static_route *fg_server_static_route(const fg_server *srv, const char *domain);

// fg_server_worker_state returns the state of |w|.
worker_state *fg_server_worker_state(fg_server *srv, fg_worker *w);

#endif  // FEDGATE_GATEWAY_SERVER_INTERNAL_H
