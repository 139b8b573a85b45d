"""X API v2 and Reddit as a live local server, for `bench/live.py`: posts appear as they are
published and the real tweepy and praw clients read them in true wire format.

X: the filtered stream (`GET /2/tweets/search/stream`, chunked, one tweet a line with its
`includes` and `matching_rules`, `\\r\\n` keep-alives), its rules (`GET`/`POST
/2/tweets/search/stream/rules`) and recent search (`GET /2/tweets/search/recent`: `query`,
`since_id`, `until_id`, `start_time`, `max_results`, `next_token`, newest first, with
`includes.users`/`includes.tweets` and `meta`), each with X's rate-limit headers. The shapes
follow the recorded responses in `../shared/data/fixtures/twarc_csv_v2` (search pages and
`streaming_output_with_error.jsonl`).

Reddit: the OAuth token (`POST /api/v1/access_token`), a subreddit's new submissions and new
comments (`/r/<sub>/new`, `/r/<sub>/comments`), search (`/r/<scope>/search`) and a submission's
thread (`/comments/<id>`), as Listings whose things carry every field of the recorded ones in
`../shared/data/fixtures/praw_cassettes` (TestSubredditListings).

A stream connection is served what is published while it is open (X's stream does not replay
what a dropped client missed; search is how the listener catches up). Tweet ids are snowflakes
made from the publish time, so ids and times order alike, as on X.
"""

from __future__ import annotations

import json
import queue
import re
import sys
import threading
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from listener.query import Query

__all__ = ["LiveServer", "Snowflake", "WireState", "iso"]

TWITTER_EPOCH_MS = 1288834974657
KEEPALIVE_S = 5.0  # X sends one every 20 s; tweepy's read timeout is 21 s
_RULE_IDS = 1600000000000000000


def iso(t: float) -> str:
    """X's created_at: '2026-12-03T13:50:00.123Z'."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{int(t * 1000) % 1000:03d}Z"


class Snowflake:
    """Time-ordered 64-bit ids as X makes them: milliseconds since its epoch, then a sequence."""

    def __init__(self) -> None:
        self._last, self._seq = -1, 0
        self._lock = threading.Lock()

    def next(self, t: float) -> int:
        with self._lock:
            ms = max(int(t * 1000) - TWITTER_EPOCH_MS, self._last)
            self._seq = self._seq + 1 if ms == self._last else 0
            self._last = ms
            return (ms << 22) | (self._seq & 0x3FFFFF)


@dataclass
class WireState:
    """What the server has published: tweets (by id), users, Reddit things; and the stream's
    open connections and rules."""

    tweets: dict[int, dict] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)  # tweet ids, ascending (publish order)
    users: dict[str, dict] = field(default_factory=dict)
    submissions: list[dict] = field(default_factory=list)  # ascending created_utc
    comments: list[dict] = field(default_factory=list)
    rules: dict[str, dict] = field(default_factory=dict)
    connections: list[queue.Queue] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: dict[str, int] = field(default_factory=dict)  # per route, for the report
    down: bool = False  # answer 503 to everything (an outage)

    def count(self, route: str) -> None:
        with self.lock:
            self.requests[route] = self.requests.get(route, 0) + 1

    # -- publishing --------------------------------------------------------------------------

    def publish_tweet(self, tweet: dict, users: list[dict]) -> None:
        """Make a tweet visible to search and push it to every open stream whose rules match."""
        line = None
        with self.lock:
            for u in users:
                self.users.setdefault(u["id"], u)
            tid = int(tweet["id"])
            self.tweets[tid] = tweet
            self.order.append(tid)  # ids grow with publish time
            matching = [{"id": r["id"], "tag": r["tag"]} for r in self.rules.values()
                        if r["_query"].matches(tweet["text"])]
            if matching and self.connections:
                body = {"data": tweet, "includes": self._includes([tweet]),
                        "matching_rules": matching}
                line = json.dumps(body).encode() + b"\r\n"
                for q in self.connections:
                    q.put(line)

    def publish_reddit(self, thing: dict) -> None:
        with self.lock:
            (self.submissions if thing["kind"] == "t3" else self.comments).append(thing)

    # -- X helpers ---------------------------------------------------------------------------

    def _includes(self, data: list[dict]) -> dict[str, list]:
        """What X's expansions return for these tweets: their authors, mentioned and replied-to
        users, and the tweets they reference (with those tweets' authors)."""
        refs: dict[str, dict] = {}
        for t in data:
            for r in t.get("referenced_tweets") or []:
                found = self.tweets.get(int(r["id"]))
                if found is not None:
                    refs[r["id"]] = found
        ids: list[str] = []
        for t in [*data, *refs.values()]:
            ids += [t.get("author_id"), t.get("in_reply_to_user_id")]
            ids += [m.get("id") for m in (t.get("entities") or {}).get("mentions") or []]
        users = {i: self.users[i] for i in ids if i and i in self.users}
        out: dict[str, list] = {"users": list(users.values())}
        if refs:
            out["tweets"] = list(refs.values())
        return out

    def search(self, q: dict[str, str]) -> dict[str, Any]:
        query = Query(q["query"])
        since, until = int(q.get("since_id", 0)), int(q.get("until_id", 1 << 63))
        size = max(10, min(100, int(q.get("max_results", 10))))
        start = q.get("start_time")
        token = q.get("next_token")
        with self.lock:
            order = self.order
            lo, hi = bisect_right(order, since), bisect_left(order, until)
            if token:
                hi = min(hi, bisect_left(order, int(token)))
            picked: list[dict] = []
            more = False
            for i in range(hi - 1, lo - 1, -1):  # newest first
                tweet = self.tweets[order[i]]
                if start and tweet["created_at"] < _x_time(start):
                    break
                if not query.matches(tweet["text"]):
                    continue
                if len(picked) == size:
                    more = True
                    break
                picked.append(tweet)
            if not picked:
                return {"meta": {"result_count": 0}}
            meta: dict[str, Any] = {"newest_id": picked[0]["id"], "oldest_id": picked[-1]["id"],
                                    "result_count": len(picked)}
            if more:
                meta["next_token"] = picked[-1]["id"]  # opaque to the client
            return {"data": picked, "includes": self._includes(picked), "meta": meta}

    # -- Reddit helpers ----------------------------------------------------------------------

    def listing(self, things: list[dict], q: dict[str, str],
                keep=lambda thing: True) -> dict[str, Any]:
        """Newest first, `limit` per page, `after` = the last fullname of the previous page."""
        size = max(1, min(100, int(q.get("limit", 25))))
        after = q.get("after")
        with self.lock:
            items = [t for t in reversed(things) if keep(t)]
        start = 0
        if after:
            start = next((i + 1 for i, t in enumerate(items) if t["data"]["name"] == after),
                         len(items))
        chosen = items[start:start + size]
        last = chosen[-1]["data"]["name"] if chosen and start + size < len(items) else None
        return {"kind": "Listing", "data": {"after": last, "before": None, "dist": len(chosen),
                                            "modhash": "", "geo_filter": "",
                                            "children": chosen}}

    def thread(self, sid: str) -> list[dict] | None:
        with self.lock:
            sub = next((s for s in self.submissions if s["data"]["id"] == sid), None)
            if sub is None:
                return None
            replies = [c for c in self.comments if c["data"]["link_id"] == f"t3_{sid}"]
        empty = {"after": None, "before": None, "dist": None, "modhash": "", "geo_filter": ""}
        return [{"kind": "Listing", "data": {**empty, "dist": 1, "children": [sub]}},
                {"kind": "Listing", "data": {**empty, "children": replies}}]


def _x_time(value: str) -> str:
    """A start_time parameter ('2026-12-03T13:50:00+00:00' or '...Z') in created_at's form."""
    t = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return iso(t)


_X_RATE = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "449"}
_REDDIT_RATE = {"x-ratelimit-remaining": "599", "x-ratelimit-used": "1",
                "x-ratelimit-reset": "300"}


class _Quiet(ThreadingHTTPServer):
    """A client killed mid-response (the harness's kill -9 of the listener) resets its
    connection: expected here, so not a traceback on the harness's stderr."""

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LiveServer:
    """The HTTP server on 127.0.0.1 (one thread per connection), serving `state`."""

    def __init__(self, state: WireState, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        handler = _handler(state)
        self.httpd = _Quiet((host, port), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        name="live-wire")

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(state: WireState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args) -> None:
            pass

        def _query(self) -> tuple[str, dict[str, str]]:
            url = urlparse(self.path)
            return url.path.rstrip("/") or "/", {k: v[0] for k, v in parse_qs(url.query).items()}

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _json(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _unavailable(self) -> bool:
            if state.down:
                self._json(503, {"title": "Service Unavailable", "status": 503,
                                 "detail": "Service Unavailable", "type": "about:blank"})
            return state.down

        def do_GET(self) -> None:  # noqa: N802
            path, q = self._query()
            if self._unavailable():
                return
            if path == "/2/tweets/search/recent":
                state.count("x search")
                self._json(200, state.search(q), _X_RATE)
            elif path == "/2/tweets/search/stream/rules":
                state.count("x rules")
                with state.lock:
                    data = [{k: v for k, v in r.items() if not k.startswith("_")}
                            for r in state.rules.values()]
                self._json(200, {"data": data, "meta": {"sent": iso(time.time()),
                                                        "result_count": len(data)}}
                           if data else {"meta": {"sent": iso(time.time()), "result_count": 0}})
            elif path == "/2/tweets/search/stream":
                state.count("x stream connections")
                self._stream()
            elif m := re.fullmatch(r"/r/([\w+]+)/(new|comments)", path):
                state.count(f"reddit {m.group(2)}")
                subs = {s.lower() for s in m.group(1).split("+")}
                things = state.submissions if m.group(2) == "new" else state.comments
                self._json(200, state.listing(
                    things, q, lambda t: t["data"]["subreddit"].lower() in subs), _REDDIT_RATE)
            elif m := re.fullmatch(r"/r/([\w+]+)/search", path):
                state.count("reddit search")
                scope = m.group(1).lower()
                query = Query(q.get("q", ""))
                self._json(200, state.listing(state.submissions, q, lambda t: (
                    scope == "all" or t["data"]["subreddit"].lower() in scope.split("+"))
                    and query.matches(f"{t['data']['title']}\n{t['data']['selftext']}")),
                    _REDDIT_RATE)
            elif m := re.fullmatch(r"/comments/(\w+)(?:/.*)?", path):
                state.count("reddit thread")
                body = state.thread(m.group(1))
                if body is None:
                    self._json(404, {"message": "Not Found", "error": 404})
                else:
                    self._json(200, body, _REDDIT_RATE)
            else:
                self._json(404, {"message": "Not Found", "error": 404})

        def do_POST(self) -> None:  # noqa: N802
            path, _ = self._query()
            raw = self._body()
            if self._unavailable():
                return
            if path == "/api/v1/access_token":
                state.count("reddit token")
                self._json(200, {"access_token": "live-replay", "token_type": "bearer",
                                 "expires_in": 3600, "scope": "*"})
            elif path == "/2/tweets/search/stream/rules":
                state.count("x rules")
                self._rules(json.loads(raw or b"{}"))
            elif path == "/api/morechildren":
                self._json(200, {"json": {"errors": [], "data": {"things": []}}})
            else:
                self._json(404, {"message": "Not Found", "error": 404})

        def _rules(self, payload: dict) -> None:
            now = iso(time.time())
            with state.lock:
                deleted = 0
                for rid in (payload.get("delete") or {}).get("ids", []):
                    deleted += state.rules.pop(rid, None) is not None
                created = []
                for rule in payload.get("add") or []:
                    rid = str(_RULE_IDS + len(state.rules) + int(time.time() * 1000) % 10**9)
                    state.rules[rid] = {"id": rid, "value": rule["value"],
                                        "tag": rule.get("tag"), "_query": Query(rule["value"])}
                    created.append({"id": rid, "value": rule["value"], "tag": rule.get("tag")})
            if created:
                self._json(201, {"data": created, "meta": {"sent": now, "summary": {
                    "created": len(created), "not_created": 0, "valid": len(created),
                    "invalid": 0}}})
            else:
                self._json(200, {"meta": {"sent": now, "summary": {"deleted": deleted,
                                                                   "not_deleted": 0}}})

        def _stream(self) -> None:
            feed: queue.Queue = queue.Queue()
            with state.lock:
                state.connections.append(feed)
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                while not state.down:
                    try:
                        first = feed.get(timeout=KEEPALIVE_S)
                    except queue.Empty:
                        self._chunk(b"\r\n")  # keep-alive
                        continue
                    lines = [first]
                    while len(lines) < 200:
                        try:
                            lines.append(feed.get_nowait())
                        except queue.Empty:
                            break
                    self._chunk(b"".join(lines))
                self._chunk(b"")
            except (BrokenPipeError, ConnectionResetError, OSError):
                pass  # the client went away (a kill, a reconnect)
            finally:
                with state.lock:
                    if feed in state.connections:
                        state.connections.remove(feed)

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler
