"""`undertow themes`: complaint themes per brand, found in its negative mentions and kept stable.

Each brand's fitted model is saved under UNDERTOW_HOME/themes/, so the next run assigns new
posts to the themes it already has (same ids, same names) and adds a theme only when the new
posts say so (`nlp.theme_model.update`). Posts in a language the encoder was not trained on are
counted as "not scored (language)" and left out of the themes.
"""

from __future__ import annotations

import pickle
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from listener.jobs.theme_cache import VectorCache
from listener.store import Store
from listener.store.theme_reads import brand_mentions, count_post_themes, save_post_themes
from nlp.language import ENGLISH_ONLY, NOT_SCORED, breakdown, detect, scorable

MIN_POSTS = 20  # negative posts a brand needs before its themes mean anything


@dataclass
class BrandThemes:
    brand: str
    mentions: int
    negative: int
    languages: dict
    not_scored_language: int
    themes: list[dict] = field(default_factory=list)
    embedded: int = 0  # posts this run embedded (the others' vectors came from the cache)


def _unit_path(home: Path, key: str) -> Path:
    return home / "themes" / f"{key}.pkl"


def _brand_words(brand) -> list[str]:
    """The brand's own names (its name and the words of its query): stripped before embedding,
    or every theme would be "about" the brand."""
    words = re.findall(r"[A-Za-z][\w']+", f"{brand.name} {brand.query or ''}")
    return sorted({w.lower() for w in words if w.upper() not in ("OR", "AND", "NOT")})


def units(brands: list) -> dict[str, list]:
    """Brands whose themes are found together: a competitor group shares one set of themes (so
    the dashboard can compare the brands' shares of each), a brand without a group has its own."""
    out: dict[str, list] = {}
    for brand in brands:
        group = brand.competitor_group
        key = "group-" + re.sub(r"[^\w.-]+", "_", group) if group else f"brand-{brand.id}"
        out.setdefault(key, []).append(brand)
    return out


def themes_for(store: Store, home: Path, brands: list | None = None,
               since: datetime | None = None, encoder_name: str | None = None
               ) -> list[BrandThemes]:
    """Themes of `brands` (default: every brand), each found with its competitor group."""
    every = store.brands()
    wanted = [b.id for b in brands] if brands is not None else [b.id for b in every]
    results: dict[int, BrandThemes] = {}
    for key, members in units(every).items():
        if any(b.id in wanted for b in members):
            for brand, result in zip(members, unit_themes(store, home, key, members, since,
                                                          encoder_name), strict=True):
                results[brand.id] = result
    return [results[i] for i in wanted]


def brand_themes(store: Store, home: Path, brand, since: datetime | None = None,
                 encoder_name: str | None = None) -> BrandThemes:
    """One brand's themes (found with its competitor group, if it has one)."""
    return themes_for(store, home, [brand], since, encoder_name)[0]


def unit_themes(store: Store, home: Path, key: str, brands: list,
                since: datetime | None = None, encoder_name: str | None = None
                ) -> list[BrandThemes]:
    """Fit (first run) or update (later runs) the themes of a group of brands and rank each
    brand's. Incremental: vectors come from the on-disk cache (`theme_cache`), languages
    detected before are kept, a run with no new negative post reuses the saved assignment, and
    only the posts whose theme changed are rewritten in `post_themes`."""
    from nlp import theme_model
    from nlp.embed import DEFAULT_ENCODER, load_encoder

    path = _unit_path(home, key)
    saved = pickle.loads(path.read_bytes()) if path.exists() else None
    encoder = load_encoder(encoder_name or DEFAULT_ENCODER)
    if saved and (saved.get("encoder") != encoder.name or "rows" not in saved):
        saved = None  # another encoder's themes live in another space: start again
    known_langs = saved["langs"] if saved else {}
    langs: dict[int, str] = {}
    outs, mentions, negatives = [], {}, {}
    for brand in brands:
        mine = brand_mentions(store, brand.id, since)
        for m in mine:
            langs[m.post_id] = known_langs.get(m.post_id) or detect(m.text, m.lang)
        report = breakdown([langs[m.post_id] for m in mine], ENGLISH_ONLY)
        negatives[brand.id] = [m for m in mine
                               if m.label == "negative" and scorable(langs[m.post_id])]
        mentions[brand.id] = mine
        outs.append(BrandThemes(brand.name, len(mine), len(negatives[brand.id]),
                                report["languages"], report["not_scored"]))
    # A post that mentions two brands of the group is one post to cluster.
    union = {m.post_id: m for b in brands for m in negatives[b.id]}
    negative = sorted(union.values(), key=lambda m: (m.created_at, m.post_id))
    if len(negative) < MIN_POSTS:
        return outs
    skip = saved["model"].skip if saved else tuple(sorted({w for b in brands
                                                           for w in _brand_words(b)}))
    cache = VectorCache(home / "themes", encoder.name)
    texts = [m.text for m in negative]
    before: dict[int, int] = saved["assigned"] if saved else {}
    fresh: set[int] = set()
    if saved and all(m.post_id in before for m in negative):
        model = saved["model"]  # nothing new: yesterday's themes stand as they are
        labels = np.array([before[m.post_id] for m in negative])
    elif saved:
        order = [i for i, m in enumerate(negative) if m.post_id in before] + \
            [i for i, m in enumerate(negative) if m.post_id not in before]
        texts = [texts[i] for i in order]
        negative = [negative[i] for i in order]
        cleaned = [theme_model.clean(t, skip) for t in texts]
        vectors = cache.encode(encoder, cleaned)
        model, labels = theme_model.update(saved["model"], texts, vectors,
                                           sum(m.post_id in before for m in negative),
                                           cleaned=cleaned)
        fresh = {t.id for t in model.themes} - {t.id for t in saved["model"].themes}
    else:
        cleaned = [theme_model.clean(t, skip) for t in texts]
        vectors = cache.encode(encoder, cleaned)
        try:
            model, labels = theme_model.fit_assign(texts, vectors, skip, cleaned=cleaned)
        except ValueError:  # copies of a few posts, too few shared words to name themes by
            for out in outs:
                out.embedded = cache.computed
            return outs
    assigned = {m.post_id: int(t) for t, m in zip(labels, negative, strict=True)}
    names = model.by_id()
    same_names = saved is not None and saved["names"] == {t.id: t.name for t in model.themes}
    rows = {}
    for brand in brands:
        rows[brand.id] = {m.post_id: assigned[m.post_id] for m in negatives[brand.id]}
        _write(store, brand.id, rows[brand.id], saved["rows"].get(brand.id) if same_names
               else None, names)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps({
        "encoder": encoder.name, "model": model, "assigned": assigned, "rows": rows,
        "names": {t.id: t.name for t in model.themes}, "langs": langs}))
    tmp.replace(path)  # `listen` may stop mid-run (its themes thread is not waited for long)
    for brand, out in zip(brands, outs, strict=True):
        _rank_into(out, mentions[brand.id], negatives[brand.id], assigned, names, fresh)
        out.embedded = cache.computed
    return outs


def _write(store: Store, brand_id: int, now: dict[int, int], before: dict[int, int] | None,
           names: dict) -> None:
    """Rewrite every row of the brand when the table does not hold what the saved state says
    (a new database, a renamed theme), else only the rows whose theme changed."""
    complete = before is not None and count_post_themes(store, brand_id) == len(before)
    changed = {pid: t for pid, t in now.items() if not complete or before.get(pid) != t}
    gone = [pid for pid in before if pid not in now] if complete else []
    if complete and not changed and not gone:
        return
    save_post_themes(store, brand_id, {pid: (t, names[t].name) for pid, t in changed.items()},
                     replace_all=not complete, removed=gone)


def _rank_into(out: BrandThemes, mentions: list, negative: list, assigned: dict[int, int],
               names: dict, fresh: set[int]) -> None:
    from nlp.theme_rank import rank

    if not negative:
        return
    per_day: dict = {}
    for m in mentions:
        per_day[m.created_at.date()] = per_day.get(m.created_at.date(), 0) + 1
    today = max(m.created_at for m in negative).date()
    rows = [(assigned[m.post_id], m.created_at.date(), m.author_id, m.followers)
            for m in negative]
    for stats in rank(rows, per_day, today, fresh):
        theme = names[stats.theme]
        out.themes.append({**asdict(stats), "name": theme.name, "terms": theme.terms,
                           "examples": theme.examples[:2]})


def stage(store: Store, settings, echo: Callable[[str], None]) -> None:
    """Pipeline stage (`listen` after every pass, `demo` once), before detection so alerts name
    the themes found. A group without new negative posts costs a read and no embedding."""
    started = time.monotonic()
    echo("Finding complaint themes (each negative post is embedded once, ever; later runs read "
         "the cache)...")
    results, embedded = [], 0
    for key, members in units(store.brands()).items():
        part = unit_themes(store, settings.home, key, members)
        results += part
        embedded += part[0].embedded  # the unit's count, the same on each of its brands
    found = [r for r in results if r.themes]
    if not found:
        return
    skipped = sum(r.not_scored_language for r in results)
    echo(f"Themes: complaint themes for {len(found):,} brands ({embedded:,} posts embedded, "
         f"the rest from the cache; {skipped:,} posts not scored (language)) in "
         f"{time.monotonic() - started:.0f} s")


__all__ = ["NOT_SCORED", "BrandThemes", "brand_themes", "stage", "themes_for", "units"]
