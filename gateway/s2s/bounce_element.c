// bounce_element.c: maps a parsed stanza onto fg_bounce_stanza.
#include "gateway/s2s/bounce_element.h"

#include <string.h>

fg_bounce_verdict fg_bounce_element(uint8_t *out, size_t *out_len, size_t max_out,
                                    const fg_xml_element *el, fg_stanza_condition cond) {
  fg_bounce_stanza b;
  memset(&b, 0, sizeof(b));
  const fg_xml_node *r = el->root;
  b.kind = fg_xml_str_eq(r->local, "message")    ? FG_STANZA_MESSAGE
           : fg_xml_str_eq(r->local, "presence") ? FG_STANZA_PRESENCE
                                                 : FG_STANZA_IQ;
  b.type = (const char *)el->type.data;
  b.type_len = el->type.len;
  b.to = (const char *)el->to.data;
  b.to_len = el->to.len;
  b.from = (const char *)el->from.data;
  b.from_len = el->from.len;
  b.id = (const char *)el->id.data;
  b.id_len = el->id.len;
  return fg_bounce_build(out, out_len, max_out, &b, cond, FG_STANZA_ERROR_TYPE_DEFAULT, NULL, NULL);
}
