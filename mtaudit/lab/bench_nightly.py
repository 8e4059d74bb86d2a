"""Time and peak memory of a night of N feed items, served from a loopback HTTP server.

``python -m mtaudit.lab.bench_nightly --items 1000`` (``make bench`` calls ``bench()``). The items are
synthetic but made of real English news sentences: ECB+ documents from ``../shared/data/ecbplus``
when present (sentences of one ECB+ sub-topic make one story), otherwise the original English
seeds. Everything runs in this process on 127.0.0.1; nothing else is contacted.

The loopback server and the RSS writer here are also what the nightly tests serve feeds with.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mtaudit.lab.paths import CHECKOUT, SHARED_DATA

_TERMINAL = (".", "!", "?", '"', "”")


# ---- synthetic items from real sentences -------------------------------------------------------------

def sentence_pool(shared: Path | None = SHARED_DATA, min_words: int = 8) -> dict[str, list[str]]:
    """Story -> usable sentences: ECB+ sub-topics when the shared data is there, else the English seeds."""
    pool: dict[str, list[str]] = {}
    docs = Path(shared) / "ecbplus" / "ecbplus_docs.jsonl" if shared else None
    if docs is not None and docs.exists():
        with open(docs, encoding="utf-8") as fh:
            for line in fh:
                doc = json.loads(line)
                for sent in doc["text"].splitlines():
                    sent = sent.strip()
                    if min_words <= len(sent.split()) <= 45 and sent.endswith(_TERMINAL) and sent.isascii():
                        pool.setdefault(doc["subtopic"], []).append(sent)
    else:
        from mtaudit.base.settings import Settings  # loaded by the side that audits: the loopback server needs none of it
        from mtaudit.stages import ingest  # loaded by the side that audits: the loopback server needs none of it

        for name in ("001", "003", "004"):  # original English; 000 and 002 are machine translations
            path = next((CHECKOUT / "seeds").glob(f"{name}_*.txt"))
            article, _ = ingest.parse(path.read_text(encoding="utf-8"), str(path), Settings())
            if article:
                pool.setdefault("seeds", []).extend(s.text for s in article.sentences if min_words <= len(s.text.split()) <= 60)
    return {k: list(dict.fromkeys(v)) for k, v in sorted(pool.items()) if len(set(v)) >= 6}


@dataclass
class SyntheticItem:
    slug: str
    story: str
    title: str
    text: str  # paragraphs, one sentence per line
    date: str


def synthetic_items(
    n: int, sentences: int = 4, seed: int = 0, shared: Path | None = SHARED_DATA, min_words: int = 25, min_sentence_words: int = 8
) -> list[SyntheticItem]:
    """``n`` distinct English articles, deterministic for a seed: item i draws its sentences from story i mod S.

    Sentences are added until the article has ``min_words`` (ingest skips articles under 20 words as empty).
    Raises ValueError when the pool cannot give ``n`` distinct articles (the seeds alone give few
    one-sentence articles) instead of drawing forever.
    """
    pool = sentence_pool(shared, min_sentence_words)
    stories = list(pool)
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[SyntheticItem] = []
    i = failed = 0
    while len(out) < n:
        if not stories or failed >= len(stories):
            raise ValueError(f"the sentence pool gives only {len(out)} distinct articles of this shape, not {n}")
        story = stories[i % len(stories)]
        sents = pool[story]
        k = min(sentences, len(sents))
        for _ in range(20):
            pick = rng.sample(sents, k)
            while sum(len(s.split()) for s in pick) < min_words and len(pick) < len(sents):
                pick.append(rng.choice([s for s in sents if s not in pick]))
            text = "\n".join(pick)
            digest = hashlib.sha256(text.encode()).hexdigest()
            if digest not in seen:
                break
        else:
            i += 1
            failed += 1
            continue
        failed = 0
        seen.add(digest)
        title = " ".join(pick[0].split()[:8]).rstrip(",;:")
        out.append(SyntheticItem(f"a{len(out):05d}-{digest[:8]}", story, title, text, "2026-01-15"))
        i += 1
    return out


def rss(title: str, link: str, entries: list[dict[str, Any]]) -> bytes:
    """An RSS 2.0 document; an entry's ``content`` goes to content:encoded (the full article), ``summary`` to description."""
    ns = "http://purl.org/rss/1.0/modules/content/"
    ET.register_namespace("content", ns)
    root = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(root, "channel")
    for tag, value in (("title", title), ("link", link), ("description", f"{title} (test feed)")):
        ET.SubElement(channel, tag).text = value
    for e in entries:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = e["title"]
        ET.SubElement(item, "link").text = e["link"]
        ET.SubElement(item, "guid").text = e.get("guid", e["link"])
        if e.get("date"):
            stamp = datetime.fromisoformat(e["date"]).replace(tzinfo=UTC)
            ET.SubElement(item, "pubDate").text = format_datetime(stamp, usegmt=True)
        if e.get("summary"):
            ET.SubElement(item, "description").text = e["summary"]
        if e.get("content"):
            ET.SubElement(item, f"{{{ns}}}encoded").text = e["content"]
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8")


def html_page(title: str, text: str) -> bytes:
    """A news page around an article: navigation and footer that trafilatura must leave out."""

    paras = "".join(f"<p>{escape(p)}</p>\n" for p in text.splitlines())
    return (
        f"<!doctype html><html><head><title>{escape(title)}</title></head><body>"
        f"<nav><a href='/'>Home</a> <a href='/world'>World</a> <a href='/sport'>Sport</a></nav>"
        f"<article><h1>{escape(title)}</h1>\n{paras}</article>"
        f"<footer><p>Copyright 2026 Example News. All rights reserved.</p></footer></body></html>"
    ).encode()


def as_html(text: str) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in text.splitlines())


# ---- a loopback HTTP server ----------------------------------------------------------------------

Route = bytes | Callable[[BaseHTTPRequestHandler], None]


class LoopbackServer:
    """http.server on 127.0.0.1 and an ephemeral port, in a thread. Static routes answer ETag /
    Last-Modified and 304s; a callable route writes its own answer (the fault cases). Every request
    is logged as (path, headers)."""

    def __init__(self, routes: dict[str, Route] | None = None):
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stop = threading.Event()  # set on close: hanging routes wait on it, so they end
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers)))
                route = server.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "9")
                    self.end_headers()
                    self.wfile.write(b"not found")
                elif callable(route):
                    route(self)
                else:
                    server.static(self, route)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @staticmethod
    def static(h: BaseHTTPRequestHandler, body: bytes) -> None:
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        modified = "Thu, 15 Jan 2026 06:00:00 GMT"
        if h.headers.get("If-None-Match") == etag:
            h.send_response(304)
            h.send_header("ETag", etag)
            h.end_headers()
            return
        h.send_response(200)
        kind = "application/rss+xml" if body.lstrip().startswith(b"<?xml") else "text/html; charset=utf-8"
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("ETag", etag)
        h.send_header("Last-Modified", modified)
        h.end_headers()
        h.wfile.write(body)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p == path]


def serve_items(server: LoopbackServer, items: list[SyntheticItem], feeds: int, full_text: bool = True) -> list[str]:
    """Split items over ``feeds`` RSS feeds on the server; returns the feed URLs. ``full_text=False``:
    entries carry a summary only and link to an HTML page (fetched and extracted by the nightly job)."""
    urls = []
    for f in range(feeds):
        entries = []
        for it in items[f::feeds]:
            link = f"{server.base}/news/{it.slug}.html"
            entry: dict[str, Any] = {"title": it.title, "link": link, "date": it.date, "summary": " ".join(it.text.split()[:20]) + " ..."}
            if full_text:
                entry["content"] = as_html(it.text)
            else:
                server.routes[f"/news/{it.slug}.html"] = html_page(it.title, it.text)
            entries.append(entry)
        path = f"/feeds/{f}.xml"
        server.routes[path] = rss(f"feed {f}", server.base, entries)
        urls.append(server.base + path)
    return urls


def write_config(path: Path, feed_urls: list[str], extra: str = "", http: str = "") -> Path:
    """A nightly TOML config for the feeds, out/ and state/ beside it."""
    lines = ["[nightly]", 'out = "out"', 'state = "state"', extra, "", "[nightly.http]", http or "timeout = 5\ndeadline = 20\nretries = 1\nbackoff = 0.2", ""]
    for n, url in enumerate(feed_urls):
        lines += ["[[nightly.feeds]]", f'name = "feed{n}"', f'url = "{url}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# ---- the benchmark ----------------------------------------------------------------------------------

def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def helper_cpu_s() -> float:
    from mtaudit.lab import bench  # loaded by the side that audits: the loopback server needs none of it

    return bench.helper_cpu_s()


def helper_rss_mb() -> float:
    from mtaudit.lab import bench  # loaded by the side that audits: the loopback server needs none of it

    return bench.helper_rss_mb()


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def bench(items: int = 1000, sentences: int = 4, feeds: int = 10, batch_size: int = 25, seed: int = 0,
          full_text: bool = True, workdir: Path | None = None, shared: Path | None = SHARED_DATA) -> dict[str, Any]:
    """One cold night of ``items`` new items, then a second night with nothing new (all 304s)."""
    from mtaudit import nightly  # loaded by the side that audits: the loopback server needs none of it

    t_start = time.monotonic()
    synthetic = synthetic_items(items, sentences, seed, shared)
    words = [len(it.text.split()) for it in synthetic]
    with tempfile.TemporaryDirectory(prefix="mtaudit-bench-") as tmp, LoopbackServer() as server:
        work = Path(workdir) if workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        urls = serve_items(server, synthetic, feeds, full_text)
        cfg_path = write_config(work / "nightly.toml", urls, f"batch_size = {batch_size}\nlookback_days = 3")
        cfg = nightly.load_config(cfg_path)
        rss_before = _rss_mb()
        t0, c0, h0 = time.monotonic(), _cpu(), helper_cpu_s()
        first = nightly.run(cfg)
        t1, c1, h1 = time.monotonic(), _cpu(), helper_cpu_s()
        helper_rss = helper_rss_mb()
        second = nightly.run(cfg)
        t2 = time.monotonic()
        reports = len(list(cfg.out.glob("*.json")))
    import torch  # torch loads with the first model, not on import (start-up time)

    return {
        "benchmark": "nightly",
        "items": items, "sentences_per_item": sentences, "mean_words_per_item": round(sum(words) / len(words), 1),
        "feeds": feeds, "full_text_in_feed": full_text, "batch_size": batch_size, "seed": seed,
        "source_sentences": "ecbplus" if shared and (Path(shared) / "ecbplus").exists() else "seeds",
        "audited": first.audited, "reports_on_disk": reports, "flagged": first.flagged, "exit_code": first.exit_code,
        "night_seconds": round(t1 - t0, 1), "seconds_per_item": round((t1 - t0) / max(1, first.audited), 3),
        "night_cpu_seconds": round(c1 - c0 + h1 - h0, 1),  # on shared cores wall time inflates, CPU time does not
        "night_cpu_seconds_helper": round(h1 - h0, 1),  # of which the lexical-score helper process (mtaudit.stages.score)
        "load_average_1min": round(os.getloadavg()[0], 1),
        "fetch_seconds": round(sum(f.seconds for f in first.feeds), 2),
        "second_night_seconds": round(t2 - t1, 2), "second_night_not_modified": sum(f.status == "not_modified" for f in second.feeds),
        "setup_seconds": round(t0 - t_start, 1),
        "peak_rss_mb": round(_rss_mb(), 0), "rss_before_night_mb": round(rss_before, 0),
        "helper_rss_mb": round(helper_rss, 0),  # the helper's own memory, not in peak_rss_mb
        "cpus": len(os.sched_getaffinity(0)), "torch_threads": torch.get_num_threads(),
        "signature": first.signature,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mtaudit.lab.bench_nightly", description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="items in the night (default 1000)")
    parser.add_argument("--sentences", type=int, default=4, help="sentences per synthetic article (default 4)")
    parser.add_argument("--feeds", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pages", action="store_true", help="feeds carry summaries only: every article is fetched as an HTML page")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    figures = bench(args.items, args.sentences, args.feeds, args.batch_size, args.seed, full_text=not args.pages)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        from mtaudit.base import atomic  # loaded by the side that audits: the loopback server needs none of it

        atomic.write_text(args.json, text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
