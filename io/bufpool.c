// bufpool.c: provided buffer ring. liburing 2.3 lacks io_uring_setup_buf_ring,
// so the ring memory is mapped here and registered with
// io_uring_register_buf_ring.
#include "io/bufpool.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

struct fg_bufpool {
  struct io_uring_buf_ring *br;
  size_t br_bytes;
  uint8_t *mem;
  size_t mem_bytes;
  unsigned count, mask, buf_size;
  uint16_t bgid;
};

fg_bufpool *fg_bufpool_new(struct io_uring *ring, uint16_t bgid, unsigned count, unsigned buf_size,
                           int *out_err) {
  *out_err = -EINVAL;
  if (count == 0 || count > 32768 || (count & (count - 1)) != 0 || buf_size == 0) return NULL;
  fg_bufpool *p = calloc(1, sizeof(*p));
  if (p == NULL) {
    *out_err = -ENOMEM;
    return NULL;
  }
  p->count = count;
  p->mask = count - 1;
  p->buf_size = buf_size;
  p->bgid = bgid;
  p->br_bytes = count * sizeof(struct io_uring_buf);
  p->br = mmap(NULL, p->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  p->mem_bytes = (size_t)count * buf_size;
  p->mem = mmap(NULL, p->mem_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (p->br == MAP_FAILED || p->mem == MAP_FAILED) {
    *out_err = -ENOMEM;
    goto fail;
  }
  struct io_uring_buf_reg reg = {0};
  reg.ring_addr = (uint64_t)(uintptr_t)p->br;
  reg.ring_entries = count;
  reg.bgid = bgid;
  int ret = io_uring_register_buf_ring(ring, &reg, 0);
  if (ret < 0) {
    *out_err = ret;
    goto fail;
  }
  io_uring_buf_ring_init(p->br);
  for (unsigned i = 0; i < count; i++) {
    io_uring_buf_ring_add(p->br, p->mem + (size_t)i * buf_size, buf_size, (uint16_t)i, p->mask,
                          (int)i);
  }
  io_uring_buf_ring_advance(p->br, (int)count);
  *out_err = 0;
  return p;

fail:
  if (p->br != MAP_FAILED && p->br != NULL) munmap(p->br, p->br_bytes);
  if (p->mem != MAP_FAILED && p->mem != NULL) munmap(p->mem, p->mem_bytes);
  free(p);
  return NULL;
}

void fg_bufpool_free(fg_bufpool *p, struct io_uring *ring) {
  if (p == NULL) return;
  if (ring != NULL) io_uring_unregister_buf_ring(ring, p->bgid);
  munmap(p->br, p->br_bytes);
  munmap(p->mem, p->mem_bytes);
  free(p);
}

uint8_t *fg_bufpool_buf(fg_bufpool *p, uint16_t bid) {
  return p->mem + (size_t)bid * p->buf_size;
}

void fg_bufpool_recycle(fg_bufpool *p, uint16_t bid) {
  io_uring_buf_ring_add(p->br, fg_bufpool_buf(p, bid), p->buf_size, bid, p->mask, 0);
  io_uring_buf_ring_advance(p->br, 1);
}

uint16_t fg_bufpool_group(const fg_bufpool *p) {
  return p->bgid;
}

unsigned fg_bufpool_buf_size(const fg_bufpool *p) {
  return p->buf_size;
}

size_t fg_bufpool_bytes(const fg_bufpool *p) {
  return p->mem_bytes + p->br_bytes;
}
