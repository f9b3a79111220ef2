// snapshot.h: the running configuration and everything derived from it
// (routing table, certificates and the SNI table, trust stores, internal CA,
// backend and pinned addresses, dialback secret), built and checked
// completely before it is published, then never modified.
//
// The server publishes one snapshot at a time (fg_server.snap); each worker
// holds a reference to the one it uses (worker_state.snap), swapped only
// between two events of its loop, so a worker reads its snapshot with plain
// loads and no lock. Streams and links keep a reference to the snapshot they
// were opened under (their dialback secret, pinned address and router live
// there). A snapshot is freed by the last fg_snapshot_release.
#ifndef FEDGATE_GATEWAY_SERVER_SNAPSHOT_H
#define FEDGATE_GATEWAY_SERVER_SNAPSHOT_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/chain.h"
#include "crypto/dialback_key.h"
#include "crypto/internal_ca.h"
#include "crypto/tls_sni.h"
#include "gateway/config/config.h"
#include "gateway/s2s/jid.h"
#include "gateway/server/router.h"
#include "io/dnssec.h"

struct fg_server;

// resolved_target is one address to connect to: a backend, a pinned
// (dns.static) target, or a candidate from DNS.
typedef struct resolved_target {
  struct sockaddr_storage addr;
  socklen_t addr_len;
  int direct_tls;  // XEP-0368 _xmpps-server: TLS from the first byte
  char name[300];  // host:port, for logs
  // From DNS only: the SRV target's name (a DANE-TA reference identity,
  // RFC 7673 §4.2), the DNSSEC status of the SRV and address answers, and
  // the index of its TLSA answer among those handed with it (-1: none).
  char host[FG_DOMAIN_MAX + 1];
  fg_dnssec srv_dnssec, addr_dnssec;
  int tlsa;
} resolved_target;

// static_route pins a remote domain to targets (config dns.static).
typedef struct static_route {
  char domain[FG_DOMAIN_MAX + 1];
  resolved_target *targets;
  size_t n_targets;
} static_route;

typedef struct fg_snapshot {
  _Atomic unsigned refs;
  uint64_t generation;  // 1 for the configuration the gateway started with
  fg_config *cfg;
  fg_router *router;
  fg_trust_store *trust;           // remote servers
  fg_trust_store *trust_internal;  // internal servers: trust store + internal CA
  fg_tls_sni *sni;                 // our certificates by server name
  fg_internal_ca *ica;             // NULL unless internal_hop.mode is internal-ca
  fg_dialback_secret db_secret;
  int have_db_secret;
  resolved_target **backend_targets;  // [backend][address]
  static_route *static_routes;
  size_t n_static_routes;
} fg_snapshot;

// fg_snapshot_cert_fn is told of each certificate the snapshot presents
// (|name| NULL: tls.default_cert), e.g. to staple it.
typedef void (*fg_snapshot_cert_fn)(void *arg, fg_tls_cert *c, const char *name);

// fg_snapshot_build builds the snapshot of |cfg| (ownership passes to it,
// also on failure) for |srv|: certificates read and matched to their keys,
// trust stores, internal CA, routing table, backend and pinned addresses
// resolved. |on_cert| (may be NULL) is called for each certificate. It
// returns the snapshot with one reference, or NULL with the file or setting
// at fault in |err|.
fg_snapshot *fg_snapshot_build(struct fg_server *srv, fg_config *cfg, uint64_t generation,
                               fg_snapshot_cert_fn on_cert, void *arg, char *err, size_t err_len);

// fg_snapshot_up_ref adds a reference to |s| and returns it.
fg_snapshot *fg_snapshot_up_ref(fg_snapshot *s);

// fg_snapshot_release drops a reference; the last one frees |s|. NULL is a
// no-op.
void fg_snapshot_release(fg_snapshot *s);

// fg_snapshot_static_route returns the pinned targets of |domain|, or NULL.
const static_route *fg_snapshot_static_route(const fg_snapshot *s, const char *domain);

// fg_snapshot_backend_target picks the address of the backend serving hosted
// |domain| (router: rendezvous hashing over healthy addresses), or NULL.
const resolved_target *fg_snapshot_backend_target(const fg_snapshot *s, const char *domain,
                                                  size_t *backend, size_t *address);

// fg_snapshot_copy_drains drains in |to| each backend address (by backend
// name and host:port) that |from| has drained, and undrains the others: the
// operator's drains outlive a reload.
void fg_snapshot_copy_drains(fg_router *to, const fg_router *from);

// fg_snapshot_is_plaintext_peer says whether tls.plaintext_peers names |peer|.
int fg_snapshot_is_plaintext_peer(const fg_snapshot *s, const char *peer);

#endif  // FEDGATE_GATEWAY_SERVER_SNAPSHOT_H
