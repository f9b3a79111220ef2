// link_race.h: Happy Eyeballs (RFC 8305) between the candidates of an
// outbound link (gateway/server/link_race.c). Worker thread only.
#ifndef FEDGATE_GATEWAY_LINK_RACE_H
#define FEDGATE_GATEWAY_LINK_RACE_H

#include "gateway/server/link_types.h"

// fg_link_race_arm starts the Connection Attempt Delay of |l|'s attempt
// in progress when a later candidate could race it.
void fg_link_race_arm(link *l);

// fg_link_race_timer_fired is the timer of link.race_timer: it starts the
// next candidate beside the one still connecting.
void fg_link_race_timer_fired(fg_timer *t, void *arg);

// fg_link_race_decided: attempt |c| of |l| connected first; the other one
// is dropped and the link's stream is |c|'s. It returns 0 when out of
// memory.
int fg_link_race_decided(link *l, fg_conn *c);

// fg_link_race_goes_on: attempt |c| of |l| failed before connecting. It
// returns 1 when the race goes on with the other attempt (nothing else to
// do).
int fg_link_race_goes_on(link *l, fg_conn *c);

// fg_link_race_drop ends an attempt that lost the race (its callbacks find
// no link).
void fg_link_race_drop(fg_conn *c);

#endif  // FEDGATE_GATEWAY_LINK_RACE_H
