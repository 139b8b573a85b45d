"""Complaint themes on the Overview: the themes `undertow themes` found (`ranked`, `group_shares`),
and, where that job has not run yet, the words and two-word phrases that negative posts use far
more than the rest (`complaint_themes`).

Raw frequency would list "flight" and the brand's own name; weighting by how much more often a
term appears in negative than in other posts (a smoothed log ratio) surfaces "lost luggage",
"cancelled", "on hold" instead. Runs on a bounded sample of recent posts, in milliseconds.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable

import pandas as pd

from listener.post import RETWEET_PREFIX
from nlp.theme_rank import rank

_TOKEN = re.compile(r"[a-z][a-z'’]+")
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+|&\w+;")
_STOPWORDS = """
a about above after again all am an and any are aren't as at be because been before being
below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't
down during each few for from further get got had hadn't has hasn't have haven't having he her
here hers herself him himself his how i i'm i've if in into is isn't it it's its itself just let's
me more most my myself no nor not now of off on once only or other our ours ourselves out over own
rt same she should so some such than that that's the their theirs them themselves then there
there's these they they're this those through to too under until up us very was wasn't we we're
were weren't what when where which while who whom why will with won't would you you're your yours
yourself im ur u thanks thank please amp via one still even also really today
"""
STOPWORDS = frozenset(_STOPWORDS.split())


def _once_per_retweeted_text(texts: Iterable[str]) -> list[str]:
    """Retweets of one post say one thing: a wave of them (or of spam) must not fill the themes.
    Posts people wrote themselves count each, even when they say the same words."""
    seen: set[str] = set()
    out = []
    for text in texts:
        body = text
        while wrapper := RETWEET_PREFIX.match(body):  # "RT @a: RT @b: ..." too
            body = body[wrapper.end():]
        if body is not text:
            if body.lower() in seen:
                continue
            seen.add(body.lower())
        out.append(text)
    return out


def _terms(text: str, skip: frozenset[str]) -> set[str]:
    return _terms_without(text, STOPWORDS | skip)


def _terms_without(text: str, drop: frozenset[str]) -> set[str]:
    """`_terms` with the stopwords and skipped words as one set (made once per sample)."""
    words = [w for w in _TOKEN.findall(_NOISE.sub(" ", text.lower()).replace("’", "'"))
             if len(w) > 2 and w not in drop]
    terms = set(words)
    terms.update(f"{a} {b}" for a, b in itertools.pairwise(words) if a != b)
    return terms


def complaint_themes(negative: Iterable[str], others: Iterable[str], top: int = 12,
                     min_posts: int = 3, skip: Iterable[str] = ()) -> pd.DataFrame:
    """Terms over-represented in `negative` against `others`: term, posts, share, lift."""
    drop = STOPWORDS | frozenset(w.lower() for w in skip)
    neg_docs = [_terms_without(t, drop) for t in _once_per_retweeted_text(negative)]
    other_docs = [_terms_without(t, drop) for t in _once_per_retweeted_text(others)]
    if not neg_docs:
        return pd.DataFrame(columns=["term", "posts", "share", "lift"])
    neg, oth = Counter(), Counter()
    for doc in neg_docs:
        neg.update(doc)
    for doc in other_docs:
        oth.update(doc)
    n_neg, n_oth = len(neg_docs), max(len(other_docs), 1)
    rows = []
    for term, count in neg.items():
        if count < min_posts:
            continue
        share = count / n_neg
        lift = (count + 1) / (n_neg + 2) / ((oth[term] + 1) / (n_oth + 2))
        if lift > 1.2:
            rows.append((term, count, share, lift, share * math.log(lift), term.count(" ")))
    df = pd.DataFrame(rows, columns=["term", "posts", "share", "lift", "score", "bigram"])
    # On a tie the phrase wins: "lost luggage" says more than "lost".
    df = df.sort_values(["score", "bigram", "term"], ascending=[False, False, True])
    # A bigram and its own words say the same thing: keep whichever ranks first.
    kept: list[int] = []
    seen_words: set[str] = set()
    for idx, term in zip(df.index, df["term"], strict=True):
        words = set(term.split())
        if words & seen_words and (len(words) == 1 or words <= seen_words):
            continue
        kept.append(idx)
        seen_words |= words
        if len(kept) == top:
            break
    return df.loc[kept].drop(columns=["score", "bigram"]).reset_index(drop=True)


def matching(text: str, terms: Iterable[str]) -> list[str]:
    """Which of `terms` (complaint themes) a post uses, in their order: the Posts page's theme
    column, read with the same tokens the themes were found with."""
    found = _terms(str(text), frozenset())
    return [t for t in terms if t in found]


RANKED_COLUMNS = ["brand_id", "brand", "theme", "name", "posts", "share", "growth", "reach",
                  "priority", "emerging", "trend"]


def ranked(rows: pd.DataFrame, brands: dict[int, str], top: int = 10) -> pd.DataFrame:
    """The found themes of the window (`queries.found_themes` rows), ranked per brand by
    `nlp.theme_rank` (share x growth x reach) and merged, highest priority first. `trend` is
    the theme's posts per day over the last eight days of the window (the sparkline)."""
    out = []
    for brand_id, part in rows.groupby("brand_id"):
        names = dict(zip(part["theme_id"], part["theme_name"], strict=True))
        days = part["created_at"].dt.date
        followers = part["followers"].fillna(0).astype(int)
        for stats in rank(zip(part["theme_id"], days, part["author_id"], followers,
                              strict=True), {}, days.max()):
            out.append([int(brand_id), brands.get(int(brand_id), str(brand_id)),
                        int(stats.theme), names[stats.theme], stats.posts, stats.share,
                        stats.growth, stats.reach, stats.priority, stats.emerging, stats.daily])
    df = pd.DataFrame(out, columns=RANKED_COLUMNS)
    return df.sort_values(["priority", "posts"], ascending=False).head(top).reset_index(drop=True)


def group_shares(rows: pd.DataFrame, brands: dict[int, str], top: int = 8) -> pd.DataFrame:
    """Each brand's share of its themed complaints per theme, for the group's `top` largest
    themes: brand, name, posts, share. A group's brands share theme ids (the job clusters a
    competitor group together), so one theme is one complaint across the brands."""
    if rows.empty:
        return pd.DataFrame(columns=["brand", "name", "posts", "share"])
    sizes = rows.groupby("theme_id").size().sort_values(ascending=False)
    keep = sizes.index[:top]
    counts = rows.groupby(["brand_id", "theme_id", "theme_name"]).size().rename("posts")
    counts = counts.reset_index()
    counts["share"] = counts["posts"] / counts.groupby("brand_id")["posts"].transform("sum")
    counts = counts[counts["theme_id"].isin(keep)]
    counts["brand"] = counts["brand_id"].map(brands)
    return counts.rename(columns={"theme_name": "name"})[["brand", "name", "posts", "share"]]
