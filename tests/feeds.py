"""Fault routes for the loopback server (mtaudit.lab.bench_nightly.LoopbackServer): what bad servers do.

Every route is bounded: a hanging or trickling route ends when the server closes (its ``stop``
event) or after a few seconds, whichever comes first, so no test can hang on it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from mtaudit.lab.bench_nightly import LoopbackServer

Handler = Callable[[BaseHTTPRequestHandler], None]
MAX_WAIT = 8.0  # no route keeps a connection longer than this


def status(code: int, body: bytes = b"error", headers: dict[str, str] | None = None) -> Handler:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(code)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return route


def fail_then(times: int, body: bytes, code: int = 500) -> Handler:
    """Answer ``code`` the first ``times`` requests, then the body (a server that recovers)."""
    calls = {"n": 0}

    def route(h: BaseHTTPRequestHandler) -> None:
        calls["n"] += 1
        if calls["n"] <= times:
            status(code)(h)
        else:
            LoopbackServer.static(h, body)

    return route


def hang(server: LoopbackServer) -> Handler:
    """Accept the connection and never answer (until the server closes)."""

    def route(h: BaseHTTPRequestHandler) -> None:
        server.stop.wait(MAX_WAIT)

    return route


def trickle(server: LoopbackServer, size: int = 10_000, every: float = 0.05) -> Handler:
    """Answer 200 at once, then one byte every ``every`` seconds: each read succeeds, the body never ends."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", str(size))
        h.end_headers()
        t0 = time.monotonic()
        try:
            while not server.stop.is_set() and time.monotonic() - t0 < MAX_WAIT:
                h.wfile.write(b" ")
                h.wfile.flush()
                time.sleep(every)
        except OSError:  # the client gave up: that is the point
            pass
        h.close_connection = True

    return route


def huge(size: int, declare: bool) -> Handler:
    """A body of ``size`` bytes of HTML, with or without a Content-Length saying so."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        if declare:
            h.send_header("Content-Length", str(size))
        else:
            h.send_header("Connection", "close")
        h.end_headers()
        chunk = b"<p>" + b"All work and no play makes a huge page. " * 25 + b"</p>\n"
        sent = 0
        try:
            while sent < size:
                h.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass
        h.close_connection = True

    return route


def jpeg() -> Handler:
    """A photo where an article was expected: 200, image/jpeg, a JFIF header and binary bytes."""
    body = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 16 + b"\xff\xd9"
    return status(200, body, {"Content-Type": "image/jpeg"})


def slow(server: LoopbackServer, body: bytes, seconds: float) -> Handler:
    """The body as a static route would answer it (ETag, 304), after ``seconds``: a run is still busy with it."""

    def route(h: BaseHTTPRequestHandler) -> None:
        server.stop.wait(min(seconds, MAX_WAIT))
        try:
            LoopbackServer.static(h, body)
        except OSError:  # the client is gone (killed, or gave up): that may be the point
            h.close_connection = True

    return route


def redirect(to: str) -> Handler:
    return status(302, b"", {"Location": to})


def closed_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
