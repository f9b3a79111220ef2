// admin_client.c: connect (getaddrinfo, every address in turn, or a Unix
// socket), write the request, read until the server closes, split the
// status line and the body.
#include "gateway/cli/admin_client.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

// kMaxAnswer bounds what is read (a /streams listing of a busy gateway).
static const size_t kMaxAnswer = 64u << 20;

static int connect_unix(const char *path, char *err, size_t cap) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) {
    snprintf(err, cap, "socket path too long: %s", path);
    return -1;
  }
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) return fd;
  snprintf(err, cap, "cannot connect to %s: %s", path, strerror(errno));
  if (fd >= 0) close(fd);
  return -1;
}

static int connect_tcp(const fg_ctl_request *req, char *err, size_t cap) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
  int rc = getaddrinfo(req->host, req->port, &hints, &res);
  if (rc != 0) {
    snprintf(err, cap, "cannot connect to %s: %s", req->admin, gai_strerror(rc));
    return -1;
  }
  int fd = -1, last = 0;
  for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      last = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) snprintf(err, cap, "cannot connect to %s: %s", req->admin, strerror(last));
  return fd;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return 0;
    p += w;
    n -= (size_t)w;
  }
  return 1;
}

// read_all reads until EOF into a new buffer.
static char *read_all(int fd, size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  while (buf != NULL) {
    if (n == cap) {
      char *more = cap < kMaxAnswer ? realloc(buf, 2 * cap + 1) : NULL;
      if (more == NULL) break;
      buf = more;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  if (buf != NULL) buf[n] = 0;
  *len = n;
  return buf;
}

fg_admin_call_result fg_admin_call(const fg_ctl_request *req, int *status, char **body,
                                   size_t *body_len, char *err, size_t cap) {
  int fd = req->socket_path ? connect_unix(req->socket_path, err, cap) : connect_tcp(req, err, cap);
  if (fd < 0) return FG_ADMIN_CALL_CONNECT;
  char head[1024];
  int is_post = strcmp(req->method, "POST") == 0;
  int h =
      snprintf(head, sizeof(head),
               "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s"
               "Content-Length: %zu\r\n\r\n",
               req->method, req->path, req->socket_path ? "localhost" : req->admin,
               is_post ? "Content-Type: application/x-www-form-urlencoded\r\n" : "", req->body_len);
  const char *where = req->socket_path ? req->socket_path : req->admin;
  if (!write_all(fd, head, (size_t)h) || !write_all(fd, req->body, req->body_len)) {
    snprintf(err, cap, "%s: the request could not be sent: %s", where, strerror(errno));
    close(fd);
    return FG_ADMIN_CALL_PROTOCOL;
  }
  size_t n = 0;
  char *answer = read_all(fd, &n);
  close(fd);
  int code = 0;
  char *sep = answer ? strstr(answer, "\r\n\r\n") : NULL;
  if (answer == NULL || sscanf(answer, "HTTP/1.%*d %3d", &code) != 1 || sep == NULL) {
    snprintf(err, cap, "%s: no HTTP answer", where);
    free(answer);
    return FG_ADMIN_CALL_PROTOCOL;
  }
  *status = code;
  *body_len = n - (size_t)(sep + 4 - answer);
  memmove(answer, sep + 4, *body_len + 1);
  *body = answer;
  return FG_ADMIN_CALL_OK;
}
