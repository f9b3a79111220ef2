// notify.h: the service manager protocol of systemd (sd_notify(3)) for
// Type=notify units: READY=1 once the listeners are up, RELOADING=1 and
// READY=1 around a configuration reload, STOPPING=1 when a drain starts,
// STATUS= lines, and the watchdog. Without NOTIFY_SOCKET in the environment
// every call is a no-op.
#ifndef FEDGATE_GATEWAY_NOTIFY_H
#define FEDGATE_GATEWAY_NOTIFY_H

#include "io/worker.h"

// fg_notify_ready tells the service manager the gateway serves (READY=1),
// at start-up and at the end of a reload.
void fg_notify_ready(void);

// fg_notify_reloading tells it a configuration reload begins (RELOADING=1
// with MONOTONIC_USEC, as Type=notify-reload expects); fg_notify_ready ends it.
void fg_notify_reloading(void);

// fg_notify_stopping tells it the gateway is draining and will exit
// (STOPPING=1).
void fg_notify_stopping(void);

// fg_notify_status sets the one-line status `systemctl status` shows
// (STATUS=...).
void fg_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// fg_notify_watchdog_start starts the watchdog when the service manager asks
// for one (WATCHDOG_USEC): a thread sends WATCHDOG=1 every half period, but
// only while every worker of |rt| answers a message posted to it in the
// previous half period, so that a stuck worker lets the watchdog fire. It
// returns 1 when running, 0 when no watchdog is wanted (or it cannot start).
int fg_notify_watchdog_start(fg_runtime *rt);

// fg_notify_watchdog_stop stops that thread; call it before the workers are
// joined. Idempotent.
void fg_notify_watchdog_stop(void);

#endif  // FEDGATE_GATEWAY_NOTIFY_H
