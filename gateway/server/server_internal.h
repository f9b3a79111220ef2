// server_internal.h: the running gateway's state (fg_server, per-worker
// state, targets) and its accessors (gateway/server/server_state.c), shared by the
// files of the running server. Not a public interface: each module's
// functions are in its own header (admin.h, inbound.h, link.h, resolve.h).
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
#include "gateway/config/config.h"
#include "gateway/server/metrics.h"
#include "gateway/server/router.h"
#include "gateway/s2s/s2s_in.h"
#include "gateway/s2s/s2s_out.h"
#include "gateway/server/server.h"
#include "gateway/server/snapshot.h"
#include "io/conn.h"
#include "io/dnssec.h"
#include "io/worker.h"

typedef struct in_conn in_conn;
typedef struct link link;
typedef struct worker_state worker_state;

// fg_dialback_answer_fn hands the authoritative server's answer about a key
// to the inbound stream of worker |ws| whose id is |stream_id|, if it still
// exists (gateway/server/inbound.h implements it; outbound links call it through
// fg_server.answer_dialback, set when the server is assembled).
typedef void (*fg_dialback_answer_fn)(worker_state *ws, const char *stream_id,
                                      const char *originating, const char *receiving, int valid);

// fg_reverse_ops hands the stanzas a remote server sends back on an
// outbound link it made bidirectional (XEP-0288) to the inbound side's
// checks and routing (gateway/server/inbound.h implements them), so that
// link.c never calls into inbound.c. |open| returns the state such stanzas
// share while |conn| lives (NULL when out of memory), judged as on the
// internal listener when |internal| (a hop link, whose peer is a backend),
// else as on the public ones; |route| judges and
// delivers or bounces one, returning NULL or the RFC 6120 stream error
// condition that must end the link; |close| frees the state.
typedef struct fg_reverse_ops {
  in_conn *(*open)(fg_server *srv, fg_conn *conn, const char *stream_id, int internal);
  // header tells the checks of the link's peer's stream header number
  // |headers|: its namespace context |ctx| (|n| declarations) and xml:lang
  // |lang|, before each stanza routed (fg_inbound_stanza_header).
  void (*header)(in_conn *ic, uint32_t headers, const fg_xml_nsdecl *ctx, size_t n,
                 fg_xml_str lang);
  const char *(*route)(in_conn *ic, const fg_xml_element *el, const char *from_domain,
                       const char *to_domain);
  void (*close)(in_conn *ic);
} fg_reverse_ops;
// fg_link_lost_fn reports that the link with remote domain |remote| ended
// without a clean close (gateway/server/link_loss.h implements it; links
// and inbound streams call it through fg_server.link_lost).
typedef void (*fg_link_lost_fn)(fg_server *srv, fg_worker *w, const char *remote,
                                const char *stream_id, const char *sm_id, const char *why);

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

struct worker_state {
  in_conn *streams;  // doubly linked list of live inbound streams
  // Outbound links (hop, remote, verify), hashed by (kind, local, remote):
  // a stanza finds its link without scanning the others.
  link *links[FG_LINK_BUCKETS];
  // Inbound streams made bidirectional by their peers, by remote domain
  // (gateway/server/bidi_streams.h); NULL while there are none.
  struct fg_bidi_streams *bidi;
  unreachable *unreachable;
  size_t n_unreachable;
  size_t queued_bytes;           // held by this worker's links until they are ready
  uint64_t links_epoch;          // bumped whenever a link leaves the index or is freed
  size_t live_links;             // links not freed yet, indexed or not (drain)
  fg_timer drain_tick;           // while draining: closes what became idle
  _Atomic size_t drain_left;     // streams and links left (read by the draining thread)
  struct fg_xml_writer *writer;  // reused to re-serialise non-canonical stanzas
  struct abuse_report *reports;  // waiting for their domain's abuse address (abuse_reports.h)
  uint64_t report_seq;
  // Looks for block list changes (gateway/server/block_watch.h): the lists'
  // generation this worker's streams and links were last checked at.
  struct {
    fg_timer tick;
    uint64_t generation;
    fg_server *srv;
    fg_worker *w;
  } block_watch;
  // Dropped resumable inbound streams whose resume window is awaited
  // before their loss is told to the internal servers (link_loss.h).
  struct fg_loss_watch *loss_watches;
  // Parked bidirectional streams keeping what they wrote back
  // unacknowledged, until their resume window passes (bidi_park.h).
  struct fg_bidi_park_watch *bidi_parks;
  // The configuration snapshot this worker decides with (a reference),
  // replaced only between two events of its loop (gateway/server/reload.c).
  fg_snapshot *snap;
};

// fg_listener_arg is the argument of every connection a listener accepts,
// until on_open replaces it with the session.
typedef struct fg_listener_arg {
  uint32_t magic;  // 0: never a session
  fg_server *srv;
} fg_listener_arg;

struct fg_server {
  // The configuration the gateway started with: what only a restart changes
  // (listeners, workers, DNS resolver, revocation engine, stapling) is
  // read from here; everything that reloads is in the snapshots.
  fg_config *boot_cfg;
  // The snapshot published last (the server's own reference). Workers use
  // their worker_state.snap; other threads only the reload writer's.
  _Atomic(fg_snapshot *) snap;
  struct fg_reload_state *reload;  // serialised reloads, overlay, status
  CRYPTO_BUFFER_POOL *pool;
  fg_tls_ctx *tls_starttls;         // server: STARTTLS on s2s and internal
  fg_tls_ctx *tls_direct;           // server: direct TLS (XEP-0368)
  fg_tls_ctx *tls_client;           // client: hop links (the backend's certificate must be valid)
  fg_tls_ctx *tls_client_dialback;  // client: remote and verify links (dialback may follow)
  fg_tls_ctx *tls_client_direct;    // client: direct TLS to _xmpps-server targets
  struct fg_dns *dns;               // outbound resolution (io/dns.h)
  fg_runtime *rt;
  worker_state *workers;
  unsigned num_workers;
  struct sockaddr_storage *local_addrs;  // this host's interface addresses
  size_t n_local_addrs;
  fg_stream_tag stream_tag;               // starts every stream id issued (loop detection)
  fg_dialback_answer_fn answer_dialback;  // links -> inbound streams
  const fg_reverse_ops *reverse;          // links -> inbound checks (XEP-0288)
  fg_link_lost_fn link_lost;              // links, inbound streams -> link_loss.c (or NULL)
  struct fg_revocation *revocation;       // the engine; the snapshot's mode says when it checks
  struct fg_responders *responders;       // revocation.responders, loaded once
  struct fg_stapler *stapler;             // our certificates and their OCSP staples
  struct fg_cert_expiry *expiry;          // daily expiry warnings (from fg_server_start)
  struct fg_ticket_watch *tickets;        // tls.ticket_key_file (NULL: per-process keys)
  struct fg_posh_auth *posh;              // NULL: tls.posh off (gateway/server/posh_auth.h)
  fg_snapshot *posh_snap;                 // a reference: the trust store POSH checks HTTPS with
  // trust_generation changes whenever a trust store is replaced: cached
  // certificate verdicts (verdict_cache.h) no longer match, and outbound TLS
  // sessions verified before are not offered again (crypto/tls.h
  // verify_scope). Whoever replaces a trust store increments it.
  _Atomic uint32_t trust_generation;
  uint16_t ports[FG_LISTENER_COUNT];
  fg_listener_arg listener_arg;
  struct fg_ip_limits *ip_limits;  // limits.streams_per_ip
  struct fg_blocks *blocks;        // block and allow lists (gateway/server/blocks.h)
  struct fg_abuse_limits *limits;  // abuse.limits, or NULL when all off
  struct fg_rtbl *rtbl;            // abuse.rtbl subscriptions, or NULL (gateway/server/rtbl.h)
  // take_own_bounce takes an error stanza fedgate generated for a request
  // of its own (an RTBL request), so that it never reaches a backend;
  // returns 1 when taken. NULL: none. Set when the server is assembled.
  int (*take_own_bounce)(fg_server *srv, const uint8_t *data, size_t len);
  struct fg_sm_registry *sm_registry;  // resumable inbound streams (NULL: none)
  fg_metrics metrics;
  int stopped;
  _Atomic unsigned shutdown_pending;  // workers that have not closed their streams yet
  _Atomic int stopping;               // no new links from here on
  _Atomic unsigned admin_threads;     // admin reload threads not finished yet
  _Atomic int draining;               // SIGTERM: /ready says 503, idle streams are closed
};

// fg_server_snapshot returns the snapshot the calling thread decides with:
// its worker's on a worker thread of |srv|, else the published one (the
// reload writer and start-up only). The caller must not keep it past the
// current event without a reference.
fg_snapshot *fg_server_snapshot(const fg_server *srv);

// fg_server_worker_state returns the state of |w|.
worker_state *fg_server_worker_state(fg_server *srv, fg_worker *w);

#endif  // FEDGATE_GATEWAY_SERVER_INTERNAL_H
