// probe.h: what this kernel offers fedgate (io_uring features, kernel TLS).
//
// Each capability is tested by using it for real on loopback sockets, not by
// reading version numbers, so that seccomp filters, sysctls and backports are
// all taken into account.
#ifndef FEDGATE_IO_PROBE_H
#define FEDGATE_IO_PROBE_H

#include <stddef.h>
#include <stdio.h>

typedef enum fg_probe_cap {
  FG_PROBE_IO_URING = 0,
  FG_PROBE_SINGLE_ISSUER,  // IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN
  FG_PROBE_MULTISHOT_ACCEPT,
  FG_PROBE_BUF_RING,  // provided buffer rings (IORING_REGISTER_PBUF_RING)
  FG_PROBE_MULTISHOT_RECV,
  FG_PROBE_MSG_RING,
  FG_PROBE_SEND_ZC,
  FG_PROBE_KTLS,
  FG_PROBE_COUNT,
} fg_probe_cap;

typedef struct fg_probe_result {
  int available[FG_PROBE_COUNT];  // 1 yes, 0 no
  char reason[FG_PROBE_COUNT][384];
} fg_probe_result;

// fg_probe_name returns the display name of |cap| ("io_uring", "kTLS", ...).
const char *fg_probe_name(fg_probe_cap cap);

// fg_probe_run tests every capability and fills |out|. It returns 1 when
// io_uring itself works (fedgate can run), 0 otherwise.
int fg_probe_run(fg_probe_result *out);

// fg_probe_print writes one line per capability: "NAME: yes|no (reason)".
void fg_probe_print(const fg_probe_result *r, FILE *out);

// fg_probe_ulp_listed reports whether |ulp| (e.g. "tls") is a word of
// |available|, the contents of /proc/sys/net/ipv4/tcp_available_ulp.
int fg_probe_ulp_listed(const char *available, const char *ulp);

// fg_probe_explain_uring_error writes into |out| why io_uring_setup failed
// with |neg_errno| (a negative errno) and how an operator fixes it, given the
// value of /proc/sys/kernel/io_uring_disabled (-1 when unreadable).
void fg_probe_explain_uring_error(int neg_errno, int io_uring_disabled, char *out, size_t out_len);

// fg_probe_explain_ktls_error writes into |out| why setsockopt(TCP_ULP, "tls")
// failed with |err| (a positive errno), given whether "tls" is listed in
// tcp_available_ulp.
void fg_probe_explain_ktls_error(int err, int listed, char *out, size_t out_len);

#endif  // FEDGATE_IO_PROBE_H
