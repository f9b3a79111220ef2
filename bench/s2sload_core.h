// s2sload_core.h: the state the parts of s2sload share: options, the stream
// table (one entry per remote stream; in churn mode one per concurrency
// slot), per-worker contexts, the run phase and the counters the report is
// built from. One process-wide instance, g_load; the fields a worker writes
// and another thread reads are atomics.
#ifndef FEDGATE_BENCH_S2SLOAD_CORE_H
#define FEDGATE_BENCH_S2SLOAD_CORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/s2sload_hist.h"
#include "bench/s2sload_stalls.h"
#include "bench/s2sload_stanza.h"
#include "crypto/tls.h"
#include "gateway/xml/xml_parser.h"
#include "io/conn.h"
#include "io/worker.h"

enum fg_load_mode { FG_LOAD_RELAY, FG_LOAD_CHURN, FG_LOAD_IDLE };
enum fg_load_sink { FG_SINK_S2S, FG_SINK_COMPONENT, FG_SINK_PLAIN };
enum fg_load_phase {
  FG_PHASE_SETUP = 0,  // streams connecting; nothing sent yet
  FG_PHASE_WARMUP,     // sending, not measured
  FG_PHASE_MEASURE,    // sending, measured
  FG_PHASE_DRAIN,      // no new stanzas; waiting for those in flight
  FG_PHASE_DONE,       // closing
};

// Remote stream states (client side of the SUT's inbound s2s port).
enum fg_load_state {
  FG_ST_IDLE = 0,    // not connected (churn/idle: waiting for its turn)
  FG_ST_CONNECTING,  // TCP + TLS
  FG_ST_TLS_OFFER,   // --starttls: header sent in plaintext, waiting for <starttls/>
  FG_ST_PROCEED,     // --starttls: <starttls/> sent, waiting for <proceed/>
  FG_ST_FEATURES,    // header sent, waiting for the first features
  FG_ST_AUTH,        // <auth mechanism='EXTERNAL'> sent
  FG_ST_FEATURES2,   // restarted after <success/>, waiting for features
  FG_ST_READY,       // authenticated: stanzas flow
  FG_ST_WAIT_SINK,   // churn: the one stanza is out, waiting for the sink
  FG_ST_CLOSING,     // </stream:stream> sent
  FG_ST_FAILED,
};

typedef struct fg_load_opts {
  enum fg_load_mode mode;
  enum fg_load_sink sink;
  const char *target;  // HOST:PORT or "self"
  const char *sink_addr;
  const char *sink_domain;
  const char *remote_suffix;
  const char *component_secret;
  const char *pki_dir;  // NULL: certificates minted in memory
  int insecure;
  int starttls;  // RFC 6120 §5 on a plain connection instead of direct TLS
  // relay: a stream whose connection dies while sending connects again (a
  // SUT instance failed behind a load balancer) instead of failing; what it
  // had written on the dead connection and never reached the sink is
  // reported as lost on dead streams.
  int reconnect;
  unsigned remotes, streams_per_remote;
  double seconds, warmup, drain, rate, hold;
  unsigned window;
  unsigned tick_us;  // open loop: shortest pacer period
  size_t size;
  unsigned concurrency;
  int resume;
  unsigned idle_streams;
  unsigned connect_parallel;
  double setup_timeout;
  unsigned sink_drop_every;
  int sink_scan;             // after negotiation, find ids with a scanner, not the parser
  const char *tls12_cipher;  // offer TLS 1.2 only, with this one suite
  int sut_pids[16];
  size_t num_sut_pids;
  int sut_tids[16];  // threads of the SUT (its workers): their own CPU time
  size_t num_sut_tids;
  int json;
  int verbose;
} fg_load_opts;

// FG_LOAD_MAX_DEATHS: connections of one stream that may die under
// --reconnect before the stream fails.
#define FG_LOAD_MAX_DEATHS 16

typedef struct fg_load_stream {
  uint32_t index, remote;
  struct fg_load_wctx *wc;  // owning worker context
  // Owner-worker fields.
  fg_conn *conn;
  fg_xml_parser *parser;
  enum fg_load_state state;
  uint64_t next_seq;
  // Open loop: stanza i is due at base_ns + offset_ns + i * interval_ns.
  double offset_ns;
  // Shared fields.
  _Atomic uint64_t sent;       // stanzas written (published by the owner)
  _Atomic uint64_t delivered;  // unique stanzas the sink got
  _Atomic uint64_t max_seq1;   // highest sequence number seen + 1
  _Atomic uint64_t *seen;      // bitmap of sequence numbers seen
  uint64_t seen_bits;
  atomic_int window_blocked;
  atomic_int wake_pending;
  fg_msg wake;
  fg_timer retry;  // churn, --reconnect: connect again after a delay, not in a tight loop
  // --reconnect (owner worker): the first sequence number written on the
  // current connection; the sequence ranges [from, to) written on
  // connections that died; the stanzas presumed lost with them, which no
  // longer count against the closed-loop window.
  uint64_t conn_first_seq;
  uint64_t dead_from[FG_LOAD_MAX_DEATHS], dead_to[FG_LOAD_MAX_DEATHS];
  unsigned num_deaths;
  uint64_t window_base;
} fg_load_stream;

typedef struct fg_load_wctx {
  fg_worker *w;
  uint32_t *streams;  // indices of the streams it owns
  size_t num_streams;
  size_t next_start;   // idle/churn: next of its streams to connect
  size_t start_until;  // idle: connect its streams below this index (a wave)
  unsigned connecting;
  fg_timer tick;
  fg_hist hist;  // latency, measured window (written by this worker only)
  // Open loop: how late this worker wrote each stanza due in the measured
  // window (write time - scheduled time): the generator's own share of the
  // latency, pacing granularity and its own CPU contention included.
  fg_hist lag;
  // The worst distinct latency events of the measured window, with their
  // times (the report's "stalls").
  fg_stalls stalls;
  uint64_t win_delivered;  // stanzas its sink connections got in the window
  uint8_t *obuf;           // batch buffer
  size_t obuf_cap;
  fg_msg go, stop;
} fg_load_wctx;

typedef struct fg_load {
  fg_load_opts o;
  fg_runtime *rt;
  unsigned num_workers;
  fg_load_wctx *wctx;
  fg_load_stream *streams;
  uint32_t num_streams;
  fg_stanza_tmpl *tmpl;  // one per remote domain
  char (*remote_names)[256];
  fg_tls_ctx **client_ctx;  // one per remote domain (its certificate, its session)
  fg_tls_ctx *sink_tls;     // --target self: the sink terminates TLS
  struct sockaddr_storage target;
  socklen_t target_len;
  struct sockaddr_storage sink_sa;
  socklen_t sink_sa_len;
  double interval_ns;  // open loop, per stream
  uint64_t base_ns;    // open loop schedule origin
  atomic_int phase;
  _Atomic uint64_t win_start_ns, win_end_ns;
  // Counters.
  _Atomic uint64_t duplicated, out_of_order, unknown_ids, dropped;
  _Atomic uint64_t errors, ready_streams, failed_streams;
  _Atomic uint64_t establishments, win_establishments, win_resumed, resumed, handshakes;
  _Atomic uint64_t bounced;
  _Atomic uint64_t verified, corrupted, unverifiable;  // s2sload_verify.h
  // What the first remote stream's handshake negotiated, and how many
  // later ones negotiated something else.
  atomic_int tls_noted;
  char tls_version[32], tls_cipher[96];
  _Atomic uint64_t tls_other;
  _Atomic uint64_t reconnects;  // --reconnect: connections that died and were opened again
  _Atomic uint64_t sink_conns, sink_ready, sink_stanzas;
} fg_load;

extern fg_load g_load;

// fg_load_error counts an error and prints |fmt| on stderr (the first 20).
void fg_load_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// fg_load_deliver is the sink's report of one stanza with id |id| received
// at |now_ns| by the worker of |wc|. |raw| (NULL: not checked) holds the
// stanza from its '<' (s2sload_verify.h): the whole of it, checked always,
// or (|sample| set, the scanner) what its chunk holds, checked for one
// stanza in FG_LOAD_SAMPLE_EVERY. A stanza that is not whole counts as
// corrupted, not delivered.
void fg_load_deliver(fg_load_wctx *wc, const uint8_t *id, size_t id_len, const uint8_t *raw,
                     size_t raw_len, int sample, uint64_t now_ns);

// FG_LOAD_SAMPLE_EVERY: the scanning sink checks stanzas whose sequence
// number is a multiple of this.
#define FG_LOAD_SAMPLE_EVERY 64

// fg_load_sink_start starts the sink (listener or component connection); it
// returns 1 or 0 (message printed).
int fg_load_sink_start(void);

// fg_load_stream_start connects remote stream |s| (on its worker).
void fg_load_stream_start(fg_load_stream *s);

// fg_load_stream_pump writes what stream |s| may send now (its worker).
void fg_load_stream_pump(fg_load_stream *s);

// fg_load_stream_close ends |s| with </stream:stream> and close_notify.
void fg_load_stream_close(fg_load_stream *s);

// fg_load_wake asks |s|'s worker to pump it (any thread; coalesced).
void fg_load_wake(fg_load_stream *s);

// fg_load_worker_start connects the streams of |wc| (idle: a bounded number
// at a time); fg_load_worker_go starts sending (relay); fg_load_worker_stop
// closes them. Worker thread of |wc| only.
void fg_load_worker_start(fg_load_wctx *wc);
void fg_load_worker_go(fg_load_wctx *wc);
void fg_load_worker_stop(fg_load_wctx *wc);
// fg_load_worker_ping sends one more stanza on every authenticated stream
// of |wc| (idle: the liveness check at the end).
void fg_load_worker_ping(fg_load_wctx *wc);

// fg_load_pki_setup loads or mints the certificates and builds the TLS
// contexts; it returns 1 or 0 (message printed).
int fg_load_pki_setup(void);
void fg_load_pki_cleanup(void);

#endif  // FEDGATE_BENCH_S2SLOAD_CORE_H
