// xml_parser.c: streaming parser for XMPP streams (RFC 6120 §4, §11): the
// public API of gateway/xml/xml_parser.h, and the outer loop that cuts the input
// into items and keeps the bytes of an item that straddles chunks.
//
// Design. Bytes outside top-level elements (whitespace keepalives) are skipped
// in place. Each "item" (the prolog plus stream header, or one top-level
// element with any stray character data before it) is tokenised by a byte
// state machine over one contiguous view of the item's bytes: the caller's
// buffer while the item lies inside one chunk (zero copy), else an internal
// buffer that grows up to the element size limit. Tokens that need a few
// bytes of lookahead (UTF-8 sequences, references, `]]>`, `<!--`) wait at
// their first byte for more input; everything longer (names, attribute values,
// text) is resumed where it stopped, so no byte is scanned more than a
// constant number of times. Strings are recorded as tagged offsets (item
// bytes, decoded-text arena, stored header) and turned into pointers once per
// element. All arrays are reused between elements.
//
// The parts, one job per file: xml_tokenizer.c is the byte state machine (its
// hot loops in xml_scan.h), xml_namespaces.c resolves prefixes, xml_tree.c
// links the nodes and builds the public views, and xml_state.h
// holds the state they share.
#include "gateway/xml/xml_parser.h"
#include "gateway/xml/xml_state.h"
#include "gateway/xml/xml_scan.h"
#include "gateway/xml/xml_tokenizer.h"
#include "gateway/xml/xml_tree.h"

#include <stdlib.h>
#include <string.h>

// How much of a straddling element is copied per step: small enough that
// little is copied past the element's end, large enough to amortise.
#define COPY_BLOCK 512

const char *fg_xml_error_condition(fg_xml_error err) {
  switch (err) {
    case FG_XML_ERR_NONE:
      return "none";
    case FG_XML_ERR_BAD_FORMAT:
      return "bad-format";
    case FG_XML_ERR_BAD_NAMESPACE_PREFIX:
      return "bad-namespace-prefix";
    case FG_XML_ERR_INVALID_NAMESPACE:
      return "invalid-namespace";
    case FG_XML_ERR_INVALID_XML:
      return "invalid-xml";
    case FG_XML_ERR_NOT_WELL_FORMED:
      return "not-well-formed";
    case FG_XML_ERR_POLICY_VIOLATION:
      return "policy-violation";
    case FG_XML_ERR_RESOURCE_CONSTRAINT:
      return "resource-constraint";
    case FG_XML_ERR_RESTRICTED_XML:
      return "restricted-xml";
    case FG_XML_ERR_UNSUPPORTED_ENCODING:
      return "unsupported-encoding";
    case FG_XML_ERR_UNSUPPORTED_VERSION:
      return "unsupported-version";
  }
  return "undefined-condition";
}

void fg_xml_limits_default(fg_xml_limits *lim) {
  lim->max_element_bytes_preauth = 16384;
  lim->max_element_bytes_postauth = 512 * 1024;
  lim->max_depth = 128;
  lim->max_attrs = 64;
  lim->max_name_len = 1024;
  lim->max_ns_decls = 64;
  lim->max_nodes = 16384;
}

void fg_xml_config_default(fg_xml_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  fg_xml_limits_default(&cfg->limits);
  cfg->content_ns = FG_XML_NS_SERVER;
}

// ---------------------------------------------------------------------------
// Items and the outer loop.

static int fail_at(fg_xml_parser *p, fg_xml_error e, uint64_t abs_off) {
  p->err = e;
  p->err_off = abs_off;
  p->outer = O_ERROR;
  return R_ERR;
}

static size_t item_limit(const fg_xml_parser *p) {
  size_t pre = p->cfg.limits.max_element_bytes_preauth;
  size_t post = p->cfg.limits.max_element_bytes_postauth;
  if (pre < 10000) pre = 10000;  // RFC 6120 §13.12
  if (post < 10000) post = 10000;
  if (p->item_kind == K_PROLOG || !p->authed) return pre;
  return post;
}

static void item_reset_storage(fg_xml_parser *p) {
  item_records_reset(p);
  p->buf_len = 0;
}

static void item_start(fg_xml_parser *p, int kind, int state, uint64_t off) {
  item_reset_storage(p);
  p->item_active = 1;
  p->item_kind = kind;
  p->direct = 1;
  p->item_off = off;
  p->state = state;
  p->i = 0;
  p->rb = 0;
  p->canon = CANON_ALL;
}

// item_feed runs the current item over |in| (whose first byte is the item's
// next byte) and returns R_*; |*used| is how many bytes of |in| it consumed.
static int item_feed(fg_xml_parser *p, const uint8_t *in, size_t len, size_t *used) {
  size_t lim = item_limit(p);
  if (p->direct) {
    p->base = in;
    p->n = len < lim ? len : lim;
    int r = fg_xml_tokenize(p);
    if (r == R_ERR) return r;
    if (r != R_NEED) {
      *used = p->i;
      return r;
    }
    if (len > lim) return fail(p, FG_XML_ERR_POLICY_VIOLATION, lim);
    // The item continues in the next chunk: keep its bytes.
    if (!grow((void **)&p->buf, &p->buf_cap, p->n ? p->n : 1, 1))
      return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, p->i);
    memcpy(p->buf, in, p->n);
    p->buf_len = p->n;
    p->base = p->buf;
    p->direct = 0;
    *used = len;
    return R_NEED;
  }
  size_t u = 0;
  while (u < len) {
    size_t room = lim > p->buf_len ? lim - p->buf_len : 0;
    if (room == 0) return fail(p, FG_XML_ERR_POLICY_VIOLATION, lim);
    // Copy in steps that grow with what is buffered: little is copied past
    // the element's end, and the total copy stays linear.
    size_t k = len - u, step = p->buf_len > COPY_BLOCK ? p->buf_len : COPY_BLOCK;
    if (k > step) k = step;
    if (k > room) k = room;
    if (!grow((void **)&p->buf, &p->buf_cap, p->buf_len + k, 1))
      return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, p->buf_len);
    size_t old = p->buf_len;
    memcpy(p->buf + old, in + u, k);
    p->buf_len += k;
    p->base = p->buf;
    p->n = p->buf_len;
    int r = fg_xml_tokenize(p);
    if (r == R_ERR) return r;
    if (r != R_NEED) {
      *used = u + (p->i - old);
      return r;
    }
    u += k;
  }
  *used = len;
  return R_NEED;
}

fg_xml_event fg_xml_parser_feed(fg_xml_parser *p, size_t *out_used, const uint8_t *in,
                                size_t in_len) {
  *out_used = 0;
  if (p->outer == O_ERROR) return FG_XML_EVENT_ERROR;
  if (p->pending_close) {
    p->pending_close = 0;
    p->outer = O_CLOSED;
    return FG_XML_EVENT_STREAM_CLOSE;
  }
  if (p->item_done) {
    item_reset_storage(p);
    p->item_done = 0;
    p->el._views_pending = NULL;
  }
  size_t u = 0;
  for (;;) {
    if (!p->item_active) {
      if (p->outer == O_PROLOG) {
        if (u >= in_len) break;
        item_start(p, K_PROLOG, S_PROLOG, p->off + u);
      } else {
        size_t w = u;
        while (w < in_len && is_ws(in[w])) w++;
        if (p->outer == O_CLOSED) {
          if (w < in_len) {
            *out_used = w;
            fail_at(p, FG_XML_ERR_NOT_WELL_FORMED, p->off + w);
            return FG_XML_EVENT_ERROR;
          }
          u = w;
          break;
        }
        if (w > u) {
          p->ka_bytes = w - u;
          p->ka_ws = 1;
          p->off += w;
          *out_used = w;
          return FG_XML_EVENT_KEEPALIVE;
        }
        if (u >= in_len) break;
        item_start(p, K_ELEMENT, S_CONTENT, p->off + u);
      }
    }
    if (u >= in_len) break;
    size_t used = 0;
    int r = item_feed(p, in + u, in_len - u, &used);
    if (r == R_ERR) {
      *out_used = u;
      return FG_XML_EVENT_ERROR;
    }
    u += used;
    if (r == R_NEED) break;
    p->item_active = 0;
    p->off += u;
    *out_used = u;
    if (r == R_OPEN) {
      p->outer = O_BETWEEN;
      item_reset_storage(p);
      return FG_XML_EVENT_STREAM_OPEN;
    }
    if (r == R_CLOSE) {
      p->outer = O_CLOSED;
      item_reset_storage(p);
      return FG_XML_EVENT_STREAM_CLOSE;
    }
    if (!fg_xml_tree_build_element(p)) {
      fail_at(p, FG_XML_ERR_RESOURCE_CONSTRAINT, p->off);
      return FG_XML_EVENT_ERROR;
    }
    p->item_done = 1;
    return FG_XML_EVENT_ELEMENT;
  }
  p->off += u;
  *out_used = u;
  return FG_XML_EVENT_NEED_MORE;
}

// ---------------------------------------------------------------------------
// Lifecycle and accessors.

fg_xml_parser *fg_xml_parser_new(const fg_xml_config *cfg) {
  fg_xml_scan_init();
  fg_xml_parser *p = calloc(1, sizeof(*p));
  if (p == NULL) return NULL;
  if (cfg != NULL)
    p->cfg = *cfg;
  else
    fg_xml_config_default(&p->cfg);
  if (p->cfg.content_ns == NULL) p->cfg.content_ns = FG_XML_NS_SERVER;
  if (p->cfg.limits.max_depth == 0) p->cfg.limits.max_depth = 1;
  if (p->cfg.limits.max_nodes == 0) p->cfg.limits.max_nodes = 1;
  if (p->cfg.limits.max_name_len == 0) p->cfg.limits.max_name_len = 1;
  fg_xml_parser_reset(p);
  return p;
}

void fg_xml_parser_free(fg_xml_parser *p) {
  if (p == NULL) return;
  free(p->buf);
  free(p->nodes);
  free(p->attrs);
  free(p->binds);
  free(p->open);
  free(p->arena);
  free(p->hdr);
  free(p->hdr_decls);
  free(p->hdr_attrs);
  free(p->pn);
  free(p->pa);
  free(p->pd);
  free(p);
}

void fg_xml_parser_trim(fg_xml_parser *p) {
  if (p->item_active || p->pending_close) return;
  item_reset_storage(p);
  free(p->buf);
  free(p->nodes);
  free(p->attrs);
  free(p->open);
  free(p->arena);
  free(p->pn);
  free(p->pa);
  free(p->pd);
  p->buf = p->arena = NULL;
  p->nodes = NULL;
  p->attrs = NULL;
  p->open = NULL;
  p->pn = NULL;
  p->pa = NULL;
  p->pd = NULL;
  p->buf_cap = p->arena_cap = p->pn_cap = p->pa_cap = p->pd_cap = 0;
  p->nodes_cap = p->attrs_cap = p->open_cap = 0;
  // Keep the stream header's namespace bindings only, at their exact size.
  if (p->binds_cap > p->nhdr_binds) {
    ibind *b = p->nhdr_binds ? realloc(p->binds, p->nhdr_binds * sizeof(ibind)) : NULL;
    if (p->nhdr_binds == 0) {
      free(p->binds);
      p->binds = NULL;
      p->binds_cap = 0;
    } else if (b != NULL) {
      p->binds = b;
      p->binds_cap = p->nhdr_binds;
    }
  }
  p->base = NULL;
  p->n = p->i = 0;
  p->item_done = 0;
  memset(&p->el, 0, sizeof(p->el));
}

void fg_xml_parser_reset(fg_xml_parser *p) {
  p->outer = O_PROLOG;
  p->pending_close = 0;
  p->item_active = 0;
  p->item_done = 0;
  p->off = 0;
  p->nhdr_binds = 0;
  p->hdr_dflt = kSpanEmpty;
  item_reset_storage(p);
  p->have_header = 0;
  p->has_xml_decl = 0;
  p->hdr_len = 0;
  p->err = FG_XML_ERR_NONE;
  p->err_off = 0;
  p->ka_bytes = 0;
  memset(&p->header, 0, sizeof(p->header));
}

int fg_xml_parser_pending(const fg_xml_parser *p) {
  return p->pending_close;
}

const fg_xml_stream_header *fg_xml_parser_header(const fg_xml_parser *p) {
  return p->have_header ? &p->header : NULL;
}

const fg_xml_element *fg_xml_parser_element(const fg_xml_parser *p) {
  return p->item_done ? fg_xml_element_full(&p->el) : NULL;
}

const fg_xml_element *fg_xml_parser_element_root(const fg_xml_parser *p) {
  return p->item_done ? &p->el : NULL;
}

size_t fg_xml_parser_keepalive_bytes(const fg_xml_parser *p, int *out_whitespace) {
  if (out_whitespace != NULL) *out_whitespace = p->ka_ws;
  return p->ka_bytes;
}

fg_xml_error fg_xml_parser_error(const fg_xml_parser *p, uint64_t *out_offset) {
  if (out_offset != NULL) *out_offset = p->err_off;
  return p->err;
}

uint64_t fg_xml_parser_offset(const fg_xml_parser *p) {
  return p->off;
}

void fg_xml_parser_set_authenticated(fg_xml_parser *p) {
  p->authed = 1;
}

const fg_xml_nsdecl *fg_xml_parser_context(const fg_xml_parser *p, size_t *out_len) {
  if (!p->have_header) {
    *out_len = 0;
    return NULL;
  }
  *out_len = p->header.num_decls;
  return p->header.decls;
}
