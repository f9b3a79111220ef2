// admin_request.c: request parsing and answers of the admin endpoint. It reads
// only what the endpoint needs (RFC 9112 §2-§6): the request line, the
// Content-Length header and the body; chunked bodies are refused.
#include "gateway/server/admin_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

// head_end returns the length of the head (through its blank line), or 0.
static size_t head_end(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (s[i] != '\n') continue;
    if (i + 1 < len && s[i + 1] == '\n') return i + 2;
    if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n') return i + 3;
  }
  return 0;
}

// header_value finds header |name| in the head and returns its value
// (leading blanks skipped) and length, or NULL.
static const char *header_value(const char *head, size_t len, const char *name, size_t *vlen) {
  size_t nlen = strlen(name);
  const char *line = memchr(head, '\n', len);
  while (line != NULL && (size_t)(line + 1 - head) < len) {
    line++;
    size_t rest = len - (size_t)(line - head);
    const char *eol = memchr(line, '\n', rest);
    size_t llen = eol ? (size_t)(eol - line) : rest;
    if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
      const char *v = line + nlen + 1;
      const char *end = line + llen;
      while (v < end && (*v == ' ' || *v == '\t')) v++;
      while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) end--;
      *vlen = (size_t)(end - v);
      return v;
    }
    line = eol;
  }
  return NULL;
}

fg_admin_parse_result fg_admin_request_parse(fg_admin_request *out, const uint8_t *in, size_t len) {
  const char *s = (const char *)in;
  memset(out, 0, sizeof(*out));
  size_t head = head_end(s, len < FG_ADMIN_MAX_HEAD ? len : FG_ADMIN_MAX_HEAD);
  if (head == 0) return len >= FG_ADMIN_MAX_HEAD ? FG_ADMIN_REQ_TOO_LARGE : FG_ADMIN_REQ_INCOMPLETE;
  // Request line: METHOD SP TARGET SP HTTP/1.x
  const char *sp1 = memchr(s, ' ', head);
  if (sp1 == NULL || sp1 == s || (size_t)(sp1 - s) >= sizeof(out->method)) return FG_ADMIN_REQ_BAD;
  const char *target = sp1 + 1;
  const char *eol = memchr(target, '\n', head - (size_t)(target - s));
  const char *sp2 = memchr(target, ' ', (size_t)(eol - target));
  if (sp2 == NULL || *target != '/' || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
    return FG_ADMIN_REQ_BAD;
  }
  for (const char *m = s; m < sp1; m++) {
    if (*m < 'A' || *m > 'Z') return FG_ADMIN_REQ_BAD;
  }
  memcpy(out->method, s, (size_t)(sp1 - s));
  const char *q = memchr(target, '?', (size_t)(sp2 - target));
  size_t plen = (size_t)((q ? q : sp2) - target);
  if (plen >= sizeof(out->path)) return FG_ADMIN_REQ_TOO_LARGE;
  memcpy(out->path, target, plen);
  size_t vlen = 0;
  if (header_value(s, head, "Transfer-Encoding", &vlen) != NULL) return FG_ADMIN_REQ_BAD;
  const char *cl = header_value(s, head, "Content-Length", &vlen);
  size_t body = 0;
  if (cl != NULL) {
    if (vlen == 0 || vlen > 9) return vlen > 9 ? FG_ADMIN_REQ_TOO_LARGE : FG_ADMIN_REQ_BAD;
    for (size_t i = 0; i < vlen; i++) {
      if (cl[i] < '0' || cl[i] > '9') return FG_ADMIN_REQ_BAD;
      body = body * 10 + (size_t)(cl[i] - '0');
    }
  }
  if (body > FG_ADMIN_MAX_BODY) return FG_ADMIN_REQ_TOO_LARGE;
  if (len - head < body) return FG_ADMIN_REQ_INCOMPLETE;
  out->body = s + head;
  out->body_len = body;
  return FG_ADMIN_REQ_OK;
}
