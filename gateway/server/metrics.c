// metrics.c: counter names and the Prometheus text rendering.
#include "gateway/server/metrics.h"

#include <stdio.h>
#include <string.h>

static const char *const kNames[FG_M_COUNT] = {
    [FG_M_STREAMS_IN_ACCEPTED] = "streams_in_accepted_total",
    [FG_M_PROXY_HEADERS_ACCEPTED] = "proxy_header_accepted_total",
    [FG_M_STREAMS_IN_REFUSED_PER_IP] = "streams_in_refused_per_ip_total",
    [FG_M_STREAMS_IN_CLOSED] = "streams_in_closed_total",
    [FG_M_AUTH_SASL_EXTERNAL] = "auth_sasl_external_total",
    [FG_M_AUTH_DIALBACK] = "auth_dialback_total",
    [FG_M_AUTH_DIALBACK_CERT] = "auth_dialback_certificate_total",
    [FG_M_DIALBACK_INVALID] = "dialback_invalid_total",
    [FG_M_DIALBACK_UNSOLICITED] = "dialback_unsolicited_total",
    [FG_M_DIALBACK_VERIFY_ASKED] = "dialback_verify_asked_total",
    [FG_M_DIALBACK_VERIFY_ANSWERED] = "dialback_verify_answered_total",
    [FG_M_SASL_FAILURES] = "sasl_failures_total",
    [FG_M_STREAM_ERRORS_SENT] = "stream_errors_sent_total",
    [FG_M_STANZAS_IN] = "stanzas_in_total",
    [FG_M_STANZAS_DELIVERED] = "stanzas_delivered_total",
    [FG_M_STANZAS_QUEUED] = "stanzas_queued_total",
    [FG_M_STANZAS_BOUNCED] = "stanzas_bounced_total",
    [FG_M_STANZAS_NOT_BOUNCED] = "stanzas_undeliverable_not_bounced_total",
    [FG_M_STANZAS_REWRITTEN] = "stanzas_rewritten_total",
    [FG_M_BOUNCES_SENT] = "bounces_sent_total",
    [FG_M_BOUNCES_UNDELIVERABLE] = "bounces_undeliverable_total",
    [FG_M_HOP_STREAMS_OPENED] = "hop_streams_opened_total",
    [FG_M_HOP_STREAMS_READY] = "hop_streams_ready_total",
    [FG_M_HOP_STREAMS_FAILED] = "hop_streams_failed_total",
    [FG_M_INTERNAL_CERTS_MINTED] = "internal_certs_minted_total",
    [FG_M_REMOTE_STREAMS_OPENED] = "remote_streams_opened_total",
    [FG_M_REMOTE_STREAMS_READY] = "remote_streams_ready_total",
    [FG_M_REMOTE_STREAMS_FAILED] = "remote_streams_failed_total",
    [FG_M_UNREACHABLE_SHORTCUTS] = "unreachable_shortcuts_total",
    [FG_M_FLOW_PAUSES] = "flow_control_pauses_total",
    [FG_M_VERDICT_CACHE_HITS] = "certificate_verdict_cache_hits_total",
    [FG_M_TICKET_KEYS_RELOADED] = "ticket_keys_reloaded_total",
    [FG_M_TICKET_KEYS_REFUSED] = "ticket_keys_refused_total",
    [FG_M_TICKETS_UNKNOWN_KEY] = "tls_tickets_unknown_key_total",
    [FG_M_TICKETS_RENEWED] = "tls_tickets_renewed_total",
    [FG_M_TLS_RESUMED_IN] = "tls_resumed_inbound_total",
    [FG_M_TLS_RESUMED_OUT] = "tls_resumed_outbound_total",
    [FG_M_TLS_RESUMED_OUT_REFUSED] = "tls_resumed_outbound_refused_total",
    [FG_M_TARGETS_REFUSED] = "outbound_targets_refused_total",
    [FG_M_LOOPS_REFUSED] = "outbound_loops_refused_total",
    [FG_M_DIALBACK_REFUSED] = "dialback_refused_total",
    [FG_M_AUTH_REFUSED_SOURCE] = "internal_auth_refused_source_total",
    [FG_M_REVOCATION_CACHE_HITS] = "revocation_cache_hits_total",
    [FG_M_REVOCATION_OCSP_OK] = "revocation_ocsp_fetches_ok_total",
    [FG_M_REVOCATION_OCSP_FAILED] = "revocation_ocsp_fetches_failed_total",
    [FG_M_REVOCATION_CRL_OK] = "revocation_crl_fetches_ok_total",
    [FG_M_REVOCATION_CRL_FAILED] = "revocation_crl_fetches_failed_total",
    [FG_M_REVOCATION_SOFT_FAIL_ACCEPTED] = "revocation_soft_fail_accepted_total",
    [FG_M_REVOCATION_HARD_FAIL_REFUSED] = "revocation_hard_fail_refused_total",
    [FG_M_PEERS_REFUSED_REVOKED] = "peers_refused_revoked_total",
    [FG_M_REVOCATION_WAITS] = "revocation_waits_total",
    [FG_M_POSH_FETCHED] = "posh_fetched_total",
    [FG_M_POSH_MATCHED] = "posh_matched_total",
    [FG_M_POSH_MISMATCHED] = "posh_mismatched_total",
    [FG_M_POSH_WAITS] = "posh_waits_total",
    [FG_M_DANE_TARGETS_REFUSED] = "dane_targets_refused_total",
    [FG_M_DANE_TLSA_UNUSABLE] = "dane_tlsa_unusable_total",
    [FG_M_DANE_MISMATCH] = "dane_mismatch_total",
    [FG_M_DANE_INBOUND_OK] = "dane_inbound_authenticated_total",
    [FG_M_DANE_INBOUND_FAILED] = "dane_inbound_failed_total",
    [FG_M_SM_IN_ENABLED] = "sm_streams_in_enabled_total",
    [FG_M_SM_IN_REFUSED] = "sm_enable_refused_total",
    [FG_M_SM_IN_ACKS_SENT] = "sm_acks_sent_total",
    [FG_M_SM_OUT_ENABLED] = "sm_links_enabled_total",
    [FG_M_SM_IN_RESUMED] = "sm_streams_in_resumed_total",
    [FG_M_SM_OUT_RESUMED] = "sm_links_resumed_total",
    [FG_M_CONNECT_RACES] = "connect_races_total",
    [FG_M_CONNECT_RACES_WON_LATER] = "connect_races_won_by_later_total",
    [FG_M_STANZAS_ACKED] = "stanzas_acked_total",
    [FG_M_STANZAS_RESENT] = "stanzas_resent_total",
    [FG_M_STANZAS_UNCONFIRMED] = "stanzas_unconfirmed_total",
    [FG_M_BIDI_STREAMS_IN] = "bidi_streams_in_total",
    [FG_M_BIDI_LINKS] = "bidi_links_total",
    [FG_M_BIDI_STANZAS_SENT] = "bidi_stanzas_sent_total",
    [FG_M_BIDI_STANZAS_RECEIVED] = "bidi_stanzas_received_total",
    [FG_M_BIDI_STANZAS_REFUSED] = "bidi_stanzas_refused_total",
    [FG_M_HOP_BIDI_STANZAS_SENT] = "hop_bidi_stanzas_sent_total",
    [FG_M_HOP_BIDI_STANZAS_RECEIVED] = "hop_bidi_stanzas_received_total",
    [FG_M_REMOTE_LINKS_LOST] = "remote_links_lost_total",
    [FG_M_HOP_STREAMS_CLOSED_ON_LOSS] = "hop_streams_closed_on_link_loss_total",
    [FG_M_LINK_RECONNECTS] = "link_reconnects_total",
    [FG_M_LINK_RECONNECTS_GAVE_UP] = "link_reconnects_gave_up_total",
    [FG_M_MUX_PAIRS_ASKED] = "mux_pairs_asked_total",
    [FG_M_MUX_PAIRS_READY] = "mux_pairs_ready_total",
    [FG_M_MUX_PAIRS_REFUSED] = "mux_pairs_refused_total",
    [FG_M_MUX_PAIRS_MOVED] = "mux_pairs_moved_total",
    [FG_M_MUX_PAIRS_TIMEOUT] = "mux_pairs_timed_out_total",
    [FG_M_REVOCATION_STAPLES_USED] = "revocation_staples_used_total",
    [FG_M_REVOCATION_STAPLES_INVALID] = "revocation_staples_invalid_total",
    [FG_M_STAPLE_FETCHES_OK] = "staple_fetches_ok_total",
    [FG_M_STAPLE_FETCHES_FAILED] = "staple_fetches_failed_total",
    [FG_M_ADMIN_REFUSED_SOURCE] = "admin_requests_refused_source_total",
    [FG_M_ADMIN_ACTIONS_OK] = "admin_actions_ok_total",
    [FG_M_BLOCKED_STREAMS] = "blocked_streams_total",
    [FG_M_BLOCKED_STANZAS_IN] = "blocked_stanzas_in_total",
    [FG_M_BLOCKED_STANZAS_OUT] = "blocked_stanzas_out_total",
    [FG_M_BLOCKED_LINKS_CLOSED] = "blocked_links_closed_total",
    [FG_M_RTBL_REQUESTS] = "rtbl_requests_total",
    [FG_M_REPORTS_RECEIVED] = "abuse_reports_received_total",
    [FG_M_REPORTS_FORWARDED] = "abuse_reports_forwarded_total",
    [FG_M_REPORTS_FAILED] = "abuse_reports_failed_total",
    [FG_M_LIMITED_STANZAS_IN] = "limited_stanzas_in_total",
    [FG_M_LIMITED_UNSOLICITED] = "limited_unsolicited_total",
    [FG_M_LIMITED_STANZAS_OUT] = "limited_stanzas_out_total",
    [FG_M_LIMITED_STREAMS_CLOSED] = "limited_streams_closed_total",
    [FG_M_LIMITED_CONNECTIONS] = "limited_connections_total",
    [FG_M_LIMITED_CONNECTIONS_DOMAIN] = "limited_domain_connections_total",
    [FG_M_RTBL_RESYNCS] = "rtbl_resyncs_total",
    [FG_M_RTBL_STANZAS] = "rtbl_stanzas_total",
    [FG_M_RTBL_NOTIFICATIONS] = "rtbl_notifications_total",
    [FG_M_RTBL_IGNORED] = "rtbl_ignored_total",
    [FG_M_RTBL_INVALID] = "rtbl_items_invalid_total",
    [FG_M_RTBL_ERRORS] = "rtbl_errors_total",
    [FG_M_ADMIN_ACTIONS_REFUSED] = "admin_actions_refused_total",
    [FG_M_STREAMS_CLOSED_BY_ADMIN] = "streams_closed_by_admin_total",
    [FG_M_STANZAS_REFUSED_DRAINED] = "stanzas_refused_backend_drained_total",
    [FG_M_HOP_STREAMS_DRAINED] = "hop_streams_drained_total",
    [FG_M_DRAINS_STARTED] = "drains_started_total",
    [FG_M_DRAIN_STREAMS_CLOSED] = "drain_streams_closed_total",
    [FG_M_DRAIN_LINKS_CLOSED] = "drain_links_closed_total",
    [FG_M_DRAIN_STANZAS_BOUNCED] = "drain_stanzas_bounced_total",
};

// RFC 6120 §4.9.3 conditions, in the RFC's order.
static const char *const kStreamErrors[] = {
    "bad-format",
    "bad-namespace-prefix",
    "conflict",
    "connection-timeout",
    "host-gone",
    "host-unknown",
    "improper-addressing",
    "internal-server-error",
    "invalid-from",
    "invalid-namespace",
    "invalid-xml",
    "not-authorized",
    "not-well-formed",
    "policy-violation",
    "remote-connection-failed",
    "reset",
    "resource-constraint",
    "restricted-xml",
    "see-other-host",
    "system-shutdown",
    "undefined-condition",
    "unsupported-encoding",
    "unsupported-feature",
    "unsupported-stanza-type",
    "unsupported-version",
};
enum { kNumStreamErrors = sizeof(kStreamErrors) / sizeof(kStreamErrors[0]) };

const char *fg_metrics_name(fg_metric m) {
  return m < FG_M_COUNT ? kNames[m] : "unknown";
}

void fg_metrics_stream_error(fg_metrics *ms, const char *condition) {
  fg_metrics_inc(ms, FG_M_STREAM_ERRORS_SENT);
  for (int i = 0; i < kNumStreamErrors; i++) {
    if (strcmp(kStreamErrors[i], condition) == 0) {
      atomic_fetch_add_explicit(&ms->stream_errors[i], 1, memory_order_relaxed);
      return;
    }
  }
}

void fg_metrics_bounce(fg_metrics *ms, fg_stanza_condition c) {
  fg_metrics_inc(ms, FG_M_STANZAS_BOUNCED);
  if (c < FG_STANZA_CONDITION_COUNT) {
    atomic_fetch_add_explicit(&ms->bounces[c], 1, memory_order_relaxed);
  }
}

void fg_metrics_proxy_refused(fg_metrics *ms, fg_proxy_error why) {
  if ((unsigned)why < FG_PROXY_ERR_COUNT) {
    atomic_fetch_add_explicit(&ms->proxy_refused[why], 1, memory_order_relaxed);
  }
}

static const char *const kPoshFailures[] = {
    "resolve",   "address-refused", "connect",   "timeout",   "tls",      "protocol",
    "too-large", "http-status",     "malformed", "reference", "shutdown", "busy",
};

_Static_assert(sizeof(kPoshFailures) / sizeof(kPoshFailures[0]) == FG_POSH_FAIL_COUNT,
               "one label per fg_posh_failure");

const char *fg_posh_failure_name(fg_posh_failure why) {
  return (unsigned)why < FG_POSH_FAIL_COUNT ? kPoshFailures[why] : "unknown";
}

void fg_metrics_posh_failed(fg_metrics *ms, fg_posh_failure why) {
  if ((unsigned)why < FG_POSH_FAIL_COUNT) {
    atomic_fetch_add_explicit(&ms->posh_failed[why], 1, memory_order_relaxed);
  }
}

void fg_metrics_auth_method(fg_metrics *ms, int outbound, fg_auth_method method) {
  if ((unsigned)method < FG_AUTH_METHOD_COUNT) {
    atomic_fetch_add_explicit(&ms->auth_methods[outbound ? 1 : 0][method], 1, memory_order_relaxed);
  }
}

static _Atomic int g_next_shard;
static _Thread_local int t_shard = -1;

int fg_metrics_thread_shard(void) {
  if (t_shard < 0) {
    int s = atomic_fetch_add_explicit(&g_next_shard, 1, memory_order_relaxed);
    t_shard = s < FG_METRICS_SHARDS - 1 ? s : FG_METRICS_SHARDS - 1;
  }
  return t_shard;
}

uint64_t fg_metrics_get(const fg_metrics *ms, fg_metric m) {
  uint64_t sum = 0;
  for (int s = 0; s < FG_METRICS_SHARDS; s++) {
    sum += atomic_load_explicit(&ms->shard[s].v[m], memory_order_relaxed);
  }
  return sum;
}

void fg_metrics_set(fg_metrics *ms, fg_metric m, uint64_t value) {
  for (int s = 1; s < FG_METRICS_SHARDS; s++) {
    atomic_store_explicit(&ms->shard[s].v[m], 0, memory_order_relaxed);
  }
  atomic_store_explicit(&ms->shard[0].v[m], value, memory_order_relaxed);
}

size_t fg_metrics_render(const fg_metrics *ms, char *out, size_t cap) {
  size_t n = 0;
#define EMIT(...)                                                  \
  do {                                                             \
    int w = snprintf(out + n, n < cap ? cap - n : 0, __VA_ARGS__); \
    if (w > 0) n += (size_t)w;                                     \
    if (n > cap) n = cap;                                          \
  } while (0)
  for (int m = 0; m < FG_M_COUNT; m++) {
    EMIT("# TYPE fedgate_%s counter\nfedgate_%s %llu\n", kNames[m], kNames[m],
         (unsigned long long)fg_metrics_get(ms, (fg_metric)m));
  }
  EMIT("# TYPE fedgate_stream_errors_by_condition_total counter\n");
  for (int i = 0; i < kNumStreamErrors; i++) {
    EMIT("fedgate_stream_errors_by_condition_total{condition=\"%s\"} %llu\n", kStreamErrors[i],
         (unsigned long long)atomic_load(&ms->stream_errors[i]));
  }
  EMIT("# TYPE fedgate_bounces_by_condition_total counter\n");
  for (int c = 0; c < FG_STANZA_CONDITION_COUNT; c++) {
    EMIT("fedgate_bounces_by_condition_total{condition=\"%s\"} %llu\n",
         fg_stanza_condition_name((fg_stanza_condition)c),
         (unsigned long long)atomic_load(&ms->bounces[c]));
  }
  EMIT("# TYPE fedgate_proxy_header_refused_total counter\n");
  for (int r = FG_PROXY_OK + 1; r < FG_PROXY_ERR_COUNT; r++) {
    EMIT("fedgate_proxy_header_refused_total{reason=\"%s\"} %llu\n",
         fg_proxy_error_name((fg_proxy_error)r),
         (unsigned long long)atomic_load(&ms->proxy_refused[r]));
  }
  EMIT("# TYPE fedgate_posh_failed_total counter\n");
  for (int i = 0; i < FG_POSH_FAIL_COUNT; i++) {
    EMIT("fedgate_posh_failed_total{reason=\"%s\"} %llu\n", kPoshFailures[i],
         (unsigned long long)atomic_load(&ms->posh_failed[i]));
  }
  EMIT("# TYPE fedgate_peers_authenticated_total counter\n");
  for (int d = 0; d < 2; d++) {
    for (int a = 0; a < FG_AUTH_METHOD_COUNT; a++) {
      EMIT("fedgate_peers_authenticated_total{direction=\"%s\",method=\"%s\"} %llu\n",
           d ? "outbound" : "inbound", fg_auth_method_name((fg_auth_method)a),
           (unsigned long long)atomic_load(&ms->auth_methods[d][a]));
    }
  }
#undef EMIT
  return n;
}
