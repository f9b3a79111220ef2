// config.c: loads the YAML configuration (libyaml index pass, libcyaml schema
// pass, semantic checks) into an immutable fg_config snapshot.
#include "gateway/config.h"
#include "gateway/config_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cyaml/cyaml.h>
#include <idn2.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <xxhash.h>
#include <yaml.h>

#define MAX_PATH_KEY 512  // longest key path ("domains[12].cert")
#define MAX_DEPTH 32      // nesting of mappings/sequences in the file
#define MAX_SECRET 4096   // bytes read from the dialback secret file

// ---------------------------------------------------------------------------
// Diagnostics

void fg_config_diag_init(fg_config_diag *d) {
  memset(d, 0, sizeof(*d));
}

void fg_config_diag_cleanup(fg_config_diag *d) {
  if (d == NULL) return;
  free(d->text);
  memset(d, 0, sizeof(*d));
}

static void diag_line(fg_config_diag *d, const char *line) {
  size_t n = strlen(line);
  size_t need = d->len + n + 2;
  if (need > d->cap) {
    size_t cap = d->cap ? d->cap : 256;
    while (cap < need) cap *= 2;
    char *t = realloc(d->text, cap);
    if (t == NULL) return;  // out of memory: the count below still records it
    d->text = t;
    d->cap = cap;
  }
  memcpy(d->text + d->len, line, n);
  d->len += n;
  d->text[d->len++] = '\n';
  d->text[d->len] = 0;
}

// ---------------------------------------------------------------------------
// Pass 1: the libyaml index of every key path -> line and scalar value.

static const config_node *index_find(const config_index *x, const char *path) {
  if (x->slots == NULL) return NULL;
  uint64_t h = XXH3_64bits(path, strlen(path));
  for (size_t i = h & x->mask;; i = (i + 1) & x->mask) {
    uint32_t s = x->slots[i];
    if (s == 0) return NULL;
    const config_node *nd = &x->v[s - 1];
    if (nd->hash == h && strcmp(nd->path, path) == 0) return nd;
  }
}

static void index_rehash(config_index *x) {
  for (size_t i = 0; i <= x->mask; i++) x->slots[i] = 0;
  for (size_t k = 0; k < x->n; k++) {
    size_t i = x->v[k].hash & x->mask;
    while (x->slots[i] != 0) i = (i + 1) & x->mask;
    x->slots[i] = (uint32_t)(k + 1);
  }
}

static config_node *index_add(config_index *x, const char *path, unsigned line) {
  if (x->n == x->cap) {
    size_t cap = x->cap ? 2 * x->cap : 64;
    config_node *v = realloc(x->v, cap * sizeof(config_node));
    if (v == NULL) return NULL;
    x->v = v;
    x->cap = cap;
  }
  if (x->slots == NULL || 2 * (x->n + 1) > x->mask + 1) {
    size_t cap = x->slots ? 2 * (x->mask + 1) : 128;
    uint32_t *s = calloc(cap, sizeof(uint32_t));
    if (s == NULL) return NULL;
    free(x->slots);
    x->slots = s;
    x->mask = cap - 1;
    index_rehash(x);
  }
  config_node *nd = &x->v[x->n];
  nd->path = strdup(path);
  if (nd->path == NULL) return NULL;
  nd->line = line;
  nd->value = NULL;
  nd->hash = XXH3_64bits(path, strlen(path));
  size_t i = nd->hash & x->mask;
  while (x->slots[i] != 0) i = (i + 1) & x->mask;
  x->slots[i] = (uint32_t)(x->n + 1);
  x->n++;
  return nd;
}

void config_index_free(config_index *x) {
  for (size_t i = 0; i < x->n; i++) {
    free(x->v[i].path);
    free(x->v[i].value);
  }
  free(x->v);
  free(x->slots);
  memset(x, 0, sizeof(*x));
}

// config_nearest_line returns the line of |path| or of its closest indexed
// ancestor ("a.b[2].c" -> "a.b[2]" -> "a.b" -> "a"), or 0.
unsigned config_nearest_line(const config_ctx *c, const char *path, const config_node **found) {
  char buf[MAX_PATH_KEY];
  snprintf(buf, sizeof(buf), "%s", path);
  *found = NULL;
  for (;;) {
    const config_node *nd = index_find(&c->idx, buf);
    if (nd != NULL) {
      if (strcmp(buf, path) == 0) *found = nd;
      return nd->line;
    }
    char *cut = strrchr(buf, '.');
    char *br = strrchr(buf, '[');
    if (br != NULL && (cut == NULL || br > cut)) cut = br;
    if (cut == NULL) return 0;
    *cut = 0;
  }
}

// printable copies |v| for a message: control and non-ASCII bytes as \xNN,
// cut at 100 bytes.
static void printable(char *out, size_t out_len, const char *v) {
  size_t o = 0;
  for (size_t i = 0; v[i] != 0 && o + 8 < out_len; i++) {
    unsigned char ch = (unsigned char)v[i];
    if (i >= 100) {
      memcpy(out + o, "...", 3);
      o += 3;
      break;
    }
    if (ch < 0x20 || ch >= 0x7f || ch == '\'' || ch == '\\') {
      o += (size_t)snprintf(out + o, out_len - o, "\\x%02x", ch);
    } else {
      out[o++] = (char)ch;
    }
  }
  out[o] = 0;
}

// report adds "FILE:LINE: [warning: ]PATH: MESSAGE (value 'V')". The value is
// the scalar indexed at |path|, if any.
static void report(config_ctx *c, int warning, const char *path, const char *fmt, va_list ap) {
  char msg[1024], where[64] = "", val[512] = "";
  vsnprintf(msg, sizeof(msg), fmt, ap);
  const config_node *nd = NULL;
  unsigned line = path != NULL ? config_nearest_line(c, path, &nd) : 0;
  if (line > 0) snprintf(where, sizeof(where), "%u:", line);
  if (nd != NULL && nd->value != NULL) {
    char p[400];
    printable(p, sizeof(p), nd->value);
    snprintf(val, sizeof(val), " (value '%s')", p);
  }
  if (warning) {
    c->diag->warnings++;
  } else {
    c->diag->errors++;
  }
  const char *pp = path != NULL ? path : "";
  const char *sep = pp[0] != 0 ? ": " : "";
  char line_buf[2048];
  snprintf(line_buf, sizeof(line_buf), "%s:%s %s%s%s%s%s", c->file, where,
           warning ? "warning: " : "", pp, sep, msg, val);
  diag_line(c->diag, line_buf);
}

void config_err(config_ctx *c, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(c, 0, path, fmt, ap);
  va_end(ap);
}

void config_warn(config_ctx *c, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(c, 1, path, fmt, ap);
  va_end(ap);
}

// config_err_line reports a problem that has a line but no key path (YAML
// syntax).
void config_err_line(config_ctx *c, unsigned line, const char *fmt, ...) {
  char msg[1024], buf[1400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (line > 0) {
    snprintf(buf, sizeof(buf), "%s:%u: %s", c->file, line, msg);
  } else {
    snprintf(buf, sizeof(buf), "%s: %s", c->file, msg);
  }
  c->diag->errors++;
  diag_line(c->diag, buf);
}

static int is_null_scalar(const yaml_event_t *ev) {
  if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
  const char *v = (const char *)ev->data.scalar.value;
  return v[0] == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
         strcmp(v, "NULL") == 0;
}

typedef struct frame {
  int is_map;
  int want_key;
  size_t base_len;  // path length of the collection itself
  size_t index;     // next sequence index
} frame;

static int path_append(config_ctx *c, char *path, size_t *plen, const char *fmt, const char *s,
                       size_t i, unsigned line) {
  int n = s != NULL ? snprintf(path + *plen, MAX_PATH_KEY - *plen, fmt, s)
                    : snprintf(path + *plen, MAX_PATH_KEY - *plen, fmt, i);
  if (n < 0 || *plen + (size_t)n >= MAX_PATH_KEY) {
    config_err_line(c, line, "key path too long");
    return 0;
  }
  *plen += (size_t)n;
  return 1;
}

// config_index_file runs libyaml over the file and fills c->idx. It returns 1
// when the file is well-formed YAML with one document whose top level is a
// mapping, no anchors or aliases and no duplicate keys.
int config_index_file(config_ctx *c, FILE *f) {
  yaml_parser_t p;
  yaml_event_t ev;
  if (!yaml_parser_initialize(&p)) return 0;
  yaml_parser_set_input_file(&p, f);
  frame st[MAX_DEPTH];
  int depth = 0, docs = 0, ok = 1, done = 0, top = 0;
  char path[MAX_PATH_KEY] = "";
  size_t plen = 0;
  while (!done) {
    if (!yaml_parser_parse(&p, &ev)) {
      config_err_line(c, (unsigned)p.problem_mark.line + 1, "YAML syntax error: %s%s%s",
                      p.problem ? p.problem : "unknown", p.context ? " " : "",
                      p.context ? p.context : "");
      ok = 0;
      break;
    }
    unsigned line = (unsigned)ev.start_mark.line + 1;
    const yaml_char_t *anchor = NULL;
    if (ev.type == YAML_SCALAR_EVENT) anchor = ev.data.scalar.anchor;
    if (ev.type == YAML_MAPPING_START_EVENT) anchor = ev.data.mapping_start.anchor;
    if (ev.type == YAML_SEQUENCE_START_EVENT) anchor = ev.data.sequence_start.anchor;
    if (anchor != NULL) {
      config_err_line(c, line, "YAML anchors (&%s) are not supported: write the value out", anchor);
      ok = 0;
      done = 1;
    }
    switch (ev.type) {
      case YAML_STREAM_END_EVENT:
        done = 1;
        break;
      case YAML_DOCUMENT_START_EVENT:
        if (++docs > 1) {
          config_err_line(c, line, "only one YAML document is allowed");
          ok = 0;
          done = 1;
        }
        break;
      case YAML_ALIAS_EVENT:
        config_err_line(c, line, "YAML aliases (*%s) are not supported: write the value out",
                        ev.data.alias.anchor);
        ok = 0;
        done = 1;
        break;
      case YAML_SCALAR_EVENT:
      case YAML_MAPPING_START_EVENT:
      case YAML_SEQUENCE_START_EVENT: {
        if (done) break;
        frame *parent = depth > 0 ? &st[depth - 1] : NULL;
        if (parent != NULL && parent->is_map && parent->want_key) {
          if (ev.type != YAML_SCALAR_EVENT) {
            config_err_line(c, line, "a key must be a plain string");
            ok = 0;
            done = 1;
            break;
          }
          const char *key = (const char *)ev.data.scalar.value;
          plen = parent->base_len;
          if (!path_append(c, path, &plen, plen > 0 ? ".%s" : "%s", key, 0, line)) {
            ok = 0;
            done = 1;
            break;
          }
          const config_node *prev = index_find(&c->idx, path);
          if (prev != NULL) {
            // Stop here: the duplicate's children would all clash as well.
            config_err_line(c, line, "%s: duplicate key (first at line %u)", path, prev->line);
            ok = 0;
            done = 1;
            break;
          }
          if (index_add(&c->idx, path, line) == NULL) {
            ok = 0;
            done = 1;
            break;
          }
          parent->want_key = 0;
          break;
        }
        config_node *nd = NULL;
        if (parent == NULL) {
          if (ev.type != YAML_MAPPING_START_EVENT) {
            config_err_line(c, line,
                            ev.type == YAML_SCALAR_EVENT && is_null_scalar(&ev)
                                ? "the file holds no settings"
                                : "the top level must be a mapping of keys to values");
            ok = 0;
            done = 1;
            break;
          }
          top = 1;
          plen = 0;
          path[0] = 0;
        } else if (!parent->is_map) {
          plen = parent->base_len;
          if (!path_append(c, path, &plen, "[%zu]", NULL, parent->index++, line)) {
            ok = 0;
            done = 1;
            break;
          }
          nd = index_add(&c->idx, path, line);
          if (nd == NULL) {
            ok = 0;
            done = 1;
            break;
          }
        } else {
          // A mapping value: its key's node is the last one with this path.
          plen = strlen(path);
          nd = (config_node *)index_find(&c->idx, path);
          parent->want_key = 1;
        }
        if (ev.type == YAML_SCALAR_EVENT) {
          if (nd != NULL && !is_null_scalar(&ev) && nd->value == NULL) {
            nd->value = strdup((const char *)ev.data.scalar.value);
          }
          break;
        }
        if (depth == MAX_DEPTH) {
          config_err_line(c, line, "nesting deeper than %d levels", MAX_DEPTH);
          ok = 0;
          done = 1;
          break;
        }
        st[depth++] = (frame){ev.type == YAML_MAPPING_START_EVENT, 1, plen, 0};
        break;
      }
      case YAML_MAPPING_END_EVENT:
      case YAML_SEQUENCE_END_EVENT:
        if (depth > 0) depth--;
        break;
      default:
        break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&p);
  if (ok && !top) {
    config_err_line(c, 0, "the file holds no settings");
    ok = 0;
  }
  return ok;
}

// ---------------------------------------------------------------------------
// Pass 2: the libcyaml schema. Every leaf is read as a string and converted in
// pass 3, so that "port: 70000x" is an error with the value shown rather than
// a number quietly truncated.

#define OPT (CYAML_FLAG_POINTER_NULL_STR | CYAML_FLAG_OPTIONAL)
#define STR(key, type, field) CYAML_FIELD_STRING_PTR(key, OPT, type, field, 0, CYAML_UNLIMITED)

static const cyaml_schema_value_t kString = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_schema_field_t kListenerFields[] = {
    STR("address", raw_listener, address),
    STR("port", raw_listener, port),
    STR("enabled", raw_listener, enabled),
    STR("allow_non_loopback", raw_listener, allow_non_loopback),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kListenersFields[] = {
    CYAML_FIELD_MAPPING_PTR("s2s", OPT, raw_listeners, s2s, kListenerFields),
    CYAML_FIELD_MAPPING_PTR("s2s-tls", OPT, raw_listeners, s2s_tls, kListenerFields),
    CYAML_FIELD_MAPPING_PTR("internal", OPT, raw_listeners, internal, kListenerFields),
    CYAML_FIELD_MAPPING_PTR("admin", OPT, raw_listeners, admin, kListenerFields),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kBackendFields[] = {
    CYAML_FIELD_STRING_PTR("name", CYAML_FLAG_POINTER, raw_backend, name, 0, CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT("addresses", CYAML_FLAG_POINTER, raw_backend, addresses, n_addresses,
                               &kString, 0, CYAML_UNLIMITED),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t kBackend = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, raw_backend, kBackendFields),
};

static const cyaml_schema_field_t kDomainFields[] = {
    CYAML_FIELD_STRING_PTR("name", CYAML_FLAG_POINTER, raw_domain, name, 0, CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("backend", CYAML_FLAG_POINTER, raw_domain, backend, 0, CYAML_UNLIMITED),
    STR("cert", raw_domain, cert),
    STR("key", raw_domain, key),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t kDomain = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, raw_domain, kDomainFields),
};

static const cyaml_schema_field_t kTlsFields[] = {
    STR("required", raw_tls, required),
    CYAML_FIELD_SEQUENCE_COUNT("plaintext_peers", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
                               raw_tls, plaintext_peers, n_plaintext_peers, &kString, 0,
                               CYAML_UNLIMITED),
    STR("default_cert", raw_tls, default_cert),
    STR("default_key", raw_tls, default_key),
    STR("trust_file", raw_tls, trust_file),
    STR("trust_dir", raw_tls, trust_dir),
    STR("legacy_cn_id", raw_tls, legacy_cn_id),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kDialbackFields[] = {
    STR("enabled", raw_dialback, enabled),
    STR("secret_file", raw_dialback, secret_file),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kHopFields[] = {
    STR("mode", raw_hop, mode),
    STR("plaintext", raw_hop, plaintext),
    STR("ca_cert", raw_hop, ca_cert),
    STR("ca_key", raw_hop, ca_key),
    STR("cert_lifetime", raw_hop, cert_lifetime),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kLimitsFields[] = {
    STR("element_bytes_before_auth", raw_limits, element_bytes_before_auth),
    STR("element_bytes_after_auth", raw_limits, element_bytes_after_auth),
    STR("streams_per_ip", raw_limits, streams_per_ip),
    STR("handshake_timeout", raw_limits, handshake_timeout),
    STR("idle_timeout", raw_limits, idle_timeout),
    STR("queue_stanzas", raw_limits, queue_stanzas),
    STR("queue_bytes", raw_limits, queue_bytes),
    STR("streams_per_pair", raw_limits, streams_per_pair),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kStaticFields[] = {
    CYAML_FIELD_STRING_PTR("domain", CYAML_FLAG_POINTER, raw_static, domain, 0, CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT("targets", CYAML_FLAG_POINTER, raw_static, targets, n_targets,
                               &kString, 0, CYAML_UNLIMITED),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t kStatic = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, raw_static, kStaticFields),
};

static const cyaml_schema_field_t kDnsFields[] = {
    CYAML_FIELD_SEQUENCE_COUNT("static", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL, raw_dns,
                               statics, n_statics, &kStatic, 0, CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT("nameservers", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
                               raw_dns, nameservers, n_nameservers, &kString, 0, 16),
    STR("timeout", raw_dns, timeout),
    CYAML_FIELD_SEQUENCE_COUNT("allowed_networks", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
                               raw_dns, allowed_networks, n_allowed_networks, &kString, 0, 256),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kTopFields[] = {
    STR("log_level", raw_top, log_level),
    STR("workers", raw_top, workers),
    CYAML_FIELD_MAPPING_PTR("listeners", OPT, raw_top, listeners, kListenersFields),
    CYAML_FIELD_SEQUENCE_COUNT("domains", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL, raw_top,
                               domains, n_domains, &kDomain, 0, CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT("backends", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL, raw_top,
                               backends, n_backends, &kBackend, 0, CYAML_UNLIMITED),
    CYAML_FIELD_MAPPING_PTR("tls", OPT, raw_top, tls, kTlsFields),
    CYAML_FIELD_MAPPING_PTR("dialback", OPT, raw_top, dialback, kDialbackFields),
    CYAML_FIELD_MAPPING_PTR("internal_hop", OPT, raw_top, internal_hop, kHopFields),
    CYAML_FIELD_MAPPING_PTR("limits", OPT, raw_top, limits, kLimitsFields),
    CYAML_FIELD_MAPPING_PTR("dns", OPT, raw_top, dns, kDnsFields),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t kTop = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, raw_top, kTopFields),
};

typedef struct cy_log {
  char buf[4096];
  size_t len;
} cy_log;

static void cy_log_fn(cyaml_log_t level, void *vctx, const char *fmt, va_list args) {
  cy_log *l = vctx;
  if (level < CYAML_LOG_ERROR || l->len + 1 >= sizeof(l->buf)) return;
  int n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, args);
  if (n > 0) l->len += (size_t)n;
  if (l->len >= sizeof(l->buf)) l->len = sizeof(l->buf) - 1;
}

// cy_report turns libcyaml's error log into one diagnostic. The log is a
// problem line ("Load: Unexpected key: x") and a backtrace, innermost first
// ("  in mapping field 'port' (line: 4, column: 11)", "  in sequence entry
// '2' ..."); the backtrace gives the key path, and the pass-1 index the line.
static void cy_report(config_ctx *c, const cy_log *l, cyaml_err_t e) {
  char problem[512] = "";
  const char *frames[MAX_DEPTH];
  int nframes = 0;
  char copy[sizeof(l->buf)];
  memcpy(copy, l->buf, l->len);
  copy[l->len] = 0;
  char *save = NULL;
  for (char *ln = strtok_r(copy, "\n", &save); ln != NULL; ln = strtok_r(NULL, "\n", &save)) {
    while (*ln == ' ') ln++;
    if (strncmp(ln, "Load: ", 6) == 0) {
      if (problem[0] == 0 && strcmp(ln + 6, "Backtrace:") != 0) {
        snprintf(problem, sizeof(problem), "%s", ln + 6);
      }
    } else if (strncmp(ln, "in ", 3) == 0 && nframes < MAX_DEPTH) {
      frames[nframes++] = ln + 3;
    }
  }
  const char *unexpected = "Unexpected key: ";
  const char *missing = "Missing required mapping field: ";
  int is_missing = strncmp(problem, missing, strlen(missing)) == 0;
  // For a missing key the innermost frame is the last field that was present,
  // not a parent of the missing one.
  int innermost = is_missing && nframes > 0 && strncmp(frames[0], "mapping field", 13) == 0;
  char path[MAX_PATH_KEY] = "";
  size_t plen = 0;
  for (int i = nframes - 1; i >= innermost; i--) {
    const char *q = strchr(frames[i], '\'');
    const char *q2 = q ? strchr(q + 1, '\'') : NULL;
    if (q == NULL || q2 == NULL) continue;
    int n = (int)(q2 - q - 1);
    if (strncmp(frames[i], "mapping field", 13) == 0) {
      plen +=
          (size_t)snprintf(path + plen, sizeof(path) - plen, "%s%.*s", plen ? "." : "", n, q + 1);
    } else if (strncmp(frames[i], "sequence entry", 14) == 0) {
      // libcyaml counts entries from 1 in its backtrace; key paths count from 0.
      long idx = strtol(q + 1, NULL, 10);
      plen += (size_t)snprintf(path + plen, sizeof(path) - plen, "[%ld]", idx > 0 ? idx - 1 : 0);
    }
    if (plen >= sizeof(path)) plen = sizeof(path) - 1;
  }
  if (strncmp(problem, unexpected, strlen(unexpected)) == 0) {
    snprintf(path + plen, sizeof(path) - plen, "%s%s", plen ? "." : "",
             problem + strlen(unexpected));
    config_err(c, path, "unknown key (see docs/configuration.md)");
  } else if (is_missing) {
    snprintf(path + plen, sizeof(path) - plen, "%s%s", plen ? "." : "", problem + strlen(missing));
    config_err(c, path, "required key missing");
  } else if (strstr(problem, "got event: MAPPING_START") != NULL) {
    config_err(c, path, "expected %s, found a mapping",
               strstr(problem, "SEQUENCE") == problem + 10 ? "a list" : "a single value");
  } else if (strstr(problem, "got event: SEQUENCE_START") != NULL) {
    config_err(c, path, "expected %s, found a list",
               strncmp(problem, "Expecting MAPPING", 17) == 0 ? "a mapping" : "a single value");
  } else if (strstr(problem, "got event: SCALAR") != NULL) {
    config_err(c, path, "expected %s, found a single value",
               strncmp(problem, "Expecting SEQUENCE", 18) == 0 ? "a list" : "a mapping");
  } else {
    config_err(c, path, "%s", problem[0] ? problem : cyaml_strerror(e));
  }
}

// config_schema_load loads |path| against the schema into |*out|. libcyaml
// reads the file again: the pass-1 index only gives lines and values.
int config_schema_load(config_ctx *c, const char *path, raw_top **out) {
  cy_log log = {.len = 0};
  cyaml_config_t cy = {
      .log_fn = cy_log_fn,
      .log_ctx = &log,
      .mem_fn = cyaml_mem,
      .log_level = CYAML_LOG_ERROR,
      .flags = CYAML_CFG_NO_ALIAS,
  };
  *out = NULL;
  cyaml_err_t e = cyaml_load_file(path, &cy, &kTop, (cyaml_data_t **)out, NULL);
  if (e != CYAML_OK) {
    cy_report(c, &log, e);
    return 0;
  }
  return 1;
}

void config_schema_free(raw_top *raw) {
  if (raw == NULL) return;
  cyaml_config_t cy = {.mem_fn = cyaml_mem, .log_level = CYAML_LOG_ERROR};
  cyaml_free(&cy, &kTop, raw, 0);
}

// ---------------------------------------------------------------------------
// Pass 3: values, ranges and cross-references.

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

static int is_loopback(const char *addr) {
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, addr, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, addr, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return 0;
}

static void load_listener(config_ctx *c, fg_listener_id id, const raw_listener *r,
                          const char *def_addr, uint16_t def_port) {
  fg_config_listener *l = &c->cfg->listeners[id];
  char path[128];
  snprintf(l->address, sizeof(l->address), "%s", def_addr);
  l->port = def_port;
  l->enabled = 1;
  if (r == NULL) return;
  snprintf(path, sizeof(path), "listeners.%s.enabled", fg_config_listener_name(id));
  config_parse_bool(c, path, r->enabled, 1, &l->enabled);
  snprintf(path, sizeof(path), "listeners.%s.port", fg_config_listener_name(id));
  uint64_t port;
  if (config_parse_uint(c, path, r->port, 1, 65535, def_port, &port)) l->port = (uint16_t)port;
  if (r->address != NULL) {
    snprintf(path, sizeof(path), "listeners.%s.address", fg_config_listener_name(id));
    char a[64];
    const char *v = r->address;
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '[' && v[n - 1] == ']' && n - 2 < sizeof(a)) {
      memcpy(a, v + 1, n - 2);
      a[n - 2] = 0;
    } else if (n < sizeof(a)) {
      memcpy(a, v, n + 1);
    } else {
      a[0] = 0;
    }
    struct in_addr a4;
    struct in6_addr a6;
    if (n >= sizeof(a) || (inet_pton(AF_INET, a, &a4) != 1 && inet_pton(AF_INET6, a, &a6) != 1)) {
      config_err(c, path, "expected a numeric IPv4 or IPv6 address (0.0.0.0 or :: for all)");
    } else {
      snprintf(l->address, sizeof(l->address), "%s", a);
    }
  }
  if (id == FG_LISTENER_ADMIN && l->enabled && !is_loopback(l->address)) {
    int allow = 0;
    snprintf(path, sizeof(path), "listeners.admin.allow_non_loopback");
    config_parse_bool(c, path, r->allow_non_loopback, 0, &allow);
    snprintf(path, sizeof(path), "listeners.admin.address");
    if (!allow) {
      config_err(
          c, path,
          "the admin listener serves /streams and /metrics without authentication: bind it to "
          "loopback, or set allow_non_loopback: true");
    }
  } else if (r->allow_non_loopback != NULL && id != FG_LISTENER_ADMIN) {
    snprintf(path, sizeof(path), "listeners.%s.allow_non_loopback", fg_config_listener_name(id));
    config_err(c, path, "only the admin listener has this setting");
  }
}

static void check_listener_clashes(config_ctx *c) {
  fg_config_listener *ls = c->cfg->listeners;
  for (int i = 0; i < FG_LISTENER_COUNT; i++) {
    for (int j = i + 1; j < FG_LISTENER_COUNT; j++) {
      if (!ls[i].enabled || !ls[j].enabled || ls[i].port != ls[j].port) continue;
      // "::" binds IPv4 too (IPV6_V6ONLY off); "0.0.0.0" covers every IPv4 address.
      const char *x = ls[i].address, *y = ls[j].address;
      int v4x = strchr(x, ':') == NULL, v4y = strchr(y, ':') == NULL;
      int clash = strcmp(x, y) == 0 || strcmp(x, "::") == 0 || strcmp(y, "::") == 0 ||
                  (strcmp(x, "0.0.0.0") == 0 && v4y) || (strcmp(y, "0.0.0.0") == 0 && v4x);
      if (!clash) continue;
      char path[64];
      snprintf(path, sizeof(path), "listeners.%s.port", fg_config_listener_name((fg_listener_id)j));
      config_err(c, path, "listener %s uses the same address and port (%s port %u)",
                 fg_config_listener_name((fg_listener_id)i), ls[i].address, ls[i].port);
    }
  }
}

static void load_backends(config_ctx *c, const raw_top *t) {
  fg_config *cfg = c->cfg;
  char path[128];
  if (t->n_backends == 0) {
    config_err(c, "backends", "at least one backend (internal server) is required");
    return;
  }
  cfg->backends = calloc(t->n_backends, sizeof(fg_config_backend));
  if (cfg->backends == NULL) return;
  for (unsigned i = 0; i < t->n_backends; i++) {
    const raw_backend *rb = &t->backends[i];
    fg_config_backend *b = &cfg->backends[cfg->n_backends++];
    snprintf(path, sizeof(path), "backends[%u].name", i);
    b->name = strdup(rb->name != NULL ? rb->name : "");
    if (b->name == NULL) return;
    if (b->name[0] == 0) config_err(c, path, "a backend needs a name");
    for (unsigned j = 0; j < i; j++) {
      if (strcmp(cfg->backends[j].name, b->name) == 0) {
        char other[64];
        snprintf(other, sizeof(other), "backends[%u].name", j);
        const config_node *nd;
        config_err(c, path, "duplicate backend name (first at line %u)",
                   config_nearest_line(c, other, &nd));
        break;
      }
    }
    snprintf(path, sizeof(path), "backends[%u].addresses", i);
    if (rb->n_addresses == 0) {
      config_err(c, path, "a backend needs at least one host:port address");
      continue;
    }
    b->addresses = calloc(rb->n_addresses, sizeof(fg_config_target));
    if (b->addresses == NULL) return;
    for (unsigned a = 0; a < rb->n_addresses; a++) {
      snprintf(path, sizeof(path), "backends[%u].addresses[%u]", i, a);
      fg_config_target tg;
      if (!config_parse_target(c, path, rb->addresses[a], FG_CONFIG_DEFAULT_BACKEND_PORT, &tg))
        continue;
      int dup = 0;
      for (size_t k = 0; k < b->n_addresses; k++) {
        dup |= strcmp(b->addresses[k].host, tg.host) == 0 && b->addresses[k].port == tg.port;
      }
      if (dup) {
        config_err(c, path, "this address is listed twice for the backend");
        free(tg.host);
        continue;
      }
      b->addresses[b->n_addresses++] = tg;
    }
  }
}

static void load_domains(config_ctx *c, const raw_top *t) {
  fg_config *cfg = c->cfg;
  char path[128], other[128];
  if (t->n_domains == 0) {
    config_err(c, "domains", "at least one hosted domain is required");
    return;
  }
  cfg->domains = calloc(t->n_domains, sizeof(fg_config_domain));
  size_t *first = calloc(t->n_domains, sizeof(size_t));  // raw index of each kept domain
  unsigned char *used = calloc(cfg->n_backends + 1, 1);
  size_t mask = 15;
  while (mask + 1 < 2 * (size_t)t->n_domains) mask = 2 * mask + 1;
  size_t *seen = calloc(mask + 1, sizeof(size_t));
  if (cfg->domains == NULL || first == NULL || used == NULL || seen == NULL) goto done;
  for (unsigned i = 0; i < t->n_domains; i++) {
    const raw_domain *rd = &t->domains[i];
    snprintf(path, sizeof(path), "domains[%u].name", i);
    int wildcard = 0;
    char *name = config_normalize_domain(c, path, rd->name, 1, &wildcard);
    if (name == NULL) continue;
    // Duplicates: an open-addressing set of kept domains (index + 1), so that
    // files with 100,000 domains load in linear time.
    uint64_t h = XXH3_64bits_withSeed(name, strlen(name), (uint64_t)wildcard);
    size_t slot = h & mask;
    int dup = 0;
    for (; seen[slot] != 0; slot = (slot + 1) & mask) {
      const fg_config_domain *o = &cfg->domains[seen[slot] - 1];
      if (o->wildcard == wildcard && strcmp(o->name, name) == 0) {
        snprintf(other, sizeof(other), "domains[%zu].name", first[seen[slot] - 1]);
        const config_node *nd;
        config_err(c, path, "duplicate domain (first at line %u)",
                   config_nearest_line(c, other, &nd));
        dup = 1;
        break;
      }
    }
    if (dup) {
      free(name);
      continue;
    }
    seen[slot] = cfg->n_domains + 1;
    fg_config_domain *d = &cfg->domains[cfg->n_domains];
    first[cfg->n_domains++] = i;
    d->name = name;
    d->wildcard = wildcard;
    snprintf(path, sizeof(path), "domains[%u].backend", i);
    size_t b = 0;
    while (b < cfg->n_backends && strcmp(cfg->backends[b].name, rd->backend) != 0) b++;
    if (b == cfg->n_backends) {
      config_err(c, path, "no backend has this name");
    } else {
      d->backend = b;
      used[b] = 1;
    }
    char cert_path[128], key_path[128];
    snprintf(cert_path, sizeof(cert_path), "domains[%u].cert", i);
    snprintf(key_path, sizeof(key_path), "domains[%u].key", i);
    if ((rd->cert == NULL) != (rd->key == NULL)) {
      config_err(c, rd->cert == NULL ? key_path : cert_path, "cert and key must be given together");
    } else if (rd->cert != NULL) {
      d->cert_file = config_resolve_path(c, rd->cert);
      d->key_file = config_resolve_path(c, rd->key);
      if (d->cert_file != NULL && d->key_file != NULL) {
        config_check_pair(c, cert_path, d->cert_file, key_path, d->key_file);
      }
    } else if (cfg->tls.default_cert_file != NULL) {
      d->cert_file = strdup(cfg->tls.default_cert_file);
      d->key_file = strdup(cfg->tls.default_key_file);
    } else {
      snprintf(path, sizeof(path), "domains[%u]", i);
      config_err(c, path, "%s%s has no certificate: give cert and key, or tls.default_cert",
                 wildcard ? "*." : "", name);
    }
  }
  for (size_t b = 0; b < cfg->n_backends; b++) {
    if (used[b]) continue;
    snprintf(path, sizeof(path), "backends[%zu].name", b);
    config_warn(c, path, "no domain uses this backend");
  }
done:
  free(first);
  free(used);
  free(seen);
}

static void load_tls(config_ctx *c, const raw_tls *r) {
  fg_config *cfg = c->cfg;
  raw_tls none = {0};
  if (r == NULL) r = &none;
  config_parse_bool(c, "tls.required", r->required, 1, &cfg->tls.required);
  config_parse_bool(c, "tls.legacy_cn_id", r->legacy_cn_id, 0, &cfg->tls.legacy_cn_id);
  if ((r->default_cert == NULL) != (r->default_key == NULL)) {
    config_err(c, r->default_cert == NULL ? "tls.default_key" : "tls.default_cert",
               "default_cert and default_key must be given together");
  } else if (r->default_cert != NULL) {
    char *cert = config_resolve_path(c, r->default_cert),
         *key = config_resolve_path(c, r->default_key);
    if (cert != NULL && key != NULL &&
        config_check_pair(c, "tls.default_cert", cert, "tls.default_key", key)) {
      cfg->tls.default_cert_file = cert;
      cfg->tls.default_key_file = key;
    } else {
      free(cert);
      free(key);
    }
  }
  if (r->trust_file != NULL) {
    cfg->tls.trust_file = config_resolve_path(c, r->trust_file);
    if (cfg->tls.trust_file != NULL) config_check_file(c, "tls.trust_file", cfg->tls.trust_file, 0);
  }
  if (r->trust_dir != NULL) {
    cfg->tls.trust_dir = config_resolve_path(c, r->trust_dir);
    if (cfg->tls.trust_dir != NULL) config_check_file(c, "tls.trust_dir", cfg->tls.trust_dir, 1);
  }
  if (r->trust_file == NULL && r->trust_dir == NULL) {
    const char *sys = "/etc/ssl/certs/ca-certificates.crt";
    if (access(sys, R_OK) == 0) {
      cfg->tls.trust_file = strdup(sys);
    } else {
      config_err(c, "tls", "no trust store: set tls.trust_file or tls.trust_dir (%s is missing)",
                 sys);
    }
  }
  if (r->n_plaintext_peers > 0) {
    cfg->tls.plaintext_peers = calloc(r->n_plaintext_peers, sizeof(char *));
    if (cfg->tls.plaintext_peers == NULL) return;
    for (unsigned i = 0; i < r->n_plaintext_peers; i++) {
      char path[64];
      snprintf(path, sizeof(path), "tls.plaintext_peers[%u]", i);
      char *d = config_normalize_domain(c, path, r->plaintext_peers[i], 0, NULL);
      if (d != NULL) cfg->tls.plaintext_peers[cfg->tls.n_plaintext_peers++] = d;
    }
    if (!cfg->tls.required) {
      config_warn(c, "tls.plaintext_peers", "has no effect while tls.required is false");
    }
  }
  if (!cfg->tls.required) {
    config_warn(c, "tls.required",
                "remote servers may federate without TLS: their traffic and "
                "dialback keys cross the internet in clear text");
  }
}

static void load_dialback(config_ctx *c, const raw_dialback *r) {
  fg_config *cfg = c->cfg;
  raw_dialback none = {0};
  if (r == NULL) r = &none;
  config_parse_bool(c, "dialback.enabled", r->enabled, 1, &cfg->dialback.enabled);
  if (r->secret_file != NULL) {
    cfg->dialback.secret_file = config_resolve_path(c, r->secret_file);
    if (cfg->dialback.secret_file != NULL) {
      config_read_secret(c, "dialback.secret_file", cfg->dialback.secret_file);
    }
    return;
  }
  if (!cfg->dialback.enabled) return;
  // XEP-0185 §3: any secret works for one process; instances that share a
  // DNS name need the same one, hence the warning.
  cfg->dialback.secret = malloc(32);
  if (cfg->dialback.secret == NULL || !RAND_bytes(cfg->dialback.secret, 32)) return;
  cfg->dialback.secret_len = 32;
  config_warn(c, "dialback",
              "no secret_file: using a random secret, so keys issued before a restart "
              "or by another instance will not verify");
}

static void load_hop(config_ctx *c, const raw_hop *r) {
  fg_config *cfg = c->cfg;
  raw_hop none = {0};
  if (r == NULL) r = &none;
  cfg->internal_hop.mode = FG_HOP_INTERNAL_CA;
  if (r->mode != NULL) {
    if (strcmp(r->mode, "internal-ca") == 0) {
      cfg->internal_hop.mode = FG_HOP_INTERNAL_CA;
    } else if (strcmp(r->mode, "dialback") == 0) {
      cfg->internal_hop.mode = FG_HOP_DIALBACK;
    } else {
      config_err(c, "internal_hop.mode", "expected internal-ca or dialback");
    }
  }
  config_parse_bool(c, "internal_hop.plaintext", r->plaintext, 0, &cfg->internal_hop.plaintext);
  uint64_t ms;
  config_parse_duration(c, "internal_hop.cert_lifetime", r->cert_lifetime, 3600000,
                        30 * 86400000ull, 86400000, &ms);
  cfg->internal_hop.cert_lifetime_s = (uint32_t)(ms / 1000);
  if (cfg->internal_hop.mode == FG_HOP_INTERNAL_CA) {
    if (cfg->internal_hop.plaintext) {
      config_err(
          c, "internal_hop.plaintext",
          "internal-ca mode authenticates with TLS client certificates: plaintext needs mode "
          "dialback");
    }
    if (r->ca_cert == NULL || r->ca_key == NULL) {
      config_err(c, r->ca_cert == NULL ? "internal_hop.ca_cert" : "internal_hop.ca_key",
                 "internal-ca mode needs ca_cert and ca_key");
    } else {
      cfg->internal_hop.ca_cert_file = config_resolve_path(c, r->ca_cert);
      cfg->internal_hop.ca_key_file = config_resolve_path(c, r->ca_key);
      if (cfg->internal_hop.ca_cert_file != NULL && cfg->internal_hop.ca_key_file != NULL) {
        config_check_pair(c, "internal_hop.ca_cert", cfg->internal_hop.ca_cert_file,
                          "internal_hop.ca_key", cfg->internal_hop.ca_key_file);
      }
    }
  } else {
    if (r->ca_cert != NULL || r->ca_key != NULL) {
      config_warn(c, r->ca_cert != NULL ? "internal_hop.ca_cert" : "internal_hop.ca_key",
                  "ignored in dialback mode");
    }
    if (!cfg->dialback.enabled) {
      config_err(c, "internal_hop.mode", "dialback mode needs dialback.enabled: true");
    }
  }
  if (cfg->internal_hop.plaintext) {
    config_warn(c, "internal_hop.plaintext",
                "stanzas cross the internal hop unencrypted: use only on a trusted network");
  }
}

static void load_limits(config_ctx *c, const raw_limits *r) {
  fg_config *cfg = c->cfg;
  raw_limits none = {0};
  if (r == NULL) r = &none;
  uint64_t v;
  const uint64_t max_el = 64u << 20;
  config_parse_uint(c, "limits.element_bytes_before_auth", r->element_bytes_before_auth,
                    FG_CONFIG_MIN_ELEMENT_BYTES, max_el,
                    FG_CONFIG_DEFAULT_ELEMENT_BYTES_BEFORE_AUTH, &v);
  cfg->limits.element_bytes_before_auth = v;
  config_parse_uint(c, "limits.element_bytes_after_auth", r->element_bytes_after_auth,
                    FG_CONFIG_MIN_ELEMENT_BYTES, max_el, FG_CONFIG_DEFAULT_ELEMENT_BYTES_AFTER_AUTH,
                    &v);
  cfg->limits.element_bytes_after_auth = v;
  if (cfg->limits.element_bytes_before_auth > cfg->limits.element_bytes_after_auth) {
    config_err(
        c, "limits.element_bytes_before_auth",
        "is larger than element_bytes_after_auth (%zu): unauthenticated peers would get more",
        cfg->limits.element_bytes_after_auth);
  }
  config_parse_uint(c, "limits.streams_per_ip", r->streams_per_ip, 1, 1000000, 32, &v);
  cfg->limits.streams_per_ip = (unsigned)v;
  config_parse_duration(c, "limits.handshake_timeout", r->handshake_timeout, 1000, 3600000, 30000,
                        &v);
  cfg->limits.handshake_timeout_ms = (uint32_t)v;
  config_parse_duration(c, "limits.idle_timeout", r->idle_timeout, 1000, 7 * 86400000ull, 600000,
                        &v);
  cfg->limits.idle_timeout_ms = (uint32_t)v;
  config_parse_uint(c, "limits.queue_stanzas", r->queue_stanzas, 1, 10000000, 1000, &v);
  cfg->limits.queue_stanzas = v;
  config_parse_uint(c, "limits.queue_bytes", r->queue_bytes, 1024, 1ull << 32, 1u << 20, &v);
  cfg->limits.queue_bytes = v;
  config_parse_uint(c, "limits.streams_per_pair", r->streams_per_pair, 1, 16, 1, &v);
  cfg->limits.streams_per_pair = (unsigned)v;
}

static void load_dns(config_ctx *c, const raw_dns *r) {
  fg_config *cfg = c->cfg;
  uint64_t v = 0;
  config_parse_duration(c, "dns.timeout", r ? r->timeout : NULL, 100, 60000, 2000, &v);
  cfg->dns_timeout_ms = (uint32_t)v;
  if (r != NULL && r->n_nameservers > 0) {
    cfg->dns_nameservers = calloc(r->n_nameservers, sizeof(char *));
    if (cfg->dns_nameservers == NULL) return;
    for (unsigned i = 0; i < r->n_nameservers; i++) {
      char path[64];
      snprintf(path, sizeof(path), "dns.nameservers[%u]", i);
      fg_config_target t = {0};
      // IP, IP:port or [IPv6]:port; host names are not allowed here.
      if (!config_parse_target(c, path, r->nameservers[i], 53, &t)) continue;
      free(t.host);
      cfg->dns_nameservers[cfg->n_dns_nameservers++] = strdup(r->nameservers[i]);
    }
  }
  if (r != NULL && r->n_allowed_networks > 0) {
    cfg->dns_allowed_networks = calloc(r->n_allowed_networks, sizeof(fg_cidr));
    if (cfg->dns_allowed_networks == NULL) return;
    for (unsigned i = 0; i < r->n_allowed_networks; i++) {
      char path[64];
      snprintf(path, sizeof(path), "dns.allowed_networks[%u]", i);
      fg_cidr *n = &cfg->dns_allowed_networks[cfg->n_dns_allowed_networks];
      if (r->allowed_networks[i] == NULL || !fg_cidr_parse(n, r->allowed_networks[i])) {
        config_err(c, path, "expected a numeric network such as 10.20.0.0/16 or fd00::/8");
        continue;
      }
      cfg->n_dns_allowed_networks++;
    }
  }
  if (r == NULL || r->n_statics == 0) return;
  cfg->dns_static = calloc(r->n_statics, sizeof(fg_config_static_dns));
  if (cfg->dns_static == NULL) return;
  char path[128];
  for (unsigned i = 0; i < r->n_statics; i++) {
    const raw_static *rs = &r->statics[i];
    snprintf(path, sizeof(path), "dns.static[%u].domain", i);
    char *d = config_normalize_domain(c, path, rs->domain, 0, NULL);
    if (d == NULL) continue;
    int dup = 0;
    for (size_t k = 0; k < cfg->n_dns_static; k++) dup |= strcmp(cfg->dns_static[k].domain, d) == 0;
    if (dup) {
      config_err(c, path, "this domain already has a static entry");
      free(d);
      continue;
    }
    fg_config_static_dns *s = &cfg->dns_static[cfg->n_dns_static++];
    s->domain = d;
    snprintf(path, sizeof(path), "dns.static[%u].targets", i);
    if (rs->n_targets == 0) {
      config_err(c, path, "needs at least one host:port target");
      continue;
    }
    s->targets = calloc(rs->n_targets, sizeof(fg_config_target));
    if (s->targets == NULL) return;
    for (unsigned t = 0; t < rs->n_targets; t++) {
      snprintf(path, sizeof(path), "dns.static[%u].targets[%u]", i, t);
      if (config_parse_target(c, path, rs->targets[t], 5269, &s->targets[s->n_targets]))
        s->n_targets++;
    }
  }
}

void config_load_sections(config_ctx *c, const raw_top *t) {
  fg_config *cfg = c->cfg;
  cfg->log_level = FG_LOG_INFO;
  if (t->log_level != NULL) {
    static const char *const kLevels[] = {"error", "warn", "info", "debug"};
    int found = 0;
    for (int i = 0; i < 4; i++) {
      if (strcmp(t->log_level, kLevels[i]) == 0) {
        cfg->log_level = (fg_log_level)i;
        found = 1;
      }
    }
    if (!found) config_err(c, "log_level", "expected error, warn, info or debug");
  }
  uint64_t w;
  config_parse_uint(c, "workers", t->workers, 0, 1024, 0, &w);
  cfg->workers = (unsigned)w;

  const raw_listeners *rl = t->listeners;
  load_listener(c, FG_LISTENER_S2S, rl ? rl->s2s : NULL, "::", FG_CONFIG_DEFAULT_S2S_PORT);
  load_listener(c, FG_LISTENER_S2S_TLS, rl ? rl->s2s_tls : NULL,
                "::", FG_CONFIG_DEFAULT_S2S_TLS_PORT);
  load_listener(c, FG_LISTENER_INTERNAL, rl ? rl->internal : NULL, "127.0.0.1",
                FG_CONFIG_DEFAULT_INTERNAL_PORT);
  load_listener(c, FG_LISTENER_ADMIN, rl ? rl->admin : NULL, "127.0.0.1",
                FG_CONFIG_DEFAULT_ADMIN_PORT);
  check_listener_clashes(c);
  if (!cfg->listeners[FG_LISTENER_S2S].enabled && !cfg->listeners[FG_LISTENER_S2S_TLS].enabled) {
    config_err(c, "listeners", "both public listeners (s2s and s2s-tls) are disabled");
  }

  load_tls(c, t->tls);  // before domains: they fall back to the default pair
  load_backends(c, t);
  load_domains(c, t);
  load_dialback(c, t->dialback);
  load_hop(c, t->internal_hop);
  load_limits(c, t->limits);
  load_dns(c, t->dns);
}

// ---------------------------------------------------------------------------

static void free_targets(fg_config_target *t, size_t n) {
  if (t == NULL) return;
  for (size_t i = 0; i < n; i++) free(t[i].host);
  free(t);
}

void fg_config_free(fg_config *cfg) {
  if (cfg == NULL) return;
  free(cfg->path);
  free(cfg->dir);
  if (cfg->domains != NULL) {
    for (size_t i = 0; i < cfg->n_domains; i++) {
      free(cfg->domains[i].name);
      free(cfg->domains[i].cert_file);
      free(cfg->domains[i].key_file);
    }
  }
  free(cfg->domains);
  if (cfg->backends != NULL) {
    for (size_t i = 0; i < cfg->n_backends; i++) {
      free(cfg->backends[i].name);
      free_targets(cfg->backends[i].addresses, cfg->backends[i].n_addresses);
    }
  }
  free(cfg->backends);
  if (cfg->tls.plaintext_peers != NULL) {
    for (size_t i = 0; i < cfg->tls.n_plaintext_peers; i++) free(cfg->tls.plaintext_peers[i]);
  }
  free(cfg->tls.plaintext_peers);
  free(cfg->tls.default_cert_file);
  free(cfg->tls.default_key_file);
  free(cfg->tls.trust_file);
  free(cfg->tls.trust_dir);
  free(cfg->dialback.secret_file);
  if (cfg->dialback.secret != NULL) OPENSSL_cleanse(cfg->dialback.secret, cfg->dialback.secret_len);
  free(cfg->dialback.secret);
  free(cfg->internal_hop.ca_cert_file);
  free(cfg->internal_hop.ca_key_file);
  if (cfg->dns_static != NULL) {
    for (size_t i = 0; i < cfg->n_dns_static; i++) {
      free(cfg->dns_static[i].domain);
      free_targets(cfg->dns_static[i].targets, cfg->dns_static[i].n_targets);
    }
  }
  free(cfg->dns_static);
  for (size_t i = 0; i < cfg->n_dns_nameservers; i++) free(cfg->dns_nameservers[i]);
  free(cfg->dns_nameservers);
  free(cfg->dns_allowed_networks);
  free(cfg);
}

static char *dir_of(const char *path) {
  char *copy = strdup(path);
  if (copy == NULL) return NULL;
  char *slash = strrchr(copy, '/');
  if (slash == NULL) {
    free(copy);
    copy = strdup(".");
  } else if (slash == copy) {
    slash[1] = 0;
  } else {
    *slash = 0;
  }
  if (copy == NULL) return NULL;
  char *abs = realpath(copy, NULL);
  free(copy);
  return abs;
}

fg_config *fg_config_load(const char *path, fg_config_diag *diag) {
  fg_config_diag local;
  fg_config_diag_init(&local);
  config_ctx c = {path, diag != NULL ? diag : &local, {0}, NULL};
  unsigned errors_before = c.diag->errors;
  fg_config *cfg = calloc(1, sizeof(*cfg));
  raw_top *raw = NULL;
  if (cfg == NULL) goto fail;
  c.cfg = cfg;
  cfg->path = strdup(path);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    config_err_line(&c, 0, "cannot open: %s", strerror(errno));
    goto fail;
  }
  cfg->dir = dir_of(path);
  int indexed = config_index_file(&c, f);
  fclose(f);
  if (!indexed || cfg->path == NULL || cfg->dir == NULL) goto fail;

  if (!config_schema_load(&c, path, &raw)) goto fail;
  config_load_sections(&c, raw);
  config_schema_free(raw);
  raw = NULL;
  if (c.diag->errors != errors_before) goto fail;
  config_index_free(&c.idx);
  fg_config_diag_cleanup(&local);
  return cfg;
fail:
  config_schema_free(raw);
  config_index_free(&c.idx);
  fg_config_free(cfg);
  fg_config_diag_cleanup(&local);
  return NULL;
}

static const char *const kListenerNames[FG_LISTENER_COUNT] = {"s2s", "s2s-tls", "internal",
                                                              "admin"};

const char *fg_config_listener_name(fg_listener_id id) {
  return (unsigned)id < FG_LISTENER_COUNT ? kListenerNames[id] : "unknown";
}

const char *fg_config_log_level_name(fg_log_level l) {
  static const char *const kNames[] = {"error", "warn", "info", "debug"};
  return (unsigned)l <= FG_LOG_DEBUG ? kNames[l] : "unknown";
}

const char *fg_config_hop_mode_name(fg_hop_mode m) {
  return m == FG_HOP_DIALBACK ? "dialback" : "internal-ca";
}
