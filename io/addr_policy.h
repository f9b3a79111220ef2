// addr_policy.h: what an IP address is, for the decisions that depend on it:
// whether an outbound link may connect there (special-purpose blocks of the
// IANA registries, RFC 6890, are refused unless the operator allows them),
// whether a connection comes from a given address (IPv4-mapped IPv6
// addresses equal their IPv4 address), and operator-given networks (CIDR).
// Pure functions: no sockets, no state.
#ifndef FEDGATE_IO_ADDR_POLICY_H
#define FEDGATE_IO_ADDR_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

// fg_cidr is one network: |family| AF_INET or AF_INET6, |bits| the prefix
// length (32 or 128 for a single address).
typedef struct fg_cidr {
  int family;
  uint8_t addr[16];
  unsigned bits;
} fg_cidr;

// fg_cidr_parse reads "ADDR/BITS" or a bare "ADDR" (IPv4 or IPv6, numeric)
// into |out|. It returns 1, or 0 when |text| is not a network or has host
// bits set beyond the prefix.
int fg_cidr_parse(fg_cidr *out, const char *text);

// fg_cidr_contains returns 1 when |sa| (AF_INET or AF_INET6; an IPv4-mapped
// IPv6 address counts as IPv4) lies in |net|.
int fg_cidr_contains(const fg_cidr *net, const struct sockaddr *sa);

// fg_addr_special_purpose returns a short name of the special-purpose block
// |sa| falls in ("loopback", "private", "link-local", "unspecified",
// "multicast", "reserved", "documentation", "benchmarking", "shared",
// "unique-local", ...), or NULL for an ordinary global unicast address.
const char *fg_addr_special_purpose(const struct sockaddr *sa);

// fg_addr_same_ip returns 1 when |a| and |b| carry the same IP address (ports
// are ignored; an IPv4-mapped IPv6 address equals its IPv4 address).
int fg_addr_same_ip(const struct sockaddr *a, const struct sockaddr *b);

// fg_addr_is_unspecified returns 1 for 0.0.0.0 and ::.
int fg_addr_is_unspecified(const struct sockaddr *sa);

// fg_addr_port returns the port of |sa| in host order (0 for other families).
uint16_t fg_addr_port(const struct sockaddr *sa);

// fg_addr_budget_key writes the address a per-source budget is kept under
// into |out|: an IPv4 address (IPv4-mapped IPv6 included) as its 4 bytes,
// an IPv6 address as its first |v6_prefix| bits (the rest zero) in 16
// bytes, so that one site's or customer's allocation shares one budget. It
// returns the key's length (4 or 16), or 0 for other families.
size_t fg_addr_budget_key(const struct sockaddr *sa, unsigned v6_prefix, uint8_t out[16]);

// fg_addr_text writes |sa|'s IP address (IPv4-mapped IPv6 as IPv4) into
// |out| (at least 46 bytes).
void fg_addr_text(const struct sockaddr *sa, char *out, size_t cap);

#endif  // FEDGATE_IO_ADDR_POLICY_H
