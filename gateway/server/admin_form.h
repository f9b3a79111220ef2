// admin_form.h: application/x-www-form-urlencoded bodies of the admin
// actions (`key=value&key=value`, percent-encoding, `+` for a space), read
// by the admin endpoint and written by `fedgate ctl`.
#ifndef FEDGATE_GATEWAY_ADMIN_FORM_H
#define FEDGATE_GATEWAY_ADMIN_FORM_H

#include <stddef.h>

typedef enum fg_form_result {
  FG_FORM_FOUND = 0,  // |out| holds the decoded value
  FG_FORM_ABSENT,     // no such key
  FG_FORM_BAD,        // a bad percent-escape, a NUL byte, or longer than |cap| - 1
} fg_form_result;

// fg_form_get finds the first |key| in the |len| bytes of |body| and decodes
// its value into |out| (capacity |cap|, NUL-terminated). A key without `=`
// has the empty value.
fg_form_result fg_form_get(const char *body, size_t len, const char *key, char *out, size_t cap);

// fg_form_add appends `key=value` (with `&` before it unless |*len| is 0) to
// |out| (capacity |cap|, kept NUL-terminated), percent-encoding every byte
// but ALPHA, DIGIT, `-`, `.`, `_` and `~`. It returns 1, or 0 when it does
// not fit (|out| and |*len| are then unchanged).
int fg_form_add(char *out, size_t cap, size_t *len, const char *key, const char *value);

#endif  // FEDGATE_GATEWAY_ADMIN_FORM_H
