// dialback_key.h: XEP-0185 dialback keys (generation and constant-time
// verification) for the authoritative and initiating roles of XEP-0220.
//
//   key = HEX(HMAC-SHA256(HEX(SHA-256(secret)), receiving ' ' originating ' ' id))
//
// The HMAC key is the 64-character lowercase hex string of SHA-256(secret), not
// the raw digest (XEP-0185 §3). The single spaces keep the inputs apart: a
// domain or stream id containing a space is refused, so two different input
// triples can never produce the same HMAC message (the CVE-2016-0756 class of
// bug, where "a.b"+"cc.d" and "a.bc"+"c.d" shared a key). Nothing here
// allocates.
#ifndef FEDGATE_CRYPTO_DIALBACK_KEY_H
#define FEDGATE_CRYPTO_DIALBACK_KEY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

// FG_DIALBACK_KEY_LEN is the length of a key: 64 lowercase hex characters.
#define FG_DIALBACK_KEY_LEN 64

// fg_dialback_secret holds the HMAC state derived from the dialback secret,
// precomputed once so that each key costs four SHA-256 blocks. Treat the
// fields as private. It holds key material: clean it up with
// fg_dialback_secret_cleanup.
typedef struct fg_dialback_secret {
  SHA256_CTX inner_;  // SHA-256 state after the ipad block
  SHA256_CTX outer_;  // SHA-256 state after the opad block
} fg_dialback_secret;

// fg_dialback_secret_init derives |s| from |secret| (any bytes, as read from
// the configured secret file). It returns 1, or 0 when |secret_len| is 0.
int fg_dialback_secret_init(fg_dialback_secret *s, const uint8_t *secret, size_t secret_len);

// fg_dialback_secret_cleanup wipes |s|.
void fg_dialback_secret_cleanup(fg_dialback_secret *s);

// fg_dialback_key_inputs_ok returns 1 when |receiving| and |originating| are
// valid LDH domain names (ASCII, labels of 1-63 letters, digits or hyphens,
// no hyphen at either end of a label, at most 253 characters, no trailing
// dot) and |stream_id| is 1 to 1024 printable ASCII characters other than
// space; 0 otherwise. Non-ASCII domains must be converted to A-labels first.
int fg_dialback_key_inputs_ok(const char *receiving, size_t receiving_len, const char *originating,
                              size_t originating_len, const char *stream_id, size_t stream_id_len);

// fg_dialback_key_generate writes the key for (receiving, originating,
// stream_id) to |out| as FG_DIALBACK_KEY_LEN lowercase hex characters (no NUL
// terminator). The inputs are used exactly as given (no case folding). It
// returns 1, or 0 when fg_dialback_key_inputs_ok rejects the inputs, in which
// case |out| is filled with '0' characters that no verification accepts.
int fg_dialback_key_generate(const fg_dialback_secret *s, uint8_t out[FG_DIALBACK_KEY_LEN],
                             const char *receiving, size_t receiving_len, const char *originating,
                             size_t originating_len, const char *stream_id, size_t stream_id_len);

// fg_dialback_key_verify recomputes the key for the inputs and compares it with
// |key| (hex, either case) in constant time. It returns 1 only when the inputs
// are acceptable, |key_len| is FG_DIALBACK_KEY_LEN and the keys are equal.
int fg_dialback_key_verify(const fg_dialback_secret *s, const char *receiving, size_t receiving_len,
                           const char *originating, size_t originating_len, const char *stream_id,
                           size_t stream_id_len, const uint8_t *key, size_t key_len);

#endif  // FEDGATE_CRYPTO_DIALBACK_KEY_H
