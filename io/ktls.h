// ktls.h: moving a TLS 1.3 connection's record layer into the kernel (the
// `tls` TCP ULP) once BoringSSL has finished the handshake: key/IV derivation
// (RFC 8446 §7.1/§7.3 HKDF-Expand-Label), TLS_TX/TLS_RX crypto_info, and
// KeyUpdate re-keying (RFC 8446 §7.2).
#ifndef FEDGATE_IO_KTLS_H
#define FEDGATE_IO_KTLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/base.h>

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

#endif  // FEDGATE_IO_KTLS_H
