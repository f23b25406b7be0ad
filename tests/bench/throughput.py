"""Benchmark: how fast glimpse turns one big CRI log file into events.

Writes a CRI log file of --size-mb MiB (default 1024) with tests/bench/gen_cri.c
at <dir>/pods/bench_throughput_00000000-0000-0000-0000-000000000001/app/0.log:
lines "2026-11-22T10:00:00.123456789Z stdout F <message>", messages of 80 to
1,000 bytes of log-like ASCII with a sprinkling of quotes, backslashes, tabs
and UTF-8 words, ~5 % on stderr, ~2 % written as a partial line (P) followed
by the F line that completes it; the same bytes every time (fixed seed).
Then, in the same run, on that file:

1. the baseline: tests/bench/read_baseline.c reads it with read(2) into a
   1 MiB buffer and counts its lines with memchr, the least any reader does;
2. glimpse --exit-on-eof, which reads every file under the pods log dir to its
   end, writes the events to <dir>/out.json, saves its positions in
   <dir>/state and exits; the kubelet URL points at a closed port and
   --metadata-wait-ms is 0, so the lines go out without pod metadata at once.

The page cache is not dropped (that needs root): both read a warm cache, the
baseline first. Prints wall time, MB/s (10^6 bytes of the file per second of
wall time), CPU time (user + sys of the child, from wait4) and CPU seconds per
GB (10^9 bytes) of each, glimpse's peak RSS, and the ratio of glimpse's MB/s
to the baseline's. Checks that glimpse exited 0 and wrote exactly one log
event per message (lines minus the P lines joined to the next), as many of
them on stderr as were written there, and the first and last messages as
they are in the file; otherwise it says what differs and exits 1.

Runs as any user. Everything is made in a new temporary directory (under
$TMPDIR, else /tmp), removed at the end unless --keep; --dir DIR works in DIR
instead (made when missing, never removed) and reuses a log file it generated
there before with the same size, seed and generator. glimpse's output is
written there too: TMPDIR=/dev/shm takes the disk (write-back, and the fsyncs
glimpse makes before it saves positions) out of its figures.

    GLIMPSE_BIN=build/glimpse python3 tests/bench/throughput.py [--size-mb 1024] [--keep]
        [--dir DIR] [--timeout 600]

GLIMPSE_GEN_CRI and GLIMPSE_READ_BASELINE name the helper programs (default
build/test/gen_cri and build/test/read_baseline; compiled with cc into the
working directory when missing).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

import node  # noqa: E402

POD_DIR = "bench_throughput_00000000-0000-0000-0000-000000000001"
SEED = 1
CHUNK = 16 << 20


class Run:
    """What one measured child process did."""

    def __init__(self, code, wall_s, cpu_s, max_rss_kib, timed_out):
        self.code = code
        self.wall_s = wall_s
        self.cpu_s = cpu_s
        self.max_rss_kib = max_rss_kib
        self.timed_out = timed_out


def run_measured(argv, stdout, stderr, timeout):
    """Runs argv to its end; wall time around it, CPU time and peak RSS from
    wait4. Killed (SIGKILL) after timeout seconds."""
    lock = threading.Lock()
    state = {"exited": False, "killed": False}
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)

    def kill():
        with lock:
            if not state["exited"]:
                state["killed"] = True
                proc.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        # waits without reaping, so the pid cannot be reused before the timer is off
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        wall = time.monotonic() - t0
        with lock:
            state["exited"] = True
        _, status, ru = os.wait4(proc.pid, 0)
    except BaseException:
        proc.kill()  # does nothing once the child is reaped
        proc.wait()
        raise
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(proc.returncode, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, state["killed"])


def helper_binary(env_name, name, workdir):
    """The helper program built by make, else compiled with cc into workdir."""
    path = node._repo_path(env_name, f"build/test/{name}")
    if os.access(path, os.X_OK):
        return path
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError(f"{path} is missing and there is no cc to build it")
    out = os.path.join(workdir, name)
    src = os.path.join(HERE, f"{name}.c")
    proc = subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-O2", "-o", out, src],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"could not build {src}: {proc.stderr.strip()}")
    return out


def parse_counts(text):
    """'name value' lines, as gen_cri and read_baseline print them."""
    counts = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if value:
            counts[name] = int(value)
    return counts


def generate(workdir, log_path, size_mb):
    """Writes the log file unless the one in workdir is what this run would
    write. Returns (gen_cri's counts, seconds spent, whether it was reused)."""
    stamp_path = os.path.join(workdir, "gen.json")
    with open(os.path.join(HERE, "gen_cri.c"), "rb") as f:
        source_hash = hashlib.sha256(f.read()).hexdigest()
    want = {"size_mb": size_mb, "seed": SEED, "gen_cri.c": source_hash}
    try:
        with open(stamp_path) as f:
            stamp = json.load(f)
        if ({k: stamp.get(k) for k in want} == want
                and os.path.getsize(log_path) == stamp["counts"]["bytes"]):
            return stamp["counts"], 0.0, True
    except (OSError, ValueError, KeyError, TypeError):
        pass
    gen = helper_binary("GLIMPSE_GEN_CRI", "gen_cri", workdir)
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    tmp = os.path.join(workdir, "0.log.tmp")  # outside the pods log dir
    t0 = time.monotonic()
    proc = subprocess.run([gen, tmp, str(size_mb << 20), str(SEED)],
                          capture_output=True, text=True)
    took = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"gen_cri failed: {proc.stderr.strip()}")
    os.replace(tmp, log_path)
    counts = parse_counts(proc.stdout)
    with open(stamp_path, "w") as f:
        json.dump(dict(want, counts=counts), f)
    return counts, took, False


def message_at(lines):
    """The message of the CRI lines given (P lines then one F line)."""
    parts = []
    for line in lines:
        fields = line.split(b" ", 3)
        parts.append(fields[3] if len(fields) == 4 else b"")
    return b"".join(parts).decode("utf-8", "backslashreplace")


def first_and_last_messages(path):
    """The first and the last message of a CRI log file, P lines joined."""
    with open(path, "rb") as f:
        head = f.read(64 << 10).split(b"\n")[:-1]
        f.seek(max(0, os.path.getsize(path) - (64 << 10)))
        tail = f.read().split(b"\n")[1:-1]
    end = next(i for i, line in enumerate(head) if line.split(b" ", 3)[2] == b"F")
    first = message_at(head[:end + 1])
    start = len(tail) - 1
    while start > 0 and tail[start - 1].split(b" ", 3)[2] == b"P":
        start -= 1
    return first, message_at(tail[start:])


def scan_output(path):
    """Counts lines, log events and stderr events in glimpse's output, and
    parses a sample of lines (one per 16 MiB, the first and the last)."""
    lines = logs = errs = 0
    samples = []
    carry = b""
    first = last = None
    with open(path, "rb") as f:
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            data = carry + chunk
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            data = data[:cut]
            if not data:
                continue
            lines += data.count(b"\n")
            logs += data.count(b'"kind":"log"')
            errs += data.count(b'"log.iostream":"stderr"')
            samples.append(data[:data.index(b"\n")])
            if first is None:
                first = samples[-1]
            last = data[data.rfind(b"\n", 0, len(data) - 1) + 1:-1]
    if carry:
        lines += 1
        last = carry
    if last is not None:
        samples.append(last)
    return lines, logs, errs, samples, first, last


def decode_event(line, problems):
    try:
        ev = json.loads(line)
    except ValueError as e:
        problems.append(f"output line is not JSON ({e}): {line[:200]!r}")
        return None
    if not isinstance(ev, dict):
        problems.append(f"output line is not an object: {line[:200]!r}")
        return None
    return ev


def check_output(path, counts, log_path):
    """Returns (lines, log events, stderr events, output bytes, problems)."""
    problems = []
    if not os.path.exists(path):
        return 0, 0, 0, 0, [f"no output file {path}"]
    lines, logs, errs, samples, first, last = scan_output(path)
    if logs != counts["events"]:
        problems.append(f"{logs} log events, expected {counts['events']} "
                        f"({counts['lines']} lines, {counts['partial']} partial)")
    if lines != logs:
        problems.append(f"{lines - logs} output lines are not log events")
    if errs != counts["stderr"]:
        problems.append(f"{errs} events on stderr, expected {counts['stderr']}")
    for line in samples:
        ev = decode_event(line, problems)
        if ev is None:
            continue
        if (ev.get("kind") != "log" or not isinstance(ev.get("body"), str)
                or ev.get("log.iostream") not in ("stdout", "stderr")
                or not str(ev.get("time", "")).startswith("2026-11-22T10:")
                or not str(ev.get("log.file.path", "")).endswith(f"/{POD_DIR}/app/0.log")):
            problems.append(f"unexpected event: {line[:300]!r}")
    want_first, want_last = first_and_last_messages(log_path)
    for what, line, want in (("first", first, want_first), ("last", last, want_last)):
        ev = decode_event(line, problems) if line else None
        if ev is not None and ev.get("body") != want:
            problems.append(f"{what} event's body differs from the file's {what} message: "
                            f"{str(ev.get('body'))[:120]!r} vs {want[:120]!r}")
    return lines, logs, errs, os.path.getsize(path), list(dict.fromkeys(problems))


def rate(nbytes, seconds):
    return nbytes / seconds / 1e6 if seconds > 0 else float("inf")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=1024, help="size of the log file in MiB")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--dir", help="work in DIR (kept), reusing a log file generated there")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds glimpse may take before it is killed")
    args = ap.parse_args()
    if args.size_mb <= 0:
        ap.error("--size-mb must be positive")

    if not os.access(node.GLIMPSE_BIN, os.X_OK):
        print(f"skip: glimpse is not built ({node.GLIMPSE_BIN} missing)")
        return 0
    if args.dir:
        workdir = os.path.abspath(args.dir)
        os.makedirs(workdir, exist_ok=True)
    else:
        workdir = tempfile.mkdtemp(prefix="glimpse-bench-throughput-")
    try:
        return run(args, workdir)
    finally:
        if args.dir or args.keep:
            print(f"kept                {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, workdir):
    pods_dir = os.path.join(workdir, "pods")
    log_path = os.path.join(pods_dir, POD_DIR, "app", "0.log")
    out_path = os.path.join(workdir, "out.json")
    state_dir = os.path.join(workdir, "state")
    err_path = os.path.join(workdir, "glimpse.stderr")

    print(f"throughput benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, "
          f"{node.machine_description()}")
    try:
        counts, gen_s, reused = generate(workdir, log_path, args.size_mb)
        baseline = helper_binary("GLIMPSE_READ_BASELINE", "read_baseline", workdir)
    except RuntimeError as e:
        print(f"error: {e}")
        return 1
    size = counts["bytes"]
    print(f"log file            {size / (1 << 20):.1f} MiB ({size} bytes), "
          f"{counts['lines']} lines, {counts['partial']} partial, "
          f"{counts['events']} messages, {counts['stderr']} on stderr")
    print("                    " + ("reused from an earlier run" if reused
                                    else f"generated in {gen_s:.1f} s"))

    # The baseline reads first; a reused file is read once more before, so
    # that both measured reads find it in the page cache.
    for _ in range(2 if reused else 1):
        with open(os.devnull, "wb") as devnull:
            with tempfile.TemporaryFile() as out:
                base = run_measured([baseline, log_path], out, devnull, args.timeout)
                out.seek(0)
                seen = parse_counts(out.read().decode())
    print("page cache          warm, not dropped: " +
          ("the file was just written" if not reused else "the file was read once before")
          + "; the baseline reads it first, then glimpse")
    if base.code != 0 or seen.get("lines") != counts["lines"] or seen.get("bytes") != size:
        print(f"error: the baseline exited {base.code} having read {seen}")
        return 1
    base_mbs = rate(size, base.wall_s)
    print(f"baseline read       {base.wall_s:.2f} s, {base_mbs:.0f} MB/s, CPU {base.cpu_s:.2f} s "
          f"({base.cpu_s / (size / 1e9):.2f} s per GB), {seen['lines']} lines counted")

    for path in (out_path, err_path):
        if os.path.exists(path):
            os.remove(path)
    shutil.rmtree(state_dir, ignore_errors=True)
    os.makedirs(state_dir)
    argv = [node.GLIMPSE_BIN, "--exit-on-eof", "--docker-root", "", "--pods-log-dir", pods_dir,
            "--output", f"file:{out_path}", "--state-dir", state_dir,
            "--kubelet-url", "http://127.0.0.1:9", "--metadata-wait-ms", "0",
            "--log-level", "warn"]
    with open(err_path, "wb") as err, open(os.devnull, "wb") as devnull:
        g = run_measured(argv, devnull, err, args.timeout)
    with open(err_path, "rb") as f:
        err_lines = f.read().decode("utf-8", "replace").splitlines()
    if g.code != 0:
        how = f"killed after {args.timeout:.0f} s" if g.timed_out else f"exited {g.code}"
        print(f"glimpse             {how}; its stderr:")
        for line in err_lines[-20:]:
            print(f"    {line}")
        return 1

    g_mbs = rate(size, g.wall_s)
    print(f"glimpse             {g.wall_s:.2f} s, {g_mbs:.1f} MB/s, CPU {g.cpu_s:.2f} s "
          f"({g.cpu_s / (size / 1e9):.2f} s per GB), peak RSS {g.max_rss_kib / 1024:.1f} MiB, "
          f"{counts['events'] / g.wall_s:.0f} events/s")
    if err_lines:
        print(f"glimpse stderr      {len(err_lines)} lines, the first: {err_lines[0][:200]}")
    lines, logs, errs, out_size, problems = check_output(out_path, counts, log_path)
    print(f"events              {logs} / {counts['events']} expected, "
          f"{errs} / {counts['stderr']} on stderr, output {out_size / 1e6:.1f} MB")
    ratios = f"glimpse / baseline  MB/s {g_mbs / base_mbs:.4f} ({base_mbs / g_mbs:.1f}x slower)"
    if base.cpu_s > 0:
        ratios += f", CPU time {g.cpu_s / base.cpu_s:.1f}x"
    print(ratios)
    if problems:
        print("problems:")
        for p in problems:
            print(f"    {p}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
