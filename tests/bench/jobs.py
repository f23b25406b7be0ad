"""Benchmark: the full-size Job run, 200 Job pods x 100 lines.

Plays the node with real containers (runc + conmon) and the fake kubelet
(tests/e2e/node.py), runs the real build/glimpse, and prints what came out
(lines expected / emitted / missing / duplicated, start and exit events) and
what it cost: wall time of the pods, how long after the last pod the output
was complete, glimpse's CPU time (/proc/<pid>/stat) and peak RSS (VmHWM).
It prints figures; it does not pass or fail.

    python3 tests/bench/jobs.py [--pods 200] [--lines 100] [--parallelism 8]
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

import node  # noqa: E402
import test_jobs  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pods", type=int, default=200)
    ap.add_argument("--lines", type=int, default=100)
    ap.add_argument("--parallelism", type=int, default=8)
    ap.add_argument("--deadline", type=float, default=60.0,
                    help="seconds to wait for the output after the last pod")
    args = ap.parse_args()

    try:
        node.check_prerequisites()
    except node.Skip as e:
        print(f"skip: {e}")
        return 0

    print(f"jobs benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {node.machine_description()}")
    print(f"{args.pods} Job pods x {args.lines} lines, sandboxes, removed 100 ms after exit, "
          f"{args.parallelism} pods at a time")
    try:
        with node.Node(parallelism=args.parallelism) as n:
            g = n.start_glimpse(log_level="info")
            cpu0 = g.cpu_seconds()
            t0 = time.monotonic()
            pods = n.run_pods(test_jobs.job_pod_specs(args.pods, lines=args.lines))
            ran = time.monotonic() - t0
            check = node.wait_for_pods(g, pods, timeout=args.deadline, node_name=n.node_name)
            complete_after = check.waited_s
            cpu = g.cpu_seconds()
            rss = g.max_rss_kb()
            code = g.stop()
            kubelet_requests = n.kubelet.requests
    except node.Skip as e:
        print(f"skip: {e}")
        return 0

    lifetimes = [c.times["exited"] - c.times["started"] for p in pods for c in p.containers]
    creates = [c.times["created"] - c.times["create"] for p in pods for c in p.containers]
    print(f"lines expected      {check.expected_lines}")
    print(f"lines emitted       {check.emitted_lines}")
    print(f"lines missing       {check.missing_lines}")
    print(f"lines duplicated    {check.duplicate_lines}")
    print(f"start events        {check.starts} / {check.expected_starts}")
    print(f"exit events         {check.exits} / {check.expected_exits}")
    print(f"pods wall time      {ran:.2f} s ({args.pods / ran:.1f} pods/s)")
    print(f"output complete     {complete_after:.2f} s after the last pod"
          + ("" if check.complete else " (NOT complete at the deadline)"))
    print(f"runc create         p50 {node.format_ns(node.percentile(creates, 50))}, "
          f"p99 {node.format_ns(node.percentile(creates, 99))}")
    print(f"container lifetime  p50 {node.format_ns(node.percentile(lifetimes, 50))}, "
          f"p99 {node.format_ns(node.percentile(lifetimes, 99))} (runc start -> exit file)")
    if cpu is not None and cpu0 is not None:
        lines = max(1, check.emitted_lines)
        print(f"glimpse CPU time    {cpu:.2f} s ({cpu - cpu0:.2f} s during the run, "
              f"{(cpu - cpu0) / lines * 1e6:.1f} us per line, "
              f"{(cpu - cpu0) / (ran + complete_after) * 100:.1f}% of one CPU)")
    print(f"glimpse max RSS     {rss / 1024:.1f} MiB" if rss else "glimpse max RSS     -")
    print(f"kubelet requests    {kubelet_requests}")
    print(f"glimpse exit        {code}")
    if not check.ok:
        print("problems:")
        print(check.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
