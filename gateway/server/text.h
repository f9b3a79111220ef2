// text.h: a growable text buffer, for answers assembled piece by piece by
// several modules (the admin endpoint's /streams lines).
#ifndef FEDGATE_GATEWAY_TEXT_H
#define FEDGATE_GATEWAY_TEXT_H

#include <stddef.h>

// fg_text is a growable text buffer; zero-initialise it, free |data| when done.
typedef struct fg_text {
  char *data;
  size_t len, cap;
} fg_text;

// fg_text_printf appends to |t| (silently truncating when out of memory).
void fg_text_printf(fg_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif  // FEDGATE_GATEWAY_TEXT_H
