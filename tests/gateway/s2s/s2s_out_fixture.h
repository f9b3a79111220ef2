// s2s_out_fixture.h: what the tests of the initiating side
// (gateway/s2s/s2s_out.c) share: an owner that records what a session tells
// it (out_env), sessions opened for it, and the peer's canned stream header.
#ifndef FEDGATE_TESTS_GATEWAY_S2S_OUT_FIXTURE_H
#define FEDGATE_TESTS_GATEWAY_S2S_OUT_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/s2s/s2s_out.h"

// out_wire holds the bytes one side wrote, NUL-terminated.
typedef struct out_wire {
  char buf[16384];
  size_t len;
} out_wire;

// out_wire_put appends |n| bytes (dropped when they do not fit).
void out_wire_put(out_wire *w, const uint8_t *d, size_t n);

// out_env records what an fg_s2s_out session tells its owner (kOutEnvOps).
typedef struct out_env {
  out_wire w;  // what the session wrote
  int ready;   // the authentication method once ready (-1: unauthenticated)
  int failed, acked;
  char fail_cond[64];
  // db:verify answers (XEP-0220 §2.3).
  int answers, last_valid;
  // XEP-0288: stanzas sent back (taken unless |refuse| is set) and refused.
  int stanzas, refused;
  char last_from[256], last_to[256], refused_cond[64];
  const char *refuse;
  // XEP-0220 §4.3: answers for further pairs, the last one's pair and
  // condition ("valid" when accepted).
  int pair_answers;
  char pair_from[256], pair_to[256], pair_condition[64];
} out_env;

extern const fg_s2s_out_ops kOutEnvOps;

// g_out_secret is the dialback secret of the tests' sessions
// (out_fixture_setup sets it).
extern fg_dialback_secret g_out_secret;

// out_fixture_setup is a cmocka group setup: it sets g_out_secret.
int out_fixture_setup(void **state);

// out_config fills |c| with the defaults for a stream a.example -> b.example.
void out_config(fg_s2s_out_config *c);

// out_open makes a session of |c| reporting to |e| and starts it.
fg_s2s_out *out_open(out_env *e, const fg_s2s_out_config *c);

// out_feed hands |in| to |s| as the peer's bytes.
fg_s2s_out_status out_feed(fg_s2s_out *s, const char *in);

// PEER_HEADER is the stream header b.example answers a.example with, on
// stream |id|.
#define PEER_HEADER(id)                                                                   \
  "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' " \
  "xmlns:db='jabber:server:dialback' from='b.example' to='a.example' id='" id "' version='1.0'>"

#endif  // FEDGATE_TESTS_GATEWAY_S2S_OUT_FIXTURE_H
