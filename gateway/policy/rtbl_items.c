// rtbl_items.c: block list entries from pubsub stanzas
// (gateway/policy/rtbl_items.h; XEP-0060 §6.5 items, §7.2 retract, §8.5
// purge, §8.4 delete; XEP-0377 reports).
#include "gateway/policy/rtbl_items.h"

#include <stdio.h>
#include <string.h>

#define REASON_MAX FG_BLOCK_REASON_MAX

// copy_str writes |s| NUL-terminated into |out| (|cap| bytes), cut to fit;
// 0 when |s| holds a NUL byte or is absent.
static int copy_str(fg_xml_str s, char *out, size_t cap) {
  if (s.data == NULL || memchr(s.data, 0, s.len) != NULL) return 0;
  size_t n = s.len < cap - 1 ? s.len : cap - 1;
  memcpy(out, s.data, n);
  out[n] = 0;
  return 1;
}

// item_reason reads a XEP-0377 report in |item|: "reason-uri: text".
static void item_reason(const fg_xml_node *item, char *out, size_t cap) {
  out[0] = 0;
  const fg_xml_node *report = fg_xml_node_child(item, FG_NS_REPORTING, "report");
  if (report == NULL) return;
  char reason[REASON_MAX + 1] = "", text[REASON_MAX + 1] = "";
  copy_str(fg_xml_node_attr(report, "", "reason"), reason, sizeof(reason));
  const fg_xml_node *t = fg_xml_node_child(report, FG_NS_REPORTING, "text");
  if (t != NULL && t->first_child != NULL && t->first_child->type == FG_XML_NODE_TEXT)
    copy_str(t->first_child->text, text, sizeof(text));
  // The URI's last part names the reason (urn:xmpp:reporting:spam -> spam).
  const char *short_reason = strrchr(reason, ':');
  short_reason = short_reason != NULL ? short_reason + 1 : reason;
  if (text[0] != 0 && short_reason[0] != 0)
    snprintf(out, cap, "%s: %s", short_reason, text);
  else
    snprintf(out, cap, "%s", short_reason[0] != 0 ? short_reason : text);
}

// entry parses an item's id; 0 (counted) when it is not an entry.
static int entry(const fg_xml_node *item, fg_block_kind *kind, char *key, fg_rtbl_stats *st) {
  char id[FG_BLOCK_KEY_MAX + 1];
  if (!copy_str(fg_xml_node_attr(item, "", "id"), id, sizeof(id)) ||
      fg_xml_node_attr(item, "", "id").len > FG_BLOCK_KEY_MAX ||
      !fg_block_parse_key(id, kind, key, NULL) || *kind == FG_BLOCK_DOMAIN_SUFFIX) {
    st->invalid++;
    return 0;
  }
  return 1;
}

// read_items walks the children of an <items/> element.
static int read_items(const fg_xml_node *items, const char *ns, int events, const fg_rtbl_ops *ops,
                      fg_rtbl_stats *st) {
  for (const fg_xml_node *c = items->first_child; c != NULL; c = c->next) {
    if (c->type != FG_XML_NODE_ELEMENT || !fg_xml_str_eq(c->ns, ns)) continue;
    fg_block_kind kind;
    char key[FG_BLOCK_KEY_MAX + 1];
    if (fg_xml_str_eq(c->local, "item")) {
      if (!entry(c, &kind, key, st)) continue;
      char reason[REASON_MAX + 1];
      item_reason(c, reason, sizeof(reason));
      if (!ops->add(ops->arg, kind, key, reason)) return -1;
      st->added++;
    } else if (events && fg_xml_str_eq(c->local, "retract")) {
      if (!entry(c, &kind, key, st)) continue;
      if (!ops->remove(ops->arg, kind, key)) return -1;
      st->removed++;
    }
  }
  return 0;
}

int fg_rtbl_read(const fg_xml_node *stanza, const char *node, const fg_rtbl_ops *ops,
                 fg_rtbl_stats *stats) {
  fg_rtbl_stats local;
  fg_rtbl_stats *st = stats != NULL ? stats : &local;
  memset(st, 0, sizeof(*st));
  if (stanza == NULL || stanza->type != FG_XML_NODE_ELEMENT) return FG_RTBL_NONE;
  if (fg_xml_str_eq(stanza->local, "iq")) {
    if (!fg_xml_str_eq(fg_xml_node_attr(stanza, "", "type"), "result")) return FG_RTBL_NONE;
    const fg_xml_node *ps = fg_xml_node_child(stanza, FG_NS_PUBSUB, "pubsub");
    const fg_xml_node *items = ps != NULL ? fg_xml_node_child(ps, FG_NS_PUBSUB, "items") : NULL;
    if (items == NULL || !fg_xml_str_eq(fg_xml_node_attr(items, "", "node"), node))
      return FG_RTBL_NONE;
    return read_items(items, FG_NS_PUBSUB, 0, ops, st) < 0 ? -1 : FG_RTBL_SNAPSHOT;
  }
  if (!fg_xml_str_eq(stanza->local, "message")) return FG_RTBL_NONE;
  if (fg_xml_str_eq(fg_xml_node_attr(stanza, "", "type"), "error")) return FG_RTBL_NONE;
  const fg_xml_node *ev = fg_xml_node_child(stanza, FG_NS_PUBSUB_EVENT, "event");
  if (ev == NULL) return FG_RTBL_NONE;
  int kind = FG_RTBL_NONE;
  for (const fg_xml_node *c = ev->first_child; c != NULL; c = c->next) {
    if (c->type != FG_XML_NODE_ELEMENT || !fg_xml_str_eq(c->ns, FG_NS_PUBSUB_EVENT) ||
        !fg_xml_str_eq(fg_xml_node_attr(c, "", "node"), node))
      continue;
    if (fg_xml_str_eq(c->local, "items")) {
      if (read_items(c, FG_NS_PUBSUB_EVENT, 1, ops, st) < 0) return -1;
      if (kind == FG_RTBL_NONE) kind = FG_RTBL_CHANGES;
    } else if (fg_xml_str_eq(c->local, "purge") || fg_xml_str_eq(c->local, "delete")) {
      kind = FG_RTBL_CLEAR;
    }
  }
  return kind;
}
