// stanza_reparse.c: one held stanza parsed again.
#include "gateway/server/stanza_reparse.h"

#include "gateway/xml/xml_names.h"

fg_xml_parser *fg_stanza_reparse(const uint8_t *data, size_t len, const fg_xml_element **el) {
  static const char kHeader[] = FG_S2S_STREAM_OPEN ">";
  fg_xml_parser *p = fg_xml_parser_new(NULL);
  size_t used;
  if (p == NULL ||
      fg_xml_parser_feed(p, &used, (const uint8_t *)kHeader, sizeof(kHeader) - 1) !=
          FG_XML_EVENT_STREAM_OPEN ||
      fg_xml_parser_feed(p, &used, data, len) != FG_XML_EVENT_ELEMENT) {
    fg_xml_parser_free(p);
    return NULL;
  }
  *el = fg_xml_parser_element(p);
  return p;
}
