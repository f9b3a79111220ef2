// http_client.h: a non-blocking HTTP/1.1 client on the workers, for OCSP
// (RFC 6960 Appendix A) and CRL (RFC 5280 §4.2.1.13) fetches over plain
// http://, and POSH documents (RFC 7711) over https:// when the client has a
// trust store (io/https_verify.h: PKIX and DNS-ID checks of the server). GET
// and POST, no redirects followed, idle keep-alive connections kept and
// reused per (worker, scheme, host, port).
//
// Threading: requests are made on a worker's thread and their callbacks run
// on that worker, exactly once, never inside fg_http_get / fg_http_post
// themselves. Host names go to the asynchronous resolver (io/dns.h); no call
// here blocks a worker.
#ifndef FEDGATE_IO_HTTP_CLIENT_H
#define FEDGATE_IO_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "io/addr_policy.h"
#include "io/dns.h"
#include "io/worker.h"

typedef struct fg_http_client fg_http_client;
typedef struct fg_http_request fg_http_request;

// fg_http_error says why a request produced no response.
typedef enum fg_http_error {
  FG_HTTP_OK = 0,               // a response arrived (any status, 3xx included)
  FG_HTTP_ERR_URL,              // the URL does not parse
  FG_HTTP_ERR_SCHEME,           // not http://, or https:// on a client without a trust store
  FG_HTTP_ERR_RESOLVE,          // the host name has no address (or no resolver)
  FG_HTTP_ERR_ADDRESS_REFUSED,  // every address is special-purpose and not allowed
  FG_HTTP_ERR_CONNECT,          // every address refused or was unreachable
  FG_HTTP_ERR_TIMEOUT,          // the total or the connect deadline passed
  FG_HTTP_ERR_CLOSED,           // the connection ended before the response did
  FG_HTTP_ERR_PROTOCOL,         // the response is malformed (text names the rule)
  FG_HTTP_ERR_TOO_LARGE,        // the response is over the size cap
  FG_HTTP_ERR_SHUTDOWN,         // the worker is stopping
  FG_HTTP_ERR_TLS,              // https://: the handshake failed or the server was refused
} fg_http_error;

// fg_http_error_name returns a short lowercase name for |e| ("timeout").
const char *fg_http_error_name(fg_http_error e);

// fg_http_result is what a callback receives; everything in it is valid only
// during the callback.
typedef struct fg_http_result {
  fg_http_error error;
  int status;           // the final status code (FG_HTTP_OK only)
  const uint8_t *body;  // never NULL
  size_t body_len;
  const char *content_type;  // "" when absent
  const char *location;      // a 3xx's Location, "" when absent (never followed)
  int reused;                // answered on a connection kept from an earlier request
  char text[256];            // what happened, for logs
} fg_http_result;

typedef void (*fg_http_cb)(void *arg, const fg_http_result *res);

// fg_http_options are per request; zero fields take the defaults.
typedef struct fg_http_options {
  unsigned timeout_ms;          // whole request, resolution included (10000)
  unsigned connect_timeout_ms;  // each connection attempt (3000)
  size_t max_response;          // body bytes after de-chunking (1 MiB)
  const char *accept;           // Accept field value, or NULL for none
  // retry_post: a POST may be sent again on a fresh connection when a reused
  // one closes before any response byte (RFC 9110 §9.2.2: only for requests
  // known to be idempotent, such as OCSP's). GET always may.
  int retry_post;
} fg_http_options;

// fg_http_client_config is shared by every worker's requests.
typedef struct fg_http_client_config {
  fg_dns *dns;                 // resolver for host names (NULL: numeric hosts only)
  unsigned idle_timeout_ms;    // an idle kept connection closes after (30000)
  unsigned max_idle_per_host;  // idle connections kept per (worker, host, port) (2)
  // URLs in certificates are chosen by whoever made the certificate:
  // special-purpose addresses (loopback, private, ... RFC 6890) are refused
  // unless |allow_special| is set or they lie in |allowed_networks|.
  int allow_special;
  const fg_cidr *allowed_networks;  // copied
  size_t n_allowed_networks;
  // https_trust: https:// URLs are fetched, their servers checked against
  // this store (not owned; it must outlive the client). NULL: refused.
  const struct fg_trust_store *https_trust;
} fg_http_client_config;

// fg_http_client_new makes a client for the workers of |rt| (NULL |cfg|: the
// defaults). Order at the end: fg_dns_free (pending lookups complete as
// cancelled), then fg_runtime_shutdown (open requests complete with
// FG_HTTP_ERR_SHUTDOWN, kept connections close), then fg_http_client_free.
fg_http_client *fg_http_client_new(fg_runtime *rt, const fg_http_client_config *cfg);

// fg_http_client_free frees |hc| once its runtime has been shut down. NULL is
// a no-op.
void fg_http_client_free(fg_http_client *hc);

// fg_http_get starts GET |url| on worker |w| (the calling thread must be
// |w|'s). |cb| runs later on |w| exactly once, unless fg_http_cancel comes
// first. |opts| may be NULL. It returns the request's handle, valid until the
// callback starts or fg_http_cancel returns, or NULL (no callback) when
// called off |w|'s thread.
fg_http_request *fg_http_get(fg_http_client *hc, fg_worker *w, const char *url,
                             const fg_http_options *opts, fg_http_cb cb, void *arg);

// fg_http_post is fg_http_get for POST with |body_len| bytes of |body| (copied)
// labelled |content_type|.
fg_http_request *fg_http_post(fg_http_client *hc, fg_worker *w, const char *url,
                              const char *content_type, const uint8_t *body, size_t body_len,
                              const fg_http_options *opts, fg_http_cb cb, void *arg);

// fg_http_cancel abandons |req| (on its worker's thread): its callback never
// runs, its connection is closed if a response was under way.
void fg_http_cancel(fg_http_request *req);

// fg_http_url is a parsed http:// or https:// URL.
typedef struct fg_http_url {
  int https;
  char host[FG_DNS_NAME_MAX + 1];  // a name (lowercased), an IPv4 or an IPv6 address (no brackets)
  uint16_t port;
  int numeric;  // |host| is an address, in |addr|
  struct sockaddr_storage addr;
  socklen_t addr_len;
  char target[2048];  // path and query, never empty ("/" at least)
} fg_http_url;

// fg_http_url_parse reads |url| (RFC 9110 §4.2.1 and §4.2.2:
// http[s]://host[:port][path][?query], a fragment dropped; https:// needs a
// host name, not an address). It returns FG_HTTP_OK, FG_HTTP_ERR_SCHEME or
// FG_HTTP_ERR_URL, with the reason in |why| (|why_len| bytes).
fg_http_error fg_http_url_parse(fg_http_url *out, const char *url, char *why, size_t why_len);

// fg_http_client_stats counts, summed over the workers (torn while running).
typedef struct fg_http_client_stats {
  uint64_t requests, connections, reused, retries, idle_closed;
} fg_http_client_stats;

void fg_http_client_stats_get(const fg_http_client *hc, fg_http_client_stats *out);

#endif  // FEDGATE_IO_HTTP_CLIENT_H
