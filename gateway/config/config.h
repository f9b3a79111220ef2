// config.h: the fedgate configuration file (YAML, read with libcyaml) and the
// immutable snapshot it becomes. docs/configuration.md documents every key.
//
// fg_config_load reads and validates a file in three passes:
//   1. libyaml's event parser indexes every key and value with its line, and
//      reports YAML syntax errors, duplicate keys, anchors/aliases and extra
//      documents;
//   2. libcyaml loads the document against the schema (unknown keys, wrong
//      shapes); its error path is mapped back to a line through the index;
//   3. semantic checks: numbers and durations in range, domain syntax (LDH,
//      IDNA via libidn2), duplicates, backend references, listener clashes,
//      readable files, certificate/key pairs, the dialback secret file.
// Every problem becomes one diagnostic line
//   FILE:LINE: KEY.PATH: PROBLEM (value 'VALUE')
// and all problems found are reported, not only the first.
//
// Relative paths in the file are relative to the directory holding the
// configuration file, not to the working directory; the snapshot stores them
// resolved.
//
// The snapshot is immutable once loaded. Workers receive it by pointer (later
// published RCU-style); nothing in it changes until fg_config_free.
#ifndef FEDGATE_GATEWAY_CONFIG_H
#define FEDGATE_GATEWAY_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "io/addr_policy.h"

// Defaults (docs/configuration.md).
#define FG_CONFIG_DEFAULT_S2S_PORT 5269
#define FG_CONFIG_DEFAULT_S2S_TLS_PORT 5270
#define FG_CONFIG_DEFAULT_INTERNAL_PORT 5271
#define FG_CONFIG_DEFAULT_ADMIN_PORT 5280
#define FG_CONFIG_DEFAULT_BACKEND_PORT 5269
// RFC 6120 §13.12 item 4: a server MUST accept stanzas of at least 10000
// bytes; fedgate refuses limits below that.
#define FG_CONFIG_MIN_ELEMENT_BYTES 10000
#define FG_CONFIG_DEFAULT_ELEMENT_BYTES_BEFORE_AUTH 16384
#define FG_CONFIG_DEFAULT_ELEMENT_BYTES_AFTER_AUTH 262144

typedef enum fg_log_level {
  FG_LOG_ERROR = 0,
  FG_LOG_WARN,
  FG_LOG_INFO,
  FG_LOG_DEBUG,
} fg_log_level;

// fg_listener_id names the four listeners; the config keys are "s2s",
// "s2s-tls", "internal" and "admin".
typedef enum fg_listener_id {
  FG_LISTENER_S2S = 0,   // public, STARTTLS (RFC 6120 §5)
  FG_LISTENER_S2S_TLS,   // public, direct TLS with ALPN xmpp-server (XEP-0368)
  FG_LISTENER_INTERNAL,  // private: the internal servers connect here
  FG_LISTENER_ADMIN,     // loopback HTTP: /metrics /ready /streams
  FG_LISTENER_COUNT,
} fg_listener_id;

typedef struct fg_config_listener {
  int enabled;
  char address[64];  // numeric IPv4 or IPv6 address (no brackets)
  uint16_t port;
  // admin only: a Unix socket (absolute path) served instead of address and
  // port; "" when not set.
  char socket_path[108];
  // proxy_protocol.trusted_networks (public listeners only): when not empty,
  // every connection comes from one of these load balancers and starts with
  // a PROXY protocol header (v1 or v2) naming the real peer.
  fg_cidr *proxy_trusted;
  size_t n_proxy_trusted;
} fg_config_listener;

// fg_config_target is one host:port. |host| is a lowercase A-label host name
// or a numeric address (IPv6 without brackets).
typedef struct fg_config_target {
  char *host;
  uint16_t port;
} fg_config_target;

typedef enum fg_hop_mode {
  FG_HOP_INTERNAL_CA = 0,  // mint certificates for remote domains (default)
  FG_HOP_DIALBACK,         // answer the internal servers' db:verify
} fg_hop_mode;

typedef struct fg_config_backend {
  char *name;
  fg_config_target *addresses;
  size_t n_addresses;
  // hop_mode: how the hop authenticates to this backend (backends[].hop_mode;
  // default internal_hop.mode).
  fg_hop_mode hop_mode;
  // pairs_per_stream: remote domain pairs one hop stream to this backend may
  // carry, all of one remote domain (backends[].pairs_per_stream; default 1).
  unsigned pairs_per_stream;
} fg_config_backend;

// fg_config_domain is one hosted domain. |name| is lowercase, in A-labels,
// without a trailing dot. For a wildcard entry (`*.chat.example`) |wildcard|
// is 1 and |name| is the suffix ("chat.example"); it matches every name
// ending in ".chat.example" (any depth), but not "chat.example" itself.
typedef struct fg_config_domain {
  char *name;
  int wildcard;
  size_t backend;   // index into fg_config.backends
  char *cert_file;  // this domain's certificate chain (PEM), or the default
  char *key_file;   // its private key (PEM), or the default
} fg_config_domain;

// fg_revocation_mode: what a peer certificate whose revocation status is
// unknown gets (revoked is always refused unless the mode is off).
typedef enum fg_revocation_mode {
  FG_REVOCATION_OFF = 0,
  FG_REVOCATION_SOFT_FAIL,  // no answer: accepted and counted
  FG_REVOCATION_HARD_FAIL,  // no answer: not authenticated by certificate
} fg_revocation_mode;

// fg_config_responder sends the OCSP questions about certificates issued by
// |issuer_file|'s CA to |url| instead of their AIA responder, and fetches
// their CRL from |crl_url| instead of their distribution point. Either may
// be NULL, not both.
typedef struct fg_config_responder {
  char *issuer_file;
  char *url;
  char *crl_url;
} fg_config_responder;

// fg_config_rtbl is one real-time block list: a XEP-0060 node fedgate
// follows as |jid| (a JID on a hosted domain).
typedef struct fg_config_rtbl {
  char *service;  // the pubsub service's JID (a domain or user@domain)
  char *node;
  char *jid;  // bare
} fg_config_rtbl;

// fg_config_abuse_limits: rates per second (0: that limit is off).
typedef struct fg_config_abuse_limits {
  uint32_t domain_stanzas, domain_bytes;    // inbound, per remote domain
  uint32_t address_stanzas, address_bytes;  // inbound, per remote address
  uint32_t sender_stanzas;                  // outbound, per local sender (bare JID)
  uint32_t unsolicited_per_minute;          // per (remote sender, local recipient)
  uint32_t connections;                     // new connections per remote address
  uint32_t domain_connections;              // new connections per remote domain (stream header)
  uint32_t outbound_domain_stanzas;         // outbound, per remote domain
  uint32_t outbound_domain_bytes;
  uint32_t burst_ms;      // a bucket holds this much of its rate (default 2 s)
  uint32_t sustained_ms;  // refused this long: the stream is closed (default 10 s)
  uint32_t max_keys;      // buckets kept per table (default 100000)
} fg_config_abuse_limits;

// fg_config_domain_policy overrides revocation.mode for one remote domain.
typedef struct fg_config_domain_policy {
  char *domain;
  fg_revocation_mode mode;
} fg_config_domain_policy;

// fg_config_static_dns pins a remote domain to targets instead of DNS.
typedef struct fg_config_static_dns {
  char *domain;
  fg_config_target *targets;
  size_t n_targets;
} fg_config_static_dns;

// fg_log_format: how log lines are written (log.format).
typedef enum fg_log_format {
  FG_LOG_FORMAT_AUTO = 0,  // text, or journal lines when stderr is the journal
  FG_LOG_FORMAT_TEXT,
  FG_LOG_FORMAT_KV,  // logfmt: key=value pairs
  FG_LOG_FORMAT_JSON,
} fg_log_format;

typedef struct fg_config {
  char *path;  // the file as given
  char *dir;   // its directory, absolute: the base of relative paths

  fg_log_level log_level;
  struct {
    fg_log_format format;  // log.format (default auto)
    char *file;            // log.file: append here instead of stderr (NULL: stderr)
  } log;
  struct {
    uint32_t grace_ms;  // shutdown.grace: how long a drain may take (default 30 s)
  } shutdown;
  unsigned workers;  // 0: one per online CPU

  fg_config_listener listeners[FG_LISTENER_COUNT];

  fg_config_domain *domains;
  size_t n_domains;
  fg_config_backend *backends;
  size_t n_backends;

  struct {
    int required;            // STARTTLS <required/> (default 1)
    char **plaintext_peers;  // remote domains allowed without TLS
    size_t n_plaintext_peers;
    char *default_cert_file;  // for hosted domains without their own
    char *default_key_file;
    char *trust_file;  // PEM bundle of trusted roots (may be NULL)
    char *trust_dir;   // hashed directory of roots (may be NULL)
    int legacy_cn_id;  // RFC 9525 CN-ID fallback (default 0)
    // Session ticket keys shared by instances (NULL: BoringSSL's own
    // per-process key), and how often the file is checked for changes.
    char *ticket_key_file;
    uint32_t ticket_key_check_ms;  // default 5000
    size_t session_cache_entries;  // outbound TLS sessions kept (default 4096)
    // posh: remote domains proved by POSH (RFC 7711; docs/posh.md) when
    // their certificate does not validate by PKIX.
    struct {
      int enabled;                // default false
      uint32_t timeout_ms;        // one fetch, redirection included (default 5 s)
      uint32_t negative_ttl_s;    // a failed fetch is remembered (default 60 s)
      uint32_t max_ttl_s;         // cap on a document's "expires" (default 1 day)
      fg_cidr *allowed_networks;  // POSH servers in special-purpose networks allowed
      size_t n_allowed_networks;
    } posh;
    // dane: outbound DANE (RFC 7673) where DNSSEC says so (default 1; needs
    // dns.dnssec.trusted_resolvers). dane_inbound: a peer whose chain PKIX
    // refuses may still be authenticated by its own TLSA records (default 0).
    int dane, dane_inbound;
  } tls;

  // bidi: XEP-0288 bidirectional s2s streams on the public side.
  struct {
    int enabled;  // offer inbound, request outbound (default 1)
  } bidi;

  // stream_management: XEP-0198 acknowledgements on s2s streams, both
  // directions (public links and the internal hop).
  struct {
    int enabled;                   // offer inbound, enable outbound (default 1)
    unsigned request_every;        // an <r/> after this many stanzas (default 16)
    uint32_t request_interval_ms;  // and this long after an unacked write (1 s)
    uint32_t resume_timeout_s;     // ended inbound streams resumable (60 s; 0: never)
    // The stanzas of a broken outbound stream (unacknowledged and held) wait
    // this long for a replacement stream, reconnecting with backoff, before
    // they bounce (60 s; 0: bounce when the first reconnect fails).
    uint32_t give_up_after_ms;
  } sm;

  struct {
    int enabled;        // offer and accept XEP-0220 dialback (default 1)
    char *secret_file;  // NULL when the secret was generated at load
    uint8_t *secret;    // the secret's bytes (trailing newline removed)
    size_t secret_len;
  } dialback;

  struct {
    fg_hop_mode mode;
    int plaintext;       // no TLS on the hop: trusted networks only
    char *ca_cert_file;  // internal-ca mode: the CA the internal servers trust
    char *ca_key_file;
    uint32_t cert_lifetime_s;  // minted certificate lifetime (default 86400)
    // A lost remote link closes the hop streams of that remote domain, so
    // that the internal servers see it go away (default 1).
    int close_on_link_loss;
    // XEP-0288 on the hop: hop links request bidi, the internal listener
    // offers it (default 1).
    int bidi;
  } internal_hop;

  struct {
    size_t element_bytes_before_auth;
    size_t element_bytes_after_auth;
    unsigned streams_per_ip;        // inbound streams from one IP address
    uint32_t handshake_timeout_ms;  // TCP accept to authenticated stream
    uint32_t idle_timeout_ms;       // no bytes in either direction
    size_t queue_stanzas;           // per outbound stream, before auth
    size_t queue_bytes;
    // outbound streams per (local, remote) domain pair and worker (default
    // 1): heavy links spread over several; one input stream's stanzas always
    // take the same one, so their order is kept.
    unsigned streams_per_pair;
    // domain pairs one outbound stream to a remote server may carry (XEP-0220
    // §4.3 multiplexing; default 1: one stream per pair). A pair whose
    // remote server already has a stream at the same address asks to ride on
    // it instead of connecting (gateway/server/link_mux.h).
    unsigned pairs_per_stream;
    // streams_per_ip counts IPv6 sources by this prefix (default 64: one
    // site's or one customer's allocation), IPv4 by the whole address.
    unsigned ipv6_prefix;
  } limits;

  fg_config_static_dns *dns_static;
  size_t n_dns_static;
  // dns.nameservers: "IP", "IP:port" or "[IPv6]:port"; none: /etc/resolv.conf.
  char **dns_nameservers;
  size_t n_dns_nameservers;
  uint32_t dns_timeout_ms;  // dns.timeout: one server's answer (default 2 s)
  // dns.allowed_networks: special-purpose networks (loopback, private, ...)
  // that DNS answers may still send outbound links to; none by default.
  fg_cidr *dns_allowed_networks;
  size_t n_dns_allowed_networks;
  // dns.dnssec.trusted_resolvers: those of dns.nameservers whose AD bit is
  // believed (validating resolvers; loopback only unless
  // dns.dnssec.allow_non_loopback). None: every answer is insecure.
  char **dns_trusted_resolvers;
  size_t n_dns_trusted_resolvers;

  // admin.allowed_networks: source addresses the admin listener answers
  // (default 127.0.0.0/8 and ::1); every other request gets 403.
  fg_cidr *admin_allowed_networks;
  size_t n_admin_allowed_networks;

  // revocation: checking remote servers' certificates (docs/revocation.md).
  struct {
    fg_revocation_mode mode;  // default soft-fail
    int leaf_only;            // only the end-entity certificate
    uint32_t timeout_ms;      // one OCSP or CRL fetch (default 5 s)
    uint32_t clock_skew_s;    // tolerance on thisUpdate/nextUpdate (default 5 min)
    uint32_t negative_ttl_s;  // how long a failed fetch is remembered (default 60 s)
    size_t cache_entries, cache_bytes;
    fg_cidr *allowed_networks;  // responders in special-purpose networks allowed
    size_t n_allowed_networks;
    fg_config_responder *responders;
    size_t n_responders;
    fg_config_domain_policy *domains;
    size_t n_domains;
    // stapling: OCSP responses for fedgate's own certificates.
    struct {
      int enabled;      // default true
      char *state_dir;  // where good responses persist; NULL: nowhere
    } stapling;
  } revocation;

  // abuse: block lists, real-time block lists and limits (docs/abuse.md).
  struct {
    // block: entries of the list "config", as fg_block_parse_key reads them
    // ("spam.example", "*.spam.example", 64 hex digits of a bare JID).
    char **block;
    size_t n_block;
    // allow_only: the only remote domains accepted ("*.suffix" allowed);
    // none: every domain not blocked.
    char **allow_only;
    size_t n_allow_only;
    fg_config_rtbl *rtbl;
    size_t n_rtbl;
    fg_config_abuse_limits limits;
    int reports;  // reports.enabled: forward XEP-0377 reports (default true)
  } abuse;
} fg_config;

// fg_config_diag collects diagnostics: one line each, "FILE:LINE: ..." for
// errors, "FILE:LINE: warning: ..." for warnings. Initialise with
// fg_config_diag_init and release with fg_config_diag_cleanup.
typedef struct fg_config_diag {
  char *text;  // NUL-terminated, newline after each line; NULL when empty
  size_t len, cap;
  unsigned errors;
  unsigned warnings;
} fg_config_diag;

void fg_config_diag_init(fg_config_diag *d);
void fg_config_diag_cleanup(fg_config_diag *d);

// fg_config_load reads, parses and validates the file at |path|. It returns a
// new snapshot (release with fg_config_free) when there is no error, or NULL.
// Errors and warnings go to |diag| (may be NULL); warnings do not make it fail.
fg_config *fg_config_load(const char *path, fg_config_diag *diag);

// fg_config_free releases |cfg| and wipes the dialback secret. NULL is a no-op.
void fg_config_free(fg_config *cfg);

// fg_config_add_domain adds the hosted domain |name| ("*.suffix" for a
// wildcard), served by the backend named |backend|, to |cfg|, with the
// certificate and key files given (both or neither; absolute paths; neither:
// tls.default_cert). The checks are those of the file's domains entries. It
// returns 1, or 0 with one diagnostic line in |err| that starts with
// |origin| (where the change came from, e.g. "admin /domains/add").
int fg_config_add_domain(fg_config *cfg, const char *origin, const char *name, const char *backend,
                         const char *cert_file, const char *key_file, char *err, size_t err_len);

// fg_config_remove_domain removes the hosted domain |name| from |cfg| (never
// the last one). It returns 1, or 0 with one diagnostic line in |err|.
int fg_config_remove_domain(fg_config *cfg, const char *origin, const char *name, char *err,
                            size_t err_len);

// fg_config_listener_name returns "s2s", "s2s-tls", "internal" or "admin".
const char *fg_config_listener_name(fg_listener_id id);

// fg_config_log_level_name returns "error", "warn", "info" or "debug".
const char *fg_config_log_level_name(fg_log_level l);

// fg_config_revocation_mode_name returns "off", "soft-fail" or "hard-fail".
const char *fg_config_revocation_mode_name(fg_revocation_mode m);

// fg_config_hop_mode_name returns "internal-ca" or "dialback".
const char *fg_config_hop_mode_name(fg_hop_mode m);

#endif  // FEDGATE_GATEWAY_CONFIG_H
