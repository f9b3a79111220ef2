// bounce.c: builds RFC 6120 §8.3 error stanzas into a caller buffer.
#include "gateway/s2s/bounce.h"

#include <string.h>

static const struct {
  const char *name;
  fg_stanza_error_type type;
} kConditions[FG_STANZA_CONDITION_COUNT] = {
    // Types: the one each §8.3.3 subsection says the error SHOULD carry.
    [FG_STANZA_BAD_REQUEST] = {"bad-request", FG_STANZA_ERROR_TYPE_MODIFY},
    [FG_STANZA_CONFLICT] = {"conflict", FG_STANZA_ERROR_TYPE_CANCEL},
    [FG_STANZA_FEATURE_NOT_IMPLEMENTED] = {"feature-not-implemented", FG_STANZA_ERROR_TYPE_CANCEL},
    [FG_STANZA_FORBIDDEN] = {"forbidden", FG_STANZA_ERROR_TYPE_AUTH},
    [FG_STANZA_GONE] = {"gone", FG_STANZA_ERROR_TYPE_CANCEL},
    [FG_STANZA_INTERNAL_SERVER_ERROR] = {"internal-server-error", FG_STANZA_ERROR_TYPE_CANCEL},
    [FG_STANZA_ITEM_NOT_FOUND] = {"item-not-found", FG_STANZA_ERROR_TYPE_CANCEL},
    [FG_STANZA_JID_MALFORMED] = {"jid-malformed", FG_STANZA_ERROR_TYPE_MODIFY},
    [FG_STANZA_NOT_ACCEPTABLE] = {"not-acceptable", FG_STANZA_ERROR_TYPE_MODIFY},
    [FG_STANZA_NOT_ALLOWED] = {"not-allowed", FG_STANZA_ERROR_TYPE_CANCEL},
    [FG_STANZA_NOT_AUTHORIZED] = {"not-authorized", FG_STANZA_ERROR_TYPE_AUTH},
    [FG_STANZA_POLICY_VIOLATION] = {"policy-violation", FG_STANZA_ERROR_TYPE_MODIFY},
    [FG_STANZA_RECIPIENT_UNAVAILABLE] = {"recipient-unavailable", FG_STANZA_ERROR_TYPE_WAIT},
    [FG_STANZA_REDIRECT] = {"redirect", FG_STANZA_ERROR_TYPE_MODIFY},
    [FG_STANZA_REGISTRATION_REQUIRED] = {"registration-required", FG_STANZA_ERROR_TYPE_AUTH},
    [FG_STANZA_REMOTE_SERVER_NOT_FOUND] = {"remote-server-not-found", FG_STANZA_ERROR_TYPE_CANCEL},
    [FG_STANZA_REMOTE_SERVER_TIMEOUT] = {"remote-server-timeout", FG_STANZA_ERROR_TYPE_WAIT},
    [FG_STANZA_RESOURCE_CONSTRAINT] = {"resource-constraint", FG_STANZA_ERROR_TYPE_WAIT},
    [FG_STANZA_SERVICE_UNAVAILABLE] = {"service-unavailable", FG_STANZA_ERROR_TYPE_CANCEL},
    [FG_STANZA_SUBSCRIPTION_REQUIRED] = {"subscription-required", FG_STANZA_ERROR_TYPE_AUTH},
    // §8.3.3.21 allows any type; "cancel" is the conservative one.
    [FG_STANZA_UNDEFINED_CONDITION] = {"undefined-condition", FG_STANZA_ERROR_TYPE_CANCEL},
    [FG_STANZA_UNEXPECTED_REQUEST] = {"unexpected-request", FG_STANZA_ERROR_TYPE_WAIT},
};

static const char *const kTypeNames[] = {
    [FG_STANZA_ERROR_TYPE_AUTH] = "auth",         [FG_STANZA_ERROR_TYPE_CANCEL] = "cancel",
    [FG_STANZA_ERROR_TYPE_CONTINUE] = "continue", [FG_STANZA_ERROR_TYPE_MODIFY] = "modify",
    [FG_STANZA_ERROR_TYPE_WAIT] = "wait",
};

static const char *const kKindNames[] = {
    [FG_STANZA_MESSAGE] = "message",
    [FG_STANZA_PRESENCE] = "presence",
    [FG_STANZA_IQ] = "iq",
};

static const char *const kVerdictNames[] = {
    [FG_BOUNCE_OK] = "ok",
    [FG_BOUNCE_NOT_FOR_ERROR] = "error-stanza",
    [FG_BOUNCE_NOT_FOR_IQ_RESULT] = "iq-result",
    [FG_BOUNCE_NOT_FOR_UNAVAILABLE] = "presence-unavailable",
    [FG_BOUNCE_NO_ADDRESS] = "no-address",
    [FG_BOUNCE_BUFFER_TOO_SMALL] = "buffer-too-small",
    [FG_BOUNCE_BAD_ARGUMENT] = "bad-argument",
};

#define STANZAS_NS "urn:ietf:params:xml:ns:xmpp-stanzas"

const char *fg_stanza_condition_name(fg_stanza_condition c) {
  if ((unsigned)c >= FG_STANZA_CONDITION_COUNT) return NULL;
  return kConditions[c].name;
}

fg_stanza_condition fg_stanza_condition_from_name(const char *name, size_t len) {
  for (int c = 0; c < FG_STANZA_CONDITION_COUNT; c++) {
    if (strlen(kConditions[c].name) == len && memcmp(kConditions[c].name, name, len) == 0) {
      return (fg_stanza_condition)c;
    }
  }
  return FG_STANZA_CONDITION_COUNT;
}

fg_stanza_error_type fg_stanza_condition_default_type(fg_stanza_condition c) {
  if ((unsigned)c >= FG_STANZA_CONDITION_COUNT) return FG_STANZA_ERROR_TYPE_DEFAULT;
  return kConditions[c].type;
}

const char *fg_stanza_error_type_name(fg_stanza_error_type t) {
  if (t <= FG_STANZA_ERROR_TYPE_DEFAULT || t > FG_STANZA_ERROR_TYPE_WAIT) return NULL;
  return kTypeNames[t];
}

const char *fg_bounce_verdict_name(fg_bounce_verdict v) {
  if ((unsigned)v > FG_BOUNCE_BAD_ARGUMENT) return "unknown";
  return kVerdictNames[v];
}

static int type_is(const fg_bounce_stanza *in, const char *want) {
  size_t n = strlen(want);
  return in->type != NULL && in->type_len == n && memcmp(in->type, want, n) == 0;
}

fg_bounce_verdict fg_bounce_check(const fg_bounce_stanza *in) {
  if (in == NULL || (unsigned)in->kind > FG_STANZA_IQ) return FG_BOUNCE_BAD_ARGUMENT;
  // RFC 6120 §8.3.1: an error stanza is never answered with another one.
  if (type_is(in, "error")) return FG_BOUNCE_NOT_FOR_ERROR;
  // RFC 6120 §8.2.3: an IQ response is not answered with an IQ response.
  if (in->kind == FG_STANZA_IQ && type_is(in, "result")) return FG_BOUNCE_NOT_FOR_IQ_RESULT;
  if (in->kind == FG_STANZA_PRESENCE && type_is(in, "unavailable")) {
    return FG_BOUNCE_NOT_FOR_UNAVAILABLE;
  }
  // RFC 6120 §8.1.1.1 / §8.1.2.1: over s2s both addresses are mandatory; the
  // bounce goes to 'from' and comes from 'to'.
  if (in->from == NULL || in->from_len == 0 || in->to == NULL || in->to_len == 0) {
    return FG_BOUNCE_NO_ADDRESS;
  }
  return FG_BOUNCE_OK;
}

// out_buf is a bounded writer that keeps counting past the end, so the caller
// learns the size it needs.
typedef struct out_buf {
  uint8_t *p;
  size_t cap, len;
} out_buf;

static void put(out_buf *o, const char *s, size_t n) {
  if (o->len < o->cap && n > 0) {
    size_t room = o->cap - o->len;
    memcpy(o->p + o->len, s, n < room ? n : room);
  }
  o->len += n;
}

static void puts_(out_buf *o, const char *s) {
  put(o, s, strlen(s));
}

// put_escaped writes XML-escaped text. Quotes are escaped everywhere so the
// same function serves attribute values in either quote style; tab, LF and CR
// become character references so that attribute-value normalisation (XML 1.0
// §3.3.3) gives the receiver back the original characters.
static void put_escaped(out_buf *o, const char *s, size_t n) {
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    const char *rep = NULL;
    switch (s[i]) {
      case '&':
        rep = "&amp;";
        break;
      case '<':
        rep = "&lt;";
        break;
      case '>':
        rep = "&gt;";
        break;
      case '\'':
        rep = "&apos;";
        break;
      case '"':
        rep = "&quot;";
        break;
      case '\t':
        rep = "&#9;";
        break;
      case '\n':
        rep = "&#10;";
        break;
      case '\r':
        rep = "&#13;";
        break;
      default:
        continue;
    }
    put(o, s + start, i - start);
    puts_(o, rep);
    start = i + 1;
  }
  put(o, s + start, n - start);
}

static void put_attr(out_buf *o, const char *name, const char *v, size_t n) {
  put(o, " ", 1);
  puts_(o, name);
  put(o, "='", 2);
  put_escaped(o, v, n);
  put(o, "'", 1);
}

fg_bounce_verdict fg_bounce_build(uint8_t *out, size_t *out_len, size_t max_out,
                                  const fg_bounce_stanza *in, fg_stanza_condition cond,
                                  fg_stanza_error_type type, const char *by, const char *text) {
  *out_len = 0;
  if ((unsigned)cond >= FG_STANZA_CONDITION_COUNT || (unsigned)type > FG_STANZA_ERROR_TYPE_WAIT) {
    return FG_BOUNCE_BAD_ARGUMENT;
  }
  fg_bounce_verdict v = fg_bounce_check(in);
  if (v != FG_BOUNCE_OK) return v;
  if (type == FG_STANZA_ERROR_TYPE_DEFAULT) type = kConditions[cond].type;

  out_buf o = {out, out == NULL ? 0 : max_out, 0};
  const char *kind = kKindNames[in->kind];
  put(&o, "<", 1);
  puts_(&o, kind);
  put_attr(&o, "from", in->to, in->to_len);  // §8.3.2: from the intended recipient
  put_attr(&o, "to", in->from, in->from_len);
  puts_(&o, " type='error'");
  // RFC 6120 §8.1.3: a response carries the id of the stanza it answers.
  if (in->id != NULL) put_attr(&o, "id", in->id, in->id_len);
  puts_(&o, "><error type='");
  puts_(&o, kTypeNames[type]);
  put(&o, "'", 1);
  if (by != NULL && by[0] != 0) put_attr(&o, "by", by, strlen(by));
  puts_(&o, "><");
  puts_(&o, kConditions[cond].name);
  puts_(&o, " xmlns='" STANZAS_NS "'/>");
  if (text != NULL && text[0] != 0) {
    puts_(&o, "<text xmlns='" STANZAS_NS "'>");
    put_escaped(&o, text, strlen(text));
    puts_(&o, "</text>");
  }
  puts_(&o, "</error></");
  puts_(&o, kind);
  put(&o, ">", 1);

  *out_len = o.len;
  if (o.len > o.cap) return FG_BOUNCE_BUFFER_TOO_SMALL;
  return FG_BOUNCE_OK;
}
