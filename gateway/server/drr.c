// drr.c: deficit round robin by bytes.
#include "gateway/server/drr.h"

size_t fg_drr_run(fg_drr *d, fg_drr_queue *const *q, size_t n, size_t quantum,
                  const fg_drr_ops *ops, void *arg) {
  size_t sent = 0;
  if (n == 0) return 0;
  if (quantum == 0) quantum = 1;
  if (d->next >= n) d->mid_turn = 0;  // the queue it named left the set
  size_t i = d->next < n ? d->next : 0;
  int resume = d->mid_turn;
  for (;;) {
    int any = 0;  // some queue still holds items after this round
    for (size_t k = 0; k < n; k++, i = (i + 1) % n) {
      size_t len = ops->head_len(arg, i);
      if (len == 0) {
        q[i]->deficit = 0;
        resume = 0;
        continue;
      }
      if (!resume) q[i]->deficit += quantum;
      resume = 0;
      while (len != 0 && len <= q[i]->deficit) {
        if (!ops->send_head(arg, i)) {
          // Full: this queue keeps its turn and what is left of its deficit.
          d->next = i;
          d->mid_turn = 1;
          return sent;
        }
        sent++;
        q[i]->deficit -= len;
        len = ops->head_len(arg, i);
      }
      if (len == 0) {
        q[i]->deficit = 0;
      } else {
        any = 1;
      }
    }
    if (!any) {
      d->next = i;
      d->mid_turn = 0;
      return sent;
    }
  }
}
