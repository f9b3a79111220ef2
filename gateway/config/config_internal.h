// config_internal.h: what the files of the configuration loader share (the
// key index, the raw libcyaml structs, the diagnostics context) and the
// functions one file offers the others. Not a public interface: see config.h.
#ifndef FEDGATE_GATEWAY_CONFIG_INTERNAL_H
#define FEDGATE_GATEWAY_CONFIG_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "gateway/config/config.h"

// --- The pass-1 index (config_index.c, filled by config_yaml.c): key path ->
// line and scalar value.

typedef struct config_node {
  char *path;
  unsigned line;  // 1-based line of the key (mapping entries) or value
  char *value;    // scalar value; NULL for null, mappings and sequences
  uint64_t hash;
} config_node;

#define MAX_PATH_KEY 512  // longest key path ("domains[12].cert")

typedef struct config_index {
  config_node *v;
  size_t n, cap;
  uint32_t *slots;  // open addressing: node index + 1, 0 = empty
  size_t mask;
} config_index;

// config_ctx is one load: the file as named in diagnostics, where they go,
// the pass-1 index and the snapshot being filled.
typedef struct config_ctx {
  const char *file;
  fg_config_diag *diag;
  config_index idx;
  fg_config *cfg;
} config_ctx;

// --- The raw document (config_yaml.c's schema): every leaf a string, converted
// in pass 3 so that "port: 70000x" is an error with the value shown rather
// than a number quietly truncated.

typedef struct raw_proxy_protocol {
  char **trusted_networks;
  unsigned n_trusted_networks;
} raw_proxy_protocol;

typedef struct raw_listener {
  char *address, *port, *enabled, *allow_non_loopback, *socket;
  raw_proxy_protocol *proxy_protocol;
} raw_listener;

typedef struct raw_listeners {
  raw_listener *s2s, *s2s_tls, *internal, *admin;
} raw_listeners;

typedef struct raw_backend {
  char *name, *hop_mode, *pairs_per_stream;
  char **addresses;
  unsigned n_addresses;
} raw_backend;

typedef struct raw_domain {
  char *name, *backend, *cert, *key;
} raw_domain;

typedef struct raw_posh {
  char *enabled, *timeout, *negative_ttl, *max_ttl;
  char **allowed_networks;
  unsigned n_allowed_networks;
} raw_posh;

typedef struct raw_tls {
  raw_posh *posh;
  char *required;
  char **plaintext_peers;
  unsigned n_plaintext_peers;
  char *default_cert, *default_key, *trust_file, *trust_dir, *legacy_cn_id;
  char *ticket_key_file, *ticket_key_check_interval, *session_cache_entries;
  char *dane, *dane_inbound;
} raw_tls;

typedef struct raw_sm {
  char *enabled, *request_every, *request_interval, *resume_timeout;
  char *give_up_after;
} raw_sm;

typedef struct raw_bidi {
  char *enabled;
} raw_bidi;

typedef struct raw_dialback {
  char *enabled, *secret_file;
} raw_dialback;

typedef struct raw_hop {
  char *mode, *plaintext, *ca_cert, *ca_key, *cert_lifetime;
  char *close_on_link_loss;
  char *bidi;
} raw_hop;

typedef struct raw_limits {
  char *element_bytes_before_auth, *element_bytes_after_auth, *streams_per_ip;
  char *handshake_timeout, *idle_timeout, *queue_stanzas, *queue_bytes, *streams_per_pair;
  char *ipv6_prefix;
  char *pairs_per_stream;
} raw_limits;

typedef struct raw_static {
  char *domain;
  char **targets;
  unsigned n_targets;
} raw_static;

typedef struct raw_dnssec {
  char **trusted_resolvers;
  unsigned n_trusted_resolvers;
  char *allow_non_loopback;
} raw_dnssec;

typedef struct raw_dns {
  raw_dnssec *dnssec;
  raw_static *statics;
  unsigned n_statics;
  char **nameservers;
  unsigned n_nameservers;
  char *timeout;
  char **allowed_networks;
  unsigned n_allowed_networks;
} raw_dns;

typedef struct raw_responder {
  char *issuer, *url, *crl;
} raw_responder;

typedef struct raw_domain_policy {
  char *domain, *mode;
} raw_domain_policy;

typedef struct raw_stapling {
  char *enabled, *state_dir;
} raw_stapling;

typedef struct raw_revocation {
  char *mode, *leaf_only, *timeout, *clock_skew, *negative_ttl, *cache_entries, *cache_bytes;
  char **allowed_networks;
  unsigned n_allowed_networks;
  raw_responder *responders;
  unsigned n_responders;
  raw_domain_policy *domains;
  unsigned n_domains;
  raw_stapling *stapling;
} raw_revocation;

typedef struct raw_log {
  char *format, *file;
} raw_log;

typedef struct raw_shutdown {
  char *grace;
} raw_shutdown;

typedef struct raw_admin {
  char **allowed_networks;
  unsigned n_allowed_networks;
} raw_admin;

typedef struct raw_rtbl {
  char *service, *node, *jid;
} raw_rtbl;

typedef struct raw_abuse_limits {
  char *domain_stanzas, *domain_bytes, *address_stanzas, *address_bytes, *sender_stanzas;
  char *unsolicited_per_minute, *connections, *domain_connections, *outbound_domain_stanzas,
      *outbound_domain_bytes, *burst, *sustained, *max_keys;
} raw_abuse_limits;

typedef struct raw_reports {
  char *enabled;
} raw_reports;

typedef struct raw_abuse {
  char **block;
  unsigned n_block;
  char **allow_only;
  unsigned n_allow_only;
  raw_rtbl *rtbl;
  unsigned n_rtbl;
  raw_abuse_limits *limits;
  raw_reports *reports;
} raw_abuse;

typedef struct raw_top {
  char *log_level, *workers;
  raw_log *log;
  raw_shutdown *shutdown;
  raw_listeners *listeners;
  raw_domain *domains;
  unsigned n_domains;
  raw_backend *backends;
  unsigned n_backends;
  raw_tls *tls;
  raw_dialback *dialback;
  raw_hop *internal_hop;
  raw_limits *limits;
  raw_dns *dns;
  raw_revocation *revocation;
  raw_admin *admin;
  raw_abuse *abuse;
  raw_sm *stream_management;
  raw_bidi *bidi;
} raw_top;

// --- Diagnostics (config_diag.c)

// config_err adds the error "FILE:LINE: PATH: MESSAGE (value 'V')": the line
// is that of |path| or its nearest indexed ancestor, the value the scalar
// indexed at |path|, if any.
__attribute__((format(printf, 3, 4))) void config_err(config_ctx *c, const char *path,
                                                      const char *fmt, ...);

// config_warn adds the same line as a warning ("FILE:LINE: warning: ...").
__attribute__((format(printf, 3, 4))) void config_warn(config_ctx *c, const char *path,
                                                       const char *fmt, ...);

// config_err_line adds an error that has a line (0: none) but no key path.
__attribute__((format(printf, 3, 4))) void config_err_line(config_ctx *c, unsigned line,
                                                           const char *fmt, ...);

// --- Reading (config_yaml.c)

// config_index_file runs libyaml over |f| and fills c->idx. It returns 1 when
// the file is well-formed YAML with one document whose top level is a
// mapping, no anchors or aliases and no duplicate keys; otherwise it reports
// why and returns 0.
int config_index_file(config_ctx *c, FILE *f);

// config_index_find returns the node indexed at |path|, or NULL.
const config_node *config_index_find(const config_index *x, const char *path);

// config_index_add indexes |path| at |line| and returns its node (NULL when
// out of memory).
config_node *config_index_add(config_index *x, const char *path, unsigned line);

// config_index_free releases the index. A zeroed index is a no-op.
void config_index_free(config_index *x);

// config_nearest_line returns the line of |path| or of its closest indexed
// ancestor, or 0. |*found| is the node of |path| itself, or NULL.
unsigned config_nearest_line(const config_ctx *c, const char *path, const config_node **found);

// config_schema_load loads the file at |path| against the schema into a new
// |*out| (release with config_schema_free). It returns 1, or reports the
// problem at the line of its key path and returns 0.
int config_schema_load(config_ctx *c, const char *path, raw_top **out);

// config_schema_free releases |raw|. NULL is a no-op.
void config_schema_free(raw_top *raw);

// --- Values (config_values.c). Each reports a bad value at |path| and
// returns 0 (NULL); an absent value (NULL) gives the default.

// config_load_bidi checks bidi (config_bidi.c).
void config_load_bidi(config_ctx *c, const raw_bidi *r);

// config_load_sm checks stream_management (config_sm.c).
void config_load_sm(config_ctx *c, const raw_sm *r);

// config_load_posh checks tls.posh (config_posh.c).
void config_load_posh(config_ctx *c, const raw_posh *r);

// config_load_revocation checks the revocation section (config_revocation.c).
void config_load_revocation(config_ctx *c, const raw_revocation *r);

// config_load_abuse checks the abuse section (config_abuse.c).
void config_load_abuse(config_ctx *c, const raw_abuse *r);
// config_load_dnssec checks dns.dnssec against the nameservers already
// loaded, and the tls.dane keys that need it (config_dnssec.c).
void config_load_dnssec(config_ctx *c, const raw_dnssec *r, const raw_tls *tls);

// config_parse_networks reads the |n| numeric networks of |raw| (CIDR or a
// bare address; errors at "|key|[i]") into a new array |*out| of |*n_out|.
void config_parse_networks(config_ctx *c, const char *key, char *const *raw, unsigned n,
                           fg_cidr **out, size_t *n_out);

// config_parse_bool reads true/yes/on or false/no/off, any case.
int config_parse_bool(config_ctx *c, const char *path, const char *v, int def, int *out);

// config_parse_uint reads a whole number in [min, max].
int config_parse_uint(config_ctx *c, const char *path, const char *v, uint64_t min, uint64_t max,
                      uint64_t def, uint64_t *out);

// config_parse_duration reads "250ms", "30s", "5m", "2h", "1d" or bare seconds
// into milliseconds in [min_ms, max_ms].
int config_parse_duration(config_ctx *c, const char *path, const char *v, uint64_t min_ms,
                          uint64_t max_ms, uint64_t def_ms, uint64_t *out_ms);

// config_normalize_domain returns |in| as a new lowercase A-label LDH name
// without a trailing dot. With |allow_wildcard|, "*.SUFFIX" gives SUFFIX and
// sets |*wildcard|.
char *config_normalize_domain(config_ctx *c, const char *path, const char *in, int allow_wildcard,
                              int *wildcard);

// config_parse_target reads "host", "host:port", "[v6]" or "[v6]:port" into
// |out| (out->host is new).
int config_parse_target(config_ctx *c, const char *path, const char *in, uint16_t def_port,
                        fg_config_target *out);

// --- Files named in the configuration (config_files.c)

// config_resolve_path returns |v| as a new absolute path: relative paths are
// relative to the directory holding the configuration file.
char *config_resolve_path(const config_ctx *c, const char *v);

// config_check_file returns 1 when |file| is a readable regular file (or
// directory when |want_dir|), else reports it at |path| and returns 0.
int config_check_file(config_ctx *c, const char *path, const char *file, int want_dir);

// config_check_pair returns 1 when |cert_file| holds a PEM certificate chain
// and |key_file| the private key of its first certificate.
int config_check_pair(config_ctx *c, const char *cert_path, const char *cert_file,
                      const char *key_path, const char *key_file);

// config_read_secret reads the dialback secret from |file| into c->cfg.
int config_read_secret(config_ctx *c, const char *path, const char *file);

// config_check_ticket_keys checks that |file| is a readable, well-formed
// ticket key file (crypto/ticket_key_file.h), warning when other users may
// read it.
int config_check_ticket_keys(config_ctx *c, const char *path, const char *file);

// --- Sections (config_sections.c)

// config_load_sections checks every section of |t| into c->cfg, with defaults
// for what is absent, reporting every problem found.
void config_load_sections(config_ctx *c, const raw_top *t);

// --- Operation: log and shutdown (config_operation.c)

// config_load_operation checks log.format, log.file and shutdown.grace.
void config_load_operation(config_ctx *c, const raw_top *t);

#endif  // FEDGATE_GATEWAY_CONFIG_INTERNAL_H
