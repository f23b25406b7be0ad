"""Servers for the HTTP capture tests (tests/e2e/test_http.py), run inside
containers with the host's python3 (no imports beyond the standard library).

    python3 netserver.py http  [PORT]   an HTTP/1.x server with special routes
    python3 netserver.py hello [PORT]   a line protocol: "HELLO ..." first
    python3 netserver.py echo  [PORT]   sends back what it reads

Each listens on 127.0.0.1 (PORT, default 0: any free port) and prints
"listening 127.0.0.1:<port>" once it accepts connections, then one line per
request or connection. The HTTP server speaks keep-alive and pipelining
(answers in order); its answer depends on the last segment of the path (see
ROUTES and answer()), so the tests can say from a path alone what a client
reads: expected(method, path, request_body) gives (status, payload bytes),
(200, None) when the answer is cut on purpose, (None, None) for none.

A request with "Expect: 100-continue" gets "HTTP/1.1 100 Continue" before its
body is read. HEAD gets the GET's head without its body. Requests are
HTTP/1.1 keep-alive unless "Connection: close" or HTTP/1.0.
"""

import socket
import struct
import sys
import threading
import time

BIG = 1 << 20                   # "big": a 1 MiB body with Content-Length
CHUNKS = (100, 700, 5)          # "chunked": these chunks, the 700 one in 3 writes
TRAILER_CHUNKS = (10, 20)       # "chunked-trailer": these, then a trailer field
BIG_CHUNK = 2000                # "chunked-big": one chunk, in one write with its
                                # size line and CRLF (then the last chunk): more
                                # than the agent's default capture (1024 bytes)
EOF_BODY = 3000                 # "eof": no length, Connection: close, then close
NOT_MODIFIED_LENGTH = 1234      # "notmodified": 304 announcing this Content-Length
CUT_ANNOUNCED = 100000          # "cut": Content-Length announced ...
CUT_SENT = 1000                 # ... and bytes of body sent before the RST
CUT_CHUNK_FULL = 500            # "cut-chunked": one whole chunk ...
CUT_CHUNK_NEXT = 1000           # ... then a chunk announced with this size
CUT_CHUNK_SENT = 100            # ... of which these bytes are sent before the RST
CUT_PAUSE_S = 0.3               # between the last bytes and the RST
VECTORED_CHUNK = 30             # "vectored": one sendmsg of 4 buffers: the status
                                # line, the rest of the head, a chunk of this size
                                # with its framing, the last chunk
SECRET_COOKIE = "sid=abc-secret"

ROUTES = ("chunked", "chunked-trailer", "chunked-big", "big", "nocontent", "notmodified",
          "close", "eof", "echo", "cut", "cut-chunked", "drop", "secret", "vectored")


def route(path):
    """The route of a request target: its path's last segment when that is
    one of ROUTES, else "" (a small text body)."""
    last = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return last if last in ROUTES else ""


def small_body(path):
    return f"hello {path.split('?', 1)[0]}\n".encode()


def expected(method, path, request_body=0):
    """(status, payload bytes a client reads) of the answer to a request;
    the size is None for the answers cut on purpose (cut, cut-chunked: the
    bytes sent are CUT_SENT and CUT_CHUNK_FULL + CUT_CHUNK_SENT) and the
    status None for drop (no answer at all)."""
    r = route(path)
    head = method == "HEAD"
    if r == "drop":
        return None, None
    if r in ("cut", "cut-chunked"):
        return 200, None
    if r == "nocontent":
        return 204, 0
    if r == "notmodified":
        return 304, 0
    if head:
        return 200, 0
    size = {"chunked": sum(CHUNKS), "chunked-trailer": sum(TRAILER_CHUNKS),
            "chunked-big": BIG_CHUNK, "big": BIG, "vectored": VECTORED_CHUNK,
            "eof": EOF_BODY, "echo": len(f"got {request_body}\n")}.get(r)
    return 200, (len(small_body(path)) if size is None else size)


def log(*args):
    print(*args, flush=True)


def reset(conn):
    """Closes with an RST (SO_LINGER 0)."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def answer(conn, method, path, version, headers, request_body):
    """Writes the answer; returns True to keep the connection, False to
    close it, None when it was reset."""
    r = route(path)
    head = method == "HEAD"
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if version != "HTTP/1.1" and headers.get("connection", "").lower() == "keep-alive":
        keep = True
    status, _ = expected(method, path, request_body)
    conn_hdr = "" if keep else "Connection: close\r\n"

    def send_head(status_line, fields):
        conn.sendall((f"HTTP/1.1 {status_line}\r\nServer: glimpse-e2e\r\n{fields}{conn_hdr}"
                      f"\r\n").encode())

    if r == "drop":
        time.sleep(CUT_PAUSE_S)
        reset(conn)
        return None
    if r == "cut":
        send_head("200 OK", f"Content-Type: application/octet-stream\r\n"
                            f"Content-Length: {CUT_ANNOUNCED}\r\n")
        conn.sendall(b"c" * CUT_SENT)
        time.sleep(CUT_PAUSE_S)
        reset(conn)
        return None
    if r == "cut-chunked":
        send_head("200 OK", "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n")
        conn.sendall(f"{CUT_CHUNK_FULL:x}\r\n".encode() + b"d" * CUT_CHUNK_FULL + b"\r\n")
        conn.sendall(f"{CUT_CHUNK_NEXT:x}\r\n".encode() + b"e" * CUT_CHUNK_SENT)
        time.sleep(CUT_PAUSE_S)
        reset(conn)
        return None
    if r == "nocontent":
        send_head("204 No Content", "")
        return keep
    if r == "notmodified":
        send_head("304 Not Modified", f'ETag: "e2e"\r\nContent-Length: {NOT_MODIFIED_LENGTH}\r\n')
        return keep
    if r == "chunked-big":
        send_head("200 OK", "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n")
        if not head:
            conn.sendall(f"{BIG_CHUNK:x}\r\n".encode() + b"g" * BIG_CHUNK + b"\r\n")
            conn.sendall(b"0\r\n\r\n")
        return keep
    if r in ("chunked", "chunked-trailer"):
        chunks = CHUNKS if r == "chunked" else TRAILER_CHUNKS
        trailer = "Trailer: X-E2e-Check\r\n" if r == "chunked-trailer" else ""
        send_head("200 OK", f"Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n{trailer}")
        if head:
            return keep
        for i, size in enumerate(chunks):
            data = bytes([ord("a") + i]) * size
            if size > 500:
                # size line, data in two writes, CRLF: a chunk across writes
                conn.sendall(f"{size:x}\r\n".encode())
                conn.sendall(data[:size // 3])
                conn.sendall(data[size // 3:] + b"\r\n")
            else:
                conn.sendall(f"{size:x}\r\n".encode() + data + b"\r\n")
        conn.sendall(b"0\r\nX-E2e-Check: done\r\n\r\n" if trailer else b"0\r\n\r\n")
        return keep
    if r == "vectored":
        bufs = [b"HTTP/1.1 200 OK\r\n",
                (f"Server: glimpse-e2e\r\nContent-Type: text/plain\r\n"
                 f"Transfer-Encoding: chunked\r\n{conn_hdr}\r\n").encode()]
        if not head:
            bufs += [f"{VECTORED_CHUNK:x}\r\n".encode() + b"v" * VECTORED_CHUNK + b"\r\n",
                     b"0\r\n\r\n"]
        want = sum(len(b) for b in bufs)
        if conn.sendmsg(bufs) != want:
            raise OSError("vectored: sendmsg took less than all")
        return keep
    if r == "big":
        send_head("200 OK", f"Content-Type: application/octet-stream\r\nContent-Length: {BIG}\r\n")
        if not head:
            piece = b"b" * 65536
            for _ in range(BIG // len(piece)):
                conn.sendall(piece)
        return keep
    if r == "eof":
        conn.sendall(b"HTTP/1.1 200 OK\r\nServer: glimpse-e2e\r\nContent-Type: text/plain\r\n"
                     b"Connection: close\r\n\r\n")
        if not head:
            conn.sendall(b"f" * (EOF_BODY // 2))
            conn.sendall(b"f" * (EOF_BODY - EOF_BODY // 2))
        return False
    if r == "close":
        keep = False
        conn_hdr = "Connection: close\r\n"
    if r == "echo":
        body = f"got {request_body}\n".encode()
    else:
        body = small_body(path)
    extra = f"Set-Cookie: {SECRET_COOKIE}; HttpOnly\r\n" if r == "secret" else ""
    send_head(f"{status} OK", f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
                              f"{extra}")
    if not head:
        conn.sendall(body)
    return keep


def handle_http(conn, addr):
    rfile = conn.makefile("rb")
    try:
        while True:
            line = rfile.readline(65536)
            if not line:
                return
            if line in (b"\r\n", b"\n"):
                continue
            try:
                method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ")
            except ValueError:
                log(f"{addr[1]} bad request line {line[:80]!r}")
                return
            headers = {}
            while True:
                h = rfile.readline(65536)
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                headers.setdefault(k.strip().lower(), v.strip())
            if headers.get("expect", "").lower() == "100-continue":
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            n = int(headers.get("content-length", "0") or 0)
            body = rfile.read(n) if n else b""
            keep = answer(conn, method, target, version, headers, len(body))
            log(f"{addr[1]} {method} {target} {version} body={len(body)} "
                f"{'keep' if keep else 'reset' if keep is None else 'close'}")
            if not keep:
                return
    except OSError as e:
        log(f"{addr[1]} {e}")
    finally:
        rfile.close()
        conn.close()


def handle_hello(conn, addr):
    rfile = conn.makefile("rb")
    try:
        conn.sendall(b"HELLO glimpse-e2e line protocol 1\r\n")
        while True:
            line = rfile.readline(4096)
            if not line:
                break
            if line.startswith(b"QUIT"):
                conn.sendall(b"BYE\r\n")
                break
            conn.sendall(b"OK " + line)
        log(f"{addr[1]} hello done")
    except OSError as e:
        log(f"{addr[1]} {e}")
    finally:
        rfile.close()
        conn.close()


def handle_echo(conn, addr):
    total = 0
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            total += len(data)
            conn.sendall(data)
        log(f"{addr[1]} echoed {total}")
    except OSError as e:
        log(f"{addr[1]} {e}")
    finally:
        conn.close()


def main(argv):
    mode = argv[1] if len(argv) > 1 else "http"
    handler = {"http": handle_http, "hello": handle_hello, "echo": handle_echo}[mode]
    port = int(argv[2]) if len(argv) > 2 else 0
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    log(f"listening 127.0.0.1:{sock.getsockname()[1]}")
    while True:
        conn, addr = sock.accept()
        threading.Thread(target=handler, args=(conn, addr), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv)
