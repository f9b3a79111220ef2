// restart_keys.h: the configuration keys a reload cannot apply, because the
// objects built from them live as long as the process (listening sockets,
// worker threads, the DNS resolver, the revocation engine and the stapler).
#ifndef FEDGATE_GATEWAY_SERVER_RESTART_KEYS_H
#define FEDGATE_GATEWAY_SERVER_RESTART_KEYS_H

#include "gateway/config/config.h"
#include "gateway/server/text.h"

// fg_restart_keys_check compares |next| with the configuration the gateway
// started with, |running|, and appends one line per key that differs to
// |out|: "FILE: KEY: changed from 'OLD' to 'NEW': needs a restart". It
// returns the number of such keys (0: |next| may be applied by a reload).
unsigned fg_restart_keys_check(const fg_config *running, const fg_config *next, fg_text *out);

#endif  // FEDGATE_GATEWAY_SERVER_RESTART_KEYS_H
