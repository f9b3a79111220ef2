#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fg_test_vector_path(char *out, size_t out_len, const char *rel) {
  const char *srcdir = getenv("TEST_SRCDIR");
  const char *candidates[4];
  char a[1024], b[1024];
  int n = 0;
  if (srcdir != NULL) {
    snprintf(a, sizeof(a), "%s/shared/vectors", srcdir);
    snprintf(b, sizeof(b), "%s/fedgate/external/shared/vectors", srcdir);
    candidates[n++] = a;
    candidates[n++] = b;
  }
  candidates[n++] = "external/shared/vectors";
  candidates[n++] = "../shared/vectors";
  for (int i = 0; i < n; i++) {
    snprintf(out, out_len, "%s/%s", candidates[i], rel);
    if (access(out, R_OK) == 0) return 1;
  }
  return 0;
}

uint8_t *fg_test_read_file(const char *path, size_t *out_len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 1 << 16, len = 0, n;
  uint8_t *buf = malloc(cap + 1);
  while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) {
      cap *= 2;
      uint8_t *grown = realloc(buf, cap + 1);
      if (grown == NULL) free(buf);
      buf = grown;
    }
  }
  fclose(f);
  if (buf == NULL) return NULL;
  buf[len] = 0;
  *out_len = len;
  return buf;
}

uint8_t *fg_test_read_vector(const char *rel, size_t *out_len) {
  char path[1024];
  if (!fg_test_vector_path(path, sizeof(path), rel)) return NULL;
  return fg_test_read_file(path, out_len);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t fg_test_unescape(uint8_t *out, const char *in) {
  size_t o = 0;
  for (size_t i = 0; in[i] != 0; i++) {
    if (in[i] != '\\' || in[i + 1] == 0) {
      out[o++] = (uint8_t)in[i];
      continue;
    }
    char c = in[++i];
    switch (c) {
      case '\\':
        out[o++] = '\\';
        break;
      case 't':
        out[o++] = '\t';
        break;
      case 'n':
        out[o++] = '\n';
        break;
      case 'r':
        out[o++] = '\r';
        break;
      case 'x':
        if (hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
          out[o++] = (uint8_t)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
          i += 2;
          break;
        }
        /* fall through */
      default:
        out[o++] = '\\';
        out[o++] = (uint8_t)c;
    }
  }
  return o;
}
