// s2sload_proc.h: CPU time and resident memory of the system under test (from
// /proc, summed over several processes) and of s2sload itself (getrusage);
// how long threads waited for a CPU (schedstat): time the scheduler gave to
// other work on the machine.
#ifndef FEDGATE_BENCH_S2SLOAD_PROC_H
#define FEDGATE_BENCH_S2SLOAD_PROC_H

#include <stddef.h>
#include <stdint.h>

typedef struct fg_proc_sample {
  double cpu_s;     // utime + stime, seconds
  uint64_t rss_kb;  // VmRSS, KiB
} fg_proc_sample;

// fg_proc_read fills |out| with the sum over the |n| processes |pids| of
// /proc/PID/stat utime+stime and /proc/PID/status VmRSS. It returns 1, or 0
// if one of them could not be read (gone, or no permission).
int fg_proc_read(fg_proc_sample *out, const int *pids, size_t n);

// fg_proc_read_threads sets |*out_cpu_s| to the sum over the |n| threads
// |tids| (of any process) of their time on a CPU, in nanoseconds from
// /proc/TID/task/TID/schedstat: one thread's own time (/proc/TID/stat would
// be its whole process's), exact where utime+stime come in clock ticks (10
// ms: 3 % of a 0.3 s run). It returns 1, or 0 if one of them could not be
// read.
int fg_proc_read_threads(double *out_cpu_s, const int *tids, size_t n);

// fg_proc_parse_stat extracts utime + stime (clock ticks) from the text of a
// /proc/PID/stat file (the command name may hold spaces and parentheses). It
// returns 1 or 0.
int fg_proc_parse_stat(const char *text, uint64_t *out_ticks);

// fg_proc_parse_schedstat extracts the time on a CPU and the time spent
// waiting on a run queue (ready to run, another task on the CPU), both in
// nanoseconds, from the text of a /proc/PID/task/TID/schedstat file
// ("on-CPU-ns wait-ns timeslices"). It returns 1 or 0.
int fg_proc_parse_schedstat(const char *text, uint64_t *out_run_ns, uint64_t *out_wait_ns);

// fg_proc_read_runq_wait sets |*out_s| to the sum over the |n| threads |tids|
// of their run-queue wait (seconds, /proc/TID/task/TID/schedstat). It
// returns 1, or 0 if one of them could not be read.
int fg_proc_read_runq_wait(double *out_s, const int *tids, size_t n);

// fg_proc_self_tids writes the thread ids of this process (at most |cap|)
// to |out| and returns how many it wrote (0 when /proc cannot be read).
size_t fg_proc_self_tids(int *out, size_t cap);

// fg_proc_self_runq_wait returns the run-queue wait of every thread of this
// process so far (seconds; threads that ended are not counted), or -1.
double fg_proc_self_runq_wait(void);

// fg_proc_self_cpu returns this process's user + system CPU seconds.
double fg_proc_self_cpu(void);

// fg_proc_generator_bound says whether a run whose generator used
// |gen_cpu_util| CPUs' worth of time (its CPU seconds over the wall-clock
// seconds) may have been limited by the generator: whenever that is 90 % or
// more of the |usable_cpus| CPUs it may run on, whatever the system under
// test used (both near 100 % leaves open which one set the pace). Such runs
// are compared per CPU-second of the system under test.
int fg_proc_generator_bound(double gen_cpu_util, unsigned usable_cpus);

#endif  // FEDGATE_BENCH_S2SLOAD_PROC_H
