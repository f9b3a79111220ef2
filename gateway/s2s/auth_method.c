// auth_method.c: names of the ways a peer's identity is established.
#include "gateway/s2s/auth_method.h"

const char *fg_auth_method_name(fg_auth_method m) {
  static const char *const kNames[FG_AUTH_METHOD_COUNT] = {"none",    "pkix", "dane-ee",
                                                           "dane-ta", "posh", "dialback"};
  return (unsigned)m < FG_AUTH_METHOD_COUNT ? kNames[m] : "unknown";
}
