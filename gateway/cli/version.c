// version.c: reports the versions of the libraries the process really loaded.
//
// Compile-time macros only say what the headers were; an operator debugging a
// host needs what the loader mapped. So each library is located with dladdr()
// on one of its functions, and its version is read from the library itself
// (jemalloc's mallctl, BoringSSL's API version) or from the resolved file name.
#include "gateway/cli/version.h"

#include <dlfcn.h>
#include <jemalloc/jemalloc.h>
#include <liburing.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "gateway/xml/xml_simd.h"

// jemalloc is not linked into sanitizer builds (their malloc is in charge);
// a weak reference lets the same code report that.
#pragma weak mallctl

int fg_version_from_soname(const char *path, char *out, size_t out_len) {
  const char *so = strstr(path, ".so.");
  if (so == NULL || so[4] == 0 || out_len == 0) return 0;
  snprintf(out, out_len, "%s", so + 4);
  return 1;
}

// library_path resolves the file that holds |symbol| into |out|.
static int library_path(const void *symbol, char *out, size_t out_len) {
  Dl_info info;
  if (dladdr(symbol, &info) == 0 || info.dli_fname == NULL) return 0;
  char resolved[PATH_MAX];
  const char *p = realpath(info.dli_fname, resolved) ? resolved : info.dli_fname;
  size_t n = strlen(p);
  if (n >= out_len) return 0;
  memcpy(out, p, n + 1);
  return 1;
}

// debian_package_version finds the installed Debian package that ships |path|
// (by its dpkg file list) and writes "package version" into |out|.
static int debian_package_version(const char *pkg, const char *path, char *out, size_t out_len) {
  char list[256];
  snprintf(list, sizeof(list), "/var/lib/dpkg/info/%s:amd64.list", pkg);
  FILE *f = fopen(list, "r");
  if (f == NULL) return 0;
  char line[PATH_MAX];
  int owned = 0;
  while (!owned && fgets(line, sizeof(line), f) != NULL) {
    line[strcspn(line, "\n")] = 0;
    char resolved[PATH_MAX];
    if (realpath(line, resolved) != NULL && strcmp(resolved, path) == 0) owned = 1;
  }
  fclose(f);
  if (!owned) return 0;
  f = fopen("/var/lib/dpkg/status", "r");
  if (f == NULL) return 0;
  int in_pkg = 0, found = 0;
  while (!found && fgets(line, sizeof(line), f) != NULL) {
    if (strncmp(line, "Package: ", 9) == 0) {
      line[strcspn(line, "\n")] = 0;
      in_pkg = strcmp(line + 9, pkg) == 0;
    } else if (in_pkg && strncmp(line, "Version: ", 9) == 0) {
      line[strcspn(line, "\n")] = 0;
      snprintf(out, out_len, "%s %.*s", pkg, 64, line + 9);
      found = 1;
    }
  }
  fclose(f);
  return found;
}

int fg_version_jemalloc(char *out, size_t out_len) {
  if (&mallctl == NULL) return 0;
  const char *v = NULL;
  size_t len = sizeof(v);
  if (mallctl("version", &v, &len, NULL, 0) != 0 || v == NULL) return 0;
  snprintf(out, out_len, "%s", v);
  return 1;
}

// jemalloc_is_allocator proves that malloc() is served by jemalloc: the
// malloc symbol lives in libjemalloc, and an allocation moves jemalloc's own
// counter of allocated bytes.
static int jemalloc_is_allocator(const char *jemalloc_path) {
  char malloc_path[PATH_MAX];
  if (!library_path((const void *)malloc, malloc_path, sizeof(malloc_path))) return 0;
  if (strcmp(malloc_path, jemalloc_path) != 0) return 0;
  uint64_t epoch = 1;
  size_t sz = sizeof(epoch);
  size_t before = 0, after = 0, len = sizeof(size_t);
  mallctl("epoch", &epoch, &sz, &epoch, sz);
  if (mallctl("stats.allocated", &before, &len, NULL, 0) != 0) return 1;  // stats disabled
  void *volatile p = malloc(1 << 20);
  mallctl("epoch", &epoch, &sz, &epoch, sz);
  mallctl("stats.allocated", &after, &len, NULL, 0);
  free(p);
  return after >= before + (1 << 20);
}

int fg_version_print(FILE *out) {
  char path[PATH_MAX], ver[256], pkg[256];
  struct utsname u;
  fprintf(out, "fedgate %s\n", FEDGATE_VERSION);

  if (library_path((const void *)SSL_new, path, sizeof(path))) {
    if (!debian_package_version("android-libboringssl", path, pkg, sizeof(pkg))) {
      snprintf(pkg, sizeof(pkg), "package unknown");
    }
    fprintf(out, "BoringSSL: %s, API version %d (%s) [%s]\n", OpenSSL_version(OPENSSL_VERSION),
            BORINGSSL_API_VERSION, pkg, path);
  }
  if (library_path((const void *)io_uring_queue_init, path, sizeof(path))) {
    if (!fg_version_from_soname(path, ver, sizeof(ver))) snprintf(ver, sizeof(ver), "unknown");
    fprintf(out, "liburing: %s [%s]\n", ver, path);
  }
  int is_allocator = 0;
  if (&mallctl == NULL) {
    fprintf(out, "jemalloc: not linked (sanitizer build: NOT the process allocator)\n");
  } else if (library_path((const void *)mallctl, path, sizeof(path)) &&
             fg_version_jemalloc(ver, sizeof(ver))) {
    is_allocator = jemalloc_is_allocator(path);
    fprintf(out, "jemalloc: %s [%s]%s\n", ver, path,
            is_allocator ? " (process allocator)" : " (NOT the process allocator)");
  }
  fg_xml_simd xml = fg_xml_simd_active();
  fprintf(out, "xml parser: %s scanners (AVX2 scanners %s on this CPU)\n", fg_xml_simd_name(xml),
          fg_xml_simd_available(FG_XML_SIMD_AVX2) ? "available" : "not available");
  fprintf(out, "xml parser path: %s (%s; copies in this binary:", fg_xml_simd_name(xml),
          fg_xml_simd_forced() ? "forced by " FG_XML_SIMD_ENV : "chosen by CPU detection");
  const char *sep = " ";
  for (int s = 0; s < FG_XML_SIMD_COUNT; s++) {
    if (!fg_xml_simd_built((fg_xml_simd)s)) continue;
    fprintf(out, "%s%s", sep, fg_xml_simd_name((fg_xml_simd)s));
    sep = ", ";
  }
  fprintf(out, ")\n");
  if (uname(&u) == 0) fprintf(out, "kernel: %s %s\n", u.sysname, u.release);
  return is_allocator;
}
