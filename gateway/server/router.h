// router.h: hosted domain -> backend -> backend address.
//
// The table is built once from a configuration snapshot and never changes;
// lookups are lock-free and allocation-free and may run on every worker at
// once. Only the health flag of each backend address changes (an atomic,
// set by fg_router_mark_down/up from whichever worker notices).
//
// Domain lookup (fg_router_lookup): ASCII case-insensitive, one trailing dot
// ignored. An exact entry wins; otherwise the wildcard entry `*.SUFFIX` with
// the longest SUFFIX that the name ends with (".SUFFIX", at any depth) wins.
// Names are stored in A-labels; the canonical U-label spelling of an IDN entry
// is indexed as well, so a 'to' in either form is found. Other non-ASCII
// spellings must be converted to A-labels by the caller (libidn2) first.
//
// Address choice (fg_router_route): rendezvous (highest random weight)
// hashing. Each healthy address scores XXH3-64(domain, seed = XXH3-64 of
// "host:port"); the highest score wins. A domain therefore keeps its address
// while that address is up; when it goes down, only the domains it served move
// (spread over the others), and they come back when it is marked up again.
//
// Order: the router keeps no queue. Stanza order is a property of the caller:
// a worker forwards the stanzas of one input stream in arrival order onto the
// one output stream chosen for each (input stream, backend address); stanzas
// of one input stream to one domain all pick the same address while its health
// does not change. After a failover, stanzas already queued on the failed
// connection are bounced, so a later stanza may overtake an earlier one only
// when the earlier one is answered with an error.
#ifndef FEDGATE_GATEWAY_ROUTER_H
#define FEDGATE_GATEWAY_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/config/config.h"

typedef struct fg_router fg_router;

// fg_router_new builds the routing table for the hosted domains and backends
// of |cfg|. The router copies what it needs: |cfg| may be freed afterwards.
// All addresses start healthy. It returns NULL on allocation failure or when
// |cfg| holds a domain longer than 253 bytes or an unknown backend index.
fg_router *fg_router_new(const fg_config *cfg);

// fg_router_free releases |r|. NULL is a no-op.
void fg_router_free(fg_router *r);

// fg_router_lookup finds the hosted domain entry for the |len| bytes at
// |domain|. It returns 1 and sets |*backend| (an index into the config's
// backends), or 0 when the domain is not hosted.
int fg_router_lookup(const fg_router *r, const char *domain, size_t len, size_t *backend);

typedef enum fg_route_result {
  FG_ROUTE_OK = 0,        // |out| names a healthy address
  FG_ROUTE_NOT_HOSTED,    // RFC 6120 §4.9.3.6 host-unknown / stanza error
  FG_ROUTE_BACKEND_DOWN,  // every address of the backend is marked down
  FG_ROUTE_DRAINED,       // every address of the backend is drained by the operator
} fg_route_result;

typedef struct fg_route {
  size_t backend;  // index into the config's backends
  size_t address;  // index into that backend's addresses
  const char *backend_name;
  const char *host;  // owned by the router
  uint16_t port;
} fg_route;

// fg_router_route looks up |domain| and picks the backend address for it
// among the addresses that are up and not drained. On FG_ROUTE_BACKEND_DOWN
// and FG_ROUTE_DRAINED |out->backend| is set and the address fields are not.
fg_route_result fg_router_route(const fg_router *r, const char *domain, size_t len, fg_route *out);

// fg_router_mark_down and fg_router_mark_up set the health of one address.
// They return 1, or 0 for an index out of range.
int fg_router_mark_down(fg_router *r, size_t backend, size_t address);
int fg_router_mark_up(fg_router *r, size_t backend, size_t address);

// fg_router_health_epoch changes whenever an address changes health: a
// route chosen under one epoch is still the route while it stays the same.
uint64_t fg_router_health_epoch(const fg_router *r);

// fg_router_is_up returns 1 when the address is marked up, 0 otherwise.
int fg_router_is_up(const fg_router *r, size_t backend, size_t address);

// fg_router_set_drained drains (|drained| 1) or undrains (0) one address,
// or every address of the backend when |address| is SIZE_MAX. A drained
// address is never picked by fg_router_route; when every address of a
// backend is drained its domains get FG_ROUTE_DRAINED. Draining is an
// operator's decision and independent of health. It returns 1, or 0 for an
// index out of range.
int fg_router_set_drained(fg_router *r, size_t backend, size_t address, int drained);

// fg_router_is_drained returns 1 when the address is drained, 0 otherwise.
int fg_router_is_drained(const fg_router *r, size_t backend, size_t address);

// fg_router_backend_count returns the number of backends.
size_t fg_router_backend_count(const fg_router *r);

// fg_router_backend_find returns 1 and sets |*backend| to the index of the
// backend named |name|, or returns 0.
int fg_router_backend_find(const fg_router *r, const char *name, size_t *backend);

// fg_router_backend_name returns the name of backend |backend| (owned by the
// router), or NULL when out of range.
const char *fg_router_backend_name(const fg_router *r, size_t backend);

// fg_router_address_count returns the number of addresses of |backend|.
size_t fg_router_address_count(const fg_router *r, size_t backend);

// fg_router_address returns 1 and sets |*host| (owned by the router) and
// |*port| for one address of |backend|, or returns 0 when out of range.
int fg_router_address(const fg_router *r, size_t backend, size_t address, const char **host,
                      uint16_t *port);

// fg_router_domain_count returns the number of names indexed (exact and
// wildcard, U-label spellings included).
size_t fg_router_domain_count(const fg_router *r);

#endif  // FEDGATE_GATEWAY_ROUTER_H
