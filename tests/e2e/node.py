"""A Kubernetes node played with real parts, for glimpse's end-to-end tests.

What a node has, and what this module plays it with:

* containers: runc runs them in kubepods cgroups (the cgroupfs driver layout,
  /kubepods/<qos>/pod<uid>/<container-id>) with the annotations CRI-O sets;
  conmon (with ``--log-path k8s-file:``) writes their CRI log files under
  ``<pods-log-dir>/<namespace>_<pod>_<uid>/<container>/0.log`` as CRI-O does.
  The entrypoint is the static ``joblet`` program (tests/e2e/joblet.c), or
  any command (``ContainerSpec.command``) run from the host's own files: a
  root with the host's /usr, /etc, /bin, /lib... bind-mounted read-only and a
  writable /tmp of its own. A pod started with ``host_network=True`` (the
  pod's ``spec.hostNetwork``) has no network namespace of its own, so its
  containers and the host reach each other on 127.0.0.1.
* the kubelet: :class:`FakeKubelet`, an HTTP(S) server on 127.0.0.1 that
  answers ``GET /pods`` with a v1 PodList shaped like a real kubelet's, and can
  be switched at run time to be down, slow, broken or demanding a token.
* the agent: :meth:`Node.start_glimpse` runs the real binary against them.
* volumes: a pod's emptyDir volumes are directories under the node's kubelet
  root dir (:attr:`Node.kubelet_root`), ``<kubelet_root>/pods/<uid>/volumes/
  kubernetes.io~empty-dir/<name>``, made before its containers start,
  bind-mounted at each container's mountPath and removed with the pod, as
  the kubelet does; hostPath volumes bind-mount the host path (never made or
  removed here). The fake kubelet lists them in the pod's spec. A container
  can write log files (joblet's JOBLET_FILE) into a volume or, with
  ``writable_root``, into a root filesystem of its own.

Everything a :class:`Node` starts is undone when it closes, also after an
exception: containers (``runc delete -f``), conmon processes (by the PID in
their pidfiles, after checking the PID still is that conmon), the cgroup
directories it made, the agent, the kubelet server and its temporary
directory. Nothing is ever killed by name.

Environment: GLIMPSE_BIN (default build/glimpse) and GLIMPSE_JOBLET (default
build/test/joblet), relative to the repository root unless absolute.

The module also holds what the tests share: reading the agent's output and
log, checking the events of finished pods against what their containers
printed (:func:`check_pods`), and a tiny runner (:func:`run_tests`) that prints
``ok``/``FAIL``/``skip`` per test and ``N passed, N failed, N skipped`` last.
"""

import concurrent.futures
import copy
import dataclasses
import errno
import glob
import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _repo_path(env_name, default):
    value = os.environ.get(env_name) or default
    return value if os.path.isabs(value) else os.path.join(REPO_ROOT, value)


GLIMPSE_BIN = _repo_path("GLIMPSE_BIN", "build/glimpse")
JOBLET = _repo_path("GLIMPSE_JOBLET", "build/test/joblet")

QOS_CLASSES = {"besteffort": "BestEffort", "burstable": "Burstable", "guaranteed": "Guaranteed"}
DEFAULT_IMAGE = "localhost/glimpse/joblet:1"
SANDBOX_IMAGE = "registry.k8s.io/pause:3.9"


class HarnessError(Exception):
    """The harness could not do what a test asked (not an agent defect)."""


class Skip(Exception):
    """The test cannot run here; the message says why."""


def now_ns():
    return time.time_ns()


def rfc3339(ns=None):
    ns = now_ns() if ns is None else ns
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns // 1_000_000_000))


def wait_for(predicate, timeout, interval=0.002, what="condition"):
    """Polls predicate until it returns a true value, which is returned.
    Raises HarnessError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise HarnessError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


def _run(argv, timeout=30, check=True):
    """Runs a short command; raises HarnessError with its output on failure."""
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{' '.join(argv)}: no answer after {timeout} s") from None
    if check and proc.returncode != 0:
        out = (proc.stderr or proc.stdout).decode(errors="replace").strip()
        raise HarnessError(f"{' '.join(argv)}: exit {proc.returncode}: {out}")
    return proc


def _read_text(path, default=None):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def read_cri_lines(path):
    """(stream, body) of every complete line of a CRI log file so far, P
    pieces joined with their F line; [] when the file is not there."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    out, pending = [], {}
    for raw in data.split(b"\n")[:-1]:
        parts = raw.decode("utf-8", errors="replace").split(" ", 3)
        if len(parts) < 3 or parts[1] not in ("stdout", "stderr"):
            continue
        stream, flag, body = parts[1], parts[2], parts[3] if len(parts) > 3 else ""
        pending[stream] = pending.get(stream, "") + body
        if flag == "F":
            out.append((stream, pending.pop(stream)))
    return out


def _process_alive(pid):
    """True when pid exists and is not a zombie."""
    stat = _read_text(f"/proc/{pid}/stat")
    if stat is None:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _process_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def _is_conmon_of(pid, cid):
    """True when pid is alive and is the conmon started for container cid."""
    argv = _process_cmdline(pid)
    if not argv or os.path.basename(argv[0]) != "conmon" or not _process_alive(pid):
        return False
    return any(a == cid and i > 0 and argv[i - 1] in ("--cid", "-c") for i, a in enumerate(argv))


def _process_start(pid):
    """The start time of pid (clock ticks since boot), or None when gone."""
    stat = _read_text(f"/proc/{pid}/stat")
    return int(stat.rsplit(")", 1)[1].split()[19]) if stat else None


WORKDIR_PREFIX = "glimpse-e2e-"


def sweep_stale_nodes():
    """Undoes what nodes of test runs that died without cleaning up (SIGKILL,
    a crash) left: their containers, conmons, agents, pod cgroups and work
    dirs. A node counts as dead when the process named in its owner.json is
    gone (or is another process with that PID)."""
    for workdir in glob.glob(os.path.join(tempfile.gettempdir(), WORKDIR_PREFIX + "*")):
        try:
            with open(os.path.join(workdir, "owner.json"), encoding="utf-8") as f:
                owner = json.load(f)
        except (OSError, ValueError):
            continue
        if _process_start(owner.get("pid")) == owner.get("start"):
            continue
        for pidfile in glob.glob(os.path.join(workdir, "glimpse-*", "pid")):
            pid = int(_read_text(pidfile, "0") or 0)
            if pid and any(a.startswith(workdir + "/") for a in _process_cmdline(pid)):
                os.kill(pid, signal.SIGKILL)
        runc_root = os.path.join(workdir, "runc")
        for cid in os.listdir(runc_root) if os.path.isdir(runc_root) else []:
            _run(["runc", "--root", runc_root, "delete", "-f", cid], check=False)
        for pidfile in glob.glob(os.path.join(workdir, "bundles", "*", "conmon.pid")):
            pid = int(_read_text(pidfile, "0").strip() or 0)
            if pid and _is_conmon_of(pid, os.path.basename(os.path.dirname(pidfile))):
                os.kill(pid, signal.SIGKILL)
        made = (_read_text(os.path.join(workdir, "cgroups.txt"), "") or "").split()
        for path in reversed(made):
            # Only pod levels and below: kubepods/<qos> may be another node's.
            if "/pod" not in path:
                continue
            leaves = [e.path for e in os.scandir(path) if e.is_dir()] if os.path.isdir(path) else []
            for leaf in leaves + [path]:
                try:
                    os.rmdir(leaf)
                except OSError:
                    pass
        shutil.rmtree(workdir, ignore_errors=True)
        print(f"node: swept what a dead test run left in {workdir}", file=sys.stderr)


def cgroup_mounts():
    """The mount points of every cgroup hierarchy (v1 controllers, named v1
    hierarchies and cgroup2), one per hierarchy."""
    mounts, seen = [], set()
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, options = fields[sep + 1], fields[sep + 3]
            if fstype not in ("cgroup", "cgroup2") or fields[3] != "/":
                continue
            key = "cgroup2" if fstype == "cgroup2" else ",".join(
                sorted(o for o in options.split(",") if o not in ("rw", "ro", "relatime",
                                                                  "nosuid", "nodev", "noexec")))
            if key not in seen:
                seen.add(key)
                mounts.append(fields[4])
    return mounts


# --------------------------------------------------------------------------
# What the pods and containers are


@dataclasses.dataclass
class ContainerSpec:
    """One container of a pod: joblet's arguments, and its image name.

    The rest is optional, for in-container log files (see joblet.c):
      file           JOBLET_FILE: a path inside the container that joblet
                     appends `file_lines` lines to (default: `lines`), before
                     it prints; its parent dirs are made
      file_lines     JOBLET_FILE_LINES
      symlinks       JOBLET_SYMLINK: (target, link) pairs joblet makes before
                     writing anything (target stored as given)
      volume_mounts  v1 VolumeMounts: {"name": V, "mountPath": P} and
                     optionally "readOnly", "subPath"; V is a volume of the pod
      env            more environment variables {name: value}
      writable_root  a writable copy of the node's root filesystem, of its
                     own, in its bundle dir (the others share a read-only one)
      command        argv run instead of joblet (lines, stderr_every,
                     exit_code, sleep_ms, line_bytes, file, symlinks and
                     writable_root are then unused): it runs from the host's
                     files (the node's host root, see Node.host_rootfs) with
                     a writable /tmp of its own (ContainerRecord.tmp_dir on
                     the host); nothing is expected on its CRI log
                     (expected_lines is []) unless `output` says what
      output         with command: the (stream, body) lines it prints, when
                     known, for check_pods
    """
    name: str = "main"
    lines: int = 100
    stderr_every: int = 0
    exit_code: int = 0
    sleep_ms: int = 0
    line_bytes: int = 0
    image: str = DEFAULT_IMAGE
    file: str = None
    file_lines: int = None
    symlinks: tuple = ()
    volume_mounts: tuple = ()
    env: dict = None
    writable_root: bool = False
    command: tuple = None
    output: tuple = None

    def args(self):
        if self.command:
            return [str(a) for a in self.command]
        return ["/joblet", str(self.lines), str(self.stderr_every), str(self.exit_code),
                str(self.sleep_ms), str(self.line_bytes)]

    def joblet_env(self):
        """The container's environment besides POD_NAME: JOBLET_* and env
        (only env for a command)."""
        if self.command:
            return dict(self.env or {})
        out = {}
        if self.symlinks:
            for target, link in self.symlinks:
                if "," in target + link or ":" in target + link:
                    raise HarnessError(f"symlink {link} -> {target}: joblet cannot take ',' "
                                       f"or ':' in JOBLET_SYMLINK")
            out["JOBLET_SYMLINK"] = ",".join(f"{t}:{l}" for t, l in self.symlinks)
        if self.file:
            out["JOBLET_FILE"] = self.file
            if self.file_lines is not None:
                out["JOBLET_FILE_LINES"] = str(self.file_lines)
        out.update(self.env or {})
        return out

    def expected_file_lines(self, pod_name):
        """Every line joblet writes to `file`, in order, without newlines
        ([] without a file)."""
        if not self.file or self.command:
            return []
        count = self.lines if self.file_lines is None else self.file_lines
        out = []
        for i in range(count):
            body = f'{pod_name} file line {i}\t"quoted" back\\slash caf\u00e9'
            body += "." * max(0, self.line_bytes - len(body.encode()))
            out.append(body)
        return out

    def expected_lines(self, pod_name):
        """(stream, body) of every line joblet prints, in order (for a
        command: `output`, or none)."""
        if self.command:
            return [tuple(line) for line in self.output or ()]
        out = []
        for i in range(self.lines):
            body = f"{pod_name} line {i}"
            body += "." * max(0, self.line_bytes - len(body))
            every = self.stderr_every
            stream = "stderr" if every > 0 and i % every == every - 1 else "stdout"
            out.append((stream, body))
        return out


@dataclasses.dataclass
class ContainerRecord:
    name: str
    id: str
    spec: ContainerSpec
    image: str
    log_path: str
    bundle: str
    expected: list
    pid: int = 0
    conmon_pid: int = 0
    exit_code: int = None
    expected_file: list = dataclasses.field(default_factory=list)  # lines of spec.file
    rootfs: str = None      # the host dir of its root filesystem
    tmp_dir: str = None     # a command's /tmp, on the host
    # wall-clock ns (time.time_ns()): before conmon, pidfile seen (runc create
    # done), before and after `runc start`, exit file seen, runc delete done.
    times: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class PodRecord:
    namespace: str
    name: str
    uid: str
    job_name: str
    qos: str
    log_dir: str
    containers: list
    sandbox_id: str = None
    sandbox: ContainerRecord = None
    times: dict = dataclasses.field(default_factory=dict)
    removed: bool = False
    volumes: list = dataclasses.field(default_factory=list)       # v1 Volumes of the spec
    volume_dirs: dict = dataclasses.field(default_factory=dict)   # volume name -> host dir
    annotations: dict = dataclasses.field(default_factory=dict)   # added to the pod's
    host_network: bool = False      # spec.hostNetwork: no network namespace of its own

    @property
    def container_ids(self):
        return [c.id for c in self.containers]


# --------------------------------------------------------------------------
# The kubelet


SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def make_pod_object(namespace, name, uid, job_name, containers, node_name, qos,
                    job_uid=None, labels=None, volumes=None, annotations=None,
                    host_network=False):
    """A v1 Pod as the kubelet's /pods lists it, for a pod in Pending with
    its containers waiting (no container ids yet). volumes (v1 Volumes) go
    to spec.volumes, each container's volume_mounts and environment to its
    volumeMounts and env, annotations to metadata.annotations, host_network
    to spec.hostNetwork (the pod's IP is then the node's). A pod with
    volumes also has the service account token's projected volume, mounted
    read-only in every container, as admission adds it (not mounted by
    this harness)."""
    created = rfc3339()
    meta_labels = {}
    owners = []
    if job_name:
        job_uid = job_uid or str(uuid.uuid4())
        meta_labels = {
            "batch.kubernetes.io/controller-uid": job_uid,
            "batch.kubernetes.io/job-name": job_name,
            "controller-uid": job_uid,
            "job-name": job_name,
        }
        owners = [{"apiVersion": "batch/v1", "kind": "Job", "name": job_name, "uid": job_uid,
                   "controller": True, "blockOwnerDeletion": True}]
    meta_labels.update(labels or {})
    metadata = {
        "name": name,
        "namespace": namespace,
        "uid": uid,
        "resourceVersion": str(secrets.randbelow(10**6)),
        "creationTimestamp": created,
        "labels": meta_labels,
        "annotations": {"kubernetes.io/config.seen": created,
                        "kubernetes.io/config.source": "api"},
    }
    metadata["annotations"].update(annotations or {})
    pod_volumes = copy.deepcopy(list(volumes or []))
    token_mount = None
    if pod_volumes:
        token_volume = f"kube-api-access-{secrets.token_hex(3)[:5]}"
        pod_volumes.append({"name": token_volume, "projected": {"sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt",
                           "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ], "defaultMode": 420}})
        token_mount = {"name": token_volume, "readOnly": True,
                       "mountPath": SERVICE_ACCOUNT_MOUNT}

    def container_object(c):
        argv = c.args()
        obj = {
            "name": c.name, "image": c.image, "command": argv[:1], "args": argv[1:],
            "resources": {}, "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent",
        }
        env = c.joblet_env()
        if env:
            obj["env"] = [{"name": k, "value": v} for k, v in env.items()]
        mounts = [copy.deepcopy(m) for m in c.volume_mounts]
        if token_mount:
            mounts.append(dict(token_mount))
        if mounts:
            obj["volumeMounts"] = mounts
        return obj
    if job_name:
        metadata["generateName"] = job_name + "-"
        metadata["ownerReferences"] = owners
        metadata["finalizers"] = ["batch.kubernetes.io/job-tracking"]
    spec = {
        "containers": [container_object(c) for c in containers],
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default",
        "serviceAccount": "default",
        "nodeName": node_name,
        "securityContext": {},
        "schedulerName": "default-scheduler",
        "priority": 0,
    }
    if pod_volumes:
        spec["volumes"] = pod_volumes
    if host_network:
        spec["hostNetwork"] = True
        spec["dnsPolicy"] = "ClusterFirstWithHostNet"
    status = {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                        "lastTransitionTime": created}],
        "hostIP": "127.0.0.1",
        "hostIPs": [{"ip": "127.0.0.1"}],
        "startTime": created,
        "containerStatuses": [{
            "name": c.name,
            "state": {"waiting": {"reason": "ContainerCreating"}},
            "lastState": {},
            "ready": False,
            "restartCount": 0,
            "image": c.image,
            "imageID": "",
            "started": False,
        } for c in containers],
        "qosClass": QOS_CLASSES[qos],
    }
    if host_network:
        status["podIP"] = "127.0.0.1"
        status["podIPs"] = [{"ip": "127.0.0.1"}]
    return {"metadata": metadata, "spec": spec, "status": status}


class FakeKubelet:
    """The kubelet's read-only pod API on 127.0.0.1: GET /pods gives a v1
    PodList of the pods added with add_pod.

    Modes (set_mode, at any time):
      normal   answers at once
      down     connection refused (the port stays bound, not listening)
      slow     answers after `delay` seconds
      invalid  200 with a body that is not JSON
      error    HTTP 500
    With https=True it serves TLS with a self-signed certificate made with the
    openssl CLI (ca_file) and answers 401 unless the request carries
    "Authorization: Bearer <token>" (token, token_file).
    """

    MODES = ("normal", "down", "slow", "invalid", "error")

    def __init__(self, workdir, mode="normal", https=False, delay=5.0):
        self.workdir = workdir
        self.https = https
        self.delay = delay
        self.mode = "down"
        self.port = None
        self.token = None
        self.token_file = None
        self.ca_file = None
        self._ssl = None
        self._lock = threading.Lock()
        self._pods = {}
        self._server = None
        self._thread = None
        self._reserve = None
        self._closing = threading.Event()
        self.requests = 0            # every request received, whatever the answer
        self.by_status = {}          # HTTP status -> count
        self.unauthorized = 0
        self.answered_pods = 0       # /pods requests answered with a PodList
        if https:
            self._make_tls()
        self._reserve_port()
        self.set_mode(mode)

    @property
    def url(self):
        return f"{'https' if self.https else 'http'}://127.0.0.1:{self.port}"

    # pods --------------------------------------------------------------

    def add_pod(self, pod):
        with self._lock:
            self._pods[pod["metadata"]["uid"]] = pod

    def remove_pod(self, uid):
        with self._lock:
            self._pods.pop(uid, None)

    def update_pod(self, uid, fn):
        """Calls fn(pod) under the lock to change a pod in place."""
        with self._lock:
            pod = self._pods.get(uid)
            if pod is not None:
                fn(pod)

    def has_pod(self, uid):
        with self._lock:
            return uid in self._pods

    def podlist(self):
        with self._lock:
            items = copy.deepcopy(list(self._pods.values()))
        return {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}

    # modes -------------------------------------------------------------

    def set_mode(self, mode, delay=None):
        if mode not in self.MODES:
            raise ValueError(f"kubelet mode {mode!r} is not one of {self.MODES}")
        if delay is not None:
            self.delay = delay
        if mode == "down" and self.mode != "down":
            self._stop_server()
            self._reserve_port()
        elif mode != "down" and self.mode == "down":
            self._start_server()
        self.mode = mode

    def close(self):
        self._closing.set()
        self._stop_server()
        if self._reserve is not None:
            self._reserve.close()
            self._reserve = None

    # internals ---------------------------------------------------------

    def _make_tls(self):
        cert = os.path.join(self.workdir, "kubelet.crt")
        key = os.path.join(self.workdir, "kubelet.key")
        _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
              "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
              "-days", "2", "-subj", "/CN=127.0.0.1",
              "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        self.ca_file = cert
        self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ssl.load_cert_chain(cert, key)
        self.token = secrets.token_urlsafe(24)
        self.token_file = os.path.join(self.workdir, "kubelet.token")
        with open(self.token_file, "w", encoding="utf-8") as f:
            f.write(self.token)

    def _reserve_port(self):
        """Holds the port bound but not listening: connecting is refused."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port or 0))
        self.port = sock.getsockname()[1]
        self._reserve = sock

    def _start_server(self):
        if self._reserve is not None:
            self._reserve.close()
            self._reserve = None
        kubelet = self

        class Handler(_KubeletHandler):
            owner = kubelet

        server = _KubeletServer(("127.0.0.1", self.port), Handler, self._ssl)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-kubelet", daemon=True)
        self._thread.start()

    def _stop_server(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None
            self._thread = None

    def _count(self, status):
        with self._lock:
            self.by_status[status] = self.by_status.get(status, 0) + 1


class _KubeletServer(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False

    def __init__(self, address, handler, ssl_context):
        self.ssl_context = ssl_context
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        # TLS handshakes happen in the request's thread, never in the accept loop.
        if self.ssl_context is not None:
            request.settimeout(10)
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass  # a client that hangs up mid-answer is not the server's problem


class _KubeletHandler(http.server.BaseHTTPRequestHandler):
    owner = None
    server_version = "fake-kubelet"

    def log_message(self, fmt, *args):
        pass

    def _answer(self, status, body, ctype="application/json"):
        self.owner._count(status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        k = self.owner
        with k._lock:
            k.requests += 1
        if k.https and self.headers.get("Authorization") != f"Bearer {k.token}":
            with k._lock:
                k.unauthorized += 1
            self._answer(401, b"Unauthorized\n", "text/plain; charset=utf-8")
            return
        if self.path.split("?")[0] != "/pods":
            self._answer(404, b"404 page not found\n", "text/plain; charset=utf-8")
            return
        mode = k.mode
        if mode == "error":
            self._answer(500, b"Internal Server Error: fake kubelet in mode error\n",
                         "text/plain; charset=utf-8")
            return
        if mode == "invalid":
            self._answer(200, b'{"kind":"PodList","apiVersion":"v1","items":[{"metadata":')
            return
        body = json.dumps(k.podlist()).encode()
        if mode == "slow":
            k._closing.wait(k.delay)
        with k._lock:
            k.answered_pods += 1
        self._answer(200, body)


# --------------------------------------------------------------------------
# The agent


class GlimpseUnavailable(Skip):
    """glimpse cannot run here (not built, or no BPF)."""


class GlimpseFailed(Exception):
    """glimpse exited, or did not get ready, when it should have."""


class OutputReader:
    """Reads a file of JSON lines as it grows. Only complete lines are taken;
    a line that is not UTF-8 JSON is kept in `bad` (raw bytes)."""

    def __init__(self, path):
        self.path = path
        self.events = []
        self.raw = []      # the raw bytes of each event, parallel to events
        self.bad = []
        self._offset = 0
        self._rest = b""

    def poll(self):
        """Reads what was appended; returns the new events."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        data = self._rest + data
        lines = data.split(b"\n")
        self._rest = lines.pop()
        new = []
        for line in lines:
            if not line.strip():
                continue
            try:
                event = json.loads(line.decode("utf-8"))
                if not isinstance(event, dict):
                    raise ValueError("not an object")
            except ValueError:
                self.bad.append(line)
                continue
            self.events.append(event)
            self.raw.append(line)
            new.append(event)
        return new


class Glimpse:
    """A running build/glimpse: its files, its events and its own log."""

    def __init__(self, proc, workdir, output_path, stderr_path, argv):
        self.proc = proc
        self.pid = proc.pid
        self.workdir = workdir
        self.output_path = output_path
        self.stderr_path = stderr_path
        self.argv = argv
        self.output = OutputReader(output_path)
        self.log = OutputReader(stderr_path)
        self.returncode = None
        self.cpu_seconds_before_stop = None
        self.max_rss_kb_before_stop = None

    def events(self):
        """Every output event so far (one dict per line)."""
        self.output.poll()
        return self.output.events

    def agent_log(self):
        """Every JSON line the agent wrote to stderr so far."""
        self.log.poll()
        return self.log.events

    def stderr_text(self):
        return _read_text(self.stderr_path, "")

    def stderr_tail(self, lines=20):
        return "\n".join(self.stderr_text().splitlines()[-lines:])

    def find_log(self, predicate):
        return [e for e in self.agent_log() if predicate(e)]

    def wait_log(self, predicate, timeout, what):
        """Waits for an agent log line matching predicate; returns it."""
        def found():
            hits = self.find_log(predicate)
            if hits:
                return hits[0]
            if self.proc.poll() is not None:
                self.agent_log()
                hits = self.find_log(predicate)
                if hits:
                    return hits[0]
                raise GlimpseFailed(f"glimpse exited ({self.proc.returncode}) before {what}; "
                                    f"stderr ends:\n{self.stderr_tail()}")
            return None
        try:
            return wait_for(found, timeout, interval=0.05, what=what)
        except HarnessError:
            raise GlimpseFailed(f"no {what} in glimpse's stderr after {timeout} s; stderr ends:\n"
                                f"{self.stderr_tail()}") from None

    def running(self):
        return self.proc.poll() is None

    def cpu_seconds(self):
        """user + system CPU time so far, from /proc/<pid>/stat."""
        stat = _read_text(f"/proc/{self.pid}/stat")
        if stat is None:
            return None
        fields = stat.rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        return ticks / os.sysconf("SC_CLK_TCK")

    def max_rss_kb(self):
        """Peak resident set size so far (VmHWM), in KiB."""
        for line in (_read_text(f"/proc/{self.pid}/status") or "").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return None

    def stop(self, timeout=15):
        """SIGTERM by PID, then waits (SIGKILL after timeout). Returns the
        exit status (negative: killed by that signal)."""
        if self.returncode is not None:
            return self.returncode
        if self.proc.poll() is None:
            self.cpu_seconds_before_stop = self.cpu_seconds()
            self.max_rss_kb_before_stop = self.max_rss_kb()
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
        self.returncode = self.proc.returncode
        self.output.poll()
        self.log.poll()
        return self.returncode

    def sanitizer_reports(self):
        """Lines of AddressSanitizer/LeakSanitizer/UBSan reports in stderr."""
        marks = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                 "SUMMARY: UndefinedBehaviorSanitizer")
        return [l for l in self.stderr_text().splitlines() if any(m in l for m in marks)]

    def check_clean_exit(self):
        """Stops the agent; raises AssertionError unless it exited 0 with no
        sanitizer report."""
        code = self.stop()
        reports = self.sanitizer_reports()
        if code != 0 or reports:
            raise AssertionError(f"glimpse did not exit cleanly on SIGTERM: exit {code}, "
                                 f"{len(reports)} sanitizer report line(s); stderr ends:\n"
                                 f"{self.stderr_tail(30)}")


def _mentions_bpf(text):
    return "bpf" in text.lower()


# --------------------------------------------------------------------------
# The node


class Node:
    """A node: a pods log dir, a runc root, a fake kubelet, and the pods run
    on it. Use as a context manager; close() undoes everything it started."""

    def __init__(self, *, kubelet_mode="normal", kubelet_https=False, kubelet_delay=5.0,
                 node_name="test-node", parallelism=8, keep_workdir=False):
        self.node_name = node_name
        self.parallelism = parallelism
        self.keep_workdir = keep_workdir
        self._lock = threading.Lock()
        self._containers = {}   # id -> ContainerRecord, every container ever created
        self._records = []      # every ContainerRecord, for leftovers()
        self._cgroup_dirs = []  # dirs this node made, in creation order
        self._pods = {}         # uid -> PodRecord not yet removed
        self._timers = []
        self._glimpses = []
        self._job_uids = {}
        self._host_root = None  # host_rootfs(), made on first use
        self._host_mounts = []
        self._closed = False
        self.kubelet = None
        check_prerequisites(need_glimpse=False)
        sweep_stale_nodes()
        self.workdir = tempfile.mkdtemp(prefix=WORKDIR_PREFIX)
        try:
            with open(os.path.join(self.workdir, "owner.json"), "w", encoding="utf-8") as f:
                json.dump({"pid": os.getpid(), "start": _process_start(os.getpid())}, f)
            self.pods_log_dir = self._mkdir("pods")
            self.runc_root = self._mkdir("runc")
            self.exit_dir = self._mkdir("exits")
            self.socket_dir = self._mkdir("sockets")
            self.bundles_dir = self._mkdir("bundles")
            self.rootfs = self._make_rootfs()
            self.base_spec = self._base_spec()
            self.cgroup_mounts = cgroup_mounts()
            if not self.cgroup_mounts:
                raise HarnessError("no cgroup hierarchy is mounted")
            # The kubelet's root dir (--root-dir): pods/<uid>/volumes/... of
            # emptyDir volumes; the fake kubelet keeps its TLS files there too.
            self.kubelet_root = self._mkdir("kubelet")
            os.makedirs(os.path.join(self.kubelet_root, "pods"), exist_ok=True)
            self.kubelet = FakeKubelet(self.kubelet_root, mode=kubelet_mode,
                                       https=kubelet_https, delay=kubelet_delay)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _mkdir(self, name):
        path = os.path.join(self.workdir, name)
        os.makedirs(path, exist_ok=True)
        return path

    def _make_rootfs(self):
        rootfs = self._mkdir("rootfs")
        for d in ("proc", "dev", "sys", "tmp", "etc"):
            os.makedirs(os.path.join(rootfs, d), exist_ok=True)
        shutil.copy2(JOBLET, os.path.join(rootfs, "joblet"))
        return rootfs

    HOST_ROOT_DIRS = ("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32")

    def host_rootfs(self):
        """The root filesystem of command containers (made on first use):
        the host's /usr and /etc, and /bin, /sbin, /lib* as the host has
        them (its symlinks into /usr, or read-only bind mounts), with empty
        mount points for /proc, /dev, /sys and /tmp. The bind mounts are
        in self._host_mounts (OCI mounts, read-only)."""
        with self._lock:
            if self._host_root is not None:
                return self._host_root
            root = self._mkdir("hostroot")
            mounts = []
            for d in ("proc", "dev", "sys", "tmp", "run", "var"):
                os.makedirs(os.path.join(root, d), exist_ok=True)
            for d in self.HOST_ROOT_DIRS:
                host = "/" + d
                if os.path.islink(host):
                    os.symlink(os.readlink(host), os.path.join(root, d))
                elif os.path.isdir(host):
                    os.makedirs(os.path.join(root, d), exist_ok=True)
                    mounts.append({"destination": host, "type": "bind", "source": host,
                                   "options": ["rbind", "rprivate", "ro", "nosuid", "nodev"]})
            self._host_mounts = mounts
            self._host_root = root
            return root

    def _base_spec(self):
        spec_dir = self._mkdir("spec")
        _run(["runc", "spec", "--bundle", spec_dir])
        with open(os.path.join(spec_dir, "config.json"), encoding="utf-8") as f:
            return json.load(f)

    # pods ----------------------------------------------------------------

    def job_uid(self, job_name):
        with self._lock:
            return self._job_uids.setdefault(job_name, str(uuid.uuid4()))

    def run_pod(self, namespace, name, job_name=None, containers=None, sandbox=True,
                remove_after_ms=100, kubelet_keep_ms=None, qos="besteffort", labels=None,
                on_exit=None, exit_timeout=30.0, volumes=None, annotations=None,
                host_network=False):
        """Runs one pod the way the kubelet and CRI-O would, to the end.

        Log dirs first, then the pod in the kubelet, the pod cgroups, its
        volumes, the sandbox (optional), then each container: conmon + `runc
        create`, wait for runc's pidfile, `runc start` (see start_pod). Waits
        for every container's exit, calls on_exit(record), then after
        remove_after_ms removes the pod (see remove_pod); remove_after_ms=None
        leaves that to the caller. The pod stays in the kubelet for
        kubelet_keep_ms after the exit (default: until it is removed).
        Returns the PodRecord."""
        pod = self.start_pod(namespace, name, job_name=job_name, containers=containers,
                             sandbox=sandbox, qos=qos, labels=labels, volumes=volumes,
                             annotations=annotations, host_network=host_network)
        return self.finish_pod(pod, remove_after_ms=remove_after_ms,
                               kubelet_keep_ms=kubelet_keep_ms, on_exit=on_exit,
                               exit_timeout=exit_timeout)

    def start_pod(self, namespace, name, job_name=None, containers=None, sandbox=True,
                  qos="besteffort", labels=None, volumes=None, annotations=None,
                  host_network=False):
        """Starts one pod and returns its PodRecord once every container is
        started (`runc start` returned); finish_pod waits for it, remove_pod
        undoes it (a container still running is killed).

        volumes: the pod's v1 Volumes; a plain string V means
        {"name": V, "emptyDir": {}}. An emptyDir gets its directory under
        kubelet_root before the sandbox starts (removed with the pod); a
        hostPath {"path": P} is bind-mounted as it is (P must exist; this
        harness never makes or removes it). Each container's volume_mounts
        bind-mount them at their mountPath. annotations are added to the
        pod's metadata.annotations (and to the sandbox's, as CRI-O records
        them). host_network: the pod's sandbox and containers stay in the
        host's network namespace (spec.hostNetwork), so servers they run on
        127.0.0.1 are reached from the host and from other such pods."""
        containers = containers or [ContainerSpec()]
        volumes = self._pod_volumes(volumes, containers)
        uid = str(uuid.uuid4())
        log_dir = os.path.join(self.pods_log_dir, f"{namespace}_{name}_{uid}")
        records = []
        for spec in containers:
            cid = secrets.token_hex(32)
            records.append(ContainerRecord(
                name=spec.name, id=cid, spec=spec, image=spec.image,
                log_path=os.path.join(log_dir, spec.name, "0.log"),
                bundle=os.path.join(self.bundles_dir, cid),
                expected=spec.expected_lines(name),
                expected_file=spec.expected_file_lines(name)))
        pod = PodRecord(namespace=namespace, name=name, uid=uid, job_name=job_name, qos=qos,
                        log_dir=log_dir, containers=records,
                        sandbox_id=secrets.token_hex(32), volumes=volumes,
                        annotations=dict(annotations or {}), host_network=host_network)
        with self._lock:
            if self._closed:
                raise HarnessError("the node is closed")
            self._pods[uid] = pod
        try:
            pod.times["begin"] = now_ns()
            for c in records:
                os.makedirs(os.path.dirname(c.log_path), exist_ok=True)
            self.kubelet.add_pod(make_pod_object(
                namespace, name, uid, job_name, containers, self.node_name, qos,
                job_uid=self.job_uid(job_name) if job_name else None, labels=labels,
                volumes=volumes, annotations=annotations, host_network=host_network))
            self._make_pod_cgroups(pod)
            self._make_pod_volumes(pod)
            if sandbox:
                self._start_sandbox(pod)
            for c in records:
                self._create_container(pod, c)
                self._start_container(c)
                self._kubelet_container_running(pod, c)
        except BaseException:
            self._undo_pod(pod)
            raise
        return pod

    def finish_pod(self, pod, remove_after_ms=100, kubelet_keep_ms=None, on_exit=None,
                   exit_timeout=30.0):
        """The rest of run_pod for a pod from start_pod: waits for every
        container's exit (exit_timeout seconds more than its sleep_ms), then
        on_exit(pod), kubelet_keep_ms and remove_after_ms as run_pod says.
        On an error the pod is removed. Returns the PodRecord."""
        try:
            for c in pod.containers:
                self._wait_exit(c, timeout=exit_timeout + c.spec.sleep_ms / 1000)
                self._kubelet_container_exited(pod, c)
            pod.times["exited"] = max(c.times["exited"] for c in pod.containers)
            if on_exit is not None:
                on_exit(pod)
            if kubelet_keep_ms is not None:
                self._forget_pod_later(pod.uid, kubelet_keep_ms)
            if remove_after_ms is not None:
                time.sleep(remove_after_ms / 1000)
                self.remove_pod(pod, keep_in_kubelet=kubelet_keep_ms is not None)
        except BaseException:
            self._undo_pod(pod)
            raise
        return pod

    def _undo_pod(self, pod):
        try:
            self.remove_pod(pod)
        except Exception as cleanup_error:
            print(f"node: cleaning up pod {pod.name} failed: {cleanup_error}", file=sys.stderr)

    def run_pods(self, pods, parallelism=None):
        """Runs pods (a list of run_pod keyword dicts) on a thread pool of
        `parallelism` (default: the node's). Returns the PodRecords in order;
        raises the first error after every pod has finished or been undone."""
        workers = parallelism or self.parallelism
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        try:
            futures = [pool.submit(self.run_pod, **kw) for kw in pods]
            concurrent.futures.wait(futures)
        finally:
            # On Ctrl-C the pods not yet begun are dropped; those running end.
            pool.shutdown(wait=True, cancel_futures=True)
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]
        return [f.result() for f in futures]

    def remove_pod(self, pod, keep_in_kubelet=False):
        """Undoes a pod: `runc delete -f` of its containers, its log dir, its
        kubelet entry (unless keep_in_kubelet), its sandbox, its volumes
        (<kubelet_root>/pods/<uid>, as the kubelet removes a deleted pod's),
        its cgroups."""
        errors = []
        for c in pod.containers:
            if c.id in self._containers:
                self._delete_container(c, errors)
        shutil.rmtree(pod.log_dir, ignore_errors=True)
        if not keep_in_kubelet:
            self.kubelet.remove_pod(pod.uid)
        if pod.sandbox is not None:
            self._stop_sandbox(pod, errors)
        self._remove_pod_volumes(pod, errors)
        self._remove_pod_cgroups(pod, errors)
        pod.times["removed"] = now_ns()
        pod.removed = True
        with self._lock:
            self._pods.pop(pod.uid, None)
        if errors:
            raise HarnessError(f"removing pod {pod.name}: " + "; ".join(errors))

    def _forget_pod_later(self, uid, ms):
        timer = threading.Timer(ms / 1000, self.kubelet.remove_pod, args=(uid,))
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()

    # volumes -------------------------------------------------------------

    def emptydir_path(self, uid, name):
        """The host dir of emptyDir volume `name` of pod `uid`, where the
        kubelet keeps it (also where glimpse must find it, given
        --kubelet-root-dir kubelet_root)."""
        return os.path.join(self.kubelet_root, "pods", uid, "volumes",
                            "kubernetes.io~empty-dir", name)

    @staticmethod
    def _pod_volumes(volumes, containers):
        """volumes as v1 Volume dicts, checked against the containers'
        volume mounts (raises HarnessError on what this harness cannot do)."""
        out = []
        for v in volumes or []:
            v = {"name": v, "emptyDir": {}} if isinstance(v, str) else copy.deepcopy(v)
            name = v.get("name")
            if not name or "/" in name or name in (".", ".."):
                raise HarnessError(f"volume name {name!r} is not a name")
            if "emptyDir" not in v and not (isinstance(v.get("hostPath"), dict) and
                                            os.path.isabs(v["hostPath"].get("path", ""))):
                raise HarnessError(f"volume {name}: only emptyDir and hostPath with an "
                                   f"absolute path are played here")
            if name in [o["name"] for o in out]:
                raise HarnessError(f"volume {name} given twice")
            out.append(v)
        names = {v["name"] for v in out}
        for c in containers:
            for m in c.volume_mounts:
                if m.get("name") not in names:
                    raise HarnessError(f"container {c.name}: mount of {m.get('name')!r}, "
                                       f"not a volume of the pod")
                path = m.get("mountPath", "")
                if not os.path.isabs(path) or ".." in path.split("/"):
                    raise HarnessError(f"container {c.name}: mountPath {path!r} is not an "
                                       f"absolute path")
                if ".." in m.get("subPath", "").split("/") or \
                        os.path.isabs(m.get("subPath", "")):
                    raise HarnessError(f"container {c.name}: subPath {m['subPath']!r}")
        return out

    def _make_pod_volumes(self, pod):
        """Makes the host dirs of the pod's emptyDir volumes (mode 0777, as
        the kubelet does), before any of its containers exists."""
        for v in pod.volumes:
            if "emptyDir" in v:
                path = self.emptydir_path(pod.uid, v["name"])
                os.makedirs(path)
                os.chmod(path, 0o777)
            else:
                path = v["hostPath"]["path"]
                if not os.path.isdir(path):
                    raise HarnessError(f"hostPath {path} of volume {v['name']} is not a dir")
            pod.volume_dirs[v["name"]] = path

    def _container_mounts(self, pod, c):
        """OCI bind mounts for the container's volume mounts (subPath dirs
        made as the kubelet makes them)."""
        mounts = []
        for m in c.spec.volume_mounts:
            source = pod.volume_dirs[m["name"]]
            if m.get("subPath"):
                source = os.path.join(source, m["subPath"])
                os.makedirs(source, exist_ok=True)
            mounts.append({"destination": m["mountPath"], "type": "bind", "source": source,
                           "options": ["rbind", "rprivate", "ro" if m.get("readOnly") else "rw"]})
        return mounts

    def _remove_pod_volumes(self, pod, errors):
        """Removes <kubelet_root>/pods/<uid> (emptyDirs; hostPaths stay).
        rmtree follows no symlink a container planted."""
        path = os.path.join(self.kubelet_root, "pods", pod.uid)
        shutil.rmtree(path, ignore_errors=True)
        if os.path.lexists(path):
            errors.append(f"volumes dir {path} could not be removed")

    # cgroups -------------------------------------------------------------

    @staticmethod
    def pod_cgroup_path(pod):
        """The pod's cgroup under each hierarchy, as the kubelet's cgroupfs
        driver names it."""
        if pod.qos == "guaranteed":
            return f"kubepods/pod{pod.uid}"
        return f"kubepods/{pod.qos}/pod{pod.uid}"

    def _make_pod_cgroups(self, pod):
        """mkdir -p of the pod's cgroup in every hierarchy, as the kubelet
        does before the sandbox. Dirs made here are recorded, in memory and
        in the work dir (for sweep_stale_nodes)."""
        rel = self.pod_cgroup_path(pod)
        parts = rel.split("/")
        for mount in self.cgroup_mounts:
            for attempt in range(5):
                try:
                    for depth in range(1, len(parts) + 1):
                        self._mkdir_cgroup(os.path.join(mount, *parts[:depth]))
                    break
                except FileNotFoundError:
                    # Another node removed an empty kubepods level meanwhile.
                    if attempt == 4:
                        raise

    def _mkdir_cgroup(self, path):
        try:
            os.mkdir(path)
        except FileExistsError:
            return
        with self._lock:
            self._cgroup_dirs.append(path)
            with open(os.path.join(self.workdir, "cgroups.txt"), "a", encoding="utf-8") as f:
                f.write(path + "\n")

    def _remove_pod_cgroups(self, pod, errors):
        rel = self.pod_cgroup_path(pod)
        for mount in self.cgroup_mounts:
            pod_dir = os.path.join(mount, rel)
            for cid in [c.id for c in pod.containers] + [pod.sandbox_id]:
                self._rmdir_cgroup(os.path.join(pod_dir, cid), errors, missing_ok=True)
            self._rmdir_cgroup(pod_dir, errors, missing_ok=True)

    def _rmdir_cgroup(self, path, errors, missing_ok):
        deadline = time.monotonic() + 3
        while True:
            try:
                os.rmdir(path)
                break
            except FileNotFoundError:
                if not missing_ok:
                    errors.append(f"rmdir {path}: gone")
                break
            except OSError as e:
                if e.errno != errno.EBUSY or time.monotonic() > deadline:
                    errors.append(f"rmdir {path}: {e.strerror}")
                    return
                time.sleep(0.01)
        with self._lock:
            if path in self._cgroup_dirs:
                self._cgroup_dirs.remove(path)

    # containers ----------------------------------------------------------

    def _container_config(self, pod, c, args, annotations, joins=None, env=None, mounts=()):
        spec = copy.deepcopy(self.base_spec)
        proc = spec["process"]
        proc["args"] = args
        proc["terminal"] = False
        proc["env"] = [e for e in proc.get("env", []) if not e.startswith("TERM=")]
        proc["env"] += [f"{k}={v}" for k, v in (env or {}).items()]
        if c.spec is not None and c.spec.command:
            # The host's files, read-only, and a /tmp of its own.
            c.rootfs = self.host_rootfs()
            spec["root"] = {"path": c.rootfs, "readonly": True}
            c.tmp_dir = os.path.join(c.bundle, "tmp")
            os.makedirs(c.tmp_dir, exist_ok=True)
            os.chmod(c.tmp_dir, 0o1777)
            mounts = list(self._host_mounts) + [
                {"destination": "/tmp", "type": "bind", "source": c.tmp_dir,
                 "options": ["rbind", "rprivate", "rw"]}] + list(mounts)
        elif c.spec is not None and c.spec.writable_root:
            # A root of its own, writable, as a container's overlay is.
            c.rootfs = os.path.join(c.bundle, "rootfs")
            shutil.copytree(self.rootfs, c.rootfs, symlinks=True)
            spec["root"] = {"path": c.rootfs, "readonly": False}
        else:
            c.rootfs = self.rootfs
            spec["root"] = {"path": self.rootfs, "readonly": True}
        spec["mounts"] = spec.get("mounts", []) + list(mounts)
        spec["hostname"] = pod.name[:63]
        linux = spec["linux"]
        linux["cgroupsPath"] = "/" + self.pod_cgroup_path(pod) + "/" + c.id
        if pod.host_network:
            linux["namespaces"] = [ns for ns in linux["namespaces"] if ns["type"] != "network"]
        if joins:
            for ns in linux["namespaces"]:
                if ns["type"] in joins:
                    ns["path"] = joins[ns["type"]]
            if "uts" in joins:
                del spec["hostname"]  # the sandbox's UTS namespace has it already
        spec["annotations"] = annotations
        os.makedirs(c.bundle, exist_ok=True)
        with open(os.path.join(c.bundle, "config.json"), "w", encoding="utf-8") as f:
            json.dump(spec, f, indent=1)

    def _annotations(self, pod, c, sandbox):
        created = rfc3339()
        base = {
            "io.kubernetes.pod.name": pod.name,
            "io.kubernetes.pod.namespace": pod.namespace,
            "io.kubernetes.pod.uid": pod.uid,
        }
        sandbox_name = f"k8s_POD_{pod.name}_{pod.namespace}_{pod.uid}_0"
        common = {
            "io.container.manager": "cri-o",
            "io.kubernetes.cri-o.Created": created,
            "io.kubernetes.cri-o.SandboxID": pod.sandbox_id,
            "io.kubernetes.cri-o.SandboxName": sandbox_name,
            "io.kubernetes.cri-o.LogPath": c.log_path,
            "io.kubernetes.cri-o.TTY": "false",
            "io.kubernetes.cri-o.CgroupParent": "/" + self.pod_cgroup_path(pod),
        }
        if sandbox:
            labels = dict(base, **{"io.kubernetes.container.name": "POD"})
            if pod.job_name:
                labels["batch.kubernetes.io/job-name"] = pod.job_name
                labels["job-name"] = pod.job_name
            return dict(base, **common, **{
                "io.kubernetes.container.name": "POD",
                "io.kubernetes.cri-o.ContainerType": "sandbox",
                "io.kubernetes.cri-o.ContainerID": c.id,
                "io.kubernetes.cri-o.ContainerName": sandbox_name,
                "io.kubernetes.cri-o.KubeName": pod.name,
                "io.kubernetes.cri-o.Namespace": pod.namespace,
                "io.kubernetes.cri-o.HostName": pod.name,
                "io.kubernetes.cri-o.Image": SANDBOX_IMAGE,
                "io.kubernetes.cri-o.Labels": json.dumps(labels, sort_keys=True),
                "io.kubernetes.cri-o.Annotations": json.dumps(
                    dict({"kubernetes.io/config.source": "api"}, **pod.annotations),
                    sort_keys=True),
            })
        kubelet_annotations = {
            "io.kubernetes.container.hash": secrets.token_hex(4),
            "io.kubernetes.container.restartCount": "0",
            "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
            "io.kubernetes.container.terminationMessagePolicy": "File",
            "io.kubernetes.pod.terminationGracePeriod": "30",
        }
        labels = dict(base, **{"io.kubernetes.container.name": c.name})
        return dict(base, **common, **kubelet_annotations, **{
            "io.kubernetes.container.name": c.name,
            "io.kubernetes.cri-o.ContainerType": "container",
            "io.kubernetes.cri-o.ContainerID": c.id,
            "io.kubernetes.cri-o.Name": f"k8s_{c.name}_{pod.name}_{pod.namespace}_{pod.uid}_0",
            "io.kubernetes.cri-o.Image": c.image,
            "io.kubernetes.cri-o.ImageName": c.image,
            "io.kubernetes.cri-o.ImageRef": c.image,
            "io.kubernetes.cri-o.Metadata": json.dumps({"name": c.name}),
            "io.kubernetes.cri-o.Labels": json.dumps(labels, sort_keys=True),
            "io.kubernetes.cri-o.Annotations": json.dumps(kubelet_annotations, sort_keys=True),
        })

    def _start_sandbox(self, pod):
        sid = pod.sandbox_id
        sb = ContainerRecord(name="POD", id=sid, spec=ContainerSpec(name="POD", lines=0,
                                                                    sleep_ms=-1),
                             image=SANDBOX_IMAGE, log_path="",
                             bundle=os.path.join(self.bundles_dir, sid), expected=[])
        # The pause container prints nothing; its conmon log stays outside the
        # pods log dir.
        sb.log_path = os.path.join(sb.bundle, "sandbox.log")
        pod.sandbox = sb
        self._container_config(pod, sb, ["/joblet", "0", "0", "0", "-1"],
                               self._annotations(pod, sb, sandbox=True))
        self._create_container(pod, sb, configured=True)
        self._start_container(sb)

    def _stop_sandbox(self, pod, errors):
        sb = pod.sandbox
        if sb.id not in self._containers:
            return
        if sb.pid and _process_alive(sb.pid):
            _run(["runc", "--root", self.runc_root, "kill", sb.id, "TERM"], check=False)
            try:
                wait_for(lambda: os.path.exists(os.path.join(self.exit_dir, sb.id)), 5,
                         what=f"sandbox {sb.id[:12]} to exit")
            except HarnessError:
                pass
        self._delete_container(sb, errors)

    def _create_container(self, pod, c, configured=False):
        """conmon + `runc create`; returns once runc's pidfile exists."""
        if not configured:
            joins = None
            if pod.sandbox is not None and pod.sandbox.pid:
                joins = {t: f"/proc/{pod.sandbox.pid}/ns/{n}"
                         for t, n in (("network", "net"), ("ipc", "ipc"), ("uts", "uts"))
                         if not (t == "network" and pod.host_network)}
            self._container_config(pod, c, c.spec.args(), self._annotations(pod, c, False),
                                   joins=joins, env={"POD_NAME": pod.name, **c.spec.joblet_env()},
                                   mounts=self._container_mounts(pod, c))
        with self._lock:
            self._containers[c.id] = c
            self._records.append(c)
        pidfile = os.path.join(c.bundle, "pid")
        conmon_pidfile = os.path.join(c.bundle, "conmon.pid")
        argv = [
            "conmon", "--cid", c.id, "--cuuid", c.id,
            "--name", f"k8s_{c.name}_{pod.name}_{pod.namespace}_{pod.uid}_0",
            "--runtime", shutil.which("runc"),
            "--runtime-arg", f"--root={self.runc_root}",
            "--runtime-arg", f"--log={os.path.join(c.bundle, 'runc.log')}",
            "--bundle", c.bundle,
            "--log-path", f"k8s-file:{c.log_path}",
            "--container-pidfile", pidfile,
            "--conmon-pidfile", conmon_pidfile,
            "--socket-dir-path", self.socket_dir,
            "--exit-dir", self.exit_dir,
            "--syslog",
        ]
        c.times["create"] = now_ns()
        with open(os.path.join(c.bundle, "conmon.out"), "wb") as out:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                  timeout=30)
        if proc.returncode != 0:
            raise HarnessError(f"conmon for {c.name} ({c.id[:12]}) exited {proc.returncode}: "
                               f"{self._container_diagnostics(c)}")
        c.conmon_pid = int(_read_text(conmon_pidfile, "0").strip() or 0)

        def created():
            text = _read_text(pidfile, "").strip()
            if text:
                return int(text)
            if c.conmon_pid and not _process_alive(c.conmon_pid):
                raise HarnessError(f"conmon for {c.name} ({c.id[:12]}) exited before runc "
                                   f"created it")
            return None
        try:
            c.pid = wait_for(created, 20, what=f"runc to create {c.name} ({c.id[:12]})")
        except HarnessError as e:
            raise HarnessError(f"{e}: {self._container_diagnostics(c)}") from None
        c.times["created"] = now_ns()

    def _container_diagnostics(self, c):
        parts = []
        for name in ("runc.log", "conmon.out"):
            text = (_read_text(os.path.join(c.bundle, name), "") or "").strip()
            if text:
                parts.append(f"{name}: {text[-800:]}")
        return "; ".join(parts) or "(no runc or conmon output)"

    def _start_container(self, c):
        c.times["start"] = now_ns()
        _run(["runc", "--root", self.runc_root, "start", c.id])
        c.times["started"] = now_ns()

    def _wait_exit(self, c, timeout):
        path = os.path.join(self.exit_dir, c.id)
        text = wait_for(lambda: (_read_text(path, "") or "").strip(), timeout,
                        what=f"container {c.name} ({c.id[:12]}) to exit")
        c.times["exited"] = now_ns()
        c.exit_code = int(text)

    def exited(self, c):
        """c's exit code once conmon recorded its exit, else None."""
        text = (_read_text(os.path.join(self.exit_dir, c.id), "") or "").strip()
        return int(text) if text else None

    def output(self, c):
        """(stream, body) of every complete line of c's CRI log so far
        (conmon's P pieces joined)."""
        return read_cri_lines(c.log_path)

    def wait_output(self, c, predicate, timeout=10.0, what=None):
        """Waits until predicate(self.output(c)) is true and returns its
        value. Raises HarnessError (with the log's last lines) on timeout or
        when the container exits first."""
        what = what or f"output of {c.name} ({c.id[:12]})"
        deadline = time.monotonic() + timeout
        while True:
            code = self.exited(c)  # before reading: what it printed is in
            lines = self.output(c)
            value = predicate(lines)
            if value:
                return value
            if code is not None:
                raise HarnessError(f"{c.name} ({c.id[:12]}) exited {code} before {what}; its "
                                   f"log ends: {lines[-5:]}; {self._container_diagnostics(c)}")
            if time.monotonic() >= deadline:
                raise HarnessError(f"timed out after {timeout:.1f} s waiting for {what}; "
                                   f"{c.name}'s log ends: {lines[-5:]}")
            time.sleep(0.01)

    def _delete_container(self, c, errors):
        proc = _run(["runc", "--root", self.runc_root, "delete", "-f", c.id], check=False)
        err = proc.stderr.decode(errors="replace").strip()
        if proc.returncode != 0 and "does not exist" not in err:
            errors.append(f"runc delete -f {c.id[:12]}: {err}")
        c.times["deleted"] = now_ns()
        if c.conmon_pid:
            try:
                wait_for(lambda: not _is_conmon_of(c.conmon_pid, c.id), 5, interval=0.005,
                         what=f"conmon {c.conmon_pid} to exit")
            except HarnessError:
                self._kill_conmon(c)
        with self._lock:
            self._containers.pop(c.id, None)

    def _kill_conmon(self, c):
        if c.conmon_pid and _is_conmon_of(c.conmon_pid, c.id):
            try:
                os.kill(c.conmon_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # the kubelet's view of containers -----------------------------------

    def _kubelet_container_running(self, pod, c):
        started = rfc3339(c.times["started"])

        def update(p):
            p["status"]["phase"] = "Running"
            for st in p["status"]["containerStatuses"]:
                if st["name"] == c.name:
                    st["state"] = {"running": {"startedAt": started}}
                    st["containerID"] = f"cri-o://{c.id}"
                    st["imageID"] = f"{c.image}@sha256:{'0' * 64}"
                    st["started"] = True
        self.kubelet.update_pod(pod.uid, update)

    def _kubelet_container_exited(self, pod, c):
        finished = rfc3339(c.times["exited"])

        def update(p):
            for st in p["status"]["containerStatuses"]:
                if st["name"] == c.name:
                    st["state"] = {"terminated": {
                        "exitCode": c.exit_code,
                        "reason": "Completed" if c.exit_code == 0 else "Error",
                        "startedAt": rfc3339(c.times["started"]), "finishedAt": finished,
                        "containerID": f"cri-o://{c.id}"}}
                    st["started"] = False
            states = [s["state"] for s in p["status"]["containerStatuses"]]
            if all("terminated" in s for s in states):
                failed = any(s["terminated"]["exitCode"] != 0 for s in states)
                p["status"]["phase"] = "Failed" if failed else "Succeeded"
        self.kubelet.update_pod(pod.uid, update)

    # the agent -----------------------------------------------------------

    def start_glimpse(self, extra_args=(), config=None, wait_ready=True, pods_log_dir=None,
                      ready_timeout=20.0, log_level="debug"):
        """Runs GLIMPSE_BIN against this node: its pods log dir, the fake
        kubelet, node name, a fresh state dir and output file, and a config
        file {"runc_roots": [<this node's runc root>], **config}. Waits for a
        stderr line with "msg":"ready" unless wait_ready is false. Raises
        GlimpseUnavailable (a Skip) when the binary is missing or it exits
        with an error about BPF, GlimpseFailed for any other early exit."""
        if not os.access(GLIMPSE_BIN, os.X_OK):
            raise GlimpseUnavailable(f"glimpse is not built ({GLIMPSE_BIN} missing)")
        with self._lock:
            n = len(self._glimpses)
        workdir = self._mkdir(f"glimpse-{n}")
        state_dir = os.path.join(workdir, "state")
        os.makedirs(state_dir, exist_ok=True)
        output = os.path.join(workdir, "out.ndjson")
        stderr_path = os.path.join(workdir, "stderr.log")
        conf = {"runc_roots": [self.runc_root]}
        conf.update(config or {})
        conf_path = os.path.join(workdir, "config.json")
        with open(conf_path, "w", encoding="utf-8") as f:
            json.dump(conf, f, indent=1)
        argv = [GLIMPSE_BIN,
                "--pods-log-dir", pods_log_dir if pods_log_dir is not None else self.pods_log_dir,
                "--docker-root", "",  # the host's docker, if any, is not this node's
                "--kubelet-root-dir", self.kubelet_root,
                "--kubelet-url", self.kubelet.url,
                "--node-name", self.node_name,
                "--state-dir", state_dir,
                "--output", f"file:{output}",
                "--log-level", log_level,
                "--config", conf_path]
        if self.kubelet.https:
            argv += ["--kubelet-token-file", self.kubelet.token_file,
                     "--kubelet-ca-file", self.kubelet.ca_file]
        argv += list(extra_args)
        with open(stderr_path, "wb") as err, \
                open(os.path.join(workdir, "stdout.log"), "wb") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    cwd=workdir)
        with open(os.path.join(workdir, "pid"), "w", encoding="utf-8") as f:
            f.write(str(proc.pid))
        g = Glimpse(proc, workdir, output, stderr_path, argv)
        with self._lock:
            self._glimpses.append(g)
        if wait_ready:
            self._wait_ready(g, ready_timeout)
        return g

    def _wait_ready(self, g, timeout):
        def ready():
            if any(e.get("msg") == "ready" for e in g.agent_log()):
                return True
            if g.proc.poll() is not None:
                g.agent_log()
                if any(e.get("msg") == "ready" for e in g.log.events):
                    return True
                return "exited"
            return False
        try:
            state = wait_for(ready, timeout, interval=0.02, what="glimpse to be ready")
        except HarnessError:
            g.stop()
            raise GlimpseFailed(f"glimpse did not log \"msg\":\"ready\" within {timeout:.0f} s; "
                                f"stderr ends:\n{g.stderr_tail()}") from None
        if state == "exited":
            g.stop()
            errors = [e for e in g.log.events if e.get("level") == "error"]
            text = json.dumps(errors) if errors else g.stderr_text()
            if _mentions_bpf(text):
                first = errors[0] if errors else g.stderr_tail(3)
                raise GlimpseUnavailable(f"BPF unavailable: glimpse exited {g.returncode}: "
                                         f"{json.dumps(first) if errors else first}")
            raise GlimpseFailed(f"glimpse exited {g.returncode} before it was ready; stderr "
                                f"ends:\n{g.stderr_tail()}")

    # cleanup -------------------------------------------------------------

    def close(self):
        """Undoes everything: agents, pods, containers, conmons, cgroups,
        the kubelet and the work dir. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            timers = list(self._timers)
            glimpses = list(self._glimpses)
        problems = []
        for t in timers:
            t.cancel()
        for g in glimpses:
            try:
                g.stop()
            except Exception as e:
                problems.append(f"stopping glimpse {g.pid}: {e}")
        for pod in list(self._pods.values()):
            try:
                self.remove_pod(pod)
            except Exception as e:
                problems.append(str(e))
        # Anything left in this node's runc root is this node's.
        if getattr(self, "runc_root", None) and os.path.isdir(self.runc_root):
            for cid in os.listdir(self.runc_root):
                c = self._containers.get(cid) or ContainerRecord(
                    name=cid, id=cid, spec=None, image="", log_path="", bundle="", expected=[])
                self._delete_container(c, problems)
        for c in list(self._containers.values()):
            self._kill_conmon(c)
        with self._lock:
            dirs = list(reversed(self._cgroup_dirs))
        for path in dirs:
            self._rmdir_cgroup(path, [], missing_ok=True)
        for path in self._cgroup_dirs:
            if os.path.isdir(path) and not self._kill_cgroup(path):
                problems.append(f"cgroup {path} is still there")
        if self.kubelet is not None:
            self.kubelet.close()
        if not self.keep_workdir and getattr(self, "workdir", None):
            shutil.rmtree(self.workdir, ignore_errors=True)
        for p in problems:
            print(f"node: cleanup: {p}", file=sys.stderr)

    def _kill_cgroup(self, path):
        """Last resort for a cgroup of ours that still holds processes: kill
        them through cgroup2's cgroup.kill, then rmdir. True when it is gone."""
        for mount in self.cgroup_mounts:
            if path.startswith(mount + "/"):
                rel = path[len(mount) + 1:]
                for m in self.cgroup_mounts:
                    kill = os.path.join(m, rel, "cgroup.kill")
                    if os.path.exists(kill):
                        try:
                            with open(kill, "w", encoding="utf-8") as f:
                                f.write("1")
                        except OSError:
                            pass
        for sub in sorted((os.path.join(r, d) for r, ds, _ in os.walk(path) for d in ds),
                          key=len, reverse=True):
            self._rmdir_cgroup(sub, [], missing_ok=True)
        errs = []
        self._rmdir_cgroup(path, errs, missing_ok=True)
        return not os.path.isdir(path)

    def leftovers(self):
        """What this node left behind (call after close): [] when nothing."""
        found = []
        if os.path.isdir(self.workdir):
            found.append(f"work dir {self.workdir}")
        for c in self._records:
            if c.conmon_pid and _is_conmon_of(c.conmon_pid, c.id):
                found.append(f"conmon {c.conmon_pid} of {c.id[:12]}")
        for path in self._cgroup_dirs:
            if os.path.isdir(path):
                found.append(f"cgroup {path}")
        for g in self._glimpses:
            if g.proc.poll() is None:
                found.append(f"glimpse {g.pid}")
        return found


# --------------------------------------------------------------------------
# Checking what the agent emitted


@dataclasses.dataclass
class PodsCheck:
    """What the agent emitted for a set of finished pods, against what their
    containers printed."""
    expected_lines: int = 0
    emitted_lines: int = 0          # distinct expected lines seen at least once
    missing_lines: int = 0
    duplicate_lines: int = 0        # extra copies of expected lines
    unexpected_lines: int = 0       # log events of our pods that no container printed
    expected_starts: int = 0
    starts: int = 0
    expected_exits: int = 0
    exits: int = 0
    problems: list = dataclasses.field(default_factory=list)
    missing_by_pod: dict = dataclasses.field(default_factory=dict)
    missing_events: list = dataclasses.field(default_factory=list)
    waited_s: float = 0.0           # wait_for_pods: seconds until complete (or gave up)

    @property
    def complete(self):
        """Every line and every start/exit event is there (maybe with errors)."""
        return (self.missing_lines == 0 and self.starts >= self.expected_starts
                and self.exits >= self.expected_exits)

    @property
    def ok(self):
        return (self.complete and not self.problems and self.duplicate_lines == 0
                and self.unexpected_lines == 0)

    def summary(self):
        def events(got, want):
            return f"{got}/{want}" if want else f"{got} (not required)"
        return (f"lines: {self.expected_lines} expected, {self.emitted_lines} emitted, "
                f"{self.missing_lines} missing, {self.duplicate_lines} duplicated, "
                f"{self.unexpected_lines} unexpected; containers with a start event: "
                f"{events(self.starts, self.expected_starts)}, with an exit event: "
                f"{events(self.exits, self.expected_exits)}")

    def report(self, limit=10):
        out = [self.summary()]
        if self.missing_by_pod:
            out.append(f"pods with missing lines: {len(self.missing_by_pod)}")
            for name, (count, total, first) in list(self.missing_by_pod.items())[:limit]:
                out.append(f"  {name}: {count}/{total} missing, first: {first}")
        if self.missing_events:
            out.append(f"missing container events: {len(self.missing_events)}, first: "
                       + ", ".join(self.missing_events[:limit]))
        for p in self.problems[:limit * 2]:
            out.append("  " + p)
        if len(self.problems) > limit * 2:
            out.append(f"  … and {len(self.problems) - limit * 2} more problems")
        return "\n".join(out)


def check_pods(pods, events, node_name="test-node", require_job=True, metadata=True,
               container_events=("start", "exit")):
    """Checks events (the agent's output) against finished pods: every line
    exactly once with the right stream and fields, one start and one exit
    event per container with its exit code, no log from a sandbox.
    metadata=False requires only the fields a log path gives (namespace, pod,
    uid, container name) and checks container.id only where present;
    container_events names the container events required (at most one each
    is allowed either way)."""
    r = PodsCheck()
    by_id = {}
    by_pod_container = {}
    sandboxes = {}
    for pod in pods:
        for c in pod.containers:
            by_id[c.id] = (pod, c)
            by_pod_container[(pod.uid, c.name)] = (pod, c)
        if pod.sandbox is not None:
            sandboxes[pod.sandbox.id] = pod
    pod_uids = {pod.uid for pod in pods}
    seen = {cid: {} for cid in by_id}
    starts = {cid: [] for cid in by_id}
    exits = {cid: [] for cid in by_id}
    issues = {}  # kind of problem -> messages, reported as a count and examples

    def issue(kind, msg):
        issues.setdefault(kind, []).append(msg)

    for ev in events:
        cid = ev.get("container.id")
        kind = ev.get("kind")
        if cid in sandboxes and kind == "log":
            issue("log events from a sandbox", f"pod {sandboxes[cid].name}: "
                                               f"{json.dumps(ev)[:200]}")
            continue
        target = by_id.get(cid)
        if target is None and kind == "log":
            target = by_pod_container.get((ev.get("k8s.pod.uid"), ev.get("k8s.container.name")))
            if target is None and ev.get("k8s.pod.uid") in pod_uids:
                r.unexpected_lines += 1
                issue("log events of a test pod for no container of it", json.dumps(ev)[:200])
        if target is None:
            continue
        pod, c = target
        if kind == "container":
            what = ev.get("event")
            if what == "start":
                starts[c.id].append(ev)
            elif what == "exit":
                exits[c.id].append(ev)
            continue
        if kind != "log":
            continue
        key = (ev.get("log.iostream"), ev.get("body"))
        seen[c.id][key] = seen[c.id].get(key, 0) + 1
        want = {
            "k8s.namespace.name": pod.namespace, "k8s.pod.name": pod.name,
            "k8s.pod.uid": pod.uid, "k8s.container.name": c.name, "k8s.node.name": node_name,
        }
        if metadata or "container.id" in ev:
            want["container.id"] = c.id
        if metadata:
            want["container.image.name"] = c.image
            if require_job and pod.job_name:
                want["k8s.job.name"] = pod.job_name
        for k, v in want.items():
            if ev.get(k) != v:
                issue(f"log events with a wrong or missing {k}",
                      f"{k}={ev.get(k)!r}, want {v!r} (pod {pod.name}, line "
                      f"{str(ev.get('body', ''))[:60]!r})")
        if "time" not in ev:
            issue("log events without time", json.dumps(ev)[:200])

    for cid, (pod, c) in by_id.items():
        where = f"{pod.name}/{c.name}"
        got = seen[cid]
        expected = set(c.expected)
        r.expected_lines += len(c.expected)
        missing = [line for line in c.expected if line not in got]
        r.missing_lines += len(missing)
        r.emitted_lines += len(c.expected) - len(missing)
        if missing:
            r.missing_by_pod[where] = (len(missing), len(c.expected), missing[:3])
        for key, count in got.items():
            if key in expected:
                r.duplicate_lines += count - 1
                if count > 1:
                    issue("lines emitted more than once", f"{where}: {count} x {key!r}")
            else:
                r.unexpected_lines += count
                issue("log events no container printed (wrong stream or body)",
                      f"{where}: stream={key[0]!r} body={str(key[1])[:80]!r}")
        r.expected_starts += 1 if "start" in container_events else 0
        r.expected_exits += 1 if "exit" in container_events else 0
        r.starts += min(1, len(starts[cid]))
        r.exits += min(1, len(exits[cid]))
        for what, got_events in (("start", starts[cid]), ("exit", exits[cid])):
            if what in container_events and not got_events:
                r.missing_events.append(f"{what} of {where} ({cid[:12]})")
            if len(got_events) > 1:
                issue(f"containers with more than one {what} event",
                      f"{where}: {len(got_events)}")
        for ev in exits[cid]:
            if ev.get("process.exit.code") != c.spec.exit_code:
                issue("exit events with a wrong process.exit.code",
                      f"{where}: {ev.get('process.exit.code')!r}, want {c.spec.exit_code} "
                      f"(conmon recorded {c.exit_code})")
        # The container's process is the one runc's pidfile names (joblet).
        for ev in starts[cid] + exits[cid]:
            if c.pid and "process.pid" in ev and ev["process.pid"] != c.pid:
                issue(f"{ev.get('event')} events naming another process than the container's",
                      f"{where}: process.pid={ev['process.pid']} "
                      f"({ev.get('process.executable.name')!r}), want {c.pid} (runc's pidfile)")
    for kind, msgs in issues.items():
        examples = msgs[0] if len(msgs) == 1 else f"{msgs[0]}; {msgs[-1]}"
        r.problems.append(f"{len(msgs)} {kind}, e.g. {examples}")
    return r


def wait_for_pods(glimpse, pods, timeout, grace=1.0, **check_args):
    """Waits until the agent's output holds every line and start/exit event
    of pods (or timeout seconds), then `grace` seconds more to catch
    duplicates. Returns the final PodsCheck."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        check = check_pods(pods, glimpse.events(), **check_args)
        if check.complete or time.monotonic() >= deadline or not glimpse.running():
            break
        time.sleep(0.1)
    waited = time.monotonic() - start
    if check.complete and grace:
        time.sleep(grace)
        check = check_pods(pods, glimpse.events(), **check_args)
    check.waited_s = waited
    if glimpse.output.bad:
        check.problems.insert(0, f"{len(glimpse.output.bad)} output line(s) are not UTF-8 JSON "
                                 f"objects, first: {glimpse.output.bad[0][:200]!r}")
    return check


def percentile(values, p):
    """The p-th percentile (nearest rank) of values, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[min(len(ordered), rank) - 1]


def format_ns(ns):
    """A duration for people: "850 ns", "86.2 us", "4.31 ms", "1.20 s"."""
    if ns is None:
        return "-"
    a = abs(ns)
    if a < 1_000:
        return f"{ns:.0f} ns"
    if a < 1_000_000:
        return f"{ns / 1e3:.1f} us"
    if a < 1_000_000_000:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


def machine_description():
    """One line naming this machine for benchmark records."""
    model = "unknown CPU"
    for line in (_read_text("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    u = os.uname()
    return f"{u.sysname} {u.release} {u.machine}, {os.cpu_count()} CPUs ({model})"


# --------------------------------------------------------------------------
# Running tests


def check_prerequisites(need_glimpse=True, need_node=True):
    """Raises Skip naming what this machine lacks for the e2e tests. Without
    need_node only the glimpse binary is needed (tests that write log files
    themselves and need no containers)."""
    if not need_node:
        if need_glimpse and not os.access(GLIMPSE_BIN, os.X_OK):
            raise Skip(f"glimpse is not built ({GLIMPSE_BIN} missing)")
        return
    if os.geteuid() != 0:
        raise Skip("not root (runc needs root)")
    for tool in ("runc", "conmon"):
        if shutil.which(tool) is None:
            raise Skip(f"{tool} is not installed")
    if not os.access(JOBLET, os.X_OK):
        raise Skip(f"the test entrypoint is not built ({JOBLET} missing)")
    if not cgroup_mounts():
        raise Skip("no cgroup hierarchy is mounted")
    if need_glimpse and not os.access(GLIMPSE_BIN, os.X_OK):
        raise Skip(f"glimpse is not built ({GLIMPSE_BIN} missing)")


def run_one_shot(argv, stderr_path, timeout, umask=None):
    """Runs the agent (argv, usually with --exit-on-eof) to its end, its
    stderr kept in stderr_path. Returns (exit code or None when it had to be
    killed after timeout seconds, stderr text, its JSON log entries)."""
    extra = {} if umask is None else {"umask": umask}
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, **extra)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
    stderr = _read_text(stderr_path, "")
    log = []
    for line in stderr.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            log.append(entry)
    return code, stderr, log


def run_tests(tests, need_glimpse=True, need_node=True):
    """Runs test functions in order. Prints "ok   name", "FAIL name" (then the
    reason, indented) or "skip name: reason" per test and, last,
    "N passed, N failed, N skipped". Once one test finds glimpse unusable
    here (no BPF), the rest are skipped with that reason. need_node: the tests
    run containers (root, runc, conmon, the joblet). Returns the exit status:
    1 if any test failed."""
    passed = failed = skipped = 0
    try:
        check_prerequisites(need_glimpse, need_node)
        blocked = None
    except Skip as e:
        blocked = str(e)
    for fn in tests:
        name = fn.__name__
        if blocked:
            print(f"skip {name}: {blocked}", flush=True)
            skipped += 1
            continue
        start = time.monotonic()
        try:
            note = fn()
        except GlimpseUnavailable as e:
            blocked = str(e)
            print(f"skip {name}: {e}", flush=True)
            skipped += 1
        except Skip as e:
            print(f"skip {name}: {e}", flush=True)
            skipped += 1
        except KeyboardInterrupt:
            raise
        except BaseException as e:
            failed += 1
            print(f"FAIL {name} ({time.monotonic() - start:.1f} s)", flush=True)
            detail = str(e) if isinstance(e, (AssertionError, HarnessError, GlimpseFailed)) \
                else traceback.format_exc()
            for line in (detail or type(e).__name__).rstrip().splitlines():
                print(f"    {line}", flush=True)
        else:
            passed += 1
            extra = f": {note}" if note else ""
            print(f"ok   {name} ({time.monotonic() - start:.1f} s){extra}", flush=True)
    print(f"{passed} passed, {failed} failed, {skipped} skipped", flush=True)
    return 1 if failed else 0


def _raise_on_sigterm():
    """Makes SIGTERM unwind like Ctrl-C, so a killed test still cleans up."""
    if threading.current_thread() is threading.main_thread():
        def handler(signum, frame):
            raise KeyboardInterrupt(f"signal {signum}")
        signal.signal(signal.SIGTERM, handler)


_raise_on_sigterm()
