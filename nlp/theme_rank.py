"""What matters most: each theme's volume, growth against its own baseline, reach and share of
the brand's complaints, ranked into one priority list with emerging themes flagged.

Pure: it takes one row per (deduplicated) negative post - theme id, day, author followers - and
the brand's post count per day for the negative share. Priority multiplies share of complaints by
growth and by reach so a small theme that is suddenly carried by big accounts climbs above a
large theme that is flat.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["ThemeStats", "rank"]

RECENT_DAYS = 1  # the window whose volume is compared with the baseline
BASELINE_DAYS = 7
EMERGING_GROWTH = 2.0  # recent daily volume at least this many times the baseline
EMERGING_MIN = 5  # ... and at least this many posts in the recent window


@dataclass
class ThemeStats:
    theme: int
    posts: int
    share: float  # of the brand's negative posts
    negative_share: float  # of the brand's posts on the theme's days
    growth: float  # recent daily volume / baseline daily volume (smoothed)
    reach: int  # followers of the authors who carried it (each author once)
    priority: float
    emerging: bool
    daily: list[int]  # posts per day over the baseline and recent windows (the sparkline)


def rank(rows: Iterable[tuple[int, date, int, int | None]], posts_per_day: Mapping[date, int],
         today: date, new_themes: Iterable[int] = ()) -> list[ThemeStats]:
    """rows: (theme id, day, author id, followers). Highest priority first."""
    days = [today - timedelta(days=i) for i in range(BASELINE_DAYS + RECENT_DAYS - 1, -1, -1)]
    recent = set(days[-RECENT_DAYS:])
    per_day: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    authors: dict[int, dict[int, int]] = defaultdict(dict)
    total = 0
    for theme, day, author, followers in rows:
        per_day[theme][day] += 1
        authors[theme][author] = max(authors[theme].get(author, 0), followers or 0)
        total += 1
    fresh = set(new_themes)
    out = []
    for theme, counts in per_day.items():
        posts = sum(counts.values())
        now = sum(counts[d] for d in recent) / RECENT_DAYS
        base = sum(counts[d] for d in days[:-RECENT_DAYS]) / BASELINE_DAYS
        growth = (now + 1) / (base + 1)  # +1: a theme going from 0 to 1 post is not a 1,000x
        reach = sum(authors[theme].values())
        seen = sum(posts_per_day.get(d, 0) for d in counts)
        share = posts / max(total, 1)
        out.append(ThemeStats(
            theme, posts, share, posts / seen if seen else 0.0, growth, reach,
            share * max(growth, 1.0) * math.log10(10 + reach),
            (theme in fresh or growth >= EMERGING_GROWTH) and now * RECENT_DAYS >= EMERGING_MIN,
            [counts.get(d, 0) for d in days]))
    return sorted(out, key=lambda s: (-s.priority, s.theme))
