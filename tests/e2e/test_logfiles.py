"""End-to-end: log files across agent restarts, through the real binary.

No runc, conmon or BPF. glimpse's one-shot mode (``--exit-on-eof``) reads
every CRI log file under the pods log dir from its saved position to its end,
emits one event per line, saves the positions in ``<state dir>/positions.json``
and exits. Here one such run is one life of the agent, and the next run is the
agent restarted from its saved positions. Between runs the test plays the
kubelet and the runtime while the agent is down: it appends lines, rotates
(rename, or copytruncate), compresses, starts a container's next restart,
replaces or truncates files and corrupts the state. No kubelet answers
(``--kubelet-url`` points at a closed port), so events carry what the log path
says (namespace, pod, uid, container).

The tests (each in its own temporary directory, removed at its end):

* resume: lines appended between two runs, and only those, come out;
* rotation by rename while down: the lines left in the rotated file and the
  new 0.log's, once each, in order per file; two rotations while down: the
  rotated file nobody saw is read in full (checkpoint.h: a rotated file no
  checkpoint knows, written after positions.json was last saved);
* copytruncate while down: the copy is read from the checkpoint, the new
  content from 0, also when the new content outgrew the checkpoint;
* a .gz file is never read; a rotated file (renamed, or a copy) whose lines
  were all delivered is not read again;
* a container's next restart (1.log): its lines, none of 0.log's again;
* identity changed under the same name (deleted and created again, shorter or
  longer than the checkpoint; rewritten in place, same inode, longer): read
  from 0; a file truncated in place to a shorter content: read from 0;
* a one-line file of a few bytes resumes after its line (its fingerprint is
  the bytes it has);
* a line cut by rotation, an unterminated last line (see below);
* positions.json: valid JSON, mode 0600 in a state dir made 0700 (under umask
  0), no positions.json.tmp left; a corrupt one (garbage, empty, cut short) is
  reported by name, kept as positions.json.bad, and every file is read from 0.

Every run must exit 0 with its last stderr line ``"msg":"stopped"`` (whose
``log_events`` counts the events it wrote) and, for the sanitizer build, no
sanitizer report.

What is correct where the answer is a choice:

* a rotated file (``<n>.log.<suffix>``) is read only when lines in it were
  not delivered: from its checkpoint when that says lines are left; from the
  truncated file's checkpoint when it is a copy of a file truncated since
  (copytruncate), and not at all when that checkpoint covers the whole copy;
  in full when no checkpoint knows it and it was written after the last save.
  A ``.gz`` file is never read, so lines that reached only a compressed file
  are not collected;
* a line cut by rotation (the old file ends with a ``P`` piece, the new file
  starts with its ``F`` continuation): CRI runtimes do not split one message
  across files in practice, so no particular joining is required, only that
  no text is lost or repeated: each piece's text comes out exactly once;
* an unterminated last line is emitted when a one-shot run exits (the file is
  taken as complete), and its position is saved past it, so it is not emitted
  again by the next run.

    python3 tests/e2e/test_logfiles.py        # GLIMPSE_BIN, default build/glimpse

Only the glimpse binary is needed (no containers, no BPF).
"""

import collections
import gzip
import json
import os
import secrets
import shutil
import stat
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import node  # noqa: E402

RUN_TIMEOUT_S = 30
NAMESPACE = "e2e-files"
CONTAINER = "app"
ROTATED_SUFFIX = "20261122-100000"
DOWN_S = 0.03
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")

_clock = [0]


def cri(message, stream="stdout", tag="F", newline=True):
    """One CRI log line. Every line gets its own, later timestamp."""
    _clock[0] += 1
    ts = f"2026-11-22T10:00:{_clock[0] // 1_000_000:02d}.{_clock[0] % 1_000_000:06d}001Z"
    line = f"{ts} {stream} {tag} {message}".encode()
    return line + b"\n" if newline else line


def numbered(prefix, first, count, pad=0):
    """Messages "<prefix>-NN", padded with dots to make files longer."""
    return [f"{prefix}-{i:02d}" + "." * pad for i in range(first, first + count)]


def brief(items, keep=4):
    items = list(items)
    if len(items) <= 2 * keep:
        return repr(items)
    return f"{items[:keep]!r} … {items[-keep:]!r} ({len(items)})"


class Run:
    """What one run of the agent did."""

    def __init__(self, number, events, log, stderr):
        self.number = number
        self.events = events
        self.bodies = [e.get("body") for e in events]
        self.log = log
        self.stderr = stderr

    def log_lines(self, level=None, text=None):
        return [e for e in self.log if (level is None or e.get("level") == level)
                and (text is None or text in json.dumps(e))]


class Scene:
    """A pods log dir with one pod and its container dir, a state dir and
    the output file, in a temporary directory removed at the end. `story`
    records every step, for failure messages."""

    def __init__(self, name):
        self.workdir = tempfile.mkdtemp(prefix=f"glimpse-logfiles-{name}-")
        self.pods_dir = os.path.join(self.workdir, "pods")
        self.state_dir = os.path.join(self.workdir, "state")
        self.output_path = os.path.join(self.workdir, "out.json")
        self.uid = str(uuid.uuid4())
        self.pod = f"{name}-{secrets.token_hex(3)[:5]}"
        self.dir = os.path.join(self.pods_dir, f"{NAMESPACE}_{self.pod}_{self.uid}", CONTAINER)
        os.makedirs(self.dir)
        self.output = node.OutputReader(self.output_path)
        self.runs = []
        self.story = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.workdir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def step(self, text):
        self.story.append(text)

    # -- playing the runtime and the kubelet ---------------------------------

    def write(self, name, messages, append=True, tag="F", last_newline=True):
        """Writes CRI lines of messages to the file `name`; returns messages."""
        data = b"".join(cri(m, tag=tag, newline=last_newline or i < len(messages) - 1)
                        for i, m in enumerate(messages))
        with open(self.path(name), "ab" if append else "wb") as f:
            f.write(data)
        how = "appended" if append else "wrote"
        extra = f" as {tag} pieces" if tag != "F" else ""
        extra += "" if last_newline else ", the last without '\\n'"
        self.step(f"{how} {len(messages)} line(s) {brief(messages)}{extra} to {name}")
        return list(messages)

    def rename(self, old, new):
        os.rename(self.path(old), self.path(new))
        self.step(f"renamed {old} -> {new}")

    # -- the agent -----------------------------------------------------------

    def run(self, umask=None):
        """Runs the agent once; checks its exit; returns its Run."""
        number = len(self.runs) + 1
        stderr_path = os.path.join(self.workdir, f"stderr-{number}.txt")
        argv = [node.GLIMPSE_BIN, "--exit-on-eof", "--docker-root", "", "--pods-log-dir", self.pods_dir,
                "--output", f"file:{self.output_path}", "--state-dir", self.state_dir,
                "--kubelet-url", "http://127.0.0.1:9", "--metadata-wait-ms", "0",
                "--log-level", "info"]
        code, stderr, log = node.run_one_shot(argv, stderr_path, RUN_TIMEOUT_S, umask)
        bad_before = len(self.output.bad)
        events = self.output.poll()
        run = Run(number, [e for e in events if e.get("kind") == "log"], log, stderr)
        self.runs.append(run)
        self.step(f"run {number}: {len(run.events)} event(s) {brief(run.bodies)}")

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
        if len(run.events) != len(events):
            others = [e for e in events if e.get("kind") != "log"]
            problems.append(f"events that are not logs: {others[:3]}")
        stopped = log[-1] if log and log[-1].get("msg") == "stopped" else None
        if code is not None and stopped is None:
            problems.append("the last stderr line is not the \"stopped\" summary")
        elif stopped is not None and stopped.get("log_events") != len(events):
            problems.append(f"the summary counts log_events={stopped.get('log_events')} but the "
                            f"run wrote {len(events)} event(s)")
        if problems:
            self.fail(f"run {number} of the agent is not clean", "; ".join(problems), run)
        # the agent stays down a while: what is written next is later than the
        # saved positions.json by more than a tick of the file time clock, as
        # it would be on a node
        time.sleep(DOWN_S)
        return run

    # -- checking ------------------------------------------------------------

    def fail(self, expected, got, run=None):
        run = run or (self.runs[-1] if self.runs else None)
        lines = ["steps:"] + [f"  {i}. {s}" for i, s in enumerate(self.story, 1)]
        lines += [f"expected: {expected}", f"got: {got}"]
        if run is not None:
            notes = [e for e in run.log if e.get("level") in ("warn", "error")
                     or "checkpoint" in str(e.get("msg", ""))]
            lines.append(f"run {run.number}: agent log (warnings, errors, checkpoint lines):")
            lines += [f"  {json.dumps(e)[:300]}" for e in notes[-12:]] or ["  (none)"]
            tail = [l for l in run.stderr.splitlines() if not l.startswith("{")]
            if tail:
                lines.append(f"run {run.number}: other stderr lines:")
                lines += [f"  {l[:300]}" for l in tail[:20]]
        raise AssertionError("\n".join(lines))

    def check_fields(self, run, paths=None):
        """Every event of run has the pod's fields; paths maps a body to the
        log.file.path it must have."""
        for e in run.events:
            want = {"k8s.namespace.name": NAMESPACE, "k8s.pod.name": self.pod,
                    "k8s.pod.uid": self.uid, "k8s.container.name": CONTAINER,
                    "log.iostream": "stdout"}
            if paths and e.get("body") in paths:
                want["log.file.path"] = paths[e["body"]]
            for key, value in want.items():
                if e.get(key) != value:
                    self.fail(f"{key} = {value!r} in every event", json.dumps(e), run)

    def expect_exactly(self, run, want, what):
        """run emitted exactly the lines want, in this order."""
        if run.bodies != want:
            missing = [b for b in want if b not in run.bodies]
            extra = [b for b in run.bodies if b not in want]
            dup = [b for b, n in collections.Counter(run.bodies).items() if n > 1]
            self.fail(f"{what}: {brief(want)}",
                      f"{brief(run.bodies)}; missing {brief(missing)}, unexpected "
                      f"{brief(extra)}, repeated {brief(dup)}", run)
        self.check_fields(run)

    def expect_files(self, run, groups, what):
        """run emitted the lines of every group once each, each group's in
        its order (groups: lists of lines of one file); how the groups
        interleave is free."""
        want = [b for g in groups for b in g]
        if collections.Counter(run.bodies) != collections.Counter(want):
            self.expect_exactly(run, want, what)  # fails, with details
        for g in groups:
            seen = [b for b in run.bodies if b in set(g)]
            if seen != g:
                self.fail(f"{what}: the lines of one file in order {brief(g)}", brief(seen), run)
        self.check_fields(run)


def test_resume():
    with Scene("resume") as s:
        first = s.write("0.log", numbered("resume", 0, 10, pad=30))
        s.expect_exactly(s.run(), first, "the first run: the 10 lines")
        more = s.write("0.log", numbered("resume", 10, 5, pad=30))
        r = s.run()
        s.expect_exactly(r, more, "after a restart: only the 5 new lines")
        s.check_fields(r, {b: s.path("0.log") for b in more})
        s.expect_exactly(s.run(), [], "a third run with nothing new: nothing")


def test_rotation_by_rename_while_down():
    with Scene("rename") as s:
        s.write("0.log", numbered("old", 0, 10))
        s.run()
        old = s.write("0.log", numbered("old", 10, 5))
        rotated = f"0.log.{ROTATED_SUFFIX}"
        s.rename("0.log", rotated)
        new = s.write("0.log", numbered("new", 0, 3))
        r = s.run()
        s.expect_files(r, [old, new], "the 5 lines left in the rotated file and the 3 of the "
                                      "new 0.log")
        s.check_fields(r, {b: s.path("0.log") for b in new})
        s.expect_exactly(s.run(), [], "a third run: nothing")
    return f"rotated lines came with log.file.path {os.path.basename(_path_of(r, old[0]))}"


def _path_of(run, body):
    return next((e.get("log.file.path", "") for e in run.events if e.get("body") == body), "")


def test_copytruncate_while_down():
    with Scene("copytrunc") as s:
        s.write("0.log", numbered("before", 0, 10, pad=20))  # > 512 bytes
        s.run()
        old = s.write("0.log", numbered("before", 10, 4, pad=20))
        rotated = f"0.log.{ROTATED_SUFFIX}"
        shutil.copyfile(s.path("0.log"), s.path(rotated))
        s.step(f"copied 0.log to {rotated}")
        os.truncate(s.path("0.log"), 0)
        s.step("truncated 0.log to 0 bytes")
        new = s.write("0.log", numbered("after", 0, 2))
        r = s.run()
        s.expect_files(r, [old, new], "the 4 lines after the checkpoint (now in the copy) and "
                                      "the 2 new ones")
        s.check_fields(r, {b: s.path("0.log") for b in new})
        s.expect_exactly(s.run(), [], "a third run: nothing")


def test_copytruncate_new_content_longer():
    # while the agent is down the container writes more after the truncation
    # than the checkpoint held: 0.log (same inode) is longer than its
    # checkpoint but begins with other bytes; the copy still begins with the
    # bytes the checkpoint's file began with
    with Scene("copylonger") as s:
        s.write("0.log", numbered("before", 0, 5))
        s.run()
        old = s.write("0.log", numbered("before", 5, 3))
        rotated = f"0.log.{ROTATED_SUFFIX}"
        shutil.copyfile(s.path("0.log"), s.path(rotated))
        s.step(f"copied 0.log to {rotated}")
        os.truncate(s.path("0.log"), 0)
        s.step("truncated 0.log to 0 bytes")
        new = s.write("0.log", numbered("after", 0, 20))
        r = s.run()
        s.expect_files(r, [old, new], "the 3 lines after the checkpoint (now in the copy) and "
                                      "the 20 new ones")
        s.expect_exactly(s.run(), [], "a third run: nothing")


def test_gzip_and_delivered_rotated_files():
    with Scene("gzip") as s:
        s.write("0.log", numbered("first", 0, 10))
        s.run()
        # the kubelet rotates, then compresses the rotated file (a new file)
        # and removes the uncompressed one: the 5 lines that reached only the
        # .gz file are not collected
        lost = s.write("0.log", numbered("gzonly", 0, 5))
        t1 = f"0.log.{ROTATED_SUFFIX}"
        s.rename("0.log", t1)
        new = s.write("0.log", numbered("second", 0, 3))
        with open(s.path(t1), "rb") as src, gzip.open(s.path(t1 + ".gz"), "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.unlink(s.path(t1))
        s.step(f"compressed {t1} to {t1}.gz, removed {t1}")
        r = s.run()
        s.expect_exactly(r, new, "only the 3 lines of the new 0.log (a .gz file is never read)")
        if [e for e in r.events if e.get("log.file.path", "").endswith(".gz")]:
            s.fail("no event from a .gz file", "events with a .gz path", r)
        # every line of 0.log was delivered: once rotated, it is not read again
        t2 = "0.log.20261122-110000"
        s.rename("0.log", t2)
        newer = s.write("0.log", numbered("third", 0, 2))
        r = s.run()
        s.expect_exactly(r, newer, f"only the 2 lines of the new 0.log ({t2} was delivered)")
        s.expect_exactly(s.run(), [], "a fourth run: nothing")
        leaked = set(lost) & {b for run in s.runs for b in run.bodies}
        if leaked:
            s.fail("no line that reached only the .gz file", brief(sorted(leaked)))
    # the same with copytruncate: the copy holds only delivered lines
    with Scene("copydone") as s:
        s.write("0.log", numbered("done", 0, 10))
        s.run()
        rotated = f"0.log.{ROTATED_SUFFIX}"
        shutil.copyfile(s.path("0.log"), s.path(rotated))
        s.step(f"copied 0.log to {rotated} (every line of it delivered)")
        os.truncate(s.path("0.log"), 0)
        s.step("truncated 0.log to 0 bytes")
        new = s.write("0.log", numbered("fresh", 0, 2))
        s.expect_exactly(s.run(), new, f"only the 2 new lines of 0.log ({rotated} is a copy of "
                                       f"delivered lines)")
        s.expect_exactly(s.run(), [], "a third run: nothing")


def test_container_restart():
    with Scene("restart") as s:
        s.write("0.log", numbered("attempt0", 0, 10))
        s.run()
        second = s.write("1.log", numbered("attempt1", 0, 4))
        r = s.run()
        s.expect_exactly(r, second, "the lines of 1.log, none of 0.log")
        s.check_fields(r, {b: s.path("1.log") for b in second})
        s.expect_exactly(s.run(), [], "a third run: nothing")


def _replace(s, count, prefix):
    """0.log replaced by a new file (delete, create) of count other lines."""
    ino = os.stat(s.path("0.log")).st_ino
    os.unlink(s.path("0.log"))
    s.step("deleted 0.log")
    lines = s.write("0.log", numbered(prefix, 0, count), append=False)
    return lines, os.stat(s.path("0.log")).st_ino == ino


def test_identity_change_same_name():
    notes = []
    for count in (3, 20):
        with Scene(f"replaced{count}") as s:
            s.write("0.log", numbered("original", 0, 10))
            s.run()
            new, same_inode = _replace(s, count, "replacement")
            s.step(f"the new 0.log {'reuses' if same_inode else 'has not'} the old inode number")
            notes.append(f"{count} lines: inode {'reused' if same_inode else 'new'}")
            s.expect_exactly(s.run(), new, f"the {count} lines of the new 0.log, read from 0")
            s.expect_exactly(s.run(), [], "a third run: nothing")
    # the same inode for certain: rewritten in place, longer than the
    # checkpoint, so only the fingerprint tells
    with Scene("rewritten") as s:
        s.write("0.log", numbered("original", 0, 10))
        s.run()
        before = os.stat(s.path("0.log")).st_size
        new = s.write("0.log", numbered("rewritten", 0, 20), append=False)
        s.step(f"(0.log rewritten in place: same inode, {os.stat(s.path('0.log')).st_size} "
               f"bytes, the checkpoint was at {before})")
        s.expect_exactly(s.run(), new, "the 20 lines of the rewritten 0.log, read from 0")
        s.expect_exactly(s.run(), [], "a third run: nothing")
    return "; ".join(notes)


def test_two_rotations_while_down():
    # checkpoint.h: a rotated file no checkpoint knows, written after
    # positions.json was last saved, was created and rotated away while no
    # agent ran; it is read in full
    with Scene("tworot") as s:
        s.write("0.log", numbered("gen0", 0, 10))
        s.run()
        gen0 = s.write("0.log", numbered("gen0", 10, 5))
        s.rename("0.log", f"0.log.{ROTATED_SUFFIX}")
        gen1 = s.write("0.log", numbered("gen1", 0, 3))
        s.rename("0.log", "0.log.20261122-110000")
        gen2 = s.write("0.log", numbered("gen2", 0, 2))
        s.expect_files(s.run(), [gen0, gen1, gen2],
                       "the 5 lines left in the first rotated file, the 3 of the second, the 2 "
                       "of the new 0.log")
        s.expect_exactly(s.run(), [], "a third run: nothing")


def test_tiny_file():
    with Scene("tiny") as s:
        first = s.write("0.log", ["hello"])
        s.step(f"(0.log is {os.path.getsize(s.path('0.log'))} bytes)")
        s.expect_exactly(s.run(), first, "the one line")
        second = s.write("0.log", ["world"])
        s.expect_exactly(s.run(), second, "only the appended line")
        third = s.write("0.log", ["again"])
        s.expect_exactly(s.run(), third, "only the appended line")


def test_shrunk_in_place():
    with Scene("shrunk") as s:
        s.write("0.log", numbered("long", 0, 10))
        s.run()
        with open(s.path("0.log"), "r+b") as f:
            f.truncate(0)
        s.step("truncated 0.log in place")
        new = s.write("0.log", numbered("short", 0, 3))
        s.expect_exactly(s.run(), new, "the 3 lines of the shorter content, read from 0")
        s.expect_exactly(s.run(), [], "a third run: nothing")


def test_line_cut_by_rotation():
    with Scene("cut") as s:
        s.write("0.log", numbered("whole", 0, 3))
        s.run()
        s.write("0.log", ["cut-first-half "], tag="P")
        s.rename("0.log", f"0.log.{ROTATED_SUFFIX}")
        s.write("0.log", ["cut-second-half"])
        s.write("0.log", ["after-cut"])
        s.run()
        s.run()
        bodies = [b for r in s.runs[1:] for b in r.bodies]
        text = "\n".join(bodies)
        for piece in ("cut-first-half", "cut-second-half"):
            if text.count(piece) != 1:
                s.fail(f"the text {piece!r} exactly once in the output of runs 2 and 3",
                       f"{text.count(piece)} time(s) in {bodies}")
        if bodies.count("after-cut") != 1 or any(b.startswith("whole-") for b in bodies):
            s.fail("'after-cut' once, no line of run 1 again", repr(bodies))
        s.check_fields(s.runs[1])
        joined = any("cut-first-half" in b and "cut-second-half" in b for b in bodies)
    return "the pieces came out " + ("joined" if joined else "as two events")


def test_unterminated_last_line():
    with Scene("partial") as s:
        lines = s.write("0.log", ["line-0", "line-1", "partial-tail"], last_newline=False)
        s.expect_exactly(s.run(), lines, "the 2 lines and the unterminated one")
        s.expect_exactly(s.run(), [], "the second run, nothing appended: nothing")


def _positions(s):
    with open(os.path.join(s.state_dir, "positions.json"), encoding="utf-8") as f:
        text = f.read()
    try:
        doc = json.loads(text)
    except ValueError as e:
        s.fail("positions.json is valid JSON", f"{e}: {text[:200]!r}")
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, list):
        s.fail('positions.json is an object with a "files" list', text[:200])
    return files


def test_state_files():
    with Scene("state") as s:
        assert not os.path.exists(s.state_dir)
        s.write("0.log", numbered("state", 0, 10))
        for i in range(2):
            s.run(umask=0)  # the modes must not depend on the umask
            s.step("(the agent ran with umask 0)")
            mode = stat.S_IMODE(os.stat(s.state_dir).st_mode)
            if mode != 0o700:
                s.fail("the state dir created with mode 0700", oct(mode))
            pos = os.path.join(s.state_dir, "positions.json")
            mode = stat.S_IMODE(os.stat(pos).st_mode)
            if mode != 0o600:
                s.fail("positions.json with mode 0600", oct(mode))
            left = sorted(set(os.listdir(s.state_dir)) - {"positions.json"})
            if left:
                s.fail("only positions.json in the state dir (no positions.json.tmp)", left)
            files = _positions(s)
            st = os.stat(s.path("0.log"))
            mine = [f for f in files if isinstance(f, dict) and f.get("path") == s.path("0.log")]
            if len(mine) != 1 or str(mine[0].get("offset")) != str(st.st_size) or \
                    str(mine[0].get("ino")) != str(st.st_ino):
                s.fail(f"one entry for 0.log with offset {st.st_size} (its size) and ino "
                       f"{st.st_ino}", json.dumps(files)[:400])
            if i == 0:
                s.write("0.log", numbered("state", 10, 3))


def test_corrupt_positions():
    corrupt = [("garbage", b"\x00\xffnot json at all {{{"),
               ("empty", b""),
               ("cut short", b'{"version":1,"files":[{"path":"/var/log/po')]
    with Scene("corrupt") as s:
        lines = s.write("0.log", numbered("again", 0, 10))
        s.expect_exactly(s.run(), lines, "the first run: the 10 lines")
        pos = os.path.join(s.state_dir, "positions.json")
        bad = pos + ".bad"
        for what, data in corrupt:
            with open(pos, "wb") as f:
                f.write(data)
            s.step(f"replaced positions.json with {what} ({len(data)} bytes)")
            r = s.run()
            if not [e for e in r.log_lines(level="error", text=pos)]:
                s.fail(f"an error line naming {pos}", "none")
            try:
                with open(bad, "rb") as f:
                    kept = f.read()
            except OSError as e:
                s.fail("the corrupt file kept as positions.json.bad", str(e))
            if kept != data:
                s.fail(f"positions.json.bad holds the corrupt file {data[:40]!r}", repr(kept[:40]))
            s.expect_exactly(r, lines, f"positions.json {what}: the 10 lines again, read from 0")
            _positions(s)
        s.expect_exactly(s.run(), [], "a run after the new positions.json was saved: nothing")


TESTS = [
    test_resume,
    test_rotation_by_rename_while_down,
    test_copytruncate_while_down,
    test_copytruncate_new_content_longer,
    test_gzip_and_delivered_rotated_files,
    test_container_restart,
    test_identity_change_same_name,
    test_two_rotations_while_down,
    test_tiny_file,
    test_shrunk_in_place,
    test_line_cut_by_rotation,
    test_unterminated_last_line,
    test_state_files,
    test_corrupt_positions,
]


if __name__ == "__main__":
    sys.exit(node.run_tests(TESTS, need_node=False))
