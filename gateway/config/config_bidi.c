// config_bidi.c: bidi, XEP-0288 bidirectional s2s streams: whether public
// listeners offer them and outbound links request them.
#include "gateway/config/config.h"
#include "gateway/config/config_internal.h"

void config_load_bidi(config_ctx *c, const raw_bidi *r) {
  raw_bidi none = {0};
  if (r == NULL) r = &none;
  config_parse_bool(c, "bidi.enabled", r->enabled, 1, &c->cfg->bidi.enabled);
}
