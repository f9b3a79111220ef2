// dialback_key.c: XEP-0185 keys with a hand-rolled HMAC over BoringSSL's
// SHA-256 block functions, so that nothing allocates (BoringSSL's HMAC_CTX may
// allocate digest state).
#include "crypto/dialback_key.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/mem.h>

#define HMAC_BLOCK 64  // SHA-256 block size; the hex key is exactly one block

static const char kHex[] = "0123456789abcdef";

static void hex_encode(uint8_t *out, const uint8_t *in, size_t in_len) {
  for (size_t i = 0; i < in_len; i++) {
    out[2 * i] = (uint8_t)kHex[in[i] >> 4];
    out[2 * i + 1] = (uint8_t)kHex[in[i] & 15];
  }
}

int fg_dialback_secret_init(fg_dialback_secret *s, const uint8_t *secret, size_t secret_len) {
  memset(s, 0, sizeof(*s));
  if (secret_len == 0) return 0;
  uint8_t digest[SHA256_DIGEST_LENGTH];
  uint8_t key[HMAC_BLOCK];  // XEP-0185 §3: the HMAC key is the lowercase hex digest
  uint8_t pad[HMAC_BLOCK];
  SHA256(secret, secret_len, digest);
  hex_encode(key, digest, sizeof(digest));
  // RFC 2104 §2: a key of exactly one block is used as it is.
  for (size_t i = 0; i < HMAC_BLOCK; i++) pad[i] = key[i] ^ 0x36;
  SHA256_Init(&s->inner_);
  SHA256_Update(&s->inner_, pad, sizeof(pad));
  for (size_t i = 0; i < HMAC_BLOCK; i++) pad[i] = key[i] ^ 0x5c;
  SHA256_Init(&s->outer_);
  SHA256_Update(&s->outer_, pad, sizeof(pad));
  OPENSSL_cleanse(digest, sizeof(digest));
  OPENSSL_cleanse(key, sizeof(key));
  OPENSSL_cleanse(pad, sizeof(pad));
  return 1;
}

void fg_dialback_secret_cleanup(fg_dialback_secret *s) {
  if (s != NULL) OPENSSL_cleanse(s, sizeof(*s));
}

static int is_ldh(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// domain_ok checks an LDH host name (RFC 1123 §2.1, RFC 5890 §2.3.1).
static int domain_ok(const char *d, size_t len) {
  if (d == NULL || len == 0 || len > 253) return 0;
  size_t label = 0;
  for (size_t i = 0; i < len; i++) {
    if (d[i] == '.') {
      if (label == 0 || d[i - 1] == '-') return 0;
      label = 0;
      continue;
    }
    if (!is_ldh(d[i])) return 0;
    if (label == 0 && d[i] == '-') return 0;
    if (++label > 63) return 0;
  }
  return label > 0 && d[len - 1] != '-';
}

static int stream_id_ok(const char *id, size_t len) {
  if (id == NULL || len == 0 || len > 1024) return 0;
  for (size_t i = 0; i < len; i++) {
    // Printable ASCII without space: the space is the field separator.
    if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f) return 0;
  }
  return 1;
}

int fg_dialback_key_inputs_ok(const char *receiving, size_t receiving_len, const char *originating,
                              size_t originating_len, const char *stream_id, size_t stream_id_len) {
  return domain_ok(receiving, receiving_len) && domain_ok(originating, originating_len) &&
         stream_id_ok(stream_id, stream_id_len);
}

int fg_dialback_key_generate(const fg_dialback_secret *s, uint8_t out[FG_DIALBACK_KEY_LEN],
                             const char *receiving, size_t receiving_len, const char *originating,
                             size_t originating_len, const char *stream_id, size_t stream_id_len) {
  if (!fg_dialback_key_inputs_ok(receiving, receiving_len, originating, originating_len, stream_id,
                                 stream_id_len)) {
    memset(out, '0', FG_DIALBACK_KEY_LEN);
    return 0;
  }
  SHA256_CTX ctx = s->inner_;
  uint8_t inner[SHA256_DIGEST_LENGTH], mac[SHA256_DIGEST_LENGTH];
  SHA256_Update(&ctx, receiving, receiving_len);
  SHA256_Update(&ctx, " ", 1);
  SHA256_Update(&ctx, originating, originating_len);
  SHA256_Update(&ctx, " ", 1);
  SHA256_Update(&ctx, stream_id, stream_id_len);
  SHA256_Final(inner, &ctx);
  ctx = s->outer_;
  SHA256_Update(&ctx, inner, sizeof(inner));
  SHA256_Final(mac, &ctx);
  hex_encode(out, mac, sizeof(mac));
  OPENSSL_cleanse(&ctx, sizeof(ctx));
  OPENSSL_cleanse(inner, sizeof(inner));
  OPENSSL_cleanse(mac, sizeof(mac));
  return 1;
}

int fg_dialback_key_verify(const fg_dialback_secret *s, const char *receiving, size_t receiving_len,
                           const char *originating, size_t originating_len, const char *stream_id,
                           size_t stream_id_len, const uint8_t *key, size_t key_len) {
  if (key == NULL || key_len != FG_DIALBACK_KEY_LEN) return 0;
  uint8_t expected[FG_DIALBACK_KEY_LEN], got[FG_DIALBACK_KEY_LEN];
  if (!fg_dialback_key_generate(s, expected, receiving, receiving_len, originating, originating_len,
                                stream_id, stream_id_len)) {
    return 0;
  }
  // Fold 'A'-'F' to lowercase. The received key is public; only the
  // comparison with the expected one must not leak timing (XEP-0185 §4).
  for (size_t i = 0; i < FG_DIALBACK_KEY_LEN; i++) {
    uint8_t c = key[i];
    got[i] = (c >= 'A' && c <= 'F') ? (uint8_t)(c | 0x20) : c;
  }
  int ok = CRYPTO_memcmp(expected, got, FG_DIALBACK_KEY_LEN) == 0;
  OPENSSL_cleanse(expected, sizeof(expected));
  return ok;
}
