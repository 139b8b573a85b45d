"""`undertow themes`: complaint themes per brand, found in its negative mentions and kept stable.

Each brand's fitted model is saved under UNDERTOW_HOME/themes/, so the next run assigns new
posts to the themes it already has (same ids, same names) and adds a theme only when the new
posts say so (`nlp.theme_model.update`). Posts in a language the encoder was not trained on are
counted as "not scored (language)" and left out of the themes.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from listener.store import Store
from listener.store.theme_reads import brand_mentions, save_post_themes
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


def _model_path(home: Path, brand_id: int) -> Path:
    return home / "themes" / f"brand-{brand_id}.pkl"


def _brand_words(brand) -> list[str]:
    """The brand's own names (its name and the words of its query): stripped before embedding,
    or every theme would be "about" the brand."""
    words = re.findall(r"[A-Za-z][\w']+", f"{brand.name} {brand.query or ''}")
    return sorted({w.lower() for w in words if w.upper() not in ("OR", "AND", "NOT")})


def brand_themes(store: Store, home: Path, brand, since: datetime | None = None,
                 encoder_name: str | None = None) -> BrandThemes:
    """Fit (first run) or update (later runs) one brand's themes and rank them."""
    from nlp import theme_model
    from nlp.embed import DEFAULT_ENCODER, load_encoder
    from nlp.theme_rank import rank

    mentions = brand_mentions(store, brand.id, since)
    langs = [detect(m.text, m.lang) for m in mentions]
    lang_report = breakdown(langs, ENGLISH_ONLY)
    negative = [m for m, lang in zip(mentions, langs, strict=True)
                if m.label == "negative" and scorable(lang)]
    out = BrandThemes(brand.name, len(mentions), len(negative), lang_report["languages"],
                      lang_report["not_scored"])
    if len(negative) < MIN_POSTS:
        return out
    encoder = load_encoder(encoder_name or DEFAULT_ENCODER)
    skip = _brand_words(brand)
    path = _model_path(home, brand.id)
    texts = [m.text for m in negative]
    saved = pickle.loads(path.read_bytes()) if path.exists() else None
    if saved and saved["encoder"] == encoder.name:
        known = saved["posts"]
        old = [i for i, m in enumerate(negative) if m.post_id in known]
        new = [i for i, m in enumerate(negative) if m.post_id not in known]
        order = old + new
        texts = [texts[i] for i in order]
        negative = [negative[i] for i in order]
        vectors = encoder.encode([theme_model.clean(t, saved["model"].skip) for t in texts])
        model, labels = theme_model.update(saved["model"], texts, vectors, len(old))
        fresh = {t.id for t in model.themes} - {t.id for t in saved["model"].themes}
    else:
        vectors = encoder.encode([theme_model.clean(t, skip) for t in texts])
        model = theme_model.fit(texts, vectors, skip)
        labels = theme_model.labels_of(model, texts, vectors)
        fresh = set()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({"encoder": encoder.name, "model": model,
                                   "posts": {m.post_id for m in negative}}))
    per_day: dict = {}
    for m in mentions:
        per_day[m.created_at.date()] = per_day.get(m.created_at.date(), 0) + 1
    today = max(m.created_at for m in negative).date()
    rows = [(int(t), m.created_at.date(), m.author_id, m.followers)
            for t, m in zip(labels, negative, strict=True)]
    names = model.by_id()
    save_post_themes(store, brand.id, {m.post_id: (int(t), names[int(t)].name)
                                       for t, m in zip(labels, negative, strict=True)})
    for stats in rank(rows, per_day, today, fresh):
        theme = names[stats.theme]
        out.themes.append({**asdict(stats), "name": theme.name, "terms": theme.terms,
                           "examples": theme.examples[:2]})
    return out


__all__ = ["NOT_SCORED", "BrandThemes", "brand_themes"]
