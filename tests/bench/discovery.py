"""Benchmark: how fast glimpse discovers a container, with baselines.

Runs Job pods (default 200, each with a sandbox: 400 containers) on a node
played with real parts (tests/e2e/node.py) under the real build/glimpse at
log level debug. The agent logs one line per container it discovers:

    {"level":"debug","msg":"container discovered","container.id":…,
     "cgroup_to_registered_ns":N, "exec_to_registered_ns":N,
     "cgroup_to_log_open_ns":N, "file_create_to_open_ns":N,
     "cgroup_to_first_line_ns":N, "exec_to_first_line_ns":N,
     "cgroup_to_received_ns":N}

(a key is absent when unknown; values may be negative). This prints n, p50,
p99 and max of each key over this run's containers, and two baselines
measured in the same run, on the same machine, under the same load:

* inotify: tests/bench/inotify_baseline.c creates files in a directory on
  the same file system as the pods log dir, every 20 ms while the containers
  start, and times file creation -> IN_CREATE read -> file open, the way an
  epoll loop would; the floor for file_create_to_open_ns;
* the ring buffer: cgroup_to_received_ns (kernel tracepoint -> userspace) is
  the floor for cgroup_to_registered_ns.

and the ratios of the agent's figures to those floors. Goal: p99 under 5 ms
from cgroup creation to registration and from log file creation to open.
It prints figures; it does not pass or fail.

    python3 tests/bench/discovery.py [--pods 200] [--no-sandbox] [--lines 10]

GLIMPSE_INOTIFY_BASELINE names the baseline binary (default
build/test/inotify_baseline; compiled with cc into a temporary dir when
missing).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

import node  # noqa: E402
import test_jobs  # noqa: E402

KEYS = ("cgroup_to_registered_ns", "exec_to_registered_ns", "cgroup_to_log_open_ns",
        "file_create_to_open_ns", "cgroup_to_first_line_ns", "exec_to_first_line_ns",
        "cgroup_to_received_ns")
GOAL_NS = 5_000_000


def baseline_binary(workdir):
    path = node._repo_path("GLIMPSE_INOTIFY_BASELINE", "build/test/inotify_baseline")
    if os.access(path, os.X_OK):
        return path
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    out = os.path.join(workdir, "inotify_baseline")
    src = os.path.join(HERE, "inotify_baseline.c")
    proc = subprocess.run([cc, "-std=c11", "-O2", "-o", out, src], capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"(could not build the inotify baseline: {proc.stderr.strip()})")
        return None
    return out


def stats_row(label, values):
    p = node.percentile
    top = max(values) if values else None
    return (f"{label:<26} {len(values):>5} {node.format_ns(p(values, 50)):>10} "
            f"{node.format_ns(p(values, 99)):>10} {node.format_ns(top):>10}")


def ratio(a, b):
    if a is None or not b:
        return "-"
    return f"{a / b:.2g}x"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pods", type=int, default=200)
    ap.add_argument("--lines", type=int, default=10)
    ap.add_argument("--parallelism", type=int, default=os.cpu_count() or 2,
                    help="pods started at a time (default: one per CPU, so that the figures "
                         "measure the agent more than an overloaded scheduler)")
    ap.add_argument("--no-sandbox", action="store_true", help="pods without a sandbox container")
    ap.add_argument("--deadline", type=float, default=30.0,
                    help="seconds to wait for the discovery lines after the last pod")
    args = ap.parse_args()

    try:
        node.check_prerequisites()
    except node.Skip as e:
        print(f"skip: {e}")
        return 0

    sandbox = not args.no_sandbox
    print(f"discovery benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, "
          f"{node.machine_description()}")
    print(f"{args.pods} Job pods{' with sandboxes' if sandbox else ''}, {args.lines} lines each, "
          f"{args.parallelism} pods at a time")
    try:
        with node.Node(parallelism=args.parallelism) as n:
            g = n.start_glimpse(log_level="debug")
            baseline_bin = baseline_binary(n.workdir)
            baseline = None
            if baseline_bin:
                watch_dir = os.path.join(n.workdir, "inotify-baseline")
                os.makedirs(watch_dir)
                baseline = subprocess.Popen([baseline_bin, watch_dir, "20000"],
                                            stdout=subprocess.PIPE, text=True)
            try:
                t0 = time.monotonic()
                pods = n.run_pods(test_jobs.job_pod_specs(args.pods, lines=args.lines,
                                                          sandbox=sandbox, prefix="disc"))
                ran = time.monotonic() - t0
            finally:
                baseline_out = ""
                if baseline is not None:
                    baseline.send_signal(signal.SIGTERM)
                    baseline_out = baseline.communicate(timeout=10)[0]
            ours = {c.id for p in pods for c in p.containers}
            ours |= {p.sandbox.id for p in pods if p.sandbox is not None}

            def discovered():
                return {e.get("container.id"): e for e in g.agent_log()
                        if e.get("msg") == "container discovered" and e.get("container.id") in ours}
            try:
                node.wait_for(lambda: len(discovered()) == len(ours), args.deadline,
                              interval=0.1, what="a discovery line per container")
            except node.HarnessError:
                pass
            found = discovered()
            g.stop()
    except node.Skip as e:
        print(f"skip: {e}")
        return 0

    sandboxes = {p.sandbox.id for p in pods if p.sandbox is not None}
    found_sandboxes = len(sandboxes & set(found))
    print(f"pods ran in {ran:.1f} s; \"container discovered\" lines for "
          f"{len(found) - found_sandboxes} of {len(ours) - len(sandboxes)} containers and "
          f"{found_sandboxes} of {len(sandboxes)} sandboxes")
    print()
    print(f"{'glimpse':<26} {'n':>5} {'p50':>10} {'p99':>10} {'max':>10}")
    values = {}
    for key in KEYS:
        values[key] = [int(e[key]) for e in found.values() if isinstance(e.get(key), (int, float))]
        print(stats_row(key, values[key]))

    base_event, base_open = [], []
    files = missed = None
    for line in baseline_out.splitlines():
        parts = line.split()
        if parts and parts[0] == "done":
            files, missed = int(parts[1]), int(parts[2])
        elif len(parts) == 2:
            base_event.append(int(parts[0]))
            base_open.append(int(parts[1]))
    print()
    print(f"{'baseline (same run)':<26} {'n':>5} {'p50':>10} {'p99':>10} {'max':>10}")
    if baseline_bin:
        print(stats_row("inotify create->event", base_event))
        print(stats_row("inotify create->open", base_open))
        if missed:
            print(f"(inotify baseline: {missed} of {files + missed} files missed)")
    else:
        print("inotify baseline: not available")
    print(stats_row("ring buffer (received)", values["cgroup_to_received_ns"]))

    p = node.percentile
    print()
    print("ratios to the floors (p50 / p99):")
    reg, recv = values["cgroup_to_registered_ns"], values["cgroup_to_received_ns"]
    print(f"  cgroup_to_registered / cgroup_to_received   {ratio(p(reg, 50), p(recv, 50))} / "
          f"{ratio(p(reg, 99), p(recv, 99))}")
    opened = values["file_create_to_open_ns"]
    print(f"  file_create_to_open / inotify create->open  "
          f"{ratio(p(opened, 50), p(base_open, 50))} / {ratio(p(opened, 99), p(base_open, 99))}")
    print()
    for key in ("cgroup_to_registered_ns", "file_create_to_open_ns"):
        p99 = p(values[key], 99)
        verdict = "-" if p99 is None else ("met" if p99 < GOAL_NS else "NOT met")
        print(f"goal p99 {key} < {node.format_ns(GOAL_NS)}: {verdict} ({node.format_ns(p99)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
