// http_response.h: an incremental HTTP/1.1 response parser (RFC 9112), pure:
// no sockets, no clock. Fed the bytes of one response in chunks of any size,
// it reads the status line and the header section, skips interim (1xx)
// responses, works out how the body is delimited (RFC 9112 §6.3: none,
// Content-Length, chunked, or the end of the connection), collects the body
// up to a cap and says whether the connection may carry another request.
//
// Everything is bounded: the header section (interim responses included) in
// bytes and in fields, each chunk-size line, the trailer section, the body.
// The result does not depend on how the input was cut into chunks: every
// decision is taken at a byte.
#ifndef FEDGATE_IO_HTTP_RESPONSE_H
#define FEDGATE_IO_HTTP_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

// fg_http_parse_status is the outcome of feeding bytes. Every value after
// FG_HTTP_PARSE_DONE is an error naming what was wrong; it is final.
typedef enum fg_http_parse_status {
  FG_HTTP_PARSE_NEED_MORE = 0,       // the response is not complete yet
  FG_HTTP_PARSE_DONE,                // a whole response has been read
  FG_HTTP_PARSE_BAD_STATUS_LINE,     // RFC 9112 §4: not "HTTP/1.x NNN reason"
  FG_HTTP_PARSE_BAD_VERSION,         // RFC 9112 §2.3: a major version other than 1
  FG_HTTP_PARSE_BAD_STATUS_CODE,     // RFC 9110 §15: not in 100..599
  FG_HTTP_PARSE_UNEXPECTED_UPGRADE,  // 101 without an Upgrade request
  FG_HTTP_PARSE_BAD_LINE_ENDING,     // RFC 9112 §2.2: a bare CR
  FG_HTTP_PARSE_BAD_FIELD,  // RFC 9112 §5: bad name, no colon, space before the colon, bad octet
  FG_HTTP_PARSE_OBS_FOLD,   // RFC 9112 §5.2: a line folded onto the previous one
  FG_HTTP_PARSE_HEADERS_TOO_LARGE,    // header section over max_header_bytes
  FG_HTTP_PARSE_TOO_MANY_FIELDS,      // more than max_fields field lines
  FG_HTTP_PARSE_BAD_CONTENT_LENGTH,   // RFC 9112 §6.3: not digits, or differing values
  FG_HTTP_PARSE_LENGTH_AND_CHUNKED,   // RFC 9112 §6.3: Transfer-Encoding and Content-Length both
  FG_HTTP_PARSE_BAD_TRANSFER_CODING,  // RFC 9112 §6.1: a coding other than chunked, or in HTTP/1.0
  FG_HTTP_PARSE_BAD_CHUNK_SIZE,       // RFC 9112 §7.1: not hex, empty, or overflowing
  FG_HTTP_PARSE_BAD_CHUNK,            // RFC 9112 §7.1: chunk data not followed by CRLF
  FG_HTTP_PARSE_CHUNK_LINE_TOO_LONG,  // a chunk-size line (extensions included) over the bound
  FG_HTTP_PARSE_TRAILERS_TOO_LARGE,   // trailer section over max_header_bytes
  FG_HTTP_PARSE_BODY_TOO_LARGE,       // the body is longer than max_body
  FG_HTTP_PARSE_TRUNCATED,            // the connection ended before the response did
} fg_http_parse_status;

// fg_http_parse_status_name returns a short lowercase name for |s|
// ("bad-chunk-size").
const char *fg_http_parse_status_name(fg_http_parse_status s);

// fg_http_response_limits bounds one response. Zero fields take the defaults.
typedef struct fg_http_response_limits {
  size_t max_header_bytes;  // status lines and fields, interim responses included (16 KiB)
  size_t max_fields;        // field lines of the final response (64)
  size_t max_body;          // body bytes after removing the chunked coding (1 MiB)
} fg_http_response_limits;

typedef struct fg_http_field {
  size_t name_off, name_len, value_off, value_len;  // into the parser's header buffer
} fg_http_field;

// fg_http_response is one response being parsed. Caller-owned: init, feed,
// read the accessors, cleanup. Fields are private.
typedef struct fg_http_response {
  fg_http_response_limits lim_;
  int head_;  // the request was HEAD: no body whatever the fields say
  int state_;
  fg_http_parse_status status_;
  // Header section of the response being read (interim ones are dropped).
  uint8_t *hbuf_;
  size_t hlen_, line_start_, head_total_;
  fg_http_field *fields_;
  size_t nfields_;
  int code_, minor_, cr_;
  // Framing, decided at the end of the header section.
  int chunked_, until_close_, keep_alive_;
  uint64_t remaining_;  // of Content-Length or of the current chunk
  size_t chunk_line_, trailer_bytes_, chunk_digits_;
  uint8_t *body_;
  size_t body_len_, body_cap_;
  uint64_t consumed_;
} fg_http_response;

// fg_http_response_init prepares |r| for one response under |lim| (NULL: the
// defaults). |head| is 1 when the request was HEAD (RFC 9112 §6.3: no body).
void fg_http_response_init(fg_http_response *r, const fg_http_response_limits *lim, int head);

// fg_http_response_cleanup frees what |r| holds; |r| may be initialised again.
void fg_http_response_cleanup(fg_http_response *r);

// fg_http_response_feed parses |in_len| bytes of |in| and sets |*consumed| to
// how many belong to the response. It returns NEED_MORE (all consumed),
// DONE (the response ends at |*consumed|; the bytes after it are not part of
// it) or an error. Once DONE or an error, further calls return the same and
// consume nothing.
fg_http_parse_status fg_http_response_feed(fg_http_response *r, const uint8_t *in, size_t in_len,
                                           size_t *consumed);

// fg_http_response_finish tells |r| the connection ended. A body delimited by
// the end of the connection is then complete (DONE); anything else still in
// progress is TRUNCATED. A finished or failed response keeps its status.
fg_http_parse_status fg_http_response_finish(fg_http_response *r);

// fg_http_response_result returns the status that feed or finish last
// returned.
fg_http_parse_status fg_http_response_result(const fg_http_response *r);

// fg_http_response_code returns the final status code (100..599), or 0 before
// the final response's status line.
int fg_http_response_code(const fg_http_response *r);

// fg_http_response_bytes returns how many bytes the parser has consumed,
// interim responses included.
uint64_t fg_http_response_bytes(const fg_http_response *r);

// fg_http_response_field returns the value of the first field named |name|
// (case-insensitive, RFC 9110 §5.1) with leading and trailing whitespace
// removed, and its length in |*len|, or NULL. Valid until cleanup.
const char *fg_http_response_field(const fg_http_response *r, const char *name, size_t *len);

// fg_http_response_num_fields returns the number of field lines of the final
// response read so far.
size_t fg_http_response_num_fields(const fg_http_response *r);

// fg_http_response_body returns the body read so far (after DONE: all of it)
// and its length in |*len|. Valid until cleanup.
const uint8_t *fg_http_response_body(const fg_http_response *r, size_t *len);

// fg_http_response_keep_alive returns 1 when, after DONE, the connection may
// carry another request (RFC 9112 §9.3: HTTP/1.1 without "close", HTTP/1.0
// with "keep-alive", and the body was not delimited by the connection's end).
int fg_http_response_keep_alive(const fg_http_response *r);

#endif  // FEDGATE_IO_HTTP_RESPONSE_H
