// testutil.h: small helpers for unit tests.
#ifndef FEDGATE_TESTS_TESTUTIL_H
#define FEDGATE_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

// fg_test_vector_path writes into |out| the path of |rel| (e.g.
// "xml/streams.tsv") inside the shared test vectors, looking in Bazel's
// runfiles first and then in ../shared/vectors. It returns 1 when the file
// exists, 0 otherwise.
int fg_test_vector_path(char *out, size_t out_len, const char *rel);

// fg_test_read_vector reads the shared vector |rel| (see
// fg_test_vector_path) like fg_test_read_file. It returns NULL when the
// vector is missing or unreadable.
uint8_t *fg_test_read_vector(const char *rel, size_t *out_len);

// fg_test_read_file reads the whole file at |path| into a malloc'd buffer
// (NUL-terminated, not counted in |*out_len|). It returns NULL on failure.
uint8_t *fg_test_read_file(const char *path, size_t *out_len);

// fg_test_unescape decodes the vectors' TSV escaping (\\, \t, \n, \r, \xNN
// with exactly two hex digits) from |in| into |out| (at least strlen(in)
// bytes). It returns the decoded length.
size_t fg_test_unescape(uint8_t *out, const char *in);

#endif  // FEDGATE_TESTS_TESTUTIL_H
