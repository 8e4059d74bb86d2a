"""mtaudit.nightly.fetch against a real HTTP server on 127.0.0.1: validators, retries, timeouts, deadline, size cap."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mtaudit.lab.bench_nightly import LoopbackServer
from mtaudit.nightly.fetch import Fetcher, FetchError, FetchSettings
from tests import feeds

FAST = FetchSettings(timeout=0.5, deadline=1.0, retries=0, backoff=0.01, max_bytes=50_000)
PAGE = b"<html><body><p>A page about nothing in particular.</p></body></html>"


@pytest.fixture()
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def test_conditional_request_gets_304_and_sends_both_validators(server: LoopbackServer) -> None:
    server.routes["/page"] = PAGE
    with Fetcher(FAST) as f:
        first = f.get(server.base + "/page")
        assert first.status == 200 and first.content == PAGE and first.etag and first.last_modified
        again = f.get(server.base + "/page", first.etag, first.last_modified)
    assert again.not_modified and again.content == b""
    sent = server.hits("/page")[1]
    assert sent["If-None-Match"] == first.etag and sent["If-Modified-Since"] == first.last_modified
    assert "If-None-Match" not in server.hits("/page")[0]


def test_transient_errors_are_retried_with_backoff_until_success(server: LoopbackServer) -> None:
    server.routes["/flaky"] = feeds.fail_then(2, PAGE)
    with Fetcher(FetchSettings(retries=2, backoff=0.01)) as f:
        response = f.get(server.base + "/flaky")
    assert response.content == PAGE and response.attempts == 3
    assert len(server.hits("/flaky")) == 3


def test_a_server_error_that_persists_fails_after_the_retries(server: LoopbackServer) -> None:
    server.routes["/down"] = feeds.status(500)
    with Fetcher(FetchSettings(retries=1, backoff=0.01)) as f, pytest.raises(FetchError) as caught:
        f.get(server.base + "/down")
    assert caught.value.code == "E_HTTP_500" and caught.value.transient and caught.value.attempts == 2
    assert len(server.hits("/down")) == 2


def test_429_with_retry_after_is_retried(server: LoopbackServer) -> None:
    calls = {"n": 0}

    def route(h):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        (feeds.status(429, b"slow down", {"Retry-After": "0"}) if calls["n"] == 1 else lambda h: LoopbackServer.static(h, PAGE))(h)

    server.routes["/limited"] = route
    with Fetcher(FetchSettings(retries=1, backoff=5.0)) as f:  # Retry-After: 0 wins over the 5 s backoff
        assert f.get(server.base + "/limited").content == PAGE


def test_404_is_not_retried_and_is_permanent(server: LoopbackServer) -> None:
    with Fetcher(FetchSettings(retries=3, backoff=0.01)) as f, pytest.raises(FetchError) as caught:
        f.get(server.base + "/missing")
    assert caught.value.code == "E_HTTP_404" and not caught.value.transient
    assert len(server.hits("/missing")) == 1


def test_a_hanging_server_times_out(server: LoopbackServer) -> None:
    server.routes["/hang"] = feeds.hang(server)
    with Fetcher(FAST) as f, pytest.raises(FetchError) as caught:
        f.get(server.base + "/hang")
    assert caught.value.code == "E_TIMEOUT" and caught.value.transient


def test_a_trickling_server_hits_the_total_deadline(server: LoopbackServer) -> None:
    server.routes["/trickle"] = feeds.trickle(server, every=0.05)
    with Fetcher(FAST) as f, pytest.raises(FetchError) as caught:  # every read is in time; the whole is not
        f.get(server.base + "/trickle")
    assert caught.value.code == "E_DEADLINE"


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "no-length"])
def test_a_huge_page_is_refused_at_the_cap(server: LoopbackServer, declare: bool) -> None:
    server.routes["/huge"] = feeds.huge(2_000_000, declare)
    with Fetcher(FAST) as f, pytest.raises(FetchError) as caught:
        f.get(server.base + "/huge")
    assert caught.value.code == "E_TOO_LARGE" and not caught.value.transient
    assert ("declared" in caught.value.message) == declare


def test_redirects_are_followed(server: LoopbackServer) -> None:
    server.routes["/old"] = feeds.redirect("/new")
    server.routes["/new"] = PAGE
    with Fetcher(FAST) as f:
        response = f.get(server.base + "/old")
    assert response.content == PAGE and response.url.endswith("/new")


def test_connection_refused_and_non_http_urls() -> None:
    with Fetcher(FetchSettings(retries=1, backoff=0.01)) as f:
        with pytest.raises(FetchError) as refused:
            f.get(f"http://127.0.0.1:{feeds.closed_port()}/feed.xml")
        assert refused.value.code == "E_CONNECT" and refused.value.attempts == 2
        with pytest.raises(FetchError) as scheme:
            f.get("file:///etc/passwd")
        assert scheme.value.code == "E_URL" and not scheme.value.transient
