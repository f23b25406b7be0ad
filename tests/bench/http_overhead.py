"""Benchmark: what HTTP capture costs a container that serves HTTP.

Part 1, nginx under wrk. nginx (worker_processes 1, daemon off, sendfile on,
access_log off, keepalive_requests 1000, error_log in the temp dir) serves a
612-byte static file on 127.0.0.1:<free port>. It is started inside a fresh
kubepods-style cgroup of the hierarchy the agent tracks (cgroup v2 when
/sys/fs/cgroup is cgroup2, else the v1 memory controller):
<root>/kubepods/besteffort/pod<random uuid>/<random 64 hex>; a shell writes its
own pid into cgroup.procs and execs nginx. wrk runs on the host, outside that
cgroup: `wrk -t1 -c32 -d10s http://127.0.0.1:<port>/bench.html` (one thread:
this machine has 2 CPUs, one for nginx's worker, one for wrk). --rounds
rounds (default 5) of two runs, baseline first in odd rounds, capture first in
even ones:

  baseline  no agent process at all;
  capture   build/glimpse started fresh, its "ready" line awaited, then the
            cgroup made (the agent sees the mkdir and tracks it), nginx
            started, wrk run; after it nginx is stopped, the agent's output
            file waited for until it stops growing, and the agent stopped
            (SIGTERM).

Each run uses a new cgroup and a new nginx. A 3 s wrk warm-up (no agent, not
counted) goes first. Per run: requests/s, how busy the machine was and its CPU
time per request (/proc/stat); for capture runs also captured = server-side
http events whose url.path is /bench.html / wrk's request count (requests
wrk sent but did not count when it stopped can push it a hair over 100 %;
those are often incomplete: wrk closed the connection first), the agent's CPU
seconds while wrk ran (utime + stime deltas of /proc/<pid>/stat) and over its
whole life (wait4), and the counters of its "stopped" line (http_dropped =
ring-buffer drops, http_incomplete, http_desyncs, ...). Then the medians, the
ratio capture / baseline of requests/s (of the medians, and per round) and the
throughput loss, against the goal: loss < 5 %, >= 99.9 % captured, 0 drops.

Part 2, the cost per syscall. tests/bench/sockloop.c (built with cc -O2 into
the temp dir) writes a message on a loopback TCP connection it made to itself
and reads it back, --pairs times (default 300,000), in a fresh kubepods-style
cgroup like nginx. --rounds alternations without the agent and with a fresh
one, 64-byte messages that are not HTTP (the agent sniffs each connection's
first bytes and then skips it: the skip path). Then once each, with and
without the agent: 18 bytes that are not HTTP, "GET / HTTP/1.1\r\n\r\n"
(18 bytes; every write and read looks like a request: the capture path, a
ring buffer record per syscall; the requests are never answered, so the agent
emits them as incomplete), and the 64-byte loop in a process outside any
container cgroup (the cost the tracepoints put on untracked processes).
Prints ns per write+read pair, the difference and the difference per syscall
(half of it). The agent's output goes to stdout, /dev/null, in these runs.
Last, a diagnostic: the same loops once more with BPF run-time statistics on
(bpf(BPF_ENABLE_STATS), undone when its fd closes; needs bpftool), giving the
time the agent's programs themselves take per pair; the rest of the
per-syscall cost is the tracepoint machinery around them.

Before and after every run it looks for what would spoil it: tracing BPF
programs of anyone else (another agent left running, someone's test with
--http-trace-host; found with bpftool), and other processes using more than a
quarter of a CPU (a build, a linter; /proc/stat over 0.5 s, the run's own
agent subtracted). Before a run it waits up to --wait-clean seconds (120)
for them to go; a run with either before or after it is marked NOT CLEAN and
its round left out of the medians (a baseline with an agent in it is no
baseline, and a busy machine slows the runs unevenly).

Exits 1 only when the run itself is broken (nginx, wrk, sockloop or the agent
failed); goals not met are printed, not failed. Needs root (BPF, cgroups):
otherwise, or without nginx or wrk ("make deps-test" installs them), prints
"skip: <reason>" and exits 0. Everything it makes (temp dir, cgroups) is
removed at the end; the processes it starts are stopped by their pids.
About 4 minutes with the defaults.

    GLIMPSE_BIN=build/glimpse python3 tests/bench/http_overhead.py [--rounds 5]
        [--duration 10] [--warmup 3] [--connections 32] [--pairs 300000]
        [--wait-clean 120] [--skip-nginx] [--keep] [--hooks auto|socket|syscall]

--hooks is given to every agent as --http-hooks (auto: the socket
tracepoints where the kernel has them, else sys_exit); each capture run
prints the hooks the agent says it took.
"""

import argparse
import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

import node  # noqa: E402  (also makes SIGTERM unwind like Ctrl-C)

FILE_NAME = "bench.html"
FILE_SIZE = 612
WORKERS = 1
WRK_THREADS = 1
CLK_TCK = os.sysconf("SC_CLK_TCK")
CGROUP_ROOT = "/sys/fs/cgroup"
EXPECTED_ROOT = None  # the hierarchy root the agent must say it tracks
HOOKS = "auto"  # --hooks: the agent's http_hooks


class Broken(Exception):
    """The run itself failed: exit 1."""


# --------------------------------------------------------------------------
# cgroups


def tracked_hierarchy_root():
    """The hierarchy the agent tracks: /sys/fs/cgroup when it is cgroup2,
    else the v1 memory controller's mount."""
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        mounts = [line.split() for line in f]
    memory = None
    for fields in mounts:
        sep = fields.index("-")
        fstype, options = fields[sep + 1], fields[sep + 3].split(",")
        if fields[4] == CGROUP_ROOT and fstype == "cgroup2":
            return CGROUP_ROOT, "cgroup v2"
        if fstype == "cgroup" and "memory" in options and fields[3] == "/":
            memory = fields[4]
    if memory:
        return memory, "cgroup v1 memory"
    raise Broken("neither cgroup2 at /sys/fs/cgroup nor a v1 memory hierarchy is mounted")


class Cgroups:
    """The kubepods-style cgroups this run makes, removed at the end."""

    def __init__(self, root):
        self.root = root
        self.made = []  # directories made, in order

    def _mkdir(self, path):
        try:
            os.mkdir(path)
        except FileExistsError:
            return
        self.made.append(path)

    def new_container(self):
        """<root>/kubepods/besteffort/pod<uuid>/<64 hex>, made now."""
        besteffort = os.path.join(self.root, "kubepods", "besteffort")
        self._mkdir(os.path.join(self.root, "kubepods"))
        self._mkdir(besteffort)
        pod = os.path.join(besteffort, f"pod{uuid.uuid4()}")
        self._mkdir(pod)
        cid = os.path.join(pod, secrets.token_hex(32))
        self._mkdir(cid)
        return cid

    def remove(self, path, timeout=10.0):
        """rmdir of a container cgroup and its pod dir once no process is left
        in it (the caller has stopped them); True when gone."""
        deadline = time.monotonic() + timeout
        for d in (path, os.path.dirname(path)):
            if d not in self.made:
                continue
            while True:
                try:
                    os.rmdir(d)
                    self.made.remove(d)
                    break
                except FileNotFoundError:
                    self.made.remove(d)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        return False
                    time.sleep(0.05)
        return True

    def remove_all(self):
        """Every cgroup made, deepest first; processes still inside (only ours
        can be) are killed by pid first."""
        left = []
        for d in reversed(list(self.made)):
            # only container cgroups hold our processes; a kubepods or
            # besteffort dir made here may be in use by others by now
            procs = read_pids(os.path.join(d, "cgroup.procs")) if is_container(d) else []
            for pid in procs:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 5
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if time.monotonic() > deadline:
                        left.append(f"{d} ({e})")
                        break
                    time.sleep(0.05)
        self.made = []
        return left


def is_container(path):
    return re.fullmatch(r"[0-9a-f]{64}", os.path.basename(path)) is not None


def read_pids(path):
    try:
        with open(path) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def spawn_in_cgroup(cgroup, argv, stdout, stderr):
    """A shell that writes its pid into the cgroup's cgroup.procs and execs
    argv: the process runs in the container cgroup from its first instruction."""
    procs = os.path.join(cgroup, "cgroup.procs")
    return subprocess.Popen(["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', procs] + argv,
                            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)


# --------------------------------------------------------------------------
# processes


def cpu_seconds(pid):
    """utime + stime of a live process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def stop_process(proc, sig=signal.SIGTERM, timeout=15.0):
    """Signals proc by pid, waits (SIGKILL after timeout). Returns (exit
    status, CPU seconds from wait4)."""
    if proc.returncode is not None:
        return proc.returncode, None
    try:
        os.kill(proc.pid, sig)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, ru.ru_utime + ru.ru_stime
        if time.monotonic() > deadline:
            os.kill(proc.pid, signal.SIGKILL)
            deadline = float("inf")
        time.sleep(0.02)


class Agent:
    """build/glimpse, fresh, in its own directory under the run's temp dir."""

    def __init__(self, workdir, name, to_file):
        self.dir = os.path.join(workdir, name)
        os.makedirs(os.path.join(self.dir, "pods"))
        os.makedirs(os.path.join(self.dir, "state"))
        self.out_path = os.path.join(self.dir, "out.json") if to_file else None
        self.err_path = os.path.join(self.dir, "stderr")
        argv = [node.GLIMPSE_BIN, "--pods-log-dir", os.path.join(self.dir, "pods"),
                "--state-dir", os.path.join(self.dir, "state"), "--docker-root", "",
                "--kubelet-url", "http://127.0.0.1:9", "--http-hooks", HOOKS,
                "--output", f"file:{self.out_path}" if to_file else "stdout"]
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.err)
        self.pid = self.proc.pid
        self.cpu_total = None
        self.stopped = None
        self.hierarchy = None
        self.hooks = None  # the way in the agent took: "socket" or "syscall"
        self._wait_ready()
        self.prog_ids = agent_prog_ids(self.pid)

    def log_lines(self):
        out = []
        with open(self.err_path, "rb") as f:
            for raw in f.read().decode("utf-8", "replace").splitlines():
                try:
                    ev = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(ev, dict):
                    out.append(ev)
        return out

    def _wait_ready(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.log_lines()
            for ev in lines:
                if str(ev.get("msg", "")).startswith("lifecycle: tracking cgroup hierarchy"):
                    self.hierarchy = ev["msg"]
                m = re.search(r"\((\w+) hooks,", str(ev.get("msg", "")))
                if m and str(ev["msg"]).startswith("http: capturing"):
                    self.hooks = m.group(1)
            if any(ev.get("msg") == "ready" for ev in lines):
                if EXPECTED_ROOT and f" at {EXPECTED_ROOT} (" not in (self.hierarchy or ""):
                    raise Broken(f"the agent tracks another hierarchy than {EXPECTED_ROOT}, "
                                 f"where the benchmark makes its cgroups: {self.hierarchy}")
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        with open(self.err_path, errors="replace") as f:
            tail = "\n    ".join(f.read().splitlines()[-10:])
        raise Broken(f"the agent (pid {self.pid}) did not log \"ready\"; "
                     f"its stderr ends:\n    {tail}")

    def cpu(self):
        return cpu_seconds(self.pid)

    def stop(self):
        """SIGTERM by pid; returns the counters of its "stopped" line."""
        code, self.cpu_total = stop_process(self.proc)
        self.err.close()
        for ev in self.log_lines():
            if ev.get("msg") == "stopped":
                self.stopped = ev
        if code != 0:
            raise Broken(f"the agent exited {code} on SIGTERM")
        if self.stopped is None:
            raise Broken("the agent logged no \"stopped\" line")
        return self.stopped

    def kill(self):
        if self.proc.returncode is None:
            stop_process(self.proc, timeout=5)
        if not self.err.closed:
            self.err.close()


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def wait_output_settled(path, quiet_s=1.0, timeout=20.0):
    """Waits until the output file stops growing for quiet_s."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = file_size(path)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return n
        time.sleep(0.2)
    return last


def scan_http_events(path, want_path):
    """Counts the http events of the output: server side with url.path
    want_path, their status codes, incomplete ones, other events."""
    counts = {"server_file": 0, "server_other": 0, "client": 0, "incomplete": 0,
              "status_not_200": 0, "not_json": 0}
    try:
        f = open(path, "rb")
    except OSError:
        return counts
    with f:
        for line in f:
            if b'"kind":"http"' not in line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                counts["not_json"] += 1
                continue
            if ev.get("http.incomplete"):
                counts["incomplete"] += 1
            if ev.get("http.side") == "server":
                if ev.get("url.path") == want_path:
                    counts["server_file"] += 1
                    if ev.get("http.response.status_code") != 200:
                        counts["status_not_200"] += 1
                else:
                    counts["server_other"] += 1
            else:
                counts["client"] += 1
    return counts


# --------------------------------------------------------------------------
# nginx and wrk


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes {workers};
user nobody nogroup;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
    sendfile on;
    keepalive_requests 1000;
    default_type text/html;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
    }}
}}
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_site(workdir):
    """nginx's directory: www/bench.html (612 bytes), tmp/, and the config
    for a port picked now. Returns (dir, config path, port)."""
    d = os.path.join(workdir, "nginx")
    os.makedirs(os.path.join(d, "www"))
    os.makedirs(os.path.join(d, "tmp"))
    body = ("<!DOCTYPE html>\n<html>\n<head><title>glimpse bench</title></head>\n<body>\n"
            "<p>A small static page for the HTTP capture overhead benchmark.</p>\n")
    filler = "<p>" + "lorem ipsum dolor sit amet " * 40
    body += filler[:FILE_SIZE - len(body) - len("</p>\n</body>\n</html>\n")]
    body += "</p>\n</body>\n</html>\n"
    assert len(body) == FILE_SIZE, len(body)
    with open(os.path.join(d, "www", FILE_NAME), "w") as f:
        f.write(body)
    # the worker runs as nobody: it must reach the file
    for p in (workdir, d, os.path.join(d, "www")):
        os.chmod(p, 0o755)
    os.chmod(os.path.join(d, "www", FILE_NAME), 0o644)
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(workers=WORKERS, dir=d, port=port))
    return d, conf, port


class Nginx:
    def __init__(self, nginx_bin, site_dir, conf, port, cgroup):
        self.port = port
        self.cgroup = cgroup
        self.log = open(os.path.join(site_dir, "nginx.stderr"), "ab")
        self.proc = spawn_in_cgroup(cgroup, [nginx_bin, "-p", site_dir + "/", "-c", conf,
                                             "-e", os.path.join(site_dir, "nginx-error.log")],
                                    subprocess.DEVNULL, self.log)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                with open(os.path.join(site_dir, "nginx-error.log"), errors="replace") as f:
                    tail = f.read()[-800:]
                raise Broken(f"nginx did not start on 127.0.0.1:{port}: {tail}")
            time.sleep(0.02)
        # the probe connection above went through the agent too: a server-side
        # exchange without a request; it is not counted (url.path differs)

    def stop(self):
        """SIGTERM to the master by pid (it stops its worker), then waits for
        the cgroup to empty."""
        stop_process(self.proc)
        deadline = time.monotonic() + 10
        while read_pids(os.path.join(self.cgroup, "cgroup.procs")):
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        self.log.close()


def wrk(port, seconds, connections):
    argv = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s",
            f"http://127.0.0.1:{port}/{FILE_NAME}"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    out = proc.stdout
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out)
    r = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if proc.returncode != 0 or not m or not r:
        raise Broken(f"wrk exited {proc.returncode}: {out.strip()} {proc.stderr.strip()}")
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests": int(m.group(1)), "rps": float(r.group(1)),
            "errors": errors.group(1).strip() if errors else None,
            "non2xx": int(non2xx.group(1)) if non2xx else 0}


def machine_cpu():
    """(busy, all) jiffies of every CPU from /proc/stat; busy excludes idle
    and iowait."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)


def nginx_run(args, kind, workdir, cgroups, nginx_bin, site, n):
    """One wrk run against a fresh nginx in a fresh cgroup; kind is "baseline"
    (no agent), "capture" (fresh agent) or "warm-up"."""
    site_dir, conf, port = site
    agent = None
    label = f"nginx run {n} ({kind})"
    result = {"kind": kind, "clean": TRACERS.wait_none(label)}
    try:
        if kind == "capture":
            agent = Agent(workdir, f"agent-nginx-{n}", to_file=True)
        cg = cgroups.new_container()
        ng = Nginx(nginx_bin, site_dir, conf, port, cg)
        try:
            cpu0 = agent.cpu() if agent else None
            busy0, all0 = machine_cpu()
            t0 = time.monotonic()
            w = wrk(port, args.warmup if kind == "warm-up" else args.duration, args.connections)
            result["wall"] = time.monotonic() - t0
            busy1, all1 = machine_cpu()
            result["busy"] = (busy1 - busy0) / (all1 - all0)
            result["machine_cpu_s"] = (busy1 - busy0) / CLK_TCK
            if agent:
                result["agent_cpu_wrk"] = agent.cpu() - cpu0
            result["clean"] &= TRACERS.check(label, agent.prog_ids if agent else (),
                                             [agent.pid] if agent else ())
        finally:
            ng.stop()
            if not cgroups.remove(cg):
                print(f"warning: cgroup {cg} could not be removed yet (retried at the end)")
        result.update(w)
        result["cpu_us_per_req"] = 1e6 * result["machine_cpu_s"] / w["requests"]
        if agent:
            wait_output_settled(agent.out_path)
            result["stopped"] = agent.stop()
            result["agent_cpu_total"] = agent.cpu_total
            result["hooks"] = agent.hooks
            result["events"] = scan_http_events(agent.out_path, "/" + FILE_NAME)
            os.remove(agent.out_path)
    finally:
        if agent:
            agent.kill()
    return result


# --------------------------------------------------------------------------
# sockloop


def build_sockloop(workdir):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise Broken("no cc to build tests/bench/sockloop.c")
    out = os.path.join(workdir, "sockloop")
    proc = subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-O2", "-o", out,
                           os.path.join(HERE, "sockloop.c")], capture_output=True, text=True)
    if proc.returncode != 0:
        raise Broken(f"could not build sockloop.c: {proc.stderr.strip()}")
    return out


def sockloop(binary, cgroups, pairs, kind, size, in_container=True, agent=None, label=""):
    """(ns per write+read pair, clean) of one sockloop run, in a fresh
    container cgroup (or on the host); clean: no one else's tracing BPF
    programs were seen before or after it."""
    argv = [binary, str(pairs), kind, str(size)]
    own = agent.prog_ids if agent else ()
    pids = [agent.pid] if agent else []
    clean = TRACERS.wait_none(label) if agent is None else TRACERS.check(label, own, pids)
    cg = cgroups.new_container() if in_container else None
    try:
        if cg:
            proc = spawn_in_cgroup(cg, argv, subprocess.PIPE, subprocess.PIPE)
        else:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(timeout=600)
        except BaseException:
            stop_process(proc, signal.SIGKILL)
            raise
    finally:
        if cg and not cgroups.remove(cg):
            print(f"warning: cgroup {cg} could not be removed yet (retried at the end)")
    clean &= TRACERS.check(label, own, pids)
    vals = {}
    for line in out.decode().splitlines():
        k, _, v = line.partition(" ")
        vals[k] = v
    if proc.returncode != 0 or "ns_per_pair" not in vals:
        raise Broken(f"sockloop {kind} exited {proc.returncode}: {err.decode().strip()}")
    return float(vals["ns_per_pair"]), clean


# --------------------------------------------------------------------------


def pct(x):
    return f"{100 * x:.3f} %"


def counters(stopped):
    keys = ("http_events", "http_records", "http_dropped", "http_incomplete", "http_desyncs",
            "http_malformed", "http_conns", "http_conns_not_http", "http_conns_dropped",
            "http_requests_dropped", "http_unpaired_responses", "http_attach_failed",
            "ringbuf_dropped")
    return ", ".join(f"{k} {stopped.get(k)}" for k in keys)


def part_nginx(args, workdir, cgroups, nginx_bin):
    site = write_site(workdir)
    print(f"nginx               {nginx_bin}, worker_processes {WORKERS}, daemon off, sendfile on, "
          f"access_log off, keepalive_requests 1000, 127.0.0.1:{site[2]}, "
          f"/{FILE_NAME} {FILE_SIZE} bytes")
    print(f"wrk                 -t{WRK_THREADS} -c{args.connections} -d{args.duration}s, "
          f"on the host (not in the cgroup)")
    print(f"cgroups             {cgroups.root}/kubepods/besteffort/pod<uuid>/<64 hex>, "
          f"a new one (and a new nginx) per run")
    print("order               rounds of one baseline (no agent) and one capture run (fresh "
          "agent), baseline first in odd rounds, capture first in even ones", flush=True)
    w = nginx_run(args, "warm-up", workdir, cgroups, nginx_bin, site, 0)
    print(f"warm-up             {w['rps']:.0f} requests/s ({args.warmup} s, not counted)",
          flush=True)

    rounds = []
    n = 0
    for rnd in range(1, args.rounds + 1):
        kinds = ["baseline", "capture"] if rnd % 2 else ["capture", "baseline"]
        got = {}
        for kind in kinds:
            n += 1
            r = nginx_run(args, kind, workdir, cgroups, nginx_bin, site, n)
            got[kind] = r
            line = (f"run {n:<2} {kind:<9} {r['rps']:9.1f} requests/s  ({r['requests']} "
                    f"requests in {r['wall']:.1f} s; machine busy {100 * r['busy']:.0f} %, "
                    f"{r['cpu_us_per_req']:.1f} CPU us per request")
            if r["errors"]:
                line += f"; socket errors: {r['errors']}"
            if r["non2xx"]:
                line += f"; {r['non2xx']} non-2xx"
            line += ")" + ("" if r["clean"] else " NOT CLEAN")
            if kind == "capture":
                ev, st = r["events"], r["stopped"]
                line += f"\n       agent took the {r['hooks']} hooks"
                r["captured"] = ev["server_file"] / r["requests"]
                line += (f"\n       captured {ev['server_file']} / {r['requests']} = "
                         f"{pct(r['captured'])}; agent CPU {r['agent_cpu_wrk']:.2f} s while wrk "
                         f"ran ({1e6 * r['agent_cpu_wrk'] / r['requests']:.2f} us per request), "
                         f"{r['agent_cpu_total']:.2f} s in all; drops {st.get('http_dropped')}, "
                         f"incomplete {st.get('http_incomplete')}, desyncs "
                         f"{st.get('http_desyncs')}"
                         f"\n       events: other server-side {ev['server_other']}, client-side "
                         f"{ev['client']}, incomplete {ev['incomplete']}, status not 200 "
                         f"{ev['status_not_200']}, not JSON {ev['not_json']}"
                         f"\n       stopped: {counters(st)}")
            print(line, flush=True)
        got["ratio"] = got["capture"]["rps"] / got["baseline"]["rps"]
        got["clean"] = got["capture"]["clean"] and got["baseline"]["clean"]
        print(f"round {rnd}             capture / baseline {got['ratio']:.4f}"
              f"{'' if got['clean'] else ' (not clean: left out of the medians)'}", flush=True)
        rounds.append(got)

    used = [g for g in rounds if g["clean"]]
    if not used:
        print("warning: no round was clean (someone else's tracing BPF programs or busy "
              "processes in each): the medians below are of every round and are NOT VALID")
        used = rounds
    elif len(used) < len(rounds):
        print(f"note: medians of the {len(used)} clean rounds of {len(rounds)}")
    rounds_all, rounds = rounds, used
    base = [g["baseline"] for g in rounds]
    cap = [g["capture"] for g in rounds]
    mb, mc = statistics.median(r["rps"] for r in base), statistics.median(r["rps"] for r in cap)
    captured = [r["captured"] for r in cap]
    drops = sum(int(r["stopped"].get("http_dropped") or 0) for r in cap)
    incomplete = sum(int(r["stopped"].get("http_incomplete") or 0) for r in cap)
    desyncs = sum(int(r["stopped"].get("http_desyncs") or 0) for r in cap)
    loss = 1 - mc / mb
    cb = statistics.median(r["cpu_us_per_req"] for r in base)
    cc = statistics.median(r["cpu_us_per_req"] for r in cap)
    ca = statistics.median(1e6 * r["agent_cpu_wrk"] / r["requests"] for r in cap)
    print(f"median              baseline {mb:.1f} requests/s, capture {mc:.1f} requests/s")
    print(f"capture / baseline  {mc / mb:.4f} (ratio of the medians), throughput loss "
          f"{100 * loss:.2f} %; median of the per-round ratios "
          f"{statistics.median(g['ratio'] for g in rounds):.4f}, range "
          f"{min(g['ratio'] for g in rounds):.4f}-{max(g['ratio'] for g in rounds):.4f}")
    print(f"captured            median {pct(statistics.median(captured))}, "
          f"lowest {pct(min(captured))}")
    print(f"agent CPU           median {statistics.median(r['agent_cpu_wrk'] for r in cap):.2f} s "
          f"while wrk ran ({args.duration} s), {ca:.2f} us per request")
    print(f"machine CPU         median {cb:.1f} us per request without the agent, {cc:.1f} with "
          f"it (+{cc - cb:.1f}: the agent's {ca:.1f}, the rest in nginx, wrk and the kernel)")
    print(f"ring-buffer drops   {drops} in all; incomplete {incomplete}, desyncs {desyncs}")
    met = loss < 0.05 and min(captured) >= 0.999 and drops == 0
    print(f"goal                loss < 5 %, >= 99.9 % captured, 0 drops: "
          f"{'met' if met else 'NOT met'}", flush=True)
    return rounds_all


def part_sockloop(args, workdir, cgroups):
    binary = build_sockloop(workdir)
    print(f"sockloop            {args.pairs} write+read pairs per run (after 1000 not timed) "
          f"over loopback TCP, a new container cgroup per run; without the agent first in odd "
          f"rounds, with a fresh agent first in even ones", flush=True)
    per = {"base": [], "agent": []}
    for i in range(1, args.rounds + 1):
        got, clean = {}, True
        for with_agent in ((False, True) if i % 2 else (True, False)):
            label = f"sockloop round {i} " + ("with" if with_agent else "without") + " the agent"
            if not with_agent:
                got["base"], ok = sockloop(binary, cgroups, args.pairs, "junk", 64, label=label)
                clean &= ok
                continue
            TRACERS.wait_none(label)
            agent = Agent(workdir, f"agent-sockloop-{i}", to_file=False)
            try:
                got["agent"], ok = sockloop(binary, cgroups, args.pairs, "junk", 64,
                                            agent=agent, label=label)
                clean &= ok
                st = agent.stop()
            finally:
                agent.kill()
        b, a = got["base"], got["agent"]
        if clean:
            per["base"].append(b)
            per["agent"].append(a)
        print(f"round {i}  64 B not HTTP   without agent {b:8.1f} ns/pair, with agent "
              f"{a:8.1f} ns/pair, {a - b:+7.1f} ns/pair ({(a - b) / 2:+.1f} ns/syscall); "
              f"agent http_records {st.get('http_records')}, conns_not_http "
              f"{st.get('http_conns_not_http')}"
              f"{'' if clean else ' NOT CLEAN (left out of the medians)'}", flush=True)
    if per["base"]:
        mb, ma = statistics.median(per["base"]), statistics.median(per["agent"])
        print(f"median   64 B not HTTP   without agent {mb:8.1f} ns/pair, with agent {ma:8.1f} "
              f"ns/pair, {ma - mb:+.1f} ns/pair, {(ma - mb) / 2:+.1f} ns per syscall "
              f"({100 * (ma / mb - 1):+.1f} %), {len(per['base'])} clean rounds", flush=True)
    else:
        print("median   64 B not HTTP   no clean round: NOT VALID", flush=True)

    # once each: skip path vs capture path at the same size, and a host process
    cases = [("18 B not HTTP (skip path)", "junk", 18, True),
             ("18 B GET request (capture path)", "http", 18, True),
             ("64 B not HTTP, host process (untracked)", "junk", 64, False)]
    without, withs, stopped = {}, {}, None
    for name, kind, size, inside in cases:
        without[name] = sockloop(binary, cgroups, args.pairs, kind, size, inside,
                                 label=f"once, {name}, without the agent")
    TRACERS.wait_none("the sockloop runs with the agent")
    agent = Agent(workdir, "agent-sockloop-once", to_file=False)
    try:
        for name, kind, size, inside in cases:
            withs[name] = sockloop(binary, cgroups, args.pairs, kind, size, inside, agent=agent,
                                   label=f"once, {name}, with the agent")
        stopped = agent.stop()
    finally:
        agent.kill()
    for name, _, _, _ in cases:
        (b, okb), (a, oka) = without[name], withs[name]
        print(f"once     {name:<40} without agent {b:8.1f} ns/pair, with agent {a:8.1f} "
              f"ns/pair, {a - b:+.1f} ns/pair, {(a - b) / 2:+.1f} ns per syscall"
              f"{'' if okb and oka else ' NOT CLEAN'}")
    print(f"         agent of those runs, stopped: {counters(stopped)}", flush=True)
    prog_time(args, workdir, cgroups, binary)
    return per, without, withs


# --------------------------------------------------------------------------
# BPF program run time (diagnostic)

BPF_SYSCALL = {"x86_64": 321, "aarch64": 280}
BPF_ENABLE_STATS = 32


def enable_bpf_stats():
    """bpf(BPF_ENABLE_STATS, BPF_STATS_RUN_TIME): run time is counted while
    the returned fd is open (kernel.bpf_stats_enabled is not touched, and the
    kernel undoes it when this process exits). None when not possible."""
    nr = BPF_SYSCALL.get(os.uname().machine)
    if nr is None:
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(128)  # type 0: BPF_STATS_RUN_TIME
    fd = libc.syscall(nr, BPF_ENABLE_STATS, attr, ctypes.sizeof(attr))
    return fd if fd >= 0 else None


def agent_prog_ids(pid):
    """Ids of the BPF programs the agent holds open."""
    ids = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:bpf-prog":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            continue
    return ids


def prog_stats(ids):
    """{name: (run_cnt, run_time_ns)} of those programs, from bpftool."""
    proc = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True)
    out = {}
    try:
        progs = json.loads(proc.stdout)
    except ValueError:
        return out
    for p in progs:
        if p.get("id") in ids:
            out[p.get("name", str(p["id"]))] = (p.get("run_cnt", 0), p.get("run_time_ns", 0))
    return out


TRACING_TYPES = ("tracepoint", "raw_tracepoint", "tracing", "kprobe", "perf_event")


def foreign_tracing_progs(own_ids=()):
    """Names of tracing BPF programs loaded by someone else (another agent
    left running would make a "without the agent" run a run with one); None
    when bpftool is missing."""
    if shutil.which("bpftool") is None:
        return None
    proc = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True)
    try:
        progs = json.loads(proc.stdout)
    except ValueError:
        return None
    return sorted(p.get("name", str(p.get("id"))) for p in progs
                  if p.get("type") in TRACING_TYPES and p.get("id") not in own_ids)


class Tracers:
    """Looks for what would spoil a run: tracing BPF programs of someone else
    (another agent left running, someone's test: a run without the agent
    would be one with an agent, and every run slowed) and CPU used by other
    processes (a build, a linter). Before a run it waits for both to go (up
    to wait_s); a run with either before or after it is not clean."""

    QUIET_SAMPLE_S = 0.5
    QUIET_MAX_CPUS = 0.25  # CPUs others may use while the machine counts as quiet

    def __init__(self):
        self.wait_s = 0.0
        self.dirty = []

    def _others_cpus(self, own_pids):
        """CPUs used by processes other than own_pids over a short sample."""
        own0 = sum(cpu_seconds(p) or 0 for p in own_pids)
        busy0, all0 = machine_cpu()
        time.sleep(self.QUIET_SAMPLE_S)
        busy1, all1 = machine_cpu()
        own1 = sum(cpu_seconds(p) or 0 for p in own_pids)
        ncpu = os.cpu_count() or 1
        wall_ticks = (all1 - all0) / ncpu
        if wall_ticks <= 0:
            return 0.0
        return max(0.0, (busy1 - busy0) / CLK_TCK - (own1 - own0)) / (wall_ticks / CLK_TCK)

    def _problems(self, own_ids, own_pids):
        out = []
        names = foreign_tracing_progs(own_ids) or []
        if names:
            out.append(f"{len(names)} tracing BPF programs of someone else are loaded "
                       f"({', '.join(names[:4])} ...)")
        cpus = self._others_cpus(own_pids)
        if cpus > self.QUIET_MAX_CPUS:
            out.append(f"other processes use {cpus:.2f} CPUs")
        return out

    def wait_none(self, label):
        """Before a run (before its agent starts)."""
        deadline = time.monotonic() + self.wait_s
        problems = self._problems((), ())
        if problems:
            print(f"waiting up to {self.wait_s:.0f} s before {label}: {'; '.join(problems)}",
                  flush=True)
        while problems and time.monotonic() < deadline:
            time.sleep(1)
            problems = self._problems((), ())
        return self._verdict(label, problems)

    def check(self, label, own_ids=(), own_pids=()):
        """During or after a run: own_ids are the agent's programs, own_pids
        the processes of the run that may still be busy."""
        return self._verdict(label, self._problems(own_ids, own_pids))

    def _verdict(self, label, problems):
        if not problems:
            return True
        if label not in self.dirty:
            self.dirty.append(label)
        print(f"warning: {label}: {'; '.join(problems)}: NOT CLEAN", flush=True)
        return False


TRACERS = Tracers()


def prog_time(args, workdir, cgroups, binary):
    """Separate runs with BPF run-time statistics on: the time the agent's
    http programs themselves take per write+read pair (the rest of the
    per-syscall cost is the tracepoint machinery around them)."""
    if shutil.which("bpftool") is None:
        print("bpf program time    not measured: no bpftool")
        return
    fd = enable_bpf_stats()
    if fd is None:
        print("bpf program time    not measured: bpf(BPF_ENABLE_STATS) failed")
        return
    try:
        TRACERS.wait_none("the BPF program time runs")
        agent = Agent(workdir, "agent-progtime", to_file=False)
        try:
            ids = agent.prog_ids
            cases = [("64 B not HTTP (skip path)", "junk", 64, True),
                     ("18 B GET request (capture path)", "http", 18, True),
                     ("64 B not HTTP, host process (untracked)", "junk", 64, False)]
            print(f"bpf program time    separate runs, run-time statistics on "
                  f"(bpf(BPF_ENABLE_STATS)), {len(ids)} programs of the agent; counts include "
                  f"every other process's syscalls during the run", flush=True)
            for name, kind, size, inside in cases:
                s0 = prog_stats(ids)
                ns, ok = sockloop(binary, cgroups, args.pairs, kind, size, inside, agent=agent,
                                  label=f"BPF program time, {name}")
                s1 = prog_stats(ids)
                pairs = args.pairs + 1000
                runs = {k: s1[k][0] - s0.get(k, (0, 0))[0] for k in s1}
                times = {k: s1[k][1] - s0.get(k, (0, 0))[1] for k in s1}
                total_runs, total_ns = sum(runs.values()), sum(times.values())
                top = sorted((k for k in runs if runs[k]), key=lambda k: -times[k])[:4]
                print(f"    {name:<40} {total_runs / pairs:.2f} program runs per pair, "
                      f"{total_ns / pairs:.0f} ns of program time per pair "
                      f"({total_ns / pairs / 2:.0f} per syscall); sockloop {ns:.0f} ns/pair "
                      f"with statistics on{'' if ok else ' (NOT CLEAN)'}; " +
                      ", ".join(f"{k} {times[k] / max(runs[k], 1):.0f} ns x {runs[k]}"
                                for k in top), flush=True)
            agent.stop()
        finally:
            agent.kill()
    finally:
        os.close(fd)


# --------------------------------------------------------------------------


def main():
    global EXPECTED_ROOT, HOOKS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="baseline/capture alternations")
    ap.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    ap.add_argument("--warmup", type=int, default=3, help="seconds of the wrk warm-up")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections")
    ap.add_argument("--pairs", type=int, default=300000, help="write+read pairs per sockloop run")
    ap.add_argument("--wait-clean", type=float, default=120.0,
                    help="seconds to wait before a run for someone else's tracing BPF programs "
                         "to go")
    ap.add_argument("--skip-nginx", action="store_true", help="only the per-syscall part")
    ap.add_argument("--hooks", choices=("auto", "socket", "syscall"), default="auto",
                    help="the agent's http_hooks (auto: socket tracepoints where the kernel "
                         "has them)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    if args.rounds < 1 or args.duration < 1 or args.pairs < 1:
        ap.error("--rounds, --duration and --pairs must be positive")

    if os.geteuid() != 0:
        print("skip: not root (the agent loads BPF programs; the benchmark makes cgroups)")
        return 0
    nginx_bin = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
    if nginx_bin is None:
        print("skip: nginx is not installed (make deps-test)")
        return 0
    if shutil.which("wrk") is None:
        print("skip: wrk is not installed (make deps-test)")
        return 0
    if not os.access(node.GLIMPSE_BIN, os.X_OK):
        print(f"skip: glimpse is not built ({node.GLIMPSE_BIN} missing)")
        return 0

    TRACERS.wait_s = args.wait_clean
    HOOKS = args.hooks
    workdir = tempfile.mkdtemp(prefix="glimpse-bench-http-")
    cgroups = None
    code = 0
    t_start = time.monotonic()
    try:
        root, what = tracked_hierarchy_root()
        EXPECTED_ROOT = root
        cgroups = Cgroups(root)
        version = subprocess.run([node.GLIMPSE_BIN, "--version"], capture_output=True,
                                 text=True).stdout.strip()
        print(f"http overhead benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, "
              f"{node.machine_description()}")
        print(f"glimpse             {node.GLIMPSE_BIN} ({version}), tracked hierarchy {root} "
              f"({what}), http_hooks {HOOKS}, load average "
              f"{open('/proc/loadavg').read().split()[0]}", flush=True)
        if not args.skip_nginx:
            part_nginx(args, workdir, cgroups, nginx_bin)
        part_sockloop(args, workdir, cgroups)
        if TRACERS.dirty:
            print(f"not clean           {len(TRACERS.dirty)} runs had someone else's tracing BPF "
                  f"programs loaded or other processes busy: {'; '.join(TRACERS.dirty)}")
        else:
            print("clean               no one else's tracing BPF programs were loaded and no "
                  "other process was busy before or after any run"
                  + ("" if shutil.which("bpftool") else " (BPF not checked: no bpftool)"))
    except Broken as e:
        print(f"error: {e}")
        code = 1
    finally:
        left = cgroups.remove_all() if cgroups else []
        for d in left:
            print(f"warning: could not remove cgroup {d}")
        if args.keep:
            print(f"kept                {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        print(f"took                {time.monotonic() - t_start:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
