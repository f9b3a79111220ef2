// s2s_out_fixture.c: see s2s_out_fixture.h.
#include "tests/gateway/s2s/s2s_out_fixture.h"

#include <stdio.h>
#include <string.h>

fg_dialback_secret g_out_secret;

void out_wire_put(out_wire *w, const uint8_t *d, size_t n) {
  if (w->len + n < sizeof(w->buf)) {
    memcpy(w->buf + w->len, d, n);
    w->len += n;
    w->buf[w->len] = 0;
  }
}

static void o_send(void *arg, const uint8_t *d, size_t n) {
  out_wire_put(&((out_env *)arg)->w, d, n);
}
static void o_ready(void *arg, int method) {
  ((out_env *)arg)->ready = method ? method : -1;
}
static void o_failed(void *arg, const char *c) {
  out_env *e = arg;
  e->failed++;
  snprintf(e->fail_cond, sizeof(e->fail_cond), "%s", c);
}
static void o_answer(void *arg, const char *r, const char *o, const char *id, int valid) {
  out_env *e = arg;
  e->answers++;
  e->last_valid = valid;
}
static void o_acked(void *arg, const fg_sm_item *it) {
  ((out_env *)arg)->acked++;
}
static const char *o_stanza(void *arg, const fg_xml_element *el, const char *from, const char *to) {
  out_env *e = arg;
  e->stanzas++;
  if (e->refuse != NULL) return e->refuse;
  snprintf(e->last_from, sizeof(e->last_from), "%s", from);
  snprintf(e->last_to, sizeof(e->last_to), "%s", to);
  return NULL;
}
static void o_refused(void *arg, const fg_xml_element *el, const char *condition) {
  out_env *e = arg;
  e->refused++;
  snprintf(e->refused_cond, sizeof(e->refused_cond), "%s", condition);
}
static void o_pair_answer(void *arg, const char *from, const char *to, const char *condition) {
  out_env *e = arg;
  e->pair_answers++;
  snprintf(e->pair_from, sizeof(e->pair_from), "%s", from);
  snprintf(e->pair_to, sizeof(e->pair_to), "%s", to);
  snprintf(e->pair_condition, sizeof(e->pair_condition), "%s", condition ? condition : "valid");
}

const fg_s2s_out_ops kOutEnvOps = {.send = o_send,
                                   .ready = o_ready,
                                   .failed = o_failed,
                                   .verify_answer = o_answer,
                                   .acked = o_acked,
                                   .stanza = o_stanza,
                                   .refused = o_refused,
                                   .pair_answer = o_pair_answer};

int out_fixture_setup(void **state) {
  (void)state;
  return fg_dialback_secret_init(&g_out_secret, (const uint8_t *)"s3cr3t", 6) ? 0 : -1;
}

void out_config(fg_s2s_out_config *c) {
  fg_s2s_out_config_default(c);
  c->local = "a.example";
  c->remote = "b.example";
}

fg_s2s_out *out_open(out_env *e, const fg_s2s_out_config *c) {
  fg_s2s_out *s = fg_s2s_out_new(c, &kOutEnvOps, e);
  fg_s2s_out_start(s);
  return s;
}

fg_s2s_out_status out_feed(fg_s2s_out *s, const char *in) {
  size_t used;
  return fg_s2s_out_feed(s, (const uint8_t *)in, strlen(in), &used);
}
