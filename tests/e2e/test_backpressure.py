"""End-to-end: a sink that takes nothing holds memory at the cap, and loses
nothing when it takes again.

glimpse reads 60 MB of CRI logs (--exit-on-eof, no BPF needed) into stdout,
a pipe the test does not read for a while: reading must pause once the
output holds --max-queued-bytes. The run is made twice, with a cap of 1 MiB
and of 8 MiB: the peak resident memory of the second may exceed the first's
by about the difference of the caps, not by the 60 MB (150 MB as events)
that would pile up without backpressure. Then the test reads the pipe:
every line comes out exactly once and the agent exits 0.

    python3 tests/e2e/test_backpressure.py [--stall-s 60]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import node  # noqa: E402

CAP_MB = 8
SMALL_CAP_MB = 1
FILES = 6
LINES = 50000  # per file, 200 bytes each: 60 MB in all


def write_logs(pods):
    body = "x" * 160
    for i in range(FILES):
        d = os.path.join(pods, f"bp_pod-{i}_{i:08d}-0000-4000-8000-000000000000", "app")
        os.makedirs(d)
        with open(os.path.join(d, "0.log"), "w", encoding="ascii") as f:
            f.write("".join(f"2026-11-22T10:00:00.000000000Z stdout F f{i} n{n:06d} {body}\n"
                            for n in range(LINES)))


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run(stall_s, cap_mb=CAP_MB):
    if not os.access(node.GLIMPSE_BIN, os.X_OK):
        raise node.Skip(f"glimpse is not built ({node.GLIMPSE_BIN} missing)")
    work = tempfile.mkdtemp(prefix="glimpse-bp-")
    proc = None
    try:
        pods = os.path.join(work, "pods")
        write_logs(pods)
        argv = [node.GLIMPSE_BIN, "--exit-on-eof", "--docker-root", "", "--pods-log-dir", pods,
                "--state-dir", os.path.join(work, "state"), "--output", "stdout",
                "--kubelet-url", "http://127.0.0.1:9", "--metadata-wait-ms", "0",
                "--max-queued-bytes", str(cap_mb << 20), "--log-level", "info"]
        err = open(os.path.join(work, "stderr.log"), "wb")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=err)
        err.close()
        peak = 0
        end = time.monotonic() + stall_s
        while time.monotonic() < end and proc.poll() is None:
            peak = max(peak, rss_kb(proc.pid) or 0)
            time.sleep(0.1)
        if proc.poll() is not None:
            raise AssertionError(f"glimpse exited ({proc.returncode}) while its output was "
                                 "not read")
        counts = {}
        bad = []

        def drain():
            for line in proc.stdout:
                try:
                    body = json.loads(line)["body"]
                    key = tuple(body.split(" ", 2)[:2])
                except (ValueError, KeyError):
                    bad.append(line[:100])
                    continue
                counts[key] = counts.get(key, 0) + 1

        reader = threading.Thread(target=drain)
        reader.start()
        code = proc.wait(timeout=120)
        reader.join()
        with open(os.path.join(work, "stderr.log"), encoding="utf-8", errors="replace") as f:
            stderr = f.read()
        stopped = [json.loads(l) for l in stderr.splitlines()
                   if l.startswith("{") and '"msg":"stopped"' in l]
        expected = FILES * LINES
        dups = sum(n - 1 for n in counts.values())
        figures = dict(stall_s=stall_s, cap_mb=cap_mb, rss_peak_mb=round(peak / 1024, 1),
                       lines=len(counts), expected=expected, duplicates=dups,
                       paused=stopped[0].get("reading_paused") if stopped else None)
        problems = []
        if code != 0:
            problems.append(f"exit {code}")
        if bad:
            problems.append(f"{len(bad)} lines not JSON: {bad[:2]}")
        if len(counts) != expected or dups:
            problems.append(f"{len(counts)} of {expected} lines, {dups} duplicated")
        if not stopped or not stopped[0].get("reading_paused"):
            problems.append("reading never paused")
        if problems:
            raise AssertionError("; ".join(problems) + f"\n{json.dumps(figures)}\n"
                                 f"stderr ends:\n{stderr[-2000:]}")
        return figures
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def test_stalled_output_holds_memory_at_cap():
    stall = float(os.environ.get("GLIMPSE_STALL_S", "5"))
    small = run(stall, SMALL_CAP_MB)
    f = run(stall, CAP_MB)
    # the queue may pass the cap by one read turn's events (1 MiB read, as
    # events ~3 MiB), a growing buffer doubles, and the sanitizers' allocator
    # keeps freed blocks a while: three times the difference of the caps plus
    # slack. Without backpressure the 150 MB of events would pile up.
    growth = f["rss_peak_mb"] - small["rss_peak_mb"]
    if growth > 3 * (CAP_MB - SMALL_CAP_MB) + 8:
        raise AssertionError(f"peak RSS {f['rss_peak_mb']} MiB with a {CAP_MB} MiB cap, "
                             f"{small['rss_peak_mb']} MiB with {SMALL_CAP_MB} MiB: the cap "
                             "does not hold")
    return (f"output stalled {stall:.0f} s: peak RSS {small['rss_peak_mb']} MiB with a "
            f"{SMALL_CAP_MB} MiB cap, {f['rss_peak_mb']} MiB with {CAP_MB} MiB; then "
            f"{f['lines']} of {f['expected']} lines, 0 lost, 0 duplicated")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stall-s", type=float)
    args = ap.parse_args()
    if args.stall_s:
        print(json.dumps(run(args.stall_s)))
        return 0
    return node.run_tests([test_stalled_output_holds_memory_at_cap], need_node=False)

if __name__ == "__main__":
    sys.exit(main())
