// s2sload_remote.c: the remote servers: authenticated s2s streams to the
// SUT. Direct TLS (XEP-0368: ALPN xmpp-server, SNI = the sink domain) with
// the remote domain's certificate, then RFC 6120 §6.4 SASL EXTERNAL as
// XEP-0178 describes it, the stream restart, and stanzas: in closed loop at
// most --window in flight per stream, written in ~16 KiB batches (one
// fg_conn_send, one TLS record); in open loop on a schedule whose times are
// the ones stamped into the stanzas (no coordinated omission).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "bench/s2sload_core.h"

#define NS_STREAMS "http://etherx.jabber.org/streams"
#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"

enum { kBatchBytes = 16384, kRetryMs = 50 };
// Open loop: at most this many ~16 KiB records per stream per pacer turn.
// A stream that fell behind (a stall) catches up over several turns, each
// one short, so that the sink's receives, handled by the same loop between
// turns, are not held up behind one long catch-up burst. The stanzas keep
// their scheduled times: their lateness still counts.
enum { kOpenBurstRecords = 2 };

static int send_str(fg_load_stream *s, const char *str) {
  return fg_conn_send(s->conn, (const uint8_t *)str, strlen(str));
}

static void send_header(fg_load_stream *s) {
  char buf[768];
  snprintf(buf, sizeof(buf),
           "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='" NS_STREAMS
           "' from='%s' to='%s' version='1.0'>",
           g_load.remote_names[s->remote], g_load.o.sink_domain);
  send_str(s, buf);
}

static int running(void) {
  int ph = atomic_load_explicit(&g_load.phase, memory_order_relaxed);
  return ph == FG_PHASE_WARMUP || ph == FG_PHASE_MEASURE;
}

static size_t max_stanza(const fg_load_stream *s) {
  const fg_stanza_tmpl *t = &g_load.tmpl[s->remote];
  return t->fixed_size ? t->fixed_size : FG_STANZA_MIX_MAX + FG_STANZA_ID_MAX;
}

static void launch_more(fg_load_wctx *wc);

static void stream_failed(fg_load_stream *s, const char *why) {
  fg_load_error("stream %u (%s): %s", s->index, g_load.remote_names[s->remote], why);
  enum fg_load_state was = s->state;
  s->state = FG_ST_FAILED;
  atomic_fetch_add(&g_load.failed_streams, 1);
  if (s->conn != NULL) fg_conn_abort(s->conn, FG_CLOSE_LOCAL);
  if (g_load.o.mode == FG_LOAD_IDLE && was != FG_ST_READY && was != FG_ST_FAILED) {
    s->wc->connecting--;
    launch_more(s->wc);
  }
}

// stream_ended: the SUT ended a ready stream (a stream error such as
// system-shutdown, or its end tag). Under --reconnect, while sending, the
// stream connects again (see remote_close); otherwise it failed.
static void stream_ended(fg_load_stream *s, const char *why) {
  int ph = atomic_load(&g_load.phase);
  if (g_load.o.reconnect && g_load.o.mode == FG_LOAD_RELAY && s->state == FG_ST_READY &&
      ph >= FG_PHASE_WARMUP && ph < FG_PHASE_DRAIN && s->conn != NULL) {
    fprintf(stderr, "s2sload: stream %u: %s; reconnecting\n", s->index, why);
    fg_conn_abort(s->conn, FG_CLOSE_PEER);
    return;
  }
  stream_failed(s, why);
}

// write_one sends a single stanza (churn and idle).
static void write_one(fg_load_stream *s) {
  fg_load_wctx *wc = s->wc;
  fg_stanza_id id = {.stream = s->index, .seq = s->next_seq, .ns = fg_clock_ns()};
  if (id.seq >= s->seen_bits) {
    stream_failed(s, "sequence space exhausted (raise the bitmap size)");
    return;
  }
  size_t n = fg_stanza_write(&g_load.tmpl[s->remote], &id, wc->obuf, wc->obuf_cap);
  s->next_seq++;
  atomic_store(&s->sent, s->next_seq);
  fg_conn_send(s->conn, wc->obuf, n);
}

// in_flight: stanzas written and not yet delivered, less those presumed lost
// with a dead connection (--reconnect).
static uint64_t in_flight(const fg_load_stream *s) {
  uint64_t done = atomic_load(&s->delivered) + s->window_base;
  return s->next_seq > done ? s->next_seq - done : 0;
}

static void pump_closed(fg_load_stream *s) {
  fg_load_wctx *wc = s->wc;
  const fg_stanza_tmpl *t = &g_load.tmpl[s->remote];
  const uint64_t window = g_load.o.window;
  const size_t room_needed = max_stanza(s);
  while (s->conn != NULL && !fg_conn_write_blocked(s->conn) && running()) {
    uint64_t inflight = in_flight(s);
    if (inflight >= window) {
      // The sink wakes us once half the window is free; re-check after
      // announcing it so a delivery in between is not missed.
      atomic_store(&s->window_blocked, 1);
      inflight = in_flight(s);
      if (inflight >= window) return;
      atomic_store(&s->window_blocked, 0);
    }
    uint64_t room = window - inflight;
    fg_stanza_id id = {.stream = s->index, .ns = fg_clock_ns()};
    size_t len = 0;
    while (room > 0 && len < kBatchBytes && wc->obuf_cap - len >= room_needed) {
      if (s->next_seq >= s->seen_bits) {
        stream_failed(s, "sequence space exhausted (run shorter or with fewer stanzas)");
        return;
      }
      id.seq = s->next_seq;
      size_t n = fg_stanza_write(t, &id, wc->obuf + len, wc->obuf_cap - len);
      if (n == 0) break;
      len += n;
      s->next_seq++;
      room--;
    }
    if (len == 0) return;
    atomic_store(&s->sent, s->next_seq);
    if (!fg_conn_send(s->conn, wc->obuf, len)) return;
  }
}

static void pump_open(fg_load_stream *s, uint64_t now) {
  fg_load_wctx *wc = s->wc;
  const fg_stanza_tmpl *t = &g_load.tmpl[s->remote];
  int ph = atomic_load(&g_load.phase);
  if (ph < FG_PHASE_WARMUP || ph >= FG_PHASE_DONE || s->conn == NULL) return;
  uint64_t end = atomic_load(&g_load.win_end_ns);
  uint64_t lim = now < end ? now : end - 1;
  double first = (double)g_load.base_ns + s->offset_ns;
  if ((double)lim < first) return;
  uint64_t due = (uint64_t)(((double)lim - first) / g_load.interval_ns) + 1;
  const size_t room_needed = max_stanza(s);
  uint64_t ws = atomic_load_explicit(&g_load.win_start_ns, memory_order_relaxed);
  for (int records = 0;
       records < kOpenBurstRecords && s->next_seq < due && !fg_conn_write_blocked(s->conn);
       records++) {
    size_t len = 0;
    fg_stanza_id id = {.stream = s->index};
    while (s->next_seq < due && len < kBatchBytes && wc->obuf_cap - len >= room_needed) {
      if (s->next_seq >= s->seen_bits) {
        stream_failed(s, "sequence space exhausted");
        return;
      }
      id.seq = s->next_seq;
      // The scheduled time, not the time of writing (coordinated omission).
      id.ns = (uint64_t)(first + (double)id.seq * g_load.interval_ns);
      size_t n = fg_stanza_write(t, &id, wc->obuf + len, wc->obuf_cap - len);
      if (n == 0) break;
      if (ws != 0 && id.ns >= ws && id.ns < end)
        fg_hist_record(&wc->lag, now > id.ns ? now - id.ns : 0);
      len += n;
      s->next_seq++;
    }
    if (len == 0) return;
    atomic_store(&s->sent, s->next_seq);
    if (!fg_conn_send(s->conn, wc->obuf, len)) return;
  }
}

void fg_load_stream_pump(fg_load_stream *s) {
  if (s->state != FG_ST_READY || g_load.o.mode != FG_LOAD_RELAY) return;
  if (g_load.o.rate > 0) {
    pump_open(s, fg_clock_ns());
  } else {
    pump_closed(s);
  }
}

void fg_load_stream_close(fg_load_stream *s) {
  if (s->conn == NULL || s->state == FG_ST_CLOSING || s->state == FG_ST_FAILED) return;
  // Not while <auth/> is unanswered: the receiving server restarts its
  // parser on <success/>, and our end tag would open the new stream.
  if (s->state >= FG_ST_FEATURES && s->state != FG_ST_AUTH) send_str(s, "</stream:stream>");
  s->state = FG_ST_CLOSING;
  fg_conn_close(s->conn);  // flushes, then close_notify
}

static void become_ready(fg_load_stream *s) {
  atomic_fetch_add(&g_load.ready_streams, 1);
  switch (g_load.o.mode) {
    case FG_LOAD_RELAY:
      s->state = FG_ST_READY;
      s->conn_first_seq = s->next_seq;
      fg_load_stream_pump(s);
      break;
    case FG_LOAD_CHURN:
      s->state = FG_ST_WAIT_SINK;
      write_one(s);
      break;
    case FG_LOAD_IDLE:
      s->state = FG_ST_READY;
      s->wc->connecting--;
      write_one(s);
      launch_more(s->wc);
      break;
  }
}

// churn_check: the one stanza reached the sink: the establishment is
// complete; close and let on_close start the next one.
static void churn_check(fg_load_stream *s) {
  if (s->state != FG_ST_WAIT_SINK || atomic_load(&s->delivered) < s->next_seq) return;
  atomic_fetch_add(&g_load.establishments, 1);
  uint64_t now = fg_clock_ns();
  uint64_t ws = atomic_load(&g_load.win_start_ns), we = atomic_load(&g_load.win_end_ns);
  if (ws != 0 && now >= ws && now < we) {
    atomic_fetch_add(&g_load.win_establishments, 1);
    if (SSL_session_reused(fg_tls_conn_ssl(fg_conn_tls(s->conn)))) {
      atomic_fetch_add(&g_load.win_resumed, 1);
    }
  }
  fg_load_stream_close(s);
}

static void wake_fn(fg_worker *w, fg_msg *m) {
  (void)w;
  fg_load_stream *s = (fg_load_stream *)((char *)m - offsetof(fg_load_stream, wake));
  atomic_store(&s->wake_pending, 0);
  if (g_load.o.mode == FG_LOAD_CHURN) {
    churn_check(s);
    return;
  }
  atomic_store(&s->window_blocked, 0);
  fg_load_stream_pump(s);
}

static int offers_external(const fg_xml_node *features) {
  const fg_xml_node *mechs = fg_xml_node_child(features, NS_SASL, "mechanisms");
  for (const fg_xml_node *m = mechs ? mechs->first_child : NULL; m != NULL; m = m->next) {
    if (m->type != FG_XML_NODE_ELEMENT || !fg_xml_str_eq(m->local, "mechanism")) continue;
    const fg_xml_node *t = m->first_child;
    if (t != NULL && t->type == FG_XML_NODE_TEXT && fg_xml_str_eq(t->text, "EXTERNAL")) return 1;
  }
  return 0;
}

// on_element returns 0 when the stream was failed or is about to become TLS
// (stop parsing).
static int on_element(fg_load_stream *s) {
  const fg_xml_element *el = fg_xml_parser_element(s->parser);
  const fg_xml_node *r = el->root;
  char why[512];
  if (fg_xml_str_eq(r->ns, NS_STREAMS) && fg_xml_str_eq(r->local, "features") &&
      s->state == FG_ST_TLS_OFFER) {
    if (fg_xml_node_child(r, NS_TLS, "starttls") == NULL) {
      stream_failed(s, "--starttls: the SUT offers no STARTTLS");
      return 0;
    }
    send_str(s, "<starttls xmlns='" NS_TLS "'/>");  // RFC 6120 §5.4.2.1
    s->state = FG_ST_PROCEED;
    return 1;
  }
  if (s->state == FG_ST_PROCEED) {
    if (!fg_xml_str_eq(r->ns, NS_TLS) || !fg_xml_str_eq(r->local, "proceed")) {
      snprintf(why, sizeof(why), "STARTTLS refused: %.*s",
               (int)(r->raw.len > 300 ? 300 : r->raw.len), (const char *)r->raw.data);
      stream_failed(s, why);
      return 0;
    }
    // §5.4.3.3: the TLS handshake starts right after <proceed/>.
    if (!fg_conn_starttls(s->conn, g_load.client_ctx[s->remote], g_load.o.sink_domain)) {
      stream_failed(s, "STARTTLS: cannot start the TLS handshake");
    }
    s->state = FG_ST_CONNECTING;
    return 0;
  }
  if (fg_xml_str_eq(r->ns, NS_STREAMS) && fg_xml_str_eq(r->local, "features")) {
    if (s->state == FG_ST_FEATURES) {
      if (!offers_external(r)) {
        snprintf(why, sizeof(why),
                 "the SUT offers no SASL EXTERNAL (dialback only?), features: %.*s",
                 (int)(r->raw.len > 300 ? 300 : r->raw.len), (const char *)r->raw.data);
        stream_failed(s, why);
        return 0;
      }
      // XEP-0178 §3: "=" (empty authzid): the authorization identity is the
      // stream's 'from', proven by our certificate.
      send_str(s, "<auth xmlns='" NS_SASL "' mechanism='EXTERNAL'>=</auth>");
      s->state = FG_ST_AUTH;
    } else if (s->state == FG_ST_FEATURES2) {
      become_ready(s);
    }
    return 1;
  }
  if (fg_xml_str_eq(r->ns, NS_SASL) && s->state == FG_ST_AUTH) {
    if (fg_xml_str_eq(r->local, "success")) {
      // RFC 6120 §6.4.6: restart the stream on the same TLS connection.
      fg_xml_parser_reset(s->parser);
      s->state = FG_ST_FEATURES2;
      send_header(s);
      return 1;
    }
    snprintf(why, sizeof(why), "SASL EXTERNAL refused: %.*s",
             (int)(r->raw.len > 300 ? 300 : r->raw.len), (const char *)r->raw.data);
    stream_failed(s, why);
    return 0;
  }
  if (fg_xml_str_eq(r->ns, NS_STREAMS) && fg_xml_str_eq(r->local, "error")) {
    snprintf(why, sizeof(why), "stream error from the SUT: %.*s",
             (int)(r->raw.len > 300 ? 300 : r->raw.len), (const char *)r->raw.data);
    stream_ended(s, why);
    return 0;
  }
  if (fg_xml_str_eq(el->type, "error")) {
    // A bounce: the SUT could not deliver one of our stanzas.
    atomic_fetch_add(&g_load.bounced, 1);
    snprintf(why, sizeof(why), "bounced: %.*s", (int)(r->raw.len > 300 ? 300 : r->raw.len),
             (const char *)r->raw.data);
    fg_load_error("stream %u: %s", s->index, why);
  }
  return 1;
}

static size_t remote_data(fg_conn *c, const uint8_t *in, size_t len) {
  fg_load_stream *s = fg_conn_arg(c);
  size_t total = len;
  while (len > 0 || fg_xml_parser_pending(s->parser)) {
    size_t used = 0;
    fg_xml_event ev = fg_xml_parser_feed(s->parser, &used, in, len);
    in += used;
    len -= used;
    switch (ev) {
      case FG_XML_EVENT_NEED_MORE:
        return total;
      case FG_XML_EVENT_STREAM_OPEN:
      case FG_XML_EVENT_KEEPALIVE:
        break;
      case FG_XML_EVENT_ELEMENT:
        // After <proceed/> the rest belongs to TLS: report what was used.
        if (!on_element(s)) return s->state == FG_ST_CONNECTING ? total - len : total;
        break;
      case FG_XML_EVENT_STREAM_CLOSE:
        if (s->state != FG_ST_CLOSING) {
          stream_ended(s, "the SUT closed the stream");
        } else {
          fg_conn_close(c);
        }
        return total;
      case FG_XML_EVENT_ERROR: {
        char why[128];
        snprintf(why, sizeof(why), "XML error from the SUT: %s",
                 fg_xml_error_condition(fg_xml_parser_error(s->parser, NULL)));
        stream_failed(s, why);
        return total;
      }
    }
  }
  return total;
}

// note_tls records what the handshake of |c| negotiated (the report's
// "tls" object).
static void note_tls(fg_conn *c) {
  SSL *ssl = fg_tls_conn_ssl(fg_conn_tls(c));
  const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
  const char *v = SSL_get_version(ssl), *name = cipher ? SSL_CIPHER_standard_name(cipher) : "none";
  int unset = 0;
  if (atomic_compare_exchange_strong(&g_load.tls_noted, &unset, 1)) {
    snprintf(g_load.tls_version, sizeof(g_load.tls_version), "%s", v);
    snprintf(g_load.tls_cipher, sizeof(g_load.tls_cipher), "%s", name);
    atomic_store(&g_load.tls_noted, 2);
  } else if (atomic_load(&g_load.tls_noted) == 2 &&
             (strcmp(v, g_load.tls_version) != 0 || strcmp(name, g_load.tls_cipher) != 0)) {
    atomic_fetch_add(&g_load.tls_other, 1);
  }
}

// remote_tls_created pins the handshake to --tls12-cipher when given: the
// client offers TLS 1.2 only and that one suite, so every system under
// test negotiates the same (BoringSSL cannot narrow TLS 1.3's suites).
static void remote_tls_created(fg_conn *c, fg_tls_conn *t) {
  (void)c;
  const char *suite = g_load.o.tls12_cipher;
  if (suite == NULL) return;
  SSL *ssl = fg_tls_conn_ssl(t);
  if (!SSL_set_max_proto_version(ssl, TLS1_2_VERSION) || !SSL_set_strict_cipher_list(ssl, suite)) {
    fg_load_error("--tls12-cipher %s: BoringSSL refuses it", suite);
  }
}

// remote_secure: the TLS handshake after STARTTLS is done: a new stream on
// top of it (RFC 6120 §5.4.3.3).
static void remote_secure(fg_conn *c) {
  fg_load_stream *s = fg_conn_arg(c);
  if (!g_load.o.starttls || s->state != FG_ST_CONNECTING) return;
  atomic_fetch_add(&g_load.handshakes, 1);
  if (SSL_session_reused(fg_tls_conn_ssl(fg_conn_tls(c)))) atomic_fetch_add(&g_load.resumed, 1);
  note_tls(c);
  fg_xml_parser_reset(s->parser);
  s->state = FG_ST_FEATURES;
  send_header(s);
}

static void remote_open(fg_conn *c) {
  fg_load_stream *s = fg_conn_arg(c);
  if (g_load.o.starttls) {  // plaintext first: header, then <starttls/>
    s->state = FG_ST_TLS_OFFER;
    send_header(s);
    return;
  }
  atomic_fetch_add(&g_load.handshakes, 1);
  if (SSL_session_reused(fg_tls_conn_ssl(fg_conn_tls(c)))) atomic_fetch_add(&g_load.resumed, 1);
  note_tls(c);
  s->state = FG_ST_FEATURES;
  send_header(s);
}

static void remote_drain(fg_conn *c) {
  fg_load_stream_pump(fg_conn_arg(c));
}

// reconnect_after_death: --reconnect, relay: the connection of |s| died
// while sending. The stanzas written on it are remembered (those the sink
// never gets are lost on a dead stream), and the stream connects again.
// It returns 0 when the stream cannot (too many deaths).
static int reconnect_after_death(fg_load_stream *s, enum fg_close_reason r) {
  if (s->num_deaths == FG_LOAD_MAX_DEATHS) return 0;
  if (s->next_seq > s->conn_first_seq) {
    s->dead_from[s->num_deaths] = s->conn_first_seq;
    s->dead_to[s->num_deaths] = s->next_seq;
    s->num_deaths++;
  }
  s->conn_first_seq = s->next_seq;
  s->window_base = s->next_seq - atomic_load(&s->delivered);
  atomic_fetch_add(&g_load.reconnects, 1);
  fprintf(stderr, "s2sload: stream %u: connection died (%s) at sequence %llu; reconnecting\n",
          s->index, fg_close_reason_name(r), (unsigned long long)s->next_seq);
  s->state = FG_ST_IDLE;
  fg_worker_timer_arm(s->wc->w, &s->retry, kRetryMs);
  return 1;
}

static void remote_close(fg_conn *c, enum fg_close_reason r) {
  fg_load_stream *s = fg_conn_arg(c);
  s->conn = NULL;
  int ph = atomic_load(&g_load.phase);
  if (g_load.o.reconnect && g_load.o.mode == FG_LOAD_RELAY && ph >= FG_PHASE_WARMUP &&
      ph < FG_PHASE_DRAIN && s->state != FG_ST_CLOSING && s->state != FG_ST_FAILED &&
      reconnect_after_death(s, r)) {
    return;
  }
  if (s->state != FG_ST_CLOSING && s->state != FG_ST_FAILED && ph < FG_PHASE_DONE) {
    char why[128];
    snprintf(why, sizeof(why), "connection closed (%s)%s", fg_close_reason_name(r),
             r == FG_CLOSE_TLS_ERROR ? ": TLS handshake or record failure" : "");
    stream_failed(s, why);
  }
  if (g_load.o.mode == FG_LOAD_CHURN && ph < FG_PHASE_DRAIN) {
    if (s->state == FG_ST_FAILED) {
      fg_worker_timer_arm(s->wc->w, &s->retry, kRetryMs);
    } else {
      fg_load_stream_start(s);
    }
    return;
  }
  if (s->state != FG_ST_FAILED) s->state = FG_ST_IDLE;
}

static void retry_fn(fg_timer *t, void *arg) {
  (void)t;
  fg_load_stream *s = arg;
  if (atomic_load(&g_load.phase) < FG_PHASE_DRAIN) fg_load_stream_start(s);
}

static const fg_conn_handler remote_handler = {
    .on_open = remote_open,
    .on_tls_created = remote_tls_created,
    .on_data = remote_data,
    .on_secure = remote_secure,
    .on_drain = remote_drain,
    .on_close = remote_close,
};

void fg_load_stream_start(fg_load_stream *s) {
  s->wake.fn = wake_fn;
  if (s->retry.fn == NULL) fg_timer_init(&s->retry, retry_fn, s);
  if (s->parser == NULL) {
    fg_xml_config cfg;
    fg_xml_config_default(&cfg);
    s->parser = fg_xml_parser_new(&cfg);
    if (s->parser == NULL) {
      stream_failed(s, "out of memory");
      return;
    }
    fg_xml_parser_set_authenticated(s->parser);
  } else {
    fg_xml_parser_reset(s->parser);
  }
  fg_connect_config cc = {0};
  cc.addr = (const struct sockaddr *)&g_load.target;
  cc.addr_len = g_load.target_len;
  cc.handler = &remote_handler;
  cc.arg = s;
  cc.tls = g_load.o.starttls ? NULL : g_load.client_ctx[s->remote];
  cc.server_name = g_load.o.sink_domain;  // XEP-0368: SNI is the domain we address
  s->state = FG_ST_CONNECTING;
  s->conn = fg_conn_connect(s->wc->w, &cc);
  if (s->conn == NULL) stream_failed(s, "cannot create a socket (RLIMIT_NOFILE?)");
}

static void launch_more(fg_load_wctx *wc) {
  unsigned limit = g_load.o.connect_parallel / g_load.num_workers;
  if (limit == 0) limit = 1;
  if (atomic_load(&g_load.phase) >= FG_PHASE_DONE) return;
  size_t until = g_load.o.mode == FG_LOAD_IDLE ? wc->start_until : wc->num_streams;
  while (wc->connecting < limit && wc->next_start < until) {
    fg_load_stream *s = &g_load.streams[wc->streams[wc->next_start++]];
    wc->connecting++;
    fg_load_stream_start(s);
  }
}

// fg_load_worker_start starts the streams of worker |wc| (idle: at most
// --connect-parallel / workers connection attempts at a time).
void fg_load_worker_start(fg_load_wctx *wc) {
  if (g_load.o.mode == FG_LOAD_IDLE) {
    launch_more(wc);
    return;
  }
  for (size_t i = 0; i < wc->num_streams; i++)
    fg_load_stream_start(&g_load.streams[wc->streams[i]]);
}

static void tick(fg_timer *t, void *arg) {
  (void)t;
  fg_load_wctx *wc = arg;
  if (atomic_load(&g_load.phase) >= FG_PHASE_DONE) return;
  uint64_t now = fg_clock_ns();
  uint64_t next = now + 1000000;
  for (size_t i = 0; i < wc->num_streams; i++) {
    fg_load_stream *s = &g_load.streams[wc->streams[i]];
    if (s->state != FG_ST_READY) continue;
    pump_open(s, now);
    if (s->state != FG_ST_READY || s->conn == NULL || fg_conn_write_blocked(s->conn)) continue;
    double due = (double)g_load.base_ns + s->offset_ns + (double)s->next_seq * g_load.interval_ns;
    if (due < (double)next) next = due < (double)now ? now : (uint64_t)due;
  }
  // --tick-us bounds how often the pacer wakes: a stanza leaves at most
  // this late (its id keeps the scheduled time, so the delay counts in the
  // latency), and the stanzas due meanwhile share a TLS record.
  uint64_t tick_ns = (uint64_t)g_load.o.tick_us * 1000;
  if (next < now + tick_ns) next = now + tick_ns;
  fg_worker_timer_arm_at(wc->w, &wc->tick, next);
}

// fg_load_worker_go starts sending on every ready stream of |wc|.
void fg_load_worker_go(fg_load_wctx *wc) {
  if (g_load.o.rate > 0) {
    fg_timer_init(&wc->tick, tick, wc);
    fg_worker_timer_arm(wc->w, &wc->tick, 0);
    return;
  }
  for (size_t i = 0; i < wc->num_streams; i++) fg_load_stream_pump(&g_load.streams[wc->streams[i]]);
}

// fg_load_worker_stop closes every stream of |wc|.
void fg_load_worker_stop(fg_load_wctx *wc) {
  if (fg_timer_armed(&wc->tick)) fg_worker_timer_cancel(wc->w, &wc->tick);
  for (size_t i = 0; i < wc->num_streams; i++)
    fg_load_stream_close(&g_load.streams[wc->streams[i]]);
}

void fg_load_worker_ping(fg_load_wctx *wc) {
  for (size_t i = 0; i < wc->num_streams; i++) {
    fg_load_stream *s = &g_load.streams[wc->streams[i]];
    if (s->state == FG_ST_READY && s->conn != NULL) write_one(s);
  }
}
