// config_sm.c: stream_management, XEP-0198 acknowledgements on s2s streams:
// whether they are offered and used, and how often the initiating side asks
// for an ack (by count and by time), and how long an ended inbound stream
// may be resumed, and how long the stanzas of a broken outbound stream wait
// for a replacement stream before they bounce.
#include "gateway/config/config.h"
#include "gateway/config/config_internal.h"

void config_load_sm(config_ctx *c, const raw_sm *r) {
  fg_config *cfg = c->cfg;
  raw_sm none = {0};
  if (r == NULL) r = &none;
  config_parse_bool(c, "stream_management.enabled", r->enabled, 1, &cfg->sm.enabled);
  uint64_t v = 0;
  config_parse_uint(c, "stream_management.request_every", r->request_every, 1, 100000, 16, &v);
  cfg->sm.request_every = (unsigned)v;
  config_parse_duration(c, "stream_management.request_interval", r->request_interval, 10, 600000,
                        1000, &v);
  cfg->sm.request_interval_ms = (uint32_t)v;
  config_parse_duration(c, "stream_management.resume_timeout", r->resume_timeout, 0, 3600000, 60000,
                        &v);
  cfg->sm.resume_timeout_s = (uint32_t)(v / 1000);
  config_parse_duration(c, "stream_management.give_up_after", r->give_up_after, 0, 3600000, 60000,
                        &v);
  cfg->sm.give_up_after_ms = (uint32_t)v;
}
