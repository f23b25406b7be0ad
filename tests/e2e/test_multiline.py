"""End-to-end: multi-line events joined per pod annotation.

A local kubelet stand-in serves a PodList whose pods carry
`glimpse.io/multiline` (java, python, a start regex, an invalid regex) and
the real build/glimpse reads their CRI log files:

* one-shot (--exit-on-eof, no BPF): each trace comes out as one event with
  its lines joined by '\\n', the lines around it as events of their own; an
  invalid regex gives a warning naming the pod and lines one by one;
* killed while it holds a trace (root: the agent loads BPF): the held lines
  are read again at the next start and the trace still comes out whole,
  once, with the lines written while the agent was down.

    python3 tests/e2e/test_multiline.py
"""

import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import node  # noqa: E402

JAVA = ['Exception in thread "main" java.lang.IllegalStateException: boom',
        "\tat com.example.App.run(App.java:10)",
        "\tat com.example.App.main(App.java:5)",
        "Caused by: java.io.IOException: disk",
        "\t... 2 more"]
PYTHON = ["Traceback (most recent call last):",
          '  File "app.py", line 3, in <module>',
          "    main()",
          "ValueError: bad value"]


def pod(name, uid, spec):
    return {"metadata": {"name": name, "namespace": "ml", "uid": uid,
                         "annotations": {"glimpse.io/multiline": spec}},
            "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
            "status": {"phase": "Running"}}


class Kubelet:
    """GET /pods answers a fixed PodList, on 127.0.0.1."""

    def __init__(self, pods):
        body = json.dumps({"kind": "PodList", "apiVersion": "v1", "items": pods}).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200 if self.path == "/pods" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def cri(lines, stream="stdout"):
    return "".join(f"2026-11-22T10:00:{i // 1000:02d}.{i % 1000:03d}000000Z {stream} F {l}\n"
                   for i, l in enumerate(lines))


def log_dir(pods, name, uid):
    d = os.path.join(pods, f"ml_{name}_{uid}", "app")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, "0.log")


def bodies(out, uid):
    if not os.path.exists(out):
        return []
    with open(out, encoding="utf-8") as f:
        return [e["body"] for e in map(json.loads, f) if e.get("k8s.pod.uid") == uid]


def run_once(work, kubelet, extra=()):
    argv = [node.GLIMPSE_BIN, "--exit-on-eof", "--docker-root", "", "--pods-log-dir", os.path.join(work, "pods"),
            "--state-dir", os.path.join(work, "state"), "--output",
            "file:" + os.path.join(work, "out.json"), "--kubelet-url", kubelet.url,
            "--metadata-wait-ms", "5000", "--log-level", "info", *extra]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=60)
    bad = [l for l in p.stderr.splitlines() if "Sanitizer" in l or "runtime error:" in l]
    if p.returncode != 0 or bad:
        raise AssertionError(f"glimpse exited {p.returncode}; stderr:\n{p.stderr[-2000:]}")
    return p.stderr


def test_traces_joined_per_annotation():
    if not os.access(node.GLIMPSE_BIN, os.X_OK):
        raise node.Skip(f"glimpse is not built ({node.GLIMPSE_BIN} missing)")
    uids = {k: f"{i:08d}-0000-4000-8000-00000000000{i}" for i, k in
            enumerate(("java", "python", "regex", "bad"), 1)}
    kubelet = Kubelet([pod("java-app", uids["java"], "java"),
                       pod("py-app", uids["python"], "python"),
                       pod("rx-app", uids["regex"], r"^\[[0-9]{4}-"),
                       pod("bad-app", uids["bad"], "(unclosed")])
    work = tempfile.mkdtemp(prefix="glimpse-ml-")
    try:
        pods = os.path.join(work, "pods")
        with open(log_dir(pods, "java-app", uids["java"]), "w", encoding="utf-8") as f:
            f.write(cri(["INFO starting", *JAVA, "INFO after"]))
        with open(log_dir(pods, "py-app", uids["python"]), "w", encoding="utf-8") as f:
            f.write(cri(["starting", *PYTHON, "after"]))
        rx = ["[2026-11-22 10:00:00] first", "  detail a", "  detail b",
              "[2026-11-22 10:00:01] second"]
        with open(log_dir(pods, "rx-app", uids["regex"]), "w", encoding="utf-8") as f:
            f.write(cri(rx))
        with open(log_dir(pods, "bad-app", uids["bad"]), "w", encoding="utf-8") as f:
            f.write(cri(["one", "  two"]))
        stderr = run_once(work, kubelet)
        out = os.path.join(work, "out.json")
        want = {
            "java": ["INFO starting", "\n".join(JAVA), "INFO after"],
            "python": ["starting", "\n".join(PYTHON), "after"],
            "regex": ["\n".join(rx[:3]), rx[3]],
            "bad": ["one", "  two"],
        }
        for k, expected in want.items():
            got = bodies(out, uids[k])
            if got != expected:
                raise AssertionError(f"{k}: expected {expected!r}, got {got!r}")
        if "bad-app" not in stderr or "glimpse.io/multiline" not in stderr:
            raise AssertionError(f"no warning naming the pod and the annotation:\n{stderr}")
    finally:
        kubelet.close()
        shutil.rmtree(work, ignore_errors=True)
    return "java, python and a start regex joined; an invalid regex warned, lines one by one"


def test_trace_held_across_sigkill():
    if not os.access(node.GLIMPSE_BIN, os.X_OK):
        raise node.Skip(f"glimpse is not built ({node.GLIMPSE_BIN} missing)")
    if os.geteuid() != 0:
        raise node.Skip("not root (the agent loads BPF programs)")
    uid = "00000009-0000-4000-8000-000000000009"
    kubelet = Kubelet([pod("java-app", uid, "java")])
    work = tempfile.mkdtemp(prefix="glimpse-ml-")
    procs = []
    try:
        pods = os.path.join(work, "pods")
        path = log_dir(pods, "java-app", uid)
        out = os.path.join(work, "out.json")
        argv = [node.GLIMPSE_BIN, "--docker-root", "", "--pods-log-dir", pods, "--state-dir",
                os.path.join(work, "state"), "--output", f"file:{out}",
                "--kubelet-url", kubelet.url, "--checkpoint-interval-ms", "50",
                "--log-level", "info"]

        def start(n, flush_ms):
            err = open(os.path.join(work, f"stderr-{n}.log"), "wb")
            p = subprocess.Popen(argv + ["--multiline-flush-ms", str(flush_ms)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=err)
            err.close()
            procs.append(p)
            return p

        with open(path, "w", encoding="utf-8") as f:
            f.write(cri(["INFO before", *JAVA[:3]]))
        p = start(0, 30000)  # the trace stays held until the kill
        node.wait_for(lambda: bodies(out, uid) == ["INFO before"], 20, interval=0.05,
                      what="the line before the trace")
        time.sleep(0.5)  # positions saved while the trace is held
        p.send_signal(signal.SIGKILL)
        p.wait()
        with open(path, "a", encoding="utf-8") as f:
            f.write(cri(JAVA[3:] + ["INFO after"]).replace("T10:00:00", "T10:00:01"))
        p = start(1, 300)  # the last line goes out after 300 ms
        node.wait_for(lambda: "INFO after" in bodies(out, uid), 20, interval=0.05,
                      what="the line after the trace")
        p.send_signal(signal.SIGTERM)
        code = p.wait(timeout=20)
        got = bodies(out, uid)
        if got != ["INFO before", "\n".join(JAVA), "INFO after"]:
            raise AssertionError(f"expected the trace whole, once; got {got!r}")
        if code != 0:
            raise AssertionError(f"glimpse exited {code} on SIGTERM")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        kubelet.close()
        shutil.rmtree(work, ignore_errors=True)
    return "the trace held at the kill came out whole, once, after the restart"


def main():
    # the SIGKILL test needs root for BPF and says so itself
    return node.run_tests([test_traces_joined_per_annotation, test_trace_held_across_sigkill],
                          need_node=False)

if __name__ == "__main__":
    sys.exit(main())
