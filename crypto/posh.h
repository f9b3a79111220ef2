// posh.h: POSH documents (RFC 7711, PKIX over Secure HTTP): a strict,
// bounded reader of the JSON a domain publishes at
// https://DOMAIN/.well-known/posh/xmpp-server.json, the match of a peer's
// certificate against its fingerprints, and the writer of such a document
// for our own certificate.
//
// A document is either primary (RFC 7711 §3.2: "fingerprints", an array of
// objects whose members name a hash function from the IANA "Hash Function
// Textual Names" registry and carry the base64 of that hash over the whole
// DER certificate) or a reference (§3.3: "url", the https:// address of
// another POSH document, typically the hosting provider's). Both may carry
// "expires", the seconds a client may cache them.
//
// Pure functions: no I/O, no allocation, safe on any thread.
#ifndef FEDGATE_CRYPTO_POSH_H
#define FEDGATE_CRYPTO_POSH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// FG_POSH_MAX_DOCUMENT bounds the document's size in bytes: a POSH file
// holds a few fingerprints.
#define FG_POSH_MAX_DOCUMENT 65536
// FG_POSH_MAX_FINGERPRINTS bounds the usable fingerprints kept (key
// rollover needs two or three).
#define FG_POSH_MAX_FINGERPRINTS 16
// FG_POSH_MAX_DEPTH bounds the nesting of arrays and objects.
#define FG_POSH_MAX_DEPTH 8
// FG_POSH_MAX_URL bounds the reference URL.
#define FG_POSH_MAX_URL 2047

// fg_posh_hash names the hash functions used for matching. Others (sha-1,
// md5, ...) are skipped: too weak to prove anything.
typedef enum fg_posh_hash {
  FG_POSH_SHA256 = 1,
  FG_POSH_SHA384,
  FG_POSH_SHA512,
} fg_posh_hash;

typedef struct fg_posh_fingerprint {
  fg_posh_hash hash;
  uint8_t digest[64];  // the first fg_posh_hash_len(hash) bytes
} fg_posh_fingerprint;

// fg_posh_doc is a parsed document. Caller-owned, no heap memory.
typedef struct fg_posh_doc {
  fg_posh_fingerprint fingerprints[FG_POSH_MAX_FINGERPRINTS];
  size_t n_fingerprints;
  int primary;                    // "fingerprints" was present (it wins over "url")
  int has_expires;                // "expires" was present
  uint32_t expires;               // seconds (0: do not cache)
  char url[FG_POSH_MAX_URL + 1];  // reference document: https:// URL, else ""
} fg_posh_doc;

// fg_posh_status says why a document was refused.
typedef enum fg_posh_status {
  FG_POSH_OK = 0,
  FG_POSH_ERR_TOO_LARGE,      // over FG_POSH_MAX_DOCUMENT bytes
  FG_POSH_ERR_SYNTAX,         // not JSON (RFC 8259), or trailing bytes
  FG_POSH_ERR_TOO_DEEP,       // nesting over FG_POSH_MAX_DEPTH
  FG_POSH_ERR_NOT_OBJECT,     // the top level is not an object
  FG_POSH_ERR_DUPLICATE_KEY,  // a member name appears twice in one object
  FG_POSH_ERR_FINGERPRINTS,   // "fingerprints" malformed (type, base64, length, too many)
  FG_POSH_ERR_EXPIRES,        // "expires" not an integer in 0..2^31-1
  FG_POSH_ERR_URL,            // "url" not an https:// URL
  FG_POSH_ERR_EMPTY,          // neither a usable fingerprint nor a url
} fg_posh_status;

// fg_posh_status_name returns a short token for |s| ("syntax", "too-deep").
const char *fg_posh_status_name(fg_posh_status s);

// fg_posh_hash_len returns the digest length of |h| (0 if unknown).
size_t fg_posh_hash_len(fg_posh_hash h);

// fg_posh_parse reads the document |in| (|in_len| bytes, UTF-8 JSON) into
// |out|. It returns FG_POSH_OK, or the first problem found with a one-line
// explanation (byte offset included) in |why| (|why_len| bytes; may be 0).
// Unknown members and unknown hash names are skipped after being checked for
// well-formedness; a fingerprint object with none of the hashes above is
// skipped.
fg_posh_status fg_posh_parse(fg_posh_doc *out, const uint8_t *in, size_t in_len, char *why,
                             size_t why_len);

// fg_posh_match returns 1 when a fingerprint of |doc| is the hash of the
// DER certificate |der| (RFC 7711 §3.2: the whole certificate), else 0.
int fg_posh_match(const fg_posh_doc *doc, const uint8_t *der, size_t der_len);

// fg_posh_write puts into |out| (|cap| bytes) the primary document for the
// DER certificate |der|: its sha-256 and sha-512 fingerprints and, when
// |expires| is non-zero, "expires". It returns the length written (without
// the terminating NUL), or 0 when |cap| is too small.
size_t fg_posh_write(char *out, size_t cap, const uint8_t *der, size_t der_len, uint32_t expires);

#ifdef __cplusplus
}
#endif

#endif  // FEDGATE_CRYPTO_POSH_H
