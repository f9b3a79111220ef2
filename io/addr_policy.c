// addr_policy.c: address classification (RFC 6890 and the IANA IPv4 and IPv6
// special-purpose address registries), CIDR networks and address equality.
#include "io/addr_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ip_of reduces |sa| to (family, bytes): an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) becomes AF_INET. It returns 0 for
// other families.
static int ip_of(const struct sockaddr *sa, uint8_t out[16], int *family) {
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (sa->sa_family == AF_INET) {
    memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    *family = AF_INET;
    return 1;
  }
  if (sa->sa_family == AF_INET6) {
    const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    if (memcmp(a, kMapped, sizeof(kMapped)) == 0) {
      memcpy(out, a + 12, 4);
      *family = AF_INET;
    } else {
      memcpy(out, a, 16);
      *family = AF_INET6;
    }
    return 1;
  }
  return 0;
}

static int prefix_match(const uint8_t *a, const uint8_t *net, unsigned bits) {
  unsigned whole = bits / 8, rest = bits % 8;
  if (memcmp(a, net, whole) != 0) return 0;
  if (rest == 0) return 1;
  uint8_t mask = (uint8_t)(0xff << (8 - rest));
  return (a[whole] & mask) == (net[whole] & mask);
}

int fg_cidr_parse(fg_cidr *out, const char *text) {
  memset(out, 0, sizeof(*out));
  char buf[64];
  if (text == NULL || strlen(text) >= sizeof(buf)) return 0;
  snprintf(buf, sizeof(buf), "%s", text);
  char *slash = strchr(buf, '/');
  long bits = -1;
  if (slash != NULL) {
    *slash = 0;
    char *end = NULL;
    if (slash[1] < '0' || slash[1] > '9') return 0;
    bits = strtol(slash + 1, &end, 10);
    if (*end != 0) return 0;
  }
  if (inet_pton(AF_INET, buf, out->addr) == 1) {
    out->family = AF_INET;
    if (bits < 0) bits = 32;
    if (bits > 32) return 0;
  } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
    out->family = AF_INET6;
    if (bits < 0) bits = 128;
    if (bits > 128) return 0;
  } else {
    return 0;
  }
  out->bits = (unsigned)bits;
  // Host bits beyond the prefix are a typo more often than not (10.0.0.1/8).
  unsigned len = out->family == AF_INET ? 4 : 16;
  for (unsigned i = 0; i < len; i++) {
    unsigned lo = i * 8;
    uint8_t keep = lo >= out->bits       ? 0
                   : lo + 8 <= out->bits ? 0xff
                                         : (uint8_t)(0xff << (8 - (out->bits - lo)));
    if ((out->addr[i] & (uint8_t)~keep) != 0) return 0;
  }
  return 1;
}

int fg_cidr_contains(const fg_cidr *net, const struct sockaddr *sa) {
  uint8_t a[16];
  int family;
  if (!ip_of(sa, a, &family) || family != net->family) return 0;
  return prefix_match(a, net->addr, net->bits);
}

typedef struct block {
  uint8_t net[16];
  unsigned bits;
  const char *name;
} block;

// IANA IPv4 Special-Purpose Address Registry (RFC 6890 and its updates).
static const block kV4[] = {
    {{0}, 8, "unspecified"},                // 0.0.0.0/8 "this network"
    {{10}, 8, "private"},                   // RFC 1918
    {{100, 64}, 10, "shared"},              // RFC 6598 carrier-grade NAT
    {{127}, 8, "loopback"},                 // RFC 1122
    {{169, 254}, 16, "link-local"},         // RFC 3927
    {{172, 16}, 12, "private"},             // RFC 1918
    {{192, 0, 0}, 24, "ietf-protocol"},     // RFC 6890
    {{192, 0, 2}, 24, "documentation"},     // RFC 5737
    {{192, 88, 99}, 24, "6to4-relay"},      // RFC 7526 (deprecated)
    {{192, 168}, 16, "private"},            // RFC 1918
    {{198, 18}, 15, "benchmarking"},        // RFC 2544
    {{198, 51, 100}, 24, "documentation"},  // RFC 5737
    {{203, 0, 113}, 24, "documentation"},   // RFC 5737
    {{224}, 4, "multicast"},                // RFC 5771
    {{240}, 4, "reserved"},                 // RFC 1112, 255.255.255.255 included
};

// IANA IPv6 Special-Purpose Address Registry; everything outside 2000::/3
// (global unicast) is refused as well.
static const block kV6[] = {
    {{0x01, 0x00}, 64, "discard"},                               // 100::/64, RFC 6666
    {{0x20, 0x01, 0x00, 0x00}, 32, "teredo"},                    // 2001::/32, RFC 4380
    {{0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48, "benchmarking"},  // 2001:2::/48, RFC 5180
    {{0x20, 0x01, 0x00, 0x10}, 28, "orchid"},                    // 2001:10::/28
    {{0x20, 0x01, 0x00, 0x20}, 28, "orchid"},                    // 2001:20::/28, RFC 7343
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation"},             // 2001:db8::/32, RFC 3849
    {{0x20, 0x02}, 16, "6to4"},                                  // 2002::/16, RFC 3056
    {{0x3f, 0xff}, 20, "documentation"},                         // 3fff::/20, RFC 9637
};

static const char *classify_v4(const uint8_t a[4]) {
  for (size_t i = 0; i < sizeof(kV4) / sizeof(kV4[0]); i++) {
    if (prefix_match(a, kV4[i].net, kV4[i].bits)) return kV4[i].name;
  }
  return NULL;
}

static const char *classify_v6(const uint8_t a[16]) {
  static const uint8_t kZero[16] = {0};
  static const uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b};  // 64:ff9b::/96, RFC 6052
  if (memcmp(a, kZero, 16) == 0) return "unspecified";
  if (memcmp(a, kZero, 15) == 0 && a[15] == 1) return "loopback";
  // The well-known NAT64 prefix leads to the IPv4 address it embeds.
  if (memcmp(a, kNat64, sizeof(kNat64)) == 0) return classify_v4(a + 12);
  if ((a[0] & 0xfe) == 0xfc) return "unique-local";                // fc00::/7, RFC 4193
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return "link-local";  // fe80::/10
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return "site-local";  // fec0::/10 (deprecated)
  if (a[0] == 0xff) return "multicast";
  for (size_t i = 0; i < sizeof(kV6) / sizeof(kV6[0]); i++) {
    if (prefix_match(a, kV6[i].net, kV6[i].bits)) return kV6[i].name;
  }
  if ((a[0] & 0xe0) != 0x20) return "reserved";  // outside 2000::/3
  return NULL;
}

const char *fg_addr_special_purpose(const struct sockaddr *sa) {
  uint8_t a[16];
  int family;
  if (!ip_of(sa, a, &family)) return "not an IP address";
  return family == AF_INET ? classify_v4(a) : classify_v6(a);
}

int fg_addr_same_ip(const struct sockaddr *a, const struct sockaddr *b) {
  uint8_t x[16], y[16];
  int fx, fy;
  if (!ip_of(a, x, &fx) || !ip_of(b, y, &fy) || fx != fy) return 0;
  return memcmp(x, y, fx == AF_INET ? 4 : 16) == 0;
}

int fg_addr_is_unspecified(const struct sockaddr *sa) {
  static const uint8_t kZero[16] = {0};
  uint8_t a[16];
  int family;
  if (!ip_of(sa, a, &family)) return 0;
  return memcmp(a, kZero, family == AF_INET ? 4 : 16) == 0;
}

uint16_t fg_addr_port(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET) return ntohs(((const struct sockaddr_in *)sa)->sin_port);
  if (sa->sa_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
  return 0;
}

void fg_addr_text(const struct sockaddr *sa, char *out, size_t cap) {
  uint8_t a[16];
  int family;
  if (cap == 0) return;
  out[0] = 0;
  if (!ip_of(sa, a, &family)) return;
  inet_ntop(family, a, out, (socklen_t)cap);
}

size_t fg_addr_budget_key(const struct sockaddr *sa, unsigned v6_prefix, uint8_t out[16]) {
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  memset(out, 0, 16);
  if (sa->sa_family == AF_INET) {
    memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    return 4;
  }
  if (sa->sa_family != AF_INET6) return 0;
  const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
  if (memcmp(a, kMapped, sizeof(kMapped)) == 0) {
    memcpy(out, a + 12, 4);
    return 4;
  }
  if (v6_prefix > 128) v6_prefix = 128;
  memcpy(out, a, v6_prefix / 8);
  if (v6_prefix % 8)
    out[v6_prefix / 8] = (uint8_t)(a[v6_prefix / 8] & (0xff << (8 - v6_prefix % 8)));
  return 16;
}
