#!/bin/sh
# sched_trace_test.sh: bench/sched_trace.py's summary of a scheduler trace,
# on a synthetic trace in tracefs' text format (no tracefs needed): the
# time each task ran per CPU, a watched thread's wake-up delays and what
# ran meanwhile, the other task that held the CPU during a stall, and the
# measured processes told from others of the same name by thread id.
set -u
TOOL=$1
WORK=$(mktemp -d "${TEST_TMPDIR:-/tmp}/sched-trace.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# CPU 0: the system (fedgate/100) sleeps at 1.000100 s; at 1.000200 it is
# woken while another session's fedgate (pid 300) runs until 1.004200; it
# runs 1 ms, then idle. CPU 1: the generator (s2sload/200) all along.
cat >"$WORK/trace.txt" <<'TRACE'
# tracer: nop
         fedgate-100     [000] d..2.     1.000000: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=fedgate next_pid=100 next_prio=110
         fedgate-100     [000] d..2.     1.000100: sched_switch: prev_comm=fedgate prev_pid=100 prev_prio=110 prev_state=S ==> next_comm=fedgate next_pid=300 next_prio=120
         s2sload-200     [001] d..2.     1.000150: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=s2sload next_pid=200 next_prio=110
         s2sload-200     [001] d..2.     1.000200: sched_waking: comm=fedgate pid=100 prio=110 target_cpu=000
         fedgate-300     [000] d..2.     1.004200: sched_switch: prev_comm=fedgate prev_pid=300 prev_prio=120 prev_state=R ==> next_comm=fedgate next_pid=100 next_prio=110
         fedgate-100     [000] d..2.     1.005200: sched_switch: prev_comm=fedgate prev_pid=100 prev_prio=110 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120
         s2sload-200     [001] d..2.     1.006000: sched_switch: prev_comm=s2sload prev_pid=200 prev_prio=110 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120
          <idle>-0       [000] d..2.     1.006000: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=kdamond.0 next_pid=107 next_prio=120
TRACE
/usr/bin/python3 - "$TOOL" "$WORK/trace.txt" <<'PY'
import importlib.util
import sys

spec = importlib.util.spec_from_file_location("sched_trace", sys.argv[1])
st = importlib.util.module_from_spec(spec)
spec.loader.exec_module(st)

# s2sload's stall: a stanza due at 1.000150 s arrived at 1.005000 s.
stalls = [{"latency_us": 4850.0, "sched_ns": 1000150000, "arrive_ns": 1005000000}]
s = st.summarise(sys.argv[2], [100, [200]], stalls, (1000000000, 1006000000))
cpu0 = {t["task"]: t for t in s["cpus"]["0"]}
t = s["threads"].get("100", {})
c = st.compact(s, own=[100, 200, 201])
results = [
    ("per CPU: the time each task ran",
     round(cpu0["fedgate/100"]["ms"], 2) == 1.1 and round(cpu0["fedgate/300"]["ms"], 2) == 4.1
     and cpu0["fedgate/300"]["longest_us"] == 4100 and cpu0["idle"]["ms"] == 0.8, cpu0),
    ("a watched thread's wake-up delay and what ran meanwhile",
     t.get("wakeups") == 1 and t["wake_delay_us"]["max"] == 4000.0
     and t["longest_wakes"][0]["meanwhile"] == [("fedgate/300", 4000)], t),
    ("the generator picked by its thread ids", "200" in s["threads"], s["threads"].keys()),
    ("another process of the same name is another task",
     c["cpus"]["0"]["other_tasks_ms"] == 4.1
     and c["cpus"]["0"]["longest_other_task"] == "fedgate/300", c["cpus"]),
    ("the stall names the other task that held the system's CPU",
     c["stalls"][0]["other_tasks"] == {"0": ["fedgate/300", 4050]}, c["stalls"]),
    ("nothing else on the generator's CPU", c["cpus"]["1"]["other_tasks_ms"] == 0, c["cpus"]),
]
for name, ok, detail in results:
    print(("[       OK ] %s" % name) if ok else ("[  FAILED  ] %s %r" % (name, detail)))
passed = sum(1 for _, ok, _ in results if ok)
failed = len(results) - passed
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
