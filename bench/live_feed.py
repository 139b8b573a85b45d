"""What `bench/live.py` publishes: real airline tweets (and SemEval tweets that name a tech brand)
at a chosen rate, with injected negative cascades, as X v2 tweets and Reddit things.

Texts and their authors' handles are real (CrowdFlower airline tweets, SemEval 2013-2016);
what is simulated, seeded: follower counts (log-normal), which posts go to Reddit (a small
share, as submissions and comments in r/airlines), and the cascades: a real negative complaint
about one airline as the root, then `cascade_size` reactions within a few minutes (80% retweets
"RT @root: text", 20% real negative tweets about the same airline posted as replies to it), each
from a new account. Tweet ids and times are the publish time's, not 2015's.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.live_wire import Snowflake, iso

__all__ = ["AIRLINES", "Cascade", "Feed", "Item", "load_texts", "shared_data"]

ROOT = Path(__file__).resolve().parents[1]
# The airlines' handles as the tweets address them; each brand's query is its handle.
AIRLINES = {"United": "@united", "US Airways": "@USAirways", "American": "@AmericanAir",
            "Southwest": "@SouthwestAir", "JetBlue": "@JetBlue",
            "Virgin America": "@VirginAmerica"}
_AIRLINE_OF = {"United": "United", "US Airways": "US Airways", "American": "American",
               "Southwest": "Southwest", "Delta": None, "Virgin America": "Virgin America"}
SUBREDDIT = "airlines"


def shared_data() -> Path:
    return Path(os.environ.get("UNDERTOW_SHARED_DATA", ROOT / ".." / "shared" / "data")).resolve()


@dataclass(frozen=True)
class Text:
    text: str
    handle: str
    brand: str | None
    negative: bool
    confident: bool


def load_texts(data: Path | None = None) -> list[Text]:
    """The airline tweets that name one of the brands' handles (repeated ids once)."""
    data = data or shared_data()
    out, seen = [], set()
    with (data / "airline" / "Tweets.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["tweet_id"] in seen:
                continue
            seen.add(row["tweet_id"])
            brand = _AIRLINE_OF.get(row["airline"]) or None
            text = row["text"]
            if brand is None or AIRLINES[brand].lower() not in text.lower():
                continue
            out.append(Text(text, row["name"] or "someone", brand,
                            row["airline_sentiment"] == "negative",
                            float(row["airline_sentiment_confidence"] or 0) >= 0.99))
    return out


@dataclass
class Item:
    """One publication: an X tweet (with its users) or a Reddit thing, at `at` (unix s)."""

    at: float
    platform: str  # "x" or "reddit"
    native_id: str
    payload: dict
    users: list[dict] = field(default_factory=list)
    cascade: int | None = None  # index of the injected cascade it belongs to
    root: bool = False
    detectable: bool = False  # the cascade's `min_events`-th reaction: detection can start


@dataclass
class Cascade:
    index: int
    brand: str
    root_text: str
    onset: float  # seconds into the run
    size: int
    root_id: str | None = None
    published_at: float | None = None  # the root's publish time
    detectable_at: float | None = None  # publish time of its `min_events`-th reaction


class Feed:
    """The publication schedule: `rate` posts/s of background tweets plus the cascades."""

    def __init__(self, texts: list[Text], *, rate: float, seconds: float, cascades: int,
                 cascade_size: int = 80, cascade_span_s: float = 90.0,
                 reddit_share: float = 0.02, seed: int = 7, roots: list[str] | None = None,
                 min_events: int = 30) -> None:
        self.rng = random.Random(seed)
        self.texts = texts
        self.rate, self.seconds = rate, seconds
        self.reddit_share = reddit_share
        self.ids = Snowflake()
        self.min_events = min_events
        negatives = [t for t in texts if t.negative and t.confident]
        self.negatives: dict[str, list[Text]] = {}
        for t in negatives:
            self.negatives.setdefault(t.brand, []).append(t)
        candidates = [t for t in negatives if roots is None or t.text in roots]
        self.rng.shuffle(candidates)
        # Onsets spread over the run, leaving each cascade time to unfold before the end.
        usable = max(seconds - cascade_span_s - 20.0, seconds * 0.3)
        self.cascades = [
            Cascade(i, c.brand, c.text, 10.0 + usable * (i + 0.5) / max(cascades, 1),
                    cascade_size)
            for i, c in enumerate(candidates[:cascades])]
        self.cascade_span_s = cascade_span_s
        self._reddit_subs: list[str] = []
        self._handles: dict[str, str] = {}  # user id -> handle, for mentions of a root

    # -- accounts ----------------------------------------------------------------------------

    def user(self, handle: str) -> dict:
        uid = str(int(hashlib.sha1(handle.encode()).hexdigest()[:15], 16))
        rnd = random.Random(uid)
        followers = int(rnd.lognormvariate(5.0, 1.6))
        return {"id": uid, "username": handle, "name": handle, "verified": False,
                "created_at": "2012-05-01T10:00:00.000Z",
                "public_metrics": {"followers_count": followers,
                                   "following_count": int(rnd.lognormvariate(5.5, 1.0)),
                                   "tweet_count": int(rnd.lognormvariate(7, 1.5)),
                                   "listed_count": 0}}

    # -- X tweets ----------------------------------------------------------------------------

    def tweet(self, at: float, text: str, author: dict, ref: tuple[str, dict] | None = None,
              cascade: int | None = None, root: bool = False) -> Item:
        tid = str(self.ids.next(at))
        mentions = []
        for word in text.split():
            if word.startswith("@") and len(word) > 1:
                name = word[1:].rstrip(":.,!?;)")
                if name:
                    start = text.find("@" + name)
                    mentions.append({"start": start, "end": start + len(name) + 1,
                                     "username": name})
        tweet: dict = {
            "id": tid, "text": text, "author_id": author["id"], "created_at": iso(at),
            "conversation_id": tid, "lang": "en", "edit_history_tweet_ids": [tid],
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0,
                               "quote_count": 0, "impression_count": 0},
        }
        users = [author]
        if mentions:
            tweet["entities"] = {"mentions": mentions}
        if ref is not None:
            kind, parent = ref
            tweet["referenced_tweets"] = [{"type": kind, "id": parent["id"]}]
            tweet["conversation_id"] = parent.get("conversation_id", parent["id"])
            if kind == "replied_to":
                tweet["in_reply_to_user_id"] = parent["author_id"]
            for m in mentions:
                if m["username"].lower() == self._handle_of(parent).lower():
                    m["id"] = parent["author_id"]
        return Item(at, "x", tid, tweet, users, cascade, root)

    def _handle_of(self, tweet: dict) -> str:
        return self._handles.get(tweet["author_id"], "")

    # -- Reddit things -----------------------------------------------------------------------

    def reddit(self, at: float, t: Text) -> Item:
        n = self.ids.next(at)
        rid = _base36(n % 36**7)
        author = t.handle
        common = {"approved_by": None, "archived": False, "author": author,
                  "author_flair_css_class": None, "author_flair_text": None,
                  "banned_by": None, "created": at, "created_utc": at, "distinguished": None,
                  "downs": 0, "edited": False, "gilded": 0, "id": rid, "likes": None,
                  "mod_reports": [], "num_reports": None, "over_18": False,
                  "quarantine": False, "removal_reason": None, "report_reasons": None,
                  "saved": False, "score": 1, "stickied": False, "subreddit": SUBREDDIT,
                  "subreddit_id": "t5_2qhb8", "ups": 1, "user_reports": []}
        if self._reddit_subs and self.rng.random() < 0.6:
            link = self.rng.choice(self._reddit_subs[-20:])
            data = {**common, "name": f"t1_{rid}", "body": t.text, "body_html": None,
                    "controversiality": 0, "link_author": "someone", "link_id": link,
                    "link_title": "Airline complaints thread",
                    "link_url": f"https://www.reddit.com/r/{SUBREDDIT}/",
                    "parent_id": link, "replies": "", "score_hidden": False}
            return Item(at, "reddit", f"t1_{rid}", {"kind": "t1", "data": data})
        self._reddit_subs.append(f"t3_{rid}")
        title = t.text[:120]
        data = {**common, "name": f"t3_{rid}", "title": title, "selftext": t.text,
                "selftext_html": None, "clicked": False, "domain": f"self.{SUBREDDIT}",
                "from": None, "from_id": None, "from_kind": None, "hidden": False,
                "hide_score": False, "is_self": True, "link_flair_css_class": None,
                "link_flair_text": None, "locked": False, "media": None, "media_embed": {},
                "num_comments": 0,
                "permalink": f"/r/{SUBREDDIT}/comments/{rid}/airline_complaint/",
                "secure_media": None, "secure_media_embed": {}, "suggested_sort": None,
                "thumbnail": "self", "url": f"https://www.reddit.com/r/{SUBREDDIT}/comments/{rid}/",
                "visited": False}
        return Item(at, "reddit", f"t3_{rid}", {"kind": "t3", "data": data})

    # -- the schedule ------------------------------------------------------------------------

    def schedule(self, start: float) -> Iterator[Item]:
        """Items in publish order, times from `start` (the caller sleeps until each is due).

        Background posts come at `rate` per second; a cascade's root at its onset and its
        reactions over the next `cascade_span_s` seconds (front-loaded, as real cascades are).
        """
        events: list[tuple[float, int, str, int | None]] = []
        n = int(self.rate * self.seconds)
        for i in range(n):
            events.append((i / self.rate, 0, "bg", None))
        for c in self.cascades:
            events.append((c.onset, 1, "root", c.index))
            for _ in range(c.size):
                # exponential delays (mean a third of the span), cut at the span
                delay = min(self.rng.expovariate(3.0 / self.cascade_span_s),
                            self.cascade_span_s)
                events.append((c.onset + 1.0 + delay, 2, "reaction", c.index))
        events.sort(key=lambda e: (e[0], e[1]))
        roots: dict[int, dict] = {}
        reactions: dict[int, int] = {}
        pool = self.texts
        for offset, _, kind, ci in events:
            at = start + offset
            if kind == "bg":
                t = pool[self.rng.randrange(len(pool))]
                if self.rng.random() < self.reddit_share:
                    yield self.reddit(at, t)
                    continue
                author = self.user(t.handle)
                self._handles[author["id"]] = t.handle
                yield self.tweet(at, t.text, author)
                continue
            c = self.cascades[ci]
            if kind == "root":
                author = self.user(f"{self._root_handle(c)}")
                self._handles[author["id"]] = author["username"]
                item = self.tweet(at, c.root_text, author, cascade=ci, root=True)
                roots[ci] = item.payload
                c.root_id = item.native_id
                yield item
                continue
            root = roots[ci]
            reactions[ci] = reactions.get(ci, 0) + 1
            handle = f"fan{ci}_{reactions[ci]}_{self.rng.randrange(10**6)}"
            author = self.user(handle)
            self._handles[author["id"]] = handle
            root_handle = self._handles[root["author_id"]]
            if self.rng.random() < 0.8:
                item = self.tweet(at, f"RT @{root_handle}: {root['text']}", author,
                                  ("retweeted", root), cascade=ci)
            else:
                t = self.rng.choice(self.negatives[c.brand])
                item = self.tweet(at, f"@{root_handle} {t.text}", author, ("replied_to", root),
                                  cascade=ci)
            item.detectable = reactions[ci] == self.min_events
            yield item

    def _root_handle(self, c: Cascade) -> str:
        return f"angry_flyer_{c.index}"


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out
