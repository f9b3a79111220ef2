// xml_transcript.c: see xml_transcript.h.
#include "tests/gateway/xml/xml_transcript.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/xml/xml_serializer.h"

static int append(char **buf, size_t *len, size_t *cap, const void *d, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t c = *cap ? *cap : 1024;
    while (c < *len + n + 1) c *= 2;
    char *q = realloc(*buf, c);
    if (q == NULL) return 0;
    *buf = q;
    *cap = c;
  }
  if (n) memcpy(*buf + *len, d, n);
  *len += n;
  (*buf)[*len] = 0;
  return 1;
}

static int ev_line(fg_xml_transcript *t, const char *tag, const uint8_t *d, size_t n) {
  return append(&t->events, &t->events_len, &t->events_cap, tag, 2) &&
         append(&t->events, &t->events_len, &t->events_cap, d, n) &&
         append(&t->events, &t->events_len, &t->events_cap, "\n", 1);
}

static int str_same(fg_xml_str a, fg_xml_str b) {
  return a.data == b.data && a.len == b.len;
}

// check_root_view reads the element of the last event by its root view
// (fg_xml_parser_element_root) and then whole (fg_xml_parser_element), and
// counts in t->root_view_mismatch a root view that links attributes or
// children (of a parser with |root_views|), or that building the other views
// moves or changes.
static void check_root_view(fg_xml_transcript *t, fg_xml_parser *p, int root_views) {
  const fg_xml_element *rv = fg_xml_parser_element_root(p);
  const fg_xml_element e = *rv;
  const fg_xml_node r = *rv->root;
  int bad = r.parent != NULL || r.next != NULL || r.type != FG_XML_NODE_ELEMENT || e.num_nodes == 0;
  if (root_views)
    bad |= r.first_child != NULL || r.attrs != NULL || r.num_attrs != 0 || r.decls != NULL ||
           r.num_decls != 0;
  else
    bad |= r.first_child != NULL ? e.num_nodes == 1 : e.num_nodes > 1;
  const fg_xml_element *el = fg_xml_parser_element(p);
  const fg_xml_node *n = el->root;
  bad |= el != rv || n != e.root || !str_same(el->to, e.to) || !str_same(el->from, e.from) ||
         !str_same(el->type, e.type) || !str_same(el->id, e.id) || el->canonical != e.canonical ||
         el->forwardable != e.forwardable || el->num_nodes != e.num_nodes;
  bad |= !str_same(n->ns, r.ns) || !str_same(n->prefix, r.prefix) || !str_same(n->local, r.local) ||
         !str_same(n->raw, r.raw);
  // The routing attributes are the root's unprefixed to, from, type and id,
  // and its xml:lang.
  fg_xml_str want[5] = {fg_xml_node_attr(n, "", "to"), fg_xml_node_attr(n, "", "from"),
                        fg_xml_node_attr(n, "", "type"), fg_xml_node_attr(n, "", "id"),
                        fg_xml_node_attr(n, FG_XML_NS_XML, "lang")};
  bad |= !str_same(want[0], e.to) || !str_same(want[1], e.from) || !str_same(want[2], e.type) ||
         !str_same(want[3], e.id) || !str_same(want[4], e.lang) || !str_same(el->lang, e.lang);
  // Children appear exactly when the element has more than its root.
  bad |= (n->first_child != NULL) != (el->num_nodes > 1);
  // Asking again builds nothing more and changes nothing.
  const fg_xml_attr *attrs = n->attrs;
  bad |= fg_xml_element_full(el) != el || el->root->first_child != n->first_child ||
         el->root->attrs != attrs;
  t->root_view_mismatch += bad != 0;
}

// decl_first writes into |out| (room for |len| bytes) the |len| bytes of an
// element in the canonical form but for where its start tags' default
// namespace declarations stand (values quoted with ', no '<' or '>' inside
// them or in text), with each such ` xmlns='...'` moved right after its
// tag's name: the canonical form of a forwardable element.
static void decl_first(uint8_t *out, const uint8_t *in, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    if (in[i] != '<' || i + 1 >= len || in[i + 1] == '/') {
      out[o++] = in[i++];
      continue;
    }
    size_t name = i + 1;
    while (name < len && in[name] != ' ' && in[name] != '/' && in[name] != '>') name++;
    size_t end = name;
    while (end < len && in[end] != '>') end++;
    size_t d = name;  // the declaration's space, or |end| when none
    while (d + 8 <= end && memcmp(in + d, " xmlns='", 8) != 0) d++;
    if (d + 8 > end) d = end;
    size_t de = d;
    if (d < end) {
      de = d + 8;
      while (de < end && in[de] != '\'') de++;
      de++;
    }
    memcpy(out + o, in + i, name - i);
    o += name - i;
    memcpy(out + o, in + d, de - d);  // the declaration (nothing when none)
    o += de - d;
    memcpy(out + o, in + name, d - name);  // the attributes before it
    o += d - name;
    i = de;
  }
}

static int on_event(fg_xml_transcript *t, fg_xml_parser *p, fg_xml_writer *w, fg_xml_event ev,
                    int root_views) {
  const fg_xml_stream_header *h = fg_xml_parser_header(p);
  size_t n;
  const uint8_t *d;
  if (ev == FG_XML_EVENT_KEEPALIVE) {
    int ws;
    size_t k = fg_xml_parser_keepalive_bytes(p, &ws);
    if (ws) t->keepalive_ws += k;
    return 1;
  }
  fg_xml_writer_clear(w);
  if (ev == FG_XML_EVENT_STREAM_OPEN || ev == FG_XML_EVENT_STREAM_CLOSE) {
    int ok = ev == FG_XML_EVENT_STREAM_OPEN ? fg_xml_writer_stream_open(w, h)
                                            : fg_xml_writer_stream_close(w, h);
    if (!ok) {
      t->write_fail++;
      return 1;
    }
    d = fg_xml_writer_data(w, &n);
    if (ev == FG_XML_EVENT_STREAM_OPEN)
      t->opens++;
    else
      t->closes++;
    return ev_line(t, ev == FG_XML_EVENT_STREAM_OPEN ? "O " : "C ", d, n) &&
           append(&t->replay, &t->replay_len, &t->replay_cap, d, n);
  }
  // An element: first its root view, as a router reads it, then the whole
  // tree.
  check_root_view(t, p, root_views);
  const fg_xml_element *el = fg_xml_parser_element(p);
  size_t cn;
  const fg_xml_nsdecl *ctx = fg_xml_parser_context(p, &cn);
  t->elements++;
  if (!fg_xml_writer_element(w, el->root, ctx, cn, 0)) {
    t->write_fail++;
    return 1;
  }
  d = fg_xml_writer_data(w, &n);
  if (el->canonical) {
    t->canon_elements++;
    if (n != el->root->raw.len || memcmp(d, el->root->raw.data, n) != 0) t->canon_mismatch++;
    if (!el->forwardable) t->canon_mismatch++;
  } else if (el->forwardable) {
    t->forward_elements++;
    uint8_t *moved = malloc(el->root->raw.len + 1);
    if (moved == NULL) return 0;
    decl_first(moved, el->root->raw.data, el->root->raw.len);
    if (n != el->root->raw.len || memcmp(d, moved, n) != 0) t->canon_mismatch++;
    free(moved);
  }
  if (!append(&t->replay, &t->replay_len, &t->replay_cap, d, n)) return 0;
  fg_xml_writer_clear(w);
  if (!fg_xml_writer_element(w, el->root, ctx, cn, FG_XML_WRITE_ONE_LINE)) {
    t->write_fail++;
    return 1;
  }
  d = fg_xml_writer_data(w, &n);
  if (memchr(d, '\n', n) != NULL) t->write_fail++;
  return ev_line(t, "E ", d, n);
}

static int run(fg_xml_transcript *t, const fg_xml_config *cfg, const uint8_t *in, size_t len,
               const size_t *splits, size_t nsplits, int trim) {
  memset(t, 0, sizeof(*t));
  // The runs with trims build every view with the element, the others the
  // root's first (root_views): the transcripts compare the two.
  fg_xml_config xc;
  if (cfg != NULL)
    xc = *cfg;
  else
    fg_xml_config_default(&xc);
  xc.root_views = !trim;
  fg_xml_parser *p = fg_xml_parser_new(&xc);
  fg_xml_writer *w = fg_xml_writer_new();
  int ok = p != NULL && w != NULL && append(&t->events, &t->events_len, &t->events_cap, "", 0) &&
           append(&t->replay, &t->replay_len, &t->replay_cap, "", 0);
  size_t pos = 0, si = 0;
  int done = 0;
  while (ok && !done) {
    size_t end = len;
    while (si < nsplits && splits[si] <= pos) si++;
    if (si < nsplits && splits[si] < len) end = splits[si];
    const uint8_t *c = in + pos;
    size_t n = end - pos;
    if (trim) fg_xml_parser_trim(p);  // as a quiet stream would, between two reads
    uint64_t before = fg_xml_parser_offset(p);
    size_t consumed = 0;
    while (n > 0 || fg_xml_parser_pending(p)) {
      size_t used;
      fg_xml_event ev = fg_xml_parser_feed(p, &used, c, n);
      if (used > n) {
        t->accounting++;
        used = n;
      }
      c += used;
      n -= used;
      consumed += used;
      if (ev == FG_XML_EVENT_NEED_MORE) {
        if (n != 0) t->accounting++;
        break;
      }
      if (ev == FG_XML_EVENT_ERROR) {
        t->err = fg_xml_parser_error(p, &t->err_off);
        done = 1;
        break;
      }
      if (!on_event(t, p, w, ev, xc.root_views)) {
        ok = 0;
        break;
      }
    }
    if (!done && fg_xml_parser_offset(p) != before + consumed) t->accounting++;
    pos = end;
    if (pos >= len) done = 1;
  }
  fg_xml_writer_free(w);
  fg_xml_parser_free(p);
  return ok;
}

int fg_xml_transcript_run(fg_xml_transcript *t, const fg_xml_config *cfg, const uint8_t *in,
                          size_t len, const size_t *splits, size_t nsplits) {
  return run(t, cfg, in, len, splits, nsplits, 0);
}

int fg_xml_transcript_run_trimming(fg_xml_transcript *t, const fg_xml_config *cfg,
                                   const uint8_t *in, size_t len, const size_t *splits,
                                   size_t nsplits) {
  return run(t, cfg, in, len, splits, nsplits, 1);
}

int fg_xml_transcript_run_step(fg_xml_transcript *t, const fg_xml_config *cfg, const uint8_t *in,
                               size_t len, size_t step) {
  if (step == 0) step = 1;
  size_t n = len / step + 1;
  size_t *splits = malloc(n * sizeof(size_t));
  if (splits == NULL) return 0;
  size_t k = 0;
  for (size_t o = step; o < len; o += step) splits[k++] = o;
  int ok = fg_xml_transcript_run(t, cfg, in, len, splits, k);
  free(splits);
  return ok;
}

int fg_xml_transcript_same(const fg_xml_transcript *a, const fg_xml_transcript *b) {
  return a->err == b->err && a->err_off == b->err_off && a->keepalive_ws == b->keepalive_ws &&
         a->events_len == b->events_len && memcmp(a->events, b->events, a->events_len) == 0;
}

int fg_xml_transcript_roundtrip(const fg_xml_transcript *t, const fg_xml_config *cfg, char *why,
                                size_t why_len) {
  fg_xml_config c;
  if (cfg != NULL)
    c = *cfg;
  else
    fg_xml_config_default(&c);
  // Canonical output can be longer (escapes) and moves declarations to the
  // elements that use them; the size and count limits are not under test.
  c.limits.max_element_bytes_preauth = 1u << 30;
  c.limits.max_attrs = 1u << 20;
  c.limits.max_ns_decls = 1u << 20;
  fg_xml_transcript r;
  if (!fg_xml_transcript_run(&r, &c, (const uint8_t *)t->replay, t->replay_len, NULL, 0)) {
    snprintf(why, why_len, "out of memory");
    return 0;
  }
  int ok = 1;
  if (r.err != FG_XML_ERR_NONE) {
    snprintf(why, why_len, "re-parse failed: %s at byte %llu", fg_xml_error_condition(r.err),
             (unsigned long long)r.err_off);
    ok = 0;
  } else if (r.events_len != t->events_len || memcmp(r.events, t->events, t->events_len) != 0) {
    snprintf(why, why_len, "events differ:\n--- first\n%s--- re-parse\n%s", t->events, r.events);
    ok = 0;
  } else if (r.canon_elements != r.elements) {
    snprintf(why, why_len, "canonical output not flagged canonical (%zu of %zu)", r.canon_elements,
             r.elements);
    ok = 0;
  }
  fg_xml_transcript_free(&r);
  return ok;
}

void fg_xml_transcript_free(fg_xml_transcript *t) {
  free(t->events);
  free(t->replay);
  t->events = t->replay = NULL;
}
