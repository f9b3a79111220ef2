// ktls.h: moving a TLS connection's record layer into the kernel (the `tls`
// TCP ULP) once BoringSSL has finished the handshake: TLS 1.3 key/IV
// derivation (RFC 8446 §7.1/§7.3 HKDF-Expand-Label), TLS 1.2 AES-GCM keys from
// the key block (RFC 5246 §6.3, RFC 5288 §3), TLS_TX/TLS_RX crypto_info, and
// KeyUpdate re-keying (RFC 8446 §7.2) where the kernel allows it.
#ifndef FEDGATE_IO_KTLS_H
#define FEDGATE_IO_KTLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/base.h>
#include <openssl/ssl.h>

// fg_ktls_probe returns 1 if this kernel offers the `tls` ULP, else 0 with
// the reason written to |why| (may be NULL). The result is cached.
int fg_ktls_probe(char *why, size_t why_len);

// fg_ktls_hkdf_expand_label computes RFC 8446 §7.1 HKDF-Expand-Label(secret,
// label, context, out_len) with |md|; |label| is given without the "tls13 "
// prefix. It returns 1 or 0.
int fg_ktls_hkdf_expand_label(const EVP_MD *md, const uint8_t *secret, size_t secret_len,
                              const char *label, const uint8_t *context, size_t context_len,
                              uint8_t *out, size_t out_len);

// fg_ktls_suite_supported returns 1 for the TLS 1.3 suites the kernel can
// take: TLS_AES_128_GCM_SHA256 (0x1301), TLS_AES_256_GCM_SHA384 (0x1302),
// TLS_CHACHA20_POLY1305_SHA256 (0x1303).
int fg_ktls_suite_supported(uint16_t suite);

// fg_ktls_derive writes the traffic key (|*key_len| bytes, at most 32) and
// the 12-byte IV for |suite| from a traffic |secret| (RFC 8446 §7.3). It
// returns 1 or 0.
int fg_ktls_derive(uint16_t suite, const uint8_t *secret, size_t secret_len, uint8_t *key,
                   size_t *key_len, uint8_t iv[12]);

// fg_ktls_next_secret derives application_traffic_secret_N+1 (RFC 8446 §7.2,
// label "traffic upd") into |out| (|secret_len| bytes). It returns 1 or 0.
int fg_ktls_next_secret(uint16_t suite, const uint8_t *secret, size_t secret_len, uint8_t *out);

// fg_ktls_set_ulp attaches the `tls` ULP to the connected socket |fd|. It
// returns 0 or -errno.
int fg_ktls_set_ulp(int fd);

enum fg_ktls_dir { FG_KTLS_TX = 1, FG_KTLS_RX = 2 };

// fg_ktls_install gives the kernel the keys of one direction: derived from
// |secret| for |suite|, starting at record sequence number |seq|. Calling it
// again on the same direction re-keys (KeyUpdate; kernels >= 6.14). It
// returns 0 or -errno.
int fg_ktls_install(int fd, enum fg_ktls_dir dir, uint16_t suite, const uint8_t *secret,
                    size_t secret_len, uint64_t seq);

// fg_ktls_send_record sends one record of content |type| (e.g. 22 for a
// handshake message such as KeyUpdate) through kernel TLS on |fd|. It returns
// 0 or -errno.
int fg_ktls_send_record(int fd, uint8_t type, const uint8_t *data, size_t len);

// fg_ktls_recv_record reads one record with its content type from a
// kernel-TLS socket (used when a plain recv fails with EIO: a non-data
// record). It returns the length, or -errno.
long fg_ktls_recv_record(int fd, uint8_t *type, uint8_t *out, size_t cap);

// fg_ktls_tls12_suite_supported returns 1 for the TLS 1.2 suites handed to
// the kernel: the ECDHE AES-GCM ones (0xc02b, 0xc02c, 0xc02f, 0xc030).
// ChaCha20-Poly1305 stays in user space.
int fg_ktls_tls12_suite_supported(uint16_t suite);

// fg_ktls_install_tls12 gives the kernel the keys of one direction of the
// TLS 1.2 AES-GCM connection |ssl| (handshake done): write key and 4-byte
// implicit IV (the "salt") from the key block, the record sequence number
// from SSL_get_read_sequence/SSL_get_write_sequence, and that same number as
// the first 8-byte explicit nonce (what BoringSSL sends). |server| says which
// half of the key block is ours. It returns 0 or -errno.
int fg_ktls_install_tls12(int fd, enum fg_ktls_dir dir, const SSL *ssl, int server);

// fg_ktls_rekey_probe returns 1 if this kernel accepts TLS_TX a second time on
// a TLS 1.3 socket (re-keying after a KeyUpdate: Linux >= 6.14), 0 if not or
// if there is no ULP at all. It uses a throw-away loopback connection.
int fg_ktls_rekey_probe(void);

#endif  // FEDGATE_IO_KTLS_H
