"""Raw-socket clients for the HTTP capture tests (tests/e2e/test_http.py),
run inside containers with the host's python3 against tests/e2e/netserver.py.

    python3 netclient.py MODE PORT [PREFIX] [GOPORT]

Modes (PREFIX starts every path, e.g. /http-ab12c):
  requests  connection 1: three requests pipelined in one write (HEAD, GET
            answered 304 with a Content-Length and no body, GET of a small
            chunked answer with a trailer), then one more GET; connection 2:
            a POST
            written in pieces (request line, headers in two writes, body in
            two writes, 50 ms apart, TCP_NODELAY), then a POST with a 5000
            byte body written with its head; connection 3: an HTTP/1.0 GET
  cut       three connections whose answers are cut: cut (Content-Length
            larger than what comes, then RST), cut-chunked (RST inside a
            chunk), drop (RST before any answer)
  older     one keep-alive connection: a GET (PREFIX/before), then it waits
            until 127.0.0.1:GOPORT (the last argument) sends a line, then
            on the same connection GET PREFIX/after-1, PREFIX/after-2/chunked,
            PREFIX/after-3/big; for a connection older than the agent
  hello     the "hello" line protocol of netserver.py
  echo      binary data to netserver.py's echo server

Each exchange prints one JSON line: {"method", "path", "local_port",
"status", "body" (payload bytes read), "request_body", "error"}; the
connections of hello/echo print {"mode", "local_port", "bytes"}. The exit
status is 0 when every exchange went as netserver.py says it goes.
"""

import json
import socket
import sys
import time

USER_AGENT = "glimpse-e2e-client/1"
PAUSE_S = 0.05


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.total = 0  # bytes received

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.total += len(data)
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def rest(self):
        try:
            while True:
                self.fill()
        except EOFError:
            pass
        data, self.buf = self.buf, b""
        return data


def read_head(r):
    status_line = r.line()
    status = int(status_line.split(b" ")[1])
    headers = {}
    while True:
        line = r.line()
        if not line:
            break
        k, _, v = line.decode("latin-1").partition(":")
        headers.setdefault(k.strip().lower(), v.strip())
    return status, headers


def read_response(r, method):
    """(status, payload bytes) of the next response; 1xx skipped."""
    while True:
        status, headers = read_head(r)
        if not 100 <= status < 200:
            break
    if method == "HEAD" or status in (204, 304):
        return status, 0
    if headers.get("transfer-encoding", "").lower() == "chunked":
        n = 0
        while True:
            size = int(r.line().split(b";")[0], 16)
            if size == 0:
                while r.line():
                    pass
                return status, n
            n += len(r.take(size))
            r.line()
    if "content-length" in headers:
        return status, len(r.take(int(headers["content-length"])))
    return status, len(r.rest())


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def request(method, path, port, body=b"", version="HTTP/1.1", extra=""):
    length = f"Content-Length: {len(body)}\r\n" if body or method == "POST" else ""
    return (f"{method} {path} {version}\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {USER_AGENT}\r\n"
            f"Accept: */*\r\n{extra}{length}\r\n").encode() + body


def report(method, path, sock, status, body, request_body=0, error=None):
    print(json.dumps({"method": method, "path": path, "local_port": sock.getsockname()[1],
                      "status": status, "body": body, "request_body": request_body,
                      "error": error}), flush=True)


def mode_requests(port, prefix):
    # 1: three pipelined in one write, then one more
    pipelined = [("HEAD", f"{prefix}/pipe-1"), ("GET", f"{prefix}/pipe-2/notmodified"),
                 ("GET", f"{prefix}/pipe-3/chunked-trailer")]
    sock = connect(port)
    r = Reader(sock)
    sock.sendall(b"".join(request(m, p, port) for m, p in pipelined))
    for m, p in pipelined:
        status, n = read_response(r, m)
        report(m, p, sock, status, n)
    path = f"{prefix}/after-pipe"
    sock.sendall(request("GET", path, port))
    report("GET", path, sock, *read_response(r, "GET"))
    sock.close()

    # 2: a POST in pieces, then a POST written at once
    sock = connect(port)
    r = Reader(sock)
    path = f"{prefix}/split/echo"
    body = b'{"split":"' + b"s" * 286 + b'"}'
    pieces = [f"POST {path} HTTP/1.1\r\n".encode(),
              f"Host: 127.0.0.1:{port}\r\nUser-Agent: {USER_AGENT}\r\n".encode(),
              f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode(),
              body[:100], body[100:]]
    for i, piece in enumerate(pieces):
        if i:
            time.sleep(PAUSE_S)
        sock.sendall(piece)
    report("POST", path, sock, *read_response(r, "POST"), request_body=len(body))
    path = f"{prefix}/post/echo"
    body = b"p" * 5000
    sock.sendall(request("POST", path, port, body, extra="Content-Type: text/plain\r\n"))
    report("POST", path, sock, *read_response(r, "POST"), request_body=len(body))
    sock.close()

    # 3: HTTP/1.0
    sock = connect(port)
    r = Reader(sock)
    path = f"{prefix}/http10"
    sock.sendall(request("GET", path, port, version="HTTP/1.0"))
    report("GET", path, sock, *read_response(r, "GET"))
    sock.close()


def mode_cut(port, prefix):
    for i, last in enumerate(("cut", "cut-chunked", "drop")):
        path = f"{prefix}/cut-{i + 1}/{last}"
        sock = connect(port)
        r = Reader(sock)
        sock.sendall(request("GET", path, port))
        status, error = None, None
        try:
            status, _ = read_head(r)
            r.rest()
        except (OSError, EOFError, ValueError, IndexError) as e:
            error = type(e).__name__
        # payload bytes read after the head
        report("GET", path, sock, status, len(r.buf) if status else 0, error=error)
        sock.close()


def mode_older(port, prefix, go_port):
    sock = connect(port)
    r = Reader(sock)
    path = f"{prefix}/before"
    sock.sendall(request("GET", path, port))
    report("GET", path, sock, *read_response(r, "GET"))
    with socket.create_connection(("127.0.0.1", go_port), timeout=60) as go:
        go.settimeout(60)
        go.recv(16)
    for path in (f"{prefix}/after-1", f"{prefix}/after-2/chunked", f"{prefix}/after-3/big"):
        sock.sendall(request("GET", path, port))
        report("GET", path, sock, *read_response(r, "GET"))
    sock.close()


def mode_hello(port):
    sock = connect(port)
    r = Reader(sock)
    greeting = r.line()
    assert greeting.startswith(b"HELLO"), greeting
    for line in (b"PING 1", b"ECHO some text with words", b"PING 2"):
        sock.sendall(line + b"\r\n")
        assert r.line() == b"OK " + line
    sock.sendall(b"QUIT\r\n")
    assert r.line() == b"BYE"
    print(json.dumps({"mode": "hello", "local_port": sock.getsockname()[1], "bytes": r.total}),
          flush=True)
    sock.close()


def mode_echo(port):
    sock = connect(port)
    r = Reader(sock)
    data = bytes(range(256)) * 16 + b"\x00\xff binary \r\n" * 10
    for i in range(0, len(data), 1000):
        sock.sendall(data[i:i + 1000])
    got = r.take(len(data))
    assert got == data
    sock.shutdown(socket.SHUT_WR)
    r.rest()
    print(json.dumps({"mode": "echo", "local_port": sock.getsockname()[1], "bytes": r.total}),
          flush=True)
    sock.close()


def main(argv):
    mode, port = argv[1], int(argv[2])
    prefix = argv[3] if len(argv) > 3 else ""
    if mode == "requests":
        mode_requests(port, prefix)
    elif mode == "cut":
        mode_cut(port, prefix)
    elif mode == "older":
        mode_older(port, prefix, int(argv[4]))
    elif mode == "hello":
        mode_hello(port)
    elif mode == "echo":
        mode_echo(port)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv)
