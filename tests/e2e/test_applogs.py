"""End-to-end: log files inside containers, named by the pod annotation
glimpse.io/logs.

Runs the real build/glimpse (with --kubelet-root-dir pointing at the node's
kubelet root dir) against real containers (runc + conmon) and the fake
kubelet (tests/e2e/node.py), whose pods carry `glimpse.io/logs` and, where a
volume is used, an emptyDir bind-mounted from
<kubelet root>/pods/<uid>/volumes/kubernetes.io~empty-dir/<name>. The
containers (joblet, JOBLET_FILE) write lines with a tab, double quotes, a
backslash and a UTF-8 character into a file. Each line of the file must come
out exactly once, as written, in order, as a "log" event with
"log.file.path" the path inside the container, no "log.iostream", and the
pod metadata its container's CRI lines get; the CRI lines still come out as
before.

* a Job pod writes 1,000 lines to an emptyDir and exits within milliseconds,
  the agent running since before the pod;
* a running container writes 1,000 lines into its own root filesystem (no
  volume): read through /proc/<pid>/root while it runs;
* a container plants symlinks on its emptyDir (a dir symlink to /etc,
  absolute and relative, file symlinks to /etc/passwd and to a real file of
  the volume): nothing of the host's /etc comes out, no symlinked file is
  read, the real file next to them is;
* a Job that wrote its file and exited before the agent started: its file
  on the emptyDir is read all the same (the pod is still listed).

    python3 tests/e2e/test_applogs.py
"""

import collections
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import node  # noqa: E402

ANNOTATION = "glimpse.io/logs"
NAMESPACE = "e2e-applogs"
WAIT_S = 10          # for every line after the pod ran
ESCAPE_WATCH_S = 3   # after the real file's lines, for anything from outside the volume
UP = "../" * 24      # more levels than any kubelet root dir has: a relative link to /


def unique(prefix):
    return f"{prefix}-{secrets.token_hex(3)[:5]}"


def start_agent(n, *extra):
    return n.start_glimpse(extra_args=["--kubelet-root-dir", n.kubelet_root, *extra])


def split_events(n, events):
    """(events of the CRI path: container events and log events of files
    under the pods log dir; every other log event)."""
    cri, other = [], []
    prefix = n.pods_log_dir + "/"
    for e in events:
        if e.get("kind") == "log" and not str(e.get("log.file.path", "")).startswith(prefix):
            other.append(e)
        else:
            cri.append(e)
    return cri, other


def describe_bodies(got, want):
    """Why the bodies of a file's events are not its lines, in order."""
    counts = collections.Counter(got)
    wanted = set(want)
    missing = [b for b in want if b not in counts]
    extra = [b for b in counts if b not in wanted]
    dups = sum(c - 1 for b, c in counts.items() if c > 1 and b in wanted)
    text = (f"{len(got)} events for {len(want)} lines written: {len(missing)} missing, "
            f"{dups} duplicated, {len(extra)} never written")
    if missing:
        text += f"; first missing {missing[0]!r}"
    if extra:
        text += f"; first never written {extra[0]!r}"
    if not missing and not extra and not dups:
        i = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
        text += f"; out of order from event {i}: {got[i]!r}, want {want[i]!r}"
    return text


def check_files(n, files, events):
    """Problems with the file events: files is [(pod, container, path)],
    path the file inside the container, holding container.expected_file.
    Every line once, in order, with log.file.path the path, no
    log.iostream, the pod's metadata (what the container's CRI lines carry
    under k8s.* and container.*, at least its names, uid and id); and no
    log event outside the CRI path from any other file."""
    cri, other = split_events(n, events)
    problems = []
    paths = {path for _, _, path in files}
    for pod, c, path in files:
        evs = [e for e in other if e.get("log.file.path") == path]
        bodies = [e.get("body") for e in evs]
        if bodies != c.expected_file:
            problems.append(f"{path} of {pod.name}/{c.name}: "
                            f"{describe_bodies(bodies, c.expected_file)}")
        want = {"k8s.node.name": n.node_name, "k8s.namespace.name": pod.namespace,
                "k8s.pod.name": pod.name, "k8s.pod.uid": pod.uid,
                "k8s.container.name": c.name, "container.id": c.id}
        if pod.job_name:
            want["k8s.job.name"] = pod.job_name
        sample = next((e for e in cri if e.get("kind") == "log" and
                       e.get("container.id") == c.id), None)
        for k, v in (sample or {}).items():
            if k.startswith(("k8s.", "container.")):
                want.setdefault(k, v)
        wrong = collections.Counter()
        first = {}
        for e in evs:
            bad = [k for k, v in want.items() if e.get(k) != v]
            if "log.iostream" in e:
                bad.append("log.iostream (present)")
            if not isinstance(e.get("time"), str) or not e["time"]:
                bad.append("time")
            for k in bad:
                wrong[k] += 1
                first.setdefault(k, e)
        for k, count in wrong.items():
            e = first[k]
            got = e.get(k.split(" ")[0])
            problems.append(f"{path}: {count} events with a wrong {k}: {got!r}, want "
                            f"{want.get(k, 'none')!r} (body {str(e.get('body'))[:60]!r})")
    strays = collections.Counter(str(e.get("log.file.path")) for e in other
                                 if e.get("log.file.path") not in paths)
    for path, count in strays.items():
        body = next(e.get("body") for e in other if str(e.get("log.file.path")) == path)
        problems.append(f"{count} log events from {path}, which no test file is "
                        f"(first body {str(body)[:80]!r})")
    return problems


def wait_and_check(g, n, pods, files, container_events, timeout=WAIT_S, grace=1.0):
    """Waits until every line of `files` and every CRI line and container
    event of `pods` is out (or timeout), then `grace` seconds more for
    duplicates. Returns the problems ([] when none) and the wait in s."""
    start = time.monotonic()
    while True:
        events = g.events()
        cri, other = split_events(n, events)
        check = node.check_pods(pods, cri, node_name=n.node_name,
                                container_events=container_events)
        bodies = collections.Counter(e.get("body") for e in other)
        complete = check.complete and all(
            all(b in bodies for b in c.expected_file) for _, c, _ in files)
        if complete or time.monotonic() - start > timeout or not g.running():
            break
        time.sleep(0.05)
    waited = time.monotonic() - start
    if complete and grace:
        time.sleep(grace)
    events = g.events()
    cri, _ = split_events(n, events)
    check = node.check_pods(pods, cri, node_name=n.node_name, container_events=container_events)
    problems = check_files(n, files, events)
    if not check.ok:
        problems.append("CRI lines and container events: " + check.report())
    if g.output.bad:
        problems.append(f"{len(g.output.bad)} output lines are not JSON objects, first "
                        f"{g.output.bad[0][:200]!r}")
    if not g.running():
        problems.append(f"glimpse exited ({g.proc.returncode})")
    return problems, waited


def fail(what, problems, g):
    raise AssertionError(f"{what}:\n  " + "\n  ".join(problems) +
                         f"\nglimpse stderr ends:\n{g.stderr_tail(15)}")


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().split("\n")[:-1]
    except OSError:
        return None


def host_etc_lines():
    """{line: file name} of every non-blank UTF-8 line of the host's
    regular files directly in /etc."""
    lines = {}
    for entry in os.scandir("/etc"):
        try:
            if not entry.is_file() or entry.stat().st_size > 1 << 20:
                continue
            with open(entry.path, "rb") as f:
                data = f.read(1 << 20)
        except OSError:
            continue
        for raw in data.split(b"\n"):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if line.strip():
                lines.setdefault(line, entry.name)
    return lines


def app_log_pod(n, prefix, job, **pod_args):
    """run_pod for a Job container printing 10 lines and writing 1,000 to
    /var/log/app/app.log on the emptyDir app-logs."""
    spec = node.ContainerSpec(name="main", lines=10, stderr_every=5,
                              file="/var/log/app/app.log", file_lines=1000,
                              volume_mounts=[{"name": "app-logs", "mountPath": "/var/log/app"}])
    return n.run_pod(NAMESPACE, unique(prefix), job, containers=[spec], volumes=["app-logs"],
                     annotations={ANNOTATION: "/var/log/app/*.log"}, **pod_args)


def check_host_file(path, c, what):
    lines = read_lines(path)
    if lines != c.expected_file:
        raise node.HarnessError(f"{what}: {path} holds {len(lines or [])} lines, not the "
                                f"{len(c.expected_file)} joblet writes")


def test_job_file_on_empty_dir():
    with node.Node() as n:
        g = start_agent(n)
        pod = app_log_pod(n, "applog", "applog", remove_after_ms=None)
        c = pod.containers[0]
        if c.exit_code != 0:
            raise node.HarnessError(f"joblet exited {c.exit_code}; its CRI log ends: "
                                    f"{(read_lines(c.log_path) or [])[-3:]}")
        check_host_file(os.path.join(n.emptydir_path(pod.uid, "app-logs"), "app.log"), c,
                        "the emptyDir")
        problems, waited = wait_and_check(g, n, [pod], [(pod, c, "/var/log/app/app.log")],
                                          container_events=("start", "exit"))
        if problems:
            fail("a Job's file on an emptyDir", problems, g)
        n.remove_pod(pod)
        g.check_clean_exit()
    return f"1000 lines from the emptyDir {waited:.2f} s after the container's exit"


def test_file_in_container_root():
    with node.Node() as n:
        g = start_agent(n)
        spec = node.ContainerSpec(name="app", lines=5, sleep_ms=20000,
                                  file="/var/log/own/app.log", file_lines=1000,
                                  writable_root=True)
        pod = n.start_pod(NAMESPACE, unique("ownroot"), containers=[spec],
                          annotations={ANNOTATION: "/var/log/own/*.log"})
        c = pod.containers[0]
        path = f"/proc/{c.pid}/root/var/log/own/app.log"
        node.wait_for(lambda: read_lines(path) == c.expected_file, 5, interval=0.01,
                      what=f"joblet to write {path}")
        problems, waited = wait_and_check(g, n, [pod], [(pod, c, "/var/log/own/app.log")],
                                          container_events=("start",))
        if not node._process_alive(c.pid):
            problems.append("the container was no longer running when the lines were checked")
        if problems:
            fail("a file in a running container's own root", problems, g)
        n.remove_pod(pod)
        g.check_clean_exit()
    return f"1000 lines from the container's root in {waited:.2f} s"


def test_symlinks_do_not_leave_the_volume():
    host = host_etc_lines()
    passwd = set(read_lines("/etc/passwd") or []) - {""}
    links = [("/etc", "/data/out"),                         # dir, absolute
             (UP + "etc", "/data/up"),                      # dir, relative, climbing out
             ("/etc/passwd", "/data/logs/passwd.log"),      # file, absolute
             (UP + "etc/passwd", "/data/logs/up-passwd.log"),  # file, relative
             ("ok.log", "/data/logs/alias.log")]            # file, to a real file beside it
    with node.Node() as n:
        g = start_agent(n, "--rescan-interval-s", "1")
        spec = node.ContainerSpec(name="main", lines=5, sleep_ms=20000,
                                  file="/data/logs/ok.log", file_lines=200, symlinks=links,
                                  volume_mounts=[{"name": "data", "mountPath": "/data"}])
        pod = n.start_pod(NAMESPACE, unique("escape"), containers=[spec], volumes=["data"],
                          annotations={ANNOTATION: "/data/out/*, /data/up/*, /data/logs/*.log"})
        c = pod.containers[0]
        vol = n.emptydir_path(pod.uid, "data")
        node.wait_for(lambda: read_lines(os.path.join(vol, "logs", "ok.log")) == c.expected_file,
                      5, interval=0.01, what="joblet to write ok.log")
        for target, link in links:
            on_host = os.path.join(vol, os.path.relpath(link, "/data"))
            if not os.path.islink(on_host) or os.readlink(on_host) != target:
                raise node.HarnessError(f"{on_host} is not the symlink to {target} joblet makes")
        problems, _ = wait_and_check(g, n, [pod], [(pod, c, "/data/logs/ok.log")],
                                     container_events=("start",), grace=ESCAPE_WATCH_S)
        events = g.events()
        from_etc = collections.Counter(host[e["body"]] for e in events
                                       if isinstance(e.get("body"), str) and e["body"] in host)
        if from_etc:
            problems.insert(0, "event bodies that are lines of the host's /etc: " + ", ".join(
                f"{count} of /etc/{name}" for name, count in from_etc.most_common(10)))
        leaked = [e for e in events if e.get("body") in passwd]
        if leaked:
            problems.insert(0, f"{len(leaked)} events carry lines of the host's /etc/passwd, "
                               f"first with log.file.path {leaked[0].get('log.file.path')!r}")
        if not node._process_alive(c.pid):
            problems.append("the container was no longer running at the end of the watch")
        if problems:
            fail("symlinks planted on an emptyDir", problems, g)
        n.remove_pod(pod)
        g.check_clean_exit()
    return (f"{len(links)} symlinks ignored for {ESCAPE_WATCH_S} s after the real file's "
            f"200 lines; {len(host)} host /etc lines checked")


def test_file_of_job_done_before_the_agent():
    with node.Node() as n:
        pod = app_log_pod(n, "applog-early", "applog-early", remove_after_ms=None)
        c = pod.containers[0]
        if node._process_alive(c.pid):
            raise node.HarnessError("the container still runs after its exit was seen")
        check_host_file(os.path.join(n.emptydir_path(pod.uid, "app-logs"), "app.log"), c,
                        "the emptyDir")
        if not n.kubelet.has_pod(pod.uid):
            raise node.HarnessError("the pod is no longer listed by the kubelet")
        g = start_agent(n)
        problems, waited = wait_and_check(g, n, [pod], [(pod, c, "/var/log/app/app.log")],
                                          container_events=())
        if problems:
            fail("the file of a Job that exited before the agent started", problems, g)
        n.remove_pod(pod)
        g.check_clean_exit()
    return f"1000 lines {waited:.2f} s after the agent was ready"


if __name__ == "__main__":
    sys.exit(node.run_tests([
        test_job_file_on_empty_dir,
        test_file_in_container_root,
        test_symlinks_do_not_leave_the_volume,
        test_file_of_job_done_before_the_agent,
    ]))
