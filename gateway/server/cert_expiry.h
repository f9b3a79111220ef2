// cert_expiry.h: warnings about fedgate's own certificates running out: a
// warning line per certificate from FG_CERT_EXPIRY_WARN_DAYS before its
// notAfter, an error line once expired, at start and then once a day, each
// naming the file, its domains and the days left (the expiry time itself is
// the gauge fedgate_certificate_expiry_timestamp_seconds).
#ifndef FEDGATE_GATEWAY_CERT_EXPIRY_H
#define FEDGATE_GATEWAY_CERT_EXPIRY_H

#include <stdint.h>

#include "gateway/config/config.h"
#include "io/worker.h"

#define FG_CERT_EXPIRY_WARN_DAYS 14

typedef enum fg_cert_expiry_state {
  FG_CERT_EXPIRY_OK = 0,
  FG_CERT_EXPIRY_SOON,     // within FG_CERT_EXPIRY_WARN_DAYS
  FG_CERT_EXPIRY_EXPIRED,  // notAfter has passed
} fg_cert_expiry_state;

// fg_cert_expiry_judge says where |not_after| stands at |now| (seconds since
// the epoch) and puts the whole days left (negative: days since it expired)
// in |*days_left|.
fg_cert_expiry_state fg_cert_expiry_judge(int64_t not_after, int64_t now, int64_t *days_left);

typedef struct fg_cert_expiry fg_cert_expiry;

// fg_cert_expiry_start reads the certificates |cfg| names (tls.default_cert
// and domains[].cert), logs what is due now and has worker 0 of |rt| look
// again every day. It returns NULL when memory is short (nothing watched).
fg_cert_expiry *fg_cert_expiry_start(const fg_config *cfg, fg_runtime *rt);

// fg_cert_expiry_follow makes the certificates |cfg| names (a reloaded
// configuration's) the ones |e| watches: read here, swapped in on worker 0,
// where what is due is logged at once and the daily check goes on. NULL |e|:
// no-op. It returns 1, or 0 when memory is short (the old list stays).
int fg_cert_expiry_follow(fg_cert_expiry *e, const fg_config *cfg);

// fg_cert_expiry_free releases |e| once the workers are joined (a list
// handed over but never taken is lost with the runtime's queue). NULL is a
// no-op.
void fg_cert_expiry_free(fg_cert_expiry *e);

#endif  // FEDGATE_GATEWAY_CERT_EXPIRY_H
