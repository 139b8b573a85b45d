"""`undertow themes`: complaint themes per brand, found in its negative mentions and kept stable.

Each brand's fitted model is saved under UNDERTOW_HOME/themes/, so the next run assigns new
posts to the themes it already has (same ids, same names) and adds a theme only when the new
posts say so (`nlp.theme_model.update`). Posts in a language the encoder was not trained on are
counted as "not scored (language)" and left out of the themes.
"""

from __future__ import annotations

import json
import pickle
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from listener.jobs.theme_cache import VectorCache
from listener.store import Store
from listener.store.theme_reads import (
    brand_mentions,
    drop_post_themes,
    save_post_themes,
    scored_since,
    themed,
)
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
    read: int = 0  # mentions this run read from the store (its unit's, on each of its brands)
    new: int = 0  # of those, the ones not read before (an incremental pass re-reads OVERLAP)
    incremental: bool = False  # only the mentions scored since the last pass were read


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


STATE_VERSION = 2
META_PREFIX = "themes_state:"  # + unit key: the incremental pass's watermark and state token
# Scores read again behind the watermark: a scorer's transaction can commit a score whose
# scored_at is older than one already read; posts read then are skipped by their scored_at.
OVERLAP = timedelta(minutes=2)


def _signature(brands: list) -> list:
    return [(b.id, b.name, b.query or "") for b in brands]


def _current_version(store: Store) -> str:
    from listener.store.scores import current_model_version

    with store.engine.connect() as conn:
        return current_model_version(conn) or ""


def unit_themes(store: Store, home: Path, key: str, brands: list,
                since: datetime | None = None, encoder_name: str | None = None,
                incremental: bool = False) -> list[BrandThemes]:
    """Fit (first run) or update the themes of a group of brands.

    Full pass (`undertow themes`, the first run, or when the data asks for a refit): reads
    every mention of the group, updates the saved themes over old and new posts together
    (`nlp.theme_model.update`, which may add a theme) and ranks each brand's themes.
    Incremental pass (`incremental=True`, what `listen` runs after every pass): reads only the
    mentions scored since the watermark kept in the store's meta (new and rescored ones) and
    assigns them to the existing themes (`nlp.theme_model.assign_new`: the same step `update`
    would take for them); a full pass instead when the saved state does not match the store,
    the model or the brands, or when the new posts meet the add rule (far from every theme).
    It does not rank (the stage prints counts only). Vectors come from the on-disk cache."""
    from nlp.embed import DEFAULT_ENCODER, load_encoder

    path = _unit_path(home, key)
    saved = pickle.loads(path.read_bytes()) if path.exists() else None
    encoder = load_encoder(encoder_name or DEFAULT_ENCODER)
    if saved and saved.get("encoder") != encoder.name:
        saved = None  # another encoder's themes live in another space: start again
    version = _current_version(store)
    if incremental and since is None and saved and saved.get("version") == STATE_VERSION:
        raw = store.get_meta(META_PREFIX + key)
        mark = json.loads(raw) if raw else None
        if (mark and mark.get("token") == saved["token"]
                and mark.get("model_version") == version
                and saved["brands"] == _signature(brands)
                and saved["model"].sums is not None):
            done = _incremental(store, home, key, brands, saved, mark, encoder, version)
            if done is not None:
                return done
    return _full(store, home, key, brands, since, saved, encoder, version)


def _language(m) -> str:
    # The language recorded when it was scored; a post scored before that was recorded is told
    # the same way here (the platform's tag, else the detector).
    return m.language or detect(m.text, m.lang)


def _full(store: Store, home: Path, key: str, brands: list, since: datetime | None,
          saved: dict | None, encoder, version: str) -> list[BrandThemes]:
    from nlp import theme_model

    outs, mentions, negatives = [], {}, {}
    for brand in brands:
        mine = brand_mentions(store, brand.id, since)
        langs = [_language(m) for m in mine]
        report = breakdown(langs, ENGLISH_ONLY)
        negatives[brand.id] = [m for m, lang in zip(mine, langs, strict=True)
                               if m.label == "negative" and scorable(lang)]
        mentions[brand.id] = mine
        outs.append(BrandThemes(brand.name, len(mine), len(negatives[brand.id]),
                                report["languages"], report["not_scored"], read=len(mine),
                                new=len(mine)))
    # A post that mentions two brands of the group is one post to cluster.
    union = {m.post_id: m for b in brands for m in negatives[b.id]}
    negative = sorted(union.values(), key=lambda m: (m.created_at, m.post_id))
    if len(negative) < MIN_POSTS:
        return outs
    skip = saved["model"].skip if saved else tuple(sorted({w for b in brands
                                                           for w in _brand_words(b)}))
    cache = VectorCache(home / "themes", encoder.name)
    texts = [m.text for m in negative]
    table = themed(store, [b.id for b in brands])
    before = {pid: v[0] for rows in table.values() for pid, v in rows.items()}
    full_mark = saved.get("full_mark") if saved else None

    def is_old(m) -> bool:  # themed by the last full pass (later ones are new to `update`)
        return m.post_id in before and (full_mark is None or m.scored_at is None
                                        or m.scored_at <= full_mark)
    fresh: set[int] = set()
    if saved and saved["model"].sums is not None and all(is_old(m) for m in negative):
        model = saved["model"]  # nothing new: yesterday's themes stand as they are
        labels = np.array([before[m.post_id] for m in negative])
    elif saved:
        order = [i for i, m in enumerate(negative) if is_old(m)] + \
            [i for i, m in enumerate(negative) if not is_old(m)]
        texts = [texts[i] for i in order]
        negative = [negative[i] for i in order]
        cleaned = [theme_model.clean(t, skip) for t in texts]
        vectors = cache.encode(encoder, cleaned)
        model, labels = theme_model.update(saved["model"], texts, vectors,
                                           sum(is_old(m) for m in negative), cleaned=cleaned)
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
    for brand in brands:
        now = {m.post_id: (assigned[m.post_id], names[assigned[m.post_id]].name)
               for m in negatives[brand.id]}
        _write(store, brand.id, now, table[brand.id], drop_gone=since is None)
    every = [m for b in brands for m in mentions[b.id]]
    mark = max((m.scored_at for m in every if m.scored_at is not None), default=None)
    _save_state(store, path=_unit_path(home, key), key=key, encoder=encoder.name, model=model,
                brands=brands, full_mark=mark, mark=mark, far=0, fresh=0,
                recent=_recent(every, mark, {}), version=version, watermark=since is None)
    for brand, out in zip(brands, outs, strict=True):
        _rank_into(out, mentions[brand.id], negatives[brand.id], assigned, names, fresh)
        out.embedded = cache.computed
    return outs


def _incremental(store: Store, home: Path, key: str, brands: list, saved: dict, mark: dict,
                 encoder, version: str) -> list[BrandThemes] | None:
    """Assign the mentions scored since the watermark; None when the add rule asks for a full
    pass (the caller runs it; the vectors embedded here are cached by then)."""
    from nlp import theme_model

    after = datetime.fromisoformat(mark["scored_at"]) if mark.get("scored_at") else None
    recent: dict[int, datetime] = saved["recent"]
    got_rows = scored_since(store, [b.id for b in brands], after - OVERLAP if after else None)
    rows = [(b, m) for b, m in got_rows if recent.get(m.post_id) != m.scored_at]
    outs, keep, drop = [], {b.id: [] for b in brands}, {b.id: [] for b in brands}
    langs = {m.post_id: _language(m) for _, m in rows}
    for brand in brands:
        mine = [m for b, m in rows if b == brand.id]
        for m in mine:
            ok = m.label == "negative" and scorable(langs[m.post_id])
            (keep if ok else drop)[brand.id].append(m)
        report = breakdown([langs[m.post_id] for m in mine], ENGLISH_ONLY)
        outs.append(BrandThemes(brand.name, len(mine), len(keep[brand.id]), report["languages"],
                                report["not_scored"], read=len(got_rows), new=len(rows),
                                incremental=True))
    if not rows:
        return outs
    union = {m.post_id: m for b in brands for m in keep[b.id]}
    negative = sorted(union.values(), key=lambda m: (m.created_at, m.post_id))
    model = saved["model"]
    cache = VectorCache(home / "themes", encoder.name)
    texts = [m.text for m in negative]
    cleaned = [theme_model.clean(t, model.skip) for t in texts]
    vectors = cache.encode(encoder, cleaned)
    step, got = theme_model.assign_new(model, texts, vectors, cleaned=cleaned)
    far, fresh = saved["far"] + got.far, saved["fresh"] + got.fresh
    if theme_model.adds_themes(far, fresh):
        return None  # the data asks for a new theme: a full pass adds it
    assigned = {m.post_id: int(t) for t, m in zip(got.labels, negative, strict=True)}
    names = step.by_id()
    for brand in brands:
        if drop[brand.id]:  # rescored as not negative (or new and not negative)
            drop_post_themes(store, brand.id, [m.post_id for m in drop[brand.id]])
        if keep[brand.id]:
            save_post_themes(store, brand.id, {
                m.post_id: (assigned[m.post_id], names[assigned[m.post_id]].name)
                for m in keep[brand.id]}, replace_all=False)
    newest = max((m.scored_at for _, m in rows if m.scored_at is not None), default=after)
    newest = max(newest, after) if after and newest else newest
    _save_state(store, path=_unit_path(home, key), key=key, encoder=encoder.name, model=step,
                brands=brands, full_mark=saved["full_mark"], mark=newest, far=far, fresh=fresh,
                recent=_recent([m for _, m in rows], newest, recent), version=version)
    for out in outs:
        out.embedded = cache.computed
    return outs


def _recent(mentions: list, mark: datetime | None, before: dict) -> dict[int, datetime]:
    """Posts read whose score lies inside the overlap window behind `mark`."""
    if mark is None:
        return {}
    edge = mark - OVERLAP
    out = {pid: at for pid, at in before.items() if at > edge}
    out.update((m.post_id, m.scored_at) for m in mentions
               if m.scored_at is not None and m.scored_at > edge)
    return out


def _save_state(store: Store, *, path: Path, key: str, encoder: str, model, brands: list,
                full_mark, mark, far: int, fresh: int, recent: dict, version: str,
                watermark: bool = True) -> None:
    """The model to the unit's file, then the watermark to the store's meta, both with a new
    token: a crash between them leaves tokens that differ, and the next pass is a full one."""
    token = uuid.uuid4().hex
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps({
        "version": STATE_VERSION, "encoder": encoder, "model": model, "token": token,
        "brands": _signature(brands), "full_mark": full_mark, "far": far, "fresh": fresh,
        "recent": recent}))
    tmp.replace(path)
    store.set_meta({META_PREFIX + key: json.dumps({
        # A window's pass (`--since`) saw part of the store: no watermark, the next is full.
        "token": token if watermark else "", "model_version": version,
        "scored_at": mark.isoformat() if mark is not None else None})})


def _write(store: Store, brand_id: int, now: dict[int, tuple[int, str]],
           table: dict[int, tuple[int, str]], drop_gone: bool = True) -> None:
    """Bring the brand's `post_themes` rows to `now`: only the rows that differ are written
    (all of them into an empty table), and rows of posts no longer among them deleted."""
    changed = {pid: v for pid, v in now.items() if table.get(pid) != v}
    gone = [pid for pid in table if pid not in now] if drop_gone else []
    if not changed and not gone:
        return
    save_post_themes(store, brand_id, changed, replace_all=not table, removed=gone)


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
    the themes found. Incremental: each group reads only the mentions scored since its last
    pass (a full pass on the first run, or when the new posts ask for a new theme)."""
    started = time.monotonic()
    echo("Finding complaint themes (each negative post is embedded once, ever; later runs read "
         "the cache)...")
    results, embedded, read, partial = [], 0, 0, 0
    groups = units(store.brands())
    for key, members in groups.items():
        part = unit_themes(store, settings.home, key, members, incremental=True)
        results += part
        embedded += part[0].embedded  # the unit's count, the same on each of its brands
        read += part[0].read if part[0].incremental else sum(r.read for r in part)
        partial += part[0].incremental
    found = [r for r in results if r.themes or r.incremental]
    if not found:
        return
    skipped = sum(r.not_scored_language for r in results)
    echo(f"Themes: complaint themes for {len(found):,} brands ({embedded:,} posts embedded, "
         f"the rest from the cache; {skipped:,} posts not scored (language); {read:,} mentions "
         f"read, {partial:,} of {len(groups):,} groups incremental) "
         f"in {time.monotonic() - started:.0f} s")


__all__ = ["NOT_SCORED", "BrandThemes", "brand_themes", "stage", "themes_for", "units"]
