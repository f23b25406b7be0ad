"""End-to-end: glimpse collects every line of short-lived Job containers.

Runs the real build/glimpse against real containers (runc + conmon) and the
fake kubelet (tests/e2e/node.py). Each Job pod has a sandbox and one
container that prints 100 lines (every 10th to stderr) and exits within
milliseconds, some with a non-zero code; its log dir and its kubelet entry
are removed 100 ms after the exit. glimpse must emit every line exactly once
with the pod's metadata, one start and one exit event per container, and
nothing from the sandboxes.

    python3 tests/e2e/test_jobs.py          # GLIMPSE_E2E_JOBS pods (default 40)
"""

import glob
import os
import secrets
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import node  # noqa: E402

DEADLINE_S = 30


def exit_code_for(i):
    if i % 7 == 3:
        return 1
    if i % 13 == 5:
        return 42
    return 0


def job_pod_specs(count, lines=100, stderr_every=10, namespaces=("e2e-jobs", "e2e-batch"),
                  pods_per_job=4, sandbox=True, prefix="job"):
    """run_pod arguments for `count` Job pods: pods_per_job pods per Job,
    pod names "<job>-<5 random chars>" as the Job controller makes them."""
    specs = []
    for i in range(count):
        job = f"{prefix}-{i // pods_per_job}"
        specs.append(dict(
            namespace=namespaces[i % len(namespaces)],
            name=f"{job}-{secrets.token_hex(3)[:5]}",
            job_name=job,
            containers=[node.ContainerSpec(name="main", lines=lines, stderr_every=stderr_every,
                                           exit_code=exit_code_for(i))],
            sandbox=sandbox,
            remove_after_ms=100,
        ))
    return specs


def run_jobs_and_check(n, g, count, deadline_s=DEADLINE_S, **spec_args):
    """Runs the Job pods, waits for glimpse to have emitted everything (up to
    deadline_s after the last pod), returns (pods, check, figures)."""
    t0 = time.monotonic()
    pods = n.run_pods(job_pod_specs(count, **spec_args))
    ran = time.monotonic() - t0
    check = node.wait_for_pods(g, pods, timeout=deadline_s, node_name=n.node_name)
    return pods, check, {"run_s": ran, "wait_s": check.waited_s}


def test_job_pods_every_line_once():
    count = int(os.environ.get("GLIMPSE_E2E_JOBS", "40"))
    with node.Node() as n:
        g = n.start_glimpse()
        pods, check, fig = run_jobs_and_check(n, g, count)
        if not check.ok:
            raise AssertionError(f"{count} Job pods:\n{check.report()}\nglimpse stderr ends:\n"
                                 f"{g.stderr_tail(10)}")
        g.check_clean_exit()
    return (f"{count} pods, {check.expected_lines} lines; pods ran in {fig['run_s']:.1f} s, "
            f"output complete {fig['wait_s']:.1f} s after the last")


def test_kubelet_https_bearer_token():
    with node.Node(kubelet_https=True) as n:
        g = n.start_glimpse()
        pods, check, _ = run_jobs_and_check(n, g, 4, prefix="tls")
        if not check.ok:
            raise AssertionError(f"over HTTPS with a bearer token:\n{check.report()}\n"
                                 f"kubelet: {n.kubelet.requests} requests, "
                                 f"{n.kubelet.unauthorized} unauthorized; glimpse stderr ends:\n"
                                 f"{g.stderr_tail(10)}")
        assert n.kubelet.unauthorized == 0, \
            f"{n.kubelet.unauthorized} kubelet requests without the right token"
        g.check_clean_exit()
    return f"{n.kubelet.answered_pods} PodLists served over TLS"


def test_container_running_before_the_agent():
    """A container that printed its lines before glimpse started is found by
    the start-up scan and read from the start of its log."""
    with node.Node() as n:
        result = {}

        def run():
            try:
                result["pod"] = n.run_pod(
                    "e2e-jobs", f"early-{secrets.token_hex(3)[:5]}", "early",
                    containers=[node.ContainerSpec(lines=20, stderr_every=5, exit_code=7,
                                                   sleep_ms=4000)])
            except BaseException as e:
                result["error"] = e

        worker = threading.Thread(target=run)
        worker.start()
        try:
            def printed():
                logs = glob.glob(os.path.join(n.pods_log_dir, "*", "main", "0.log"))
                return logs and open(logs[0], "rb").read().count(b"\n") >= 20
            node.wait_for(printed, 10, interval=0.02, what="the early container's 20 lines")
            g = n.start_glimpse()
        finally:
            worker.join()
        if "error" in result:
            raise result["error"]
        pod = result["pod"]
        check = node.wait_for_pods(g, [pod], timeout=15, node_name=n.node_name,
                                   container_events=("exit",))
        if not check.ok:
            raise AssertionError(f"container started before glimpse:\n{check.report()}\n"
                                 f"glimpse stderr ends:\n{g.stderr_tail(10)}")
        g.check_clean_exit()
    return f"start event {'emitted' if check.starts else 'not emitted'} for it"


if __name__ == "__main__":
    sys.exit(node.run_tests([
        test_job_pods_every_line_once,
        test_kubelet_https_bearer_token,
        test_container_running_before_the_agent,
    ]))
