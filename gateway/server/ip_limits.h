// ip_limits.h: inbound streams counted per source address, for
// limits.streams_per_ip: keyed by the exact IPv4 address (an IPv4-mapped
// IPv6 address counts as its IPv4 address) or by the IPv6 prefix of
// limits.ipv6_prefix bits, never by a shared slot, so that no address can be
// made to share another's budget. One table per process, shared by the
// workers (a mutex: touched on accept and close, never per stanza).
#ifndef FEDGATE_GATEWAY_SERVER_IP_LIMITS_H
#define FEDGATE_GATEWAY_SERVER_IP_LIMITS_H

#include <stddef.h>
#include <sys/socket.h>

typedef struct fg_ip_limits fg_ip_limits;

// fg_ip_limits_new returns an empty table grouping IPv6 addresses by their
// first |ipv6_prefix| bits (1..128), or NULL.
fg_ip_limits *fg_ip_limits_new(unsigned ipv6_prefix);

// fg_ip_limits_free frees |l|. NULL is a no-op.
void fg_ip_limits_free(fg_ip_limits *l);

// fg_ip_limits_acquire counts one more stream from |sa| when fewer than
// |max| are open from its address (or prefix): it returns 1. Otherwise it
// counts nothing and returns 0. |*open| (may be NULL) receives the streams
// that would be open with this one.
int fg_ip_limits_acquire(fg_ip_limits *l, const struct sockaddr *sa, unsigned max, unsigned *open);

// fg_ip_limits_release counts one stream from |sa| less (one acquired).
void fg_ip_limits_release(fg_ip_limits *l, const struct sockaddr *sa);

// fg_ip_limits_tracked returns how many addresses (or prefixes) have streams.
size_t fg_ip_limits_tracked(fg_ip_limits *l);

#endif  // FEDGATE_GATEWAY_SERVER_IP_LIMITS_H
