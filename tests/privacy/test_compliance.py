"""Platform compliance on recorded X and Reddit answers, through the real tweepy and praw.

The store holds real recorded posts. Where a test needs a post as it was *before* it went (the
recordings show only the after), that earlier version is made from the recorded one, and only
its author or text is replaced. The fakes answer the clients' lookups from the recordings:
- X (GET /2/tweets?ids=): recorded tweets with their recorded `withheld`; the ids in
  tweets_compliance.jsonl come back in `errors` as X words them for that reason.
- Reddit (/api/info): a recorded /api/info request is replayed as recorded (praw's
  deleted-comment cassette); other fullnames are answered from the recorded things.
The collector tests' fixtures (recorded-data folder, HTTP mock, collectors built from settings,
instant sleeps) are imported so that pytest finds them here; tests take them as parameters.
"""

# ruff: noqa: F811
from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import parse_qs, urlparse

import click
import pytest
import responses
from click.testing import CliRunner
from sqlalchemy import func, or_, select

from listener.cli import Context
from listener.cli.compliance import compliance
from listener.cli.edge import UndertowGroup
from listener.collectors.x import x_verdicts
from listener.compliance import check_platform
from listener.mapping.reddit import map_thread
from listener.mapping.x import map_page
from listener.post import Author, Batch, Interaction, Post, stable_id, utcnow
from listener.store import schema
from listener.store.alerts import upsert_story
from tests.collectors.conftest import fixtures, http, make, notes, settings, sleeps  # noqa: F401
from tests.collectors.fake_apis import (
    RATE_HEADERS_REDDIT,
    RATE_HEADERS_X,
    REDDIT_OAUTH,
    X_API,
    Killed,
    _Scripted,
    read_pages,
)

THREADS = ("22o24j", "46uw4y", "66yxyf")
DELETED_COMMENT = "t1_d7ltvl0"  # praw's TestComment.test_refresh__deleted_comment recording
GONE = ("[deleted]", "[removed]")


# -- X ---------------------------------------------------------------------------------------------

def _x_problem(tweet_id: str, reason: str) -> dict:
    """How the lookup reports a tweet that a compliance record says is gone, in X's wording."""
    base = {"value": tweet_id, "resource_type": "tweet", "parameter": "ids",
            "resource_id": tweet_id}
    if reason == "protected":
        return {**base, "title": "Authorization Error",
                "detail": f"Sorry, you are not authorized to see the Tweet with ids: [{tweet_id}].",
                "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"}
    return {**base, "title": "Not Found Error",
            "detail": f"Could not find tweet with ids: [{tweet_id}].",
            "type": "https://api.twitter.com/2/problems/resource-not-found"}


class FakeXLookup(_Scripted):
    def __init__(self, rsps: responses.RequestsMock, pages: list[dict], records: list[dict]):
        super().__init__()
        self.tweets: dict[str, dict] = {}
        for page in pages:
            data = page.get("data") or []
            for tweet in [*(data if isinstance(data, list) else [data]),
                          *(page.get("includes") or {}).get("tweets", [])]:
                self.tweets.setdefault(tweet["id"], tweet)
        self.gone = {r["id"]: _x_problem(r["id"], r["reason"]) for r in records}
        self.silent: set[str] = set()  # ids the answer leaves out altogether
        self.requests: list[list[str]] = []
        rsps.add_callback(responses.GET, f"{X_API}/tweets", self._lookup)

    def _lookup(self, request):
        fault = self._fault(request, "x")
        if fault:
            return fault
        q = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        ids = q["ids"].split(",")
        assert len(ids) <= 100
        self.requests.append(ids)
        fields = {"id", "text", *q.get("tweet.fields", "").split(",")}
        data, errors = [], []
        for tid in ids:
            if tid in self.silent:
                continue
            if tid in self.gone:
                errors.append(self.gone[tid])
            elif tid in self.tweets:
                data.append({k: v for k, v in self.tweets[tid].items() if k in fields})
            else:
                errors.append(_x_problem(tid, "deleted"))
        body = {k: v for k, v in (("data", data), ("errors", errors)) if v}
        return (200, {"content-type": "application/json", **RATE_HEADERS_X}, json.dumps(body))


@pytest.fixture
def x_data(fixtures):
    folder = fixtures / "twarc_csv_v2" / "test-data"
    pages = read_pages(folder / "withheld.jsonl")
    return pages, read_pages(folder / "tweets_compliance.jsonl")


@pytest.fixture
def x_lookup(http, x_data):
    fake = FakeXLookup(http, *x_data)
    for post in before_gone(x_data[1]).posts:  # the reply to a gone tweet is still there
        if post.native_id not in fake.gone:
            fake.tweets[post.native_id] = {"id": post.native_id, "text": post.text}
    return fake


def before_gone(records: list[dict]) -> Batch:
    """The tweets of the compliance records as stored before they went; one replies to another."""
    author = Author("x", "4400000001", handle="stored_earlier", followers=10)
    posts = [Post("x", r["id"], author.native_id, f"brexit: tweet {r['id']} as collected",
                  datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")),
                  url=f"https://x.com/stored_earlier/status/{r['id']}") for r in records]
    replier = Author("x", "4400000002", handle="replier")
    reply = Post("x", "4400000000000000003", replier.native_id, "@stored_earlier brexit indeed",
                 posts[0].created_at, parent_native_id=posts[0].native_id)
    inter = Interaction("x", "reply", replier.native_id, author.native_id, reply.created_at,
                        reply.native_id, posts[0].native_id)
    return Batch([*posts, reply], [author, replier], [inter])


def fill_x(store, x_data) -> tuple[set[str], list[dict]]:
    pages, records = x_data
    brand, _ = store.add_brand("Brexit", "brexit")
    for page in pages:
        store.write(map_page(page)[0])
    store.write(before_gone(records))
    gone = [r["id"] for r in records]
    with store.engine.begin() as conn:
        conn.execute(schema.sentiment_scores.insert(), [dict(
            post_id=stable_id("x", tid), model_version="m1", label="negative", negative=0.9,
            neutral=0.05, positive=0.05, scored_at=utcnow()) for tid in gone])
    upsert_story(store, brand.id, "story", 0.7, "brexit story", {"root_posts": [
        {"post_id": gone[0], "text": "as collected"},
        {"url": f"https://x.com/stored_earlier/status/{gone[1]}", "text": "as collected"},
        {"post_id": "1257786232978968578", "text": "still there"}]})
    with store.engine.connect() as conn:
        ids = set(conn.execute(select(schema.posts.c.native_id)
                               .where(schema.posts.c.platform == "x")).scalars())
    return ids, records


def rows_about(store, post_ids: list[int]) -> int:
    p, s, pb, i = schema.posts, schema.sentiment_scores, schema.post_brands, schema.interactions
    with store.engine.connect() as conn:
        return sum(conn.execute(select(func.count()).select_from(t).where(cond)).scalar()
                   for t, cond in ((p, p.c.id.in_(post_ids)), (s, s.c.post_id.in_(post_ids)),
                                   (pb, pb.c.post_id.in_(post_ids)),
                                   (i, or_(i.c.source_post_id.in_(post_ids),
                                           i.c.target_post_id.in_(post_ids)))))


def test_x_removes_deleted_protected_and_withheld(store, x_data, x_lookup, make, notes):
    stored, records = fill_x(store, x_data)
    withheld_in = {t["id"] for t in x_lookup.tweets.values()
                   if "IN" in (t.get("withheld") or {}).get("country_codes", [])}
    gone = {r["id"] for r in records} | withheld_in | {"1257108668492984321"}  # copyright: XY
    gone_ids = [stable_id("x", t) for t in gone]
    assert len(gone) == 15 and gone <= stored
    assert rows_about(store, gone_ids) == 15 + 2 + 2 + 12  # posts, scores, brand tags, replies

    checker = make("x").compliance_checker(["in"])
    report = check_platform(store, checker, echo=notes.append)
    assert report.error is None and report.sweep_complete
    assert report.checked == len(stored)
    assert report.removed == {"protected": 1, "deleted": 1, "withheld everywhere": 1,
                              "withheld in IN": 12}
    assert report.kept == {"withheld only in other countries: kept": 1}  # 25712847277: DE, FR
    assert [len(ids) for ids in x_lookup.requests] == [100] * (len(stored) // 100) + [
        len(stored) % 100]
    assert rows_about(store, gone_ids) == 0  # posts, scores, brand tags, interactions
    assert store.status()["posts"] == len(stored) - 15
    with store.engine.connect() as conn:
        handles = set(conn.execute(select(schema.authors.c.handle)).scalars())
        evidence = conn.execute(select(schema.alerts.c.evidence)).scalar()
    assert "stored_earlier" not in handles and "replier" in handles  # left with no post: gone
    assert evidence["root_posts"] == [{"post_id": "1257786232978968578", "text": "still there"}]
    # A later collection or import of the same tweets does not bring the removed ones back.
    for batch in [*(map_page(page)[0] for page in x_data[0]), before_gone(records)]:
        store.write(Batch([p for p in batch.posts if p.native_id in gone], batch.authors))
    with store.engine.connect() as conn:
        assert not conn.execute(select(schema.posts.c.id)
                                .where(schema.posts.c.id.in_(gone_ids))).all()


def test_x_keeps_what_the_answer_does_not_settle(sqlite_store, x_data, x_lookup, make):
    stored, _ = fill_x(sqlite_store, x_data)
    x_lookup.silent = {"1257786232978968578"}
    report = check_platform(sqlite_store, make("x").compliance_checker(), echo=lambda m: None)
    assert report.kept["not answered (asked again next sweep)"] == 1
    assert report.kept["withheld only in other countries: kept"] == 13  # no --country given
    assert report.removed == {"protected": 1, "deleted": 1, "withheld everywhere": 1}
    assert sqlite_store.status()["posts"] == len(stored) - 3


def test_x_verdicts_ignore_errors_about_expansions():
    body = {"data": [{"id": "1", "text": "t"}], "errors": [
        {"resource_id": "2", "parameter": "referenced_tweets.id", "resource_type": "tweet",
         "title": "Not Found Error", "type": "https://api.twitter.com/2/problems/resource-not-found"},
        {"resource_id": "3", "parameter": "ids", "resource_type": "tweet", "title": "Forbidden",
         "detail": "User has been suspended: [someone].",
         "type": "https://api.twitter.com/2/problems/resource-not-found"}]}
    out = x_verdicts(["1", "2", "3"], body)
    assert [(out[i].action, out[i].reason) for i in "123"] == [
        ("keep", ""), ("keep", "not answered (asked again next sweep)"),
        ("remove", "account suspended")]


def test_x_sweep_resumes_and_starts_over(store, x_data, x_lookup, make, sleeps):
    stored, _ = fill_x(store, x_data)
    checker = make("x").compliance_checker(["IN"])
    x_lookup.plan = ["429"]  # the first request is rate limited: wait for the reset, go on
    first = check_platform(store, checker, limit=150, echo=lambda m: None)
    assert first.checked == 150 and first.rate_limited == 1 and sleeps
    assert first.remaining == len(stored) - 150
    second = check_platform(store, checker, echo=lambda m: None)
    assert second.sweep_complete and first.checked + second.checked == len(stored)
    asked = [tid for ids in x_lookup.requests for tid in ids]
    assert len(asked) == len(set(asked)) == len(stored)  # none asked twice in one sweep
    x_lookup.requests.clear()
    third = check_platform(store, checker, echo=lambda m: None)
    assert third.checked == len(stored) - 15 and not third.removed and third.sweep_complete


def test_x_kill_mid_sweep_keeps_committed_batches(sqlite_store, x_data, x_lookup, make):
    stored, _ = fill_x(sqlite_store, x_data)
    checker = make("x").compliance_checker(["IN"])
    x_lookup.kill_at = 3
    with pytest.raises(Killed):
        check_platform(sqlite_store, checker, echo=lambda m: None)
    done = [tid for ids in x_lookup.requests for tid in ids]
    assert len(done) == 200
    x_lookup.requests.clear()
    resumed = check_platform(sqlite_store, checker, echo=lambda m: None)
    assert resumed.checked == len(stored) - 200 and resumed.sweep_complete
    again = [tid for ids in x_lookup.requests for tid in ids]
    assert not set(again) & set(done)
    assert sqlite_store.status()["posts"] == len(stored) - 15


# -- Reddit ----------------------------------------------------------------------------------------

def things_in(value, out: list[dict]) -> list[dict]:
    """Every submission and comment in a Reddit JSON response, at any depth."""
    if isinstance(value, list):
        for v in value:
            things_in(v, out)
    elif isinstance(value, dict):
        if value.get("kind") in ("t1", "t3"):
            out.append(value["data"])
        for v in value.values():
            things_in(v, out)
    return out


class FakeRedditInfo(_Scripted):
    def __init__(self, rsps: responses.RequestsMock, threads: list, cassette: dict):
        super().__init__()
        self.things: dict[str, dict] = {}
        for data in things_in(threads, []):
            self.things[data["name"]] = {**data, "replies": ""}
        self.recorded: dict[frozenset, str] = {}
        for it in cassette["interactions"]:
            url = urlparse(it["request"]["uri"])
            if url.path == "/api/info/":
                body = it["response"]["body"]["string"]
                self.recorded[frozenset(parse_qs(url.query)["id"][0].split(","))] = body
                for child in json.loads(body)["data"]["children"]:
                    self.things[child["data"]["name"]] = child["data"]
        self.requests: list[list[str]] = []
        rsps.add_callback(responses.POST, "https://www.reddit.com/api/v1/access_token",
                          self._token)
        rsps.add_callback(responses.GET, f"{REDDIT_OAUTH}/api/info/", self._info)

    def _token(self, request):
        return self._fault(request, "reddit") or (200, {"content-type": "application/json"},
                                                  json.dumps({"access_token": "fake", "scope": "*",
                                                              "token_type": "bearer",
                                                              "expires_in": 3600}))

    def _info(self, request):
        fault = self._fault(request, "reddit")
        if fault:
            return fault
        names = parse_qs(urlparse(request.url).query)["id"][0].split(",")
        self.requests.append(names)
        body = self.recorded.get(frozenset(names)) or json.dumps({"kind": "Listing", "data": {
            "after": None, "before": None, "modhash": "", "children": [
                {"kind": name[:2], "data": self.things[name]} for name in names
                if name in self.things]}})
        return (200, {"content-type": "application/json; charset=UTF-8", **RATE_HEADERS_REDDIT},
                body)


@pytest.fixture
def reddit_data(fixtures):
    threads = [json.loads((fixtures / "reddit_threads" / f"{t}.json").read_text()) for t in THREADS]
    cassette = json.loads((fixtures / "praw_cassettes"
                           / "TestComment.test_refresh__deleted_comment.json").read_text())
    return threads, cassette


@pytest.fixture
def reddit_info(http, reddit_data):
    return FakeRedditInfo(http, *reddit_data)


def earlier(data: dict) -> dict:
    """A recorded thing as it was before its author deleted it or their account."""
    data = dict(data)
    if data.get("author") in GONE:
        data["author"] = f"former_{data['id']}"
    key = "body" if data["name"].startswith("t1_") else "selftext"
    if data.get(key) in GONE:
        data[key] = "what it said before it was deleted"
    return data


def earlier_thread(value):
    if isinstance(value, list):
        return [earlier_thread(v) for v in value]
    if isinstance(value, dict):
        value = {k: earlier_thread(v) for k, v in value.items()}
        if value.get("kind") in ("t1", "t3"):
            value["data"] = earlier(value["data"])
    return value


def store_comment(store, data: dict) -> None:
    store.write(map_thread({"kind": "Listing", "data": {"children": [
        {"kind": "t1", "data": data}]}})[0])


def fill_reddit(store, reddit_info, threads) -> None:
    for payload in threads:
        store.write(map_thread(earlier_thread(payload))[0])
    store_comment(store, earlier(reddit_info.things[DELETED_COMMENT]))


def test_reddit_removes_deleted_and_unlinks_deleted_accounts(store, reddit_data, reddit_info,
                                                            make, notes):
    threads, _ = reddit_data
    fill_reddit(store, reddit_info, threads)
    things = reddit_info.things.values()
    gone = {d["name"] for d in things if (d.get("body") or d.get("selftext")) in GONE}
    unlinked = {d["name"] for d in things if d["author"] in GONE and d["name"] not in gone}
    assert (len(things), len(gone), len(unlinked)) == (110, 15, 7)
    stored_text = {name: text for name, text in _posts(store).items() if name in unlinked}
    report = check_platform(store, make("reddit").compliance_checker(), echo=notes.append)
    assert report.checked == 110 and report.sweep_complete and report.error is None
    assert [len(r) for r in reddit_info.requests] == [100, 10]
    assert sum(report.removed.values()) == 15 and report.unlinked == 7
    assert set(report.removed) <= {"deleted by its author", "removed by moderators or Reddit"}
    assert rows_about(store, [stable_id("reddit", name) for name in gone]) == 0
    after = _posts(store)
    assert not gone & after.keys()
    assert {name: after[name] for name in unlinked} == stored_text  # the text stays
    anonymous = store.author_id("reddit", "[deleted]")
    p, i, a = schema.posts, schema.interactions, schema.authors
    ids = [stable_id("reddit", name) for name in unlinked]
    with store.engine.connect() as conn:
        rows = conn.execute(select(p.c.author_id, p.c.raw).where(p.c.id.in_(ids))).all()
        linked = conn.execute(select(func.count()).select_from(i).where(or_(
            i.c.source_post_id.in_(ids), i.c.target_post_id.in_(ids)))).scalar()
        former = conn.execute(select(func.count()).select_from(a)
                              .where(a.c.handle.like("former_%"))).scalar()
    assert {r.author_id for r in rows} == {anonymous} and linked == 0 and former == 0
    assert all(json.loads(r.raw)["author"] == "[deleted]" for r in rows)
    # The threads collected again (as Reddit serves them now) do not bring the removed back.
    for payload in threads:
        store.write(map_thread(payload)[0])
    assert not gone & _posts(store).keys()
    rerun = check_platform(store, make("reddit").compliance_checker(), echo=notes.append)
    assert not rerun.removed and rerun.unlinked == 0


def test_reddit_deleted_comment_recording(sqlite_store, reddit_info, make):
    store_comment(sqlite_store, earlier(reddit_info.things[DELETED_COMMENT]))
    report = check_platform(sqlite_store, make("reddit").compliance_checker(), echo=lambda m: None)
    assert reddit_info.requests == [[DELETED_COMMENT]]  # replayed as praw recorded it
    assert report.removed == {"deleted by its author": 1}
    assert sqlite_store.status()["posts"] == 0 and sqlite_store.status()["authors"] == 0


def _posts(store) -> dict[str, str]:
    p = schema.posts
    with store.engine.connect() as conn:
        return dict(conn.execute(select(p.c.native_id, p.c.text)
                                 .where(p.c.platform == "reddit")).all())


# -- the command -----------------------------------------------------------------------------------

@pytest.fixture
def run_cli(settings, sqlite_store):
    @click.group(cls=UndertowGroup)
    @click.pass_context
    def group(ctx: click.Context) -> None:
        ctx.obj = Context(settings)

    group.add_command(compliance)
    return lambda *args: CliRunner().invoke(group, ["compliance", *args])


def test_command_reports_and_continues(run_cli, sqlite_store, x_data, x_lookup, sleeps):
    stored, _ = fill_x(sqlite_store, x_data)
    first = run_cli("--platform", "x", "--limit", "250", "--country", "in")
    assert first.exit_code == 0, first.output
    assert "X: checked 250 stored posts" in first.stdout
    assert f"{len(stored) - 250:,} posts left in this sweep" in first.stdout
    second = run_cli("--country", "in")  # every platform with stored posts: only X here
    assert second.exit_code == 0, second.output
    assert "sweep complete" in second.stdout and "Reddit" not in second.stdout
    assert sqlite_store.status()["posts"] == len(stored) - 15
    third = run_cli("--country", "IN,DE")  # a new sweep
    assert f"X: checked {len(stored) - 15} stored posts" in third.stdout
    assert "removed 1 (withheld in DE 1)" in third.stdout  # 25712847277


def test_command_fails_when_x_refuses(run_cli, sqlite_store, x_data, x_lookup):
    stored, _ = fill_x(sqlite_store, x_data)
    x_lookup.plan = ["401"]
    result = run_cli()
    assert result.exit_code == 1
    assert "X: not checked: X refused the bearer token" in result.stdout
    assert "Error: X not fully checked" in result.output
    assert "test-bearer-token" not in result.output
    assert sqlite_store.get_cursor("compliance.x", "sweep") is None
    assert sqlite_store.status()["posts"] == len(stored)


def test_command_reports_a_platform_it_cannot_check(run_cli, settings, sqlite_store, x_data,
                                                     x_lookup, reddit_data):
    fill_x(sqlite_store, x_data)
    for payload in reddit_data[0]:
        sqlite_store.write(map_thread(payload)[0])
    settings.reddit_client_id = ""
    result = run_cli("--country", "IN")
    assert result.exit_code == 1
    assert "removed 15" in result.stdout  # X was checked all the same
    assert "Reddit: not checked: Reddit needs app credentials: set UNDERTOW_REDDIT_CLIENT_ID" \
        in result.stdout and "(109 stored posts)" in result.stdout


def test_command_help():
    result = CliRunner().invoke(compliance, ["--help"])
    assert result.exit_code == 0 and "--limit" in result.output and "withheld" in result.output


def test_earlier_versions_change_only_author_and_text(reddit_info):
    data = reddit_info.things[DELETED_COMMENT]
    assert {k for k, v in earlier(data).items() if data[k] != v} == {"author", "body"}
