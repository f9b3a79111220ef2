// config_values.c: the parsers of single configuration values: booleans,
// whole numbers, durations, domain names (LDH, IDNA via libidn2) and
// host:port targets, each reporting a bad value at its key path.
#include "gateway/config/config.h"
#include "gateway/config/config_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>

int config_parse_bool(config_ctx *c, const char *path, const char *v, int def, int *out) {
  *out = def;
  if (v == NULL) return 1;
  static const char *const kTrue[] = {"true", "yes", "on"};
  static const char *const kFalse[] = {"false", "no", "off"};
  for (int i = 0; i < 3; i++) {
    if (strcasecmp(v, kTrue[i]) == 0) return (*out = 1);
    if (strcasecmp(v, kFalse[i]) == 0) return (*out = 0, 1);
  }
  config_err(c, path, "expected true or false");
  return 0;
}

static int parse_u64(const char *v, uint64_t *out) {
  if (v[0] < '0' || v[0] > '9') return 0;
  uint64_t x = 0;
  for (const char *p = v; *p; p++) {
    if (*p < '0' || *p > '9') return 0;
    if (x > (UINT64_MAX - 9) / 10) return 0;
    x = x * 10 + (uint64_t)(*p - '0');
  }
  *out = x;
  return 1;
}

int config_parse_uint(config_ctx *c, const char *path, const char *v, uint64_t min, uint64_t max,
                      uint64_t def, uint64_t *out) {
  *out = def;
  if (v == NULL) return 1;
  uint64_t x;
  if (!parse_u64(v, &x)) {
    config_err(c, path, "expected a whole number");
    return 0;
  }
  if (x < min || x > max) {
    config_err(c, path, "must be between %llu and %llu", (unsigned long long)min,
               (unsigned long long)max);
    return 0;
  }
  *out = x;
  return 1;
}

// config_parse_duration accepts "250ms", "30s", "5m", "2h", "1d" or a bare
// number of seconds, and stores milliseconds.
int config_parse_duration(config_ctx *c, const char *path, const char *v, uint64_t min_ms,
                          uint64_t max_ms, uint64_t def_ms, uint64_t *out_ms) {
  *out_ms = def_ms;
  if (v == NULL) return 1;
  char num[32];
  size_t n = 0;
  while (v[n] >= '0' && v[n] <= '9' && n + 1 < sizeof(num)) {
    num[n] = v[n];
    n++;
  }
  num[n] = 0;
  const char *unit = v + n;
  uint64_t x, mul = 0;
  if (strcmp(unit, "") == 0 || strcmp(unit, "s") == 0) mul = 1000;
  if (strcmp(unit, "ms") == 0) mul = 1;
  if (strcmp(unit, "m") == 0) mul = 60000;
  if (strcmp(unit, "h") == 0) mul = 3600000;
  if (strcmp(unit, "d") == 0) mul = 86400000;
  if (n == 0 || mul == 0 || !parse_u64(num, &x) || x > UINT64_MAX / mul) {
    config_err(c, path, "expected a duration such as 500ms, 30s, 5m, 2h or 1d");
    return 0;
  }
  x *= mul;
  if (x < min_ms || x > max_ms) {
    config_err(c, path, "must be between %llums and %llus", (unsigned long long)min_ms,
               (unsigned long long)(max_ms / 1000));
    return 0;
  }
  *out_ms = x;
  return 1;
}

static int ldh_ok(const char *d, size_t len) {
  if (len == 0 || len > 253) return 0;
  size_t label = 0;
  for (size_t i = 0; i < len; i++) {
    char ch = d[i];
    if (ch == '.') {
      if (label == 0 || d[i - 1] == '-') return 0;
      label = 0;
      continue;
    }
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
    if (!ok || (label == 0 && ch == '-') || ++label > 63) return 0;
  }
  return label > 0 && d[len - 1] != '-';
}

// config_normalize_domain turns |in| into a lowercase A-label LDH name without a
// trailing dot (RFC 5890, RFC 7622 §3.2) into a new string, or reports why it
// cannot. |*wildcard| is set when |allow_wildcard| and |in| is "*.SUFFIX"
// (then the result is SUFFIX, which needs two labels or more).
char *config_normalize_domain(config_ctx *c, const char *path, const char *in, int allow_wildcard,
                              int *wildcard) {
  if (wildcard != NULL) *wildcard = 0;
  if (in == NULL || in[0] == 0) {
    config_err(c, path, "a domain name is required");
    return NULL;
  }
  const char *name = in;
  if (allow_wildcard && strncmp(in, "*.", 2) == 0) {
    *wildcard = 1;
    name = in + 2;
  }
  if (strchr(name, '*') != NULL) {
    config_err(c, path,
               allow_wildcard ? "a wildcard is only allowed as the whole first label (*.suffix)"
                              : "wildcards are not allowed here");
    return NULL;
  }
  char buf[1024];
  size_t len = strlen(name);
  if (len >= sizeof(buf)) {
    config_err(c, path, "not a valid domain name: too long");
    return NULL;
  }
  memcpy(buf, name, len + 1);
  if (len > 0 && buf[len - 1] == '.') buf[--len] = 0;
  int ascii = 1;
  for (size_t i = 0; i < len; i++) {
    if ((unsigned char)buf[i] >= 0x80) ascii = 0;
    if (buf[i] >= 'A' && buf[i] <= 'Z') buf[i] = (char)(buf[i] + 32);
  }
  char *out = NULL;
  if (ascii) {
    out = strdup(buf);
    if (out == NULL) return NULL;
    // An A-label must decode (RFC 5890 §2.3.2.1): check each "xn--" label.
    if (strstr(out, "xn--") != NULL) {
      char *u = NULL;
      int rc = idn2_to_unicode_8z8z(out, &u, 0);
      idn2_free(u);
      if (rc != IDN2_OK) {
        config_err(c, path, "not a valid domain name: bad A-label (%s)", idn2_strerror(rc));
        free(out);
        return NULL;
      }
    }
  } else {
    char *a = NULL;
    int rc =
        idn2_lookup_u8((const uint8_t *)buf, (uint8_t **)&a, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
      config_err(c, path, "not a valid internationalized domain name: %s", idn2_strerror(rc));
      idn2_free(a);
      return NULL;
    }
    out = strdup(a);
    idn2_free(a);
    if (out == NULL) return NULL;
  }
  if (!ldh_ok(out, strlen(out))) {
    config_err(c, path,
               "not a valid domain name (letters, digits and '-' in labels of 1-63 characters, no "
               "'-' at either end of a label, at most 253 characters)");
    free(out);
    return NULL;
  }
  if (wildcard != NULL && *wildcard && strchr(out, '.') == NULL) {
    config_err(c, path, "a wildcard needs a suffix of two labels or more (*.chat.example.com)");
    free(out);
    return NULL;
  }
  return out;
}

// config_parse_target reads "host", "host:port", "[v6]" or "[v6]:port".
int config_parse_target(config_ctx *c, const char *path, const char *in, uint16_t def_port,
                        fg_config_target *out) {
  memset(out, 0, sizeof(*out));
  if (in == NULL || in[0] == 0) {
    config_err(c, path, "expected host:port");
    return 0;
  }
  char host[512];
  const char *port = NULL;
  if (in[0] == '[') {
    const char *end = strchr(in, ']');
    if (end == NULL || (size_t)(end - in - 1) >= sizeof(host)) {
      config_err(c, path, "unterminated '[' in an IPv6 address");
      return 0;
    }
    memcpy(host, in + 1, (size_t)(end - in - 1));
    host[end - in - 1] = 0;
    struct in6_addr a6;
    if (inet_pton(AF_INET6, host, &a6) != 1) {
      config_err(c, path, "not a valid IPv6 address inside [ ]");
      return 0;
    }
    if (end[1] == ':') {
      port = end + 2;
    } else if (end[1] != 0) {
      config_err(c, path, "expected ':' and a port after ']'");
      return 0;
    }
    out->host = strdup(host);
  } else {
    const char *colon = strchr(in, ':');
    if (colon != NULL && strchr(colon + 1, ':') != NULL) {
      config_err(c, path, "IPv6 addresses need brackets, as in [2001:db8::1]:5269");
      return 0;
    }
    size_t hlen = colon ? (size_t)(colon - in) : strlen(in);
    if (hlen == 0 || hlen >= sizeof(host)) {
      config_err(c, path, "expected host:port");
      return 0;
    }
    memcpy(host, in, hlen);
    host[hlen] = 0;
    if (colon != NULL) port = colon + 1;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1) {
      out->host = strdup(host);
    } else {
      out->host = config_normalize_domain(c, path, host, 0, NULL);
      if (out->host == NULL) return 0;
    }
  }
  if (out->host == NULL) return 0;
  uint64_t p = def_port;
  if (port != NULL && (!parse_u64(port, &p) || p < 1 || p > 65535)) {
    config_err(c, path, "the port must be a number from 1 to 65535");
    free(out->host);
    out->host = NULL;
    return 0;
  }
  out->port = (uint16_t)p;
  return 1;
}

void config_parse_networks(config_ctx *c, const char *key, char *const *raw, unsigned n,
                           fg_cidr **out, size_t *n_out) {
  if (n == 0) return;
  *out = calloc(n, sizeof(fg_cidr));
  if (*out == NULL) return;
  for (unsigned i = 0; i < n; i++) {
    char path[96];
    snprintf(path, sizeof(path), "%s[%u]", key, i);
    if (raw[i] == NULL || !fg_cidr_parse(&(*out)[*n_out], raw[i])) {
      config_err(c, path, "expected a numeric network such as 10.20.0.0/16 or fd00::/8");
      continue;
    }
    (*n_out)++;
  }
}
