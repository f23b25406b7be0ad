"""End-to-end: SIGKILL at random moments loses no log line.

Writers play 50 containers' CRI log files under a pods log dir: lines of
known content (some long ones as P + F pieces), kubelet-style rotation
(rename to <n>.log.<time>, new <n>.log), copytruncate (copy, then truncate in
place), container restarts (<n+1>.log), and deletion of rotated files once
their lines were delivered. Meanwhile the real build/glimpse is killed with
SIGKILL at random moments and started again on the same state dir, at
least 20 times. After the last start the writers stop and the agent must
deliver every line written at least once, none corrupted; duplicates (from
the batches not yet confirmed at each kill) are counted and must stay within
what was written in the checkpoint interval plus the sink's flush time
around each kill.

    python3 tests/e2e/test_chaos.py [--kills N] [--containers N]

tests/bench/chaos.py runs the same at a larger size.
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import node  # noqa: E402

CHECKPOINT_MS = 200


def payload(cid, seq):
    """The message of line seq of container cid: deterministic, 20..400 bytes."""
    h = hashlib.sha1(f"{cid}/{seq}".encode()).hexdigest()
    return (h * 10)[: 20 + int(h[:4], 16) % 380]


def message(cid, seq):
    return f"c{cid} n{seq} {payload(cid, seq)}"


def cri_time():
    t = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9)) + f".{t % 10**9:09d}Z"


class Container:
    def __init__(self, root, cid):
        self.cid = cid
        self.dir = os.path.join(root, f"chaos_pod-{cid}_{cid:08d}-0000-4000-8000-000000000000",
                                "app")
        os.makedirs(self.dir)
        self.restart = 0
        self.seq = 0
        self.rotated = []  # (path, last seq in it), oldest first
        self.fresh_since = None  # when the live file got its first bytes

    @property
    def live(self):
        return os.path.join(self.dir, f"{self.restart}.log")


class Writers:
    """Writes, rotates, copytruncates, restarts, in a thread."""

    def __init__(self, root, n, seed, lines_per_s):
        self.rng = random.Random(seed)
        self.containers = [Container(root, i) for i in range(n)]
        self.lines_per_s = lines_per_s
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.counts = {"lines": 0, "pieces": 0, "renames": 0, "copytruncates": 0,
                       "restarts": 0, "deleted": 0}
        self.thread = threading.Thread(target=self.run, daemon=True)

    def write_lines(self, c, k):
        out = []
        for _ in range(k):
            c.seq += 1
            msg = message(c.cid, c.seq)
            stream = "stderr" if c.seq % 20 == 0 else "stdout"
            if c.seq % 25 == 0:
                cut = len(msg) // 2
                out.append(f"{cri_time()} {stream} P {msg[:cut]}\n")
                out.append(f"{cri_time()} {stream} F {msg[cut:]}\n")
                self.counts["pieces"] += 1
            else:
                out.append(f"{cri_time()} {stream} F {msg}\n")
        with open(c.live, "a", encoding="utf-8") as f:
            f.write("".join(out))
        if c.fresh_since is None:
            c.fresh_since = time.monotonic()
        self.counts["lines"] += k

    def rotated_name(self, c):
        return f"{c.live}.{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}"

    def step(self):
        c = self.rng.choice(self.containers)
        with self.lock:
            self.write_lines(c, self.rng.randint(1, 8))
            r = self.rng.random()
            # a file is rotated once its content is 100 ms old, as rotation
            # tools do (a file written and rotated away within the agent's
            # reaction time, before it read a byte, is a documented limit)
            if time.monotonic() - c.fresh_since < 0.1:
                return
            if r < 0.01:
                dst = self.rotated_name(c)
                os.rename(c.live, dst)
                c.rotated.append((dst, c.seq))
                c.fresh_since = None
                self.counts["renames"] += 1
            elif r < 0.02:
                dst = self.rotated_name(c)
                shutil.copyfile(c.live, dst)
                with open(c.live, "r+b") as f:
                    f.truncate(0)
                c.rotated.append((dst, c.seq))
                c.fresh_since = None
                self.counts["copytruncates"] += 1
            elif r < 0.024:
                c.restart += 1
                c.fresh_since = None
                self.counts["restarts"] += 1

    def run(self):
        interval = 4.5 / self.lines_per_s  # ~4.5 lines per step
        while not self.stop.is_set():
            self.step()
            time.sleep(interval)

    def delete_delivered(self, seen):
        """Deletes rotated files whose last line was delivered (as the kubelet
        deletes old rotated files long after they were collected)."""
        with self.lock:
            for c in self.containers:
                keep = []
                for path, last in c.rotated:
                    if (c.cid, last) in seen:
                        os.unlink(path)
                        self.counts["deleted"] += 1
                    else:
                        keep.append((path, last))
                c.rotated = keep

    def written(self):
        return {(c.cid, s) for c in self.containers for s in range(1, c.seq + 1)}


class Output:
    """The output file, read as it grows: delivered lines by (container, seq)."""

    def __init__(self, path):
        self.reader = node.OutputReader(path)
        self.seen = {}
        self.corrupt = []

    def poll(self):
        for e in self.reader.poll():
            if e.get("kind") != "log":
                continue
            body = e.get("body", "")
            parts = body.split(" ", 2)
            try:
                cid, seq = int(parts[0][1:]), int(parts[1][1:])
            except (IndexError, ValueError):
                self.corrupt.append(body[:120])
                continue
            if body != message(cid, seq):
                self.corrupt.append(body[:120])
                continue
            self.seen[(cid, seq)] = self.seen.get((cid, seq), 0) + 1
        return self.seen


def start_agent(glimpse, work, pods, state, out, run):
    err = open(os.path.join(work, f"stderr-{run}.log"), "wb")
    argv = [glimpse, "--docker-root", "", "--pods-log-dir", pods, "--state-dir", state, "--output", f"file:{out}",
            "--kubelet-url", "http://127.0.0.1:9", "--metadata-wait-ms", "0",
            "--checkpoint-interval-ms", str(CHECKPOINT_MS), "--rescan-interval-s", "1",
            "--log-level", "info"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=err, cwd=work)
    err.close()
    return proc


def stderr_text(work, run):
    with open(os.path.join(work, f"stderr-{run}.log"), encoding="utf-8", errors="replace") as f:
        return f.read()


def chaos(kills=20, containers=50, lines_per_s=1500, seed=None, quiet=False):
    """Runs the chaos; returns a dict of figures. Raises AssertionError on loss
    or corruption or an agent that fails."""
    if not os.access(node.GLIMPSE_BIN, os.X_OK):
        raise node.GlimpseUnavailable(f"glimpse is not built ({node.GLIMPSE_BIN} missing)")
    if os.geteuid() != 0:
        raise node.Skip("not root (the agent loads BPF programs)")
    seed = seed if seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="glimpse-chaos-")
    procs = []
    try:
        pods = os.path.join(work, "pods")
        state = os.path.join(work, "state")
        out = os.path.join(work, "out.ndjson")
        os.makedirs(pods)
        writers = Writers(pods, containers, seed, lines_per_s)
        output = Output(out)
        killed_at = []
        for run in range(kills):
            proc = start_agent(node.GLIMPSE_BIN, work, pods, state, out, run)
            procs.append(proc)
            if run == 0:
                # the agent's first start sees no files: rotated files that
                # exist before any agent ran are not its to read
                time.sleep(0.5)
                writers.thread.start()
            time.sleep(rng.uniform(0.3, 1.2))
            if proc.poll() is not None:
                raise AssertionError(f"run {run}: glimpse exited {proc.returncode} before its "
                                     f"kill; stderr ends:\n{stderr_text(work, run)[-2000:]}")
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed_at.append(writers.counts["lines"])
            writers.delete_delivered(output.poll())
            time.sleep(rng.uniform(0, 0.3))  # the agent is down a while
        proc = start_agent(node.GLIMPSE_BIN, work, pods, state, out, kills)
        procs.append(proc)
        time.sleep(0.5)
        writers.stop.set()
        writers.thread.join()
        written = writers.written()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen = output.poll()
            if written <= seen.keys():
                break
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        seen = output.poll()
        last_err = stderr_text(work, kills)
        missing = sorted(written - seen.keys())
        extra = sorted(seen.keys() - written)
        dups = sum(n - 1 for n in seen.values() if n > 1)
        figures = dict(seed=seed, kills=kills, containers=containers, written=len(written),
                       delivered=len(seen), missing=len(missing), duplicates=dups,
                       corrupt=len(output.corrupt), bad_json=len(output.reader.bad),
                       **writers.counts)
        # the unconfirmed batch at a kill: what was written over the checkpoint
        # interval plus the time to flush and confirm it (0.3 s)
        bound = kills * lines_per_s * (CHECKPOINT_MS / 1000 + 0.3)
        figures["duplicate_bound"] = int(bound)
        if not quiet:
            print("    " + json.dumps(figures), flush=True)
        sanitizer = [l for l in last_err.splitlines()
                     if "AddressSanitizer" in l or "runtime error:" in l or
                     "LeakSanitizer" in l]
        problems = []
        if missing:
            problems.append(f"{len(missing)} lines never delivered, first {missing[:10]}")
        if extra:
            problems.append(f"{len(extra)} lines delivered that were never written: {extra[:5]}")
        if output.corrupt or output.reader.bad:
            problems.append(f"corrupt events: {output.corrupt[:3]} "
                            f"{[b[:80] for b in output.reader.bad[:3]]}")
        if dups > bound:
            problems.append(f"{dups} duplicates, more than the bound {int(bound)}")
        if code != 0 or sanitizer:
            problems.append(f"last run exited {code} on SIGTERM; {len(sanitizer)} sanitizer "
                            "lines")
        if problems:
            raise AssertionError(f"seed {seed}: " + "; ".join(problems) +
                                 f"\nlast run's stderr ends:\n{last_err[-3000:]}")
        return figures
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if os.environ.get("GLIMPSE_CHAOS_KEEP"):
            print(f"    kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)


def test_sigkill_loses_nothing():
    f = chaos(kills=int(os.environ.get("GLIMPSE_CHAOS_KILLS", "20")), quiet=True)
    return (f"{f['kills']} kills, {f['written']} lines ({f['renames']} renames, "
            f"{f['copytruncates']} copytruncates, {f['restarts']} restarts, {f['deleted']} "
            f"rotated files deleted): 0 missing, {f['duplicates']} duplicates "
            f"(bound {f['duplicate_bound']}), seed {f['seed']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int)
    ap.add_argument("--containers", type=int, default=50)
    ap.add_argument("--seed", type=int)
    args = ap.parse_args()
    if args.kills or args.seed is not None:
        chaos(kills=args.kills or 20, containers=args.containers, seed=args.seed)
        return 0
    return node.run_tests([test_sigkill_loses_nothing], need_node=False)


if __name__ == "__main__":
    sys.exit(main())
