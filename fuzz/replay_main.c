// replay_main.c: runs each file named on the command line (or each file inside
// a named directory) through LLVMFuzzerTestOneInput once. Linked into fuzz
// targets when libFuzzer is not, so that `make test` replays every corpus.
// One replay is one test case however many seeds it replays: it ends with
// "1 passed, 0 failed" or "0 passed, 1 failed" (tools/run-tests.sh counts that
// line). A crash fails it through the exit status; a path that cannot be
// read, or a corpus without a single input, fails it too.
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 0;
  }
  size_t cap = 4096, len = 0;
  uint8_t *buf = malloc(cap);
  size_t n;
  while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
    }
  }
  fclose(f);
  if (buf == NULL) return 0;
  // Copy into an exact-size allocation so ASan catches reads past the end.
  uint8_t *exact = malloc(len ? len : 1);
  memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 1;
}

static int replay_path(const char *path, int *files) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "replay: no such file or directory: %s\n", path);
    return 0;
  }
  if (!S_ISDIR(st.st_mode)) {
    if (!replay_file(path)) return 0;
    (*files)++;
    return 1;
  }
  DIR *d = opendir(path);
  if (d == NULL) return 0;
  struct dirent *e;
  int ok = 1;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char child[4096];
    snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
    ok &= replay_path(child, files);
  }
  closedir(d);
  return ok;
}

int main(int argc, char **argv) {
  if (LLVMFuzzerInitialize != NULL) LLVMFuzzerInitialize(&argc, &argv);
  int files = 0, ok = 1;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-') continue;  // libFuzzer-style flags are ignored here
    ok &= replay_path(argv[i], &files);
  }
  if (files == 0) {
    fprintf(stderr, "replay: no inputs replayed\n");
    ok = 0;
  }
  printf("replayed %d inputs\n", files);
  printf("%d passed, %d failed\n", ok, !ok);
  return ok ? 0 : 1;
}
