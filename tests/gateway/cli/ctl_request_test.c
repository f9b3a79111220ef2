// ctl_request_test.c: `fedgate ctl` arguments to admin requests (method,
// path, form body, address) and the usage errors.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway/cli/ctl_request.h"

enum { kMaxArgs = 12 };

typedef struct ok_case {
  const char *argv[kMaxArgs];
  const char *method, *path, *body;
  const char *host, *port, *socket_path;
} ok_case;

static const ok_case kOk[] = {
    {{"ctl", "status"}, "GET", "/ready", "", "127.0.0.1", "5280", NULL},
    {{"ctl", "--admin", "[::1]:9000", "streams"}, "GET", "/streams", "", "::1", "9000", NULL},
    {{"ctl", "--admin=localhost:80", "backends"}, "GET", "/backends", "", "localhost", "80", NULL},
    {{"ctl", "--socket", "/run/fedgate/admin.sock", "close", "stream", "3f2a-01", "--reason",
      "abuse & spam"},
     "POST",
     "/streams/close",
     "id=3f2a-01&reason=abuse%20%26%20spam",
     "127.0.0.1",
     "5280",
     "/run/fedgate/admin.sock"},
    {{"ctl", "drain", "backend", "pool/10.0.0.1:5269"},
     "POST",
     "/backends/drain",
     "name=pool%2F10.0.0.1%3A5269",
     "127.0.0.1",
     "5280",
     NULL},
    {{"ctl", "undrain", "backend", "pool"},
     "POST",
     "/backends/undrain",
     "name=pool",
     "127.0.0.1",
     "5280",
     NULL},
    {{"ctl", "reload"}, "POST", "/reload", "", "127.0.0.1", "5280", NULL},
    {{"ctl", "add", "domain", "new.example", "--backend", "main"},
     "POST",
     "/domains/add",
     "domain=new.example&backend=main",
     "127.0.0.1",
     "5280",
     NULL},
    // Options in any order; files that do not exist here are sent as given.
    {{"ctl", "add", "domain", "new.example", "--key", "/nonexistent/k.pem", "--backend", "main",
      "--cert", "/nonexistent/c.pem"},
     "POST",
     "/domains/add",
     "domain=new.example&backend=main&cert=%2Fnonexistent%2Fc.pem&key=%2Fnonexistent%2Fk.pem",
     "127.0.0.1",
     "5280",
     NULL},
    {{"ctl", "remove", "domain", "old.example"},
     "POST",
     "/domains/remove",
     "domain=old.example",
     "127.0.0.1",
     "5280",
     NULL},
    {{"ctl", "--admin", "127.0.0.1:8080", "block", "domain", "spam.example", "--reason",
      "spam wave"},
     "POST",
     "/blocks/add",
     "domain=spam.example&reason=spam%20wave",
     "127.0.0.1",
     "8080",
     NULL},
    {{"ctl", "block", "sender", "eve@spam.example"},
     "POST",
     "/blocks/add",
     "jid=eve%40spam.example",
     "127.0.0.1",
     "5280",
     NULL},
    {{"ctl", "unblock", "domain", "*.spam.example"},
     "POST",
     "/blocks/remove",
     "domain=%2A.spam.example",
     "127.0.0.1",
     "5280",
     NULL},
    {{"ctl", "explain", "spam.example"},
     "POST",
     "/blocks/explain",
     "domain=spam.example",
     "127.0.0.1",
     "5280",
     NULL},
    {{"ctl", "list", "blocks"}, "GET", "/blocks", "", "127.0.0.1", "5280", NULL},
};

static int count_args(const char *const *argv) {
  int n = 0;
  while (n < kMaxArgs && argv[n] != NULL) n++;
  return n;
}

static void test_ctl_parse_requests(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(kOk) / sizeof(kOk[0]); i++) {
    const ok_case *c = &kOk[i];
    fg_ctl_request req;
    char err[256] = "";
    if (!fg_ctl_parse(&req, err, sizeof(err), count_args(c->argv), (char **)c->argv)) {
      fail_msg("case %zu (%s): %s", i, c->argv[1], err);
    }
    assert_string_equal(req.method, c->method);
    assert_string_equal(req.path, c->path);
    assert_int_equal(req.body_len, strlen(c->body));
    assert_string_equal(req.body, c->body);
    assert_string_equal(req.host, c->host);
    assert_string_equal(req.port, c->port);
    if (c->socket_path == NULL) {
      assert_null(req.socket_path);
    } else {
      assert_string_equal(req.socket_path, c->socket_path);
    }
  }
}

// The gateway's working directory is not ours: a file that exists is sent
// by its absolute name.
static void test_ctl_parse_sends_files_absolute(void **state) {
  (void)state;
  const char *dir = getenv("TEST_TMPDIR");
  assert_int_equal(chdir(dir != NULL ? dir : "/tmp"), 0);
  FILE *f = fopen("ctl-cert.pem", "w");
  assert_non_null(f);
  fclose(f);
  const char *argv[] = {"ctl", "add",    "domain",       "d.example", "--backend",
                        "b",   "--cert", "ctl-cert.pem", "--key",     "ctl-cert.pem"};
  fg_ctl_request req;
  char err[256];
  assert_int_equal(fg_ctl_parse(&req, err, sizeof(err), 10, (char **)argv), 1);
  char *cert = strstr(req.body, "&cert=%2F");
  assert_non_null(cert);
  assert_non_null(strstr(cert, "ctl-cert.pem&key=%2F"));
  unlink("ctl-cert.pem");
}

typedef struct bad_case {
  const char *argv[kMaxArgs];
  const char *err;  // a part of the message
} bad_case;

static const bad_case kBad[] = {
    {{"ctl"}, "missing command"},
    {{"ctl", "frobnicate"}, "unknown command 'frobnicate'"},
    {{"ctl", "close"}, "missing object after 'close'"},
    {{"ctl", "close", "socket", "x"}, "unknown object 'socket' for 'close'"},
    {{"ctl", "close", "stream"}, "missing ID"},
    {{"ctl", "close", "stream", ""}, "ID must not be empty"},
    {{"ctl", "close", "stream", "a", "b"}, "unexpected argument 'b'"},
    {{"ctl", "close", "stream", "a", "--force"}, "unknown option '--force' for 'close'"},
    {{"ctl", "close", "stream", "a", "--reason"}, "--reason needs a value"},
    {{"ctl", "close", "stream", "a", "--reason", "x", "--reason", "y"}, "--reason given twice"},
    {{"ctl", "status", "now"}, "unexpected argument 'now'"},
    {{"ctl", "block", "domain"}, "missing D|*.SUFFIX|SHA256"},
    {{"ctl", "block", "everyone"}, "unknown object 'everyone' for 'block'"},
    {{"ctl", "explain"}, "missing D|JID"},
    {{"ctl", "explain", "a.example", "b.example"}, "unexpected argument 'b.example'"},
    {{"ctl", "add", "domain", "d"}, "missing --backend"},
    {{"ctl", "add", "domain", "d", "--backend", "b", "--cert", "c"}, "--cert needs --key too"},
    {{"ctl", "add", "domain", "d", "--backend", "b", "--key", "k"}, "--key needs --cert too"},
    {{"ctl", "--admin"}, "--admin needs a value"},
    {{"ctl", "--admin", "localhost", "status"}, "expected HOST:PORT"},
    {{"ctl", "--admin", "::1:80", "status"}, "expected HOST:PORT"},
    {{"ctl", "--admin", "[::1]80", "status"}, "expected [IPv6]:PORT"},
    {{"ctl", "--admin", "h:0", "status"}, "port from 1 to 65535"},
    {{"ctl", "--admin", "h:65536", "status"}, "port from 1 to 65535"},
    {{"ctl", "--admin", "h:8x", "status"}, "port from 1 to 65535"},
    {{"ctl", "--admin", ":80", "status"}, "port from 1 to 65535"},
    {{"ctl", "--socket=", "status"}, "--socket needs a path"},
    {{"ctl", "--admin", "h:1", "--socket", "/s", "status"}, "exclude each other"},
    {{"ctl", "--verbose", "status"}, "unknown option '--verbose'"},
};

static void test_ctl_parse_usage_errors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    const bad_case *c = &kBad[i];
    fg_ctl_request req;
    char err[256] = "";
    if (fg_ctl_parse(&req, err, sizeof(err), count_args(c->argv), (char **)c->argv)) {
      fail_msg("case %zu accepted", i);
    }
    if (strstr(err, c->err) == NULL) fail_msg("case %zu: '%s' lacks '%s'", i, err, c->err);
  }
}

static void test_ctl_parse_refuses_what_does_not_fit(void **state) {
  (void)state;
  static char reason[FG_CTL_MAX_BODY];
  memset(reason, ' ', sizeof(reason) / 2);  // each space takes three bytes encoded
  const char *argv[] = {"ctl", "close", "stream", "a", "--reason", reason};
  fg_ctl_request req;
  char err[256] = "";
  assert_int_equal(fg_ctl_parse(&req, err, sizeof(err), 6, (char **)argv), 0);
  assert_non_null(strstr(err, "arguments too long"));
}

static void test_ctl_usage_lists_every_command(void **state) {
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  fg_ctl_usage(f);
  fclose(f);
  static const char *const kWant[] = {"status",
                                      "streams",
                                      "backends",
                                      "close stream ID [--reason VALUE]",
                                      "drain backend NAME[/HOST:PORT]",
                                      "undrain backend NAME[/HOST:PORT]",
                                      "reload",
                                      "add domain D --backend VALUE [--cert FILE] [--key FILE]",
                                      "remove domain D",
                                      "3 cannot connect"};
  for (size_t i = 0; i < sizeof(kWant) / sizeof(kWant[0]); i++) {
    if (strstr(text, kWant[i]) == NULL) fail_msg("usage lacks '%s':\n%s", kWant[i], text);
  }
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ctl_parse_requests),
      cmocka_unit_test(test_ctl_parse_sends_files_absolute),
      cmocka_unit_test(test_ctl_parse_usage_errors),
      cmocka_unit_test(test_ctl_parse_refuses_what_does_not_fit),
      cmocka_unit_test(test_ctl_usage_lists_every_command),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
