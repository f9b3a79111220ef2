// identity.c: the XMPP certificate identity matcher. See identity.h for the
// policy; docs/identity.md for the reasoning behind each rule.
#include "crypto/identity.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

// IDNA mode: IDNA2008 (RFC 5891) with the UTS #46 non-transitional mapping,
// which lower-cases, applies NFC and keeps ß/ς/ZWJ/ZWNJ as themselves (the
// behaviour of current browsers and of the RFC 5891 lookup protocol).
// STD3 rules reject the non-LDH ASCII characters up front.
#define IDN_FLAGS (IDN2_NONTRANSITIONAL | IDN2_USE_STD3_ASCII_RULES)

static char ascii_lower(uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : (char)c;
}

static int has_high_bit(const uint8_t *in, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (in[i] >= 0x80) return 1;
  }
  return 0;
}

// norm_host writes the normalised form of the host name |in| into |out|
// (FG_IDENTITY_MAX_NAME + 1 bytes): one trailing dot stripped, lower case,
// and, when |allow_wildcard| and |in| starts with "*.", without that prefix
// (|*wildcard| set). It returns NULL when the name is a valid LDH host name,
// otherwise a static reason (|out| then holds what was normalised so far).
static const char *norm_host(const uint8_t *in, size_t len, int allow_wildcard, char *out,
                             uint8_t *out_len, uint8_t *wildcard, uint8_t *first_label_len) {
  *out_len = 0;
  out[0] = 0;
  if (wildcard != NULL) *wildcard = 0;
  if (len > 0 && in[len - 1] == '.') len--;
  if (len == 0) return "empty name";
  if (allow_wildcard && len >= 2 && in[0] == '*' && in[1] == '.') {
    *wildcard = 1;
    in += 2;
    len -= 2;
  }
  if (len == 0) return "empty label";
  if (len > FG_IDENTITY_MAX_NAME) return "name longer than 253 characters";

  size_t label_len = 0, labels = 1, first = 0;
  int label_all_digits = 1;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = in[i];
    out[i] = ascii_lower(c);
    if (c == '.') {
      if (label_len == 0) return "empty label";
      if (in[i - 1] == '-') return "label ends with '-'";
      if (labels == 1) first = label_len;
      labels++;
      label_len = 0;
      label_all_digits = 1;
      continue;
    }
    if (c == 0) return "NUL byte in name";
    if (c >= 0x80) return "non-ASCII byte in name";
    if (c == '*')
      return allow_wildcard ? "'*' is not the whole left-most label" : "wildcard not allowed";
    int digit = c >= '0' && c <= '9';
    int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!digit && !alpha && c != '-') return "non-LDH character in name";
    if (c == '-' && label_len == 0) return "label starts with '-'";
    if (!digit) label_all_digits = 0;
    if (++label_len > 63) return "label longer than 63 characters";
  }
  if (label_len == 0) return "empty label";
  if (in[len - 1] == '-') return "label ends with '-'";
  // RFC 3696 §2: a top-level label is never all-numeric; this keeps IPv4
  // literals out (they are iPAddress SANs, never DNS names).
  if (label_all_digits) return "all-numeric last label (IP address)";
  if (labels == 1) first = label_len;
  if (wildcard != NULL && *wildcard && labels < 2) return "wildcard needs at least three labels";
  out[len] = 0;
  *out_len = (uint8_t)len;
  if (first_label_len != NULL) *first_label_len = (uint8_t)first;
  return NULL;
}

// to_alabels converts a UTF-8 name with U-labels to A-labels in |out|
// (|out_cap| bytes). |in| must hold a byte >= 0x80. It returns NULL or a
// static reason.
static const char *to_alabels(const uint8_t *in, size_t len, char *out, size_t out_cap,
                              size_t *out_len) {
  char buf[1024];
  if (len >= sizeof(buf)) return "name too long";
  if (memchr(in, 0, len) != NULL) return "NUL byte in name";
  memcpy(buf, in, len);
  buf[len] = 0;
  char *ascii = NULL;
  if (idn2_to_ascii_8z(buf, &ascii, IDN_FLAGS) != IDN2_OK) return "invalid IDN (IDNA2008/UTS #46)";
  size_t n = strlen(ascii);
  if (n >= out_cap) {
    idn2_free(ascii);
    return "name longer than 253 characters";
  }
  memcpy(out, ascii, n + 1);
  idn2_free(ascii);
  *out_len = n;
  return NULL;
}

void fg_cert_ids_init(fg_cert_ids *ids) {
  memset(ids, 0, sizeof(*ids));
}

void fg_cert_ids_cleanup(fg_cert_ids *ids) {
  for (size_t i = 0; i < ids->num_ids; i++) {
    free((void *)ids->ids[i].raw);
  }
  free(ids->ids);
  memset(ids, 0, sizeof(*ids));
}

// Layout of the one block each identifier owns: raw bytes + NUL, then the
// name buffer, then the service buffer.
#define NAME_CAP (FG_IDENTITY_MAX_NAME + 1)
#define SERVICE_CAP (FG_IDENTITY_MAX_SERVICE + 1)

static const char *norm_srv(fg_presented_id *id, char *name, char *service) {
  const uint8_t *raw = id->raw;
  size_t len = id->raw_len;
  // RFC 4985 §2: "_Service.Name"; the service is an RFC 6335 name.
  if (len == 0 || raw[0] != '_') return "SRV-ID does not start with '_'";
  const uint8_t *dot = memchr(raw, '.', len);
  if (dot == NULL) return "SRV-ID has no '.' after the service";
  size_t slen = (size_t)(dot - raw) - 1;
  if (slen == 0 || slen > FG_IDENTITY_MAX_SERVICE) return "SRV-ID service empty or too long";
  for (size_t i = 0; i < slen; i++) {
    uint8_t c = raw[1 + i];
    int ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
    if (!ok) return "SRV-ID service has a non-LDH character";
    service[i] = ascii_lower(c);
  }
  service[slen] = 0;
  id->service_len = (uint8_t)slen;
  const uint8_t *host = dot + 1;
  size_t hlen = len - (size_t)(host - raw);
  if (has_high_bit(host, hlen)) return "non-ASCII byte in SRV-ID";
  // RFC 9525 §6.3: no wildcards in SRV-IDs.
  if (memchr(host, '*', hlen) != NULL) return "wildcard not allowed in SRV-ID";
  return norm_host(host, hlen, 0, name, &id->name_len, NULL, NULL);
}

static const char *norm_xmpp(fg_presented_id *id, char *name) {
  const uint8_t *raw = id->raw;
  size_t len = id->raw_len;
  if (memchr(raw, 0, len) != NULL) return "NUL byte in XmppAddr";
  // RFC 6120 §13.7.1.4: only a bare domain identifies a server.
  if (memchr(raw, '@', len) != NULL) return "XmppAddr has a localpart";
  if (memchr(raw, '/', len) != NULL) return "XmppAddr has a resourcepart";
  if (memchr(raw, '*', len) != NULL) return "wildcard not allowed in XmppAddr";
  if (!has_high_bit(raw, len)) return norm_host(raw, len, 0, name, &id->name_len, NULL, NULL);
  char alabels[NAME_CAP + 1];
  size_t alen;
  const char *why = to_alabels(raw, len, alabels, sizeof(alabels), &alen);
  if (why != NULL) return why;
  return norm_host((const uint8_t *)alabels, alen, 0, name, &id->name_len, NULL, NULL);
}

int fg_cert_ids_add(fg_cert_ids *ids, fg_id_type type, const uint8_t *raw, size_t raw_len) {
  if (ids->num_ids >= FG_CERT_IDS_MAX) return 0;
  if (ids->num_ids == ids->cap_ids) {
    size_t cap = ids->cap_ids == 0 ? 4 : ids->cap_ids * 2;
    fg_presented_id *grown = realloc(ids->ids, cap * sizeof(*grown));
    if (grown == NULL) return 0;
    ids->ids = grown;
    ids->cap_ids = cap;
  }
  uint8_t *block = malloc(raw_len + 1 + NAME_CAP + SERVICE_CAP);
  if (block == NULL) return 0;
  if (raw_len > 0) memcpy(block, raw, raw_len);
  block[raw_len] = 0;
  char *name = (char *)block + raw_len + 1;
  char *service = name + NAME_CAP;
  name[0] = 0;
  service[0] = 0;

  fg_presented_id *id = &ids->ids[ids->num_ids];
  memset(id, 0, sizeof(*id));
  id->type = type;
  id->raw = block;
  id->raw_len = raw_len;
  id->name = name;
  id->service = service;
  const char *why;
  switch (type) {
    case FG_ID_DNS:
    case FG_ID_CN:
      why = norm_host(block, raw_len, 1, name, &id->name_len, &id->wildcard, NULL);
      break;
    case FG_ID_SRV:
      why = norm_srv(id, name, service);
      break;
    case FG_ID_XMPP:
      why = norm_xmpp(id, name);
      break;
    default:
      why = "unknown identifier type";
      break;
  }
  id->valid = why == NULL;
  id->invalid_reason = why;
  if (why != NULL) {
    // Keep unusable identifiers from ever comparing equal to anything.
    id->name_len = 0;
    name[0] = 0;
  }
  ids->num_ids++;
  return 1;
}

int fg_identity_ref_init(fg_identity_ref *ref, const uint8_t *domain, size_t domain_len,
                         const char *service) {
  memset(ref, 0, sizeof(*ref));
  if (service == NULL) service = "xmpp-server";
  size_t slen = strlen(service);
  const char *why = NULL;
  if (slen == 0 || slen > FG_IDENTITY_MAX_SERVICE) why = "service empty or too long";
  for (size_t i = 0; why == NULL && i < slen; i++) {
    ref->service[i] = ascii_lower((uint8_t)service[i]);
  }
  ref->service_len = (uint8_t)(why == NULL ? slen : 0);

  if (why == NULL && has_high_bit(domain, domain_len)) {
    char alabels[NAME_CAP + 1];
    size_t alen;
    why = to_alabels(domain, domain_len, alabels, sizeof(alabels), &alen);
    if (why == NULL) {
      why = norm_host((const uint8_t *)alabels, alen, 0, ref->name, &ref->name_len, NULL,
                      &ref->first_label_len);
    }
  } else if (why == NULL) {
    why = norm_host(domain, domain_len, 0, ref->name, &ref->name_len, NULL, &ref->first_label_len);
  }
  if (why != NULL) {
    ref->name_len = 0;
    ref->name[0] = 0;
    ref->invalid_reason = why;
    return 0;
  }
  ref->first_label_is_alabel = ref->first_label_len >= 4 && memcmp(ref->name, "xn--", 4) == 0;
  ref->valid = 1;
  return 1;
}

// match_host applies the DNS-ID rules of a valid |id| to a valid |ref|.
static int match_host(const fg_presented_id *id, const fg_identity_ref *ref) {
  if (!id->wildcard) {
    return id->name_len == ref->name_len && memcmp(id->name, ref->name, ref->name_len) == 0;
  }
  // RFC 9525 §6.3: the '*' covers exactly the left-most label, and never
  // an A-label.
  if (ref->first_label_is_alabel) return 0;
  size_t skip = (size_t)ref->first_label_len + 1;
  return ref->name_len > skip && ref->name_len - skip == id->name_len &&
         memcmp(ref->name + skip, id->name, id->name_len) == 0;
}

static int cn_allowed(const fg_cert_ids *ids, unsigned flags) {
  return (flags & FG_IDENTITY_LEGACY_CN_ID) &&
         ids->num_san_dns + ids->num_san_srv + ids->num_san_xmpp == 0;
}

static int match_one(const fg_presented_id *id, const fg_identity_ref *ref, int cn_ok) {
  if (!id->valid) return 0;
  switch (id->type) {
    case FG_ID_DNS:
      return match_host(id, ref);
    case FG_ID_CN:
      return cn_ok && match_host(id, ref);
    case FG_ID_SRV:
      return id->service_len == ref->service_len &&
             memcmp(id->service, ref->service, ref->service_len) == 0 &&
             id->name_len == ref->name_len && memcmp(id->name, ref->name, ref->name_len) == 0;
    case FG_ID_XMPP:
      return id->name_len == ref->name_len && memcmp(id->name, ref->name, ref->name_len) == 0;
  }
  return 0;
}

fg_identity_status fg_identity_match(fg_identity_result *out, const fg_cert_ids *ids,
                                     const fg_identity_ref *ref, unsigned flags) {
  fg_identity_result r = {FG_IDENTITY_NOMATCH, NULL};
  if (!ref->valid) {
    r.status = FG_IDENTITY_NOMATCH_BAD_REFERENCE;
  } else {
    int cn_ok = cn_allowed(ids, flags);
    size_t usable = 0;
    for (size_t i = 0; i < ids->num_ids; i++) {
      const fg_presented_id *id = &ids->ids[i];
      if (!id->valid || (id->type == FG_ID_CN && !cn_ok)) continue;
      usable++;
      if (match_one(id, ref, cn_ok)) {
        r.status = FG_IDENTITY_MATCH;
        r.matched = id;
        break;
      }
    }
    if (r.status != FG_IDENTITY_MATCH && usable == 0) r.status = FG_IDENTITY_NOMATCH_NO_IDS;
  }
  if (out != NULL) *out = r;
  return r.status;
}

const char *fg_identity_id_mismatch(const fg_presented_id *id, const fg_cert_ids *ids,
                                    const fg_identity_ref *ref, unsigned flags) {
  if (!ref->valid) return "reference is not a valid domain";
  if (!id->valid) return id->invalid_reason;
  if (id->type == FG_ID_CN) {
    if (!(flags & FG_IDENTITY_LEGACY_CN_ID)) return "CN-ID not used (legacy_cn_id off)";
    if (!cn_allowed(ids, flags)) return "CN-ID ignored: certificate has DNS-ID/SRV-ID/XmppAddr";
  }
  if (match_one(id, ref, cn_allowed(ids, flags))) return NULL;
  if (id->type == FG_ID_SRV && (id->service_len != ref->service_len ||
                                memcmp(id->service, ref->service, ref->service_len) != 0)) {
    return "different service";
  }
  if (id->wildcard && ref->first_label_is_alabel) return "wildcard never matches an A-label";
  if (id->wildcard) return "wildcard does not cover the reference";
  return "different name";
}

size_t fg_presented_id_format(char *out, size_t out_len, const fg_presented_id *id) {
  static const char *const prefixes[] = {"?", "dns", "srv", "xmpp", "cn"};
  const char *prefix = (unsigned)id->type <= FG_ID_CN ? prefixes[id->type] : "?";
  size_t n = 0;
  int w = snprintf(out, out_len, "%s:", prefix);
  n = w > 0 ? (size_t)w : 0;
  for (size_t i = 0; i < id->raw_len; i++) {
    uint8_t c = id->raw[i];
    char tmp[5];
    size_t tl;
    if (c > 0x20 && c < 0x7f && c != '\\') {
      tmp[0] = (char)c;
      tl = 1;
    } else {
      static const char hex[] = "0123456789abcdef";
      tmp[0] = '\\';
      tmp[1] = 'x';
      tmp[2] = hex[c >> 4];
      tmp[3] = hex[c & 15];
      tl = 4;
    }
    for (size_t j = 0; j < tl; j++, n++) {
      if (n + 1 < out_len) out[n] = tmp[j];
    }
  }
  if (out_len > 0) out[n < out_len ? n : out_len - 1] = 0;
  return n;
}

// appender accumulates a bounded string.
typedef struct appender {
  char *out;
  size_t cap, len;
} appender;

static void app(appender *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void app(appender *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = a->len < a->cap ? a->cap - a->len : 0;
  int w = vsnprintf(room > 0 ? a->out + a->len : NULL, room, fmt, ap);
  va_end(ap);
  if (w > 0) a->len += (size_t)w;
}

size_t fg_identity_explain(char *out, size_t out_len, const fg_cert_ids *ids,
                           const fg_identity_ref *ref, unsigned flags,
                           const fg_identity_result *result) {
  appender a = {out, out_len, 0};
  if (out_len > 0) out[0] = 0;
  char idbuf[600];
  if (result->status == FG_IDENTITY_MATCH && result->matched != NULL) {
    fg_presented_id_format(idbuf, sizeof(idbuf), result->matched);
    app(&a, "%s", idbuf);
    return a.len;
  }
  if (!ref->valid) {
    app(&a, "reference is not a valid domain (%s)", ref->invalid_reason);
    return a.len;
  }
  app(&a, "%s for %s (service %s): ",
      ids->num_ids == 0 ? "no identifiers presented" : "no identifier matches", ref->name,
      ref->service);
  for (size_t i = 0; i < ids->num_ids; i++) {
    const char *why = fg_identity_id_mismatch(&ids->ids[i], ids, ref, flags);
    fg_presented_id_format(idbuf, sizeof(idbuf), &ids->ids[i]);
    app(&a, "%s%s (%s)", i == 0 ? "" : "; ", idbuf, why != NULL ? why : "matches");
  }
  if (ids->num_ids == 0) app(&a, "none");
  return a.len;
}

const char *fg_identity_status_string(fg_identity_status status) {
  switch (status) {
    case FG_IDENTITY_MATCH:
      return "match";
    case FG_IDENTITY_NOMATCH:
      return "nomatch";
    case FG_IDENTITY_NOMATCH_NO_IDS:
      return "nomatch-no-identifiers";
    case FG_IDENTITY_NOMATCH_BAD_REFERENCE:
      return "nomatch-bad-reference";
  }
  return "unknown";
}
