// http_response.c: the incremental HTTP/1.1 response parser. See
// http_response.h for the contract.
//
// Shape: a byte-driven state machine. Status and field lines are copied into
// one header buffer (bounded by max_header_bytes, which also bounds the
// interim responses skipped before the final one) and interpreted when their
// LF arrives; the framing is decided once, at the empty line ending the
// header section (RFC 9112 §6.3). Body bytes are copied in runs, but every
// bound is checked at the byte that crosses it, so the outcome is the same
// however the input is cut.
#include "io/http_response.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_HEADER_BYTES 16384
#define DEFAULT_MAX_FIELDS 64
#define DEFAULT_MAX_BODY (1024 * 1024)
#define MAX_CHUNK_LINE 4096  // chunk size plus ignored extensions

enum {
  ST_STATUS_LINE,
  ST_FIELD_LINE,
  ST_BODY_LENGTH,
  ST_BODY_CLOSE,
  ST_CHUNK_SIZE,
  ST_CHUNK_EXT,
  ST_CHUNK_DATA,
  ST_CHUNK_DATA_END,
  ST_TRAILER,
  ST_FINISHED,  // DONE or an error: status_ says which
};

const char *fg_http_parse_status_name(fg_http_parse_status s) {
  static const char *const kNames[] = {
      "need-more",
      "done",
      "bad-status-line",
      "bad-version",
      "bad-status-code",
      "unexpected-101",
      "bad-line-ending",
      "bad-field",
      "obs-fold",
      "headers-too-large",
      "too-many-fields",
      "bad-content-length",
      "length-and-chunked",
      "bad-transfer-coding",
      "bad-chunk-size",
      "bad-chunk",
      "chunk-line-too-long",
      "trailers-too-large",
      "body-too-large",
      "truncated",
  };
  if ((size_t)s >= sizeof(kNames) / sizeof(kNames[0])) return "unknown";
  return kNames[s];
}

void fg_http_response_init(fg_http_response *r, const fg_http_response_limits *lim, int head) {
  memset(r, 0, sizeof(*r));
  if (lim != NULL) r->lim_ = *lim;
  if (r->lim_.max_header_bytes == 0) r->lim_.max_header_bytes = DEFAULT_MAX_HEADER_BYTES;
  if (r->lim_.max_fields == 0) r->lim_.max_fields = DEFAULT_MAX_FIELDS;
  if (r->lim_.max_body == 0) r->lim_.max_body = DEFAULT_MAX_BODY;
  r->head_ = head;
  r->state_ = ST_STATUS_LINE;
  r->status_ = FG_HTTP_PARSE_NEED_MORE;
}

void fg_http_response_cleanup(fg_http_response *r) {
  free(r->hbuf_);
  free(r->fields_);
  free(r->body_);
  memset(r, 0, sizeof(*r));
}

static fg_http_parse_status finish_with(fg_http_response *r, fg_http_parse_status s) {
  r->state_ = ST_FINISHED;
  r->status_ = s;
  return s;
}

static int lower(int c) {
  return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ieq(const uint8_t *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  if (alen != blen) return 0;
  for (size_t i = 0; i < alen; i++) {
    if (lower(a[i]) != lower((uint8_t)b[i])) return 0;
  }
  return 1;
}

// RFC 9110 §5.6.2: tchar.
static int is_tchar(uint8_t c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

// RFC 9110 §5.5: field-vchar, SP and HTAB (obs-text allowed).
static int is_field_octet(uint8_t c) {
  return c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7f);
}

static int is_ows(uint8_t c) {
  return c == ' ' || c == '\t';
}

// status_line reads RFC 9112 §4: HTTP-version SP 3DIGIT SP [reason-phrase].
// A missing SP after the code is tolerated (the reason is ignored anyway).
static fg_http_parse_status status_line(fg_http_response *r, const uint8_t *l, size_t n) {
  if (n < 12 || memcmp(l, "HTTP/", 5) != 0) return FG_HTTP_PARSE_BAD_STATUS_LINE;
  if (l[5] < '0' || l[5] > '9' || l[6] != '.' || l[7] < '0' || l[7] > '9' || l[8] != ' ') {
    return FG_HTTP_PARSE_BAD_STATUS_LINE;
  }
  if (l[5] != '1') return FG_HTTP_PARSE_BAD_VERSION;
  // RFC 9110 §2.5: a higher minor version is treated as the highest we know.
  r->minor_ = l[7] == '0' ? 0 : 1;
  int code = 0;
  for (size_t i = 9; i < 12; i++) {
    if (l[i] < '0' || l[i] > '9') return FG_HTTP_PARSE_BAD_STATUS_LINE;
    code = code * 10 + (l[i] - '0');
  }
  if (n > 12 && l[12] != ' ') return FG_HTTP_PARSE_BAD_STATUS_LINE;
  for (size_t i = 13; i < n; i++) {
    if (!is_field_octet(l[i])) return FG_HTTP_PARSE_BAD_STATUS_LINE;
  }
  if (code < 100 || code > 599) return FG_HTTP_PARSE_BAD_STATUS_CODE;
  r->code_ = code;
  return FG_HTTP_PARSE_NEED_MORE;
}

// field_line reads RFC 9112 §5: field-name ":" OWS field-value OWS.
static fg_http_parse_status field_line(fg_http_response *r, size_t off, size_t n) {
  const uint8_t *l = r->hbuf_ + off;
  if (is_ows(l[0])) return FG_HTTP_PARSE_OBS_FOLD;
  size_t colon = 0;
  while (colon < n && l[colon] != ':') {
    // RFC 9112 §5.1: no whitespace between the name and the colon.
    if (!is_tchar(l[colon])) return FG_HTTP_PARSE_BAD_FIELD;
    colon++;
  }
  if (colon == 0 || colon == n) return FG_HTTP_PARSE_BAD_FIELD;
  size_t vs = colon + 1, ve = n;
  while (vs < ve && is_ows(l[vs])) vs++;
  while (ve > vs && is_ows(l[ve - 1])) ve--;
  for (size_t i = vs; i < ve; i++) {
    if (!is_field_octet(l[i])) return FG_HTTP_PARSE_BAD_FIELD;
  }
  if (r->nfields_ >= r->lim_.max_fields) return FG_HTTP_PARSE_TOO_MANY_FIELDS;
  if (r->fields_ == NULL) {
    r->fields_ = malloc(r->lim_.max_fields * sizeof(fg_http_field));
    if (r->fields_ == NULL) abort();  // out of memory is the only fatal error
  }
  r->fields_[r->nfields_++] = (fg_http_field){
      .name_off = off, .name_len = colon, .value_off = off + vs, .value_len = ve - vs};
  return FG_HTTP_PARSE_NEED_MORE;
}

// list_iter walks the elements of every field named |name| as one
// comma-separated list (RFC 9110 §5.3: repeated field lines combine, §5.6.1:
// elements are whitespace trimmed). Empty elements are returned too.
typedef struct list_iter {
  const fg_http_response *r;
  const char *name;
  size_t field, pos;
} list_iter;

static int list_iter_next(list_iter *it, const uint8_t **elem, size_t *len) {
  const fg_http_response *r = it->r;
  for (; it->field < r->nfields_; it->field++, it->pos = 0) {
    const fg_http_field *f = &r->fields_[it->field];
    if (it->pos > f->value_len || !ieq(r->hbuf_ + f->name_off, f->name_len, it->name)) continue;
    const uint8_t *v = r->hbuf_ + f->value_off;
    size_t s = it->pos, e = s;
    while (e < f->value_len && v[e] != ',') e++;
    it->pos = e + 1;
    while (s < e && is_ows(v[s])) s++;
    while (e > s && is_ows(v[e - 1])) e--;
    *elem = v + s;
    *len = e - s;
    return 1;
  }
  return 0;
}

// content_length reads every Content-Length element: each must be digits,
// and all must agree (RFC 9110 §8.6). Values beyond 2^64-1 saturate.
static fg_http_parse_status content_length(const fg_http_response *r, int *present, uint64_t *out) {
  list_iter it = {.r = r, .name = "content-length"};
  const uint8_t *e;
  size_t el;
  *present = 0;
  while (list_iter_next(&it, &e, &el)) {
    if (el == 0) return FG_HTTP_PARSE_BAD_CONTENT_LENGTH;
    uint64_t x = 0;
    for (size_t k = 0; k < el; k++) {
      if (e[k] < '0' || e[k] > '9') return FG_HTTP_PARSE_BAD_CONTENT_LENGTH;
      uint64_t d = (uint64_t)(e[k] - '0');
      x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
    }
    if (*present && x != *out) return FG_HTTP_PARSE_BAD_CONTENT_LENGTH;
    *present = 1;
    *out = x;
  }
  return FG_HTTP_PARSE_NEED_MORE;
}

// transfer_coding sets |*present| when Transfer-Encoding was sent; it returns
// an error unless the codings are exactly "chunked": only chunked is decoded
// here, and without it last the body could not be delimited (RFC 9112 §6.3).
static fg_http_parse_status transfer_coding(const fg_http_response *r, int *present) {
  list_iter it = {.r = r, .name = "transfer-encoding"};
  const uint8_t *e;
  size_t el, n = 0;
  *present = 0;
  while (list_iter_next(&it, &e, &el)) {
    *present = 1;
    if (el == 0) continue;
    if (!ieq(e, el, "chunked")) return FG_HTTP_PARSE_BAD_TRANSFER_CODING;
    n++;
  }
  if (*present && n != 1) return FG_HTTP_PARSE_BAD_TRANSFER_CODING;
  return FG_HTTP_PARSE_NEED_MORE;
}

// connection_tokens reports the "close" and "keep-alive" options (RFC 9112 §9.3).
static void connection_tokens(const fg_http_response *r, int *close, int *keep) {
  list_iter it = {.r = r, .name = "connection"};
  const uint8_t *e;
  size_t el;
  *close = *keep = 0;
  while (list_iter_next(&it, &e, &el)) {
    if (ieq(e, el, "close")) *close = 1;
    if (ieq(e, el, "keep-alive")) *keep = 1;
  }
}

static void body_reserve(fg_http_response *r, uint64_t need) {
  if (need <= r->body_cap_) return;
  uint64_t cap = r->body_cap_ ? r->body_cap_ : 1024;
  while (cap < need) cap *= 2;
  if (cap > r->lim_.max_body) cap = r->lim_.max_body;
  if (cap < need) cap = need;
  uint8_t *b = realloc(r->body_, (size_t)cap);
  if (b == NULL) abort();  // out of memory is the only fatal error
  r->body_ = b;
  r->body_cap_ = (size_t)cap;
}

// end_of_header_section decides the framing of the body (RFC 9112 §6.3).
static fg_http_parse_status end_of_header_section(fg_http_response *r) {
  if (r->code_ < 200) {
    // RFC 9110 §15.2: interim responses precede the final one. We never ask
    // to switch protocols, so a 101 is an error.
    if (r->code_ == 101) return FG_HTTP_PARSE_UNEXPECTED_UPGRADE;
    r->hlen_ = r->line_start_ = r->nfields_ = 0;
    r->code_ = 0;
    r->state_ = ST_STATUS_LINE;
    return FG_HTTP_PARSE_NEED_MORE;
  }
  int close, keep;
  connection_tokens(r, &close, &keep);
  r->keep_alive_ = !close && (r->minor_ == 1 || keep);
  // §6.3 (1): HEAD, 204 and 304 end with their header section.
  if (r->head_ || r->code_ == 204 || r->code_ == 304) return FG_HTTP_PARSE_DONE;
  int te, has_cl;
  uint64_t cl = 0;
  fg_http_parse_status s = transfer_coding(r, &te);
  if (s != FG_HTTP_PARSE_NEED_MORE) return s;
  s = content_length(r, &has_cl, &cl);
  if (s != FG_HTTP_PARSE_NEED_MORE) return s;
  if (te) {
    // §6.1: Transfer-Encoding in an HTTP/1.0 message is faulty framing.
    if (r->minor_ == 0) return FG_HTTP_PARSE_BAD_TRANSFER_CODING;
    // §6.3 (3): both present smells of request smuggling; never guess.
    if (has_cl) return FG_HTTP_PARSE_LENGTH_AND_CHUNKED;
    r->chunked_ = 1;
    r->state_ = ST_CHUNK_SIZE;
    return FG_HTTP_PARSE_NEED_MORE;
  }
  if (has_cl) {
    if (cl > r->lim_.max_body) return FG_HTTP_PARSE_BODY_TOO_LARGE;
    if (cl == 0) return FG_HTTP_PARSE_DONE;
    body_reserve(r, cl);
    r->remaining_ = cl;
    r->state_ = ST_BODY_LENGTH;
    return FG_HTTP_PARSE_NEED_MORE;
  }
  // §6.3 (8): the body runs until the server closes the connection.
  r->until_close_ = 1;
  r->keep_alive_ = 0;
  r->state_ = ST_BODY_CLOSE;
  return FG_HTTP_PARSE_NEED_MORE;
}

// header_byte takes one byte of the status line or field lines.
static fg_http_parse_status header_byte(fg_http_response *r, uint8_t c) {
  if (++r->head_total_ > r->lim_.max_header_bytes) return FG_HTTP_PARSE_HEADERS_TOO_LARGE;
  if (r->hbuf_ == NULL) {
    r->hbuf_ = malloc(r->lim_.max_header_bytes);
    if (r->hbuf_ == NULL) abort();  // out of memory is the only fatal error
  }
  if (r->cr_ && c != '\n') return FG_HTTP_PARSE_BAD_LINE_ENDING;
  if (c == '\r') {
    r->cr_ = 1;
    return FG_HTTP_PARSE_NEED_MORE;
  }
  if (c != '\n') {
    r->hbuf_[r->hlen_++] = c;
    return FG_HTTP_PARSE_NEED_MORE;
  }
  // RFC 9112 §2.2: LF ends a line; a CR before it is dropped.
  r->cr_ = 0;
  size_t off = r->line_start_, n = r->hlen_ - off;
  r->line_start_ = r->hlen_;
  if (r->state_ == ST_STATUS_LINE) {
    fg_http_parse_status s = status_line(r, r->hbuf_ + off, n);
    if (s == FG_HTTP_PARSE_NEED_MORE) r->state_ = ST_FIELD_LINE;
    return s;
  }
  if (n == 0) return end_of_header_section(r);
  return field_line(r, off, n);
}

// line_end handles CR LF (or a lone LF) ending a chunk line; it returns 1 at
// the LF, 0 for the CR, -1 for a bare CR.
static int line_end(fg_http_response *r, uint8_t c) {
  if (r->cr_ && c != '\n') return -1;
  if (c == '\r') {
    r->cr_ = 1;
    return 0;
  }
  r->cr_ = 0;
  return 1;
}

static int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// chunk_line_done starts the chunk whose size was just read.
static fg_http_parse_status chunk_line_done(fg_http_response *r) {
  if (r->chunk_digits_ == 0) return FG_HTTP_PARSE_BAD_CHUNK_SIZE;
  r->chunk_line_ = r->chunk_digits_ = 0;
  if (r->remaining_ == 0) {
    r->state_ = ST_TRAILER;  // last-chunk: the trailer section follows
    return FG_HTTP_PARSE_NEED_MORE;
  }
  if (r->remaining_ > r->lim_.max_body - r->body_len_) return FG_HTTP_PARSE_BODY_TOO_LARGE;
  body_reserve(r, r->body_len_ + r->remaining_);
  r->state_ = ST_CHUNK_DATA;
  return FG_HTTP_PARSE_NEED_MORE;
}

// chunk_byte takes one byte of a chunk-size line (RFC 9112 §7.1:
// chunk-size [chunk-ext] CRLF; extensions are ignored).
static fg_http_parse_status chunk_byte(fg_http_response *r, uint8_t c) {
  if (++r->chunk_line_ > MAX_CHUNK_LINE) return FG_HTTP_PARSE_CHUNK_LINE_TOO_LONG;
  if (c == '\r' || c == '\n' || r->cr_) {
    int e = line_end(r, c);
    if (e < 0) return FG_HTTP_PARSE_BAD_LINE_ENDING;
    return e == 0 ? FG_HTTP_PARSE_NEED_MORE : chunk_line_done(r);
  }
  if (r->state_ == ST_CHUNK_EXT) {
    return is_field_octet(c) ? FG_HTTP_PARSE_NEED_MORE : FG_HTTP_PARSE_BAD_CHUNK;
  }
  int v = hex_value(c);
  if (v >= 0) {
    if (r->remaining_ > (UINT64_MAX >> 4)) return FG_HTTP_PARSE_BAD_CHUNK_SIZE;
    r->remaining_ = r->remaining_ << 4 | (uint64_t)v;
    r->chunk_digits_++;
    return FG_HTTP_PARSE_NEED_MORE;
  }
  // BWS before ";" (RFC 9112 §7.1.1) or the extension itself.
  if ((c == ';' || is_ows(c)) && r->chunk_digits_ > 0) {
    r->state_ = ST_CHUNK_EXT;
    return FG_HTTP_PARSE_NEED_MORE;
  }
  return FG_HTTP_PARSE_BAD_CHUNK_SIZE;
}

// trailer_byte skips the trailer section (RFC 9112 §7.1.2), bounded.
static fg_http_parse_status trailer_byte(fg_http_response *r, uint8_t c) {
  if (++r->trailer_bytes_ > r->lim_.max_header_bytes) return FG_HTTP_PARSE_TRAILERS_TOO_LARGE;
  if (c == '\r' || c == '\n' || r->cr_) {
    int e = line_end(r, c);
    if (e < 0) return FG_HTTP_PARSE_BAD_LINE_ENDING;
    if (e == 0) return FG_HTTP_PARSE_NEED_MORE;
    if (r->chunk_line_ == 0) return FG_HTTP_PARSE_DONE;
    r->chunk_line_ = 0;
    return FG_HTTP_PARSE_NEED_MORE;
  }
  if (!is_field_octet(c)) return FG_HTTP_PARSE_BAD_FIELD;
  r->chunk_line_++;
  return FG_HTTP_PARSE_NEED_MORE;
}

static void body_append(fg_http_response *r, const uint8_t *in, size_t n) {
  body_reserve(r, r->body_len_ + n);
  memcpy(r->body_ + r->body_len_, in, n);
  r->body_len_ += n;
}

// chunk_end_byte takes the CRLF after a chunk's data (RFC 9112 §7.1).
static fg_http_parse_status chunk_end_byte(fg_http_response *r, uint8_t c) {
  int e = line_end(r, c);
  if (e < 0 || (e == 1 && c != '\n')) return FG_HTTP_PARSE_BAD_CHUNK;
  if (e == 1) r->state_ = ST_CHUNK_SIZE;
  return FG_HTTP_PARSE_NEED_MORE;
}

// one_byte takes a byte in the states that read lines byte by byte.
static fg_http_parse_status one_byte(fg_http_response *r, uint8_t c) {
  if (r->state_ == ST_STATUS_LINE || r->state_ == ST_FIELD_LINE) return header_byte(r, c);
  if (r->state_ == ST_CHUNK_SIZE || r->state_ == ST_CHUNK_EXT) return chunk_byte(r, c);
  if (r->state_ == ST_CHUNK_DATA_END) return chunk_end_byte(r, c);
  return trailer_byte(r, c);
}

// take_counted appends up to |remaining_| of the |avail| bytes at |in| to the
// body (a Content-Length body or one chunk's data) and returns how many.
static size_t take_counted(fg_http_response *r, const uint8_t *in, size_t avail) {
  size_t n = avail < r->remaining_ ? avail : (size_t)r->remaining_;
  body_append(r, in, n);
  r->remaining_ -= n;
  return n;
}

fg_http_parse_status fg_http_response_feed(fg_http_response *r, const uint8_t *in, size_t in_len,
                                           size_t *consumed) {
  size_t i = 0;
  fg_http_parse_status s = FG_HTTP_PARSE_NEED_MORE;
  while (i < in_len && r->state_ != ST_FINISHED) {
    size_t avail = in_len - i;
    switch (r->state_) {
      case ST_BODY_LENGTH:
        i += take_counted(r, in + i, avail);
        if (r->remaining_ == 0) s = FG_HTTP_PARSE_DONE;
        break;
      case ST_CHUNK_DATA:
        i += take_counted(r, in + i, avail);
        if (r->remaining_ == 0) r->state_ = ST_CHUNK_DATA_END;
        break;
      case ST_BODY_CLOSE: {
        size_t room = r->lim_.max_body - r->body_len_;
        size_t n = avail < room ? avail : room;
        body_append(r, in + i, n);
        i += n;
        if (n < avail) {
          i++;  // the first byte beyond the cap
          s = FG_HTTP_PARSE_BODY_TOO_LARGE;
        }
        break;
      }
      default:
        s = one_byte(r, in[i++]);
        break;
    }
    if (s != FG_HTTP_PARSE_NEED_MORE) finish_with(r, s);
  }
  r->consumed_ += i;
  *consumed = i;
  return r->status_;
}

fg_http_parse_status fg_http_response_finish(fg_http_response *r) {
  if (r->state_ == ST_FINISHED) return r->status_;
  if (r->state_ == ST_BODY_CLOSE) return finish_with(r, FG_HTTP_PARSE_DONE);
  return finish_with(r, FG_HTTP_PARSE_TRUNCATED);
}

fg_http_parse_status fg_http_response_result(const fg_http_response *r) {
  return r->status_;
}

int fg_http_response_code(const fg_http_response *r) {
  return r->state_ == ST_STATUS_LINE ? 0 : r->code_;
}

uint64_t fg_http_response_bytes(const fg_http_response *r) {
  return r->consumed_;
}

const char *fg_http_response_field(const fg_http_response *r, const char *name, size_t *len) {
  for (size_t i = 0; i < r->nfields_; i++) {
    const fg_http_field *f = &r->fields_[i];
    if (!ieq(r->hbuf_ + f->name_off, f->name_len, name)) continue;
    *len = f->value_len;
    return (const char *)r->hbuf_ + f->value_off;
  }
  *len = 0;
  return NULL;
}

size_t fg_http_response_num_fields(const fg_http_response *r) {
  return r->nfields_;
}

const uint8_t *fg_http_response_body(const fg_http_response *r, size_t *len) {
  *len = r->body_len_;
  return r->body_;
}

int fg_http_response_keep_alive(const fg_http_response *r) {
  return r->status_ == FG_HTTP_PARSE_DONE && r->keep_alive_ && !r->until_close_;
}
