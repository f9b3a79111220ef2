// ticket_key_file_test.c: the shared ticket key file (crypto/ticket_key_file.c):
// parsing (comments, blanks, CRLF; malformed lines named by number), the
// commands' operations (new refuses to overwrite; rotate adds the newest key
// last and retires the oldest beyond --keep), atomic replacement with mode
// 0600, and a malformed file left untouched.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <pthread.h>

#include <cmocka.h>

#include <openssl/base64.h>

#include "crypto/ticket_key_file.h"

static char g_dir[256];

static int setup(void **state) {
  const char *base = getenv("TEST_TMPDIR");
  snprintf(g_dir, sizeof(g_dir), "%s/tkfXXXXXX", base ? base : "/tmp");
  return mkdtemp(g_dir) ? 0 : -1;
}

static void path_of(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", g_dir, name);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

// key_line writes the base64 line of 80 bytes all equal to |fill| (|len|
// bytes to test other sizes).
static void key_line(char *out, uint8_t fill, size_t len) {
  uint8_t raw[128];
  memset(raw, fill, sizeof(raw));
  size_t n = EVP_EncodeBlock((uint8_t *)out, raw, len);
  out[n] = 0;
}

static int parse(const char *text, fg_ticket_key *keys, size_t *n, char *err) {
  return fg_ticket_keys_parse(keys, FG_TICKET_KEYS_MAX, n, (const uint8_t *)text, strlen(text), err,
                              200);
}

static void test_parse_comments_blanks_crlf_layout(void **state) {
  char a[160], b[160], text[512];
  key_line(a, 0x11, 80);
  key_line(b, 0x22, 80);
  // A key's bytes: name 16, HMAC key 32, AES key 32 (nginx's 80-byte layout).
  uint8_t raw[80];
  for (int i = 0; i < 80; i++) raw[i] = (uint8_t)i;
  char c[160];
  c[EVP_EncodeBlock((uint8_t *)c, raw, 80)] = 0;
  snprintf(text, sizeof(text), "# shared keys\n\n  %s  \r\n%s\n\t# newest:\n%s", a, b, c);
  fg_ticket_key keys[FG_TICKET_KEYS_MAX];
  size_t n = 0;
  char err[200];
  assert_true(parse(text, keys, &n, err));
  assert_int_equal(n, 3);
  assert_int_equal(keys[0].name[0], 0x11);
  assert_int_equal(keys[1].aes_key[31], 0x22);
  assert_int_equal(keys[2].name[15], 15);
  assert_int_equal(keys[2].hmac_key[0], 16);
  assert_int_equal(keys[2].aes_key[0], 48);
  assert_int_equal(keys[2].aes_key[31], 79);
}

static void test_parse_refuses_malformed_with_line(void **state) {
  char k48[160], k81[160], good[160], text[600], err[200];
  key_line(k48, 1, 48);
  key_line(k81, 1, 81);
  key_line(good, 2, 80);
  fg_ticket_key keys[FG_TICKET_KEYS_MAX];
  size_t n = 0;
  snprintf(text, sizeof(text), "%s\n%s\n", good, k48);
  assert_false(parse(text, keys, &n, err));
  assert_non_null(strstr(err, "line 2"));
  assert_non_null(strstr(err, "48-byte"));
  snprintf(text, sizeof(text), "#x\n%s\n", k81);
  assert_false(parse(text, keys, &n, err));
  assert_non_null(strstr(err, "line 2"));
  assert_false(parse("not*base64*at*all!!\n", keys, &n, err));
  assert_non_null(strstr(err, "line 1"));
  assert_false(parse("# only a comment\n\n", keys, &n, err));
  assert_non_null(strstr(err, "no key"));
  assert_false(parse("", keys, &n, err));
  snprintf(text, sizeof(text), "%s\n%s\n", good, good);
  assert_false(parse(text, keys, &n, err));
  assert_non_null(strstr(err, "same key name"));
  // More keys than the caller has room for.
  char many[200 * 20] = "";
  for (int i = 0; i < FG_TICKET_KEYS_MAX + 1; i++) {
    char line[160];
    key_line(line, (uint8_t)(i + 1), 80);
    strcat(many, line);
    strcat(many, "\n");
  }
  assert_false(parse(many, keys, &n, err));
  assert_non_null(strstr(err, "more than"));
}

static mode_t mode_of(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return st.st_mode & 0777;
}

static ino_t inode_of(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return st.st_ino;
}

// leftovers counts files in the test directory other than |keep|.
static int leftovers(const char *keep) {
  DIR *d = opendir(g_dir);
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, keep)) n++;
  }
  closedir(d);
  return n;
}

static void test_new_writes_one_key_0600_and_refuses_existing(void **state) {
  char path[300], err[300];
  path_of(path, sizeof(path), "new.keys");
  umask(022);
  assert_true(fg_ticket_keys_file_new(path, err, sizeof(err)));
  assert_int_equal(mode_of(path), 0600);
  fg_ticket_key keys[FG_TICKET_KEYS_MAX];
  size_t n = 0;
  assert_true(fg_ticket_keys_read_file(path, keys, FG_TICKET_KEYS_MAX, &n, err, sizeof(err)));
  assert_int_equal(n, 1);
  assert_false(fg_ticket_keys_file_new(path, err, sizeof(err)));
  assert_non_null(strstr(err, "exists"));
  assert_int_equal(leftovers("new.keys"), 0);
  unlink(path);
}

static void test_rotate_appends_newest_and_retires_oldest(void **state) {
  char path[300], err[300];
  path_of(path, sizeof(path), "rot.keys");
  assert_true(fg_ticket_keys_file_new(path, err, sizeof(err)));
  fg_ticket_key before[FG_TICKET_KEYS_MAX], after[FG_TICKET_KEYS_MAX];
  size_t nb = 0, na = 0;
  assert_true(fg_ticket_keys_read_file(path, before, FG_TICKET_KEYS_MAX, &nb, err, sizeof(err)));
  for (int i = 0; i < 2; i++) assert_true(fg_ticket_keys_file_rotate(path, 3, err, sizeof(err)));
  assert_true(fg_ticket_keys_read_file(path, after, FG_TICKET_KEYS_MAX, &na, err, sizeof(err)));
  assert_int_equal(na, 3);
  assert_memory_equal(&after[0], &before[0], sizeof(fg_ticket_key));  // oldest first
  // A fourth key retires the first one; the others keep their order.
  ino_t ino = inode_of(path);
  assert_true(fg_ticket_keys_file_rotate(path, 3, err, sizeof(err)));
  assert_true(inode_of(path) != ino);  // replaced by rename, never rewritten in place
  assert_int_equal(mode_of(path), 0600);
  fg_ticket_key third[FG_TICKET_KEYS_MAX];
  size_t n3 = 0;
  assert_true(fg_ticket_keys_read_file(path, third, FG_TICKET_KEYS_MAX, &n3, err, sizeof(err)));
  assert_int_equal(n3, 3);
  assert_memory_equal(&third[0], &after[1], sizeof(fg_ticket_key));
  assert_memory_equal(&third[1], &after[2], sizeof(fg_ticket_key));
  assert_memory_not_equal(third[2].name, after[2].name, 16);
  // --keep 1: only the new key is left.
  assert_true(fg_ticket_keys_file_rotate(path, 1, err, sizeof(err)));
  assert_true(fg_ticket_keys_read_file(path, after, FG_TICKET_KEYS_MAX, &na, err, sizeof(err)));
  assert_int_equal(na, 1);
  assert_false(fg_ticket_keys_file_rotate(path, 0, err, sizeof(err)));
  assert_non_null(strstr(err, "--keep 0"));
  assert_int_equal(leftovers("rot.keys"), 0);
  unlink(path);
}

static void test_rotate_leaves_a_corrupt_file_untouched(void **state) {
  char path[300], err[300];
  path_of(path, sizeof(path), "bad.keys");
  write_text(path, "# broken\nAAAA\n");
  ino_t ino = inode_of(path);
  assert_false(fg_ticket_keys_file_rotate(path, 3, err, sizeof(err)));
  assert_non_null(strstr(err, "line 2"));
  assert_int_equal(inode_of(path), ino);
  FILE *f = fopen(path, "rb");
  char buf[64] = {0};
  assert_true(fread(buf, 1, sizeof(buf) - 1, f) > 0);
  fclose(f);
  assert_string_equal(buf, "# broken\nAAAA\n");
  assert_int_equal(leftovers("bad.keys"), 0);
  unlink(path);
  // Missing file, unwritable place.
  assert_false(fg_ticket_keys_file_rotate(path, 3, err, sizeof(err)));
  assert_non_null(strstr(err, "cannot open"));
  assert_false(fg_ticket_keys_file_new("/nonexistent-dir/x.keys", err, sizeof(err)));
  assert_non_null(strstr(err, "temporary file"));
}

// Only a regular file is read: a FIFO put in the key file's place would
// block the reader (a gateway's worker re-reading the file) until someone
// writes to it, and a directory holds no keys. Both are refused at once,
// and rotation leaves them as they are.
static void test_read_refuses_what_is_not_a_regular_file(void **state) {
  char fifo[300], dir[300], err[300];
  path_of(fifo, sizeof(fifo), "fifo.keys");
  path_of(dir, sizeof(dir), "dir.keys");
  assert_int_equal(mkfifo(fifo, 0600), 0);
  assert_int_equal(mkdir(dir, 0700), 0);
  alarm(10);  // a reader blocked on the FIFO fails the test instead of hanging it
  fg_ticket_key keys[FG_TICKET_KEYS_MAX];
  size_t n = 0;
  const char *paths[] = {fifo, dir};
  for (int i = 0; i < 2; i++) {
    assert_false(
        fg_ticket_keys_read_file(paths[i], keys, FG_TICKET_KEYS_MAX, &n, err, sizeof(err)));
    if (strstr(err, "not a regular file") == NULL) fail_msg("%s", err);
    assert_false(fg_ticket_keys_file_rotate(paths[i], 3, err, sizeof(err)));
    if (strstr(err, "not a regular file") == NULL) fail_msg("%s", err);
  }
  alarm(0);
  struct stat st;
  assert_int_equal(lstat(fifo, &st), 0);
  assert_true(S_ISFIFO(st.st_mode));
  unlink(fifo);
  rmdir(dir);
  assert_int_equal(leftovers(""), 0);
}

// A key file reached through a symbolic link (shared storage linked into
// /etc/fedgate): rotation replaces the file the link names, so every
// instance reading it through its own link sees the new key, and the link
// stays a link.
static void test_rotate_through_a_symlink_replaces_its_target(void **state) {
  char real[300], link_path[300], err[300];
  path_of(real, sizeof(real), "target.keys");
  path_of(link_path, sizeof(link_path), "link.keys");
  assert_true(fg_ticket_keys_file_new(real, err, sizeof(err)));
  assert_int_equal(symlink(real, link_path), 0);
  assert_true(fg_ticket_keys_file_rotate(link_path, 3, err, sizeof(err)));
  struct stat st;
  assert_int_equal(lstat(link_path, &st), 0);
  if (!S_ISLNK(st.st_mode)) fail_msg("the link was replaced by a file");
  fg_ticket_key keys[FG_TICKET_KEYS_MAX];
  size_t n = 0;
  assert_true(fg_ticket_keys_read_file(real, keys, FG_TICKET_KEYS_MAX, &n, err, sizeof(err)));
  assert_int_equal(n, 2);
  assert_int_equal(mode_of(real), 0600);
  unlink(link_path);
  unlink(real);
  assert_int_equal(leftovers(""), 0);
}

// --- writers at the same time ---

enum { kWriters = 8 };

typedef struct writer {
  pthread_t thread;
  pthread_barrier_t *start;
  const char *path;
  int rotate;  // 1: rotate --keep FG_TICKET_KEYS_MAX; 0: new
  int ok;
  char err[300];
} writer;

static void *write_once(void *arg) {
  writer *w = arg;
  pthread_barrier_wait(w->start);
  w->ok = w->rotate
              ? fg_ticket_keys_file_rotate(w->path, FG_TICKET_KEYS_MAX, w->err, sizeof(w->err))
              : fg_ticket_keys_file_new(w->path, w->err, sizeof(w->err));
  return NULL;
}

// run_writers starts kWriters threads on |path| at once and returns how many
// succeeded.
static int run_writers(const char *path, int rotate, writer *ws) {
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, kWriters);
  for (int i = 0; i < kWriters; i++) {
    ws[i] = (writer){.start = &start, .path = path, .rotate = rotate};
    assert_int_equal(pthread_create(&ws[i].thread, NULL, write_once, &ws[i]), 0);
  }
  int ok = 0;
  for (int i = 0; i < kWriters; i++) {
    pthread_join(ws[i].thread, NULL);
    ok += ws[i].ok;
  }
  pthread_barrier_destroy(&start);
  return ok;
}

// Rotations at the same time (two operators, a timer and an operator, two
// machines on a shared directory) each add their key: one read-modify-write
// never replaces the file under another, so no key that succeeded is lost
// and the oldest is still first.
static void test_rotate_concurrent_rotations_lose_no_key(void **state) {
  char path[300], err[300];
  path_of(path, sizeof(path), "conc.keys");
  assert_true(fg_ticket_keys_file_new(path, err, sizeof(err)));
  fg_ticket_key first[FG_TICKET_KEYS_MAX], keys[FG_TICKET_KEYS_MAX];
  size_t n = 0;
  assert_true(fg_ticket_keys_read_file(path, first, FG_TICKET_KEYS_MAX, &n, err, sizeof(err)));
  for (int round = 0; round < 3; round++) {
    // Back to one key for each round.
    assert_true(fg_ticket_keys_file_rotate(path, 1, err, sizeof(err)));
    writer ws[kWriters];
    int ok = run_writers(path, 1, ws);
    for (int i = 0; i < kWriters; i++) {
      if (!ws[i].ok) fail_msg("rotation %d failed: %s", i, ws[i].err);
    }
    assert_int_equal(ok, kWriters);
    assert_true(fg_ticket_keys_read_file(path, keys, FG_TICKET_KEYS_MAX, &n, err, sizeof(err)));
    if (n != 1 + kWriters) fail_msg("round %d: %zu keys, want %d", round, n, 1 + kWriters);
    assert_int_equal(mode_of(path), 0600);
  }
  assert_int_equal(leftovers("conc.keys"), 0);
  unlink(path);
}

// 'new' at the same time: exactly one writes the file, the others are told
// it exists; none replaces a key file another one wrote.
static void test_new_concurrent_exactly_one_writes(void **state) {
  char path[300];
  path_of(path, sizeof(path), "once.keys");
  for (int round = 0; round < 3; round++) {
    writer ws[kWriters];
    int ok = run_writers(path, 0, ws);
    if (ok != 1) fail_msg("round %d: %d of %d 'new' succeeded", round, ok, kWriters);
    for (int i = 0; i < kWriters; i++) {
      if (!ws[i].ok) assert_non_null(strstr(ws[i].err, "exists"));
    }
    assert_int_equal(mode_of(path), 0600);
    assert_int_equal(leftovers("once.keys"), 0);
    unlink(path);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_comments_blanks_crlf_layout),
      cmocka_unit_test(test_parse_refuses_malformed_with_line),
      cmocka_unit_test(test_new_writes_one_key_0600_and_refuses_existing),
      cmocka_unit_test(test_rotate_appends_newest_and_retires_oldest),
      cmocka_unit_test(test_rotate_leaves_a_corrupt_file_untouched),
      cmocka_unit_test(test_read_refuses_what_is_not_a_regular_file),
      cmocka_unit_test(test_rotate_through_a_symlink_replaces_its_target),
      cmocka_unit_test(test_rotate_concurrent_rotations_lose_no_key),
      cmocka_unit_test(test_new_concurrent_exactly_one_writes),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
