// text.c: a growable text buffer for the admin endpoint's answers.
#include "gateway/server/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void fg_text_printf(fg_text *t, const char *fmt, ...) {
  for (int attempt = 0; attempt < 2; attempt++) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->data ? t->data + t->len : NULL, t->data ? t->cap - t->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (t->data != NULL && t->len + (size_t)n < t->cap) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
    char *grown = realloc(t->data, cap);
    if (grown == NULL) return;
    t->data = grown;
    t->cap = cap;
  }
}
