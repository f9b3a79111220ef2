// epoch.h: epoch-based memory reclamation for the caches every worker
// reads without locks (the OCSP response cache, the TLS session cache).
//
// Readers bracket each lookup with fg_epoch_enter / fg_epoch_exit: two
// stores to a slot of their own, never a lock, never a wait. Writers (who
// serialise among themselves however they like) publish new immutable
// objects by atomic pointer swaps and hand the old ones to fg_epoch_retire;
// a retired object is freed only once every reader that could still hold it
// has left its critical section.
//
// The argument (the classic three-epoch scheme): a reader entering records
// the global epoch E it saw. The global epoch moves from E to E+1 only when
// every reader inside a critical section has recorded E. An object retired
// while the global epoch is R was unlinked before the retire call, so a
// reader that can still see it entered at R or earlier. Once the global
// epoch reaches R+2, every reader inside recorded R+1 or later: it entered
// after the epoch moved past R, hence after the unlink, and cannot hold the
// object. Objects retired at R are therefore freed when the epoch is >= R+2.
//
// Threads are registered on first use (a slot among FG_EPOCH_MAX_THREADS,
// given back when the thread exits); critical sections must not nest and
// must be short (a reader inside blocks reclamation, never other readers).
#ifndef FEDGATE_CRYPTO_EPOCH_H
#define FEDGATE_CRYPTO_EPOCH_H

#include <stddef.h>
#include <stdint.h>

#define FG_EPOCH_MAX_THREADS 1024

typedef struct fg_epoch_domain fg_epoch_domain;

// fg_epoch_domain_new returns a reclamation domain (one per cache), or NULL.
fg_epoch_domain *fg_epoch_domain_new(void);

// fg_epoch_domain_free frees every object still retired and the domain. No
// thread may be inside a critical section of |d|. NULL is a no-op.
void fg_epoch_domain_free(fg_epoch_domain *d);

// fg_epoch_enter starts a read-side critical section of the calling thread
// in |d|. It returns 1, or 0 when no slot is left for this thread (then the
// caller must not read the shared structure; with FG_EPOCH_MAX_THREADS far
// above the number of workers this does not happen in practice).
int fg_epoch_enter(fg_epoch_domain *d);

// fg_epoch_exit ends the critical section started by fg_epoch_enter.
void fg_epoch_exit(fg_epoch_domain *d);

// fg_epoch_retire hands |ptr| to |d|: |free_fn|(|ptr|) runs once no reader
// can hold it. The caller must have unlinked |ptr| from every shared place
// before. Writers only (callers serialise their calls); it may reclaim
// objects retired earlier.
void fg_epoch_retire(fg_epoch_domain *d, void *ptr, void (*free_fn)(void *));

// fg_epoch_reclaim tries to advance the epoch and frees what became safe.
// Writers only. It returns the number of objects freed.
size_t fg_epoch_reclaim(fg_epoch_domain *d);

// fg_epoch_pending returns how many retired objects wait to be freed.
size_t fg_epoch_pending(const fg_epoch_domain *d);

#endif  // FEDGATE_CRYPTO_EPOCH_H
