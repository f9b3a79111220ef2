// s2sload_proc.c: /proc and getrusage sampling (see s2sload_proc.h).
#include "bench/s2sload_proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

static int read_text(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  size_t n = fread(buf, 1, cap - 1, f);
  fclose(f);
  buf[n] = 0;
  return n > 0;
}

int fg_proc_parse_stat(const char *text, uint64_t *out_ticks) {
  // proc(5): "pid (comm) state ppid ..."; utime and stime are fields 14 and
  // 15, i.e. the 12th and 13th after the last ')'.
  const char *p = strrchr(text, ')');
  if (p == NULL) return 0;
  p++;
  uint64_t v[13];
  for (int i = 0; i < 13; i++) {
    while (*p == ' ') p++;
    if (*p == 0) return 0;
    char *end;
    v[i] = strtoull(p, &end, 10);
    if (i >= 1 && end == p) return 0;  // field 3 (state) is a letter
    p = end == p ? p + 1 : end;
    while (*p && *p != ' ') p++;
  }
  *out_ticks = v[11] + v[12];
  return 1;
}

static double ticks_per_s(void) {
  static long ticks;
  if (ticks == 0) ticks = sysconf(_SC_CLK_TCK);
  return (double)ticks;
}

int fg_proc_read(fg_proc_sample *out, const int *pids, size_t n) {
  memset(out, 0, sizeof(*out));
  for (size_t i = 0; i < n; i++) {
    char path[64], buf[4096];
    uint64_t ticks;
    snprintf(path, sizeof(path), "/proc/%d/stat", pids[i]);
    if (!read_text(path, buf, sizeof(buf)) || !fg_proc_parse_stat(buf, &ticks)) return 0;
    out->cpu_s += (double)ticks / ticks_per_s();
    snprintf(path, sizeof(path), "/proc/%d/status", pids[i]);
    if (!read_text(path, buf, sizeof(buf))) return 0;
    const char *r = strstr(buf, "\nVmRSS:");
    if (r == NULL) return 0;
    out->rss_kb += strtoull(r + 7, NULL, 10);
  }
  return 1;
}

int fg_proc_read_threads(double *out_cpu_s, const int *tids, size_t n) {
  *out_cpu_s = 0;
  for (size_t i = 0; i < n; i++) {
    char path[80], buf[256];
    uint64_t run, wait;
    snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", tids[i], tids[i]);
    if (!read_text(path, buf, sizeof(buf)) || !fg_proc_parse_schedstat(buf, &run, &wait)) {
      return 0;
    }
    *out_cpu_s += (double)run / 1e9;
  }
  return 1;
}

int fg_proc_parse_schedstat(const char *text, uint64_t *out_run_ns, uint64_t *out_wait_ns) {
  // sched(7) /proc/PID/schedstat: time on the CPU, time waiting on a run
  // queue (both nanoseconds), timeslices run.
  char *end;
  uint64_t run = strtoull(text, &end, 10);
  if (end == text || *end != ' ') return 0;
  const char *p = end + 1;
  uint64_t wait = strtoull(p, &end, 10);
  if (end == p) return 0;
  *out_run_ns = run;
  *out_wait_ns = wait;
  return 1;
}

static int read_wait(const char *path, double *acc) {
  char buf[256];
  uint64_t run, wait;
  if (!read_text(path, buf, sizeof(buf)) || !fg_proc_parse_schedstat(buf, &run, &wait)) return 0;
  *acc += (double)wait / 1e9;
  return 1;
}

int fg_proc_read_runq_wait(double *out_s, const int *tids, size_t n) {
  *out_s = 0;
  for (size_t i = 0; i < n; i++) {
    char path[80];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", tids[i], tids[i]);
    if (!read_wait(path, out_s)) return 0;
  }
  return 1;
}

size_t fg_proc_self_tids(int *out, size_t cap) {
  DIR *d = opendir("/proc/self/task");
  if (d == NULL) return 0;
  size_t n = 0;
  for (struct dirent *e; n < cap && (e = readdir(d)) != NULL;) {
    if (e->d_name[0] != '.') out[n++] = atoi(e->d_name);
  }
  closedir(d);
  return n;
}

double fg_proc_self_runq_wait(void) {
  DIR *d = opendir("/proc/self/task");
  if (d == NULL) return -1;
  double total = 0;
  int ok = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (e->d_name[0] == '.') continue;
    char path[300];
    snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", e->d_name);
    ok |= read_wait(path, &total);  // a thread may end meanwhile
  }
  closedir(d);
  return ok ? total : -1;
}

double fg_proc_self_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int fg_proc_generator_bound(double gen_cpu_util, unsigned usable_cpus) {
  return gen_cpu_util >= 0.9 * (double)(usable_cpus > 0 ? usable_cpus : 1);
}
