// run_drain.h: what `fedgate run` does on SIGTERM: a graceful drain within
// shutdown.grace (gateway/server/drain.h keeps the mechanics; this file
// keeps the clock and the signals).
#ifndef FEDGATE_GATEWAY_CLI_RUN_DRAIN_H
#define FEDGATE_GATEWAY_CLI_RUN_DRAIN_H

#include <signal.h>

#include "gateway/server/server.h"

// fg_run_drain drains |srv| and stops it, within |grace_ms| of the call:
// listeners closed at once, idle streams and links closed as they become
// idle, what is still held bounced shortly before the end. A second SIGTERM
// or SIGINT in |signals| (blocked by the caller) stops at once; SIGUSR1
// still reopens the log file. It returns when the server is stopped.
void fg_run_drain(fg_server *srv, const sigset_t *signals, unsigned grace_ms);

#endif  // FEDGATE_GATEWAY_CLI_RUN_DRAIN_H
