// cmd_check_cert.c: `fedgate check-cert` judges a certificate (and chain)
// for a domain exactly as the gateway would during a handshake, and prints
// the presented identifiers and both verdicts in a script-friendly form:
//
//   presented: dns:chat.example
//   presented: srv:_xmpp-server.chat.example
//   chain: ok                      | chain: fail <reason>
//   identity: match dns:chat.example | identity: nomatch <reason>
//
// and with --ocsp what the certificate's OCSP responder says (RFC 6960):
//
//   revocation: good|revoked|unknown|no-answer
//   revocation-source: ocsp http://ocsp.example/
//   revocation-responder: issuer | delegated (CN)
//   revocation-this-update: 2025-01-01T00:00:00Z
//   revocation-next-update: 2025-01-08T00:00:00Z | none
//   revocation-time: ... and revocation-reason: keyCompromise (revoked)
//   revocation-error: <why> (no-answer)
//   revocation-note: <something worth knowing that changes nothing>
//
// Exit status: 0 both hold (whatever a no-answer or unknown), 1 either fails
// or the certificate is revoked, 2 usage error or unreadable input.
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/mem.h>
#include <openssl/pool.h>
#include <openssl/x509.h>

#include "crypto/chain.h"
#include "crypto/identity.h"
#include "gateway/cli/cmd.h"
#include "gateway/cli/command.h"
#include "gateway/cli/ocsp_query.h"
#include "io/http_client.h"

#define CMD "check-cert"

typedef struct opts {
  const char *cert, *chain, *ca, *domain, *service;
  const char *ocsp_url;
  int legacy_cn, inbound, ocsp;
  int64_t at;
  unsigned ocsp_timeout_ms;
} opts;

// parse_seconds reads a whole number of seconds in [1, 3600].
static int parse_seconds(const char *v, unsigned *out_ms) {
  char *end;
  errno = 0;
  long s = strtol(v, &end, 10);
  if (errno != 0 || end == v || *end != 0 || s < 1 || s > 3600) return 0;
  *out_ms = (unsigned)s * 1000;
  return 1;
}

// check_ocsp_args checks the OCSP options once all are read.
static int check_ocsp_args(const opts *o) {
  if (!o->ocsp && (o->ocsp_url != NULL || o->ocsp_timeout_ms != 0)) {
    return fg_usage_error(CMD, "--ocsp-url and --ocsp-timeout need --ocsp");
  }
  if (o->ocsp_url == NULL) return 0;
  fg_http_url u;
  char why[256];
  if (fg_http_url_parse(&u, o->ocsp_url, why, sizeof(why)) != FG_HTTP_OK) {
    return fg_usage_error(CMD, "--ocsp-url '%s': %s", o->ocsp_url, why);
  }
  return 0;
}

static int parse_args(opts *o, int argc, char **argv) {
  memset(o, 0, sizeof(*o));
  o->service = "xmpp-server";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = NULL;
    if (strcmp(a, "--legacy-cn") == 0) {
      o->legacy_cn = 1;
      continue;
    }
    if (strcmp(a, "--ocsp") == 0) {
      o->ocsp = 1;
      continue;
    }
    if (strcmp(a, "--cert") == 0) slot = &o->cert;
    if (strcmp(a, "--chain") == 0) slot = &o->chain;
    if (strcmp(a, "--ca") == 0) slot = &o->ca;
    if (strcmp(a, "--domain") == 0) slot = &o->domain;
    if (strcmp(a, "--service") == 0) slot = &o->service;
    if (strcmp(a, "--ocsp-url") == 0) slot = &o->ocsp_url;
    int is_at = strcmp(a, "--at") == 0, is_role = strcmp(a, "--role") == 0;
    int is_timeout = strcmp(a, "--ocsp-timeout") == 0;
    if (slot == NULL && !is_at && !is_role && !is_timeout) {
      return fg_usage_error(CMD, "unknown argument '%s'", a);
    }
    if (i + 1 >= argc) return fg_usage_error(CMD, "%s needs a value", a);
    const char *v = argv[++i];
    if (slot != NULL) {
      *slot = v;
    } else if (is_timeout) {
      if (!parse_seconds(v, &o->ocsp_timeout_ms)) {
        return fg_usage_error(CMD, "--ocsp-timeout wants 1 to 3600 seconds, not '%s'", v);
      }
    } else if (is_at) {
      char *end;
      errno = 0;
      long long t = strtoll(v, &end, 10);
      if (errno != 0 || end == v || *end != 0 || t <= 0) {
        return fg_usage_error(CMD, "--at wants a positive UNIX time, not '%s'", v);
      }
      o->at = (int64_t)t;
    } else if (strcmp(v, "inbound") == 0 || strcmp(v, "outbound") == 0) {
      o->inbound = v[0] == 'i';
    } else {
      return fg_usage_error(CMD, "--role wants inbound or outbound, not '%s'", v);
    }
  }
  if (o->cert == NULL) return fg_usage_error(CMD, "--cert FILE is required");
  if (o->domain == NULL) return fg_usage_error(CMD, "--domain DOMAIN is required");
  if (strcmp(o->service, "xmpp-server") != 0 && strcmp(o->service, "xmpp-client") != 0) {
    return fg_usage_error(CMD, "--service must be xmpp-server or xmpp-client, not '%s'",
                          o->service);
  }
  return check_ocsp_args(o);
}

// push_der appends the DER of every certificate in |certs| to |out|.
static int push_der(STACK_OF(CRYPTO_BUFFER) * out, STACK_OF(X509) * certs) {
  for (size_t i = 0; i < sk_X509_num(certs); i++) {
    uint8_t *der = NULL;
    int len = i2d_X509(sk_X509_value(certs, i), &der);
    if (len <= 0) return 0;
    CRYPTO_BUFFER *b = CRYPTO_BUFFER_new(der, (size_t)len, NULL);
    OPENSSL_free(der);
    if (b == NULL || !sk_CRYPTO_BUFFER_push(out, b)) {
      CRYPTO_BUFFER_free(b);
      return 0;
    }
  }
  return 1;
}

static void print_presented(const fg_peer_verdict *v, unsigned flags) {
  char buf[1200];
  if (v->san_error != NULL) {
    printf("presented: none (certificate rejected: %s)\n", v->san_error);
    return;
  }
  if (v->ids.num_ids == 0) printf("presented: none\n");
  for (size_t i = 0; i < v->ids.num_ids; i++) {
    const fg_presented_id *id = &v->ids.ids[i];
    fg_presented_id_format(buf, sizeof(buf), id);
    if (!id->valid) {
      printf("presented: %s (unusable: %s)\n", buf, id->invalid_reason);
    } else if (id->type == FG_ID_CN && !(flags & FG_IDENTITY_LEGACY_CN_ID)) {
      printf("presented: %s (used only with --legacy-cn)\n", buf);
    } else {
      printf("presented: %s\n", buf);
    }
  }
}

static void print_time(const char *label, int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  char buf[32];
  if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    snprintf(buf, sizeof(buf), "@%" PRId64, t);
  }
  printf("%s: %s\n", label, buf);
}

// check_revocation asks the OCSP responder about the leaf and prints the
// revocation lines. It returns 1 when the certificate is revoked.
static int check_revocation(const opts *o, STACK_OF(X509) * certs, fg_trust_store *ts) {
  X509 *leaf = sk_X509_value(certs, 0);
  fg_ocsp_query q = {
      .cert = leaf,
      .issuer = fg_chain_find_issuer(certs, ts, leaf),
      .url = o->ocsp_url,
      .timeout_ms = o->ocsp_timeout_ms,
      .now = (int64_t)time(NULL),
  };
  fg_ocsp_answer a;
  fg_ocsp_query_run(&a, &q);
  X509_free(q.issuer);
  const fg_ocsp_result *r = &a.res;
  printf("revocation: %s\n", a.answered ? fg_ocsp_verdict_string(r->verdict) : "no-answer");
  if (a.url[0] != 0) printf("revocation-source: ocsp %s\n", a.url);
  if (a.answered && r->delegated) {
    printf("revocation-responder: delegated (%s)\n", a.responder_cn[0] ? a.responder_cn : "no CN");
  } else if (a.answered) {
    printf("revocation-responder: issuer\n");
  }
  if (a.answered) {
    print_time("revocation-this-update", r->this_update);
    if (r->has_next_update) {
      print_time("revocation-next-update", r->next_update);
    } else {
      printf("revocation-next-update: none\n");
    }
  }
  if (a.answered && r->verdict == FG_OCSP_REVOKED) {
    print_time("revocation-time", r->revocation_time);
    printf("revocation-reason: %s\n", fg_crl_reason_string(r->reason));
  }
  if (!a.answered) printf("revocation-error: %s\n", a.error);
  for (size_t i = 0; i < a.num_notes; i++) printf("revocation-note: %s\n", a.notes[i]);
  return a.answered && r->verdict == FG_OCSP_REVOKED;
}

int fg_cmd_check_cert(int argc, char **argv) {
  opts o;
  int rc = parse_args(&o, argc, argv);
  if (rc != 0) return rc;

  char err[512];
  int status = 2;
  STACK_OF(X509) *certs = sk_X509_new_null();
  STACK_OF(CRYPTO_BUFFER) *chain = sk_CRYPTO_BUFFER_new_null();
  fg_trust_store *ts = fg_trust_store_new();
  if (certs == NULL || chain == NULL || ts == NULL) {
    fprintf(stderr, "fedgate %s: out of memory\n", CMD);
    goto out;
  }
  // The --cert file may carry the whole chain (leaf first); --chain adds
  // intermediates after it.
  if (fg_chain_read_certs(certs, o.cert, err, sizeof(err)) == 0 ||
      (o.chain != NULL && fg_chain_read_certs(certs, o.chain, err, sizeof(err)) == 0) ||
      fg_trust_store_load(ts, o.ca, err, sizeof(err)) == 0) {
    fprintf(stderr, "fedgate %s: %s\n", CMD, err);
    goto out;
  }
  if (!push_der(chain, certs)) {
    fprintf(stderr, "fedgate %s: cannot re-encode the certificates\n", CMD);
    goto out;
  }

  unsigned flags = o.legacy_cn ? FG_IDENTITY_LEGACY_CN_ID : 0;
  fg_chain_params params = {.role = o.inbound ? FG_ROLE_INBOUND : FG_ROLE_OUTBOUND, .at = o.at};
  fg_peer_verdict v;
  int ok = fg_peer_verify(&v, ts, chain, o.domain, o.service, flags, &params);
  print_presented(&v, flags);
  if (v.chain.status == FG_CHAIN_OK) {
    printf("chain: ok%s\n", v.chain.pinned ? " (pinned)" : "");
  } else {
    printf("chain: fail %s\n", v.chain.reason);
  }
  char why[4096];
  if (v.identity.status == FG_IDENTITY_MATCH) {
    fg_identity_explain(why, sizeof(why), &v.ids, &v.ref, flags, &v.identity);
    printf("identity: match %s\n", why);
  } else if (v.san_error != NULL) {
    printf("identity: nomatch certificate rejected: %s\n", v.san_error);
  } else {
    fg_identity_explain(why, sizeof(why), &v.ids, &v.ref, flags, &v.identity);
    printf("identity: nomatch %s\n", why);
  }
  fg_peer_verdict_cleanup(&v);
  int revoked = o.ocsp && check_revocation(&o, certs, ts);
  status = ok && !revoked ? 0 : 1;
out:
  fg_trust_store_free(ts);
  sk_X509_pop_free(certs, X509_free);
  sk_CRYPTO_BUFFER_pop_free(chain, CRYPTO_BUFFER_free);
  return status;
}
