// s2sload_proc_test.c: reading CPU time and RSS from /proc (proc(5)).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>
#include <sched.h>

#include <cmocka.h>

#include "bench/s2sload_proc.h"

static void test_parse_stat_fields_14_15(void **state) {
  (void)state;
  uint64_t ticks = 0;
  // utime 1234 and stime 56 are fields 14 and 15.
  const char *s = "42 (fedgate) S 1 42 42 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 2 0 10 1000 50";
  assert_int_equal(fg_proc_parse_stat(s, &ticks), 1);
  assert_int_equal(ticks, 1290);
}

static void test_parse_stat_command_with_spaces_and_parens(void **state) {
  (void)state;
  uint64_t ticks = 0;
  const char *s = "7 (a) b (c) d) R 1 7 7 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0 5 100 5";
  assert_int_equal(fg_proc_parse_stat(s, &ticks), 1);
  assert_int_equal(ticks, 30);
}

static void test_parse_stat_rejects_truncated(void **state) {
  (void)state;
  uint64_t ticks = 0;
  assert_int_equal(fg_proc_parse_stat("1 (x) S 1 2 3", &ticks), 0);
  assert_int_equal(fg_proc_parse_stat("no parenthesis", &ticks), 0);
}

static void test_reads_self_and_sums(void **state) {
  (void)state;
  int pids[2] = {getpid(), getpid()};
  fg_proc_sample one, two;
  assert_int_equal(fg_proc_read(&one, pids, 1), 1);
  assert_true(one.rss_kb > 0);
  assert_int_equal(fg_proc_read(&two, pids, 2), 1);
  assert_true(two.rss_kb >= one.rss_kb * 2 - 256);
  int gone[1] = {0x7ffffff0};
  assert_int_equal(fg_proc_read(&one, gone, 1), 0);
  volatile uint64_t x = 0;
  for (uint64_t i = 0; i < 20000000; i++) x += i;
  assert_true(fg_proc_self_cpu() > 0);
}

typedef struct spinner {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int tid, done, release;
} spinner;

// spin burns 0.2 s of its own CPU, then waits, still alive, to be read.
static void *spin(void *arg) {
  spinner *s = arg;
  struct timespec ts;
  do {
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  } while (ts.tv_sec == 0 && ts.tv_nsec < 200000000);
  pthread_mutex_lock(&s->mu);
  s->tid = (int)syscall(SYS_gettid);
  s->done = 1;
  pthread_cond_broadcast(&s->cv);
  while (!s->release) pthread_cond_wait(&s->cv, &s->mu);
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

// spinner_start runs |spin| in thread |t| and returns once it has spun;
// spinner_stop lets it end and joins it.
static void spinner_start(spinner *s, pthread_t *t) {
  assert_int_equal(pthread_create(t, NULL, spin, s), 0);
  pthread_mutex_lock(&s->mu);
  while (!s->done) pthread_cond_wait(&s->cv, &s->mu);
  pthread_mutex_unlock(&s->mu);
}

static void spinner_stop(spinner *s, pthread_t t) {
  pthread_mutex_lock(&s->mu);
  s->release = 1;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  pthread_join(t, NULL);
}

static void test_reads_one_thread_not_its_process(void **state) {
  (void)state;
  spinner s = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
  pthread_t t;
  spinner_start(&s, &t);
  double busy = 0, idle = 0;
  int busy_tid[1] = {s.tid}, main_tid[1] = {getpid()};
  assert_int_equal(fg_proc_read_threads(&busy, busy_tid, 1), 1);
  assert_int_equal(fg_proc_read_threads(&idle, main_tid, 1), 1);
  assert_true(busy >= 0.1);
  assert_true(idle < busy);
  // In nanoseconds, not clock ticks: the blocked spinner's own CPU clock
  // (the same scheduler sum) agrees to well under one 10 ms tick.
  clockid_t clock;
  struct timespec ts;
  assert_int_equal(pthread_getcpuclockid(t, &clock), 0);
  assert_int_equal(clock_gettime(clock, &ts), 0);
  double own = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  assert_true(busy > own - 0.001 && busy < own + 0.001);
  int gone[1] = {0x7ffffff0};
  assert_int_equal(fg_proc_read_threads(&busy, gone, 1), 0);
  spinner_stop(&s, t);
}

static void test_parse_schedstat_run_then_wait(void **state) {
  (void)state;
  uint64_t run = 0, wait = 0;
  assert_int_equal(fg_proc_parse_schedstat("123456789 4567 89\n", &run, &wait), 1);
  assert_int_equal(run, 123456789);
  assert_int_equal(wait, 4567);
  assert_int_equal(fg_proc_parse_schedstat("123456789\n", &run, &wait), 0);
  assert_int_equal(fg_proc_parse_schedstat("", &run, &wait), 0);
  assert_int_equal(fg_proc_parse_schedstat("x 1 2", &run, &wait), 0);
}

static void release(spinner *s) {
  pthread_mutex_lock(&s->mu);
  s->release = 1;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

// Two threads that both want 0.2 s of CPU on one CPU: each waits on the run
// queue while the other runs, and the wait shows in their schedstat.
static void test_runq_wait_of_threads_sharing_one_cpu(void **state) {
  (void)state;
  cpu_set_t old, one;
  assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
  int cpu = 0;
  while (!CPU_ISSET(cpu, &old)) cpu++;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);  // threads inherit it
  spinner s[2] = {{.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER},
                  {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&t[i], NULL, spin, &s[i]), 0);
  for (int i = 0; i < 2; i++) {
    pthread_mutex_lock(&s[i].mu);
    while (!s[i].done) pthread_cond_wait(&s[i].cv, &s[i].mu);
    pthread_mutex_unlock(&s[i].mu);
  }
  assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
  int tids[2] = {s[0].tid, s[1].tid};
  double wait = 0;
  assert_int_equal(fg_proc_read_runq_wait(&wait, tids, 2), 1);
  assert_true(wait > 0);
  assert_true(fg_proc_self_runq_wait() >= wait);
  int gone[1] = {0x7ffffff0};
  assert_int_equal(fg_proc_read_runq_wait(&wait, gone, 1), 0);
  for (int i = 0; i < 2; i++) {
    release(&s[i]);
    pthread_join(t[i], NULL);
  }
}

// The generator lists its own threads (its report's "tids"): the main
// thread and a running one, nothing else.
static void test_self_tids_lists_every_thread(void **state) {
  (void)state;
  spinner s = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
  pthread_t t;
  spinner_start(&s, &t);
  int tids[8];
  size_t n = fg_proc_self_tids(tids, 8);
  int main_seen = 0, thread_seen = 0;
  for (size_t i = 0; i < n; i++) {
    main_seen |= tids[i] == getpid();
    thread_seen |= tids[i] == s.tid;
  }
  assert_int_equal(n, 2);
  assert_true(main_seen && thread_seen);
  assert_int_equal(fg_proc_self_tids(tids, 1), 1);  // never more than asked
  spinner_stop(&s, t);
}

// generator_bound: the generator used 90 % or more of the CPUs it may use,
// whatever the system under test used.
static void test_generator_bound_at_90_percent_of_its_cpus(void **state) {
  (void)state;
  static const struct {
    double util;
    unsigned cpus;
    int bound;
  } cases[] = {
      {0.96, 1, 1},  // both sides near saturation (fedgate 96 %, generator 96 %)
      {0.90, 1, 1}, {0.899, 1, 0}, {0.5, 1, 0},  {0.96, 2, 0},  // one of its two CPUs
      {1.80, 2, 1}, {1.79, 2, 0},  {0.95, 0, 1},                // no CPU count: one
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_int_equal(fg_proc_generator_bound(cases[i].util, cases[i].cpus), cases[i].bound);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_generator_bound_at_90_percent_of_its_cpus),
      cmocka_unit_test(test_self_tids_lists_every_thread),
      cmocka_unit_test(test_parse_stat_fields_14_15),
      cmocka_unit_test(test_parse_stat_command_with_spaces_and_parens),
      cmocka_unit_test(test_parse_stat_rejects_truncated),
      cmocka_unit_test(test_reads_self_and_sums),
      cmocka_unit_test(test_reads_one_thread_not_its_process),
      cmocka_unit_test(test_parse_schedstat_run_then_wait),
      cmocka_unit_test(test_runq_wait_of_threads_sharing_one_cpu),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
