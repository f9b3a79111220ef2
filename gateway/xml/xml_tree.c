// xml_tree.c: the trees the XML parser builds and hands out: the nodes of the
// element being read, linked as they are created; the public fg_xml_node
// views of a complete element; the stream header with its own copy of its
// strings (RFC 6120 §4.7); and the lookups on public nodes.
#include "gateway/xml/xml_tree.h"

#include <string.h>

#include "gateway/xml/xml_namespaces.h"

// ---------------------------------------------------------------------------
// The stream header (RFC 6120 §4.7, §4.8).

static int parse_version(fg_xml_str v, int *maj, int *min) {
  size_t k = 0;
  long a = 0, b = 0;
  size_t d = 0;
  while (k < v.len && v.data[k] >= '0' && v.data[k] <= '9' && d < 6)
    a = a * 10 + (v.data[k++] - '0'), d++;
  if (d == 0 || k >= v.len || v.data[k] != '.') return 0;
  k++;
  d = 0;
  while (k < v.len && v.data[k] >= '0' && v.data[k] <= '9' && d < 6)
    b = b * 10 + (v.data[k++] - '0'), d++;
  if (d == 0 || k != v.len) return 0;
  *maj = (int)a;
  *min = (int)b;
  return 1;
}

int fg_xml_tree_build_header(fg_xml_parser *p, size_t end) {
  inode *nd = &p->nodes[0];
  size_t at = nd->raw_start;
  span dflt;
  if (fg_xml_ns_check_stream(p, &dflt) != R_DONE) return R_ERR;

  // Store the header's bytes so that its strings outlive the item.
  size_t raw_len = end, total = end + p->arena_len;
  if (!grow_exact((void **)&p->hdr, &p->hdr_cap, total ? total : 1, 1))
    return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, at);
  memcpy(p->hdr, p->base, raw_len);
  if (p->arena_len) memcpy(p->hdr + raw_len, p->arena, p->arena_len);
  p->hdr_len = total;
  nd->prefix = retag_hdr(nd->prefix, raw_len);
  nd->local = retag_hdr(nd->local, raw_len);
  nd->ns = retag_hdr(nd->ns, raw_len);
  p->hdr_qname =
      mkspan(TAG_HDR, nd->name_off, (nd->prefix.len ? nd->prefix.len + 1 : 0) + nd->local.len);
  fg_xml_ns_keep_stream_context(p, raw_len);
  dflt = retag_hdr(dflt, raw_len);

  uint32_t na = nd->attr_n;
  if (!grow_exact((void **)&p->hdr_decls, &p->hdr_decls_cap, na + 1, sizeof(fg_xml_nsdecl)) ||
      !grow_exact((void **)&p->hdr_attrs, &p->hdr_attrs_cap, na + 1, sizeof(fg_xml_attr)))
    return fail(p, FG_XML_ERR_RESOURCE_CONSTRAINT, at);
  fg_xml_stream_header *h = &p->header;
  memset(h, 0, sizeof(*h));
  h->version_major = h->version_minor = -1;
  h->has_xml_decl = p->has_xml_decl;
  size_t nd_ = 0, na_ = 0;
  for (uint32_t j = 0; j < na; j++) {
    iattr *a = &p->attrs[nd->attr_start + j];
    span pre = retag_hdr(a->prefix, raw_len), loc = retag_hdr(a->local, raw_len);
    span val = retag_hdr(a->value, raw_len), ns = retag_hdr(a->ns, raw_len);
    if (a->is_decl) {
      fg_xml_nsdecl *d = &p->hdr_decls[nd_++];
      d->prefix = pre.len == 0 ? resolve(p, kSpanEmpty) : resolve(p, loc);
      d->uri = resolve(p, val);
      continue;
    }
    fg_xml_attr *o = &p->hdr_attrs[na_++];
    o->ns = resolve(p, ns);
    o->prefix = resolve(p, pre);
    o->local = resolve(p, loc);
    o->value = resolve(p, val);
    if (pre.len == 0) {
      if (fg_xml_str_eq(o->local, "to")) h->to = o->value;
      if (fg_xml_str_eq(o->local, "from")) h->from = o->value;
      if (fg_xml_str_eq(o->local, "id")) h->id = o->value;
      if (fg_xml_str_eq(o->local, "version")) h->version = o->value;
    } else if (fg_xml_str_eq(o->ns, FG_XML_NS_XML) && fg_xml_str_eq(o->local, "lang")) {
      h->lang = o->value;
    }
  }
  h->ns = resolve(p, nd->ns);
  h->prefix = resolve(p, nd->prefix);
  h->local = resolve(p, nd->local);
  h->content_ns = resolve(p, dflt);
  h->decls = p->hdr_decls;
  h->num_decls = nd_;
  h->attrs = p->hdr_attrs;
  h->num_attrs = na_;
  // RFC 6120 §4.7.5: a major version above 1 (or a malformed one) is not ours.
  if (h->version.data != NULL) {
    if (!parse_version(h->version, &h->version_major, &h->version_minor) || h->version_major > 1)
      return fail(p, FG_XML_ERR_UNSUPPORTED_VERSION, at);
  }
  p->have_header = 1;
  return R_DONE;
}

// ---------------------------------------------------------------------------
// Public views of an element.

// res resolves |s| against the four storage bases of the parser, looked up
// once per element rather than per string.
static inline fg_xml_str res(const uint8_t *const bases[4], span s) {
  fg_xml_str r = {NULL, 0};
  if (s.off == NONE) return r;
  r.data = bases[s.off >> TAG_SHIFT] + (s.off & OFF_MASK);
  r.len = s.len;
  return r;
}

// res_set is res for spans that are never absent (names, namespaces,
// values, text): no test for NONE.
static inline fg_xml_str res_set(const uint8_t *const bases[4], span s) {
  fg_xml_str r = {bases[s.off >> TAG_SHIFT] + (s.off & OFF_MASK), s.len};
  return r;
}

// routing_attr points |e|'s to, from, type or id at |value| when the
// unprefixed attribute |local| is one. It takes the strings in registers, as
// they were computed: read back from the public attribute just written, a
// 16-byte load of two 8-byte stores would stall store-to-load forwarding.
static inline void routing_attr(fg_xml_element *e, fg_xml_str local, fg_xml_str value) {
  const uint8_t *d = local.data;
  if (local.len == 2) {
    if (d[0] == 't' && d[1] == 'o') e->to = value;
    if (d[0] == 'i' && d[1] == 'd') e->id = value;
  } else if (local.len == 4) {
    if (bytes_eq(d, (const uint8_t *)"from", 4)) e->from = value;
    if (bytes_eq(d, (const uint8_t *)"type", 4)) e->type = value;
  }
}

// lang_attr points |e|'s lang at |value| when the prefixed attribute
// |prefix|:|local| is xml:lang (the prefix xml is bound to the XML namespace
// and to nothing else, Namespaces in XML §3).
static inline void lang_attr(fg_xml_element *e, fg_xml_str prefix, fg_xml_str local,
                             fg_xml_str value) {
  if (prefix.len == 3 && local.len == 4 && bytes_eq(prefix.data, (const uint8_t *)"xml", 3) &&
      bytes_eq(local.data, (const uint8_t *)"lang", 4)) {
    e->lang = value;
  }
}

// load_bases reads the four storage bases of the parser one by one: a
// compiler that loads two neighbouring fields at once reads p->base with
// p->i, stored separately just before (a store-to-load forwarding stall).
static inline void load_bases(const fg_xml_parser *p, const uint8_t *bases[4]) {
  const uint8_t *b0 = p->base, *b1 = p->arena, *b2 = p->hdr;
  __asm__("" : "+r"(b0), "+r"(b1), "+r"(b2));
  bases[0] = b0;
  bases[1] = b1;
  bases[2] = b2;
  bases[3] = (const uint8_t *)kStatic;
}

// element_names writes the names and the raw bytes of the element |in| into
// its view |o| (an element has no text).
static inline void element_names(fg_xml_node *o, const fg_xml_parser *p,
                                 const uint8_t *const bases[4], const inode *in) {
  const fg_xml_str absent = {NULL, 0};
  o->ns = res_set(bases, in->ns);
  o->prefix = res_set(bases, in->prefix);
  o->local = res_set(bases, in->local);
  o->text = absent;
  o->raw.data = p->base + in->raw_start;
  o->raw.len = in->raw_end - in->raw_start;
}

// views_of_nodes writes the views of the nodes from |k0| on, with where
// their attributes and declarations will be (the first at pa[ai] and
// pd[di]): the count of declarations of each element (fg_xml_ns_process)
// places them without a loop over its attributes.
static inline void views_of_nodes(const fg_xml_parser *p, const uint8_t *const bases[4],
                                  uint32_t k0, size_t ai, size_t di) {
  fg_xml_node *pn = p->pn;
  fg_xml_attr *pa = p->pa;
  fg_xml_nsdecl *pd = p->pd;
  const fg_xml_str absent = {NULL, 0};
  for (uint32_t k = k0, nn = p->nodes_n; k < nn; k++) {
    const inode *in = &p->nodes[k];
    fg_xml_node *o = &pn[k];
    o->type = (fg_xml_node_type)in->type;
    o->parent = in->parent == NONE ? NULL : &pn[in->parent];
    o->first_child = in->first_child == NONE ? NULL : &pn[in->first_child];
    o->next = in->next == NONE ? NULL : &pn[in->next];
    if (in->type == FG_XML_NODE_TEXT) {
      // Separate stores: a chained assignment reads each struct back, and a
      // wide load of bytes just stored stalls store-to-load forwarding.
      o->ns = absent;
      o->prefix = absent;
      o->local = absent;
      o->attrs = NULL;
      o->num_attrs = 0;
      o->decls = NULL;
      o->num_decls = 0;
      o->text = res_set(bases, in->text);
      o->raw = absent;
      continue;
    }
    element_names(o, p, bases, in);
    size_t nattr = in->attr_n - in->ndecl;
    o->attrs = pa + ai;
    o->num_attrs = nattr;
    o->decls = pd + di;
    o->num_decls = in->ndecl;
    ai += nattr;
    di += in->ndecl;
  }
}

// views_of_attrs writes the public attributes and declarations of every
// element. They are recorded element after element in document order, as
// the nodes are, and each goes to the attributes or the declarations by an
// index step, not a branch (both entries are written; the other is
// overwritten by the next or unused), instead of a loop per element and a
// test of each attribute's kind, branches whose outcome changes from element
// to element (measured 1.017x and 1.034x on the x86-64-v3 copy,
// docs/xml.md).
static inline void views_of_attrs(const fg_xml_parser *p, const uint8_t *const bases[4]) {
  fg_xml_attr *pa = p->pa;
  fg_xml_nsdecl *pd = p->pd;
  const fg_xml_str empty = res(bases, kSpanEmpty);
  size_t ai = 0, di = 0;
  for (uint32_t j = 0, na = p->attrs_n; j < na; j++) {
    const iattr *a = &p->attrs[j];
    fg_xml_str local = res_set(bases, a->local), value = res_set(bases, a->value);
    fg_xml_str prefix = res_set(bases, a->prefix);
    fg_xml_attr *x = &pa[ai];
    x->ns = res_set(bases, a->ns);
    x->prefix = prefix;
    x->local = local;
    x->value = value;
    fg_xml_nsdecl *d = &pd[di];
    d->prefix = prefix.len == 0 ? empty : local;
    d->uri = value;
    ai += !a->is_decl;
    di += a->is_decl;
  }
}

int fg_xml_tree_build_element(fg_xml_parser *p) {
  uint32_t nn = p->nodes_n, na = p->attrs_n;
  if (!grow((void **)&p->pn, &p->pn_cap, nn, sizeof(fg_xml_node)) ||
      !grow((void **)&p->pa, &p->pa_cap, na + 1, sizeof(fg_xml_attr)) ||
      !grow((void **)&p->pd, &p->pd_cap, na + 1, sizeof(fg_xml_nsdecl)))
    return 0;
  const uint8_t *bases[4];
  load_bases(p, bases);
  fg_xml_node *pn = p->pn;
  const fg_xml_str absent = {NULL, 0};
  // The element's fields one by one (a memset is a `rep stos` here, slow to
  // start for 96 bytes); the routing attributes are filled in below.
  fg_xml_element *e = &p->el;
  e->root = &pn[0];
  e->to = absent;
  e->from = absent;
  e->type = absent;
  e->id = absent;
  e->lang = absent;
  e->canonical = (p->canon & CANON_EXACT) != 0;
  e->forwardable = (p->canon & CANON_FORWARDABLE) != 0;
  e->num_nodes = nn;
  const inode *in = &p->nodes[0];
  if (p->cfg.root_views) {
    // The root's view alone, without its public attributes: a router reads
    // no more. The routing attributes come from the records; the rest is
    // built by build_descendants, when asked for, in the room
    // made above (so that nothing a consumer holds moves).
    e->_views_pending = p;
    fg_xml_node *o = &pn[0];
    o->type = FG_XML_NODE_ELEMENT;
    o->parent = NULL;
    o->first_child = NULL;
    o->next = NULL;
    element_names(o, p, bases, in);
    o->attrs = NULL;
    o->num_attrs = 0;
    o->decls = NULL;
    o->num_decls = 0;
    for (uint32_t j = in->attr_start, end = j + in->attr_n; j < end; j++) {
      const iattr *a = &p->attrs[j];
      if (a->is_decl || (a->local.len != 2 && a->local.len != 4)) continue;
      if (a->prefix.len == 0) {
        routing_attr(e, res_set(bases, a->local), res_set(bases, a->value));
      } else {
        lang_attr(e, res_set(bases, a->prefix), res_set(bases, a->local), res_set(bases, a->value));
      }
    }
    return 1;
  }
  e->_views_pending = NULL;
  views_of_nodes(p, bases, 0, 0, 0);
  views_of_attrs(p, bases);
  // The root's routing attributes, from its public attributes (the first).
  const fg_xml_attr *pa = p->pa;
  for (size_t j = 0; j < pn[0].num_attrs; j++) {
    if (pa[j].prefix.len == 0) {
      routing_attr(e, pa[j].local, pa[j].value);
    } else {
      lang_attr(e, pa[j].prefix, pa[j].local, pa[j].value);
    }
  }
  return 1;
}

// build_descendants fills the rest of the public views of the element just
// read: the root's attributes, declarations and children, and every other
// node, in the room fg_xml_tree_build_element made (it cannot fail).
static void build_descendants(fg_xml_parser *p) {
  const uint8_t *bases[4];
  load_bases(p, bases);
  // The root's links, attributes and declarations, then the other nodes and
  // every attribute.
  const inode *root = &p->nodes[0];
  fg_xml_node *r = &p->pn[0];
  size_t nattr = root->attr_n - root->ndecl;
  r->first_child = root->first_child == NONE ? NULL : &p->pn[root->first_child];
  r->attrs = p->pa;
  r->num_attrs = nattr;
  r->decls = p->pd;
  r->num_decls = root->ndecl;
  views_of_nodes(p, bases, 1, nattr, root->ndecl);
  views_of_attrs(p, bases);
}

const fg_xml_element *fg_xml_element_full(const fg_xml_element *el) {
  fg_xml_parser *p = el->_views_pending;
  if (p == NULL) return el;
  build_descendants(p);
  p->el._views_pending = NULL;
  return el;
}

// ---------------------------------------------------------------------------
// Public strings and nodes.

int fg_xml_str_eq(fg_xml_str s, const char *c) {
  size_t n = strlen(c);
  return s.data != NULL && s.len == n && (n == 0 || memcmp(s.data, c, n) == 0);
}

fg_xml_str fg_xml_node_attr(const fg_xml_node *node, const char *ns, const char *local) {
  fg_xml_str none = {NULL, 0};
  if (node == NULL) return none;
  for (size_t j = 0; j < node->num_attrs; j++) {
    const fg_xml_attr *a = &node->attrs[j];
    if (fg_xml_str_eq(a->local, local) && fg_xml_str_eq(a->ns, ns)) return a->value;
  }
  return none;
}

const fg_xml_node *fg_xml_node_child(const fg_xml_node *node, const char *ns, const char *local) {
  if (node == NULL) return NULL;
  for (const fg_xml_node *c = node->first_child; c != NULL; c = c->next) {
    if (c->type != FG_XML_NODE_ELEMENT) continue;
    if (ns != NULL && !fg_xml_str_eq(c->ns, ns)) continue;
    if (local != NULL && !fg_xml_str_eq(c->local, local)) continue;
    return c;
  }
  return NULL;
}
