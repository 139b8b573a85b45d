"""X API v2 and Reddit as served from real recorded responses, for the real tweepy and praw.

`responses` intercepts the clients' `requests` calls, so tweepy and praw build, send and parse
true wire-format traffic and no test touches the network. Where a recording can be replayed as
is, it is (Reddit comment trees, morechildren, subreddit listings; an X search page when one
request asks for all of it). Where the request differs from the recorded one (smaller pages,
since_id/until_id, a different search), the fake answers as the API does, from the recorded
objects only: it filters, orders and pages them and attaches the recorded `includes`.

Faults are scripted per request: `plan` is a list consumed one request at a time ("429", "503",
"401", "conn" = reset mid-request, "refused" = no connection at all, "bad-json", None = answer
normally); `kill_at` raises `Killed` (a BaseException,
like SIGKILL it is caught by nothing) at that request number.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
import responses

from listener.collectors import job
from listener.query import Query

X_API = "https://api.twitter.com/2"
REDDIT_OAUTH = "https://oauth.reddit.com"
REDDIT_SITE = "https://www.reddit.com"
RATE_HEADERS_X = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "449"}
RATE_HEADERS_REDDIT = {"x-ratelimit-remaining": "599", "x-ratelimit-used": "1",
                       "x-ratelimit-reset": "300"}


class Killed(BaseException):
    """The process died here."""


def one_pass(store, collector, notes: list[str] | None = None) -> job.SourceResult:
    """One pass of one collector over the store's brands, as `undertow collect` runs it."""
    echo = notes.append if notes is not None else (lambda message: None)
    return job.run_pass(store, collector, store.brands(), echo, threading.Event())


def passes_until_caught_up(store, collector) -> list[job.SourceResult]:
    """Passes of `collector` until one is not behind (a capped sweep continued to its end)."""
    results = [one_pass(store, collector)]
    while results[-1].behind:
        assert len(results) < 20, "the sweep never ends"
        results.append(one_pass(store, collector))
    return results


def read_pages(path: Path) -> list[dict[str, Any]]:
    """The response pages of a twarc2 JSONL file (one page a line)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class _Scripted:
    def __init__(self) -> None:
        self.plan: list[str | None] = []
        self.kill_at: int | None = None
        self.calls = 0
        self.log: list[tuple[str, str]] = []

    def _fault(self, request: requests.PreparedRequest, kind_of_api: str):
        """A scripted fault for this request, or None to answer normally."""
        self.calls += 1
        self.log.append((request.method, request.url))
        if self.kill_at is not None and self.calls >= self.kill_at:
            self.kill_at = None
            raise Killed(f"killed at request {self.calls}")
        step = self.plan.pop(0) if self.plan else None
        if step is None:
            return None
        if step == "conn":
            raise requests.ConnectionError("connection reset by peer")
        if step == "refused":
            raise refused()
        if step == "bad-json":
            return (200, {"content-type": "application/json"}, '{"data": [{"id": "1"')
        status = int(step)
        reason = HTTPStatus(status).phrase
        headers = {"content-type": "application/json"}
        if status == 429:
            reset = time.time() + 120
            if kind_of_api == "x":
                headers.update({"x-rate-limit-remaining": "0",
                                "x-rate-limit-reset": str(int(reset))})
            else:
                headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-used": "600",
                                "x-ratelimit-reset": "120"})
        body = {"title": reason, "status": status, "detail": reason, "type": "about:blank"}
        if kind_of_api == "reddit":
            body = {"message": reason, "error": status}
        return (status, headers, json.dumps(body))


class FakeX(_Scripted):
    """Recent search (recorded pages per query), stream rules and the filtered stream."""

    def __init__(self, rsps: responses.RequestsMock, searches: dict[str, list[dict[str, Any]]],
                 stream_lines: Iterable[bytes] = (), api: str = X_API) -> None:
        super().__init__()
        self.pools = {query: _XPool(pages) for query, pages in searches.items()}
        self.visible_until: int | None = None  # tweets newer than this are "not posted yet"
        self.searches: list[dict[str, str]] = []
        self.served = 0  # tweets returned by search, to show what a resume refetches
        self.window_used_up_at: int | None = None  # this search says "0 requests left"
        self.on_search: Callable[[dict[str, str]], None] = lambda params: None
        self.rules: dict[str, dict[str, str]] = {}
        self.stream_lines = list(stream_lines)
        self.stream_plan: list[int] = []  # statuses of the next stream connections (200 = serve)
        self.connections = 0
        self.on_connect: Callable[[int], None] = lambda count: None
        rsps.add_callback(responses.GET, f"{api}/tweets/search/recent", self._search)
        rsps.add_callback(responses.GET, f"{api}/tweets/search/stream/rules", self._get_rules)
        rsps.add_callback(responses.POST, f"{api}/tweets/search/stream/rules", self._post_rules)
        rsps.add_callback(responses.GET, f"{api}/tweets/search/stream", self._stream)

    def _search(self, request):
        fault = self._fault(request, "x")
        if fault:
            return fault
        q = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        self.searches.append(q)
        self.on_search(q)
        pool = self.pools.get(q["query"])
        body = pool.page(q, self.visible_until) if pool else {"meta": {"result_count": 0}}
        self.served += len(body.get("data") or [])
        headers = {"content-type": "application/json", **RATE_HEADERS_X}
        if len(self.searches) == self.window_used_up_at:
            headers.update({"x-rate-limit-remaining": "0",
                            "x-rate-limit-reset": str(int(time.time()) + 60)})
        return (200, headers, json.dumps(body))

    def _get_rules(self, request):
        fault = self._fault(request, "x")
        if fault:
            return fault
        data = list(self.rules.values())
        body = {"data": data, "meta": {"result_count": len(data)}} if data else \
            {"meta": {"result_count": 0}}
        return (200, {"content-type": "application/json"}, json.dumps(body))

    def _post_rules(self, request):
        fault = self._fault(request, "x")
        if fault:
            return fault
        payload = json.loads(request.body)
        for rule_id in (payload.get("delete") or {}).get("ids", []):
            self.rules.pop(rule_id, None)
        created = []
        for rule in payload.get("add") or []:
            rule_id = str(1500000000000000000 + len(self.rules) + len(self.log))
            self.rules[rule_id] = {"id": rule_id, "value": rule["value"], "tag": rule.get("tag")}
            created.append(self.rules[rule_id])
        body = {"data": created, "meta": {"summary": {"created": len(created)}}}
        return (201 if created else 200, {"content-type": "application/json"}, json.dumps(body))

    def _stream(self, request):
        self.connections += 1
        self.log.append((request.method, request.url))
        self.on_connect(self.connections)
        status = self.stream_plan.pop(0) if self.stream_plan else 200
        if status != 200:
            return (status, {"content-type": "application/json"}, json.dumps({"status": status}))
        rules = [{"id": r["id"], "tag": r["tag"]} for r in self.rules.values()][:1]
        lines = []
        for raw in self.stream_lines:
            try:
                item = json.loads(raw)
            except ValueError:
                lines.append(raw)  # a broken line is served as broken as it was recorded
                continue
            item.pop("__twarc", None)
            item["matching_rules"] = rules  # the rules this fake holds, not the recorder's
            lines.append(json.dumps(item).encode())
        self.stream_lines = []  # a reconnect gets only what was posted since
        body = b"\r\n".join([*lines, b""]) + b"\r\n"  # the trailing blank line is a keep-alive
        return (200, {"content-type": "application/json"}, body)


class _XPool:
    """The tweets and includes of the recorded response pages of one search query."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.recorded = pages
        self.tweets: dict[str, dict] = {}
        self.included: dict[str, dict] = {}
        self.users: dict[str, dict] = {}
        for page in pages:
            for tweet in page.get("data") or []:
                self.tweets[tweet["id"]] = tweet
            for tweet in (page.get("includes") or {}).get("tweets") or []:
                self.included[tweet["id"]] = tweet
            for user in (page.get("includes") or {}).get("users") or []:
                self.users[user["id"]] = user
        self.order = sorted(self.tweets, key=int, reverse=True)

    def page(self, q: dict[str, str], visible_until: int | None) -> dict[str, Any]:
        since, until = int(q.get("since_id", 0)), int(q.get("until_id", 1 << 64))
        start = q.get("start_time")
        ids = [i for i in self.order if since < int(i) < until
               and (visible_until is None or int(i) <= visible_until)
               and (start is None or self.tweets[i]["created_at"] >= start.replace("+00:00", "Z"))]
        size = int(q.get("max_results", 10))
        token = q.get("next_token", "tok0")
        if not token.startswith("tok"):
            return {"meta": {"result_count": 0}}  # a recorded token: its page was not recorded
        offset = int(token.removeprefix("tok"))
        if offset == 0 and len(self.recorded) == 1 and len(ids) == len(self.order) <= size:
            return {k: v for k, v in self.recorded[0].items() if k != "__twarc"}
        chosen = ids[offset:offset + size]
        if not chosen:
            return {"meta": {"result_count": 0}}
        data = [self.tweets[i] for i in chosen]
        meta = {"newest_id": chosen[0], "oldest_id": chosen[-1], "result_count": len(chosen)}
        if offset + size < len(ids):
            meta["next_token"] = f"tok{offset + size}"
        return {"data": data, "includes": self._includes(data), "meta": meta}

    def _includes(self, data: list[dict]) -> dict[str, list]:
        """What the expansions would return for these tweets, from the recorded includes."""
        tweets: dict[str, dict] = {}
        for t in data:
            for ref in t.get("referenced_tweets") or []:
                found = self.included.get(ref["id"]) or self.tweets.get(ref["id"])
                if found:
                    tweets[ref["id"]] = found
        user_ids: list[str] = []
        for t in data:
            user_ids += [t.get("author_id"), t.get("in_reply_to_user_id")]
            user_ids += [m.get("id") for m in (t.get("entities") or {}).get("mentions") or []]
        user_ids += [t.get("author_id") for t in tweets.values()]
        users = {u: self.users[u] for u in user_ids if u in self.users}
        out: dict[str, list] = {"users": list(users.values())}
        if tweets:
            out["tweets"] = list(tweets.values())
        return out


class FakeReddit(_Scripted):
    """OAuth token, search, subreddit listings, comment trees and morechildren."""

    def __init__(self, rsps: responses.RequestsMock, cassettes: Path, threads: Path, *,
                 oauth: str = REDDIT_OAUTH, site: str = REDDIT_SITE) -> None:
        super().__init__()
        self.auth_fails = False
        self.trees: dict[str, str] = {}  # /comments/... path -> recorded body
        self.more: dict[frozenset[str], str] = {}  # morechildren children -> recorded body
        self.listings: dict[str, dict] = {}  # /r/<sub>/<new|comments> -> recorded listing
        self.submissions: dict[str, dict] = {}  # fullname -> submission data (search pool)
        for path in sorted(cassettes.glob("*.json")):
            for it in json.loads(path.read_text())["interactions"]:
                self._record(it["request"], it["response"]["body"]["string"])
        for path in sorted(threads.glob("*.json")):
            self._add_tree(f"/comments/{path.stem}/", path.read_text())
        rsps.add_callback(responses.POST, f"{site}/api/v1/access_token", self._token)
        rsps.add_callback(responses.POST, f"{oauth}/api/morechildren/", self._morechildren)
        rsps.add_callback(responses.GET, re.compile(re.escape(oauth) + r"/.*"), self._get)

    def _record(self, request: dict, body: str) -> None:
        url = urlparse(request["uri"])
        if url.path.startswith("/comments/"):
            self._add_tree(url.path, body)
        elif url.path == "/api/morechildren/":
            children = parse_qs(request["body"])["children"][0].split(",")
            self.more[frozenset(children)] = body
        elif re.fullmatch(r"/r/\w+/(new|comments/?)", url.path):
            self.listings[url.path.rstrip("/")] = json.loads(body)

    def _add_tree(self, path: str, body: str) -> None:
        self.trees[path.rstrip("/")] = body
        if path.count("/") <= 3:  # /comments/<id>/ : the whole thread, so a search hit
            submission = json.loads(body)[0]["data"]["children"][0]["data"]
            self.submissions[submission["name"]] = submission

    def _token(self, request):
        fault = self._fault(request, "reddit")
        if fault:
            return fault
        if self.auth_fails:
            return (401, {"content-type": "application/json"},
                    json.dumps({"message": "Unauthorized", "error": 401}))
        return (200, {"content-type": "application/json"}, json.dumps(
            {"access_token": "fake", "token_type": "bearer", "expires_in": 3600, "scope": "*"}))

    def _get(self, request):
        fault = self._fault(request, "reddit")
        if fault:
            return fault
        url = urlparse(request.url)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path.rstrip("/")
        if path.startswith("/comments/"):
            body = self.trees.get(path)
            return self._ok(body) if body else self._not_found()
        search = re.fullmatch(r"/r/([\w+]+)/search", path)
        if search:
            return self._ok(json.dumps(self._search(search.group(1), q)))
        if path in self.listings:
            listing = self.listings[path]
            after = q.get("after")
            if after and after == listing["data"]["after"]:
                listing = {"kind": "Listing", "data": {"after": None, "before": None,
                                                       "children": [], "modhash": None}}
            return self._ok(json.dumps(listing))
        return self._not_found()

    def _search(self, scope: str, q: dict[str, str]) -> dict[str, Any]:
        query = Query(q["q"])
        subs = None if scope == "all" else {s.lower() for s in scope.split("+")}
        hits = sorted(
            (s for s in self.submissions.values()
             if query.matches(f"{s.get('title', '')}\n{s.get('selftext', '')}")
             and (subs is None or s["subreddit"].lower() in subs)),
            key=lambda s: -s["created_utc"])
        after = q.get("after")
        start = next((i + 1 for i, s in enumerate(hits) if s["name"] == after), 0)
        if after and not start:  # a thing the results no longer hold: Reddit may answer so
            start = len(hits)
        size = int(q.get("limit", 25))
        chosen = hits[start:start + size]
        after = chosen[-1]["name"] if start + size < len(hits) else None
        return {"kind": "Listing", "data": {
            "after": after, "before": None, "modhash": None, "dist": len(chosen),
            "children": [{"kind": "t3", "data": s} for s in chosen]}}

    def _morechildren(self, request):
        fault = self._fault(request, "reddit")
        if fault:
            return fault
        children = frozenset(parse_qs(request.body)["children"][0].split(","))
        # Unrecorded: answer as Reddit does for children that no longer exist.
        return self._ok(self.more.get(children)
                        or json.dumps({"json": {"errors": [], "data": {"things": []}}}))

    def _ok(self, body: str):
        return (200, {"content-type": "application/json; charset=UTF-8", **RATE_HEADERS_REDDIT},
                body)

    def _not_found(self):
        return (404, {"content-type": "application/json"},
                json.dumps({"message": "Not Found", "error": 404}))


def snapshot(store) -> dict[str, set]:
    """What a collection stored, as sets: equal snapshots mean the same data."""
    from sqlalchemy import select

    from listener.store import schema

    with store.engine.connect() as conn:
        return {
            "posts": set(conn.execute(select(schema.posts.c.platform, schema.posts.c.native_id))),
            "authors": set(conn.execute(select(schema.authors.c.id))),
            "interactions": set(conn.execute(select(schema.interactions.c.id))),
            "tags": set(conn.execute(select(schema.post_brands.c.post_id,
                                            schema.post_brands.c.brand_id))),
        }


def kill_commits(monkeypatch) -> dict:
    """Make the store's writer raise `Killed` inside the transaction, after the rows are written.

    Set `countdown["commit"] = n` to die in the n-th write from now; the dict may carry other
    countdowns of the caller's.
    """
    import listener.store

    real_write = listener.store.write_batch
    countdown: dict = {"commit": None}

    def dying_write(*args, **kwargs):
        result = real_write(*args, **kwargs)
        if countdown["commit"] is not None:
            countdown["commit"] -= 1
            if countdown["commit"] <= 0:
                countdown["commit"] = None
                raise Killed("killed before commit")
        return result

    monkeypatch.setattr(listener.store, "write_batch", dying_write)
    return countdown


def refused() -> requests.ConnectionError:
    """What requests raises when nothing listens at the address: urllib3's NewConnectionError
    inside (how a collector tells "unreachable" from a request that failed midway)."""
    from urllib3.exceptions import NewConnectionError

    return requests.ConnectionError(NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused"))
