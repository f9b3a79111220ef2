// config_yaml.c: reading the configuration file: the libyaml pass that indexes
// every key path with its line and scalar value (and reports syntax errors,
// duplicate keys, anchors, extra documents), and the libcyaml schema pass whose
// errors are mapped back to lines through that index.
#include "gateway/config/config.h"
#include "gateway/config/config_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cyaml/cyaml.h>
#include <yaml.h>

#define MAX_DEPTH 32  // nesting of mappings/sequences in the file

// ---------------------------------------------------------------------------
// Pass 1: libyaml events into the index (config_index.c).

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
          const config_node *prev = config_index_find(&c->idx, path);
          if (prev != NULL) {
            // Stop here: the duplicate's children would all clash as well.
            config_err_line(c, line, "%s: duplicate key (first at line %u)", path, prev->line);
            ok = 0;
            done = 1;
            break;
          }
          if (config_index_add(&c->idx, path, line) == NULL) {
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
          nd = config_index_add(&c->idx, path, line);
          if (nd == NULL) {
            ok = 0;
            done = 1;
            break;
          }
        } else {
          // A mapping value: its key's node is the last one with this path.
          plen = strlen(path);
          nd = (config_node *)config_index_find(&c->idx, path);
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

static const cyaml_schema_field_t kProxyProtocolFields[] = {
    CYAML_FIELD_SEQUENCE_COUNT("trusted_networks", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
                               raw_proxy_protocol, trusted_networks, n_trusted_networks, &kString,
                               0, 256),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kListenerFields[] = {
    STR("address", raw_listener, address),
    STR("port", raw_listener, port),
    STR("enabled", raw_listener, enabled),
    STR("allow_non_loopback", raw_listener, allow_non_loopback),
    STR("socket", raw_listener, socket),
    CYAML_FIELD_MAPPING_PTR("proxy_protocol", OPT, raw_listener, proxy_protocol,
                            kProxyProtocolFields),
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
    STR("hop_mode", raw_backend, hop_mode),
    STR("pairs_per_stream", raw_backend, pairs_per_stream),
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

static const cyaml_schema_field_t kPoshFields[] = {
    STR("enabled", raw_posh, enabled),
    STR("timeout", raw_posh, timeout),
    STR("negative_ttl", raw_posh, negative_ttl),
    STR("max_ttl", raw_posh, max_ttl),
    CYAML_FIELD_SEQUENCE_COUNT("allowed_networks", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
                               raw_posh, allowed_networks, n_allowed_networks, &kString, 0, 256),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kTlsFields[] = {
    CYAML_FIELD_MAPPING_PTR("posh", OPT, raw_tls, posh, kPoshFields),
    STR("required", raw_tls, required),
    CYAML_FIELD_SEQUENCE_COUNT("plaintext_peers", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
                               raw_tls, plaintext_peers, n_plaintext_peers, &kString, 0,
                               CYAML_UNLIMITED),
    STR("default_cert", raw_tls, default_cert),
    STR("default_key", raw_tls, default_key),
    STR("trust_file", raw_tls, trust_file),
    STR("trust_dir", raw_tls, trust_dir),
    STR("legacy_cn_id", raw_tls, legacy_cn_id),
    STR("ticket_key_file", raw_tls, ticket_key_file),
    STR("ticket_key_check_interval", raw_tls, ticket_key_check_interval),
    STR("session_cache_entries", raw_tls, session_cache_entries),
    STR("dane", raw_tls, dane),
    STR("dane_inbound", raw_tls, dane_inbound),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kDialbackFields[] = {
    STR("enabled", raw_dialback, enabled),
    STR("secret_file", raw_dialback, secret_file),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kBidiFields[] = {
    STR("enabled", raw_bidi, enabled),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kSmFields[] = {
    STR("enabled", raw_sm, enabled),
    STR("request_every", raw_sm, request_every),
    STR("request_interval", raw_sm, request_interval),
    STR("resume_timeout", raw_sm, resume_timeout),
    STR("give_up_after", raw_sm, give_up_after),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kHopFields[] = {
    STR("mode", raw_hop, mode),
    STR("plaintext", raw_hop, plaintext),
    STR("ca_cert", raw_hop, ca_cert),
    STR("ca_key", raw_hop, ca_key),
    STR("cert_lifetime", raw_hop, cert_lifetime),
    STR("close_on_link_loss", raw_hop, close_on_link_loss),
    STR("bidi", raw_hop, bidi),
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
    STR("pairs_per_stream", raw_limits, pairs_per_stream),
    STR("ipv6_prefix", raw_limits, ipv6_prefix),
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

static const cyaml_schema_field_t kDnssecFields[] = {
    CYAML_FIELD_SEQUENCE_COUNT("trusted_resolvers", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
                               raw_dnssec, trusted_resolvers, n_trusted_resolvers, &kString, 0, 16),
    STR("allow_non_loopback", raw_dnssec, allow_non_loopback),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kDnsFields[] = {
    CYAML_FIELD_MAPPING_PTR("dnssec", OPT, raw_dns, dnssec, kDnssecFields),
    CYAML_FIELD_SEQUENCE_COUNT("static", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL, raw_dns,
                               statics, n_statics, &kStatic, 0, CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT("nameservers", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
                               raw_dns, nameservers, n_nameservers, &kString, 0, 16),
    STR("timeout", raw_dns, timeout),
    CYAML_FIELD_SEQUENCE_COUNT("allowed_networks", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
                               raw_dns, allowed_networks, n_allowed_networks, &kString, 0, 256),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kResponderFields[] = {
    STR("issuer", raw_responder, issuer),
    STR("url", raw_responder, url),
    STR("crl", raw_responder, crl),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t kResponder = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, raw_responder, kResponderFields),
};

static const cyaml_schema_field_t kDomainPolicyFields[] = {
    STR("domain", raw_domain_policy, domain),
    STR("mode", raw_domain_policy, mode),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t kDomainPolicy = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, raw_domain_policy, kDomainPolicyFields),
};

static const cyaml_schema_field_t kStaplingFields[] = {
    STR("enabled", raw_stapling, enabled),
    STR("state_dir", raw_stapling, state_dir),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kRevocationFields[] = {
    STR("mode", raw_revocation, mode),
    STR("leaf_only", raw_revocation, leaf_only),
    STR("timeout", raw_revocation, timeout),
    STR("clock_skew", raw_revocation, clock_skew),
    STR("negative_ttl", raw_revocation, negative_ttl),
    STR("cache_entries", raw_revocation, cache_entries),
    STR("cache_bytes", raw_revocation, cache_bytes),
    CYAML_FIELD_SEQUENCE_COUNT("allowed_networks", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
                               raw_revocation, allowed_networks, n_allowed_networks, &kString, 0,
                               256),
    CYAML_FIELD_SEQUENCE_COUNT("responders", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
                               raw_revocation, responders, n_responders, &kResponder, 0, 1024),
    CYAML_FIELD_SEQUENCE_COUNT("domains", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
                               raw_revocation, domains, n_domains, &kDomainPolicy, 0,
                               CYAML_UNLIMITED),
    CYAML_FIELD_MAPPING_PTR("stapling", OPT, raw_revocation, stapling, kStaplingFields),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kLogFields[] = {
    STR("format", raw_log, format),
    STR("file", raw_log, file),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kShutdownFields[] = {
    STR("grace", raw_shutdown, grace),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kAdminFields[] = {
    CYAML_FIELD_SEQUENCE_COUNT("allowed_networks", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
                               raw_admin, allowed_networks, n_allowed_networks, &kString, 0, 256),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kRtblFields[] = {
    STR("service", raw_rtbl, service),
    STR("node", raw_rtbl, node),
    STR("jid", raw_rtbl, jid),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t kRtbl = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, raw_rtbl, kRtblFields),
};

static const cyaml_schema_field_t kAbuseLimitsFields[] = {
    STR("domain_stanzas", raw_abuse_limits, domain_stanzas),
    STR("domain_bytes", raw_abuse_limits, domain_bytes),
    STR("address_stanzas", raw_abuse_limits, address_stanzas),
    STR("address_bytes", raw_abuse_limits, address_bytes),
    STR("sender_stanzas", raw_abuse_limits, sender_stanzas),
    STR("unsolicited_per_minute", raw_abuse_limits, unsolicited_per_minute),
    STR("connections", raw_abuse_limits, connections),
    STR("domain_connections", raw_abuse_limits, domain_connections),
    STR("outbound_domain_stanzas", raw_abuse_limits, outbound_domain_stanzas),
    STR("outbound_domain_bytes", raw_abuse_limits, outbound_domain_bytes),
    STR("burst", raw_abuse_limits, burst),
    STR("sustained", raw_abuse_limits, sustained),
    STR("max_keys", raw_abuse_limits, max_keys),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kReportsFields[] = {
    STR("enabled", raw_reports, enabled),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kAbuseFields[] = {
    CYAML_FIELD_SEQUENCE_COUNT("block", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL, raw_abuse,
                               block, n_block, &kString, 0, CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT("allow_only", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
                               raw_abuse, allow_only, n_allow_only, &kString, 0, CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT("rtbl", CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL, raw_abuse,
                               rtbl, n_rtbl, &kRtbl, 0, 64),
    CYAML_FIELD_MAPPING_PTR("limits", OPT, raw_abuse, limits, kAbuseLimitsFields),
    CYAML_FIELD_MAPPING_PTR("reports", OPT, raw_abuse, reports, kReportsFields),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t kTopFields[] = {
    STR("log_level", raw_top, log_level),
    STR("workers", raw_top, workers),
    CYAML_FIELD_MAPPING_PTR("log", OPT, raw_top, log, kLogFields),
    CYAML_FIELD_MAPPING_PTR("shutdown", OPT, raw_top, shutdown, kShutdownFields),
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
    CYAML_FIELD_MAPPING_PTR("revocation", OPT, raw_top, revocation, kRevocationFields),
    CYAML_FIELD_MAPPING_PTR("admin", OPT, raw_top, admin, kAdminFields),
    CYAML_FIELD_MAPPING_PTR("abuse", OPT, raw_top, abuse, kAbuseFields),
    CYAML_FIELD_MAPPING_PTR("stream_management", OPT, raw_top, stream_management, kSmFields),
    CYAML_FIELD_MAPPING_PTR("bidi", OPT, raw_top, bidi, kBidiFields),
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
