// s2sload_sink.c: the sink, the internal server behind the SUT. It never
// answers a stanza (one-way relay): it parses each one with the project's
// streaming parser and hands its id to fg_load_deliver. Three flavours:
//   s2s-listen  plaintext s2s receiving server for the streams fedgate opens
//               on its internal hop (XEP-0220 dialback, trusted loopback hop:
//               every db:result and db:verify is answered valid unchecked);
//   component   an XEP-0114 component connected to the SUT (Prosody);
//   plain-listen the receiving server of s2sload's own streams behind a TLS
//               terminator (HAProxy), or terminating TLS itself (--target
//               self): offers SASL EXTERNAL and grants it.
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "bench/s2sload_core.h"
#include "bench/s2sload_scan.h"
#include "io/listener.h"

#define NS_STREAMS "http://etherx.jabber.org/streams"
#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_DIALBACK "jabber:server:dialback"
#define NS_COMPONENT "jabber:component:accept"

typedef struct sink_conn {
  fg_conn *c;
  fg_xml_parser *p;
  fg_load_wctx *wc;
  int authed;  // plain-listen: SASL done; component: handshake accepted
  int scan;    // negotiation over: stanzas go to scan_ids (see --sink-parse)
  uint64_t now;
  const uint8_t *chunk, *chunk_end;  // what scan_ids is scanning
} sink_conn;

static void scan_found(void *arg, const uint8_t *id, size_t id_len) {
  sink_conn *s = arg;
  atomic_fetch_add_explicit(&g_load.sink_stanzas, 1, memory_order_relaxed);
  // The stanza starts at the last '<' before its id (the id is in its
  // start tag); a sample is checked when the chunk holds that '<'.
  const uint8_t *lt = id;
  while (lt > s->chunk && *lt != '<') lt--;
  const uint8_t *raw = *lt == '<' ? lt : NULL;
  fg_load_deliver(s->wc, id, id_len, raw, raw ? (size_t)(s->chunk_end - raw) : 0, 1, s->now);
}

// scan_ids is the sink's fast path once a stream carries only stanzas (see
// s2sload_scan.h).
static size_t scan_ids(sink_conn *s, const uint8_t *p, size_t n, uint64_t now) {
  s->now = now;
  s->chunk = p;
  s->chunk_end = p + n;
  return fg_id_scan(p, n, scan_found, s);
}

static atomic_uint g_stream_ids;

static void send_str(sink_conn *s, const char *str) {
  fg_conn_send(s->c, (const uint8_t *)str, strlen(str));
}

// copy_domain copies an attribute value that is safe to put back between
// single quotes (domains are); anything else becomes "invalid".
static void copy_domain(char *out, size_t cap, fg_xml_str v) {
  int ok = v.data != NULL && v.len > 0 && v.len < cap;
  for (size_t i = 0; ok && i < v.len; i++)
    ok = v.data[i] > ' ' && v.data[i] != '\'' && v.data[i] != '<' && v.data[i] != '&';
  if (!ok) {
    snprintf(out, cap, "invalid");
    return;
  }
  memcpy(out, v.data, v.len);
  out[v.len] = 0;
}

static int is_stanza(const fg_xml_node *r) {
  return fg_xml_str_eq(r->local, "message") || fg_xml_str_eq(r->local, "presence") ||
         fg_xml_str_eq(r->local, "iq");
}

static void on_header(sink_conn *s) {
  const fg_xml_stream_header *h = fg_xml_parser_header(s->p);
  if (g_load.o.sink == FG_SINK_COMPONENT) {
    // XEP-0114 §3: handshake = hex(SHA-1(stream id + secret)).
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "%.*s%s", (int)h->id.len, (const char *)h->id.data,
                     g_load.o.component_secret);
    uint8_t md[SHA_DIGEST_LENGTH];
    SHA1((const uint8_t *)buf, (size_t)n, md);
    char out[128] = "<handshake>";
    size_t o = strlen(out);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++) o += (size_t)sprintf(out + o, "%02x", md[i]);
    snprintf(out + o, sizeof(out) - o, "</handshake>");
    send_str(s, out);
    return;
  }
  char from[256], to[256], buf[1024];
  copy_domain(from, sizeof(from), h->from);
  copy_domain(to, sizeof(to), h->to);
  unsigned id = atomic_fetch_add(&g_stream_ids, 1);
  const char *features;
  if (g_load.o.sink == FG_SINK_S2S) {
    features = "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>";
  } else if (!s->authed) {
    // No certificate to check here: the TLS terminator in front (HAProxy,
    // or --target self) does not pass the client's certificate on, and the
    // load is our own. EXTERNAL is offered and granted as asked.
    features = "<stream:features><mechanisms xmlns='" NS_SASL
               "'><mechanism>EXTERNAL</mechanism></mechanisms></stream:features>";
  } else {
    features = "<stream:features/>";
    s->scan = g_load.o.sink_scan;  // the restarted stream: stanzas only
  }
  snprintf(buf, sizeof(buf),
           "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='" NS_STREAMS
           "' xmlns:db='" NS_DIALBACK "' from='%s' to='%s' id='sink-%u' version='1.0'>%s",
           to, from, id, features);
  send_str(s, buf);
}

static void on_element(sink_conn *s, uint64_t now) {
  const fg_xml_element *el = fg_xml_parser_element(s->p);
  const fg_xml_node *r = el->root;
  const char *content = g_load.o.sink == FG_SINK_COMPONENT ? NS_COMPONENT : "jabber:server";
  if (fg_xml_str_eq(r->ns, content) && is_stanza(r)) {
    atomic_fetch_add_explicit(&g_load.sink_stanzas, 1, memory_order_relaxed);
    if (el->id.data == NULL) {
      atomic_fetch_add(&g_load.unknown_ids, 1);
      return;
    }
    fg_load_deliver(s->wc, el->id.data, el->id.len, r->raw.data, r->raw.len, 0, now);
    return;
  }
  char from[256], to[256], buf[1024];
  if (fg_xml_str_eq(r->ns, NS_DIALBACK)) {
    // XEP-0220 §2.1.2 / §2.2: the hop is trusted loopback; answer valid.
    copy_domain(from, sizeof(from), el->from);
    copy_domain(to, sizeof(to), el->to);
    if (fg_xml_str_eq(r->local, "result") && el->type.data == NULL) {
      snprintf(buf, sizeof(buf), "<db:result from='%s' to='%s' type='valid'/>", to, from);
      send_str(s, buf);
      // fedgate opens one hop stream per domain pair: after the answer,
      // only stanzas follow.
      s->scan = g_load.o.sink_scan;
    } else if (fg_xml_str_eq(r->local, "verify") && el->type.data == NULL) {
      char id[256];
      copy_domain(id, sizeof(id), el->id);
      snprintf(buf, sizeof(buf), "<db:verify from='%s' to='%s' id='%s' type='valid'/>", to, from,
               id);
      send_str(s, buf);
    }
    return;
  }
  if (g_load.o.sink == FG_SINK_PLAIN && fg_xml_str_eq(r->ns, NS_SASL) &&
      fg_xml_str_eq(r->local, "auth") && !s->authed) {
    // RFC 6120 §6.4.6: success, then both sides restart the stream.
    send_str(s, "<success xmlns='" NS_SASL "'/>");
    s->authed = 1;
    fg_xml_parser_reset(s->p);
    return;
  }
  if (g_load.o.sink == FG_SINK_COMPONENT && fg_xml_str_eq(r->ns, NS_COMPONENT) &&
      fg_xml_str_eq(r->local, "handshake")) {
    s->authed = 1;
    s->scan = g_load.o.sink_scan;
    atomic_fetch_add(&g_load.sink_ready, 1);
    return;
  }
  if (fg_xml_str_eq(r->ns, NS_STREAMS) && fg_xml_str_eq(r->local, "error")) {
    fg_load_error("sink: the SUT sent a stream error: %.*s", (int)r->raw.len,
                  (const char *)r->raw.data);
  }
}

static size_t sink_data(fg_conn *c, const uint8_t *in, size_t len) {
  sink_conn *s = fg_conn_arg(c);
  uint64_t now = fg_clock_ns();
  size_t total = len;
  if (s->scan) return scan_ids(s, in, len, now);
  while (len > 0 || fg_xml_parser_pending(s->p)) {
    size_t used = 0;
    fg_xml_event ev = fg_xml_parser_feed(s->p, &used, in, len);
    in += used;
    len -= used;
    switch (ev) {
      case FG_XML_EVENT_NEED_MORE:
        return total;
      case FG_XML_EVENT_STREAM_OPEN:
        on_header(s);
        if (s->scan) return total - len + scan_ids(s, in, len, now);
        break;
      case FG_XML_EVENT_ELEMENT:
        on_element(s, now);
        if (s->scan) return total - len + scan_ids(s, in, len, now);
        break;
      case FG_XML_EVENT_KEEPALIVE:
        break;
      case FG_XML_EVENT_STREAM_CLOSE:
        send_str(s, "</stream:stream>");
        fg_conn_close(c);
        return total;
      case FG_XML_EVENT_ERROR: {
        uint64_t off = 0;
        fg_xml_error e = fg_xml_parser_error(s->p, &off);
        if (atomic_load(&g_load.phase) < FG_PHASE_DONE) {
          fg_load_error("sink: XML error %s at byte %llu", fg_xml_error_condition(e),
                        (unsigned long long)off);
        }
        fg_conn_abort(c, FG_CLOSE_LOCAL);
        return total;
      }
    }
    if (fg_conn_arg(c) == NULL) return total;
  }
  return total;
}

static void sink_open(fg_conn *c) {
  sink_conn *s = calloc(1, sizeof(*s));
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  if (g_load.o.sink == FG_SINK_COMPONENT) cfg.content_ns = NS_COMPONENT;
  cfg.limits.max_element_bytes_postauth = FG_STANZA_FIXED_MAX + 4096;
  s->p = s ? fg_xml_parser_new(&cfg) : NULL;
  if (s == NULL || s->p == NULL) {
    free(s);
    fg_load_error("sink: out of memory");
    fg_conn_abort(c, FG_CLOSE_OVERFLOW);
    return;
  }
  fg_xml_parser_set_authenticated(s->p);
  s->c = c;
  s->wc = &g_load.wctx[fg_worker_index(fg_conn_worker(c))];
  fg_conn_set_arg(c, s);
  atomic_fetch_add(&g_load.sink_conns, 1);
  if (g_load.o.sink == FG_SINK_COMPONENT) {
    char buf[512];
    // XEP-0114 §3: the component opens the stream to its own domain.
    snprintf(buf, sizeof(buf),
             "<?xml version='1.0'?><stream:stream xmlns='" NS_COMPONENT
             "' xmlns:stream='" NS_STREAMS "' to='%s'>",
             g_load.o.sink_domain);
    send_str(s, buf);
  }
}

static void sink_close(fg_conn *c, enum fg_close_reason r) {
  sink_conn *s = fg_conn_arg(c);
  int phase = atomic_load(&g_load.phase);
  if (g_load.o.sink == FG_SINK_COMPONENT && phase < FG_PHASE_DONE) {
    fg_load_error("sink: the component connection closed (%s)%s", fg_close_reason_name(r),
                  s != NULL && s->authed ? "" : " before the handshake was accepted");
  }
  if (s == NULL) return;
  fg_xml_parser_free(s->p);
  free(s);
  fg_conn_set_arg(c, NULL);
}

static const fg_conn_handler sink_handler = {
    .on_open = sink_open, .on_data = sink_data, .on_close = sink_close};

static void component_connect(fg_worker *w, fg_msg *m) {
  free(m);
  fg_connect_config cc = {0};
  cc.addr = (const struct sockaddr *)&g_load.sink_sa;
  cc.addr_len = g_load.sink_sa_len;
  cc.handler = &sink_handler;
  if (fg_conn_connect(w, &cc) == NULL) fg_load_error("sink: cannot connect the component");
}

int fg_load_sink_start(void) {
  const fg_load_opts *o = &g_load.o;
  if (o->sink == FG_SINK_COMPONENT) {
    fg_msg *m = calloc(1, sizeof(*m));
    if (m == NULL) return 0;
    m->fn = component_connect;
    fg_worker_post(fg_runtime_worker(g_load.rt, 0), m);
    return 1;
  }
  char host[INET6_ADDRSTRLEN] = "127.0.0.1";
  uint16_t port = 0;
  const struct sockaddr *sa = (const struct sockaddr *)&g_load.sink_sa;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
  }
  fg_listener_config lc = {0};
  lc.host = host;
  lc.port = port;
  lc.tls = g_load.sink_tls;
  lc.handler = &sink_handler;
  uint16_t bound = 0;
  if (!fg_runtime_listen(g_load.rt, &lc, &bound)) {
    fprintf(stderr, "s2sload: cannot listen on %s port %u\n", host, port);
    return 0;
  }
  if (sa->sa_family == AF_INET) {
    ((struct sockaddr_in *)&g_load.sink_sa)->sin_port = htons(bound);
  } else {
    ((struct sockaddr_in6 *)&g_load.sink_sa)->sin6_port = htons(bound);
  }
  atomic_store(&g_load.sink_ready, 1);
  return 1;
}
