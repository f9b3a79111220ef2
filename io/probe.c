// probe.c: tests each kernel feature fedgate uses by exercising it once on
// loopback sockets, and says why when one is missing.
#include "io/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

static const char *const kNames[FG_PROBE_COUNT] = {
    [FG_PROBE_IO_URING] = "io_uring",
    [FG_PROBE_SINGLE_ISSUER] = "SINGLE_ISSUER/DEFER_TASKRUN",
    [FG_PROBE_MULTISHOT_ACCEPT] = "multishot accept",
    [FG_PROBE_BUF_RING] = "provided buffer rings",
    [FG_PROBE_MULTISHOT_RECV] = "multishot recv",
    [FG_PROBE_MSG_RING] = "MSG_RING",
    [FG_PROBE_SEND_ZC] = "SEND_ZC",
    [FG_PROBE_KTLS] = "kTLS",
};

const char *fg_probe_name(fg_probe_cap cap) {
  return cap < FG_PROBE_COUNT ? kNames[cap] : "unknown";
}

static void set(fg_probe_result *r, fg_probe_cap cap, int yes, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include <stdarg.h>
static void set(fg_probe_result *r, fg_probe_cap cap, int yes, const char *fmt, ...) {
  va_list ap;
  r->available[cap] = yes;
  va_start(ap, fmt);
  vsnprintf(r->reason[cap], sizeof(r->reason[cap]), fmt, ap);
  va_end(ap);
}

int fg_probe_ulp_listed(const char *available, const char *ulp) {
  size_t n = strlen(ulp);
  const char *p = available;
  while (*p != 0) {
    while (*p == ' ' || *p == '\t' || *p == '\n') p++;
    size_t w = strcspn(p, " \t\n");
    if (w == n && w > 0 && memcmp(p, ulp, n) == 0) return 1;
    p += w;
  }
  return 0;
}

void fg_probe_explain_uring_error(int neg_errno, int io_uring_disabled, char *out, size_t out_len) {
  int err = -neg_errno;
  if (io_uring_disabled == 2) {
    snprintf(out, out_len,
             "io_uring_setup: %s; sysctl kernel.io_uring_disabled=2 disables io_uring for "
             "everyone: set it to 0 (sysctl -w kernel.io_uring_disabled=0)",
             strerror(err));
  } else if (io_uring_disabled == 1 && err == EPERM) {
    snprintf(out, out_len,
             "io_uring_setup: %s; sysctl kernel.io_uring_disabled=1 allows io_uring only to "
             "CAP_SYS_ADMIN or the group in kernel.io_uring_group: add fedgate's user to that "
             "group or set the sysctl to 0",
             strerror(err));
  } else if (err == ENOSYS) {
    snprintf(out, out_len,
             "io_uring_setup: %s; the kernel lacks io_uring (CONFIG_IO_URING) or a seccomp "
             "profile blocks it (Docker's default profile does): use a kernel >= 6.1 and allow "
             "io_uring_setup, io_uring_enter and io_uring_register (e.g. a custom seccomp profile)",
             strerror(err));
  } else if (err == EPERM || err == EACCES) {
    snprintf(out, out_len,
             "io_uring_setup: %s; a seccomp filter or security module denies io_uring: allow "
             "io_uring_setup, io_uring_enter and io_uring_register for fedgate",
             strerror(err));
  } else if (err == ENOMEM) {
    snprintf(out, out_len,
             "io_uring_setup: %s; the locked-memory limit is too low: raise RLIMIT_MEMLOCK "
             "(ulimit -l, LimitMEMLOCK= in the systemd unit)",
             strerror(err));
  } else {
    snprintf(out, out_len, "io_uring_setup: %s", strerror(err));
  }
}

void fg_probe_explain_ktls_error(int err, int listed, char *out, size_t out_len) {
  if (err == ENOENT) {
    snprintf(out, out_len,
             "setsockopt(TCP_ULP, \"tls\"): %s; the kernel offers no 'tls' TCP ULP%s (built "
             "without CONFIG_TLS, or module tls not loadable: try 'modprobe tls'); records are "
             "encrypted by BoringSSL in user space",
             strerror(err), listed ? "" : " (not in net.ipv4.tcp_available_ulp)");
  } else if (err == EPERM) {
    snprintf(out, out_len,
             "setsockopt(TCP_ULP, \"tls\"): %s; the tls module is not loaded and this process "
             "may not load it: run 'modprobe tls' as root; records are encrypted in user space",
             strerror(err));
  } else {
    snprintf(out, out_len,
             "setsockopt(TCP_ULP, \"tls\"): %s; records are encrypted by BoringSSL in user space",
             strerror(err));
  }
}

static int read_small_file(const char *path, char *out, size_t out_len) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  size_t n = fread(out, 1, out_len - 1, f);
  out[n] = 0;
  fclose(f);
  return 1;
}

// loopback_pair makes a listening socket on 127.0.0.1 and, when |client| and
// |server| are non-NULL, one connected pair through it.
static int loopback_listener(struct sockaddr_in *addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  socklen_t len = sizeof(*addr);
  memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, (struct sockaddr *)addr, &len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int loopback_connect(const struct sockaddr_in *addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int tcp_pair(int *client, int *server) {
  struct sockaddr_in addr;
  int lfd = loopback_listener(&addr);
  if (lfd < 0) return 0;
  *client = loopback_connect(&addr);
  *server = *client >= 0 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
  close(lfd);
  if (*server < 0) {
    if (*client >= 0) close(*client);
    return 0;
  }
  return 1;
}

// wait_one waits up to a second for one completion.
static int wait_one(struct io_uring *ring, struct io_uring_cqe **cqe) {
  struct __kernel_timespec ts = {.tv_sec = 1, .tv_nsec = 0};
  return io_uring_wait_cqe_timeout(ring, cqe, &ts);
}

static void probe_single_issuer(fg_probe_result *r) {
  struct io_uring ring;
  int ret = io_uring_queue_init(8, &ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
  if (ret < 0) {
    set(r, FG_PROBE_SINGLE_ISSUER, 0,
        "io_uring_setup with SINGLE_ISSUER|DEFER_TASKRUN: %s (needs kernel >= 6.1); workers "
        "use plain rings",
        strerror(-ret));
    return;
  }
  io_uring_queue_exit(&ring);
  set(r, FG_PROBE_SINGLE_ISSUER, 1, "ring created with both flags");
}

static void probe_multishot_accept(fg_probe_result *r, struct io_uring *ring) {
  struct sockaddr_in addr;
  int lfd = loopback_listener(&addr);
  if (lfd < 0) {
    set(r, FG_PROBE_MULTISHOT_ACCEPT, 0, "cannot open a loopback listener: %s", strerror(errno));
    return;
  }
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, 1);
  io_uring_submit(ring);
  int c1 = loopback_connect(&addr), c2 = loopback_connect(&addr);
  int accepted = 0, more = 1, err = 0;
  struct io_uring_cqe *cqe;
  while (accepted < 2 && more && wait_one(ring, &cqe) == 0) {
    if (cqe->res >= 0) {
      close(cqe->res);
      accepted++;
    } else {
      err = -cqe->res;
    }
    more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    io_uring_cqe_seen(ring, cqe);
  }
  if (accepted == 2) {
    set(r, FG_PROBE_MULTISHOT_ACCEPT, 1, "one request accepted two connections");
  } else {
    set(r, FG_PROBE_MULTISHOT_ACCEPT, 0, "%s (needs kernel >= 5.19)",
        err ? strerror(err) : "the request did not stay armed");
  }
  if (c1 >= 0) close(c1);
  if (c2 >= 0) close(c2);
  close(lfd);  // cancels the armed request; drain its final completion
  while (more && wait_one(ring, &cqe) == 0) {
    more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    io_uring_cqe_seen(ring, cqe);
  }
}

enum { kProbeBufs = 4, kProbeBufSize = 256, kProbeGroup = 7 };

static struct io_uring_buf_ring *register_buf_ring(struct io_uring *ring, uint8_t *bufs, int *err) {
  size_t len = kProbeBufs * sizeof(struct io_uring_buf);
  void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    *err = errno;
    return NULL;
  }
  struct io_uring_buf_ring *br = mem;
  io_uring_buf_ring_init(br);
  struct io_uring_buf_reg reg = {
      .ring_addr = (uintptr_t)br, .ring_entries = kProbeBufs, .bgid = kProbeGroup};
  int ret = io_uring_register_buf_ring(ring, &reg, 0);
  if (ret < 0) {
    munmap(mem, len);
    *err = -ret;
    return NULL;
  }
  for (int i = 0; i < kProbeBufs; i++) {
    io_uring_buf_ring_add(br, bufs + i * kProbeBufSize, kProbeBufSize, i,
                          io_uring_buf_ring_mask(kProbeBufs), i);
  }
  io_uring_buf_ring_advance(br, kProbeBufs);
  return br;
}

static void probe_recv(fg_probe_result *r, struct io_uring *ring) {
  static uint8_t bufs[kProbeBufs * kProbeBufSize];
  int err = 0;
  struct io_uring_buf_ring *br = register_buf_ring(ring, bufs, &err);
  if (br == NULL) {
    set(r, FG_PROBE_BUF_RING, 0, "IORING_REGISTER_PBUF_RING: %s (needs kernel >= 5.19)",
        strerror(err));
    set(r, FG_PROBE_MULTISHOT_RECV, 0, "needs provided buffer rings");
    return;
  }
  set(r, FG_PROBE_BUF_RING, 1, "buffer ring registered");
  int a, b;
  if (!tcp_pair(&a, &b)) {
    set(r, FG_PROBE_MULTISHOT_RECV, 0, "cannot open loopback sockets: %s", strerror(errno));
  } else {
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    io_uring_prep_recv_multishot(sqe, b, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kProbeGroup;
    io_uring_submit(ring);
    int got = 0, more = 1, rerr = 0;
    struct io_uring_cqe *cqe;
    for (int i = 0; i < 2 && more; i++) {
      if (write(a, "ping", 4) != 4) break;
      if (wait_one(ring, &cqe) != 0) break;
      if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) got++;
      if (cqe->res < 0) rerr = -cqe->res;
      more = (cqe->flags & IORING_CQE_F_MORE) != 0;
      io_uring_cqe_seen(ring, cqe);
    }
    if (got == 2) {
      set(r, FG_PROBE_MULTISHOT_RECV, 1, "one request received twice into provided buffers");
    } else {
      set(r, FG_PROBE_MULTISHOT_RECV, 0, "%s (needs kernel >= 6.0)",
          rerr ? strerror(rerr) : "the request did not stay armed");
    }
    shutdown(b, SHUT_RDWR);
    close(a);
    while (more && wait_one(ring, &cqe) == 0) {
      more = (cqe->flags & IORING_CQE_F_MORE) != 0;
      io_uring_cqe_seen(ring, cqe);
    }
    close(b);
  }
  io_uring_unregister_buf_ring(ring, kProbeGroup);
  munmap(br, kProbeBufs * sizeof(struct io_uring_buf));
}

static void probe_msg_ring(fg_probe_result *r, struct io_uring *ring) {
  struct io_uring target;
  if (io_uring_queue_init(8, &target, 0) < 0) {
    set(r, FG_PROBE_MSG_RING, 0, "cannot create a second ring");
    return;
  }
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  io_uring_prep_msg_ring(sqe, target.ring_fd, 42, 0xfedu, 0);
  io_uring_submit(ring);
  struct io_uring_cqe *cqe;
  int sent_err = 0;
  if (wait_one(ring, &cqe) == 0) {
    if (cqe->res < 0) sent_err = -cqe->res;
    io_uring_cqe_seen(ring, cqe);
  }
  int delivered = 0;
  if (!sent_err && wait_one(&target, &cqe) == 0) {
    delivered = cqe->user_data == 0xfedu && cqe->res == 42;
    io_uring_cqe_seen(&target, cqe);
  }
  io_uring_queue_exit(&target);
  if (delivered) {
    set(r, FG_PROBE_MSG_RING, 1, "a completion was posted to another ring");
  } else {
    set(r, FG_PROBE_MSG_RING, 0, "%s (needs kernel >= 5.18); cross-worker wake-ups use eventfd",
        sent_err ? strerror(sent_err) : "no completion arrived");
  }
}

static void probe_send_zc(fg_probe_result *r, struct io_uring *ring) {
  struct io_uring_probe *p = io_uring_get_probe_ring(ring);
  if (p == NULL) {
    set(r, FG_PROBE_SEND_ZC, 0, "IORING_REGISTER_PROBE failed");
    return;
  }
  int yes = io_uring_opcode_supported(p, IORING_OP_SEND_ZC);
  io_uring_free_probe(p);
  set(r, FG_PROBE_SEND_ZC, yes,
      yes ? "IORING_OP_SEND_ZC supported"
          : "IORING_OP_SEND_ZC not supported (needs kernel >= 6.0)");
}

static void probe_ktls(fg_probe_result *r) {
  char ulps[256] = "";
  int readable = read_small_file("/proc/sys/net/ipv4/tcp_available_ulp", ulps, sizeof(ulps));
  ulps[strcspn(ulps, "\n")] = 0;
  int listed = readable && fg_probe_ulp_listed(ulps, "tls");
  int a, b;
  if (!tcp_pair(&a, &b)) {
    set(r, FG_PROBE_KTLS, 0, "cannot open loopback sockets: %s", strerror(errno));
    return;
  }
  int ret = setsockopt(a, SOL_TCP, TCP_ULP, "tls", 3);
  int err = errno;
  close(a);
  close(b);
  if (ret == 0) {
    set(r, FG_PROBE_KTLS, 1, "the 'tls' TCP ULP attached to a loopback socket");
    return;
  }
  char why[300];
  fg_probe_explain_ktls_error(err, listed, why, sizeof(why));
  set(r, FG_PROBE_KTLS, 0, "%s; tcp_available_ulp: '%s'", why, readable ? ulps : "unreadable");
}

int fg_probe_run(fg_probe_result *r) {
  memset(r, 0, sizeof(*r));
  probe_ktls(r);
  struct io_uring ring;
  int ret = io_uring_queue_init(16, &ring, 0);
  if (ret < 0) {
    char disabled[16] = "";
    int d = read_small_file("/proc/sys/kernel/io_uring_disabled", disabled, sizeof(disabled))
                ? atoi(disabled)
                : -1;
    char why[sizeof(r->reason[0])];
    fg_probe_explain_uring_error(ret, d, why, sizeof(why));
    set(r, FG_PROBE_IO_URING, 0, "%s", why);
    for (int c = FG_PROBE_IO_URING + 1; c < FG_PROBE_COUNT; c++) {
      if (c != FG_PROBE_KTLS) set(r, c, 0, "io_uring unavailable");
    }
    return 0;
  }
  struct utsname u;
  set(r, FG_PROBE_IO_URING, 1, "ring created (kernel %s)", uname(&u) == 0 ? u.release : "?");
  probe_single_issuer(r);
  probe_multishot_accept(r, &ring);
  probe_recv(r, &ring);
  probe_msg_ring(r, &ring);
  probe_send_zc(r, &ring);
  io_uring_queue_exit(&ring);
  return 1;
}

void fg_probe_print(const fg_probe_result *r, FILE *out) {
  for (int c = 0; c < FG_PROBE_COUNT; c++) {
    fprintf(out, "%s: %s (%s)\n", kNames[c], r->available[c] ? "yes" : "no", r->reason[c]);
  }
}
