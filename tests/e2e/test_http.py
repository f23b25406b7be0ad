"""End-to-end: HTTP/1.x exchanges of containers, seen from tracepoints.

Each test runs with the agent's socket hooks (http_hooks "socket", the way in
on kernels >= 6.3; a kernel without them skips those with the reason), and
four of them again with the sys_exit hook ("syscall", older kernels' way):
the agent must say it took the hooks asked for.

Runs the real build/glimpse (HTTP capture on, its defaults) against real
containers (runc + conmon, tests/e2e/node.py) that run the host's own
programs (python3, curl, nginx) in pods with hostNetwork, so that servers on
127.0.0.1 are reached from other pods and from the host. The agent starts
before the pods. Servers and clients are tests/e2e/netserver.py and
tests/e2e/netclient.py (mounted read-only at /e2e from a hostPath volume),
curl and nginx. Every request path is unique (it starts with a prefix of its
test), so each exchange is matched by (url.path, http.side).

Each exchange must come out exactly once per traced side (a container
server: side "server"; a container client: side "client"; the host is not
traced), with its method, path, query (secret values REDACTED), status,
request and response payload sizes, protocol version, server and client
address and port, duration, request headers (host, user-agent,
content-type), process.pid of the container's process and the pod metadata
of the container that made it; no other http event may name the test's
server ports. Checked after the agent stopped (which hands over whatever
still waits), so a stuck exchange shows up as an extra incomplete event.

* test_python_server_and_clients: a server container (netserver.py: keep-
  alive, chunked with a chunk across writes and with a trailer, 1 MiB, a
  chunked answer in one sendmsg of 4 buffers (head across the first two),
  HEAD,
  204, 304 with a Content-Length, 100 Continue, Connection: close, a body
  until the close); a curl container (13 URLs in one curl, over one
  keep-alive connection but the last, which needs a new one after the
  close); a python client container (HEAD, 304 and a chunked GET pipelined
  in one write, then a GET; a POST written in 5 pieces; a POST with a body;
  an HTTP/1.0 GET). Both sides of every exchange, exactly. One answer,
  chunked-big (a 2000-byte chunk in one write with its size line and CRLF),
  puts chunked framing beyond the default capture (1024 bytes per read or
  write): its events may say http.incomplete ("lost framing", which the
  event format allows) with any size; that is let pass and told in the
  test's result line. The other chunked answers stay within the capture,
  whole reads included, and must be exact.
* test_nginx_server_host_client: nginx in a container serves static files
  (sendfile on, as Debian's config has it) to curl on the host: server-side
  events only (200 with the file's size, HEAD, 404, a redacted api_key).
* test_python_http_server_host_client: python3 -m http.server in a
  container (HTTP/1.0 answers, a connection each) serves files to curl on
  the host: 200 with the file's size, 404 (a redacted token), HEAD.
* test_not_http_is_skipped: a line protocol whose server speaks first
  ("HELLO") and a binary echo, between containers: no http event for them,
  http_conns_not_http > 0 in the agent's "stopped" line; an HTTP exchange
  in the same pods is the control that capture works meanwhile.
* test_connection_older_than_agent: a python client container opens a
  keep-alive connection to a server container and makes one exchange
  before the agent starts, then (told by the test over a socket) three
  more on it: a small answer, a chunked one, 1 MiB. The three come out on
  both sides, met mid-stream; the one before has no event.
* test_cut_responses_and_secrets: answers cut by an RST (SO_LINGER 0) after
  part of a Content-Length body, inside a chunk, and before any answer: one
  event per side each, with http.incomplete true. What the agent can observe
  is what is required beyond that: where the head came (the first two), its
  status, and as http.response.body.size the payload bytes that did pass
  (1000 of an announced 100000; 500 + 100 of a chunk announced as 1000),
  which both ends wrote or read whole before the RST (the client says what
  it read; the server waits 0.3 s before the RST). Without a head (drop):
  no status, no size, no duration. A query "?token=abc&user=x&password=p"
  comes out as "token=REDACTED&user=x&password=REDACTED", and a request with
  Authorization and Cookie headers (and a response with Set-Cookie) whose
  values hold "abc-secret" leaves no "abc-secret" in the agent's output
  file, nor in its own log.

    python3 tests/e2e/test_http.py [test name ...]   (names as printed)
"""

import calendar
import dataclasses
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netserver  # noqa: E402  (the servers' answers, to know what to expect)
import node  # noqa: E402

NAMESPACE = "e2e-http"
E2E_DIR = os.path.dirname(os.path.abspath(__file__))
PY_IMAGE = "docker.io/library/python:3.11"
CURL_IMAGE = "docker.io/curlimages/curl:7.88.1"
NGINX_IMAGE = "docker.io/library/nginx:1.22"
SCRIPTS_VOLUME = {"name": "e2e", "hostPath": {"path": E2E_DIR, "type": "Directory"}}
SCRIPTS_MOUNT = {"name": "e2e", "mountPath": "/e2e", "readOnly": True}
SETTLE_S = 0.5       # after the agent's "ready", before the first pod
EVENTS_WAIT_S = 10   # for every expected event after the clients ran
GRACE_S = 1.0        # then, for duplicates
SECRET = "abc-secret"
CURL_FORMAT = ('{"url":"%{url_effective}","local_port":"%{local_port}","status":"%{http_code}",'
               '"body":"%{size_download}","upload":"%{size_upload}",'
               '"connects":"%{num_connects}"}\n')


def unique(prefix):
    return f"{prefix}-{secrets.token_hex(3)[:5]}"


def curl_version():
    out = subprocess.run(["curl", "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


# --------------------------------------------------------------------------
# What is expected


@dataclasses.dataclass
class Exchange:
    """One request/response exchange and who saw it. sides: {"client" or
    "server": (pod, container)} for the traced ends. response_body: the
    payload size, or (low, high) when only bounds are known; ignored when
    status is None (then no size may be given)."""
    method: str
    path: str                     # without the query
    query: str = None             # url.query expected (None: absent)
    status: int = 200
    request_body: int = 0
    response_body: object = 0
    version: str = "1.1"
    server_port: int = 0
    client_port: int = None       # None: not known, not checked
    sides: dict = dataclasses.field(default_factory=dict)
    incomplete: bool = False
    headers: dict = dataclasses.field(default_factory=dict)  # header -> value, None: absent
    window: tuple = None          # (lo, hi) wall-clock ns the request was made in
    # chunked framing partly beyond the capture (http_capture_bytes): an
    # event with http.incomplete true ("lost framing", as the event format
    # allows) is taken whatever its size, and noted
    framing_may_be_lost: bool = False


def http_events(events):
    return [e for e in events if e.get("kind") == "http"]


def parse_time(text):
    """ns since the epoch of an RFC 3339 UTC time with up to 9 decimals."""
    if not isinstance(text, str) or not text.endswith("Z") or len(text) < 20:
        return None
    try:
        secs = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    frac = text[19:-1]
    if frac and (frac[0] != "." or not frac[1:].isdigit()):
        return None
    return secs * 1_000_000_000 + int((frac[1:] + "000000000")[:9] or 0)


def short(ev, limit=700):
    """An event for a report, without the keys every event of a test shares."""
    keep = {k: v for k, v in ev.items() if k not in ("k8s.node.name", "container.image.name",
                                                     "k8s.pod.uid", "container.id")}
    text = json.dumps(keep, separators=(",", ":"))
    return text if len(text) <= limit else text[:limit] + "…"


def check_event(x, side, pod, c, ev, node_name, notes=None):
    """The ways ev is not exchange x as seen by `side` in container c.
    What was let pass (framing_may_be_lost) is appended to notes."""
    bad = []
    lost = x.framing_may_be_lost and ev.get("http.incomplete") is True
    if lost and notes is not None:
        notes.append(f"{x.path} ({side}): http.incomplete, http.response.body.size="
                     f"{ev.get('http.response.body.size')!r} (payload {x.response_body})")

    def want(key, value):
        if value is None:
            if key in ev:
                bad.append(f"{key}={ev[key]!r}, want absent")
        elif ev.get(key) != value:
            bad.append(f"{key}={ev.get(key, '<absent>')!r}, want {value!r}")

    want("http.request.method", x.method)
    want("url.query", x.query)
    want("http.response.status_code", x.status)
    want("network.protocol.version", x.version)
    want("server.address", "127.0.0.1")
    want("server.port", x.server_port)
    want("client.address", "127.0.0.1")
    if x.client_port is not None:
        want("client.port", x.client_port)
    elif not isinstance(ev.get("client.port"), int):
        bad.append(f"client.port={ev.get('client.port', '<absent>')!r}, want a port")
    want("http.request.body.size", x.request_body)
    if x.status is None:
        want("http.response.body.size", None)
        want("duration_ns", None)
    else:
        size = ev.get("http.response.body.size")
        if isinstance(x.response_body, tuple):
            lo, hi = x.response_body
            if not isinstance(size, int) or not lo <= size <= hi:
                bad.append(f"http.response.body.size={size!r}, want {lo}..{hi}")
        elif lost:
            if not isinstance(size, int):
                bad.append(f"http.response.body.size={size!r}, want a size")
        else:
            want("http.response.body.size", x.response_body)
        d = ev.get("duration_ns")
        if not isinstance(d, int) or not 0 < d < 30_000_000_000:
            bad.append(f"duration_ns={d!r}, want 0 < d < 30 s")
    want("http.side", side)
    if not lost:
        want("http.incomplete", True if x.incomplete else None)
    want("http.request.truncated", None)
    for name, value in x.headers.items():
        want(f"http.request.header.{name}", value)
    for key in ev:
        if "authorization" in key.lower() or "cookie" in key.lower():
            bad.append(f"{key} present ({ev[key]!r})")
    want("process.pid", c.pid)
    want("k8s.node.name", node_name)
    want("k8s.namespace.name", pod.namespace)
    want("k8s.pod.name", pod.name)
    want("k8s.pod.uid", pod.uid)
    want("k8s.container.name", c.name)
    want("container.id", c.id)
    want("container.image.name", c.image)
    t = parse_time(ev.get("time"))
    if t is None:
        bad.append(f"time={ev.get('time')!r} is not RFC 3339 UTC")
    elif x.window and not x.window[0] - 1_000_000_000 <= t <= x.window[1] + 1_000_000_000:
        lo, hi = x.window
        bad.append(f"time={ev['time']} is {(t - lo) / 1e9:+.3f} s from when the client began "
                   f"(it ran {(hi - lo) / 1e9:.3f} s)")
    return bad


def check_exchanges(exchanges, events, ports, node_name, notes=None):
    """Problems: each exchange once per side, right; no other http event
    naming a server port of `ports`. What was let pass goes to notes."""
    problems = []
    evs = http_events(events)
    expected_keys = set()
    for x in exchanges:
        for side, (pod, c) in x.sides.items():
            expected_keys.add((x.path, side))
            got = [e for e in evs if e.get("url.path") == x.path and e.get("http.side") == side]
            what = f"{x.method} {x.path} ({side} side, {pod.name}/{c.name})"
            if len(got) != 1:
                problems.append(f"{what}: {len(got)} events, want 1" +
                                "".join(f"\n      {short(e)}" for e in got))
                if not got:
                    continue
            bad = check_event(x, side, pod, c, got[0], node_name, notes)
            if bad:
                problems.append(f"{what}: " + "; ".join(bad) + f"\n      {short(got[0])}")
    extra = [e for e in evs if e.get("server.port") in ports and
             (e.get("url.path"), e.get("http.side")) not in expected_keys]
    if extra:
        problems.append(f"{len(extra)} http events for the test's servers that no exchange "
                        f"explains:" + "".join(f"\n      {short(e)}" for e in extra[:12]))
    return problems


def wait_for_exchanges(g, exchanges, timeout=EVENTS_WAIT_S, grace=GRACE_S):
    """Waits until every (path, side) of exchanges has an event (or timeout),
    then `grace` s more for duplicates."""
    want = {(x.path, side) for x in exchanges for side in x.sides}
    deadline = time.monotonic() + timeout
    while True:
        have = {(e.get("url.path"), e.get("http.side")) for e in http_events(g.events())}
        if want <= have or time.monotonic() > deadline or not g.running():
            break
        time.sleep(0.05)
    time.sleep(grace)


def stop_and_summary(g):
    """Stops the agent; returns (its "stopped" line or {}, problems of the
    exit itself)."""
    code = g.stop()
    problems = []
    reports = g.sanitizer_reports()
    if code != 0 or reports:
        problems.append(f"glimpse exited {code} on SIGTERM with {len(reports)} sanitizer report "
                        f"line(s); stderr ends:\n{g.stderr_tail(20)}")
    stopped = g.find_log(lambda e: e.get("msg") == "stopped")
    if not stopped:
        problems.append("no \"stopped\" line in glimpse's log")
    if g.output.bad:
        problems.append(f"{len(g.output.bad)} output lines are not JSON objects, first "
                        f"{g.output.bad[0][:200]!r}")
    return (stopped[-1] if stopped else {}), problems


HTTP_COUNTERS = ("http_events", "http_incomplete", "http_records", "http_dropped",
                 "http_malformed", "http_desyncs", "http_conns", "http_conns_not_http",
                 "http_conns_dropped", "http_requests_dropped", "http_unpaired_responses",
                 "http_attach_failed")


def counters(stopped):
    return ", ".join(f"{k.removeprefix('http_')}={stopped.get(k)}" for k in HTTP_COUNTERS
                     if k in stopped)


def fail_if(problems, what, g, stopped, notes=()):
    if problems:
        raise AssertionError(f"{what}:\n  " + "\n  ".join(problems) +
                             "".join(f"\n  let pass: {note}" for note in notes) +
                             f"\n  agent counters: {counters(stopped)}")


# --------------------------------------------------------------------------
# Pods


HOOKS = "socket"  # the agent's http_hooks for the test running; see TESTS


def start_agent(n):
    """The agent with http_hooks = HOOKS; it must say it took them (on a
    kernel without the socket tracepoints "socket" fails to load: skip)."""
    g = n.start_glimpse(config={"http_hooks": HOOKS})
    line = g.wait_log(lambda e: str(e.get("msg", "")).startswith("http: capturing")
                      or str(e.get("msg", "")).startswith("http: load BPF programs"),
                      timeout=10, what="the agent to load its HTTP programs")
    if f"({HOOKS} hooks" not in line["msg"]:
        if HOOKS == "socket" and "load BPF programs" in line["msg"]:
            raise node.Skip(f"the socket hooks do not load on this kernel: {line['msg']}")
        raise AssertionError(f"the agent did not take the {HOOKS} hooks: {line['msg']}")
    time.sleep(SETTLE_S)
    return g


def python_server(n, name, modes, image=PY_IMAGE):
    """A pod with one netserver.py container per mode ({container: mode});
    returns (pod, {container: (record, port)}) once each listens."""
    specs = [node.ContainerSpec(name=cname, image=image, volume_mounts=[SCRIPTS_MOUNT],
                                command=["python3", "-u", "/e2e/netserver.py", mode])
             for cname, mode in modes.items()]
    pod = n.start_pod(NAMESPACE, unique(name), containers=specs, volumes=[SCRIPTS_VOLUME],
                      host_network=True)
    out = {}
    for c in pod.containers:
        port = n.wait_output(c, lambda lines: next(
            (int(b.rsplit(":", 1)[1]) for s, b in lines if b.startswith("listening ")), None),
            what=f"{c.name} of {pod.name} to listen")
        out[c.name] = (c, port)
    return pod, out


def run_client(n, name, containers, exit_timeout=30.0):
    """Runs a client pod to its end: containers is [ContainerSpec]. Returns
    (pod, window): the pod (not removed) and the wall-clock span it ran."""
    lo = node.now_ns()
    pod = n.run_pod(NAMESPACE, unique(name), containers=containers, volumes=[SCRIPTS_VOLUME],
                    host_network=True, remove_after_ms=None, exit_timeout=exit_timeout)
    hi = node.now_ns()
    for c in pod.containers:
        if c.exit_code != 0:
            raise node.HarnessError(f"client {pod.name}/{c.name} exited {c.exit_code}; its log: "
                                    f"{n.output(c)[-8:]}")
    return pod, (lo, hi)


def json_lines(n, c):
    out = []
    for stream, body in n.output(c):
        if stream == "stdout" and body.startswith("{"):
            out.append(json.loads(body))
    return out


def curl_spec(name, groups, image=CURL_IMAGE):
    """A curl container running `groups` ([(options, [url, ...])], joined
    with --next: one curl, one connection cache) with one JSON line per URL
    on stdout."""
    return node.ContainerSpec(name=name, image=image, command=curl_argv(groups))


def curl_argv(groups):
    argv = ["curl"]
    for i, (opts, urls) in enumerate(groups):
        if i:
            argv.append("--next")
        argv += ["-s", "-S", "-w", CURL_FORMAT] + list(opts)
        for url in urls:
            argv += ["-o", "/dev/null", url]
    return argv


def curl_results(lines):
    """{path: result} of curl's JSON lines; result has path, query, local_port,
    status, body, upload, connects (ints)."""
    out = {}
    for r in lines:
        u = urllib.parse.urlsplit(r["url"])
        r = dict(r, path=u.path, query=u.query or None,
                 **{k: int(r[k]) for k in ("local_port", "status", "body", "upload", "connects")})
        out[u.path] = r
    return out


# --------------------------------------------------------------------------
# The tests


def test_python_server_and_clients():
    prefix = "/" + unique("http-a")
    ua_curl = f"curl/{curl_version()}"
    with node.Node() as n:
        g = start_agent(n)
        spod, servers = python_server(n, "http-server", {"server": "http"})
        sc, port = servers["server"]
        base = f"http://127.0.0.1:{port}{prefix}/curl"
        post_body = "x" * 3000
        groups = [
            ([], [f"{base}/plain", f"{base}/chunked", f"{base}/chunked-trailer",
                  f"{base}/chunked-big", f"{base}/big", f"{base}/vectored",
                  f"{base}/nocontent", f"{base}/notmodified", f"{base}/query?a=1&b=two"]),
            (["-I"], [f"{base}/head"]),
            (["-H", "Expect: 100-continue", "-H", "Content-Type: application/octet-stream",
              "--data-binary", post_body], [f"{base}/expect/echo"]),
            ([], [f"{base}/close/close", f"{base}/eof/eof"]),
        ]
        cpod, cwin = run_client(n, "curl", [curl_spec("curl", groups)])
        cc = cpod.containers[0]
        got = curl_results(json_lines(n, cc))
        ppod, pwin = run_client(n, "pyclient", [node.ContainerSpec(
            name="client", image=PY_IMAGE, volume_mounts=[SCRIPTS_MOUNT],
            command=["python3", "-u", "/e2e/netclient.py", "requests", str(port), prefix])])
        pc = ppod.containers[0]
        pres = json_lines(n, pc)

        exchanges = []
        # curl's exchanges, checked against what curl itself read
        urls = [u for _, us in groups for u in us]
        if len(got) != len(urls):
            raise node.HarnessError(f"curl reported {len(got)} of {len(urls)} URLs: "
                                    f"{n.output(cc)[-5:]}")
        ports_used = [got[urllib.parse.urlsplit(u).path]["local_port"] for u in urls]
        if len(set(ports_used[:-1])) != 1 or ports_used[-1] == ports_used[0]:
            raise node.HarnessError(f"curl did not keep one connection up to the close: local "
                                    f"ports {ports_used}")
        for (opts, us) in groups:
            method = "HEAD" if "-I" in opts else "POST" if "--data-binary" in opts else "GET"
            for u in us:
                path = urllib.parse.urlsplit(u).path
                r = got[path]
                req_body = len(post_body) if method == "POST" else 0
                status, size = netserver.expected(method, path, req_body)
                if (r["status"], r["body"], r["upload"]) != (status, size, req_body):
                    raise node.HarnessError(f"curl read {r} from {u}, the server answers "
                                            f"{status} with {size} bytes")
                headers = {"host": f"127.0.0.1:{port}", "user-agent": ua_curl,
                           "content-type": "application/octet-stream" if method == "POST"
                           else None}
                exchanges.append(Exchange(
                    method=method, path=path, query=r["query"], status=status,
                    request_body=req_body, response_body=size, server_port=port,
                    client_port=r["local_port"], sides={"client": (cpod, cc), "server": (spod, sc)},
                    headers=headers, window=cwin,
                    framing_may_be_lost=netserver.route(path) == "chunked-big"))
        # the python client's
        if len(pres) != 7:
            raise node.HarnessError(f"the python client reported {len(pres)} of 7 exchanges: "
                                    f"{n.output(pc)[-8:]}")
        for r in pres:
            status, size = netserver.expected(r["method"], r["path"], r["request_body"])
            if (r["status"], r["body"]) != (status, size):
                raise node.HarnessError(f"the python client read {r}, the server answers "
                                        f"{status} with {size} bytes")
            ctype = {"split": "application/json", "post": "text/plain"}.get(
                r["path"].split("/")[2]) if r["method"] == "POST" else None
            exchanges.append(Exchange(
                method=r["method"], path=r["path"], status=status,
                request_body=r["request_body"], response_body=size, server_port=port,
                client_port=r["local_port"], version="1.0" if r["path"].endswith("http10")
                else "1.1", sides={"client": (ppod, pc), "server": (spod, sc)},
                headers={"host": f"127.0.0.1:{port}", "user-agent": "glimpse-e2e-client/1",
                         "content-type": ctype}, window=pwin))

        wait_for_exchanges(g, exchanges)
        stopped, problems = stop_and_summary(g)
        notes = []
        problems = check_exchanges(exchanges, g.events(), {port}, n.node_name, notes) + problems
        fail_if(problems, f"{len(exchanges)} exchanges between containers, both sides", g,
                stopped, notes)
    lost = f"; framing lost (let pass): {'; '.join(notes)}" if notes else ""
    return (f"{len(exchanges)} exchanges x 2 sides ({len(urls)} by curl, {len(pres)} by the "
            f"python client); {counters(stopped)}{lost}")


# One process (master_process off: nginx's workers would need CAP_SETGID,
# which runc's default capabilities lack), so process.pid is the container's;
# "user root root" keeps it from chowning its temp dirs (no CAP_CHOWN either).
NGINX_CONF = """\
daemon off;
master_process off;
user root root;
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr notice;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 30;
    default_type application/octet-stream;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root /srv/nginx/html;
    }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """True when a TCP socket listens on 127.0.0.1:port (from /proc/net/tcp,
    without connecting)."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/tcp", encoding="ascii") as f:
        return any(line.split()[1] == want and line.split()[3] == "0A"
                   for line in f.readlines()[1:])


def write_files(d, sizes):
    """Files of the given sizes ({name: bytes}) in d, made if missing."""
    os.makedirs(d, exist_ok=True)
    for name, size in sizes.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes((i % 26) + 97 for i in range(size)))


def host_curl_to_file_server(n, g, server, port, sizes, groups, query, what, one_connection):
    """The rest of a test of a file server container in pod server (its
    first container) on port, serving files of sizes ({name: bytes}): waits
    for it to listen, runs curl on the host over groups (URLs of those files,
    and of a missing.txt answered 404), checks what curl read, then one
    server-side event per URL (query: the url.query expected where a URL has
    one) and nothing else for the port. one_connection: curl must have kept
    one connection. Returns the test's result line."""
    c = server.containers[0]
    node.wait_for(lambda: listening(port) or n.exited(c) is not None, 10,
                  what=f"{what} to listen on {port}")
    if n.exited(c) is not None:
        raise node.HarnessError(f"{what} exited {n.exited(c)}: {n.output(c)[-5:]}")
    ua_curl = f"curl/{curl_version()}"
    lo = node.now_ns()
    proc = subprocess.run(curl_argv(groups), capture_output=True, text=True, timeout=30)
    window = (lo, node.now_ns())
    if proc.returncode != 0:
        raise node.HarnessError(f"curl exited {proc.returncode}: {proc.stderr.strip()}")
    got = curl_results(json.loads(line) for line in proc.stdout.splitlines())
    exchanges = []
    for opts, urls in groups:
        for u in urls:
            path = urllib.parse.urlsplit(u).path
            r = got[path]
            name = path.rsplit("/", 1)[1]
            head = "-I" in opts
            want = (404, r["body"]) if name == "missing.txt" else \
                (200, 0 if head else sizes[name])
            if (r["status"], r["body"]) != want:
                raise node.HarnessError(f"curl read {r} from {what}, want {want}")
            exchanges.append(Exchange(
                method="HEAD" if head else "GET", path=path,
                query=query if r["query"] else None, status=want[0],
                response_body=want[1], server_port=port, client_port=r["local_port"],
                sides={"server": (server, c)}, window=window,
                headers={"host": f"127.0.0.1:{port}", "user-agent": ua_curl,
                         "content-type": None}))
    if one_connection and len({r["local_port"] for r in got.values()}) != 1:
        raise node.HarnessError(f"curl used more than one connection: {got}")
    wait_for_exchanges(g, exchanges)
    stopped, problems = stop_and_summary(g)
    problems = check_exchanges(exchanges, g.events(), {port}, n.node_name) + problems
    fail_if(problems, f"{what} in a container, curl on the host", g, stopped)
    return f"{len(exchanges)} exchanges, server side; {counters(stopped)}"


def test_nginx_server_host_client():
    prefix = unique("http-b")
    sizes = {"file.txt": 4321, "other.txt": 1000, "head.txt": 777}
    with node.Node() as n:
        conf = os.path.join(n.workdir, unique("nginx"))
        write_files(os.path.join(conf, "html", prefix), sizes)
        port = free_port()
        with open(os.path.join(conf, "nginx.conf"), "w", encoding="utf-8") as f:
            f.write(NGINX_CONF.format(port=port))
        g = start_agent(n)
        spec = node.ContainerSpec(
            name="nginx", image=NGINX_IMAGE,
            command=["nginx", "-c", "/srv/nginx/nginx.conf", "-p", "/tmp/", "-e", "stderr"],
            volume_mounts=[{"name": "site", "mountPath": "/srv/nginx", "readOnly": True}])
        pod = n.start_pod(NAMESPACE, unique("nginx"), containers=[spec],
                          volumes=[{"name": "site", "hostPath": {"path": conf}}],
                          host_network=True)
        base = f"http://127.0.0.1:{port}/{prefix}"
        groups = [([], [f"{base}/file.txt", f"{base}/other.txt?v=1&api_key=zzz",
                        f"{base}/missing.txt"]),
                  (["-I"], [f"{base}/head.txt"])]
        return host_curl_to_file_server(n, g, pod, port, sizes, groups,
                                        "v=1&api_key=REDACTED", "nginx", one_connection=True)


def test_python_http_server_host_client():
    prefix = unique("http-d")
    sizes = {"file.txt": 2345, "head.txt": 321}
    with node.Node() as n:
        site = os.path.join(n.workdir, unique("site"))
        write_files(os.path.join(site, prefix), sizes)
        port = free_port()
        g = start_agent(n)
        spec = node.ContainerSpec(
            name="web", image=PY_IMAGE,
            command=["python3", "-u", "-m", "http.server", str(port), "--bind", "127.0.0.1",
                     "--directory", "/srv/site"],
            volume_mounts=[{"name": "site", "mountPath": "/srv/site", "readOnly": True}])
        pod = n.start_pod(NAMESPACE, unique("pyweb"), containers=[spec],
                          volumes=[{"name": "site", "hostPath": {"path": site}}],
                          host_network=True)
        base = f"http://127.0.0.1:{port}/{prefix}"
        groups = [([], [f"{base}/file.txt", f"{base}/missing.txt?token=zzz"]),
                  (["-I"], [f"{base}/head.txt"])]
        # http.server answers HTTP/1.0 and closes: a connection each
        return host_curl_to_file_server(n, g, pod, port, sizes, groups,
                                        "token=REDACTED", "python's http.server",
                                        one_connection=False)


def test_not_http_is_skipped():
    prefix = "/" + unique("http-c")
    ua_curl = f"curl/{curl_version()}"
    with node.Node() as n:
        g = start_agent(n)
        spod, servers = python_server(n, "lines", {"hello": "hello", "echo": "echo",
                                                   "http": "http"})
        (hc, hello_port), (ec, echo_port), (wc, http_port) = (
            servers["hello"], servers["echo"], servers["http"])
        url = f"http://127.0.0.1:{http_port}{prefix}/control"
        cpod, window = run_client(n, "lines-client", [
            node.ContainerSpec(name="hello", image=PY_IMAGE, volume_mounts=[SCRIPTS_MOUNT],
                               command=["python3", "-u", "/e2e/netclient.py", "hello",
                                        str(hello_port)]),
            node.ContainerSpec(name="echo", image=PY_IMAGE, volume_mounts=[SCRIPTS_MOUNT],
                               command=["python3", "-u", "/e2e/netclient.py", "echo",
                                        str(echo_port)]),
            curl_spec("curl", [([], [url])])])
        by_name = {c.name: c for c in cpod.containers}
        for name in ("hello", "echo"):
            if not json_lines(n, by_name[name]):
                raise node.HarnessError(f"the {name} client reported nothing: "
                                        f"{n.output(by_name[name])[-5:]}")
        r = curl_results(json_lines(n, by_name["curl"]))[f"{prefix}/control"]
        control = Exchange(method="GET", path=f"{prefix}/control", status=200,
                           response_body=len(netserver.small_body(f"{prefix}/control")),
                           server_port=http_port, client_port=r["local_port"],
                           sides={"client": (cpod, by_name["curl"]), "server": (spod, wc)},
                           headers={"host": f"127.0.0.1:{http_port}", "user-agent": ua_curl,
                                    "content-type": None}, window=window)
        wait_for_exchanges(g, [control])
        stopped, problems = stop_and_summary(g)
        events = g.events()
        problems = check_exchanges([control], events, {http_port}, n.node_name) + problems
        for port, what in ((hello_port, "the HELLO line protocol"), (echo_port, "binary echo")):
            evs = [e for e in http_events(events)
                   if port in (e.get("server.port"), e.get("client.port"))]
            if evs:
                problems.append(f"{len(evs)} http events for {what} (port {port}):" +
                                "".join(f"\n      {short(e)}" for e in evs[:6]))
        ours = {spod.uid, cpod.uid}
        strays = [e for e in http_events(events) if e.get("k8s.pod.uid") in ours and
                  e.get("url.path") != control.path]
        if strays:
            problems.append(f"{len(strays)} other http events from the test's pods:" +
                            "".join(f"\n      {short(e)}" for e in strays[:6]))
        not_http = stopped.get("http_conns_not_http")
        if not isinstance(not_http, int) or not_http <= 0:
            problems.append(f"http_conns_not_http={not_http!r} in the stopped line, want > 0")
        fail_if(problems, "a line protocol and a binary echo between containers", g, stopped)
    return f"no http event for 2 non-HTTP connections; control exchange ok; {counters(stopped)}"


def test_connection_older_than_agent():
    prefix = "/" + unique("http-e")
    with node.Node() as n:
        spod, servers = python_server(n, "old-server", {"server": "http"})
        sc, port = servers["server"]
        with socket.socket() as go:
            go.bind(("127.0.0.1", 0))
            go.listen(1)
            go.settimeout(30)
            cpod = n.start_pod(NAMESPACE, unique("old-client"), containers=[node.ContainerSpec(
                name="client", image=PY_IMAGE, volume_mounts=[SCRIPTS_MOUNT],
                command=["python3", "-u", "/e2e/netclient.py", "older", str(port), prefix,
                         str(go.getsockname()[1])])], volumes=[SCRIPTS_VOLUME],
                host_network=True)
            cc = cpod.containers[0]
            n.wait_output(cc, lambda lines: any(b.startswith("{") for _, b in lines),
                          what="the client's first exchange, before the agent")
            g = start_agent(n)
            lo = node.now_ns()
            conn, _ = go.accept()
            with conn:
                conn.sendall(b"go\n")
            n.finish_pod(cpod, remove_after_ms=None)
            hi = node.now_ns()
        if cc.exit_code != 0:
            raise node.HarnessError(f"the client exited {cc.exit_code}: {n.output(cc)[-8:]}")
        res = json_lines(n, cc)
        if [r["path"].rsplit("/", 1)[-1] for r in res] != ["before", "after-1", "chunked",
                                                            "big"] or \
                len({r["local_port"] for r in res}) != 1:
            raise node.HarnessError(f"the client did not make its 4 exchanges on one "
                                    f"connection: {res}")
        exchanges = []
        for r in res[1:]:
            status, size = netserver.expected("GET", r["path"])
            if (r["status"], r["body"]) != (status, size):
                raise node.HarnessError(f"the client read {r}, the server answers {status} "
                                        f"with {size} bytes")
            exchanges.append(Exchange(
                method="GET", path=r["path"], status=status, response_body=size,
                server_port=port, client_port=r["local_port"],
                sides={"client": (cpod, cc), "server": (spod, sc)},
                headers={"host": f"127.0.0.1:{port}", "user-agent": "glimpse-e2e-client/1",
                         "content-type": None}, window=(lo, hi)))
        wait_for_exchanges(g, exchanges)
        stopped, problems = stop_and_summary(g)
        # the exchange before the agent ran has no event (check_exchanges
        # counts any event for the server's port that none explains)
        problems = check_exchanges(exchanges, g.events(), {port}, n.node_name) + problems
        fail_if(problems, "a keep-alive connection opened before the agent", g, stopped)
    return (f"{len(exchanges)} exchanges x 2 sides on a connection older than the agent; "
            f"{counters(stopped)}")


def test_cut_responses_and_secrets():
    prefix = "/" + unique("http-d")
    ua_curl = f"curl/{curl_version()}"
    with node.Node() as n:
        g = start_agent(n)
        spod, servers = python_server(n, "cut-server", {"server": "http"})
        sc, port = servers["server"]
        ppod, pwin = run_client(n, "cut-client", [node.ContainerSpec(
            name="client", image=PY_IMAGE, volume_mounts=[SCRIPTS_MOUNT],
            command=["python3", "-u", "/e2e/netclient.py", "cut", str(port), prefix])])
        pc = ppod.containers[0]
        cut = {r["path"]: r for r in json_lines(n, pc)}
        secret_url = (f"http://127.0.0.1:{port}{prefix}/s/secret?token=abc&user=x&password=p")
        cpod, cwin = run_client(n, "secret-client", [curl_spec("curl", [(
            ["-H", f"Authorization: Bearer {SECRET}", "-H", f"Cookie: session={SECRET}"],
            [secret_url])])])
        cc = cpod.containers[0]
        sr = curl_results(json_lines(n, cc))[f"{prefix}/s/secret"]

        sides = {"client": (ppod, pc), "server": (spod, sc)}
        # payload bytes that passed, and the raw body bytes the client read
        passed = {"cut": (netserver.CUT_SENT, netserver.CUT_SENT),
                  "cut-chunked": (netserver.CUT_CHUNK_FULL + netserver.CUT_CHUNK_SENT,
                                  len(f"{netserver.CUT_CHUNK_FULL:x}\r\n") +
                                  netserver.CUT_CHUNK_FULL + 2 +
                                  len(f"{netserver.CUT_CHUNK_NEXT:x}\r\n") +
                                  netserver.CUT_CHUNK_SENT),
                  "drop": (None, 0)}
        exchanges = []
        for path, r in cut.items():
            last = netserver.route(path)
            status = None if last == "drop" else 200
            if r["status"] != status or r["error"] is None or r["body"] != passed[last][1]:
                raise node.HarnessError(f"the cut client read {r}: not the cut {last} answer "
                                        f"({passed[last][1]} body bytes, then an RST)")
            exchanges.append(Exchange(
                method="GET", path=path, status=status, response_body=passed[last][0],
                server_port=port, client_port=r["local_port"], sides=sides, incomplete=True,
                headers={"host": f"127.0.0.1:{port}", "user-agent": "glimpse-e2e-client/1"},
                window=pwin))
        if len(exchanges) != 3:
            raise node.HarnessError(f"the cut client reported {len(exchanges)} of 3: "
                                    f"{n.output(pc)[-5:]}")
        path = f"{prefix}/s/secret"
        exchanges.append(Exchange(
            method="GET", path=path, query="token=REDACTED&user=x&password=REDACTED",
            status=200, response_body=len(netserver.small_body(path)), server_port=port,
            client_port=sr["local_port"], sides={"client": (cpod, cc), "server": (spod, sc)},
            headers={"host": f"127.0.0.1:{port}", "user-agent": ua_curl}, window=cwin))
        if sr["status"] != 200:
            raise node.HarnessError(f"curl read {sr} from the secret URL")

        wait_for_exchanges(g, exchanges)
        stopped, problems = stop_and_summary(g)
        problems = check_exchanges(exchanges, g.events(), {port}, n.node_name) + problems
        with open(g.output_path, "rb") as f:
            output = f.read()
        if SECRET.encode() in output:
            lines = [l for l in output.split(b"\n") if SECRET.encode() in l]
            problems.append(f"\"{SECRET}\" is in the agent's output, {len(lines)} line(s), "
                            f"first: {lines[0][:400]!r}")
        if SECRET in g.stderr_text():
            lines = [l for l in g.stderr_text().splitlines() if SECRET in l]
            problems.append(f"\"{SECRET}\" is in the agent's own log (stderr, log level "
                            f"debug), {len(lines)} line(s), first: {lines[0][:300]!r}")
        fail_if(problems, "answers cut by an RST; secrets", g, stopped)
        seen = {(e.get("url.path"), e.get("http.side")): e.get("http.response.body.size")
                for e in http_events(g.events())}
        sizes = ", ".join(f"{netserver.route(x.path)}: {seen.get((x.path, 'server'))}/"
                          f"{seen.get((x.path, 'client'))}" for x in exchanges[:3])
    return (f"3 cut exchanges and 1 with secrets x 2 sides; response sizes given (server/"
            f"client) {sizes}; no {SECRET!r} in the output; {counters(stopped)}")


def check_tools():
    for tool in ("curl", "nginx"):
        if shutil.which(tool) is None:
            raise node.Skip(f"{tool} is not installed")
    if not os.path.exists("/usr/bin/python3"):
        raise node.Skip("/usr/bin/python3 is not installed (the containers run it)")


def with_tools(fn):
    def run():
        check_tools()
        return fn()
    run.__name__ = fn.__name__
    return run


def with_hooks(fn, hooks):
    """fn with the agent's http_hooks set to hooks, named for them when not
    the default way in."""
    def run():
        global HOOKS
        HOOKS = hooks
        try:
            return fn()
        finally:
            HOOKS = "socket"
    run.__name__ = fn.__name__ if hooks == "socket" else f"{fn.__name__}_{hooks}_hooks"
    return run


# Every test with the socket tracepoints (the default where the kernel has
# them), and the ones that cover most with sys_exit, the older kernels' way.
TESTS = (
    with_hooks(test_python_server_and_clients, "socket"),
    with_hooks(test_nginx_server_host_client, "socket"),
    with_hooks(test_python_http_server_host_client, "socket"),
    with_hooks(test_not_http_is_skipped, "socket"),
    with_hooks(test_cut_responses_and_secrets, "socket"),
    with_hooks(test_connection_older_than_agent, "socket"),
    with_hooks(test_python_server_and_clients, "syscall"),
    with_hooks(test_not_http_is_skipped, "syscall"),
    with_hooks(test_cut_responses_and_secrets, "syscall"),
    with_hooks(test_connection_older_than_agent, "syscall"),
)

if __name__ == "__main__":
    # python3 tests/e2e/test_http.py [test name ...]: all, or those named
    chosen = [t for t in TESTS if not sys.argv[1:] or t.__name__ in sys.argv[1:]]
    sys.exit(node.run_tests([with_tools(t) for t in chosen]))
