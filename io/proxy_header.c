// proxy_header.c: the PROXY protocol header, versions 1 and 2 (HAProxy's
// proxy-protocol.txt, §2.1 and §2.2), parsed byte by byte into a fixed-size
// state. Strict: exactly the grammar of the specification, nothing the
// specification leaves to the sender's fancy.
#include "io/proxy_header.h"

#include <arpa/inet.h>
#include <string.h>

// §2.2: the 12-byte signature of version 2.
static const uint8_t kV2Sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
static const char kV1Prefix[] = "PROXY ";
enum { kV1PrefixLen = 6, kV2Fixed = 16, kTypeCrc32c = 0x03 };

// kErrors: each refusal's metric label and its sentence for the log.
static const struct {
  const char *name, *text;
} kErrors[FG_PROXY_ERR_COUNT] = {
    [FG_PROXY_OK] = {"ok", "header accepted"},
    [FG_PROXY_ERR_BAD_SIGNATURE] = {"bad-signature",
                                    "no PROXY header: the first bytes are neither 'PROXY ' (v1) "
                                    "nor the v2 signature"},
    [FG_PROXY_ERR_BAD_LINE] = {"bad-line",
                               "malformed v1 line (over 107 bytes, no CRLF, or a bad field)"},
    [FG_PROXY_ERR_BAD_VERSION] = {"bad-version", "v2 header with a version other than 2"},
    [FG_PROXY_ERR_BAD_COMMAND] = {"bad-command",
                                  "v2 header with a command other than LOCAL or PROXY"},
    [FG_PROXY_ERR_BAD_FAMILY] =
        {"bad-family",
         "v1 protocol not TCP4, TCP6 or UNKNOWN, or v2 family and transport "
         "not a valid combination"},
    [FG_PROXY_ERR_BAD_LENGTH] = {"bad-length",
                                 "v2 length above 2048 bytes or shorter than its addresses"},
    [FG_PROXY_ERR_BAD_ADDRESS] = {"bad-address", "v1 address or port that does not parse"},
    [FG_PROXY_ERR_BAD_TLV] = {"bad-tlv", "v2 TLV running past the header"},
    [FG_PROXY_ERR_BAD_CHECKSUM] = {"bad-checksum",
                                   "v2 CRC32C TLV that is not 4 bytes, comes twice, or does not "
                                   "match the header"},
    [FG_PROXY_ERR_TRUNCATED] = {"truncated", "connection closed before the header was complete"},
    [FG_PROXY_ERR_EMPTY] = {"empty",
                            "connection ended before its first byte (a TCP health check, or "
                            "reset before it was accepted)"},
    [FG_PROXY_ERR_TIMEOUT] = {"timeout", "no complete header within the handshake timeout"},
    [FG_PROXY_ERR_UNTRUSTED] = {"untrusted-source",
                                "source address not in proxy_protocol.trusted_networks"},
};

const char *fg_proxy_error_name(fg_proxy_error e) {
  return (unsigned)e < FG_PROXY_ERR_COUNT ? kErrors[e].name : "unknown";
}

const char *fg_proxy_error_text(fg_proxy_error e) {
  return (unsigned)e < FG_PROXY_ERR_COUNT ? kErrors[e].text : "unknown";
}

void fg_proxy_header_init(fg_proxy_header *p) {
  memset(p, 0, sizeof(*p));
}

static fg_proxy_status fail(fg_proxy_header *p, fg_proxy_error e) {
  p->error = e;
  return FG_PROXY_FAILED;
}

static fg_proxy_status finish(fg_proxy_header *p, uint8_t version) {
  p->result.version = version;
  p->done = 1;
  return FG_PROXY_DONE;
}

// --- version 1 ------------------------------------------------------------

// v1_port reads a decimal port of [from, to): 0 to 65535, no sign, no
// leading zero (§2.1: "a decimal integer in the range [0..65535]").
static int v1_port(const uint8_t *from, const uint8_t *to, uint16_t *out) {
  size_t n = (size_t)(to - from);
  if (n == 0 || n > 5 || (n > 1 && from[0] == '0')) return 0;
  uint32_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (from[i] < '0' || from[i] > '9') return 0;
    v = v * 10 + (uint32_t)(from[i] - '0');
  }
  if (v > 65535) return 0;
  *out = htons((uint16_t)v);
  return 1;
}

// v1_addr reads the address of [from, to) in |family| into |out|, with the
// port set by the caller later.
static int v1_addr(const uint8_t *from, const uint8_t *to, int family, fg_proxy_addr *out) {
  char text[INET6_ADDRSTRLEN];
  size_t n = (size_t)(to - from);
  if (n == 0 || n >= sizeof(text)) return 0;
  memcpy(text, from, n);
  text[n] = 0;
  memset(out, 0, sizeof(*out));
  if (family == AF_INET) {
    out->in.sin_family = AF_INET;
    return inet_pton(AF_INET, text, &out->in.sin_addr) == 1;
  }
  out->in6.sin6_family = AF_INET6;
  return inet_pton(AF_INET6, text, &out->in6.sin6_addr) == 1;
}

// v1_line judges a complete line (CRLF at |p->have| - 2).
static fg_proxy_status v1_line(fg_proxy_header *p) {
  const uint8_t *s = p->buf + kV1PrefixLen;
  const uint8_t *end = p->buf + p->have - 2;  // the CR
  const uint8_t *f[6];  // field starts: protocol, src, dst, sport, dport, and the CR
  size_t n = 0;
  f[n++] = s;
  for (const uint8_t *q = s; q < end && n < 6; q++) {
    if (*q == ' ') f[n++] = q + 1;
  }
  // §2.1: "UNKNOWN": the receiver must ignore anything up to the CRLF.
  size_t proto_len = (size_t)((n > 1 ? f[1] - 1 : end) - s);
  if (proto_len == 7 && memcmp(s, "UNKNOWN", 7) == 0) return finish(p, 1);
  int family;
  if (proto_len == 4 && memcmp(s, "TCP4", 4) == 0) {
    family = AF_INET;
  } else if (proto_len == 4 && memcmp(s, "TCP6", 4) == 0) {
    family = AF_INET6;
  } else {
    return fail(p, FG_PROXY_ERR_BAD_FAMILY);
  }
  // Exactly four fields after the protocol, one space apart.
  if (n != 5) return fail(p, FG_PROXY_ERR_BAD_LINE);
  fg_proxy_result *r = &p->result;
  uint16_t sport, dport;
  if (!v1_addr(f[1], f[2] - 1, family, &r->src) || !v1_addr(f[2], f[3] - 1, family, &r->dst) ||
      !v1_port(f[3], f[4] - 1, &sport) || !v1_port(f[4], end, &dport)) {
    return fail(p, FG_PROXY_ERR_BAD_ADDRESS);
  }
  if (family == AF_INET) {
    r->src.in.sin_port = sport;
    r->dst.in.sin_port = dport;
  } else {
    r->src.in6.sin6_port = sport;
    r->dst.in6.sin6_port = dport;
  }
  r->has_addresses = 1;
  return finish(p, 1);
}

static fg_proxy_status v1_feed(fg_proxy_header *p, const uint8_t *in, size_t in_len, size_t *used) {
  for (size_t i = 0; i < in_len; i++) {
    uint8_t b = in[i];
    *used = i + 1;
    if (p->have < kV1PrefixLen) {
      if (b != (uint8_t)kV1Prefix[p->have]) return fail(p, FG_PROXY_ERR_BAD_SIGNATURE);
      p->buf[p->have++] = b;
      continue;
    }
    if (p->have > 0 && p->buf[p->have - 1] == '\r') {  // only LF may follow CR
      if (b != '\n') return fail(p, FG_PROXY_ERR_BAD_LINE);
      p->buf[p->have++] = b;
      return v1_line(p);
    }
    // The CR may be byte 106 at the latest: the LF is then byte 107.
    if (p->have >= FG_PROXY_V1_MAX - 2 && b != '\r') return fail(p, FG_PROXY_ERR_BAD_LINE);
    if (b != '\r' && (b < 0x20 || b > 0x7E)) return fail(p, FG_PROXY_ERR_BAD_LINE);
    p->buf[p->have++] = b;
  }
  return FG_PROXY_NEED_MORE;
}

// --- version 2 ------------------------------------------------------------

// crc32c_update folds |n| bytes of |p| (NULL: zeros) into the running
// CRC-32C |c| (Castagnoli, RFC 4960 appendix B, as §2.2.3 asks), bit by bit:
// a header is at most 16 + FG_PROXY_V2_MAX_LEN bytes, read once.
static uint32_t crc32c_update(uint32_t c, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    c ^= p != NULL ? p[i] : 0;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
  }
  return c;
}

// v2_fixed judges the 16-byte fixed part (§2.2): version, command, family
// and transport, length.
static fg_proxy_status v2_fixed(fg_proxy_header *p) {
  uint8_t ver_cmd = p->buf[12], fam = p->buf[13];
  p->crc = crc32c_update(0xFFFFFFFFu, p->buf, kV2Fixed);
  p->v2_len = (uint16_t)(p->buf[14] << 8 | p->buf[15]);
  if ((ver_cmd >> 4) != 2) return fail(p, FG_PROXY_ERR_BAD_VERSION);
  uint8_t cmd = ver_cmd & 0x0F;
  if (cmd > 1) return fail(p, FG_PROXY_ERR_BAD_COMMAND);
  if (p->v2_len > FG_PROXY_V2_MAX_LEN) return fail(p, FG_PROXY_ERR_BAD_LENGTH);
  p->local = cmd == 0;
  p->unspec = 1;
  switch (fam) {
    case 0x11:  // TCP over IPv4
      p->addr_len = 12;
      p->unspec = 0;
      break;
    case 0x21:  // TCP over IPv6
      p->addr_len = 36;
      p->unspec = 0;
      break;
    // The other valid combinations fall back to UNSPEC (§2.2: "provided
    // that it automatically falls back to the UNSPEC mode"): their address
    // block is skipped, the TLVs after it checked, the connection's own
    // endpoints stand.
    case 0x12:  // UDP over IPv4
      p->addr_len = 12;
      break;
    case 0x22:  // UDP over IPv6
      p->addr_len = 36;
      break;
    case 0x31:  // UNIX stream
    case 0x32:  // UNIX datagram
      p->addr_len = 216;
      break;
    case 0x00:  // UNSPEC: "the receiver should ignore address information"
      p->addr_len = 0;
      p->tlv_skip = p->v2_len;  // nothing inside is interpreted
      return FG_PROXY_NEED_MORE;
    default:
      // Not a valid combination: "must be rejected as invalid by receivers"
      // unless the command is LOCAL, whose family is ignored.
      if (!p->local) return fail(p, FG_PROXY_ERR_BAD_FAMILY);
      break;
  }
  if (p->local) {
    // LOCAL: "discard the protocol block including the family", whatever
    // the length says (it need not be zero, nor the family's).
    p->unspec = 1;
    p->addr_len = 0;
    p->tlv_skip = p->v2_len;
    return FG_PROXY_NEED_MORE;
  }
  if (p->v2_len < p->addr_len) return fail(p, FG_PROXY_ERR_BAD_LENGTH);
  return FG_PROXY_NEED_MORE;
}

static void v2_addresses(fg_proxy_header *p) {
  fg_proxy_result *r = &p->result;
  const uint8_t *a = p->buf + kV2Fixed;
  memset(&r->src, 0, sizeof(r->src));
  memset(&r->dst, 0, sizeof(r->dst));
  if (p->unspec) return;  // the connection's own endpoints stand
  if (p->addr_len == 12) {
    r->src.in.sin_family = r->dst.in.sin_family = AF_INET;
    memcpy(&r->src.in.sin_addr, a, 4);
    memcpy(&r->dst.in.sin_addr, a + 4, 4);
    memcpy(&r->src.in.sin_port, a + 8, 2);
    memcpy(&r->dst.in.sin_port, a + 10, 2);
  } else {
    r->src.in6.sin6_family = r->dst.in6.sin6_family = AF_INET6;
    memcpy(&r->src.in6.sin6_addr, a, 16);
    memcpy(&r->dst.in6.sin6_addr, a + 16, 16);
    memcpy(&r->src.in6.sin6_port, a + 32, 2);
    memcpy(&r->dst.in6.sin6_port, a + 34, 2);
  }
  r->has_addresses = 1;
}

static fg_proxy_status v2_feed(fg_proxy_header *p, const uint8_t *in, size_t in_len, size_t *used) {
  size_t i = 0;
  while (p->have < kV2Fixed && i < in_len) {
    uint8_t b = in[i++];
    *used = i;
    if (p->have < sizeof(kV2Sig) && b != kV2Sig[p->have]) {
      return fail(p, FG_PROXY_ERR_BAD_SIGNATURE);
    }
    p->buf[p->have++] = b;
    if (p->have == kV2Fixed && v2_fixed(p) == FG_PROXY_FAILED) return FG_PROXY_FAILED;
  }
  if (p->have < kV2Fixed) return FG_PROXY_NEED_MORE;
  // The address block, kept; then the TLVs, bounds-checked and skipped.
  while (p->v2_seen < p->v2_len && i < in_len) {
    if (p->v2_seen < p->addr_len) {
      size_t k = p->addr_len - p->v2_seen;
      if (k > in_len - i) k = in_len - i;
      if (!p->unspec) memcpy(p->buf + kV2Fixed + p->v2_seen, in + i, k);  // 12 or 36 bytes
      p->crc = crc32c_update(p->crc, in + i, k);
      p->v2_seen += (uint16_t)k;
      i += k;
    } else if (p->tlv_skip > 0) {
      size_t k = 1;
      if (p->crc_state == 1) {
        // §2.2.3: the checksum's own 4 bytes count as zeros.
        p->crc_want = p->crc_want << 8 | in[i];
        p->crc = crc32c_update(p->crc, NULL, 1);
        if (++p->crc_at == 4) p->crc_state = 2;
      } else {
        k = p->tlv_skip;
        if (k > in_len - i) k = in_len - i;
        p->crc = crc32c_update(p->crc, in + i, k);
      }
      p->tlv_skip -= (uint16_t)k;
      p->v2_seen += (uint16_t)k;
      i += k;
    } else {
      p->crc = crc32c_update(p->crc, in + i, 1);
      p->tlv_hdr[p->tlv_hdr_len++] = in[i++];
      p->v2_seen++;
      if (p->tlv_hdr_len == 3) {
        // §2.2: type (1 byte), length (2 bytes), value; a TLV must end
        // within the header.
        p->tlv_hdr_len = 0;
        p->tlv_skip = (uint16_t)(p->tlv_hdr[1] << 8 | p->tlv_hdr[2]);
        *used = i;
        if (p->tlv_skip > p->v2_len - p->v2_seen) return fail(p, FG_PROXY_ERR_BAD_TLV);
        if (p->tlv_hdr[0] == kTypeCrc32c) {
          // One checksum, of 32 bits.
          if (p->tlv_skip != 4 || p->crc_state != 0) return fail(p, FG_PROXY_ERR_BAD_CHECKSUM);
          p->crc_state = 1;
        }
      }
    }
    *used = i;
  }
  if (p->v2_seen < p->v2_len) return FG_PROXY_NEED_MORE;
  *used = i;
  if (p->tlv_hdr_len != 0) return fail(p, FG_PROXY_ERR_BAD_TLV);  // a partial TLV header
  // §2.2.3: "If it is not, the receiver MUST treat the TCP connection
  // providing the header as invalid."
  if (p->crc_state == 2 && ~p->crc != p->crc_want) return fail(p, FG_PROXY_ERR_BAD_CHECKSUM);
  v2_addresses(p);
  return finish(p, 2);
}

// --- entry points -----------------------------------------------------------

fg_proxy_status fg_proxy_header_feed(fg_proxy_header *p, const uint8_t *in, size_t in_len,
                                     size_t *used) {
  *used = 0;
  if (p->done) return FG_PROXY_DONE;
  if (p->error != FG_PROXY_OK) return FG_PROXY_FAILED;
  if (in_len == 0) return FG_PROXY_NEED_MORE;
  if (p->version == 0) {
    // The first byte tells the versions apart: 'P' or CR (§2.1, §2.2).
    if (in[0] == 'P') {
      p->version = 1;
    } else if (in[0] == kV2Sig[0]) {
      p->version = 2;
    } else {
      *used = 1;
      return fail(p, FG_PROXY_ERR_BAD_SIGNATURE);
    }
  }
  return p->version == 1 ? v1_feed(p, in, in_len, used) : v2_feed(p, in, in_len, used);
}

const fg_proxy_result *fg_proxy_header_result(const fg_proxy_header *p) {
  return p->done ? &p->result : NULL;
}

int fg_proxy_header_started(const fg_proxy_header *p) {
  return p->version != 0 || p->error != FG_PROXY_OK;
}

fg_proxy_error fg_proxy_header_error(const fg_proxy_header *p) {
  return p->error;
}
