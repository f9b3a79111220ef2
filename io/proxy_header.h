// proxy_header.h: the PROXY protocol header a TCP load balancer (HAProxy's
// send-proxy / send-proxy-v2, cloud L4 balancers) writes before anything
// else on a connection, telling the real source and destination addresses.
// Versions 1 (text) and 2 (binary) of HAProxy's "proxy-protocol.txt"
// specification. Sans I/O: fed bytes, possibly one at a time, it says when
// the header is complete, what it carries, and how many bytes it took (the
// rest belongs to the stream), or why it is refused.
#ifndef FEDGATE_IO_PROXY_HEADER_H
#define FEDGATE_IO_PROXY_HEADER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

// FG_PROXY_V1_MAX is the longest version 1 line, CRLF included (spec §2.1).
#define FG_PROXY_V1_MAX 107
// FG_PROXY_V2_MAX_LEN bounds a version 2 header's length field (the bytes
// after the 16-byte fixed part: addresses and TLVs). The specification allows
// 65535; the TLVs load balancers send (ALPN, authority, unique ID, SSL
// details, cloud endpoint IDs) stay far below this.
#define FG_PROXY_V2_MAX_LEN 2048

// fg_proxy_error says why a header was refused. The parser sets the ones up
// to FG_PROXY_ERR_BAD_CHECKSUM; the others are decided by the connection that
// reads the header, and listed here so that one table names every refusal.
typedef enum fg_proxy_error {
  FG_PROXY_OK = 0,
  FG_PROXY_ERR_BAD_SIGNATURE,  // neither "PROXY " nor the 12-byte v2 signature
  FG_PROXY_ERR_BAD_LINE,       // v1: over 107 bytes, no CRLF, or a malformed field
  FG_PROXY_ERR_BAD_VERSION,    // v2: version nibble other than 2
  FG_PROXY_ERR_BAD_COMMAND,    // v2: command other than LOCAL or PROXY
  FG_PROXY_ERR_BAD_FAMILY,     // v1: not TCP4/TCP6/UNKNOWN; v2: not one of §2.2's combinations
  FG_PROXY_ERR_BAD_LENGTH,     // v2: length field above the bound or below the address block
  FG_PROXY_ERR_BAD_ADDRESS,    // v1: an address or port that does not parse for its family
  FG_PROXY_ERR_BAD_TLV,        // v2: a TLV running past the header's length
  FG_PROXY_ERR_BAD_CHECKSUM,   // v2: a CRC32C TLV not 4 bytes, repeated, or not the header's
  FG_PROXY_ERR_TRUNCATED,      // the connection ended inside the header
  FG_PROXY_ERR_EMPTY,          // the connection ended before its first byte (a TCP check)
  FG_PROXY_ERR_TIMEOUT,        // no complete header within the handshake timeout
  FG_PROXY_ERR_UNTRUSTED,      // the connection's source is not a trusted network
  FG_PROXY_ERR_COUNT,
} fg_proxy_error;

// fg_proxy_error_name returns a short metric label for |e| ("bad-signature").
const char *fg_proxy_error_name(fg_proxy_error e);

// fg_proxy_error_text returns a sentence for |e| for operators' logs.
const char *fg_proxy_error_text(fg_proxy_error e);

typedef enum fg_proxy_status {
  FG_PROXY_NEED_MORE = 0,  // every byte given was taken; feed more
  FG_PROXY_DONE,           // the header is complete (see fg_proxy_header_result)
  FG_PROXY_FAILED,         // refused (see fg_proxy_header_error)
} fg_proxy_status;

typedef union fg_proxy_addr {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
} fg_proxy_addr;

// fg_proxy_result is what a complete header says. |has_addresses| is 0 for a
// v2 LOCAL command (the balancer's own health checks), a v2 UNSPEC family,
// the v2 UDP and UNIX families (which fall back to UNSPEC, §2.2) and a v1
// UNKNOWN line: the connection's own endpoints stand.
typedef struct fg_proxy_result {
  uint8_t version;  // 1 or 2
  uint8_t has_addresses;
  fg_proxy_addr src;  // the remote peer, as the balancer saw it
  fg_proxy_addr dst;  // the address the peer connected to
} fg_proxy_result;

// fg_proxy_header is the parser's state: fixed size, no allocation, so that
// a connection can carry one in place.
typedef struct fg_proxy_header {
  // The v1 line, or the v2 fixed part followed by the address block.
  uint8_t buf[FG_PROXY_V1_MAX + 1];
  uint8_t have;         // bytes in |buf|
  uint8_t version;      // 0: not known yet
  uint8_t addr_len;     // v2: address block size (0, 12, 36 or 216)
  uint8_t tlv_hdr_len;  // v2: bytes of the current TLV's 3-byte header seen
  uint8_t tlv_hdr[3];
  uint8_t local;      // v2: LOCAL command
  uint8_t unspec;     // v2: the addresses are not used (LOCAL, UNSPEC, UDP, UNIX)
  uint8_t done;       // FG_PROXY_DONE was returned
  uint16_t v2_len;    // v2: the length field
  uint16_t v2_seen;   // v2: bytes of it consumed
  uint16_t tlv_skip;  // v2: value bytes of the current TLV still to skip
  uint8_t crc_state;  // v2: 0 no CRC32C TLV yet, 1 inside its value, 2 read
  uint8_t crc_at;     // v2: bytes of the CRC32C value read
  uint32_t crc;       // v2: CRC-32C of the header so far (the checksum's bytes as zeros)
  uint32_t crc_want;  // v2: the CRC32C TLV's value
  fg_proxy_error error;
  fg_proxy_result result;
} fg_proxy_header;

// fg_proxy_header_init resets |p| for a new connection.
void fg_proxy_header_init(fg_proxy_header *p);

// fg_proxy_header_feed consumes bytes of |in| (|in_len| > 0) and stores in
// |*used| how many it took: all of them for FG_PROXY_NEED_MORE, up to the
// header's last byte for FG_PROXY_DONE (the rest is the stream's), and an
// unspecified count for FG_PROXY_FAILED. Once DONE or FAILED, feeding again
// returns the same status and takes nothing.
fg_proxy_status fg_proxy_header_feed(fg_proxy_header *p, const uint8_t *in, size_t in_len,
                                     size_t *used);

// fg_proxy_header_result returns the header once fg_proxy_header_feed has
// returned FG_PROXY_DONE, else NULL.
const fg_proxy_result *fg_proxy_header_result(const fg_proxy_header *p);

// fg_proxy_header_started returns 1 once a byte was fed to |p|.
int fg_proxy_header_started(const fg_proxy_header *p);

// fg_proxy_header_error returns why the header was refused (FG_PROXY_OK
// unless fg_proxy_header_feed returned FG_PROXY_FAILED).
fg_proxy_error fg_proxy_header_error(const fg_proxy_header *p);

#endif  // FEDGATE_IO_PROXY_HEADER_H
