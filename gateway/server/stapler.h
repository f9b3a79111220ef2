// stapler.h: OCSP stapling of fedgate's own certificates (docs/revocation.md).
//
// Every distinct certificate fedgate presents (the hosted domains' and
// tls.default_cert; not the internal CA's minted ones), in the snapshot in
// force (a reload hands its set over: fg_stapler_follow), keeps a current OCSP
// response: fetched from worker 0 over io/http_client (the responder that
// revocation.responders names for its CA, else its AIA URL), checked with
// fg_ocsp_check (GOOD, signed by the issuer or its delegated responder,
// current), published on the certificate (fg_tls_cert_set_ocsp: handshakes
// on every worker read it without a lock), refreshed on the schedule of
// gateway/server/staple_schedule.h, and kept in revocation.stapling.state_dir
// across restarts. A response that is not good is never stapled.
#ifndef FEDGATE_GATEWAY_SERVER_STAPLER_H
#define FEDGATE_GATEWAY_SERVER_STAPLER_H

#include <stdint.h>

#include "crypto/tls_sni.h"
#include "gateway/config/config.h"
#include "gateway/server/responders.h"
#include "gateway/server/metrics.h"
#include "gateway/server/text.h"
#include "io/dns.h"
#include "io/worker.h"

typedef struct fg_stapler fg_stapler;

// fg_stapler_new returns an empty stapler for |cfg| (counting into
// |metrics|), or NULL when memory is short.
fg_stapler *fg_stapler_new(const fg_config *cfg, fg_metrics *metrics);

// fg_stapler_free frees |s| once the runtime it was started on has been shut
// down. NULL: no-op.
void fg_stapler_free(fg_stapler *s);

// fg_stapler_add records that |c| is presented for |domain| (NULL or "" for
// tls.default_cert without a domain of its own) by the first snapshot,
// before fg_stapler_start; a certificate added again gains the domain. It
// returns 1, or 0 when memory is short.
int fg_stapler_add(fg_stapler *s, fg_tls_cert *c, const char *domain);

// fg_stapler_start finds each certificate's issuer and responder, serves the
// persisted responses that still check good, and has worker 0 of |rt| fetch
// the others (names resolved with |dns|, may be NULL). With stapling
// disabled it only describes the certificates. It returns 1, or 0 with a
// message in |err|.
// |responders| (the per-CA overrides, may be NULL) must outlive |s|.
int fg_stapler_start(fg_stapler *s, const fg_responders *responders, fg_runtime *rt,
                     struct fg_dns *dns, char *err, size_t err_len);

// fg_stapler_certs is the set of certificates one configuration snapshot
// presents, collected while the snapshot is built (a reload's).
typedef struct fg_stapler_certs fg_stapler_certs;

// fg_stapler_certs_new returns an empty set, or NULL when memory is short.
fg_stapler_certs *fg_stapler_certs_new(void);

// fg_stapler_certs_free frees |certs|. NULL: no-op.
void fg_stapler_certs_free(fg_stapler_certs *certs);

// fg_stapler_certs_add records in the set |certs| that |c| is presented for
// |domain| (as fg_stapler_add); its signature is fg_snapshot_cert_fn's.
void fg_stapler_certs_add(void *certs, fg_tls_cert *c, const char *domain);

// fg_stapler_follow makes |certs| (ownership passes) the certificates |s|
// staples, once started: worker 0 takes the set between two events. A
// certificate stapled before (the same leaf) keeps its entry, and its staple
// is published on the new certificate object at once (no new fetch); a new
// one gets its own entry (issuer, responder, saved response, fetches); the
// others are retired (timer and request cancelled, gone from /certs and
// /metrics). It waits until worker 0 has taken the set and returns 1, or 0
// when memory ran short collecting it (nothing changes) or the wait timed
// out. Not on a worker thread.
int fg_stapler_follow(fg_stapler *s, fg_stapler_certs *certs);

// fg_stapler_describe appends one line per certificate to |out| (the admin
// endpoint's /certs): domains, subject, issuer, expiry, the staple's state
// and times, the responder. Any thread.
void fg_stapler_describe(fg_stapler *s, fg_text *out, int64_t now);

// fg_stapler_current returns how many certificates have a current staple.
// Any thread.
unsigned fg_stapler_current(fg_stapler *s, int64_t now);

// fg_stapler_metrics appends Prometheus lines per certificate to |out|:
// fedgate_staple_age_seconds (since the staple's thisUpdate; absent without
// a staple) and fedgate_certificate_expiry_timestamp_seconds (notAfter),
// labelled cert="<its first domain>".
void fg_stapler_metrics(fg_stapler *s, fg_text *out, int64_t now);

#endif  // FEDGATE_GATEWAY_SERVER_STAPLER_H
