// server.h: `fedgate run`: the configured listeners, the inbound s2s streams,
// the internal hop to the backends, and the admin endpoint, on the io/
// runtime.
#ifndef FEDGATE_GATEWAY_SERVER_H
#define FEDGATE_GATEWAY_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/config/config.h"
#include "gateway/server/metrics.h"
#include "io/worker.h"

typedef struct fg_server fg_server;

// fg_server_new prepares a gateway for |cfg| (ownership passes to the server):
// router, trust store, certificates, TLS contexts, internal CA, workers. On
// failure it returns NULL and writes a message naming the file or setting
// into |err|.
fg_server *fg_server_new(fg_config *cfg, const fg_worker_options *wo, char *err, size_t err_len);

// fg_server_start opens every enabled listener. It returns 1, or 0 with a
// message in |err|.
int fg_server_start(fg_server *s, char *err, size_t err_len);

// fg_server_port returns the bound port of listener |id| (0 if disabled).
uint16_t fg_server_port(const fg_server *s, fg_listener_id id);

// fg_server_metrics returns the live counters.
const fg_metrics *fg_server_metrics(const fg_server *s);

// fg_server_runtime returns the worker runtime (for the watchdog's
// heartbeats, gateway/server/notify.h).
fg_runtime *fg_server_runtime(fg_server *s);

// fg_server_shutdown_grace_ms returns shutdown.grace of the configuration
// in force.
unsigned fg_server_shutdown_grace_ms(const fg_server *s);

// fg_server_stop closes listeners and streams (flushing for up to |drain_ms|)
// and joins the workers. Idempotent.
void fg_server_stop(fg_server *s, unsigned drain_ms);

// fg_server_free stops |s| if needed and frees everything. NULL is a no-op.
void fg_server_free(fg_server *s);

#endif  // FEDGATE_GATEWAY_SERVER_H
