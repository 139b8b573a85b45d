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


def _model_path(home: Path, brand_id: int) -> Path:
    return home / "themes" / f"brand-{brand_id}.pkl"


def _brand_words(brand) -> list[str]:
    """The brand's own names (its name and the words of its query): stripped before embedding,
    or every theme would be "about" the brand."""
    words = re.findall(r"[A-Za-z][\w']+", f"{brand.name} {brand.query or ''}")
    return sorted({w.lower() for w in words if w.upper() not in ("OR", "AND", "NOT")})


def brand_themes(store: Store, home: Path, brand, since: datetime | None = None,
                 encoder_name: str | None = None) -> BrandThemes:
    """Fit (first run) or update (later runs) one brand's themes and rank them.

    Incremental: vectors come from the on-disk cache (`theme_cache`), languages detected before
    are kept, a run with no new negative post reuses the saved assignment, and only the posts
    whose theme changed are rewritten in `post_themes`."""
    from nlp import theme_model
    from nlp.embed import DEFAULT_ENCODER, load_encoder
    from nlp.theme_rank import rank

    path = _model_path(home, brand.id)
    saved = pickle.loads(path.read_bytes()) if path.exists() else None
    encoder = load_encoder(encoder_name or DEFAULT_ENCODER)
    if saved and saved.get("encoder") != encoder.name:
        saved = None  # another encoder's themes live in another space: start again
    mentions = brand_mentions(store, brand.id, since)
    known_langs = saved.get("langs", {}) if saved else {}
    langs = [known_langs.get(m.post_id) or detect(m.text, m.lang) for m in mentions]
    lang_report = breakdown(langs, ENGLISH_ONLY)
    negative = [m for m, lang in zip(mentions, langs, strict=True)
                if m.label == "negative" and scorable(lang)]
    out = BrandThemes(brand.name, len(mentions), len(negative), lang_report["languages"],
                      lang_report["not_scored"])
    if len(negative) < MIN_POSTS:
        return out
    skip = saved["model"].skip if saved else tuple(_brand_words(brand))
    cache = VectorCache(home / "themes", encoder.name)
    texts = [m.text for m in negative]
    before: dict[int, int] = saved.get("assigned", {}) if saved else {}
    fresh: set[int] = set()
    if saved and before and all(m.post_id in before for m in negative):
        model = saved["model"]  # nothing new: yesterday's themes stand as they are
        labels = np.array([before[m.post_id] for m in negative])
    elif saved:
        known = saved["posts"]
        old = [i for i, m in enumerate(negative) if m.post_id in known]
        new = [i for i, m in enumerate(negative) if m.post_id not in known]
        order = old + new
        texts = [texts[i] for i in order]
        negative = [negative[i] for i in order]
        vectors = cache.encode(encoder, [theme_model.clean(t, skip) for t in texts])
        model, labels = theme_model.update(saved["model"], texts, vectors, len(old))
        fresh = {t.id for t in model.themes} - {t.id for t in saved["model"].themes}
    else:
        vectors = cache.encode(encoder, [theme_model.clean(t, skip) for t in texts])
        try:
            model = theme_model.fit(texts, vectors, skip)
        except ValueError:  # copies of a few posts, too few shared words to name themes by
            out.embedded = cache.computed
            return out
        labels = theme_model.labels_of(model, texts, vectors)
    assigned = {m.post_id: int(t) for t, m in zip(labels, negative, strict=True)}
    names = model.by_id()
    # Rewrite every row when the table does not hold what the saved state says (a new
    # database, a --since run), else only the rows whose theme changed.
    complete = before and count_post_themes(store, brand.id) == len(before) and \
        saved.get("names") == {t.id: t.name for t in model.themes}
    changed = {pid: t for pid, t in assigned.items() if not complete or before.get(pid) != t}
    gone = [pid for pid in before if pid not in assigned] if complete else None
    save_post_themes(store, brand.id, {pid: (t, names[t].name) for pid, t in changed.items()},
                     replace_all=not complete, removed=gone or ())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({
        "encoder": encoder.name, "model": model, "posts": set(assigned), "assigned": assigned,
        "names": {t.id: t.name for t in model.themes},
        "langs": {m.post_id: lang for m, lang in zip(mentions, langs, strict=True)}}))
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
    out.embedded = cache.computed
    return out


def stage(store: Store, settings, echo: Callable[[str], None]) -> None:
    """Pipeline stage (`listen` after every pass, `demo` once), before detection so alerts name
    the themes found. A brand without new negative posts costs a read and no embedding."""
    started = time.monotonic()
    results = [brand_themes(store, settings.home, b) for b in store.brands()]
    found = [r for r in results if r.themes]
    if not found:
        return
    embedded = sum(r.embedded for r in results)
    skipped = sum(r.not_scored_language for r in results)
    echo(f"Themes: {sum(len(r.themes) for r in found):,} complaint themes for {len(found):,} "
         f"brands ({embedded:,} posts embedded, the rest from the cache; {skipped:,} posts "
         f"not scored (language)) in {time.monotonic() - started:.0f} s")


__all__ = ["NOT_SCORED", "BrandThemes", "brand_themes", "stage"]
