// bounce.h: RFC 6120 §8.3 stanza errors sent back to a stanza's sender when
// the stanza cannot be delivered ("bounces"), and the table of defined stanza
// error conditions (§8.3.3) with their names and error types, usable as
// counter labels.
//
// Which stanzas are never bounced (fg_bounce_check):
//   - any stanza of type 'error' (RFC 6120 §8.3.1 rule 1: never answer an
//     error with an error, which would loop);
//   - an IQ of type 'result' (RFC 6120 §8.2.3 rule 5: an IQ response is not
//     answered with another IQ response);
//   - a presence of type 'unavailable' (fedgate policy: it is a notification
//     the sender cannot act on, sent in bursts when users log off; bouncing
//     each one would double the traffic of a failing link for no benefit).
// Everything else that was accepted and cannot be delivered is bounced, so
// that nothing is dropped silently.
//
// For a stanza bound to a remote domain, RFC 6120 §10.4.3 picks the condition:
// remote-server-not-found when the domain cannot be resolved or no server
// answers, remote-server-timeout when it was resolved but no stream could be
// established or authenticated in time.
#ifndef FEDGATE_GATEWAY_BOUNCE_H
#define FEDGATE_GATEWAY_BOUNCE_H

#include <stddef.h>
#include <stdint.h>

// fg_stanza_kind is the element name of a first-level stanza (RFC 6120 §8).
typedef enum fg_stanza_kind {
  FG_STANZA_MESSAGE = 0,
  FG_STANZA_PRESENCE,
  FG_STANZA_IQ,
} fg_stanza_kind;

// fg_stanza_error_type is the 'type' attribute of <error/> (RFC 6120 §8.3.2).
// FG_STANZA_ERROR_TYPE_DEFAULT means "the type §8.3.3 associates with the
// condition".
typedef enum fg_stanza_error_type {
  FG_STANZA_ERROR_TYPE_DEFAULT = 0,
  FG_STANZA_ERROR_TYPE_AUTH,
  FG_STANZA_ERROR_TYPE_CANCEL,
  FG_STANZA_ERROR_TYPE_CONTINUE,
  FG_STANZA_ERROR_TYPE_MODIFY,
  FG_STANZA_ERROR_TYPE_WAIT,
} fg_stanza_error_type;

// fg_stanza_condition lists the defined conditions of RFC 6120 §8.3.3 in the
// RFC's order. Values are dense from 0 to FG_STANZA_CONDITION_COUNT - 1, so an
// array of counters can be indexed by them.
typedef enum fg_stanza_condition {
  FG_STANZA_BAD_REQUEST = 0,          // §8.3.3.1
  FG_STANZA_CONFLICT,                 // §8.3.3.2
  FG_STANZA_FEATURE_NOT_IMPLEMENTED,  // §8.3.3.3
  FG_STANZA_FORBIDDEN,                // §8.3.3.4
  FG_STANZA_GONE,                     // §8.3.3.5
  FG_STANZA_INTERNAL_SERVER_ERROR,    // §8.3.3.6
  FG_STANZA_ITEM_NOT_FOUND,           // §8.3.3.7
  FG_STANZA_JID_MALFORMED,            // §8.3.3.8
  FG_STANZA_NOT_ACCEPTABLE,           // §8.3.3.9
  FG_STANZA_NOT_ALLOWED,              // §8.3.3.10
  FG_STANZA_NOT_AUTHORIZED,           // §8.3.3.11
  FG_STANZA_POLICY_VIOLATION,         // §8.3.3.12
  FG_STANZA_RECIPIENT_UNAVAILABLE,    // §8.3.3.13
  FG_STANZA_REDIRECT,                 // §8.3.3.14
  FG_STANZA_REGISTRATION_REQUIRED,    // §8.3.3.15
  FG_STANZA_REMOTE_SERVER_NOT_FOUND,  // §8.3.3.16
  FG_STANZA_REMOTE_SERVER_TIMEOUT,    // §8.3.3.17
  FG_STANZA_RESOURCE_CONSTRAINT,      // §8.3.3.18
  FG_STANZA_SERVICE_UNAVAILABLE,      // §8.3.3.19
  FG_STANZA_SUBSCRIPTION_REQUIRED,    // §8.3.3.20
  FG_STANZA_UNDEFINED_CONDITION,      // §8.3.3.21
  FG_STANZA_UNEXPECTED_REQUEST,       // §8.3.3.22
  FG_STANZA_CONDITION_COUNT,
} fg_stanza_condition;

// fg_stanza_condition_name returns the element name of |c| (for example
// "remote-server-timeout"), or NULL when |c| is out of range.
const char *fg_stanza_condition_name(fg_stanza_condition c);

// fg_stanza_condition_from_name returns the condition named by the |len|
// bytes at |name|, or FG_STANZA_CONDITION_COUNT when there is none.
fg_stanza_condition fg_stanza_condition_from_name(const char *name, size_t len);

// fg_stanza_condition_default_type returns the error type RFC 6120 §8.3.3
// associates with |c| (the first one where it names two), or
// FG_STANZA_ERROR_TYPE_DEFAULT when |c| is out of range.
fg_stanza_error_type fg_stanza_condition_default_type(fg_stanza_condition c);

// fg_stanza_error_type_name returns "auth", "cancel", "continue", "modify" or
// "wait", or NULL for FG_STANZA_ERROR_TYPE_DEFAULT and out-of-range values.
const char *fg_stanza_error_type_name(fg_stanza_error_type t);

// fg_bounce_stanza describes the stanza that could not be delivered. Each
// string is |*_len| bytes, not necessarily NUL-terminated, exactly as the
// attribute value was parsed (unescaped); NULL means the attribute was absent.
typedef struct fg_bounce_stanza {
  fg_stanza_kind kind;
  const char *type;
  size_t type_len;
  const char *to;
  size_t to_len;
  const char *from;
  size_t from_len;
  const char *id;
  size_t id_len;
} fg_bounce_stanza;

// fg_bounce_verdict says whether a stanza may be bounced, and if not why (one
// counter each).
typedef enum fg_bounce_verdict {
  FG_BOUNCE_OK = 0,               // build the error stanza
  FG_BOUNCE_NOT_FOR_ERROR,        // type='error': RFC 6120 §8.3.1
  FG_BOUNCE_NOT_FOR_IQ_RESULT,    // iq type='result': RFC 6120 §8.2.3
  FG_BOUNCE_NOT_FOR_UNAVAILABLE,  // presence type='unavailable': policy above
  FG_BOUNCE_NO_ADDRESS,           // no 'from' (nobody to tell) or no 'to'
  FG_BOUNCE_BUFFER_TOO_SMALL,     // fg_bounce_build only: see |*out_len|
  FG_BOUNCE_BAD_ARGUMENT,         // unknown kind, condition or error type
} fg_bounce_verdict;

// fg_bounce_verdict_name returns a short lowercase name for |v|
// ("ok", "error-stanza", "iq-result", "presence-unavailable", "no-address",
// "buffer-too-small", "bad-argument"), for logs and counter labels.
const char *fg_bounce_verdict_name(fg_bounce_verdict v);

// fg_bounce_check returns FG_BOUNCE_OK when |in| may be answered with an error
// stanza, or the reason it must not be.
fg_bounce_verdict fg_bounce_check(const fg_bounce_stanza *in);

// fg_bounce_build writes to |out| (capacity |max_out|) the error stanza
// answering |in| with condition |cond| (RFC 6120 §8.3.2):
//
//   <KIND from='IN.to' to='IN.from' type='error' [id='IN.id']>
//     <error type='TYPE' [by='BY']><COND xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
//     [<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>TEXT</text>]</error></KIND>
//
// on one line, with 'to' and 'from' swapped and every attribute value and the
// text escaped. |type| FG_STANZA_ERROR_TYPE_DEFAULT takes the condition's
// §8.3.3 type. |by| and |text| (NUL-terminated) are optional. It sets
// |*out_len| to the stanza's length (also on FG_BOUNCE_BUFFER_TOO_SMALL, so the
// caller can retry with that much room) and returns FG_BOUNCE_OK, or the
// verdict of fg_bounce_check, FG_BOUNCE_BUFFER_TOO_SMALL or
// FG_BOUNCE_BAD_ARGUMENT without writing a partial stanza the caller could
// mistake for a complete one. It does not allocate.
fg_bounce_verdict fg_bounce_build(uint8_t *out, size_t *out_len, size_t max_out,
                                  const fg_bounce_stanza *in, fg_stanza_condition cond,
                                  fg_stanza_error_type type, const char *by, const char *text);

#endif  // FEDGATE_GATEWAY_BOUNCE_H
