// sm.c: XEP-0198 counters and the queue of unacknowledged stanzas.
#include "gateway/s2s/sm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fg_sm_element fg_sm_classify(const fg_xml_node *el) {
  static const struct {
    const char *name;
    fg_sm_element e;
  } kNames[] = {
      {"enable", FG_SM_ENABLE},
      {"enabled", FG_SM_ENABLED},
      {"failed", FG_SM_FAILED},
      {"r", FG_SM_R},
      {"a", FG_SM_A},
      {"resume", FG_SM_RESUME},
      {"resumed", FG_SM_RESUMED},
  };
  if (el == NULL || !fg_xml_str_eq(el->ns, FG_NS_SM)) return FG_SM_NOT_SM;
  for (size_t i = 0; i < sizeof(kNames) / sizeof(kNames[0]); i++) {
    if (fg_xml_str_eq(el->local, kNames[i].name)) return kNames[i].e;
  }
  return FG_SM_OTHER;
}

int fg_sm_parse_h(const fg_xml_node *el, uint32_t *out_h) {
  fg_xml_str v = fg_xml_node_attr(el, "", "h");
  if (v.data == NULL || v.len == 0 || v.len > 10) return 0;
  uint64_t h = 0;
  for (size_t i = 0; i < v.len; i++) {
    if (v.data[i] < '0' || v.data[i] > '9') return 0;
    h = h * 10 + (uint64_t)(v.data[i] - '0');
  }
  if (h > UINT32_MAX) return 0;
  *out_h = (uint32_t)h;
  return 1;
}

size_t fg_sm_write_a(char *out, size_t cap, uint32_t h) {
  int n = snprintf(out, cap, "<a xmlns='" FG_NS_SM "' h='%lu'/>", (unsigned long)h);
  return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

int fg_sm_id_copy(char *out, const uint8_t *in, size_t in_len) {
  if (in == NULL || in_len == 0 || in_len > FG_SM_ID_MAX) return 0;
  for (size_t i = 0; i < in_len; i++) {
    uint8_t c = in[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) {
      return 0;
    }
  }
  memcpy(out, in, in_len);
  out[in_len] = 0;
  return 1;
}

void fg_sm_in_count(fg_sm_in *in) {
  if (in->enabled) in->h++;  // wraps at 2^32 (XEP-0198 §4)
}

void fg_sm_out_init(fg_sm_out *o, size_t max_count, size_t max_bytes) {
  memset(o, 0, sizeof(*o));
  o->max_count = max_count;
  o->max_bytes = max_bytes;
}

void fg_sm_out_cleanup(fg_sm_out *o) {
  fg_sm_item *lists[2] = {o->head, o->spare};
  for (int i = 0; i < 2; i++) {
    for (fg_sm_item *it = lists[i], *n; it != NULL; it = n) {
      n = it->next;
      free(it);
    }
  }
  o->head = o->tail = o->spare = NULL;
  o->count = o->bytes = o->n_spare = 0;
}

// item_get returns room for |len| bytes: a spare item large enough, else a
// new one rounded up to a power of two (at least 512 bytes), so that spares
// fit the stanzas that follow.
static fg_sm_item *item_get(fg_sm_out *o, size_t len) {
  for (fg_sm_item **pp = &o->spare; *pp != NULL; pp = &(*pp)->next) {
    if ((*pp)->cap >= len) {
      fg_sm_item *it = *pp;
      *pp = it->next;
      o->n_spare--;
      return it;
    }
  }
  size_t cap = 512;
  while (cap < len && cap < ((size_t)1 << 30)) cap <<= 1;
  if (cap < len) cap = len;
  fg_sm_item *it = malloc(sizeof(*it) + cap);
  if (it != NULL) it->cap = cap;
  return it;
}

// item_put keeps |it| for later stanzas, or frees it beyond FG_SM_SPARE.
static void item_put(fg_sm_out *o, fg_sm_item *it) {
  if (o->n_spare >= FG_SM_SPARE) {
    free(it);
    return;
  }
  it->next = o->spare;
  o->spare = it;
  o->n_spare++;
}

int fg_sm_out_has_room(const fg_sm_out *o, size_t len) {
  if (!o->enabled || o->count == 0) return 1;
  if (o->max_count && o->count >= o->max_count) return 0;
  return !(o->max_bytes && o->bytes + len > o->max_bytes);
}

int fg_sm_out_push(fg_sm_out *o, const uint8_t *data, size_t len, int tag) {
  fg_sm_item *it = item_get(o, len);
  if (it == NULL) return 0;
  it->next = NULL;
  it->len = len;
  it->tag = tag;
  memcpy(it->data, data, len);
  if (o->tail) {
    o->tail->next = it;
  } else {
    o->head = it;
  }
  o->tail = it;
  o->count++;
  o->bytes += len;
  o->sent++;
  return 1;
}

fg_sm_ack_result fg_sm_out_ack(fg_sm_out *o, uint32_t h, size_t *out_n,
                               void (*acked)(void *arg, const fg_sm_item *it), void *arg) {
  // Serial-number arithmetic: how far h moved since the last ack, modulo
  // 2^32, must not exceed what is unacknowledged.
  uint32_t n = h - o->acked;
  *out_n = 0;
  o->awaiting = 0;
  if (n > o->count) return FG_SM_ACK_TOO_HIGH;
  for (uint32_t i = 0; i < n; i++) {
    fg_sm_item *it = o->head;
    o->head = it->next;
    if (o->head == NULL) o->tail = NULL;
    o->count--;
    o->bytes -= it->len;
    if (acked != NULL) acked(arg, it);
    item_put(o, it);
  }
  o->acked = h;
  *out_n = n;
  return FG_SM_ACK_OK;
}

int fg_sm_out_should_request(const fg_sm_out *o, unsigned every) {
  if (!o->enabled || o->awaiting || o->count == 0) return 0;
  return every != 0 && (uint32_t)(o->sent - o->requested_at) >= every;
}

void fg_sm_out_requested(fg_sm_out *o) {
  o->requested_at = o->sent;
  o->awaiting = 1;
}

fg_sm_item *fg_sm_out_take(fg_sm_out *o) {
  fg_sm_item *h = o->head;
  o->acked += (uint32_t)o->count;  // they are no longer ours to ack
  o->head = o->tail = NULL;
  o->count = o->bytes = 0;
  return h;
}

void fg_sm_out_adopt(fg_sm_out *o, fg_sm_item *items, uint32_t acked) {
  o->enabled = 1;
  o->acked = acked;
  for (fg_sm_item *it = items; it != NULL; it = it->next) {
    o->tail = it;
    o->count++;
    o->bytes += it->len;
  }
  o->head = items;
  o->sent = o->requested_at = acked + (uint32_t)o->count;
  o->awaiting = 0;
}
