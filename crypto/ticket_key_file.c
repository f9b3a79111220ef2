// ticket_key_file.c: the shared ticket key file (see ticket_key_file.h).
#include "crypto/ticket_key_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/base64.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

static const char kHeader[] =
    "# fedgate TLS session ticket keys: base64 of 80 bytes each (name 16, HMAC-SHA256 32,\n"
    "# AES-256 32), oldest first; the last key encrypts new tickets. Rotate with\n"
    "# 'fedgate ticket-keys rotate FILE'. Keep this file secret (mode 0600).\n";

int fg_ticket_key_generate(fg_ticket_key *out) {
  return RAND_bytes((uint8_t *)out, sizeof(*out));
}

static int is_blank(uint8_t ch) {
  return ch == ' ' || ch == '\t' || ch == '\r';
}

// parse_line decodes one trimmed line into |k|. It returns 1 or 0 with the
// reason in |err|.
static int parse_line(fg_ticket_key *k, const uint8_t *p, size_t n, char *err, size_t err_len) {
  size_t max_out = 0;
  if (n > 4 * ((FG_TICKET_KEY_BYTES + 2) / 3) || !EVP_DecodedLength(&max_out, n)) {
    snprintf(err, err_len, "a key is base64 of %d bytes (%zu characters given)",
             FG_TICKET_KEY_BYTES, n);
    return 0;
  }
  uint8_t raw[FG_TICKET_KEY_BYTES + 3];
  size_t got = 0;
  if (!EVP_DecodeBase64(raw, &got, sizeof(raw), p, n)) {
    snprintf(err, err_len, "not base64");
    return 0;
  }
  if (got != FG_TICKET_KEY_BYTES) {
    snprintf(err, err_len, "a key has %d bytes, this one %zu%s", FG_TICKET_KEY_BYTES, got,
             got == 48 ? " (48-byte AES-128 keys are not supported)" : "");
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
  }
  memcpy(k->name, raw, 16);
  memcpy(k->hmac_key, raw + 16, 32);
  memcpy(k->aes_key, raw + 48, 32);
  OPENSSL_cleanse(raw, sizeof(raw));
  return 1;
}

int fg_ticket_keys_parse(fg_ticket_key *out, size_t cap, size_t *out_n, const uint8_t *in,
                         size_t in_len, char *err, size_t err_len) {
  size_t n = 0, line = 0;
  char why[160];
  for (size_t at = 0; at < in_len;) {
    const uint8_t *nl = memchr(in + at, '\n', in_len - at);
    size_t end = nl ? (size_t)(nl - in) : in_len;
    size_t b = at, e = end;
    line++;
    at = end + 1;
    while (b < e && is_blank(in[b])) b++;
    while (e > b && is_blank(in[e - 1])) e--;
    if (b == e || in[b] == '#') continue;
    if (n == cap) {
      snprintf(err, err_len, "line %zu: more than %zu keys", line, cap);
      return 0;
    }
    if (!parse_line(&out[n], in + b, e - b, why, sizeof(why))) {
      snprintf(err, err_len, "line %zu: %s", line, why);
      return 0;
    }
    for (size_t i = 0; i < n; i++) {
      if (memcmp(out[i].name, out[n].name, FG_TICKET_KEY_NAME_BYTES) == 0) {
        snprintf(err, err_len, "line %zu: the same key name as an earlier key", line);
        return 0;
      }
    }
    n++;
  }
  if (n == 0) {
    snprintf(err, err_len, "no key (a key file holds at least one base64 line)");
    return 0;
  }
  *out_n = n;
  return 1;
}

// read_fd reads and parses the open file |fd|, named |path| in |err|: a
// regular file only (opened O_NONBLOCK, so that a FIFO in its place does
// not block the reader).
static int read_fd(int fd, const char *path, fg_ticket_key *out, size_t cap, size_t *out_n,
                   char *err, size_t err_len) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, err_len, "%s: not a regular file", path);
    return 0;
  }
  uint8_t *buf = malloc(FG_TICKET_KEY_FILE_MAX + 1);
  size_t len = 0;
  ssize_t r = 0;
  while (buf != NULL && len <= FG_TICKET_KEY_FILE_MAX &&
         (r = read(fd, buf + len, FG_TICKET_KEY_FILE_MAX + 1 - len)) > 0) {
    len += (size_t)r;
  }
  int saved = errno;
  int ok = 0;
  char why[200];
  if (buf == NULL) {
    snprintf(err, err_len, "%s: out of memory", path);
  } else if (r < 0) {
    snprintf(err, err_len, "%s: cannot read: %s", path, strerror(saved));
  } else if (len > FG_TICKET_KEY_FILE_MAX) {
    snprintf(err, err_len, "%s: longer than %d bytes", path, FG_TICKET_KEY_FILE_MAX);
  } else if (!fg_ticket_keys_parse(out, cap, out_n, buf, len, why, sizeof(why))) {
    snprintf(err, err_len, "%s: %s", path, why);
  } else {
    ok = 1;
  }
  if (buf != NULL) OPENSSL_cleanse(buf, len);
  free(buf);
  return ok;
}

int fg_ticket_keys_read_file(const char *path, fg_ticket_key *out, size_t cap, size_t *out_n,
                             char *err, size_t err_len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
    return 0;
  }
  int ok = read_fd(fd, path, out, cap, out_n, err, err_len);
  close(fd);
  return ok;
}

// write_all writes |n| bytes to |fd|. It returns 1 or 0.
static int write_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return 0;
    b += w;
    n -= (size_t)w;
  }
  return 1;
}

// sync_dir makes the rename in |path|'s directory durable.
static void sync_dir(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == dir) {
    slash[1] = 0;
  } else if (slash != NULL) {
    *slash = 0;
  } else {
    snprintf(dir, sizeof(dir), ".");
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

// write_keys writes |keys| to a temporary file beside |path| and moves it
// there: over the old file with |replace|, else only if |path| does not
// exist (a hard link, which fails rather than replace).
static int write_keys(const char *path, const fg_ticket_key *keys, size_t n, int replace, char *err,
                      size_t err_len) {
  if (n == 0 || n > FG_TICKET_KEYS_MAX) {
    snprintf(err, err_len, "%s: %zu keys (1 to %d)", path, n, FG_TICKET_KEYS_MAX);
    return 0;
  }
  char tmp[4096];
  if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
    snprintf(err, err_len, "%s: path too long", path);
    return 0;
  }
  // mkstemp creates the file 0600 and in the same directory, so the rename
  // below replaces |path| in one step on the same file system.
  int fd = mkstemp(tmp);
  if (fd < 0) {
    snprintf(err, err_len, "%s: cannot create a temporary file beside it: %s", path,
             strerror(errno));
    return 0;
  }
  int ok = fchmod(fd, 0600) == 0 && write_all(fd, kHeader, sizeof(kHeader) - 1);
  for (size_t i = 0; ok && i < n; i++) {
    uint8_t raw[FG_TICKET_KEY_BYTES];
    char line[4 * ((FG_TICKET_KEY_BYTES + 2) / 3) + 2];
    memcpy(raw, keys[i].name, 16);
    memcpy(raw + 16, keys[i].hmac_key, 32);
    memcpy(raw + 48, keys[i].aes_key, 32);
    size_t len = EVP_EncodeBlock((uint8_t *)line, raw, sizeof(raw));
    line[len++] = '\n';
    ok = write_all(fd, line, len);
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(line, sizeof(line));
  }
  int saved = errno;
  if (ok && fsync(fd) != 0) {
    ok = 0;
    saved = errno;
  }
  if (close(fd) != 0 && ok) {
    ok = 0;
    saved = errno;
  }
  if (ok && replace && rename(tmp, path) != 0) {
    ok = 0;
    saved = errno;
  }
  if (ok && !replace) {
    if (link(tmp, path) != 0) {
      ok = 0;
      saved = errno;
    }
    unlink(tmp);
    if (!ok && saved == EEXIST) {
      snprintf(err, err_len, "%s: exists already (use 'ticket-keys rotate' to add a key)", path);
      return 0;
    }
  }
  if (!ok) {
    unlink(tmp);
    snprintf(err, err_len, "%s: cannot write: %s", path, strerror(saved));
    return 0;
  }
  sync_dir(path);
  return 1;
}

int fg_ticket_keys_write_file(const char *path, const fg_ticket_key *keys, size_t n, char *err,
                              size_t err_len) {
  return write_keys(path, keys, n, 1, err, err_len);
}

// lock_current opens |path| and returns a descriptor holding an exclusive
// flock(2) on the file |path| names once the lock is granted: a rotation
// that replaced the file while this one waited has its file locked in turn.
// It returns -1 with the reason in |err|.
static int lock_current(const char *path, char *err, size_t err_len) {
  for (;;) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
      return -1;
    }
    int r;
    while ((r = flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (r != 0) {
      snprintf(err, err_len, "%s: cannot lock: %s", path, strerror(errno));
      close(fd);
      return -1;
    }
    struct stat held, named;
    if (fstat(fd, &held) == 0 && stat(path, &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
      return fd;
    }
    close(fd);  // replaced (or removed) while waiting: lock what is there now
  }
}

int fg_ticket_keys_file_new(const char *path, char *err, size_t err_len) {
  struct stat st;
  if (lstat(path, &st) == 0) {
    snprintf(err, err_len, "%s: exists already (use 'ticket-keys rotate' to add a key)", path);
    return 0;
  }
  fg_ticket_key k;
  if (!fg_ticket_key_generate(&k)) {
    snprintf(err, err_len, "no random bytes");
    return 0;
  }
  int ok = write_keys(path, &k, 1, 0, err, err_len);
  OPENSSL_cleanse(&k, sizeof(k));
  return ok;
}

// rotate_file is fg_ticket_keys_file_rotate on |path|, a path without
// symbolic links.
static int rotate_file(const char *path, size_t keep, char *err, size_t err_len) {
  // Read, add, write under the lock: a rotation at the same time waits and
  // then reads the file this one wrote, so neither key is lost.
  int fd = lock_current(path, err, err_len);
  if (fd < 0) return 0;
  fg_ticket_key keys[FG_TICKET_KEYS_MAX + 1];
  size_t n = 0;
  if (!read_fd(fd, path, keys, FG_TICKET_KEYS_MAX, &n, err, err_len)) {
    close(fd);
    return 0;
  }
  int ok = fg_ticket_key_generate(&keys[n]);
  n++;
  size_t drop = n > keep ? n - keep : 0;
  if (!ok) {
    snprintf(err, err_len, "no random bytes");
  } else {
    ok = write_keys(path, keys + drop, n - drop, 1, err, err_len);
  }
  OPENSSL_cleanse(keys, sizeof(keys));
  close(fd);  // the lock goes with it, after the rename
  return ok;
}

int fg_ticket_keys_file_rotate(const char *path, size_t keep, char *err, size_t err_len) {
  if (keep < 1 || keep > FG_TICKET_KEYS_MAX) {
    snprintf(err, err_len, "--keep %zu: keep 1 to %d keys", keep, FG_TICKET_KEYS_MAX);
    return 0;
  }
  // Through a symbolic link, the file it names is the one to replace (the
  // link stays, and whoever reads the file by another link sees the key).
  char *real = realpath(path, NULL);
  if (real == NULL) {
    snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
    return 0;
  }
  int ok = rotate_file(real, keep, err, err_len);
  free(real);
  return ok;
}
