// bidi.c: XEP-0288 rules for stanzas received back on a stream we opened.
#include "gateway/s2s/bidi.h"

#include <string.h>

#include "gateway/s2s/jid.h"

fg_bidi_verdict fg_bidi_check_reverse(const char *local, const char *remote, const uint8_t *from,
                                      size_t from_len, const uint8_t *to, size_t to_len,
                                      char *out_from, char *out_to) {
  // RFC 6120 §8.1.1.1, §8.1.2.1: between servers both addresses are required.
  if (from == NULL || to == NULL || !fg_jid_domain(out_from, from, from_len) ||
      !fg_jid_domain(out_to, to, to_len)) {
    return FG_BIDI_IMPROPER_ADDRESSING;
  }
  // XEP-0288 §2.2: only the inverse of the pair this stream authenticated.
  if (strcmp(out_from, remote) != 0) return FG_BIDI_INVALID_FROM;
  if (strcmp(out_to, local) != 0) return FG_BIDI_HOST_UNKNOWN;
  return FG_BIDI_OK;
}

const char *fg_bidi_verdict_condition(fg_bidi_verdict v) {
  switch (v) {
    case FG_BIDI_IMPROPER_ADDRESSING:
      return "improper-addressing";  // RFC 6120 §4.9.3.7
    case FG_BIDI_INVALID_FROM:
      return "invalid-from";  // RFC 6120 §4.9.3.9
    case FG_BIDI_HOST_UNKNOWN:
      return "host-unknown";  // RFC 6120 §4.9.3.6
    case FG_BIDI_OK:
      break;
  }
  return NULL;
}

int fg_bidi_reverse_trusted(fg_auth_method proof, int inbound_dialback) {
  switch (proof) {
    case FG_AUTH_PKIX:
    case FG_AUTH_DANE_EE:
    case FG_AUTH_DANE_TA:
    case FG_AUTH_POSH:
      return 1;
    case FG_AUTH_DIALBACK:
      return inbound_dialback;
    default:
      return 0;  // nothing proved the peer (plaintext, untrusted certificate)
  }
}

int fg_bidi_hop_reverse_trusted(fg_auth_method proof, int dialback) {
  if (proof == FG_AUTH_PKIX) return 1;
  return proof == FG_AUTH_DIALBACK && dialback;
}
