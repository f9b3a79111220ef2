// ktls.c: kernel TLS attach. Everything here is plain syscalls; the runtime
// decides when a connection is at a safe point to call it (io/conn.c).
#include "io/ktls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/tls.h>
#include <openssl/digest.h>
#include <openssl/hkdf.h>
#include <openssl/mem.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

static int g_probe_result = -1;
static char g_probe_why[160];
static pthread_once_t g_probe_once = PTHREAD_ONCE_INIT;

static void probe_once(void) {
  FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
  if (f != NULL) {
    char line[256] = {0};
    if (fgets(line, sizeof(line), f) == NULL) line[0] = '\0';
    fclose(f);
    for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
      if (strcmp(tok, "tls") == 0) {
        g_probe_result = 1;
        return;
      }
    }
  }
  // The module may still be loadable on demand: setting the ULP on an
  // unconnected socket fails with ENOTCONN if it exists, ENOENT if not.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd >= 0) {
    int r = setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls"));
    int err = errno;
    close(fd);
    if (r == 0 || err == ENOTCONN) {
      g_probe_result = 1;
      return;
    }
    snprintf(g_probe_why, sizeof(g_probe_why),
             "kernel has no `tls` TCP ULP (setsockopt TCP_ULP \"tls\": %s)", strerror(err));
  } else {
    snprintf(g_probe_why, sizeof(g_probe_why), "socket(): %s", strerror(errno));
  }
  g_probe_result = 0;
}

int fg_ktls_probe(char *why, size_t why_len) {
  pthread_once(&g_probe_once, probe_once);
  if (why != NULL && why_len > 0) snprintf(why, why_len, "%s", g_probe_result ? "" : g_probe_why);
  return g_probe_result;
}

int fg_ktls_hkdf_expand_label(const EVP_MD *md, const uint8_t *secret, size_t secret_len,
                              const char *label, const uint8_t *context, size_t context_len,
                              uint8_t *out, size_t out_len) {
  // struct { uint16 length; opaque label<7..255> = "tls13 " + Label;
  //          opaque context<0..255>; } HkdfLabel;   (RFC 8446 §7.1)
  uint8_t info[2 + 1 + 255 + 1 + 255];
  size_t label_len = strlen(label);
  if (out_len > 0xffff || 6 + label_len > 255 || context_len > 255) return 0;
  size_t n = 0;
  info[n++] = (uint8_t)(out_len >> 8);
  info[n++] = (uint8_t)out_len;
  info[n++] = (uint8_t)(6 + label_len);
  memcpy(info + n, "tls13 ", 6);
  n += 6;
  memcpy(info + n, label, label_len);
  n += label_len;
  info[n++] = (uint8_t)context_len;
  if (context_len) memcpy(info + n, context, context_len);
  n += context_len;
  return HKDF_expand(out, out_len, md, secret, secret_len, info, n);
}

static const EVP_MD *suite_md(uint16_t suite, size_t *key_len) {
  switch (suite) {
    case 0x1301:
      *key_len = 16;
      return EVP_sha256();
    case 0x1302:
      *key_len = 32;
      return EVP_sha384();
    case 0x1303:
      *key_len = 32;
      return EVP_sha256();
    default:
      return NULL;
  }
}

int fg_ktls_suite_supported(uint16_t suite) {
  size_t k;
  return suite_md(suite, &k) != NULL;
}

int fg_ktls_derive(uint16_t suite, const uint8_t *secret, size_t secret_len, uint8_t *key,
                   size_t *key_len, uint8_t iv[12]) {
  const EVP_MD *md = suite_md(suite, key_len);
  if (md == NULL || secret_len != EVP_MD_size(md)) return 0;
  return fg_ktls_hkdf_expand_label(md, secret, secret_len, "key", NULL, 0, key, *key_len) &&
         fg_ktls_hkdf_expand_label(md, secret, secret_len, "iv", NULL, 0, iv, 12);
}

int fg_ktls_next_secret(uint16_t suite, const uint8_t *secret, size_t secret_len, uint8_t *out) {
  size_t k;
  const EVP_MD *md = suite_md(suite, &k);
  if (md == NULL || secret_len != EVP_MD_size(md)) return 0;
  return fg_ktls_hkdf_expand_label(md, secret, secret_len, "traffic upd", NULL, 0, out, secret_len);
}

int fg_ktls_set_ulp(int fd) {
  if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) != 0) return -errno;
  return 0;
}

static void put_seq(unsigned char out[8], uint64_t seq) {
  for (int i = 7; i >= 0; i--) {
    out[i] = (unsigned char)seq;
    seq >>= 8;
  }
}

int fg_ktls_install(int fd, enum fg_ktls_dir dir, uint16_t suite, const uint8_t *secret,
                    size_t secret_len, uint64_t seq) {
  uint8_t key[32], iv[12];
  size_t key_len;
  if (!fg_ktls_derive(suite, secret, secret_len, key, &key_len, iv)) return -EINVAL;
  union {
    struct tls12_crypto_info_aes_gcm_128 g128;
    struct tls12_crypto_info_aes_gcm_256 g256;
    struct tls12_crypto_info_chacha20_poly1305 cc;
  } info;
  size_t info_len;
  memset(&info, 0, sizeof(info));
  // For TLS 1.3 the kernel splits the 12-byte IV into a 4-byte salt and an
  // 8-byte "iv"; ChaCha20-Poly1305 takes all 12 as iv.
  switch (suite) {
    case 0x1301:
      info.g128.info.version = TLS_1_3_VERSION;
      info.g128.info.cipher_type = TLS_CIPHER_AES_GCM_128;
      memcpy(info.g128.key, key, 16);
      memcpy(info.g128.salt, iv, 4);
      memcpy(info.g128.iv, iv + 4, 8);
      put_seq(info.g128.rec_seq, seq);
      info_len = sizeof(info.g128);
      break;
    case 0x1302:
      info.g256.info.version = TLS_1_3_VERSION;
      info.g256.info.cipher_type = TLS_CIPHER_AES_GCM_256;
      memcpy(info.g256.key, key, 32);
      memcpy(info.g256.salt, iv, 4);
      memcpy(info.g256.iv, iv + 4, 8);
      put_seq(info.g256.rec_seq, seq);
      info_len = sizeof(info.g256);
      break;
    default:
      info.cc.info.version = TLS_1_3_VERSION;
      info.cc.info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
      memcpy(info.cc.key, key, 32);
      memcpy(info.cc.iv, iv, 12);
      put_seq(info.cc.rec_seq, seq);
      info_len = sizeof(info.cc);
      break;
  }
  int r = setsockopt(fd, SOL_TLS, dir == FG_KTLS_TX ? TLS_TX : TLS_RX, &info, (socklen_t)info_len);
  int err = errno;
  OPENSSL_cleanse(&info, sizeof(info));
  OPENSSL_cleanse(key, sizeof(key));
  OPENSSL_cleanse(iv, sizeof(iv));
  return r == 0 ? 0 : -err;
}

int fg_ktls_send_record(int fd, uint8_t type, const uint8_t *data, size_t len) {
  char cbuf[CMSG_SPACE(sizeof(uint8_t))];
  memset(cbuf, 0, sizeof(cbuf));
  struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_TLS;
  cm->cmsg_type = TLS_SET_RECORD_TYPE;
  cm->cmsg_len = CMSG_LEN(sizeof(uint8_t));
  *CMSG_DATA(cm) = type;
  ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
  if (n < 0) return -errno;
  return (size_t)n == len ? 0 : -EAGAIN;
}

long fg_ktls_recv_record(int fd, uint8_t *type, uint8_t *out, size_t cap) {
  char cbuf[CMSG_SPACE(sizeof(uint8_t))];
  struct iovec iov = {.iov_base = out, .iov_len = cap};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
  ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
  if (n < 0) return -errno;
  *type = 23;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level == SOL_TLS && cm->cmsg_type == TLS_GET_RECORD_TYPE) *type = *CMSG_DATA(cm);
  }
  return (long)n;
}

int fg_ktls_tls12_suite_supported(uint16_t suite) {
  return suite == 0xc02b || suite == 0xc02c || suite == 0xc02f || suite == 0xc030;
}

int fg_ktls_install_tls12(int fd, enum fg_ktls_dir dir, const SSL *ssl, int server) {
  const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
  if (SSL_version(ssl) != TLS1_2_VERSION || cipher == NULL) return -EINVAL;
  uint16_t suite = SSL_CIPHER_get_protocol_id(cipher);
  if (!fg_ktls_tls12_suite_supported(suite)) return -EINVAL;
  size_t key_len = (suite == 0xc02b || suite == 0xc02f) ? 16 : 32;
  // key_block = client_write_MAC_key | server_write_MAC_key | client_write_key
  //           | server_write_key | client_write_IV | server_write_IV
  // (RFC 5246 §6.3); AEAD suites have no MAC keys and a 4-byte IV (RFC 5288 §3).
  uint8_t block[2 * 32 + 2 * 4];
  size_t block_len = SSL_get_key_block_len(ssl);
  if (block_len != 2 * key_len + 2 * 4) return -EINVAL;
  if (!SSL_generate_key_block(ssl, block, block_len)) return -EINVAL;
  int client_half = (dir == FG_KTLS_TX) != (server != 0);
  const uint8_t *key = block + (client_half ? 0 : key_len);
  const uint8_t *salt = block + 2 * key_len + (client_half ? 0 : 4);
  uint64_t seq = dir == FG_KTLS_TX ? SSL_get_write_sequence(ssl) : SSL_get_read_sequence(ssl);
  union {
    struct tls12_crypto_info_aes_gcm_128 g128;
    struct tls12_crypto_info_aes_gcm_256 g256;
  } info;
  size_t info_len;
  memset(&info, 0, sizeof(info));
  if (key_len == 16) {
    info.g128.info.version = TLS_1_2_VERSION;
    info.g128.info.cipher_type = TLS_CIPHER_AES_GCM_128;
    memcpy(info.g128.key, key, 16);
    memcpy(info.g128.salt, salt, 4);
    put_seq(info.g128.iv, seq);
    put_seq(info.g128.rec_seq, seq);
    info_len = sizeof(info.g128);
  } else {
    info.g256.info.version = TLS_1_2_VERSION;
    info.g256.info.cipher_type = TLS_CIPHER_AES_GCM_256;
    memcpy(info.g256.key, key, 32);
    memcpy(info.g256.salt, salt, 4);
    put_seq(info.g256.iv, seq);
    put_seq(info.g256.rec_seq, seq);
    info_len = sizeof(info.g256);
  }
  int r = setsockopt(fd, SOL_TLS, dir == FG_KTLS_TX ? TLS_TX : TLS_RX, &info, (socklen_t)info_len);
  int err = errno;
  OPENSSL_cleanse(&info, sizeof(info));
  OPENSSL_cleanse(block, sizeof(block));
  return r == 0 ? 0 : -err;
}

int fg_ktls_rekey_probe(void) {
  if (!fg_ktls_probe(NULL, 0)) return 0;
  int ok = 0, lfd = -1, cfd = -1, afd = -1;
  struct sockaddr_in sin = {0};
  socklen_t sl = sizeof(sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(lfd, 1) != 0 ||
      getsockname(lfd, (struct sockaddr *)&sin, &sl) != 0)
    goto out;
  cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (cfd < 0 || connect(cfd, (struct sockaddr *)&sin, sizeof(sin)) != 0) goto out;
  afd = accept(lfd, NULL, NULL);
  if (afd < 0 || fg_ktls_set_ulp(cfd) != 0) goto out;
  uint8_t secret[32] = {0};
  if (fg_ktls_install(cfd, FG_KTLS_TX, 0x1301, secret, sizeof(secret), 0) != 0) goto out;
  secret[0] = 1;
  ok = fg_ktls_install(cfd, FG_KTLS_TX, 0x1301, secret, sizeof(secret), 0) == 0;
out:
  if (afd >= 0) close(afd);
  if (cfd >= 0) close(cfd);
  if (lfd >= 0) close(lfd);
  return ok;
}
