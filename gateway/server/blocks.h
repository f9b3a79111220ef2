// blocks.h: the running gateway's block lists: one fg_blocklist of blocked
// remote domains and senders (sources "config", "admin", one per real-time
// block list) and the allow list of a closed federation (abuse.allow_only).
// They live beside the configuration snapshot, not in it: what the admin API
// and the real-time lists added survives a reload; the configuration's own
// entries are re-applied as the source "config" by whole-source replacement
// (fg_blocks_apply_config). Every check is lock-free (gateway/policy/blocklist.h).
#ifndef FEDGATE_GATEWAY_SERVER_BLOCKS_H
#define FEDGATE_GATEWAY_SERVER_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/config/config.h"
#include "gateway/policy/blocklist.h"

typedef struct fg_blocks fg_blocks;

// FG_BLOCKS_SOURCE_CONFIG and FG_BLOCKS_SOURCE_ADMIN name the two fixed
// sources; a real-time block list's source is "rtbl:SERVICE/NODE".
#define FG_BLOCKS_SOURCE_CONFIG "config"
#define FG_BLOCKS_SOURCE_ADMIN "admin"

// fg_blocks_new returns empty lists, or NULL when out of memory.
fg_blocks *fg_blocks_new(void);

// fg_blocks_free frees |b|. NULL is a no-op.
void fg_blocks_free(fg_blocks *b);

// fg_blocks_apply_config makes |cfg|'s abuse.block the whole content of the
// source "config" and abuse.allow_only the allow list, each in one change.
// It returns 1, or 0 with the reason in |err| (the lists are then as before).
int fg_blocks_apply_config(fg_blocks *b, const fg_config *cfg, char *err, size_t err_len);

// fg_blocks_domain_refused returns 1 when remote |domain| (normalised) is
// blocked or outside the allow list, writing why to |why| ("admin: spam",
// "config", "not in abuse.allow_only"); 0 when it may federate.
int fg_blocks_domain_refused(fg_blocks *b, const char *domain, char *why, size_t why_len);

// fg_blocks_sender_refused returns 1 when the bare JID |jid| (|len| bytes,
// any resource already cut) is blocked by its digest, writing why.
int fg_blocks_sender_refused(fg_blocks *b, const uint8_t *jid, size_t len, char *why,
                             size_t why_len);

// fg_blocks_generation changes whenever either list changes.
uint64_t fg_blocks_generation(const fg_blocks *b);

// fg_blocks_list returns the block list (admin API, real-time block lists).
fg_blocklist *fg_blocks_list(fg_blocks *b);

// fg_blocks_allow_list returns the allow list (empty: off).
fg_blocklist *fg_blocks_allow_list(fg_blocks *b);

#endif  // FEDGATE_GATEWAY_SERVER_BLOCKS_H
