// version.h: fedgate's version and the versions of the libraries linked in.
#ifndef FEDGATE_GATEWAY_VERSION_H
#define FEDGATE_GATEWAY_VERSION_H

#include <stddef.h>
#include <stdio.h>

#define FEDGATE_VERSION "0.1.0"

// fg_version_print writes fedgate's version and one line per linked library
// (BoringSSL, liburing, jemalloc) to |out|, as found at run time: the file the
// dynamic loader actually mapped, and the version that file reports. It
// returns 1 when jemalloc is the process allocator, 0 otherwise.
int fg_version_print(FILE *out);

// fg_version_jemalloc writes jemalloc's version (from mallctl("version")) into
// |out| and returns 1, or returns 0 when jemalloc does not answer.
int fg_version_jemalloc(char *out, size_t out_len);

// fg_version_from_soname extracts the version from a resolved shared-library
// path such as "/usr/lib/liburing.so.2.3" ("2.3") into |out|. It returns 1 on
// success, 0 when the path has no ".so.<version>" suffix.
int fg_version_from_soname(const char *path, char *out, size_t out_len);

#endif  // FEDGATE_GATEWAY_VERSION_H
