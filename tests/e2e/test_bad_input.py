"""End-to-end: bad input gets a clear message and loses nothing else.

Runs the real build/glimpse (tests/e2e/node.py plays the node):

* the kubelet down at start: lines flow without kubelet metadata (the log
  path still names namespace, pod, uid and container) and a warning names the
  kubelet URL; once the kubelet is back, later pods are enriched;
* the kubelet slow (5 s): lines still flow within ~3 s of the exit;
* the kubelet answering invalid JSON, then HTTP 500: warnings, lines flow;
* a CRI log file with bad lines written straight into a pod log dir: a line
  with missing fields comes out raw (no log.iostream) with a warning, a
  non-UTF-8 byte comes out escaped (\\u00XX) with its value recoverable, a line
  over max_line_size comes out in pieces whose concatenation is the line,
  P,P,F pieces come out joined as one event;
* a pods log dir that does not exist, or is a regular file: an error line
  naming the path.

    python3 tests/e2e/test_bad_input.py
"""

import json
import os
import secrets
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import node  # noqa: E402


def job_pod(name, job, lines=30, **kw):
    return dict(namespace="e2e-bad", name=f"{name}-{secrets.token_hex(3)[:5]}", job_name=job,
                containers=[node.ContainerSpec(lines=lines, stderr_every=4)], **kw)


def require_lines(g, pods, timeout, metadata, what):
    check = node.wait_for_pods(g, pods, timeout=timeout, metadata=metadata)
    if not check.ok:
        raise AssertionError(f"{what}:\n{check.report()}\nglimpse stderr ends:\n"
                             f"{g.stderr_tail(10)}")
    return check


def lines_of(g, pod):
    return [e for e in g.events() if e.get("kind") == "log" and e.get("k8s.pod.uid") == pod.uid]


def test_kubelet_down_then_back():
    with node.Node(kubelet_mode="down") as n:
        url = n.kubelet.url
        g = n.start_glimpse()
        early = n.run_pod(**job_pod("down", "down-job"))
        require_lines(g, [early], 20, metadata=False, what="kubelet down: lines did not flow")
        with_job = [e for e in lines_of(g, early) if "k8s.job.name" in e]
        assert not with_job, f"job name without a kubelet? {with_job[0]}"
        g.wait_log(lambda e: e.get("level") in ("warn", "error") and url in json.dumps(e), 10,
                   f"a warning naming the kubelet URL {url}")

        n.kubelet.set_mode("normal")
        later = n.run_pod(**job_pod("back", "back-job", kubelet_keep_ms=5000))
        check = node.wait_for_pods(g, [later], timeout=20)
        if not check.ok:
            raise AssertionError(f"kubelet back: the later pod's lines are not all there with "
                                 f"its metadata:\n{check.report()}\nkubelet answered "
                                 f"{n.kubelet.answered_pods} PodLists; glimpse stderr ends:\n"
                                 f"{g.stderr_tail(10)}")
        g.check_clean_exit()


def test_kubelet_slow():
    delay = 5.0
    with node.Node(kubelet_mode="slow", kubelet_delay=delay) as n:
        g = n.start_glimpse()
        pod = n.run_pod(**job_pod("slow", "slow-job"))
        exited = pod.times["exited"]

        def complete():
            return node.check_pods([pod], g.events(), metadata=False).complete
        try:
            node.wait_for(complete, 10, interval=0.02, what="the lines")
        except node.HarnessError:
            pass
        took = (time.time_ns() - exited) / 1e9
        check = node.check_pods([pod], g.events(), metadata=False)
        if not check.ok:
            raise AssertionError(f"kubelet slow ({delay:.0f} s): after {took:.1f} s:\n"
                                 f"{check.report()}\nglimpse stderr ends:\n{g.stderr_tail(10)}")
        assert took <= 3.0, (f"kubelet slow ({delay:.0f} s): the lines took {took:.1f} s after "
                             f"the exit (want <= 3 s)")
        assert n.kubelet.requests > 0, "glimpse never asked the kubelet"
        g.check_clean_exit()
    return f"all lines {took:.2f} s after the exit"


def test_kubelet_invalid_json_then_500():
    with node.Node(kubelet_mode="invalid") as n:
        g = n.start_glimpse()
        pod = n.run_pod(**job_pod("invalid", "invalid-job"))
        require_lines(g, [pod], 20, metadata=False, what="kubelet invalid JSON: lines")
        assert n.kubelet.requests > 0, "glimpse never asked the kubelet"
        g.wait_log(lambda e: e.get("level") in ("warn", "error") and
                   ("kubelet" in json.dumps(e).lower() or n.kubelet.url in json.dumps(e)), 10,
                   "a warning about the kubelet's invalid answer")

        n.kubelet.set_mode("error")
        before = n.kubelet.requests
        pod = n.run_pod(**job_pod("err500", "err500-job"))
        require_lines(g, [pod], 20, metadata=False, what="kubelet HTTP 500: lines")
        if n.kubelet.requests > before:
            g.wait_log(lambda e: e.get("level") in ("warn", "error") and "500" in json.dumps(e),
                       10, "a warning naming HTTP 500")
        g.check_clean_exit()


T = b"2026-11-22T04:22:33.896609438+00:00"
MAX_LINE = 1024


def long_message(size):
    """A deterministic message of `size` bytes, numbered so that a lost or
    misplaced piece shows."""
    out, i = b"", 0
    while len(out) < size:
        out += b"<%05d>" % i
        i += 1
    return out[:size]


def test_bad_cri_lines():
    long_msg = long_message(3000)
    with node.Node() as n:
        g = n.start_glimpse(config={"max_line_size": MAX_LINE})
        uid = str(uuid.uuid4())
        ns, name, container = "e2e-bad", "written-by-hand", "main"
        n.kubelet.add_pod(node.make_pod_object(ns, name, uid, None, [node.ContainerSpec()],
                                               n.node_name, "besteffort"))
        log_dir = os.path.join(n.pods_log_dir, f"{ns}_{name}_{uid}", container)
        os.makedirs(log_dir)
        missing_fields = T + b" stdout"
        lines = [
            T + b" stdout F first good line",
            missing_fields,
            T + b" stdout F bad \xff byte",
            T + b" stdout F " + long_msg,
            T + b" stdout P part one, ",
            T + b" stdout P part two, ",
            T + b" stdout F part three",
            T + b" stderr F last good line",
        ]
        path = os.path.join(log_dir, "0.log")
        with open(path, "wb") as f:
            f.write(b"\n".join(lines) + b"\n")

        def last_line_seen():
            return any(e.get("body") == "last good line" for e in g.events()
                       if e.get("k8s.pod.uid") == uid)
        try:
            node.wait_for(last_line_seen, 20, interval=0.05, what="the file's last line")
        except node.HarnessError:
            got = [e.get("body", "")[:60] for e in g.events() if e.get("k8s.pod.uid") == uid]
            raise AssertionError(f"the hand-written CRI file {path} was not read to its end in "
                                 f"20 s; its events so far: {got}\nglimpse stderr ends:\n"
                                 f"{g.stderr_tail(10)}") from None
        time.sleep(0.5)
        events, raws = [], []
        for e, raw in zip(g.output.events, g.output.raw):
            if e.get("k8s.pod.uid") == uid and e.get("kind") == "log":
                events.append(e)
                raws.append(raw)
        bodies = [e.get("body") for e in events]
        problems = []

        def expect(cond, msg):
            if not cond:
                problems.append(msg)

        for e in events:
            for key, want in (("k8s.namespace.name", ns), ("k8s.pod.name", name),
                              ("k8s.pod.uid", uid), ("k8s.container.name", container)):
                expect(e.get(key) == want, f"{key}={e.get(key)!r} in {json.dumps(e)[:160]}")
        expect(bodies.count("first good line") == 1, "'first good line' not exactly once")
        expect(bodies.count("last good line") == 1, "'last good line' not exactly once")

        raw_line = missing_fields.decode()
        raw_events = [e for e in events if e.get("body") == raw_line]
        expect(len(raw_events) == 1, f"the line with missing fields should come out once, raw, as "
                                     f"the body {raw_line!r}; bodies: {bodies}")
        for e in raw_events:
            expect("log.iostream" not in e, f"a raw (unparsed) line has log.iostream: {e}")
        if not [x for x in g.agent_log() if x.get("level") in ("warn", "error")
                and (path in json.dumps(x) or "cri" in json.dumps(x).lower())]:
            problems.append("no warning about the bad CRI line (naming the file or CRI)")

        bad = [(e, raw) for e, raw in zip(events, raws) if "bad " in (e.get("body") or "")]
        expect(len(bad) == 1, f"the non-UTF-8 line should come out once; got {len(bad)}")
        for e, raw in bad:
            expect(b"\\u00ff" in raw, f"the byte 0xff should be written as \\u00ff; the output "
                                      f"line is {raw[:120]!r}")
            body = e["body"]
            try:
                recovered = body.encode("latin-1")
            except UnicodeEncodeError:
                recovered = None
            expect(recovered == b"bad \xff byte",
                   f"the byte 0xff is not recoverable from body {body!r}")

        others = {"first good line", raw_line, "last good line"}
        pieces = [e for e in events if e.get("body") not in others and
                  not (e.get("body") or "").startswith(("bad ", "part "))]
        joined = "".join(e["body"] for e in pieces)
        expect(joined == long_msg.decode(),
               f"the {len(long_msg)}-byte line split at {MAX_LINE}: pieces "
               f"{[len(e['body']) for e in pieces]} do not join back to it")
        expect(len(pieces) >= 3 and all(len(e["body"].encode()) <= MAX_LINE for e in pieces),
               f"pieces of {[len(e['body']) for e in pieces]} bytes; want >= 3 of <= {MAX_LINE}")
        for e in pieces:
            expect(e.get("log.iostream") == "stdout", f"a piece without stdout: {e}")

        parts = [b for b in bodies if b and b.startswith("part ")]
        expect(parts == ["part one, part two, part three"],
               f"P,P,F should come out as one joined event; got {parts}")
        expect([e.get("log.iostream") for e in events if e.get("body") == "last good line"]
               == ["stderr"], "'last good line' should be stderr")
        if problems:
            raise AssertionError("\n".join(problems))
        g.check_clean_exit()
    return f"the long line came out in {len(pieces)} pieces"


def _expect_path_error(n, bad_path, what):
    g = n.start_glimpse(pods_log_dir=bad_path, wait_ready=False)
    try:
        hit = g.wait_log(lambda e: e.get("level") == "error" and bad_path in json.dumps(e), 20,
                         f"an error line naming the {what} pods log dir {bad_path}")
    except node.GlimpseFailed:
        if "bpf" in g.stderr_text().lower() and bad_path not in g.stderr_text():
            raise node.GlimpseUnavailable(f"BPF unavailable: {g.stderr_tail(2)}") from None
        raise
    finally:
        g.stop()
    return hit


def test_pods_log_dir_missing_or_not_a_dir():
    with node.Node() as n:
        missing = os.path.join(n.workdir, "no-such-dir", "pods")
        _expect_path_error(n, missing, "missing")
        a_file = os.path.join(n.workdir, "a-regular-file")
        with open(a_file, "w", encoding="utf-8") as f:
            f.write("not a directory\n")
        _expect_path_error(n, a_file, "regular-file")


if __name__ == "__main__":
    sys.exit(node.run_tests([
        test_kubelet_down_then_back,
        test_kubelet_slow,
        test_kubelet_invalid_json_then_500,
        test_bad_cri_lines,
        test_pods_log_dir_missing_or_not_a_dir,
    ]))
