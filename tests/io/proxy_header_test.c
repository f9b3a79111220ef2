// proxy_header_test.c: the PROXY protocol header parser (io/proxy_header.c)
// against HAProxy's proxy-protocol.txt: §2.1 (version 1, text) and §2.2
// (version 2, binary), including §2.2's TLVs (§2.2.1 to §2.2.8) and the
// LOCAL command. Every valid vector is also fed one byte at a time, whole,
// and cut at every byte.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "io/proxy_header.h"

static const uint8_t kSig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

// run feeds |in| in pieces of |chunk| bytes until the parser decides or the
// input ends; |*consumed| gets the bytes it took in all.
static fg_proxy_status run(fg_proxy_header *p, const uint8_t *in, size_t len, size_t chunk,
                           size_t *consumed) {
  fg_proxy_header_init(p);
  *consumed = 0;
  fg_proxy_status st = FG_PROXY_NEED_MORE;
  size_t off = 0;
  while (off < len) {
    size_t n = len - off < chunk ? len - off : chunk;
    size_t used = 99999;
    st = fg_proxy_header_feed(p, in + off, n, &used);
    assert_true(used <= n);
    *consumed += used;
    if (st != FG_PROXY_NEED_MORE) break;
    assert_int_equal(used, n);  // NEED_MORE takes everything
    off += n;
  }
  return st;
}

// v2 writes a version 2 header: signature, |ver_cmd|, |fam|, the length
// field |len_field|, then |payload_len| bytes of |payload|. It returns the
// header's size.
static size_t v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam, uint16_t len_field,
                 const uint8_t *payload, size_t payload_len) {
  memcpy(out, kSig, 12);
  out[12] = ver_cmd;
  out[13] = fam;
  out[14] = (uint8_t)(len_field >> 8);
  out[15] = (uint8_t)len_field;
  if (payload_len > 0) memcpy(out + 16, payload, payload_len);
  return 16 + payload_len;
}

// expect_addr checks that |a| is |ip| (IPv4 or IPv6 text) and |port|.
static void expect_addr(const fg_proxy_addr *a, const char *ip, uint16_t port) {
  char text[64];
  int v6 = strchr(ip, ':') != NULL;
  assert_int_equal(a->sa.sa_family, v6 ? AF_INET6 : AF_INET);
  inet_ntop(a->sa.sa_family, v6 ? (const void *)&a->in6.sin6_addr : (const void *)&a->in.sin_addr,
            text, sizeof(text));
  assert_string_equal(text, ip);
  assert_int_equal(ntohs(v6 ? a->in6.sin6_port : a->in.sin_port), port);
}

// accept_all checks that |in| (|len| bytes, of which the header is the
// first |hdr_len|) parses to the same result whole, byte by byte and in
// 5-byte pieces, leaving the bytes after the header; and that every proper
// prefix of the header asks for more.
static const fg_proxy_result *accept_all(fg_proxy_header *p, const uint8_t *in, size_t len,
                                         size_t hdr_len) {
  static const size_t kChunks[] = {1, 5, 4096};
  fg_proxy_result first;
  for (size_t k = 0; k < sizeof(kChunks) / sizeof(kChunks[0]); k++) {
    size_t used = 0;
    assert_int_equal(run(p, in, len, kChunks[k], &used), FG_PROXY_DONE);
    assert_int_equal(used, hdr_len);
    assert_non_null(fg_proxy_header_result(p));
    assert_int_equal(fg_proxy_header_error(p), FG_PROXY_OK);
    if (k == 0) {
      first = *fg_proxy_header_result(p);
    } else {
      assert_memory_equal(&first, fg_proxy_header_result(p), sizeof(first));
    }
  }
  for (size_t cut = 0; cut < hdr_len; cut++) {
    size_t used = 0;
    fg_proxy_status st = run(p, in, cut, 1, &used);
    assert_int_equal(st, FG_PROXY_NEED_MORE);
    assert_int_equal(used, cut);
    assert_null(fg_proxy_header_result(p));
  }
  // Once done, more bytes are the stream's.
  size_t used = 0;
  run(p, in, hdr_len, 4096, &used);
  assert_int_equal(fg_proxy_header_feed(p, (const uint8_t *)"x", 1, &used), FG_PROXY_DONE);
  assert_int_equal(used, 0);
  return fg_proxy_header_result(p);
}

static void expect_refused(const uint8_t *in, size_t len, fg_proxy_error want) {
  fg_proxy_header p;
  static const size_t kChunks[] = {1, 7, 4096};
  for (size_t k = 0; k < sizeof(kChunks) / sizeof(kChunks[0]); k++) {
    size_t used = 0;
    fg_proxy_status st = run(&p, in, len, kChunks[k], &used);
    if (st != FG_PROXY_FAILED) fail_msg("accepted or incomplete (chunk %zu)", kChunks[k]);
    if (fg_proxy_header_error(&p) != want) {
      fail_msg("refused as %s, want %s (chunk %zu)", fg_proxy_error_name(fg_proxy_header_error(&p)),
               fg_proxy_error_name(want), kChunks[k]);
    }
    assert_null(fg_proxy_header_result(&p));
    assert_int_equal(fg_proxy_header_feed(&p, in, len, &used), FG_PROXY_FAILED);
    assert_int_equal(used, 0);
  }
}

static void expect_line_refused(const char *line, fg_proxy_error want) {
  expect_refused((const uint8_t *)line, strlen(line), want);
}

// §2.1: TCP4 and TCP6 lines, addresses and ports, followed by the stream.
static void test_proxy_protocol_2_1_v1_tcp4_tcp6(void **state) {
  fg_proxy_header p;
  const char *in = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 5269\r\n<?xml version='1.0'?>";
  size_t hdr = strlen("PROXY TCP4 192.0.2.7 198.51.100.1 56324 5269\r\n");
  const fg_proxy_result *r = accept_all(&p, (const uint8_t *)in, strlen(in), hdr);
  assert_int_equal(r->version, 1);
  assert_true(r->has_addresses);
  expect_addr(&r->src, "192.0.2.7", 56324);
  expect_addr(&r->dst, "198.51.100.1", 5269);

  in = "PROXY TCP6 2001:db8::7 2001:db8::1 0 65535\r\n\x16\x03\x01";
  hdr = strlen("PROXY TCP6 2001:db8::7 2001:db8::1 0 65535\r\n");
  r = accept_all(&p, (const uint8_t *)in, strlen(in), hdr);
  assert_true(r->has_addresses);
  expect_addr(&r->src, "2001:db8::7", 0);
  expect_addr(&r->dst, "2001:db8::1", 65535);

  // The longest TCP6 line (§2.1: 104 bytes).
  in = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
  assert_int_equal(strlen(in), 104);
  r = accept_all(&p, (const uint8_t *)in, strlen(in), strlen(in));
  expect_addr(&r->src, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
}

// §2.1: IPv6 addresses in every form inet_pton reads (compressed, upper
// case hex, an IPv4-mapped address with its dotted tail, the unspecified
// address), ports 0 and 65535; an IPv4 address with a leading zero
// ("heading zeroes are not permitted"), a zone index, an address with a
// space or one of the other family are refused.
static void test_proxy_protocol_2_1_v1_address_forms(void **state) {
  static const struct {
    const char *line, *src, *dst;
    uint16_t sport, dport;
  } kOk[] = {
      {"PROXY TCP6 ::ffff:192.0.2.7 ::1 0 65535\r\n", "::ffff:192.0.2.7", "::1", 0, 65535},
      {"PROXY TCP6 2001:DB8::A :: 65535 0\r\n", "2001:db8::a", "::", 65535, 0},
      {"PROXY TCP6 2001:0db8:0000:0000:0000:0000:0000:0007 1:: 5269 5270\r\n", "2001:db8::7",
       "1::", 5269, 5270},
      {"PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", "0.0.0.0", "255.255.255.255", 0, 65535},
  };
  fg_proxy_header p;
  for (size_t i = 0; i < sizeof(kOk) / sizeof(kOk[0]); i++) {
    const fg_proxy_result *r =
        accept_all(&p, (const uint8_t *)kOk[i].line, strlen(kOk[i].line), strlen(kOk[i].line));
    assert_true(r->has_addresses);
    expect_addr(&r->src, kOk[i].src, kOk[i].sport);
    expect_addr(&r->dst, kOk[i].dst, kOk[i].dport);
  }
  static const char *const kBad[] = {
      "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.08 1 2\r\n",
      "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
      "PROXY TCP6 ::ffff:1.2.3.4 ::ffff:1.2.3 1 2\r\n",
      "PROXY TCP6 1::2::3 ::1 1 2\r\n",
      "PROXY TCP6 12345::1 ::1 1 2\r\n",
      "PROXY TCP4 ::ffff:1.2.3.4 5.6.7.8 1 2\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.8 00 2\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 0x10\r\n",
  };
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    expect_line_refused(kBad[i], FG_PROXY_ERR_BAD_ADDRESS);
  }
  // The grammar's words are upper case.
  expect_line_refused("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", FG_PROXY_ERR_BAD_FAMILY);
  expect_line_refused("PROXY unknown\r\n", FG_PROXY_ERR_BAD_FAMILY);
  expect_line_refused("Proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", FG_PROXY_ERR_BAD_SIGNATURE);
  expect_line_refused(" PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", FG_PROXY_ERR_BAD_SIGNATURE);
}

// §2.1: UNKNOWN: whatever follows up to the CRLF is ignored; the
// connection's own addresses stand. The worst case is 107 bytes.
static void test_proxy_protocol_2_1_v1_unknown(void **state) {
  fg_proxy_header p;
  const char *in = "PROXY UNKNOWN\r\nrest";
  const fg_proxy_result *r = accept_all(&p, (const uint8_t *)in, strlen(in), 15);
  assert_int_equal(r->version, 1);
  assert_false(r->has_addresses);
  char line[200];
  snprintf(line, sizeof(line), "PROXY UNKNOWN %s %s 65535 65535\r\n",
           "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  assert_int_equal(strlen(line), FG_PROXY_V1_MAX);
  r = accept_all(&p, (const uint8_t *)line, strlen(line), strlen(line));
  assert_false(r->has_addresses);
  // One byte more is over the limit.
  snprintf(line, sizeof(line), "PROXY UNKNOWN %s %s 65535 655350\r\n",
           "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  expect_line_refused(line, FG_PROXY_ERR_BAD_LINE);
}

// §2.1: the grammar is strict: one space between fields, decimal ports
// 0..65535 without leading zeros, addresses of the family named, CRLF.
static void test_proxy_protocol_2_1_v1_malformed(void **state) {
  static const struct {
    const char *line;
    fg_proxy_error want;
  } kCases[] = {
      {"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", FG_PROXY_ERR_BAD_SIGNATURE},
      {"PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", FG_PROXY_ERR_BAD_SIGNATURE},
      {"<?xml version='1.0'?><stream:stream>", FG_PROXY_ERR_BAD_SIGNATURE},
      {"\x16\x03\x01\x02\x00", FG_PROXY_ERR_BAD_SIGNATURE},
      {"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", FG_PROXY_ERR_BAD_FAMILY},
      {"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", FG_PROXY_ERR_BAD_FAMILY},
      {"PROXY UNKNOWNX\r\n", FG_PROXY_ERR_BAD_FAMILY},
      {"PROXY \r\n", FG_PROXY_ERR_BAD_FAMILY},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", FG_PROXY_ERR_BAD_LINE},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", FG_PROXY_ERR_BAD_LINE},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", FG_PROXY_ERR_BAD_LINE},
      {"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", FG_PROXY_ERR_BAD_LINE},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", FG_PROXY_ERR_BAD_LINE},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", FG_PROXY_ERR_BAD_LINE},
      {"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", FG_PROXY_ERR_BAD_LINE},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\x80\r\n", FG_PROXY_ERR_BAD_LINE},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", FG_PROXY_ERR_BAD_ADDRESS},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", FG_PROXY_ERR_BAD_ADDRESS},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", FG_PROXY_ERR_BAD_ADDRESS},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", FG_PROXY_ERR_BAD_ADDRESS},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 999999\r\n", FG_PROXY_ERR_BAD_ADDRESS},
      {"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", FG_PROXY_ERR_BAD_ADDRESS},
      {"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", FG_PROXY_ERR_BAD_ADDRESS},
      {"PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n", FG_PROXY_ERR_BAD_ADDRESS},
      {"PROXY TCP6 1.2.3.4 2001:db8::1 1 2\r\n", FG_PROXY_ERR_BAD_ADDRESS},
      {"PROXY TCP6 2001:db8::g 2001:db8::1 1 2\r\n", FG_PROXY_ERR_BAD_ADDRESS},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    expect_line_refused(kCases[i].line, kCases[i].want);
  }
  // No CRLF within 107 bytes.
  char line[300];
  memset(line, 'A', sizeof(line));
  memcpy(line, "PROXY UNKNOWN ", 14);
  expect_refused((const uint8_t *)line, sizeof(line), FG_PROXY_ERR_BAD_LINE);
}

// §2.2: PROXY over IPv4 and IPv6 with STREAM: addresses and ports in
// network order, then the stream's bytes.
static void test_proxy_protocol_2_2_v2_inet_inet6(void **state) {
  fg_proxy_header p;
  uint8_t buf[256];
  static const uint8_t a4[12] = {192, 0, 2, 7, 198, 51, 100, 1, 0xDC, 0x04, 0x14, 0x95};
  size_t n = v2(buf, 0x21, 0x11, 12, a4, sizeof(a4));
  memcpy(buf + n, "<?xml", 5);
  const fg_proxy_result *r = accept_all(&p, buf, n + 5, n);
  assert_int_equal(r->version, 2);
  assert_true(r->has_addresses);
  expect_addr(&r->src, "192.0.2.7", 56324);
  expect_addr(&r->dst, "198.51.100.1", 5269);

  uint8_t a6[36] = {0};
  a6[0] = 0x20, a6[1] = 0x01, a6[2] = 0x0d, a6[3] = 0xb8, a6[15] = 7;
  a6[16] = 0x20, a6[17] = 0x01, a6[18] = 0x0d, a6[19] = 0xb8, a6[31] = 1;
  a6[32] = 0x01, a6[33] = 0x02, a6[34] = 0x14, a6[35] = 0x96;
  n = v2(buf, 0x21, 0x21, 36, a6, sizeof(a6));
  buf[n] = 0x16;  // a ClientHello follows
  r = accept_all(&p, buf, n + 1, n);
  expect_addr(&r->src, "2001:db8::7", 258);
  expect_addr(&r->dst, "2001:db8::1", 5270);
}

// §2.2 and §2.2.1-§2.2.8: TLVs after the addresses (ALPN, authority, NOOP,
// unique ID, SSL with sub-TLVs, NETNS, a custom type) are skipped (CRC32C,
// which is checked: below).
static void test_proxy_protocol_2_2_v2_tlvs_skipped(void **state) {
  fg_proxy_header p;
  uint8_t payload[400], buf[512];
  size_t k = 0;
  static const uint8_t a4[12] = {10, 1, 2, 3, 10, 9, 9, 9, 0x30, 0x39, 0x14, 0x95};
  memcpy(payload, a4, 12);
  k = 12;
  static const uint8_t tlvs[] = {
      0x01, 0x00, 0x0B, 'x',  'm',  'p',  'p',  '-',  's', 'e', 'r', 'v', 'e', 'r',  // ALPN
      0x02, 0x00, 0x09, 'a',  '.',  'e',  'x',  'a',  'm', 'p', 'l', 'e',            // AUTHORITY
      0x04, 0x00, 0x00,                                                              // NOOP, empty
      0x05, 0x00, 0x04, 'u',  'i',  'd',  '1',                                       // UNIQUE_ID
      0x20, 0x00, 0x0C, 0x01, 0x00, 0x00, 0x00, 0x00,                                // SSL: client,
      0x21, 0x00, 0x04, 'T',  'L',  'S',  '1',  // verify, version
      0x30, 0x00, 0x02, 'n',  's',              // NETNS
      0xE0, 0x00, 0x01, 0x7F,                   // custom
  };
  memcpy(payload + k, tlvs, sizeof(tlvs));
  k += sizeof(tlvs);
  size_t n = v2(buf, 0x21, 0x11, (uint16_t)k, payload, k);
  memcpy(buf + n, "<stream", 7);
  const fg_proxy_result *r = accept_all(&p, buf, n + 7, n);
  expect_addr(&r->src, "10.1.2.3", 12345);
  expect_addr(&r->dst, "10.9.9.9", 5269);
}

// §2.2: LOCAL (the balancer's own health checks): the block is discarded
// whatever it holds and the connection's own endpoints stand; an UNSPEC
// family under PROXY likewise.
static void test_proxy_protocol_2_2_v2_local_and_unspec(void **state) {
  fg_proxy_header p;
  uint8_t buf[512];
  size_t n = v2(buf, 0x20, 0x00, 0, NULL, 0);
  const fg_proxy_result *r = accept_all(&p, buf, n, n);
  assert_int_equal(r->version, 2);
  assert_false(r->has_addresses);

  static const uint8_t a4[15] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0x04, 0x00, 0x00};
  n = v2(buf, 0x20, 0x11, sizeof(a4), a4, sizeof(a4));
  r = accept_all(&p, buf, n, n);
  assert_false(r->has_addresses);

  uint8_t unix_block[216];
  memset(unix_block, 0x41, sizeof(unix_block));
  n = v2(buf, 0x20, 0x31, sizeof(unix_block), unix_block, sizeof(unix_block));
  r = accept_all(&p, buf, n, n);
  assert_false(r->has_addresses);

  static const uint8_t noop[3] = {0x04, 0x00, 0x00};
  n = v2(buf, 0x21, 0x00, sizeof(noop), noop, sizeof(noop));
  r = accept_all(&p, buf, n, n);
  assert_false(r->has_addresses);
}

// §2.2: each of the 12 signature bytes is checked as it arrives.
static void test_proxy_protocol_2_2_v2_wrong_signature(void **state) {
  uint8_t buf[64];
  static const uint8_t a4[12] = {0};
  for (size_t i = 0; i < 12; i++) {
    size_t n = v2(buf, 0x21, 0x11, 12, a4, sizeof(a4));
    buf[i] ^= 0x20;
    expect_refused(buf, n, FG_PROXY_ERR_BAD_SIGNATURE);
  }
}

// §2.2: version 2 only; commands LOCAL (0) and PROXY (1) only; families
// INET, INET6 (over STREAM) and UNSPEC only for a proxied connection.
static void test_proxy_protocol_2_2_v2_version_command_family(void **state) {
  uint8_t buf[300], block[216] = {0};
  static const uint8_t versions[] = {0x01, 0x11, 0x31, 0xF1};
  for (size_t i = 0; i < sizeof(versions); i++) {
    size_t n = v2(buf, versions[i], 0x11, 12, block, 12);
    expect_refused(buf, n, FG_PROXY_ERR_BAD_VERSION);
  }
  for (uint8_t cmd = 2; cmd < 16; cmd++) {
    size_t n = v2(buf, (uint8_t)(0x20 | cmd), 0x11, 12, block, 12);
    expect_refused(buf, n, FG_PROXY_ERR_BAD_COMMAND);
  }
  // Not among §2.2's valid combinations (UDP and UNIX ones are, below).
  static const uint8_t families[] = {0x01, 0x02, 0x10, 0x20, 0x30, 0x41, 0x13, 0x23, 0x33, 0xFF};
  for (size_t i = 0; i < sizeof(families); i++) {
    size_t n = v2(buf, 0x21, families[i], 216, block, 216);
    expect_refused(buf, n, FG_PROXY_ERR_BAD_FAMILY);
  }
}

// §2.2: "A receiver is not required to implement other ones, provided that
// it automatically falls back to the UNSPEC mode for the valid combinations
// above that it does not support": UDP over IPv4 or IPv6 and UNIX stream or
// datagram under PROXY are accepted with the connection's own endpoints,
// their address block (12, 36, 216 bytes) and any TLVs skipped, and the
// bytes after the header left to the stream.
static void test_proxy_protocol_2_2_v2_udp_and_unix_fall_back_to_unspec(void **state) {
  static const struct {
    uint8_t fam;
    size_t block;
  } kCases[] = {{0x12, 12}, {0x22, 36}, {0x31, 216}, {0x32, 216}};
  fg_proxy_header p;
  uint8_t buf[512], payload[300];
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    memset(payload, 0x2F, kCases[i].block);  // "/////...": a UNIX path or any bytes
    size_t k = kCases[i].block;
    static const uint8_t tlvs[] = {0x04, 0x00, 0x02, 0xAA, 0xBB, 0xE0, 0x00, 0x00};
    memcpy(payload + k, tlvs, sizeof(tlvs));
    k += sizeof(tlvs);
    size_t n = v2(buf, 0x21, kCases[i].fam, (uint16_t)k, payload, k);
    memcpy(buf + n, "<?xml", 5);
    const fg_proxy_result *r = accept_all(&p, buf, n + 5, n);
    assert_int_equal(r->version, 2);
    assert_false(r->has_addresses);
    // Without TLVs.
    n = v2(buf, 0x21, kCases[i].fam, (uint16_t)kCases[i].block, payload, kCases[i].block);
    buf[n] = 0x16;
    r = accept_all(&p, buf, n + 1, n);
    assert_false(r->has_addresses);
    // A block shorter than the family's is refused; a TLV running past the
    // header too.
    n = v2(buf, 0x21, kCases[i].fam, (uint16_t)(kCases[i].block - 1), payload, kCases[i].block - 1);
    expect_refused(buf, n, FG_PROXY_ERR_BAD_LENGTH);
    payload[kCases[i].block] = 0x01, payload[kCases[i].block + 1] = 0x00;
    payload[kCases[i].block + 2] = 9;
    n = v2(buf, 0x21, kCases[i].fam, (uint16_t)(kCases[i].block + 3), payload, kCases[i].block + 3);
    expect_refused(buf, n, FG_PROXY_ERR_BAD_TLV);
  }
}

// §2.2: LOCAL: "the receiver must accept this connection as valid and must
// use the real connection endpoints and discard the protocol block
// including the family (which is ignored)", and "must not assume zero is
// presented for LOCAL connections": whatever family and length (within the
// bound), the block is skipped. UNSPEC under PROXY: "the receiver should
// ignore address information", whatever the block holds.
static void test_proxy_protocol_2_2_v2_local_and_unspec_ignore_the_block(void **state) {
  fg_proxy_header p;
  uint8_t buf[512], junk[64];
  memset(junk, 0xFF, sizeof(junk));  // not TLVs: a type 0xFF of length 65535
  static const struct {
    uint8_t cmd, fam;
    uint16_t len;
  } kCases[] = {
      {0x20, 0x11, 0}, {0x20, 0x11, 4}, {0x20, 0x21, 12}, {0x20, 0x31, 0},
      {0x20, 0x00, 7}, {0x20, 0x55, 3}, {0x21, 0x00, 7},  {0x21, 0x00, 64},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    size_t n = v2(buf, kCases[i].cmd, kCases[i].fam, kCases[i].len, junk, kCases[i].len);
    memcpy(buf + n, "<?xml", 5);
    const fg_proxy_result *r = accept_all(&p, buf, n + 5, n);
    assert_int_equal(r->version, 2);
    assert_false(r->has_addresses);
  }
  // The bound on the length still holds.
  size_t n = v2(buf, 0x20, 0x11, FG_PROXY_V2_MAX_LEN + 1, junk, 0);
  expect_refused(buf, n, FG_PROXY_ERR_BAD_LENGTH);
}

// §2.2: the length field bounds the header: above FG_PROXY_V2_MAX_LEN (up
// to 65535), or shorter than the family's address block, is refused at the
// 16th byte, before any of it is read.
static void test_proxy_protocol_2_2_v2_length_bounds(void **state) {
  uint8_t buf[64], block[36] = {0};
  static const struct {
    uint8_t fam;
    uint16_t len;
  } kCases[] = {
      {0x11, 0xFFFF}, {0x11, FG_PROXY_V2_MAX_LEN + 1},
      {0x00, 0x8000}, {0x11, 11},
      {0x11, 0},      {0x21, 35},
      {0x21, 12},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    size_t n = v2(buf, 0x21, kCases[i].fam, kCases[i].len, block, 0);
    expect_refused(buf, n, FG_PROXY_ERR_BAD_LENGTH);
  }
  // The bound itself is accepted (skipped TLVs filling it).
  static uint8_t big[16 + FG_PROXY_V2_MAX_LEN];
  uint8_t payload[FG_PROXY_V2_MAX_LEN] = {0};
  payload[12] = 0xE1;
  payload[13] = (uint8_t)((FG_PROXY_V2_MAX_LEN - 15) >> 8);
  payload[14] = (uint8_t)(FG_PROXY_V2_MAX_LEN - 15);
  size_t n = v2(big, 0x21, 0x11, FG_PROXY_V2_MAX_LEN, payload, sizeof(payload));
  fg_proxy_header p;
  size_t used = 0;
  assert_int_equal(run(&p, big, n, 1, &used), FG_PROXY_DONE);
  assert_int_equal(used, n);
}

// §2.2: a TLV (type, 2-byte length, value) must end within the header.
static void test_proxy_protocol_2_2_v2_tlv_overrun(void **state) {
  uint8_t buf[128], payload[64] = {0};
  // A TLV claiming 10 bytes with 5 left.
  payload[12] = 0x01, payload[13] = 0x00, payload[14] = 10;
  size_t n = v2(buf, 0x21, 0x11, 12 + 3 + 5, payload, 12 + 3 + 5);
  expect_refused(buf, n, FG_PROXY_ERR_BAD_TLV);
  // A TLV claiming 65535 bytes.
  payload[13] = 0xFF, payload[14] = 0xFF;
  n = v2(buf, 0x21, 0x11, 12 + 3, payload, 12 + 3);
  expect_refused(buf, n, FG_PROXY_ERR_BAD_TLV);
  // One or two bytes of a TLV header left at the end.
  for (uint16_t tail = 1; tail <= 2; tail++) {
    memset(payload + 12, 0x04, 3);
    n = v2(buf, 0x21, 0x11, (uint16_t)(12 + tail), payload, 12 + tail);
    expect_refused(buf, n, FG_PROXY_ERR_BAD_TLV);
  }
  // The same under INET6.
  memset(payload, 0, sizeof(payload));
  payload[36] = 0x02, payload[37] = 0x00, payload[38] = 0x08;
  n = v2(buf, 0x21, 0x21, 36 + 3 + 7, payload, 36 + 3 + 7);
  expect_refused(buf, n, FG_PROXY_ERR_BAD_TLV);
}

// crc32c is CRC-32C (Castagnoli, RFC 3720 §B.4), bit by bit: the test's own
// reference, independent of the parser's.
static uint32_t crc32c(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
  }
  return ~c;
}

// with_crc writes a PROXY TCP4 header whose TLVs are |before|, a CRC32C TLV
// and |after|, with the checksum of the whole header (§2.2.3: computed with
// the TLV's value zero, stored in network order) xored with |flip|.
static size_t with_crc(uint8_t *buf, const uint8_t *before, size_t nb, const uint8_t *after,
                       size_t na, uint32_t flip) {
  uint8_t payload[256];
  static const uint8_t a4[12] = {203, 0, 113, 9, 10, 0, 0, 1, 0xC3, 0x50, 0x14, 0x96};
  size_t k = 0;
  memcpy(payload, a4, 12);
  k = 12;
  memcpy(payload + k, before, nb);
  k += nb;
  size_t at = 16 + k + 3;
  static const uint8_t tlv[7] = {0x03, 0x00, 0x04, 0, 0, 0, 0};
  memcpy(payload + k, tlv, sizeof(tlv));
  k += sizeof(tlv);
  memcpy(payload + k, after, na);
  k += na;
  size_t n = v2(buf, 0x21, 0x11, (uint16_t)k, payload, k);
  uint32_t c = crc32c(buf, n) ^ flip;
  buf[at] = (uint8_t)(c >> 24), buf[at + 1] = (uint8_t)(c >> 16);
  buf[at + 2] = (uint8_t)(c >> 8), buf[at + 3] = (uint8_t)c;
  return n;
}

// §2.2.3 PP2_TYPE_CRC32C: a receiver that supports the checksum "must treat
// the TCP connection providing the header as invalid" when it does not
// match. A right one is accepted wherever it stands among the TLVs; a wrong
// one (any bit), one of another length than 4, or a second one are refused.
static void test_proxy_protocol_2_2_3_crc32c_checked(void **state) {
  fg_proxy_header p;
  uint8_t buf[512];
  // The reference itself: RFC 3720 §B.4's 32 bytes of zeros.
  static const uint8_t zeros[32] = {0};
  assert_int_equal(crc32c(zeros, sizeof(zeros)), 0x8A9136AA);
  static const uint8_t alpn[] = {0x01, 0x00, 0x0B, 'x', 'm', 'p', 'p',
                                 '-',  's',  'e',  'r', 'v', 'e', 'r'};
  static const uint8_t noop[] = {0x04, 0x00, 0x02, 0xAB, 0xCD};
  size_t n = with_crc(buf, NULL, 0, NULL, 0, 0);
  memcpy(buf + n, "<?xml", 5);
  const fg_proxy_result *r = accept_all(&p, buf, n + 5, n);
  expect_addr(&r->src, "203.0.113.9", 50000);
  n = with_crc(buf, alpn, sizeof(alpn), noop, sizeof(noop), 0);
  buf[n] = 0x16;
  r = accept_all(&p, buf, n + 1, n);
  expect_addr(&r->dst, "10.0.0.1", 5270);
  for (int bit = 0; bit < 32; bit += 7) {
    n = with_crc(buf, alpn, sizeof(alpn), noop, sizeof(noop), 1u << bit);
    expect_refused(buf, n, FG_PROXY_ERR_BAD_CHECKSUM);
  }
  // A right checksum, then a byte of the header changed (an address, a
  // TLV's value): refused.
  n = with_crc(buf, alpn, sizeof(alpn), noop, sizeof(noop), 0);
  buf[17] ^= 1;
  expect_refused(buf, n, FG_PROXY_ERR_BAD_CHECKSUM);
  n = with_crc(buf, alpn, sizeof(alpn), noop, sizeof(noop), 0);
  buf[n - 1] ^= 0x80;
  expect_refused(buf, n, FG_PROXY_ERR_BAD_CHECKSUM);
  // Not 4 bytes long.
  static const uint8_t short_crc[] = {0x03, 0x00, 0x03, 1, 2, 3};
  static const uint8_t a4[12] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2};
  uint8_t payload[64];
  memcpy(payload, a4, 12);
  memcpy(payload + 12, short_crc, sizeof(short_crc));
  n = v2(buf, 0x21, 0x11, 12 + sizeof(short_crc), payload, 12 + sizeof(short_crc));
  expect_refused(buf, n, FG_PROXY_ERR_BAD_CHECKSUM);
  // Two of them (the second zero-valued, as if the first were the only one).
  static const uint8_t second[] = {0x03, 0x00, 0x04, 0, 0, 0, 0};
  n = with_crc(buf, NULL, 0, second, sizeof(second), 0);
  expect_refused(buf, n, FG_PROXY_ERR_BAD_CHECKSUM);
}

// Every reason has a metric label and a sentence.
static void test_proxy_error_names(void **state) {
  for (int e = 0; e < FG_PROXY_ERR_COUNT; e++) {
    assert_non_null(fg_proxy_error_name((fg_proxy_error)e));
    assert_non_null(fg_proxy_error_text((fg_proxy_error)e));
    assert_string_not_equal(fg_proxy_error_name((fg_proxy_error)e), "unknown");
  }
  assert_string_equal(fg_proxy_error_name(FG_PROXY_ERR_COUNT), "unknown");
  assert_string_equal(fg_proxy_error_name(FG_PROXY_ERR_UNTRUSTED), "untrusted-source");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_proxy_protocol_2_1_v1_tcp4_tcp6),
      cmocka_unit_test(test_proxy_protocol_2_1_v1_unknown),
      cmocka_unit_test(test_proxy_protocol_2_1_v1_malformed),
      cmocka_unit_test(test_proxy_protocol_2_1_v1_address_forms),
      cmocka_unit_test(test_proxy_protocol_2_2_v2_inet_inet6),
      cmocka_unit_test(test_proxy_protocol_2_2_v2_tlvs_skipped),
      cmocka_unit_test(test_proxy_protocol_2_2_v2_local_and_unspec),
      cmocka_unit_test(test_proxy_protocol_2_2_v2_wrong_signature),
      cmocka_unit_test(test_proxy_protocol_2_2_v2_version_command_family),
      cmocka_unit_test(test_proxy_protocol_2_2_v2_udp_and_unix_fall_back_to_unspec),
      cmocka_unit_test(test_proxy_protocol_2_2_v2_local_and_unspec_ignore_the_block),
      cmocka_unit_test(test_proxy_protocol_2_2_v2_length_bounds),
      cmocka_unit_test(test_proxy_protocol_2_2_v2_tlv_overrun),
      cmocka_unit_test(test_proxy_protocol_2_2_3_crc32c_checked),
      cmocka_unit_test(test_proxy_error_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
