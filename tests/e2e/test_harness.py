"""Checks the end-to-end harness itself (tests/e2e/node.py), without glimpse.

Runs real pods with runc and conmon and checks what a node would have: CRI
log lines exactly as joblet printed them, the exit codes, CRI-O's annotations
in runc's state.json, the fake kubelet's PodList and its modes; and that a
closed Node leaves nothing behind (containers, conmon processes, cgroup
directories, files), also after an exception.

    python3 tests/e2e/test_harness.py
"""

import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import node  # noqa: E402

CRI_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d) "
                      r"(stdout|stderr) ([PF]) (.*)$")


def parse_cri_file(path):
    """(stream, message) per complete message of a CRI log file, P pieces
    joined per stream; also the raw pieces."""
    joined, pieces, pending = [], [], {"stdout": "", "stderr": ""}
    with open(path, encoding="utf-8") as f:
        for line in f.read().split("\n")[:-1]:
            m = CRI_LINE.match(line)
            assert m, f"not a CRI line: {line[:120]!r}"
            _, stream, flag, msg = m.groups()
            pieces.append((stream, flag, msg))
            pending[stream] += msg
            if flag == "F":
                joined.append((stream, pending[stream]))
                pending[stream] = ""
    assert not any(pending.values()), f"P pieces left without their F line: {pending}"
    return joined, pieces


def assert_no_leftovers(n, pods):
    left = n.leftovers()
    assert not left, f"left behind: {left}"
    for pod in pods:
        rel = node.Node.pod_cgroup_path(pod)
        for mount in n.cgroup_mounts:
            path = os.path.join(mount, rel)
            assert not os.path.exists(path), f"cgroup left: {path}"
    for pod in pods:
        for c in pod.containers + ([pod.sandbox] if pod.sandbox else []):
            assert not node._is_conmon_of(c.conmon_pid, c.id), f"conmon {c.conmon_pid} alive"
            assert not c.pid or not node._process_alive(c.pid) or \
                c.id not in " ".join(node._process_cmdline(c.pid)), f"container {c.id} alive"


def test_pod_logs_and_annotations():
    seen = {}

    def at_exit(pod):
        for c in pod.containers:
            seen[c.name] = parse_cri_file(c.log_path)
            with open(os.path.join(n.runc_root, c.id, "state.json"), encoding="utf-8") as f:
                labels = json.load(f)["config"]["labels"]
            seen[c.name + "/labels"] = dict(l.split("=", 1) for l in labels)
        sb_labels = json.load(open(os.path.join(n.runc_root, pod.sandbox.id, "state.json"),
                                   encoding="utf-8"))["config"]["labels"]
        seen["POD/labels"] = dict(l.split("=", 1) for l in sb_labels)
        assert node._process_alive(pod.sandbox.pid), "sandbox not running while the pod is"
        rel = node.Node.pod_cgroup_path(pod)
        for c in pod.containers + [pod.sandbox]:
            for mount in n.cgroup_mounts:
                leaf = os.path.join(mount, rel, c.id)
                assert os.path.isdir(leaf), f"no cgroup {leaf}"
        # Containers share the sandbox's network namespace, as in a pod.
        assert os.readlink(f"/proc/{pod.sandbox.pid}/ns/net") != os.readlink("/proc/self/ns/net")

    with node.Node() as n:
        pod = n.run_pod("e2e", "harness-logs-1", "harness-logs",
                        containers=[node.ContainerSpec(name="main", lines=50, stderr_every=7,
                                                       exit_code=3),
                                    node.ContainerSpec(name="side", lines=3)],
                        on_exit=at_exit)
        assert not os.path.exists(pod.log_dir), "log dir not removed after the pod"
        assert not n.kubelet.has_pod(pod.uid), "pod still in the kubelet"
    for c in pod.containers:
        joined, _ = seen[c.name]
        assert sorted(joined) == sorted(c.expected), \
            f"{c.name}: CRI lines differ: got {joined[:3]}…, want {c.expected[:3]}…"
        for stream in ("stdout", "stderr"):
            got = [b for s, b in joined if s == stream]
            want = [b for s, b in c.expected if s == stream]
            assert got == want, f"{c.name}: {stream} out of order"
        assert c.exit_code == c.spec.exit_code, f"{c.name}: exit {c.exit_code}"
        labels = seen[c.name + "/labels"]
        for key, want in (("io.kubernetes.container.name", c.name),
                          ("io.kubernetes.pod.name", pod.name),
                          ("io.kubernetes.pod.namespace", pod.namespace),
                          ("io.kubernetes.pod.uid", pod.uid),
                          ("io.kubernetes.cri-o.ContainerType", "container"),
                          ("io.kubernetes.cri-o.LogPath", c.log_path),
                          ("io.kubernetes.cri-o.SandboxID", pod.sandbox.id)):
            assert labels.get(key) == want, f"state.json label {key}={labels.get(key)!r}"
    assert seen["POD/labels"]["io.kubernetes.cri-o.ContainerType"] == "sandbox"
    assert seen["POD/labels"]["io.kubernetes.container.name"] == "POD"
    assert_no_leftovers(n, [pod])


def test_long_lines_come_as_partials():
    seen = {}

    def at_exit(pod):
        seen["log"] = parse_cri_file(pod.containers[0].log_path)

    with node.Node() as n:
        pod = n.run_pod("e2e", "harness-long-1", None, sandbox=False,
                        containers=[node.ContainerSpec(lines=3, line_bytes=20000)],
                        on_exit=at_exit)
    joined, pieces = seen["log"]
    assert joined == pod.containers[0].expected, "joined P/F lines differ from what was printed"
    partials = [p for p in pieces if p[1] == "P"]
    assert partials, "conmon wrote no P line for a 20000-byte line"
    assert_no_leftovers(n, [pod])
    return f"conmon cut 20000-byte lines into pieces of {sorted({len(p[2]) for p in pieces})}"


def test_many_pods_in_parallel_leave_nothing():
    with node.Node(parallelism=8) as n:
        t0 = time.monotonic()
        pods = n.run_pods([dict(namespace="e2e", name=f"harness-many-{i}", job_name="harness-many",
                                containers=[node.ContainerSpec(lines=10, exit_code=i % 3)],
                                sandbox=i % 2 == 0)
                           for i in range(16)])
        took = time.monotonic() - t0
        listed = subprocess.run(["runc", "--root", n.runc_root, "list", "-q"],
                                capture_output=True, text=True, check=True).stdout.split()
        assert listed == [], f"containers still in runc's list: {listed}"
        assert os.listdir(n.pods_log_dir) == [], "pod log dirs left"
        assert n.kubelet.podlist()["items"] == [], "pods left in the kubelet"
    for pod in pods:
        c = pod.containers[0]
        assert c.exit_code == c.spec.exit_code
        for key in ("create", "created", "start", "started", "exited", "deleted"):
            assert key in c.times, f"no {key} time for {pod.name}"
    assert_no_leftovers(n, pods)
    return f"16 pods in {took:.1f} s"


def test_cleanup_after_exception():
    pods = []
    try:
        with node.Node() as n:
            pods.append(n.run_pod("e2e", "harness-abandoned", "harness",
                                  containers=[node.ContainerSpec(lines=1, sleep_ms=-1)],
                                  remove_after_ms=None, exit_timeout=0.3))
    except node.HarnessError:
        pass  # the container never exits: run_pod gives up and undoes the pod
    else:
        raise AssertionError("run_pod did not time out on a container that never exits")
    assert_no_leftovers(n, pods)

    class Boom(Exception):
        pass
    try:
        with node.Node() as n:
            pods.append(n.run_pod("e2e", "harness-kept", "harness",
                                  containers=[node.ContainerSpec(lines=1)],
                                  remove_after_ms=None))
            assert os.path.isdir(pods[-1].log_dir)
            raise Boom()
    except Boom:
        pass
    assert_no_leftovers(n, pods)


def _read_lines(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert text.endswith("\n"), f"{path} does not end with a newline"
    return text[:-1].split("\n")


def test_volumes_and_file_logs():
    """emptyDir volumes bind-mounted where the kubelet keeps them, a log file
    written into one, one in a container's own writable root, symlinks
    planted by a container, and the pod objects the kubelet lists."""
    seen = {}
    with node.Node() as n:
        assert os.path.isdir(os.path.join(n.kubelet_root, "pods"))

        def at_exit(pod):
            c = pod.containers[0]
            host = n.emptydir_path(pod.uid, "app-logs")
            seen["dir"] = host
            seen["lines"] = _read_lines(os.path.join(host, "app.log"))
            seen["cri"] = parse_cri_file(c.log_path)[0]
            seen["link"] = os.readlink(os.path.join(host, "out"))
            seen["sub"] = _read_lines(os.path.join(n.emptydir_path(pod.uid, "data"), "sub",
                                                   "x", "side.log"))
            seen["item"] = [i for i in n.kubelet.podlist()["items"]
                            if i["metadata"]["uid"] == pod.uid][0]
            with open(os.path.join(n.runc_root, pod.sandbox.id, "state.json"),
                      encoding="utf-8") as f:
                labels = dict(l.split("=", 1) for l in json.load(f)["config"]["labels"])
            seen["sb_ann"] = json.loads(labels["io.kubernetes.cri-o.Annotations"])

        pod = n.run_pod(
            "e2e", "harness-vol-1", "harness-vol",
            containers=[
                node.ContainerSpec(name="main", lines=3, file="/var/log/app/app.log",
                                   file_lines=1000, line_bytes=60,
                                   symlinks=[("/etc", "/var/log/app/out")],
                                   volume_mounts=[{"name": "app-logs",
                                                   "mountPath": "/var/log/app"}]),
                node.ContainerSpec(name="side", lines=0, file="/x/side.log", file_lines=2,
                                   volume_mounts=[{"name": "data", "mountPath": "/x",
                                                   "subPath": "sub/x"}])],
            volumes=["app-logs", {"name": "data", "emptyDir": {"medium": ""}}],
            annotations={"glimpse.io/logs": "/var/log/app/*.log"},
            on_exit=at_exit, remove_after_ms=None)
        c = pod.containers[0]
        assert seen["lines"] == c.expected_file, \
            f"app.log: {len(seen['lines'])} lines, first {seen['lines'][:1]!r}, want " \
            f"{c.expected_file[:1]!r}"
        want = 'harness-vol-1 file line 1\t"quoted" back\\slash caf\u00e9'
        assert len(c.expected_file) == 1000 and c.expected_file[1] == want + "." * 9 and \
            len(c.expected_file[1].encode()) == 60, repr(c.expected_file[1])
        assert seen["cri"] == c.expected, "the printed lines changed"
        assert seen["link"] == "/etc", f"symlink: {seen['link']!r}"
        assert seen["sub"] == pod.containers[1].expected_file
        assert all(x.exit_code == 0 for x in pod.containers), \
            [x.exit_code for x in pod.containers]
        item = seen["item"]
        assert item["metadata"]["annotations"]["glimpse.io/logs"] == "/var/log/app/*.log"
        assert seen["sb_ann"].get("glimpse.io/logs") == "/var/log/app/*.log", seen["sb_ann"]
        vols = item["spec"]["volumes"]
        assert vols[0] == {"name": "app-logs", "emptyDir": {}}, vols
        assert vols[1] == {"name": "data", "emptyDir": {"medium": ""}}, vols
        assert vols[2]["name"].startswith("kube-api-access-") and "projected" in vols[2]
        main, side = item["spec"]["containers"]
        assert main["volumeMounts"][0] == {"name": "app-logs", "mountPath": "/var/log/app"}
        assert main["volumeMounts"][1]["mountPath"] == node.SERVICE_ACCOUNT_MOUNT
        assert {"name": "JOBLET_FILE", "value": "/var/log/app/app.log"} in main["env"]
        assert side["volumeMounts"][0]["subPath"] == "sub/x"
        n.remove_pod(pod)
        assert not os.path.exists(os.path.join(n.kubelet_root, "pods", pod.uid)), \
            "volumes left after the pod was removed"
        assert os.path.exists("/etc/passwd"), "removing the volume followed the symlink"

        # A file in the container's own root, read through /proc/<pid>/root
        # while it runs.
        own = n.start_pod("e2e", "harness-own-1", containers=[
            node.ContainerSpec(lines=1, sleep_ms=20000, file="/var/log/own/app.log",
                               file_lines=1000, writable_root=True)])
        c = own.containers[0]
        path = f"/proc/{c.pid}/root/var/log/own/app.log"
        node.wait_for(lambda: os.path.exists(path) and
                      open(path, "rb").read().count(b"\n") == 1000, 5, interval=0.01,
                      what="the file in the container's root")
        assert _read_lines(path) == c.expected_file
        assert node._process_alive(c.pid)
        assert c.rootfs.startswith(n.workdir + "/") and c.rootfs != n.rootfs
        assert not os.path.exists(os.path.join(n.rootfs, "var", "log", "own")), \
            "the shared root was written"
        # Plain pods list no volumes, mounts or env, as before.
        item = [i for i in n.kubelet.podlist()["items"] if i["metadata"]["uid"] == own.uid][0]
        assert "volumes" not in item["spec"] and "volumeMounts" not in item["spec"][
            "containers"][0]
        t0 = time.monotonic()
        n.remove_pod(own)
        assert time.monotonic() - t0 < 10, "removing a running pod took its whole sleep"
        assert not node._process_alive(c.pid) or "joblet" not in " ".join(
            node._process_cmdline(c.pid)), "container still running after remove_pod"

        # A pod still running when the node closes.
        left = n.start_pod("e2e", "harness-vol-left", containers=[
            node.ContainerSpec(lines=0, sleep_ms=-1, file="/d/f.log", file_lines=1,
                               volume_mounts=[{"name": "d", "mountPath": "/d"}])],
            volumes=["d"])
        left_file = os.path.join(n.emptydir_path(left.uid, "d"), "f.log")
        node.wait_for(lambda: os.path.isfile(left_file), 5, what="f.log in the volume")
    assert_no_leftovers(n, [pod, own, left])


def _get(url, token=None, cafile=None, timeout=5):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    ctx = ssl.create_default_context(cafile=cafile) if cafile else None
    with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:
        return resp.status, resp.read()


def test_kubelet_modes():
    with node.Node(kubelet_mode="down") as n:
        k = n.kubelet
        try:
            _get(k.url + "/pods")
            raise AssertionError("kubelet answered while down")
        except urllib.error.URLError as e:
            assert isinstance(e.reason, ConnectionRefusedError), f"down: {e.reason!r}"
        k.set_mode("normal")
        pod_seen = {}

        def at_exit(pod):
            status, body = _get(k.url + "/pods")
            pod_seen["list"] = json.loads(body)
        pod = n.run_pod("e2e", "harness-kubelet-1", "harness-kubelet",
                        containers=[node.ContainerSpec(lines=1, exit_code=2)], on_exit=at_exit)
        podlist = pod_seen["list"]
        assert podlist["kind"] == "PodList" and podlist["apiVersion"] == "v1"
        (item,) = [i for i in podlist["items"] if i["metadata"]["uid"] == pod.uid]
        meta = item["metadata"]
        assert meta["labels"]["batch.kubernetes.io/job-name"] == "harness-kubelet"
        assert meta["labels"]["job-name"] == "harness-kubelet"
        assert meta["ownerReferences"][0]["kind"] == "Job"
        assert item["spec"]["nodeName"] == "test-node"
        st = item["status"]["containerStatuses"][0]
        assert st["containerID"] == f"cri-o://{pod.containers[0].id}"
        assert st["state"]["terminated"]["exitCode"] == 2
        assert item["status"]["phase"] == "Failed"
        assert item["status"]["qosClass"] == "BestEffort"

        k.set_mode("slow", delay=0.5)
        t0 = time.monotonic()
        status, _ = _get(k.url + "/pods")
        assert status == 200 and time.monotonic() - t0 >= 0.5, "slow mode answered at once"
        k.set_mode("invalid")
        status, body = _get(k.url + "/pods")
        try:
            json.loads(body)
            raise AssertionError("invalid mode sent valid JSON")
        except ValueError:
            pass
        k.set_mode("error")
        try:
            _get(k.url + "/pods")
            raise AssertionError("error mode did not answer 500")
        except urllib.error.HTTPError as e:
            assert e.code == 500
        k.set_mode("down")
        k.set_mode("normal")
        status, _ = _get(k.url + "/pods")
        assert status == 200, "kubelet did not come back on the same port"
        # The refused connection never reached the server: 5 requests.
        assert k.requests == 5, f"counted {k.requests} requests, made 5"
        assert k.by_status == {200: 4, 500: 1}, f"answers counted: {k.by_status}"


def test_kubelet_https_token():
    with node.Node(kubelet_https=True) as n:
        k = n.kubelet
        assert k.url.startswith("https://127.0.0.1:")
        try:
            _get(k.url + "/pods", cafile=k.ca_file)
            raise AssertionError("answered without a token")
        except urllib.error.HTTPError as e:
            assert e.code == 401
        try:
            _get(k.url + "/pods", token="wrong", cafile=k.ca_file)
            raise AssertionError("answered with a wrong token")
        except urllib.error.HTTPError as e:
            assert e.code == 401
        with open(k.token_file, encoding="utf-8") as f:
            status, body = _get(k.url + "/pods", token=f.read().strip(), cafile=k.ca_file)
        assert status == 200 and json.loads(body)["kind"] == "PodList"
        assert k.unauthorized == 2


def test_output_reader_takes_whole_lines():
    with node.Node() as n:
        path = os.path.join(n.workdir, "out.ndjson")
        r = node.OutputReader(path)
        assert r.poll() == []
        with open(path, "wb") as f:
            f.write(b'{"a":1}\n{"b":')
            f.flush()
            assert r.poll() == [{"a": 1}]
            f.write(b'2}\nnot json\n{"c":"\\u00ff"}\n')
            f.flush()
            assert r.poll() == [{"b": 2}, {"c": "\u00ff"}]
            assert r.bad == [b"not json"]


if __name__ == "__main__":
    sys.exit(node.run_tests([
        test_pod_logs_and_annotations,
        test_long_lines_come_as_partials,
        test_many_pods_in_parallel_leave_nothing,
        test_cleanup_after_exception,
        test_volumes_and_file_logs,
        test_kubelet_modes,
        test_kubelet_https_token,
        test_output_reader_takes_whole_lines,
    ], need_glimpse=False))
