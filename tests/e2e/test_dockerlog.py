"""End-to-end: docker's json-file logs under a docker root, through the real binary.

No dockerd, runc or BPF. The test plays dockerd: it makes a docker root
(``<root>/containers/<64-hex id>/`` with ``config.v2.json`` and the json-file
log ``<id>-json.log``, one JSON object per line, ``{"log":"text\\n",
"stream":"stdout"|"stderr","time":"<RFC 3339, nanoseconds>"}``, encoded as
dockerd's Go encoder does) and runs glimpse's one-shot mode (``--exit-on-eof
--docker-root <root>``): every json-file log is read from its saved position
to its end, one event per message, positions saved in ``<state dir>``. The
pods log dir is empty and no kubelet answers (``--kubelet-url`` points at a
closed port), so the Kubernetes fields come from the labels cri-dockerd puts
in ``Config.Labels`` of ``config.v2.json``.

The docker root holds a pod's container (labelled by cri-dockerd), its sandbox
(pause, an empty log), a container of a second pod, a container started with
``docker run`` (no Kubernetes labels) and one created but never started (no
log yet). Their records cover:

* plain lines on stdout and stderr, an empty line, a ``\\r\\n`` ending;
* a 40 KiB line that dockerd split into 16 KiB partial records (a record
  whose ``log`` lacks the final ``\\n`` is continued by the next records of
  the same stream), with a stderr line between its pieces: one event of 40960
  bytes with the time of its first piece, after the stderr line;
* short stdout and stderr partials interleaved, each stream joined on its own;
* JSON escapes: ``\\"``, ``\\\\``, ``\\t``, ``\\u00e9``, a surrogate pair,
  Go's ``\\u003c`` ``\\u003e`` ``\\u0026``, and raw UTF-8; times with 0 to 9
  fraction digits; a record with an ``attrs`` member;
* lines that are not valid records (not JSON, cut short, an unknown stream):
  each comes out as its raw text, with no ``log.iostream``, and is counted;
* the checkpoint: a second run with the same state dir emits nothing; records
  appended after it, and only those, come out of a third run; a fourth run
  emits nothing;
* optionally, the json-file lines of the shared fixtures
  (``$GLIMPSE_FIXTURES``, else ``../shared/fixtures``: ``cri/docker-json/*.log``,
  written by other projects' tests), each file as a container's log.

Every event is checked in full, per container in order (how containers
interleave is free): ``body``, ``log.iostream``, ``time`` (the record's, as
RFC 3339 UTC with 9 fraction digits; any time for a raw line),
``log.file.path`` (the json log's path under the docker root),
``container.id``, ``k8s.node.name``, and ``k8s.pod.name``, ``k8s.pod.uid``,
``k8s.namespace.name``, ``k8s.container.name`` exactly when the container has
cri-dockerd's labels (absent otherwise). No event for the sandbox, the
container without a log or any other id.

What this test takes as the agent's behaviour where the brief left a choice:

* a raw (invalid) line is enriched like the others (``container.id``,
  ``log.file.path``, the pod's fields) and counted in a counter of the
  ``stopped`` summary whose name has ``malformed`` in it;
* no run ends with a partial record waiting for its end;
* a rotated file (``<id>-json.log.1``, dockerd's max-size rotation while the
  agent was down) is read from its saved position before the new live file.

    python3 tests/e2e/test_dockerlog.py        # GLIMPSE_BIN, default build/glimpse

Only the glimpse binary is needed (no containers, no BPF).
"""

import calendar
import glob
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import node  # noqa: E402

RUN_TIMEOUT_S = 30
NODE_NAME = "e2e-docker-node"
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")
CHUNK = 16 * 1024          # dockerd's json-file driver splits lines at 16 KiB
ANY = object()             # an expected value that is not checked
BASE_NS = calendar.timegm((2026, 11, 22, 10, 0, 0)) * 1_000_000_000


# --------------------------------------------------------------------------
# dockerd's encoding


def go_json_string(text, ascii_only=False):
    """text as Go's encoding/json writes a string (what dockerd's json-file
    driver writes): \\" \\\\ \\n \\r \\t, other control characters as \\u00XX,
    < > & U+2028 U+2029 as \\uXXXX (HTML-safe), other text as raw UTF-8, or,
    with ascii_only, as \\uXXXX escapes (surrogate pairs above U+FFFF), which
    dockerd does not write but any JSON reader must take."""
    out = ['"']
    for ch in text:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or ch in "<>&\u2028\u2029":
            out.append(f"\\u{o:04x}")
        elif o > 0x7f and ascii_only:
            if o > 0xffff:
                o -= 0x10000
                out.append(f"\\u{0xd800 + (o >> 10):04x}\\u{0xdc00 + (o & 0x3ff):04x}")
            else:
                out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_time(ns):
    """ns as Go's time.RFC3339Nano in UTC: trailing zeros of the fraction
    dropped, no fraction at all on a whole second."""
    sec, frac = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    digits = f"{frac:09d}".rstrip("0")
    return f"{text}.{digits}Z" if digits else f"{text}Z"


def event_time(ns):
    """ns as the agent writes an event's time: RFC 3339 UTC, 9 digits."""
    sec, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{frac:09d}Z"


_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?"
                      r"(Z|[+-]\d\d:\d\d)$")


def parse_time(text):
    """An RFC 3339 time (fraction up to 9 digits) as ns since the epoch, or None."""
    m = _RFC3339.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    ns = calendar.timegm((y, mo, d, h, mi, s)) * 1_000_000_000
    ns += int((m.group(7) or "").ljust(9, "0"))
    zone = m.group(8)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        ns -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60) * 1_000_000_000
    return ns


def brief(items, keep=3):
    items = [(s[:60] + f"…({len(s)})" if isinstance(s, str) and len(s) > 60 else s)
             for s in items]
    if len(items) <= 2 * keep:
        return repr(items)
    return f"{items[:keep]!r} … {items[-keep:]!r} ({len(items)})"


# --------------------------------------------------------------------------
# The docker root


class Container:
    """One container under the docker root: its config.v2.json, its json-file
    log, and the events its records must give (a model of the agent: records
    joined per stream until one ends in '\\n', an invalid line at once)."""

    def __init__(self, scene, name, pod=None, sandbox=False, started=True):
        self.scene = scene
        self.name = name               # for messages
        self.id = secrets.token_hex(32)
        self.dir = os.path.join(scene.docker_root, "containers", self.id)
        self.log_path = os.path.join(self.dir, f"{self.id}-json.log")
        self.pod = pod                 # (namespace, pod name, uid, container name) or None
        self.sandbox = sandbox
        self.pending = {}              # stream -> [first time ns, text so far]
        self.expected = []             # every event, in order
        self.delivered = 0             # how many of expected earlier runs gave
        self.malformed = 0             # invalid lines written since the last run
        os.makedirs(os.path.join(self.dir, "mounts", "shm"))
        os.makedirs(os.path.join(self.dir, "checkpoints"))
        self._write_config(started)
        if started:
            open(self.log_path, "ab").close()   # dockerd creates it at start

    def _write_config(self, started):
        labels = {"org.opencontainers.image.version": "1.0"}
        if self.pod:
            ns, pod, uid, cname = self.pod
            labels = {
                "annotation.io.kubernetes.container.hash": secrets.token_hex(4),
                "annotation.io.kubernetes.container.restartCount": "0",
                "annotation.io.kubernetes.container.terminationMessagePath":
                    "/dev/termination-log",
                "annotation.io.kubernetes.container.terminationMessagePolicy": "File",
                "annotation.io.kubernetes.pod.terminationGracePeriod": "30",
                "io.kubernetes.container.logpath":
                    f"/var/log/pods/{ns}_{pod}_{uid}/{cname}/0.log",
                "io.kubernetes.container.name": cname,
                "io.kubernetes.docker.type": "podsandbox" if self.sandbox else "container",
                "io.kubernetes.pod.name": pod,
                "io.kubernetes.pod.namespace": ns,
                "io.kubernetes.pod.uid": uid,
            }
            if self.sandbox:
                del labels["io.kubernetes.container.logpath"]
        name = (f"/k8s_{self.pod[3]}_{self.pod[1]}_{self.pod[0]}_{self.pod[2]}_0"
                if self.pod else f"/{self.name}")
        config = {
            "StreamConfig": {},
            "State": {"Running": started, "Paused": False, "Restarting": False,
                      "OOMKilled": False, "RemovalInProgress": False, "Dead": False,
                      "Pid": 0, "ExitCode": 0, "Error": "",
                      "StartedAt": go_time(BASE_NS) if started else "0001-01-01T00:00:00Z",
                      "FinishedAt": "0001-01-01T00:00:00Z", "Health": None},
            "ID": self.id,
            "Created": go_time(BASE_NS - 400_000_000),
            "Managed": False,
            "Path": "/pause" if self.sandbox else "/app",
            "Args": [],
            "Config": {"Hostname": self.id[:12], "Domainname": "", "User": "",
                       "AttachStdin": False, "AttachStdout": False, "AttachStderr": False,
                       "Tty": False, "OpenStdin": False, "StdinOnce": False,
                       "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                       "Cmd": None, "Image": "registry.example/app:1", "Volumes": None,
                       "WorkingDir": "", "Entrypoint": ["/app"], "OnBuild": None,
                       "Labels": labels},
            "Image": "sha256:" + secrets.token_hex(32),
            "ImageManifest": None,
            "LogPath": self.log_path,
            "Name": name,
            "Driver": "overlay2",
            "OS": "linux",
            "RestartCount": 0,
            "HasBeenStartedBefore": started,
            "HasBeenManuallyStopped": False,
            "MountPoints": {},
            "HostnamePath": os.path.join(self.dir, "hostname"),
            "HostsPath": os.path.join(self.dir, "hosts"),
            "ShmPath": os.path.join(self.dir, "mounts", "shm"),
            "ResolvConfPath": os.path.join(self.dir, "resolv.conf"),
            "LocalLogCacheMeta": {"HaveNotifyEnabled": False},
        }
        # dockerd's Go encoder: compact, HTML-safe escapes
        text = json.dumps(config, separators=(",", ":"), ensure_ascii=False)
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        with open(os.path.join(self.dir, "config.v2.json"), "w", encoding="utf-8") as f:
            f.write(text)
        with open(os.path.join(self.dir, "hostconfig.json"), "w", encoding="utf-8") as f:
            f.write('{"Binds":null,"LogConfig":{"Type":"json-file","Config":{}},'
                    '"NetworkMode":"bridge","RestartPolicy":{"Name":"no","MaximumRetryCount":0}}')
        for extra in ("hostname", "hosts", "resolv.conf"):
            with open(os.path.join(self.dir, extra), "w", encoding="utf-8") as f:
                f.write(self.id[:12] + "\n" if extra == "hostname" else "")

    # -- writing records ------------------------------------------------------

    def _append(self, data):
        with open(self.log_path, "ab") as f:
            f.write(data)

    def record(self, log, stream="stdout", ascii_only=False, attrs=None, time_ns=None):
        """Appends one record; returns its time. The model joins it."""
        t = self.scene.tick() if time_ns is None else time_ns
        line = '{"log":' + go_json_string(log, ascii_only) + ',"stream":"' + stream + '"'
        if attrs:
            line += ',"attrs":{' + ",".join(f"{go_json_string(k)}:{go_json_string(v)}"
                                            for k, v in attrs.items()) + "}"
        line += ',"time":"' + go_time(t) + '"}\n'
        self._append(line.encode("utf-8"))
        self._model(stream, t, log)
        return t

    def line(self, text, stream="stdout", **kw):
        """One whole line of output (one record)."""
        return self.record(text + "\n", stream, **kw)

    def long_line(self, text, stream="stdout", between=None):
        """A line longer than 16 KiB as dockerd writes it: 16 KiB partial
        records, the last piece with the '\\n'; between(i) is called after
        piece i (to write records of the other stream in between)."""
        data = text + "\n"
        pieces = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]
        for i, piece in enumerate(pieces):
            self.record(piece, stream)
            if between and i < len(pieces) - 1:
                between(i)

    def raw(self, text):
        """A line that is not a valid record: expected as its raw text."""
        self._append(text.encode("utf-8") + b"\n")
        self.expected.append({"body": text, "log.iostream": None, "time": ANY})
        self.malformed += 1

    def raw_fixture_lines(self, data):
        """Lines of a json-file log written by someone else, as they are;
        the model parses them as the agent must."""
        self._append(data if data.endswith(b"\n") else data + b"\n")
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                rec = json.loads(line.decode("utf-8"))
                stream, t = rec["stream"], parse_time(rec["time"])
                if stream not in ("stdout", "stderr") or t is None or \
                        not isinstance(rec["log"], str):
                    raise ValueError("not a record")
            except (ValueError, KeyError, TypeError):
                self.expected.append({"body": line.decode("utf-8"), "log.iostream": None,
                                      "time": ANY})
                self.malformed += 1
                continue
            self._model(stream, t, rec["log"])

    def _model(self, stream, t, log):
        held = self.pending.setdefault(stream, [t, ""])
        held[1] += log
        if log.endswith("\n"):
            del self.pending[stream]
            self.expected.append({"body": held[1][:-1], "log.iostream": stream,
                                  "time": event_time(held[0])})

    def new_expected(self):
        return self.expected[self.delivered:]


class Scene:
    """A docker root, an empty pods log dir, a state dir and the output file
    in a temporary directory removed at the end; `story` records every step,
    for failure messages."""

    def __init__(self, name):
        # the real path: the agent names files by the root it was given, and
        # the test compares those names with its own
        self.workdir = os.path.realpath(tempfile.mkdtemp(prefix=f"glimpse-dockerlog-{name}-"))
        self.docker_root = os.path.join(self.workdir, "docker")
        self.pods_dir = os.path.join(self.workdir, "pods")
        self.state_dir = os.path.join(self.workdir, "state")
        self.output_path = os.path.join(self.workdir, "out.json")
        for d in ("containers", "image/overlay2", "overlay2", "volumes", "network/files"):
            os.makedirs(os.path.join(self.docker_root, d))
        os.makedirs(self.pods_dir)
        self.output = node.OutputReader(self.output_path)
        self.containers = []
        self.runs = []
        self.story = []
        self._clock = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.workdir, ignore_errors=True)

    def tick(self):
        """The next record time: later every call, with 0 to 9 fraction digits."""
        self._clock += 1
        k = self._clock
        return BASE_NS + k * 250_000_000 + (k % 3) * 7 + (k % 5) * 30_000

    def step(self, text):
        self.story.append(text)

    def container(self, name, **kw):
        c = Container(self, name, **kw)
        self.containers.append(c)
        return c

    # -- the agent -----------------------------------------------------------

    def run(self):
        """Runs the agent once; checks its exit; returns (events, stopped summary)."""
        number = len(self.runs) + 1
        stderr_path = os.path.join(self.workdir, f"stderr-{number}.txt")
        argv = [node.GLIMPSE_BIN, "--exit-on-eof", "--docker-root", self.docker_root,
                "--pods-log-dir", self.pods_dir, "--output", f"file:{self.output_path}",
                "--state-dir", self.state_dir, "--kubelet-url", "http://127.0.0.1:9",
                "--metadata-wait-ms", "0", "--node-name", NODE_NAME, "--log-level", "info"]
        code, stderr, log = node.run_one_shot(argv, stderr_path, RUN_TIMEOUT_S)
        bad_before = len(self.output.bad)
        events = self.output.poll()
        self.runs.append((events, log, stderr))
        self.step(f"run {number}: {len(events)} event(s) "
                  f"{brief([e.get('body') for e in events])}")

        problems = []
        if code is None:
            problems.append(f"no exit after {RUN_TIMEOUT_S} s (killed)")
        elif code != 0:
            problems.append(f"exit status {code}, want 0")
        reports = [l for l in stderr.splitlines() if any(m in l for m in SANITIZER_MARKS)]
        if reports:
            problems.append(f"{len(reports)} sanitizer report line(s), first: {reports[0]}")
        if self.output.bad[bad_before:]:
            problems.append(f"output lines that are not JSON objects: "
                            f"{self.output.bad[bad_before:][:3]!r}")
        others = [e for e in events if e.get("kind") != "log"]
        if others:
            problems.append(f"events that are not logs: {others[:3]}")
        stopped = log[-1] if log and log[-1].get("msg") == "stopped" else None
        if code is not None and stopped is None:
            problems.append("the last stderr line is not the \"stopped\" summary")
        elif stopped is not None and stopped.get("log_events") != len(events):
            problems.append(f"the summary counts log_events={stopped.get('log_events')} but the "
                            f"run wrote {len(events)} event(s)")
        if problems:
            self.fail(f"run {number} of the agent is clean", "; ".join(problems))
        return events, stopped or {}

    # -- checking ------------------------------------------------------------

    def fail(self, expected, got):
        lines = ["steps:"] + [f"  {i}. {s}" for i, s in enumerate(self.story, 1)]
        lines += [f"expected: {expected}", f"got: {got}"]
        if self.runs:
            _, log, stderr = self.runs[-1]
            notes = [e for e in log if e.get("level") in ("warn", "error")]
            lines.append(f"run {len(self.runs)}: agent warnings and errors:")
            lines += [f"  {json.dumps(e)[:300]}" for e in notes[-12:]] or ["  (none)"]
            tail = [l for l in stderr.splitlines() if not l.startswith("{")]
            if tail:
                lines.append(f"run {len(self.runs)}: other stderr lines:")
                lines += [f"  {l[:300]}" for l in tail[:20]]
        raise AssertionError("\n".join(lines))

    def expect_run(self, what):
        """Runs the agent; checks it emitted exactly what the containers'
        new records give, every event in full, in order per container."""
        events, stopped = self.run()
        by_id = {c.id: c for c in self.containers}
        got = {c.id: [] for c in self.containers}
        for e in events:
            cid = e.get("container.id")
            if cid not in by_id:
                self.fail(f"{what}: every event with the container.id of a container that "
                          f"logs", json.dumps(e)[:300])
            got[cid].append(e)
        for c in self.containers:
            want = c.new_expected()
            have = got[c.id]
            bodies = [w["body"] for w in want]
            if [e.get("body") for e in have] != bodies:
                self.fail(f"{what}: container {c.name}: the bodies {brief(bodies)}",
                          brief([e.get("body") for e in have]))
            for e, w in zip(have, want):
                self.check_event(c, e, w, what)
            c.delivered = len(c.expected)
        # invalid lines are counted
        malformed = sum(c.malformed for c in self.containers)
        counted = sum(v for k, v in stopped.items()
                      if "malformed" in k and isinstance(v, int) and not isinstance(v, bool))
        if counted != malformed:
            self.fail(f"{what}: the stopped summary counts the {malformed} invalid line(s) in "
                      f"a counter named *malformed*", json.dumps(stopped)[:400])
        for c in self.containers:
            c.malformed = 0
        return events

    def check_event(self, c, e, w, what):
        want = {"kind": "log", "body": w["body"], "log.file.path": w.get("path", c.log_path),
                "container.id": c.id, "k8s.node.name": NODE_NAME}
        if w["log.iostream"] is not None:
            want["log.iostream"] = w["log.iostream"]
        if w["time"] is not ANY:
            want["time"] = w["time"]
        if c.pod:
            ns, pod, uid, cname = c.pod
            want.update({"k8s.namespace.name": ns, "k8s.pod.name": pod, "k8s.pod.uid": uid,
                         "k8s.container.name": cname})
        for key, value in want.items():
            if e.get(key) != value:
                self.fail(f"{what}: container {c.name}: {key} = {str(value)[:120]!r} in the "
                          f"event of {w['body'][:60]!r}", json.dumps(e)[:400])
        absent = [] if w["log.iostream"] is not None else ["log.iostream"]
        if not c.pod:
            absent += ["k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid",
                       "k8s.container.name"]
        for key in absent:
            if key in e:
                self.fail(f"{what}: container {c.name}: no {key} in the event of "
                          f"{w['body'][:60]!r}", json.dumps(e)[:400])
        if w["time"] is ANY and parse_time(str(e.get("time"))) is None:
            self.fail(f"{what}: container {c.name}: an RFC 3339 time in the event of the raw "
                      f"line {w['body'][:60]!r}", json.dumps(e)[:400])


def k8s_pod(namespace, name):
    return namespace, name, str(uuid.uuid4())


def long_text(size):
    """size ASCII bytes that say where they are, so a piece out of order shows."""
    text = "".join(f"<{i:06d}>" for i in range(size // 8 + 1))
    return text[:size]


# --------------------------------------------------------------------------
# The tests


def test_records_and_checkpoint():
    with Scene("records") as s:
        ns, pod, uid = k8s_pod("shop", f"web-{secrets.token_hex(3)[:5]}")
        web = s.container("web", pod=(ns, pod, uid, "web"))
        s.container("web's sandbox", pod=(ns, pod, uid, "POD"), sandbox=True)  # empty log
        ns2, pod2, uid2 = k8s_pod("batch", f"pi-{secrets.token_hex(3)[:5]}")
        pi = s.container("pi", pod=(ns2, pod2, uid2, "pi"))
        plain = s.container("plain")
        s.container("created", started=False)   # no log file yet

        # plain lines, both streams
        web.line("GET /healthz 200")
        web.line("warning: slow upstream", "stderr")
        web.line("")
        web.line("crlf line\r")
        # a 40 KiB line in 16 KiB partial records, a stderr line in between
        big = long_text(40 * 1024)

        def stderr_between(i):
            if i == 0:
                web.line("stderr between the first two pieces", "stderr")
        web.long_line(big, between=stderr_between)
        # short partials of both streams interleaved
        web.record("out part 1, ")
        web.record("err part 1, ", "stderr")
        web.record("out part 2, ")
        web.line("out end")
        web.line("err end", "stderr")
        # escapes: \" \\ \t, é as \u00e9, 😀 as a surrogate pair, < > &
        web.line('say "hi" \\ C:\\temp\\new\ttab caf\u00e9 \U0001F600 <b>&amp;</b>',
                 ascii_only=True)
        web.line("raw utf-8: grüße, 日本語, \U0001F600", "stderr")
        web.line("with attrs", attrs={"tag": "web", "io.kubernetes.pod.name": pod})
        # lines that are not records
        web.raw("this line is not json")
        web.raw('{"log":"cut short\\n","stream":"std')
        web.raw('{"log":"unknown stream\\n","stream":"stdin","time":"' + go_time(s.tick()) +
                '"}')
        web.line("after the bad lines")

        pi.line("3.14159265358979323846")
        pi.line("pi: done", "stderr")

        plain.line("hello from docker run")
        plain.line("oops", "stderr")
        plain.record("no newline yet, ")
        plain.line("now it ends")
        s.step("wrote the records of web, pi and plain")

        s.expect_run("the first run: every record of every container")
        if not any(len(e.get("body", "")) == len(big) for e in s.runs[-1][0]):
            s.fail("the 40 KiB line as one event", "no event of its length")
        s.step("(second run, nothing written)")
        s.expect_run("a second run with the same state dir: nothing")

        # appended while the agent is down: only these come out next
        web.line("appended 1")
        web.record("appended partial, ", "stderr")
        web.long_line(long_text(CHUNK + 100))
        web.line("appended end", "stderr")
        web.raw("appended garbage")
        plain.line("plain appended")
        s.step("appended to web and plain")
        s.expect_run("after appending: only the new records")
        s.expect_run("a fourth run: nothing")


def test_containers_come_and_go():
    with Scene("come-go") as s:
        ns, pod, uid = k8s_pod("jobs", f"job-{secrets.token_hex(3)[:5]}")
        first = s.container("first", pod=(ns, pod, uid, "first"))
        first.line("first 0")
        first.line("first 1", "stderr")
        s.expect_run("the first container's lines")
        # a container started while the agent was down, in the same pod
        second = s.container("second", pod=(ns, pod, uid, "second"))
        second.line("second 0")
        second.long_line(long_text(2 * CHUNK + 1))
        first.line("first 2")
        s.step("started container second, appended to first")
        s.expect_run("the new container's lines and the first's new one")
        # dockerd removed the first container (its dir and log are gone)
        shutil.rmtree(first.dir)
        s.containers.remove(first)
        second.line("second 1")
        s.step("removed container first's dir")
        s.expect_run("a removed container is no error; the other's new line")
        s.expect_run("nothing new")


def test_rotation_between_runs():
    """dockerd rotated the log while the agent was down (max-size: the file
    renamed to <id>-json.log.1, a new one started): the rest of the rotated
    file is read from the saved position, then the new file from 0; an older
    compressed one is never read."""
    with Scene("rotation") as s:
        ns, pod, uid = k8s_pod("web", f"api-{secrets.token_hex(3)[:5]}")
        c = s.container("api", pod=(ns, pod, uid, "api"))
        for i in range(5):
            c.line(f"before rotation {i}")
        s.expect_run("the lines before the rotation")
        for i in range(3):
            c.line(f"written, then rotated away {i}", "stderr" if i == 1 else "stdout")
        os.rename(c.log_path, c.log_path + ".1")
        for w in c.expected[-3:]:
            w["path"] = c.log_path + ".1"   # events name the file they were read from
        with open(c.log_path + ".2.gz", "wb") as f:
            f.write(b"\x1f\x8b compressed, never read\n")
        for i in range(2):
            c.line(f"after rotation {i}")
        s.step("rotated (renamed to .1), two lines in the new file, a .2.gz beside")
        s.expect_run("the rotated file's rest, then the new file")
        s.expect_run("nothing new")


def _fixtures_dir():
    """The shared fixtures' docker json-file logs, or None (see testing.h)."""
    base = os.environ.get("GLIMPSE_FIXTURES") or os.path.join(node.REPO_ROOT, "..", "shared",
                                                              "fixtures")
    d = os.path.join(base, "cri", "docker-json")
    return d if os.path.isdir(d) else None


def test_shared_fixture_logs():
    d = _fixtures_dir()
    files = sorted(glob.glob(os.path.join(d, "*.log"))) if d else []
    if not files:
        raise node.Skip("no shared fixtures (cri/docker-json/*.log under $GLIMPSE_FIXTURES or "
                        "../shared/fixtures)")
    with Scene("fixtures") as s:
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            c = s.container(os.path.basename(path))
            c.raw_fixture_lines(data)
            if c.pending:
                raise node.HarnessError(f"{path} ends with a partial record; the test "
                                        f"expects none at the end of a run")
        s.step(f"one container per file of {d}: {[os.path.basename(p) for p in files]}")
        s.expect_run("every record of the fixture files")
        s.expect_run("nothing new")
    return f"{len(files)} files"


TESTS = [
    test_records_and_checkpoint,
    test_containers_come_and_go,
    test_rotation_between_runs,
    test_shared_fixture_logs,
]


if __name__ == "__main__":
    sys.exit(node.run_tests(TESTS, need_glimpse=True, need_node=False))
