"""HTTP for the nightly job: timeouts, a total deadline, retries with backoff, conditional requests, a size cap.

A feed server that hangs, trickles bytes, answers 5xx or sends a 2 GB page must cost one
feed a bounded amount of time and memory, never the whole night. httpx does the HTTP; this
module adds what an unattended job needs on top: a wall-clock deadline per attempt (a read
timeout alone resets on every trickled byte), a streamed size cap, retries of transient
failures only, and ETag / Last-Modified validators so an unchanged feed costs a 304.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from mtaudit.base.version import __version__

log = logging.getLogger(__name__)

RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class FetchSettings:
    """Limits of one request; the ``[nightly.http]`` table of the nightly config."""

    timeout: float = 10.0  # connect / read / write / pool timeout, seconds
    deadline: float = 30.0  # wall clock for one attempt, headers to last byte
    retries: int = 2  # extra attempts after a transient failure (timeout, connection error, 5xx, 429)
    backoff: float = 1.0  # first wait between attempts; doubles each time, with up to 25% jitter
    max_backoff: float = 30.0  # never wait longer than this (also caps Retry-After)
    max_bytes: int = 5_000_000  # larger bodies are refused, never read to the end
    max_redirects: int = 5
    user_agent: str = f"mtaudit-nightly/{__version__}"


@dataclass
class Response:
    """What came back: a body, or ``not_modified`` for a 304, plus the validators to send next time."""

    url: str
    status: int
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    attempts: int = 1
    seconds: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class FetchError(Exception):
    """A request that failed for good; ``code`` is a stable problem code, ``transient`` says retry tomorrow."""

    def __init__(self, url: str, code: str, message: str, status: int | None = None, transient: bool = True, attempts: int = 1):
        super().__init__(f"{url}: {message}")
        self.url = url
        self.code = code
        self.message = message
        self.status = status
        self.transient = transient
        self.attempts = attempts


class _Retry(Exception):
    """An attempt failed in a way worth another try."""

    def __init__(self, error: FetchError, wait: float | None = None):
        super().__init__(error.message)
        self.error = error
        self.wait = wait


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if any."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class Fetcher:
    """One client for a night: connection reuse, the limits above, thread-safe ``get``."""

    def __init__(self, settings: FetchSettings | None = None, transport: httpx.BaseTransport | None = None, seed: int | None = None):
        self.settings = settings or FetchSettings()
        s = self.settings
        self._client = httpx.Client(
            timeout=httpx.Timeout(s.timeout),
            follow_redirects=True,
            max_redirects=s.max_redirects,
            headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate"},
            transport=transport,
            trust_env=False,  # a cron job must not pick up a stray proxy from someone's shell
        )
        self._rng = random.Random(seed)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Response:
        """GET with the validators of the last good answer; raises FetchError when every attempt failed."""
        if not url.lower().startswith(("http://", "https://")):
            raise FetchError(url, "E_URL", "not an http(s) URL", transient=False)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        s = self.settings
        start = time.monotonic()
        for attempt in range(1, s.retries + 2):
            try:
                response = self._attempt(url, headers)
                response.attempts = attempt
                response.seconds = round(time.monotonic() - start, 3)
                return response
            except _Retry as retry:
                retry.error.attempts = attempt
                if attempt > s.retries:
                    raise retry.error from None
                wait = retry.wait if retry.wait is not None else s.backoff * 2 ** (attempt - 1) * (1 + 0.25 * self._rng.random())
                wait = min(wait, s.max_backoff)
                log.info("%s: %s; retry %d/%d in %.1f s", url, retry.error.message, attempt, s.retries, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, url: str, headers: dict[str, str]) -> Response:
        s = self.settings
        t0 = time.monotonic()
        try:
            with self._client.stream("GET", url, headers=headers) as r:
                if r.status_code in RETRY_STATUS:
                    raise _Retry(FetchError(url, f"E_HTTP_{r.status_code}", f"HTTP {r.status_code}", r.status_code),
                                 _retry_after(r.headers.get("Retry-After")))
                if r.status_code == 304:
                    return self._response(url, r, b"")
                if r.status_code >= 400:
                    raise FetchError(url, f"E_HTTP_{r.status_code}", f"HTTP {r.status_code}", r.status_code, transient=r.status_code >= 500)
                declared = r.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > s.max_bytes:
                    raise FetchError(url, "E_TOO_LARGE", f"{int(declared)} bytes declared, over the {s.max_bytes}-byte cap", r.status_code, transient=False)
                body = bytearray()
                for chunk in r.iter_bytes():
                    body.extend(chunk)
                    if len(body) > s.max_bytes:
                        raise FetchError(url, "E_TOO_LARGE", f"over the {s.max_bytes}-byte cap; stopped reading", r.status_code, transient=False)
                    if time.monotonic() - t0 > s.deadline:
                        raise _Retry(FetchError(url, "E_DEADLINE", f"body not complete within {s.deadline:g} s (server trickling bytes)", r.status_code))
                return self._response(url, r, bytes(body))
        except httpx.TimeoutException as exc:
            raise _Retry(FetchError(url, "E_TIMEOUT", f"timed out ({type(exc).__name__}, limit {s.timeout:g} s)")) from exc
        except httpx.TooManyRedirects as exc:
            raise FetchError(url, "E_REDIRECTS", f"more than {s.max_redirects} redirects", transient=False) from exc
        except httpx.TransportError as exc:  # connection refused, reset, DNS, protocol errors
            raise _Retry(FetchError(url, "E_CONNECT", f"connection failed ({type(exc).__name__}: {exc})")) from exc

    @staticmethod
    def _response(url: str, r: httpx.Response, body: bytes) -> Response:
        return Response(
            url=str(r.url), status=r.status_code, content=body, headers=dict(r.headers),
            etag=r.headers.get("ETag"), last_modified=r.headers.get("Last-Modified"),
        )
