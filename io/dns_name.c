// dns_name.c: checks host names against the LDH rule (RFC 1123 §2.1) and
// brings them to the one form the resolver, its cache and its answers use.
#include "io/dns_name.h"

#include <string.h>

int fg_dns_name_valid(const char *name, size_t len) {
  if (len > 0 && name[len - 1] == '.') len--;
  if (len == 0 || len > FG_DNS_NAME_MAX) return 0;
  size_t label = 0;
  for (size_t i = 0; i <= len; i++) {
    char c = i < len ? name[i] : '.';
    if (c == '.') {
      if (label == 0 || label > 63 || name[i - 1] == '-' || name[i - label] == '-') return 0;
      label = 0;
      continue;
    }
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return 0;
    label++;
  }
  return 1;
}

int fg_dns_name_normalize(char out[FG_DNS_NAME_MAX + 1], const char *in) {
  size_t len = strlen(in);
  if (!fg_dns_name_valid(in, len)) return 0;
  if (in[len - 1] == '.') len--;
  for (size_t i = 0; i < len; i++) {
    char c = in[i];
    out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  out[len] = 0;
  return 1;
}
