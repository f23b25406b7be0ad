"""Benchmark: how fast events go out through each output, against the file
output in the same run.

gen_cri.c writes one CRI log file (--size-mb, default 128 MiB; the same
bytes as throughput.py writes at that size), then `glimpse --exit-on-eof`
reads it to its end, delivers every event, saves its positions and exits,
once per output:

  file    --output file:<tmp>/out.json (the baseline: write(2) and an fsync)
  kafka   --output kafka://<mock>/bench.{kind}: librdkafka's mock cluster,
          3 brokers on 127.0.0.1 in another process (build/test/kafkamock),
          a fresh one per run; the agent exits only once every message is
          acknowledged (acks=all). The messages are then counted from the
          topic's high watermarks.
  http    --output http://127.0.0.1:<port>/ingest (NDJSON), when the agent
          has that output: a Python server in this process that counts the
          lines of each POST and answers 200.

The mock brokers and the HTTP server share the machine's 2 CPUs with the
agent, so these figures include their cost: they are what one node can
push to a local receiver, not what a remote Kafka cluster takes. Prints per
output the wall time, MB/s of the log file, events/s, the agent's CPU time
(wait4) and CPU seconds per GB of log, its peak RSS, what the receiver got,
and the ratios to the file output. Exits 1 when a run fails or a receiver
did not get every event.

    GLIMPSE_BIN=build/glimpse python3 tests/bench/outputs.py [--size-mb 128]
        [--outputs file,kafka,http] [--keep]
"""

import argparse
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

import kafka  # noqa: E402
import node  # noqa: E402
import throughput  # noqa: E402


class Ingest(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), IngestHandler)
        self.lines = 0
        self.bytes = 0
        self.posts = 0
        self.lock = threading.Lock()


class IngestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with self.server.lock:
            self.server.lines += body.count(b"\n")
            self.server.bytes += len(body)
            self.server.posts += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def has_http_output():
    out = subprocess.run([node.GLIMPSE_BIN, "--help"], capture_output=True, text=True).stdout
    return "http://" in out


def run_glimpse(args, workdir, pods_dir, name, output):
    state = os.path.join(workdir, f"state-{name}")
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(state)
    err_path = os.path.join(workdir, f"glimpse-{name}.stderr")
    argv = [node.GLIMPSE_BIN, "--exit-on-eof", "--docker-root", "", "--pods-log-dir", pods_dir,
            "--output", output, "--state-dir", state, "--kubelet-url", "http://127.0.0.1:9",
            "--metadata-wait-ms", "0", "--log-level", "warn"]
    with open(err_path, "wb") as err, open(os.devnull, "wb") as devnull:
        r = throughput.run_measured(argv, devnull, err, args.timeout)
    if r.code != 0:
        with open(err_path, errors="replace") as f:
            tail = f.read()[-1500:]
        raise RuntimeError(f"glimpse ({name}) exited {r.code}: {tail}")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=128, help="size of the log file in MiB")
    ap.add_argument("--outputs", default="file,kafka,http", help="which outputs to run")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    wanted = [o for o in args.outputs.split(",") if o]
    if not os.access(node.GLIMPSE_BIN, os.X_OK):
        print(f"skip: glimpse is not built ({node.GLIMPSE_BIN} missing)")
        return 0
    workdir = tempfile.mkdtemp(prefix="glimpse-bench-outputs-")
    try:
        return bench(args, wanted, workdir)
    except RuntimeError as e:
        print(f"error: {e}")
        return 1
    finally:
        if args.keep:
            print(f"kept                {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def bench(args, wanted, workdir):
    pods_dir = os.path.join(workdir, "pods")
    log_path = os.path.join(pods_dir, throughput.POD_DIR, "app", "0.log")
    print(f"outputs benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, "
          f"{node.machine_description()}")
    counts, gen_s, _ = throughput.generate(workdir, log_path, args.size_mb)
    size, events = counts["bytes"], counts["events"]
    print(f"log file            {size / (1 << 20):.1f} MiB, {events} messages "
          f"(generated in {gen_s:.1f} s)")
    with open(log_path, "rb") as f:  # warm the page cache for every run alike
        while f.read(throughput.CHUNK):
            pass
    results = {}
    failed = False
    for name in wanted:
        got, extra = None, ""
        if name == "file":
            out = os.path.join(workdir, "out.json")
            r = run_glimpse(args, workdir, pods_dir, name, f"file:{out}")
            with open(out, "rb") as f:
                got = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
            extra = f"output {os.path.getsize(out) / 1e6:.0f} MB"
            os.remove(out)
        elif name == "kafka":
            ok, why = kafka.available()
            if not ok:
                print(f"kafka               skip: {why}")
                continue
            with kafka.KafkaMock() as k:
                r = run_glimpse(args, workdir, pods_dir, name,
                                f"kafka://{k.bootstrap}/bench.{{kind}}")
                got = k.count("bench.log")
            extra = "3 mock brokers, lz4, acks=all, idempotent"
        elif name == "http":
            if not has_http_output():
                print("http                skip: this glimpse has no http output")
                continue
            srv = Ingest()
            t = threading.Thread(target=srv.serve_forever, daemon=True)
            t.start()
            try:
                r = run_glimpse(args, workdir, pods_dir, name,
                                f"http://127.0.0.1:{srv.server_address[1]}/ingest")
            finally:
                srv.shutdown()
                srv.server_close()
            got = srv.lines
            extra = f"{srv.posts} POSTs, {srv.bytes / 1e6:.0f} MB of NDJSON"
        else:
            print(f"{name:<19} skip: unknown output")
            continue
        results[name] = r
        mbs = throughput.rate(size, r.wall_s)
        print(f"{name:<19} {r.wall_s:.2f} s, {mbs:.1f} MB/s, {events / r.wall_s:.0f} events/s, "
              f"CPU {r.cpu_s:.2f} s ({r.cpu_s / (size / 1e9):.2f} s per GB), "
              f"peak RSS {r.max_rss_kib / 1024:.1f} MiB; received {got} / {events}; {extra}")
        if got != events:
            print(f"error               {name}: the receiver got {got} events, expected {events}")
            failed = True
    base = results.get("file")
    for name, r in results.items():
        if base and name != "file":
            print(f"{name} / file" + " " * (14 - len(name)) +
                  f"wall {r.wall_s / base.wall_s:.2f}x, CPU {r.cpu_s / base.cpu_s:.2f}x")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
