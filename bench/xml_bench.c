// xml_bench.c: gateway/xml_parser against expat and libxml2's SAX2 push
// parser on a generated corpus of realistic s2s traffic.
//
// The corpus is one s2s stream: messages with bodies in several scripts,
// presence with entity capabilities (XEP-0115), iq with service discovery
// (XEP-0030) and pubsub (XEP-0060) payloads, 200 B to 4 KiB per stanza. Each
// parser gets it in 16 KiB chunks with namespace processing on, single
// threaded; the best of several passes counts. Usage:
//   xml_bench [--json] [--mb N] [--passes N] [--fedgate-only] [--cpu-time]
//             [--stanza-bytes N] [--full-tree]
// --stanza-bytes N makes the corpus N-byte messages only, shaped as the
// relay benchmark's (bench/s2sload), to time the per-stanza costs.
// --fedgate-only skips expat and libxml2 (for profiles and for timing two
// builds of the parser against each other, alternating the binaries);
// --cpu-time times passes in thread CPU time instead of wall-clock time, so
// that time the thread spends descheduled on a shared machine does not count.
// fedgate reads each element as a router does, its root only (parsers
// configured with root_views, fg_xml_parser_element_root); --full-tree
// builds the views of every node with each element (the default
// configuration, fg_xml_parser_element), as for a consumer that reads them.
// fedgate runs once per instruction-set copy of its parser that the CPU has
// (interleaved pass by pass); FEDGATE_XML_ISA picks the "dispatched" one.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <expat.h>
#include <libxml/parser.h>

#include "gateway/xml/xml_parser.h"
#include "gateway/xml/xml_simd.h"

#define CHUNK 16384

static uint64_t rng_s = 0x243F6A8885A308D3ull;

static uint32_t rnd(uint32_t n) {
  rng_s ^= rng_s << 13;
  rng_s ^= rng_s >> 7;
  rng_s ^= rng_s << 17;
  return (uint32_t)(rng_s % n);
}

typedef struct buf {
  char *d;
  size_t len, cap;
} buf;

static void put(buf *b, const char *s, size_t n) {
  if (b->len + n > b->cap) {
    while (b->len + n > b->cap) b->cap = b->cap ? b->cap * 2 : 1 << 20;
    b->d = realloc(b->d, b->cap);
    if (b->d == NULL) abort();
  }
  memcpy(b->d + b->len, s, n);
  b->len += n;
}

static void puts_(buf *b, const char *s) {
  put(b, s, strlen(s));
}

static void putf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void putf(buf *b, const char *fmt, ...) {
  char tmp[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  put(b, tmp, (size_t)n);
}

// Words in several scripts (UTF-8), for message bodies.
static const char *const kWords[] = {
    "hello", "meeting", "tomorrow",   "the",     "report", "is",     "ready",      "&amp;",
    "Grüße", "café",    "naïve",      "привет",  "как",    "дела",   "こんにちは", "世界",
    "你好",  "朋友",    "مرحبا",      "بالعالم", "שלום",   "γειά",   "σου",        "😀",
    "👍",     "नमस्ते",    "안녕하세요", "ok",      "&lt;3",  "thanks", "see",        "you",
};
#define NWORDS (sizeof(kWords) / sizeof(kWords[0]))

static const char *const kDomains[] = {"a.example", "b.example", "chat.example.org",
                                       "conference.example.net", "pubsub.example.com"};
static const char *const kUsers[] = {"alice", "bob", "carol", "dave", "eve", "mallory", "trent"};

static void jid(buf *b, int full) {
  putf(b, "%s@%s", kUsers[rnd(7)], kDomains[rnd(5)]);
  if (full) putf(b, "/res%u", rnd(1000));
}

static void text_of(buf *b, size_t target) {
  size_t start = b->len;
  while (b->len - start < target) {
    puts_(b, kWords[rnd(NWORDS)]);
    puts_(b, rnd(9) == 0 ? ". " : " ");
  }
}

static void message(buf *b, size_t size) {
  puts_(b, "<message from='");
  jid(b, 1);
  puts_(b, "' to='");
  jid(b, 1);
  putf(b, "' type='chat' id='m%08x' xml:lang='en'><body>", rnd(1u << 31));
  text_of(b, size > 300 ? size - 300 : 40);
  putf(b,
       "</body><thread>t%u</thread><active xmlns='http://jabber.org/protocol/chatstates'/>"
       "<request xmlns='urn:xmpp:receipts'/><origin-id xmlns='urn:xmpp:sid:0' id='o%u'/></message>",
       rnd(100000), rnd(1u << 30));
}

static void presence(buf *b, size_t size) {
  puts_(b, "<presence from='");
  jid(b, 1);
  puts_(b, "' to='");
  jid(b, 0);
  puts_(b, "'><show>away</show><status>");
  text_of(b, size > 450 ? size - 450 : 20);
  putf(b,
       "</status><priority>%u</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
       "node='https://conversations.im' ver='%08xQqGh+EtV4ZbC2=' /><x xmlns='vcard-temp:x:update'>"
       "<photo>%08x%08x%08x%08x%08x</photo></x></presence>",
       rnd(128), rnd(1u << 31), rnd(1u << 31), rnd(1u << 31), rnd(1u << 31), rnd(1u << 31),
       rnd(1u << 31));
}

static const char *const kFeatures[] = {
    "http://jabber.org/protocol/disco#info",
    "http://jabber.org/protocol/disco#items",
    "http://jabber.org/protocol/muc",
    "http://jabber.org/protocol/caps",
    "urn:xmpp:ping",
    "urn:xmpp:receipts",
    "urn:xmpp:mam:2",
    "urn:xmpp:carbons:2",
    "jabber:iq:version",
    "http://jabber.org/protocol/pubsub#publish",
    "urn:xmpp:avatar:metadata+notify",
    "http://jabber.org/protocol/nick+notify",
    "urn:xmpp:http:upload:0",
    "vcard-temp",
};

static void iq_disco(buf *b, size_t size) {
  puts_(b, "<iq type='result' from='");
  puts_(b, kDomains[rnd(5)]);
  puts_(b, "' to='");
  jid(b, 1);
  putf(b,
       "' id='disco%u'><query xmlns='http://jabber.org/protocol/disco#info' "
       "node='https://conversations.im#%08x'><identity category='client' type='phone' "
       "name='Conversations'/>",
       rnd(100000), rnd(1u << 31));
  size_t start = b->len;
  while (b->len - start + 200 < size) putf(b, "<feature var='%s'/>", kFeatures[rnd(14)]);
  puts_(b, "</query></iq>");
}

static void iq_pubsub(buf *b, size_t size) {
  puts_(b, "<iq type='set' from='");
  jid(b, 1);
  puts_(b, "' to='");
  puts_(b, kDomains[4]);
  putf(b,
       "' id='pub%u'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish "
       "node='urn:xmpp:microblog:0'><item id='%08x'><entry xmlns='http://www.w3.org/2005/Atom'>"
       "<title type='text'>",
       rnd(100000), rnd(1u << 31));
  text_of(b, 40);
  puts_(b, "</title><content type='text'>");
  text_of(b, size > 600 ? size - 600 : 40);
  putf(b,
       "</content><published>2026-11-%02uT10:%02u:00Z</published><author><name>%s</name>"
       "<uri>xmpp:%s@%s</uri></author></entry></item></publish><publish-options><x "
       "xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>"
       "http://jabber.org/protocol/pubsub#publish-options</value></field></x></publish-options>"
       "</pubsub></iq>",
       1 + rnd(28), rnd(60), kUsers[rnd(7)], kUsers[rnd(7)], kDomains[rnd(5)]);
}

// relay_message writes a message of |size| bytes shaped as bench/s2sload's
// relay stanzas (routing attributes, a body of ASCII filler, a chat state).
static void relay_message(buf *b, size_t size, size_t seq) {
  static const char kFill[] = "The quick brown fox jumps over the lazy dog 0123456789. ";
  size_t start = b->len;
  putf(b, "<message from='user%u@a.example/res' to='user%u@b.example' type='chat' id='%zx'><body>",
       rnd(1000), rnd(1000), seq);
  const char *tail = "</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>";
  size_t used = b->len - start + strlen(tail);
  for (size_t k = 0; used + k < size; k++) put(b, &kFill[k % (sizeof(kFill) - 1)], 1);
  puts_(b, tail);
}

static size_t make_corpus(buf *b, size_t target, size_t stanza_bytes, size_t *stanzas) {
  puts_(b,
        "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
        "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
        "from='a.example' to='b.example' id='s2s-1' version='1.0'>");
  size_t n = 0;
  while (stanza_bytes != 0 && b->len < target) relay_message(b, stanza_bytes, n++);
  while (b->len < target) {
    size_t size = 200 + rnd(rnd(4) == 0 ? 3896 : 1200);  // 200 B to 4 KiB, mostly small
    switch (rnd(10)) {
      case 0:
      case 1:
      case 2:
      case 3:
        message(b, size);
        break;
      case 4:
      case 5:
      case 6:
        presence(b, size);
        break;
      case 7:
      case 8:
        iq_disco(b, size);
        break;
      default:
        iq_pubsub(b, size);
        break;
    }
    n++;
    if (rnd(50) == 0) puts_(b, " ");  // whitespace keepalive
  }
  *stanzas = n;
  return b->len;
}

static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now(void) {
  struct timespec ts;
  clock_gettime(bench_clock, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// --- fedgate ---

static int full_tree;
static volatile size_t routed_bytes;  // what was read of each element, kept

static size_t run_fedgate(const char *d, size_t len) {
  fg_xml_config cfg;
  fg_xml_config_default(&cfg);
  cfg.root_views = !full_tree;
  fg_xml_parser *p = fg_xml_parser_new(&cfg);
  fg_xml_parser_set_authenticated(p);
  size_t elements = 0;
  for (size_t off = 0; off < len; off += CHUNK) {
    size_t n = len - off < CHUNK ? len - off : CHUNK;
    const uint8_t *in = (const uint8_t *)d + off;
    while (n > 0) {
      size_t used;
      fg_xml_event ev = fg_xml_parser_feed(p, &used, in, n);
      in += used;
      n -= used;
      if (ev == FG_XML_EVENT_ELEMENT) {
        const fg_xml_element *el =
            full_tree ? fg_xml_parser_element(p) : fg_xml_parser_element_root(p);
        routed_bytes += el->to.len + el->root->raw.len;
        elements++;
      }
      if (ev == FG_XML_EVENT_ERROR) {
        uint64_t o;
        fg_xml_error e = fg_xml_parser_error(p, &o);
        fprintf(stderr, "fedgate: %s at %llu\n", fg_xml_error_condition(e), (unsigned long long)o);
        abort();
      }
    }
  }
  fg_xml_parser_free(p);
  return elements;
}

// --- expat ---

typedef struct counter {
  int depth;
  size_t elements;
} counter;

static void XMLCALL ex_start(void *u, const XML_Char *name, const XML_Char **atts) {
  (void)name;
  (void)atts;
  ((counter *)u)->depth++;
}

static void XMLCALL ex_end(void *u, const XML_Char *name) {
  (void)name;
  counter *c = u;
  if (--c->depth == 1) c->elements++;
}

static void XMLCALL ex_text(void *u, const XML_Char *s, int len) {
  (void)u;
  (void)s;
  (void)len;
}

static size_t run_expat(const char *d, size_t len) {
  XML_Parser p = XML_ParserCreateNS("UTF-8", '\xff');
  counter c = {0, 0};
  XML_SetUserData(p, &c);
  XML_SetElementHandler(p, ex_start, ex_end);
  XML_SetCharacterDataHandler(p, ex_text);
  for (size_t off = 0; off < len; off += CHUNK) {
    size_t n = len - off < CHUNK ? len - off : CHUNK;
    if (XML_Parse(p, d + off, (int)n, 0) != XML_STATUS_OK) {
      fprintf(stderr, "expat: %s\n", XML_ErrorString(XML_GetErrorCode(p)));
      abort();
    }
  }
  XML_ParserFree(p);
  return c.elements;
}

// --- libxml2 SAX2 push parser ---

static void lx_start(void *u, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
                     int nns, const xmlChar **ns, int nattr, int ndef, const xmlChar **attrs) {
  (void)local, (void)prefix, (void)uri, (void)nns, (void)ns, (void)nattr, (void)ndef, (void)attrs;
  ((counter *)u)->depth++;
}

static void lx_end(void *u, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri) {
  (void)local, (void)prefix, (void)uri;
  counter *c = u;
  if (--c->depth == 1) c->elements++;
}

static void lx_text(void *u, const xmlChar *s, int len) {
  (void)u, (void)s, (void)len;
}

static size_t run_libxml2(const char *d, size_t len) {
  xmlSAXHandler sax;
  memset(&sax, 0, sizeof(sax));
  sax.initialized = XML_SAX2_MAGIC;
  sax.startElementNs = lx_start;
  sax.endElementNs = lx_end;
  sax.characters = lx_text;
  counter c = {0, 0};
  xmlParserCtxtPtr ctx = xmlCreatePushParserCtxt(&sax, &c, NULL, 0, NULL);
  xmlCtxtUseOptions(ctx, XML_PARSE_HUGE | XML_PARSE_NONET | XML_PARSE_NOENT * 0);
  for (size_t off = 0; off < len; off += CHUNK) {
    size_t n = len - off < CHUNK ? len - off : CHUNK;
    if (xmlParseChunk(ctx, d + off, (int)n, 0) != 0) {
      fprintf(stderr, "libxml2: parse error\n");
      abort();
    }
  }
  xmlFreeParserCtxt(ctx);
  return c.elements;
}

typedef size_t (*runner)(const char *, size_t);

static double best_time(runner r, const char *d, size_t len, int passes, size_t *elements) {
  double best = 1e30;
  for (int k = 0; k < passes; k++) {
    double t0 = now();
    *elements = r(d, len);
    double t = now() - t0;
    if (t < best) best = t;
  }
  return best;
}

int main(int argc, char **argv) {
  int json = 0, passes = 5, fedgate_only = 0;
  size_t mb = 32, stanza_bytes = 0;
  for (int k = 1; k < argc; k++) {
    if (strcmp(argv[k], "--json") == 0)
      json = 1;
    else if (strcmp(argv[k], "--mb") == 0 && k + 1 < argc)
      mb = strtoul(argv[++k], NULL, 10);
    else if (strcmp(argv[k], "--passes") == 0 && k + 1 < argc)
      passes = atoi(argv[++k]);
    else if (strcmp(argv[k], "--fedgate-only") == 0)
      fedgate_only = 1;
    else if (strcmp(argv[k], "--stanza-bytes") == 0 && k + 1 < argc)
      stanza_bytes = strtoul(argv[++k], NULL, 10);
    else if (strcmp(argv[k], "--cpu-time") == 0)
      bench_clock = CLOCK_THREAD_CPUTIME_ID;
    else if (strcmp(argv[k], "--full-tree") == 0)
      full_tree = 1;
    else {
      fprintf(stderr,
              "usage: xml_bench [--json] [--mb N] [--passes N] [--fedgate-only] [--cpu-time] "
              "[--stanza-bytes N] [--full-tree]\n");
      return 2;
    }
  }
  xmlInitParser();
  buf b = {0};
  size_t stanzas;
  size_t len = make_corpus(&b, mb << 20, stanza_bytes, &stanzas);
  size_t e_fg = stanzas, e_ex, e_lx;
  // Every copy of the parser this CPU runs (gateway/xml/xml_simd.h), from this
  // one binary, interleaved: each pass times each copy in turn, so that load
  // from other processes falls on all of them alike. The dispatched copy (the
  // CPU detection's choice, or FEDGATE_XML_ISA's) is "fedgate"; the baseline
  // x86-64 copy "fedgate_baseline".
  fg_xml_simd active = fg_xml_simd_active();
  double t_level[FG_XML_SIMD_COUNT];
  for (int s = 0; s < FG_XML_SIMD_COUNT; s++) t_level[s] = 1e30;
  for (int k = 0; k < passes; k++) {
    for (int s = 0; s < FG_XML_SIMD_COUNT; s++) {
      if (!fg_xml_simd_select((fg_xml_simd)s)) continue;
      size_t e = 0;
      double t = best_time(run_fedgate, b.d, len, 1, &e);
      if (t < t_level[s]) t_level[s] = t;
      if (e != stanzas) e_fg = e;
    }
  }
  fg_xml_simd_select(active);
  double t_fg = t_level[active], t_base = t_level[FG_XML_SIMD_BASELINE];
  size_t e_base = e_fg;
  double t_ex = 1e30, t_lx = 1e30;
  e_ex = e_lx = stanzas;
  if (!fedgate_only) {
    t_ex = best_time(run_expat, b.d, len, passes, &e_ex);
    t_lx = best_time(run_libxml2, b.d, len, passes, &e_lx);
  }
  if (e_fg != stanzas || e_base != stanzas || e_ex != stanzas || e_lx != stanzas) {
    fprintf(stderr, "element counts differ: corpus %zu, fedgate %zu, expat %zu, libxml2 %zu\n",
            stanzas, e_fg, e_ex, e_lx);
    return 1;
  }
  double mb_base = len / t_base / 1e6;
  double mb_fg = len / t_fg / 1e6, mb_ex = len / t_ex / 1e6, mb_lx = len / t_lx / 1e6;
  if (json) {
    printf("{\"fedgate_level_mbps\": {");
    for (int s = 0, first = 1; s < FG_XML_SIMD_COUNT; s++) {
      if (t_level[s] >= 1e30) continue;
      printf("%s\"%s\": %.1f", first ? "" : ", ", fg_xml_simd_name((fg_xml_simd)s),
             len / t_level[s] / 1e6);
      first = 0;
    }
    printf(
        "}, \"fedgate_mbps\": %.1f, \"fedgate_baseline_mbps\": %.1f, \"simd\": \"%s\", "
        "\"libxml2_mbps\": %.1f, \"expat_mbps\": %.1f, "
        "\"corpus_bytes\": %zu, \"stanzas\": %zu, \"fedgate_stanzas_per_s\": %.0f, "
        "\"libxml2_stanzas_per_s\": %.0f, \"expat_stanzas_per_s\": %.0f}\n",
        mb_fg, mb_base, fg_xml_simd_name(active), mb_lx, mb_ex, len, stanzas, stanzas / t_fg,
        stanzas / t_lx, stanzas / t_ex);
  } else {
    printf("corpus: %.1f MB, %zu stanzas (avg %zu B), %d-byte chunks, best of %d passes\n",
           len / 1e6, stanzas, len / stanzas, CHUNK, passes);
    printf("  %-10s %9.1f MB/s %12.0f stanzas/s (%s parser, dispatched)\n", "fedgate", mb_fg,
           stanzas / t_fg, fg_xml_simd_name(active));
    for (int s = 0; s < FG_XML_SIMD_COUNT; s++) {
      if (s == (int)active || t_level[s] >= 1e30) continue;
      printf("  %-10s %9.1f MB/s %12.0f stanzas/s (same binary, %s parser)\n", "fedgate",
             len / t_level[s] / 1e6, stanzas / t_level[s], fg_xml_simd_name((fg_xml_simd)s));
    }
    if (!fedgate_only) {
      printf("  %-10s %9.1f MB/s %12.0f stanzas/s\n", "libxml2", mb_lx, stanzas / t_lx);
      printf("  %-10s %9.1f MB/s %12.0f stanzas/s\n", "expat", mb_ex, stanzas / t_ex);
      printf("  fedgate/libxml2 %.2fx, fedgate/expat %.2fx\n", mb_fg / mb_lx, mb_fg / mb_ex);
    }
  }
  free(b.d);
  xmlCleanupParser();
  return 0;
}
