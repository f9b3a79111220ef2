// cmd_run.c: `fedgate run --config FILE [--workers N] [--pin-workers] [--no-ktls]`.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>

#include "gateway/cli/cmd.h"
#include "gateway/cli/command.h"
#include "gateway/cli/run_drain.h"
#include "gateway/config/config.h"
#include "gateway/server/log.h"
#include "gateway/server/reload.h"
#include "gateway/server/notify.h"
#include "gateway/server/server.h"
#include "io/worker.h"

int fg_cmd_run(int argc, char **argv) {
  const char *config_path = NULL;
  fg_worker_options wo;
  fg_worker_options_init(&wo);
  wo.workers = 0;
  for (int i = 1; i < argc;) {
    const char *err = NULL;
    enum fg_worker_opt_result r = fg_worker_options_parse(&wo, argc, argv, &i, &err);
    if (r == FG_WORKER_OPT_USED) continue;
    if (r == FG_WORKER_OPT_ERROR) return fg_usage_error("run", "%s", err);
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_path = argv[i + 1];
      i += 2;
    } else if (strncmp(argv[i], "--config=", 9) == 0) {
      config_path = argv[i] + 9;
      i++;
    } else {
      return fg_usage_error("run", "unknown argument '%s'", argv[i]);
    }
  }
  if (config_path == NULL) return fg_usage_error("run", "--config FILE is required");
  fg_config_diag diag;
  fg_config_diag_init(&diag);
  fg_config *cfg = fg_config_load(config_path, &diag);
  if (diag.text != NULL) fputs(diag.text, stderr);
  fg_config_diag_cleanup(&diag);
  if (cfg == NULL) {
    fprintf(stderr, "fedgate run: %s: configuration has errors, not starting\n", config_path);
    return 1;
  }
  // Before anything logs: start-up lines go where the operator asked.
  static const fg_log_style kStyles[] = {FG_LOG_STYLE_TEXT, FG_LOG_STYLE_TEXT, FG_LOG_STYLE_KV,
                                         FG_LOG_STYLE_JSON};
  char log_err[512];
  if (!fg_log_open(kStyles[cfg->log.format], cfg->log.file, log_err, sizeof(log_err))) {
    fprintf(stderr, "fedgate run: %s\n", log_err);
    fg_config_free(cfg);
    return 1;
  }
  // Every stream costs a descriptor: use all the process may have (the
  // soft limit up to the hard one, as nginx's worker_rlimit_nofile does).
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  // Block the signals before any worker thread exists, so that only sigwait
  // below receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);   // reload (gateway/server/reload.h)
  sigaddset(&set, SIGUSR1);  // reopen log.file (logrotate)
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  char err[512] = "";
  fg_server *srv = fg_server_new(cfg, &wo, err, sizeof(err));
  if (srv == NULL) {
    fprintf(stderr, "fedgate run: %s\n", err);
    return 1;
  }
  if (!fg_server_start(srv, err, sizeof(err))) {
    fprintf(stderr, "fedgate run: %s\n", err);
    fg_server_free(srv);
    return 1;
  }
  fg_log(FG_LOG_SEV_INFO, NULL, NULL,
         "ready: s2s port %u, s2s-tls port %u, internal port %u, admin port %u",
         fg_server_port(srv, FG_LISTENER_S2S), fg_server_port(srv, FG_LISTENER_S2S_TLS),
         fg_server_port(srv, FG_LISTENER_INTERNAL), fg_server_port(srv, FG_LISTENER_ADMIN));
  fg_notify_ready();
  fg_notify_status("serving");
  fg_notify_watchdog_start(fg_server_runtime(srv));
  int sig = 0;
  while (sigwait(&set, &sig) == 0 && (sig == SIGHUP || sig == SIGUSR1)) {
    if (sig == SIGUSR1) {
      fg_log_reopen();
      continue;
    }
    // The outcome is logged and counted by the reload itself; a refused one
    // leaves the running configuration unchanged.
    fg_log(FG_LOG_SEV_INFO, NULL, NULL, "SIGHUP: reloading %s", config_path);
    fg_notify_reloading();
    fg_reload_result r;
    int ok = fg_server_reload(srv, NULL, &r);
    fg_notify_ready();
    fg_notify_status("serving, configuration generation %llu%s", (unsigned long long)r.generation,
                     ok ? "" : " (the last reload failed: see the log)");
    fg_reload_result_cleanup(&r);
  }
  if (sig == SIGTERM) {
    // A graceful drain within shutdown.grace (a second signal stops at once).
    fg_run_drain(srv, &set, fg_server_shutdown_grace_ms(srv));
  } else {
    fg_log(FG_LOG_SEV_INFO, NULL, NULL, "signal %d: stopping", sig);
    fg_notify_stopping();
    fg_notify_watchdog_stop();
    fg_server_stop(srv, 2000);
  }
  const fg_metrics *m = fg_server_metrics(srv);
  fg_log(FG_LOG_SEV_INFO, NULL, NULL,
         "stopped: stanzas in %llu, delivered %llu, bounced %llu, not bounced %llu; "
         "bounces sent %llu, undeliverable %llu",
         (unsigned long long)fg_metrics_get(m, FG_M_STANZAS_IN),
         (unsigned long long)fg_metrics_get(m, FG_M_STANZAS_DELIVERED),
         (unsigned long long)fg_metrics_get(m, FG_M_STANZAS_BOUNCED),
         (unsigned long long)fg_metrics_get(m, FG_M_STANZAS_NOT_BOUNCED),
         (unsigned long long)fg_metrics_get(m, FG_M_BOUNCES_SENT),
         (unsigned long long)fg_metrics_get(m, FG_M_BOUNCES_UNDELIVERABLE));
  fg_server_free(srv);
  return 0;
}
