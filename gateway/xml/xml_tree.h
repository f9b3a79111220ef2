// xml_tree.h: the trees the XML parser builds (gateway/xml/xml_tree.c; not a
// public interface).
#ifndef FEDGATE_GATEWAY_XML_TREE_H
#define FEDGATE_GATEWAY_XML_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/xml/xml_state.h"

// fg_xml_tree_new_node appends a node of |type| (FG_XML_NODE_*) to the
// element being read, as the last child of the innermost open element (or as
// the root), and returns its index in p->nodes: NONE when the node limit is
// reached, NONE - 1 when out of memory.
static inline uint32_t fg_xml_tree_new_node(fg_xml_parser *p, uint8_t type) {
  if (p->nodes_n >= p->cfg.limits.max_nodes) return NONE;
  if (p->nodes_n >= p->nodes_cap &&
      !grow32((void **)&p->nodes, &p->nodes_cap, p->nodes_n + 1, sizeof(inode)))
    return NONE - 1;
  uint32_t k = p->nodes_n++;
  uint32_t parent = p->open_n ? p->open[p->open_n - 1] : NONE;
  // Only the links: the caller writes the fields its kind of node has (an
  // element its names, attributes and extent, a text node its text), and
  // nothing reads the others.
  inode *nd = &p->nodes[k];
  nd->type = type;
  nd->parent = parent;
  nd->first_child = NONE;
  nd->last_child = NONE;
  nd->next = NONE;
  if (parent != NONE) {
    inode *par = &p->nodes[parent];
    if (par->last_child == NONE)
      par->first_child = k;
    else
      p->nodes[par->last_child].next = k;
    par->last_child = k;
  }
  return k;
}

// fg_xml_tree_build_header makes the stream header (fg_xml_parser_header) of
// the stream element, node 0, whose start tag ends at item offset |end| and
// whose declarations fg_xml_ns_process has applied: it checks the element
// (fg_xml_ns_check_stream) and its version (RFC 6120 §4.7.5), and copies its
// bytes so that its strings and the stream's namespace context outlive the
// item. It returns R_DONE or R_ERR.
int fg_xml_tree_build_header(fg_xml_parser *p, size_t end);

// fg_xml_tree_build_element fills the public views of the element just read
// (p->pn, p->pa, p->pd and p->el): all of them, or with the configuration's
// |root_views| the root's alone (without its attributes; p->el with the
// routing attributes), making room for the others, which
// fg_xml_element_full writes when a consumer asks for them. It returns 0
// when out of memory.
int fg_xml_tree_build_element(fg_xml_parser *p);

#endif  // FEDGATE_GATEWAY_XML_TREE_H
