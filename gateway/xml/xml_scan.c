// xml_scan.c: the byte class table of the XML scanners (gateway/xml/xml_scan.h).
#include "gateway/xml/xml_scan.h"

#include <pthread.h>

uint8_t fg_xml_byte_class[256];

static void fill_classes(void) {
  for (int c = 0; c < 256; c++) {
    uint8_t k = 0;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') k |= C_NAMESTART | C_NAMECHAR;
    if ((c >= '0' && c <= '9') || c == '-' || c == '.') k |= C_NAMECHAR;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') k |= C_WS;
    if (c < 0x20 || c >= 0x80 || c == '<' || c == '&' || c == '>' || c == ']') k |= C_TEXT_SPECIAL;
    if (c < 0x20 || c >= 0x80 || c == '<' || c == '&' || c == '>' || c == '\'' || c == '"')
      k |= C_ATTR_SPECIAL;
    fg_xml_byte_class[c] = k;
  }
}

void fg_xml_scan_init(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, fill_classes);
}
