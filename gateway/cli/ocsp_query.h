// ocsp_query.h: one OCSP query (RFC 6960, RFC 5019 profile) run to its end
// for a short-lived process such as `fedgate check-cert`: it starts a
// one-worker io runtime, asks the responder over io/http_client, checks the
// answer with crypto/ocsp, and shuts the runtime down again. The gateway
// itself never calls this: its workers must not wait.
#ifndef FEDGATE_GATEWAY_CLI_OCSP_QUERY_H
#define FEDGATE_GATEWAY_CLI_OCSP_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "crypto/crl.h"
#include "crypto/ocsp.h"

// FG_OCSP_QUERY_NOTES bounds the notes of one answer.
#define FG_OCSP_QUERY_NOTES 4

// fg_ocsp_query is what to ask.
typedef struct fg_ocsp_query {
  X509 *cert;
  X509 *issuer;         // NULL: not found (the answer says so)
  const char *url;      // the responder; NULL: the first AIA id-ad-ocsp http URL of |cert|
  unsigned timeout_ms;  // the whole HTTP request (0: 10 s)
  int64_t now;          // POSIX seconds, for the response's times
} fg_ocsp_query;

// fg_ocsp_answer is what came back. |answered| is 1 when |res.verdict| is
// FG_OCSP_GOOD, FG_OCSP_REVOKED or FG_OCSP_UNKNOWN; otherwise |error| says
// why there is no answer.
typedef struct fg_ocsp_answer {
  int answered;
  fg_ocsp_result res;
  char url[FG_CRL_MAX_URL_LEN + 8];  // the responder asked ("" when none)
  char responder_cn[256];            // delegated responder's subject CN ("" when none)
  char error[512];
  size_t num_notes;
  char notes[FG_OCSP_QUERY_NOTES][256];  // things worth saying that change nothing
} fg_ocsp_answer;

// fg_ocsp_query_run asks about |q->cert| and fills |out|: a SHA-1 CertID and
// a random nonce (checked when the responder echoes one; RFC 5019 responders
// may not), GET when the encoded request is short enough, else POST
// (RFC 5019 §5). Special-purpose addresses are allowed, since the operator
// runs this by hand; one taken from the certificate is noted. It blocks the
// calling thread until the request completes or times out, and returns
// |out->answered|.
int fg_ocsp_query_run(fg_ocsp_answer *out, const fg_ocsp_query *q);

#endif  // FEDGATE_GATEWAY_CLI_OCSP_QUERY_H
