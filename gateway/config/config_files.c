// config_files.c: the files a configuration names: paths resolved against
// the file's directory, readable files, certificate/key pairs loaded with
// BoringSSL, the dialback secret.
#include "gateway/config/config.h"
#include "gateway/config/config_internal.h"

#include "crypto/ticket_key_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define MAX_SECRET 4096  // bytes read from the dialback secret file

// config_resolve_path returns |v| as an absolute path: relative paths are
// relative to the directory holding the configuration file.
char *config_resolve_path(const config_ctx *c, const char *v) {
  if (v == NULL) return NULL;
  if (v[0] == '/') return strdup(v);
  size_t n = strlen(c->cfg->dir) + strlen(v) + 2;
  char *p = malloc(n);
  if (p != NULL) snprintf(p, n, "%s/%s", c->cfg->dir, v);
  return p;
}

// config_check_file reports |file| (from |path|) unless it is a readable
// regular file (or directory when |want_dir|). It returns 1 when usable.
int config_check_file(config_ctx *c, const char *path, const char *file, int want_dir) {
  struct stat st;
  if (stat(file, &st) != 0) {
    config_err(c, path, "cannot open %s: %s", file, strerror(errno));
    return 0;
  }
  if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    config_err(c, path, "%s is not a %s", file, want_dir ? "directory" : "regular file");
    return 0;
  }
  if (access(file, R_OK | (want_dir ? X_OK : 0)) != 0) {
    config_err(c, path, "cannot read %s: %s", file, strerror(errno));
    return 0;
  }
  return 1;
}

static void warn_if_world_readable(config_ctx *c, const char *path, const char *file) {
  struct stat st;
  if (stat(file, &st) == 0 && (st.st_mode & S_IROTH)) {
    config_warn(c, path, "%s is readable by every user: chmod o-r it", file);
  }
}

int config_check_ticket_keys(config_ctx *c, const char *path, const char *file) {
  if (!config_check_file(c, path, file, 0)) return 0;
  fg_ticket_key keys[FG_TICKET_KEYS_MAX];
  size_t n = 0;
  char err[512];
  int ok = fg_ticket_keys_read_file(file, keys, FG_TICKET_KEYS_MAX, &n, err, sizeof(err));
  OPENSSL_cleanse(keys, sizeof(keys));
  if (!ok) {
    config_err(c, path, "%s", err);
    return 0;
  }
  struct stat st;
  if (stat(file, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO))) {
    config_warn(c, path, "%s is open to other users (mode %03o): chmod 600 it", file,
                (unsigned)(st.st_mode & 0777));
  }
  return 1;
}

// config_check_pair loads a PEM certificate chain and private key with
// BoringSSL and checks that the key belongs to the first certificate.
int config_check_pair(config_ctx *c, const char *cert_path, const char *cert_file,
                      const char *key_path, const char *key_file) {
  if (!config_check_file(c, cert_path, cert_file, 0) | !config_check_file(c, key_path, key_file, 0))
    return 0;
  int ok = 0;
  X509 *x = NULL;
  EVP_PKEY *k = NULL;
  BIO *b = BIO_new_file(cert_file, "r");
  if (b != NULL) x = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  if (x == NULL) {
    config_err(c, cert_path, "%s holds no PEM certificate", cert_file);
    goto done;
  }
  b = BIO_new_file(key_file, "r");
  if (b != NULL) k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
  BIO_free(b);
  if (k == NULL) {
    config_err(c, key_path, "%s holds no PEM private key (encrypted keys are not supported)",
               key_file);
    goto done;
  }
  if (!X509_check_private_key(x, k)) {
    config_err(c, key_path, "%s does not belong to the certificate in %s", key_file, cert_file);
    goto done;
  }
  if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
    config_warn(c, cert_path, "the certificate in %s has expired", cert_file);
  }
  warn_if_world_readable(c, key_path, key_file);
  ok = 1;
done:
  ERR_clear_error();
  X509_free(x);
  EVP_PKEY_free(k);
  return ok;
}

int config_read_secret(config_ctx *c, const char *path, const char *file) {
  fg_config *cfg = c->cfg;
  if (!config_check_file(c, path, file, 0)) return 0;
  FILE *f = fopen(file, "rb");
  if (f == NULL) {
    config_err(c, path, "cannot open %s: %s", file, strerror(errno));
    return 0;
  }
  uint8_t buf[MAX_SECRET + 1];
  size_t n = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  if (n > MAX_SECRET) {
    config_err(c, path, "%s is longer than %d bytes", file, MAX_SECRET);
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
  }
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
  if (n == 0) {
    config_err(c, path, "%s is empty", file);
    return 0;
  }
  if (n < 16)
    config_warn(c, path, "the secret in %s is short (%zu bytes): use 32 random bytes", file, n);
  warn_if_world_readable(c, path, file);
  cfg->dialback.secret = malloc(n);
  if (cfg->dialback.secret == NULL) return 0;
  memcpy(cfg->dialback.secret, buf, n);
  cfg->dialback.secret_len = n;
  OPENSSL_cleanse(buf, sizeof(buf));
  return 1;
}
