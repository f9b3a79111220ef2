// s2sload_stanza.c: stanza templates (see s2sload_stanza.h).
#include "bench/s2sload_stanza.h"

#include <stdio.h>
#include <string.h>

enum { KIND_MESSAGE = 0, KIND_PRESENCE, KIND_IQ_GET, KIND_IQ_SET };

// kFiller is the text padding bodies and attributes: letters and spaces only,
// so it needs no escaping anywhere.
static const char kFiller[] =
    "Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua Ut enim ad minim veniam quis nostrud exercitation ullamco "
    "laboris nisi ut aliquip ex ea commodo consequat Duis aute irure dolor in reprehenderit in "
    "voluptate velit esse cillum dolore eu fugiat nulla pariatur Excepteur sint occaecat cupidatat "
    "non proident sunt in culpa qui officia deserunt mollit anim id est laborum ";

static int piece(fg_stanza_piece *p, const char *from, const char *to, const char *head_fmt,
                 const char *mid, const char *tail) {
  int n = snprintf(p->head, sizeof(p->head), head_fmt, from, to);
  if (n < 0 || (size_t)n >= sizeof(p->head) || strlen(mid) >= sizeof(p->mid) ||
      strlen(tail) >= sizeof(p->tail)) {
    return 0;
  }
  p->head_len = (size_t)n;
  memcpy(p->mid, mid, strlen(mid) + 1);
  memcpy(p->tail, tail, strlen(tail) + 1);
  p->mid_len = strlen(mid);
  p->tail_len = strlen(tail);
  return 1;
}

static int build(fg_stanza_tmpl *t, const char *from, const char *to) {
  return piece(&t->kinds[KIND_MESSAGE], from, to, "<message from='%s' to='%s' type='chat' id='",
               "'><body>",
               "</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>") &&
         piece(&t->kinds[KIND_PRESENCE], from, to, "<presence from='%s' to='%s' id='",
               "'><show>away</show><status>",
               "</status><priority>5</priority><c xmlns='http://jabber.org/protocol/caps' "
               "hash='sha-1' node='https://fedgate.example/client' "
               "ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>") &&
         piece(&t->kinds[KIND_IQ_GET], from, to, "<iq from='%s' to='%s' type='get' id='",
               "'><query xmlns='http://jabber.org/protocol/disco#info' "
               "node='https://fedgate.example/client#",
               "'/></iq>") &&
         piece(&t->kinds[KIND_IQ_SET], from, to, "<iq from='%s' to='%s' type='set' id='",
               "'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish "
               "node='urn:xmpp:microblog:0'><item><entry "
               "xmlns='http://www.w3.org/2005/Atom'><title>",
               "</title></entry></item></publish></pubsub></iq>");
}

size_t fg_stanza_min_size(const char *from_jid, const char *to_jid) {
  fg_stanza_tmpl t;
  if (!build(&t, from_jid, to_jid)) return SIZE_MAX;
  const fg_stanza_piece *p = &t.kinds[KIND_MESSAGE];
  return p->head_len + FG_STANZA_ID_MAX + p->mid_len + p->tail_len;
}

int fg_stanza_tmpl_init(fg_stanza_tmpl *t, const char *from_jid, const char *to_jid,
                        size_t fixed_size) {
  memset(t, 0, sizeof(*t));
  if (!build(t, from_jid, to_jid) || strlen(from_jid) >= sizeof(t->from) ||
      strlen(to_jid) >= sizeof(t->to)) {
    return 0;
  }
  memcpy(t->from, from_jid, strlen(from_jid) + 1);
  memcpy(t->to, to_jid, strlen(to_jid) + 1);
  if (fixed_size != 0 &&
      (fixed_size < fg_stanza_min_size(from_jid, to_jid) || fixed_size > FG_STANZA_FIXED_MAX)) {
    return 0;
  }
  t->fixed_size = fixed_size;
  return 1;
}

// id_hash mixes a stream index and sequence number (splitmix64's
// finaliser): the mix's draws for that stanza.
static uint64_t id_hash(const fg_stanza_id *id) {
  uint64_t x = ((uint64_t)id->stream << 40) ^ id->seq ^ 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint8_t fg_stanza_filler_byte(size_t i) {
  return (uint8_t)kFiller[i % (sizeof(kFiller) - 1)];
}

static void fill(uint8_t *out, size_t n, size_t start) {
  const size_t flen = sizeof(kFiller) - 1;
  size_t off = start % flen;
  while (n > 0) {
    size_t k = flen - off;
    if (k > n) k = n;
    memcpy(out, kFiller + off, k);
    out += k;
    n -= k;
    off = 0;
  }
}

void fg_stanza_layout_of(const fg_stanza_tmpl *t, const fg_stanza_id *id, fg_stanza_layout *l) {
  uint8_t idbuf[FG_STANZA_ID_MAX];
  l->id_len = fg_stanza_id_encode(idbuf, id);
  size_t target;
  uint64_t r = id_hash(id);
  if (t->fixed_size != 0) {
    l->piece = &t->kinds[KIND_MESSAGE];
    target = t->fixed_size;
  } else {
    unsigned pick = (unsigned)(r % 100);
    l->piece = &t->kinds[pick < 55   ? KIND_MESSAGE
                         : pick < 80 ? KIND_PRESENCE
                         : pick < 90 ? KIND_IQ_GET
                                     : KIND_IQ_SET];
    // Mostly small, a tail up to 2 KiB: min of two uniform draws.
    uint64_t a = (r >> 8) % (FG_STANZA_MIX_MAX - FG_STANZA_MIX_MIN + 1);
    uint64_t b = (r >> 32) % (FG_STANZA_MIX_MAX - FG_STANZA_MIX_MIN + 1);
    target = FG_STANZA_MIX_MIN + (size_t)(a < b ? a : b);
  }
  const fg_stanza_piece *p = l->piece;
  size_t fixed = p->head_len + l->id_len + p->mid_len + p->tail_len;
  l->fill_len = target > fixed ? target - fixed : 0;
  l->fill_start = (size_t)(id->seq * 7 + (r >> 48)) % (sizeof(kFiller) - 1);
  l->len = fixed + l->fill_len;
}

size_t fg_stanza_write(const fg_stanza_tmpl *t, const fg_stanza_id *id, uint8_t *out, size_t cap) {
  fg_stanza_layout l;
  fg_stanza_layout_of(t, id, &l);
  if (l.len > cap) return 0;
  const fg_stanza_piece *p = l.piece;
  uint8_t *o = out;
  memcpy(o, p->head, p->head_len);
  o += p->head_len;
  o += fg_stanza_id_encode(o, id);
  memcpy(o, p->mid, p->mid_len);
  o += p->mid_len;
  fill(o, l.fill_len, l.fill_start);
  o += l.fill_len;
  memcpy(o, p->tail, p->tail_len);
  return l.len;
}
