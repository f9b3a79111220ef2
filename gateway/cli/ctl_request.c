// ctl_request.c: the table of `fedgate ctl` commands and the parser that
// turns arguments into an admin request (method, path, form body).
#include "gateway/cli/ctl_request.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/server/admin_form.h"

enum { kMaxOptions = 4 };

// ctl_option is one --flag VALUE of a command, sent as form key |key|.
typedef struct ctl_option {
  const char *flag;
  const char *key;
  int required;
  int is_path;        // a file name: sent absolute (the server's directory differs)
  const char *needs;  // another flag that must come with it, or NULL
} ctl_option;

typedef struct ctl_command {
  const char *verb;
  const char *object;  // NULL: the verb stands alone
  const char *method;
  const char *path;
  const char *arg_key;  // the form key of the one positional argument, or NULL
  const char *arg_name;
  ctl_option options[kMaxOptions];
  const char *summary;
} ctl_command;

static const ctl_command kCommands[] = {
    {"status", NULL, "GET", "/ready", NULL, NULL, {{0}}, "is the gateway ready"},
    {"streams", NULL, "GET", "/streams", NULL, NULL, {{0}}, "list streams and links"},
    {"backends", NULL, "GET", "/backends", NULL, NULL, {{0}}, "list backend addresses and state"},
    {"close",
     "stream",
     "POST",
     "/streams/close",
     "id",
     "ID",
     {{"--reason", "reason", 0, 0, NULL}},
     "close a stream (policy-violation) or link"},
    {"drain",
     "backend",
     "POST",
     "/backends/drain",
     "name",
     "NAME[/HOST:PORT]",
     {{0}},
     "route nothing new to a backend (or one address)"},
    {"undrain",
     "backend",
     "POST",
     "/backends/undrain",
     "name",
     "NAME[/HOST:PORT]",
     {{0}},
     "route to it again"},
    {"reload", NULL, "POST", "/reload", NULL, NULL, {{0}}, "reload the configuration file"},
    {"add",
     "domain",
     "POST",
     "/domains/add",
     "domain",
     "D",
     {{"--backend", "backend", 1, 0, NULL},
      {"--cert", "cert", 0, 1, "--key"},
      {"--key", "key", 0, 1, "--cert"}},
     "host a domain on a backend"},
    {"remove", "domain", "POST", "/domains/remove", "domain", "D", {{0}}, "stop hosting a domain"},
    {"block",
     "domain",
     "POST",
     "/blocks/add",
     "domain",
     "D|*.SUFFIX|SHA256",
     {{"--reason", "reason", 0, 0, NULL}},
     "refuse a remote domain (open streams close within a second)"},
    {"block",
     "sender",
     "POST",
     "/blocks/add",
     "jid",
     "JID",
     {{"--reason", "reason", 0, 0, NULL}},
     "refuse a remote sender's stanzas (listed by its SHA-256)"},
    {"unblock", "domain", "POST", "/blocks/remove", "domain", "D", {{0}}, "lift an admin block"},
    {"unblock", "sender", "POST", "/blocks/remove", "jid", "JID", {{0}}, "lift an admin block"},
    {"explain",
     NULL,
     "POST",
     "/blocks/explain",
     "domain",
     "D|JID",
     {{0}},
     "is it blocked, and why"},
    {"list", "blocks", "GET", "/blocks", NULL, NULL, {{0}}, "every block and allow list entry"},
};

static const size_t kNumCommands = sizeof(kCommands) / sizeof(kCommands[0]);

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
  return 0;
}

void fg_ctl_usage(FILE *out) {
  fprintf(out,
          "usage: fedgate ctl [--admin HOST:PORT | --socket PATH] COMMAND\n"
          "  (default --admin " FG_CTL_DEFAULT_ADMIN ")\ncommands:\n");
  for (size_t i = 0; i < kNumCommands; i++) {
    const ctl_command *c = &kCommands[i];
    char line[256];
    int n = snprintf(line, sizeof(line), "%s%s%s%s%s", c->verb, c->object ? " " : "",
                     c->object ? c->object : "", c->arg_name ? " " : "",
                     c->arg_name ? c->arg_name : "");
    for (int k = 0; k < kMaxOptions && c->options[k].flag && n > 0 && (size_t)n < sizeof(line);
         k++) {
      const ctl_option *o = &c->options[k];
      n += snprintf(line + n, sizeof(line) - (size_t)n, o->required ? " %s %s" : " [%s %s]",
                    o->flag, o->is_path ? "FILE" : "VALUE");
    }
    fprintf(out, "  %-50s %s\n", line, c->summary);
  }
  fprintf(out, "exit status: 0 done, 1 refused by the gateway, 2 usage, 3 cannot connect\n");
}

// parse_admin splits HOST:PORT or [IPv6]:PORT.
static int parse_admin(fg_ctl_request *req, const char *v, char *err, size_t cap) {
  const char *colon;
  size_t hlen;
  const char *host = v;
  if (v[0] == '[') {
    const char *close = strchr(v, ']');
    if (close == NULL || close[1] != ':')
      return fail(err, cap, "--admin: expected [IPv6]:PORT, got '%s'", v);
    host = v + 1;
    hlen = (size_t)(close - host);
    colon = close + 1;
  } else {
    colon = strrchr(v, ':');
    if (colon == NULL || strchr(v, ':') != colon) {
      return fail(err, cap, "--admin: expected HOST:PORT, got '%s'", v);
    }
    hlen = (size_t)(colon - v);
  }
  const char *port = colon + 1;
  char *end = NULL;
  long p = strtol(port, &end, 10);
  if (hlen == 0 || hlen >= sizeof(req->host) || *port == 0 || *end != 0 || p < 1 || p > 65535) {
    return fail(err, cap, "--admin: expected HOST:PORT with a port from 1 to 65535, got '%s'", v);
  }
  memcpy(req->host, host, hlen);
  req->host[hlen] = 0;
  snprintf(req->port, sizeof(req->port), "%ld", p);
  snprintf(req->admin, sizeof(req->admin), "%s", v);
  return 1;
}

// global_options reads --admin/--socket before the command; it returns the
// index of the command word, or -1.
static int global_options(fg_ctl_request *req, char *err, size_t cap, int argc, char **argv) {
  int i = 1, have_admin = 0;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    const char *a = argv[i];
    const char *v = NULL;
    int is_admin = strncmp(a, "--admin", 7) == 0 && (a[7] == 0 || a[7] == '=');
    int is_socket = strncmp(a, "--socket", 8) == 0 && (a[8] == 0 || a[8] == '=');
    if (!is_admin && !is_socket) return fail(err, cap, "unknown option '%s'", a), -1;
    const char *eq = strchr(a, '=');
    if (eq != NULL) {
      v = eq + 1;
    } else if (i + 1 < argc) {
      v = argv[++i];
    } else {
      return fail(err, cap, "%s needs a value", a), -1;
    }
    if (is_admin) {
      if (!parse_admin(req, v, err, cap)) return -1;
      have_admin = 1;
    } else {
      if (*v == 0) return fail(err, cap, "--socket needs a path"), -1;
      req->socket_path = v;
    }
  }
  if (have_admin && req->socket_path != NULL) {
    return fail(err, cap, "--admin and --socket exclude each other"), -1;
  }
  return i;
}

static const ctl_command *find_command(const char *verb, const char *object, int *used) {
  for (size_t i = 0; i < kNumCommands; i++) {
    const ctl_command *c = &kCommands[i];
    if (strcmp(c->verb, verb) != 0) continue;
    if (c->object == NULL) {
      *used = 1;
      return c;
    }
    if (object != NULL && strcmp(c->object, object) == 0) {
      *used = 2;
      return c;
    }
  }
  return NULL;
}

static int known_verb(const char *verb) {
  for (size_t i = 0; i < kNumCommands; i++) {
    if (strcmp(kCommands[i].verb, verb) == 0) return 1;
  }
  return 0;
}

static const ctl_option *find_option(const ctl_command *c, const char *flag) {
  for (int k = 0; k < kMaxOptions && c->options[k].flag; k++) {
    if (strcmp(c->options[k].flag, flag) == 0) return &c->options[k];
  }
  return NULL;
}

static int add_field(fg_ctl_request *req, const char *key, const char *value, char *err,
                     size_t cap) {
  if (fg_form_add(req->body, sizeof(req->body), &req->body_len, key, value)) return 1;
  return fail(err, cap, "arguments too long (more than %d bytes encoded)", FG_CTL_MAX_BODY - 1);
}

// command_arguments reads the positional argument and the options of |c|.
static int command_arguments(fg_ctl_request *req, const ctl_command *c, char *err, size_t cap,
                             int argc, char **argv, int i) {
  const char *given[kMaxOptions] = {0};
  int have_arg = 0;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0) {
      if (c->arg_key == NULL || have_arg) return fail(err, cap, "unexpected argument '%s'", a);
      if (*a == 0) return fail(err, cap, "%s must not be empty", c->arg_name);
      if (!add_field(req, c->arg_key, a, err, cap)) return 0;
      have_arg = 1;
      continue;
    }
    const ctl_option *o = find_option(c, a);
    if (o == NULL) return fail(err, cap, "unknown option '%s' for '%s'", a, c->verb);
    int k = (int)(o - c->options);
    if (given[k] != NULL) return fail(err, cap, "%s given twice", a);
    if (i + 1 >= argc || argv[i + 1][0] == 0) return fail(err, cap, "%s needs a value", a);
    given[k] = argv[++i];
  }
  if (c->arg_key != NULL && !have_arg) return fail(err, cap, "missing %s", c->arg_name);
  for (int k = 0; k < kMaxOptions && c->options[k].flag; k++) {
    const ctl_option *o = &c->options[k];
    if (o->required && given[k] == NULL) return fail(err, cap, "missing %s", o->flag);
    if (given[k] == NULL) continue;
    const ctl_option *needed = o->needs ? find_option(c, o->needs) : NULL;
    if (needed != NULL && given[needed - c->options] == NULL) {
      return fail(err, cap, "%s needs %s too", o->flag, o->needs);
    }
    char abs[PATH_MAX];
    const char *v = o->is_path && realpath(given[k], abs) != NULL ? abs : given[k];
    if (!add_field(req, o->key, v, err, cap)) return 0;
  }
  return 1;
}

int fg_ctl_parse(fg_ctl_request *req, char *err, size_t cap, int argc, char **argv) {
  memset(req, 0, sizeof(*req));
  parse_admin(req, FG_CTL_DEFAULT_ADMIN, err, cap);
  int i = global_options(req, err, cap, argc, argv);
  if (i < 0) return 0;
  if (i >= argc) return fail(err, cap, "missing command");
  int used = 0;
  const ctl_command *c = find_command(argv[i], i + 1 < argc ? argv[i + 1] : NULL, &used);
  if (c == NULL) {
    if (!known_verb(argv[i])) return fail(err, cap, "unknown command '%s'", argv[i]);
    if (i + 1 >= argc) return fail(err, cap, "missing object after '%s'", argv[i]);
    return fail(err, cap, "unknown object '%s' for '%s'", argv[i + 1], argv[i]);
  }
  req->method = c->method;
  req->path = c->path;
  return command_arguments(req, c, err, cap, argc, argv, i + used);
}
