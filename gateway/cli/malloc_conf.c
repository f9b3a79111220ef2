// malloc_conf.c: jemalloc's options for every fedgate process.
//
// background_thread: a jemalloc thread gives pages freed by the workers back
// to the kernel on its own. Without it jemalloc purges only while the
// application allocates, so a gateway that went quiet after a burst of
// handshakes (tens of KiB each while they run) kept the burst's peak
// resident. dirty_decay_ms: freed pages go back within about a second rather
// than ten; pages in use again within that time are reused as before.
// MALLOC_CONF in the environment still overrides both.
#include <jemalloc/jemalloc.h>

const char *malloc_conf = "background_thread:true,dirty_decay_ms:1000";
