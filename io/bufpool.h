// bufpool.h: a worker's provided-buffer ring (IORING_REGISTER_PBUF_RING) used
// by multishot recv. The kernel picks a buffer per completion; the worker
// hands it back with fg_bufpool_recycle once the bytes are consumed.
#ifndef FEDGATE_IO_BUFPOOL_H
#define FEDGATE_IO_BUFPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

typedef struct fg_bufpool fg_bufpool;

// fg_bufpool_new registers |count| (a power of two, at most 32768) buffers of
// |buf_size| bytes with |ring| as buffer group |bgid|. It returns NULL and
// sets |*out_err| to a negative errno on failure.
fg_bufpool *fg_bufpool_new(struct io_uring *ring, uint16_t bgid, unsigned count, unsigned buf_size,
                           int *out_err);

// fg_bufpool_free unregisters and frees |p|. fg_bufpool_free(NULL, ...) is a no-op.
void fg_bufpool_free(fg_bufpool *p, struct io_uring *ring);

// fg_bufpool_buf returns the memory of buffer |bid|.
uint8_t *fg_bufpool_buf(fg_bufpool *p, uint16_t bid);

// fg_bufpool_recycle gives buffer |bid| back to the kernel.
void fg_bufpool_recycle(fg_bufpool *p, uint16_t bid);

// fg_bufpool_group returns the buffer group id to put in sqe->buf_group.
uint16_t fg_bufpool_group(const fg_bufpool *p);

// fg_bufpool_buf_size returns the size of each buffer.
unsigned fg_bufpool_buf_size(const fg_bufpool *p);

// fg_bufpool_bytes returns the memory the pool holds.
size_t fg_bufpool_bytes(const fg_bufpool *p);

#endif  // FEDGATE_IO_BUFPOOL_H
