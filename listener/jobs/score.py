"""`undertow score`: sentiment for every post that has none for the current model version.

Incremental and resumable: posts are claimed, scored and committed in batches, so a kill loses at
most one batch and a rerun skips what is done. Identical texts (a retweet carries its original's
text) are scored once per model version through `sentiment_cache`. On PostgreSQL several scorers
share the work: each claims its batch with `FOR UPDATE SKIP LOCKED` and, holding those row locks,
re-checks which posts another scorer finished meanwhile, so no post is scored twice.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, and_, exists, func, select
from tqdm import tqdm

from listener.errors import ConfigError
from listener.post import RETWEET_PREFIX, utcnow
from listener.store import Store, schema
from listener.store.db import insert_ignore
from listener.store.writer import text_hash


def scoring_text(text: str) -> str:
    """What the model sees: a repost is judged by the words it repeats, not the 'RT @x:' wrapper."""
    return RETWEET_PREFIX.sub("", text, count=1)


@dataclass
class ScoreReport:
    model_version: str
    scored: int = 0
    from_cache: int = 0
    model_calls: int = 0
    seconds: float = 0.0

    @property
    def posts_per_s(self) -> float:
        return self.scored / self.seconds if self.seconds else 0.0


def _unscored(version: str):
    p, s = schema.posts, schema.sentiment_scores
    done = exists().where(and_(s.c.post_id == p.c.id, s.c.model_version == version))
    return p, ~done


def count_unscored(store: Store, version: str) -> int:
    p, cond = _unscored(version)
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(p).where(cond)).scalar() or 0)


def _claim(conn: Connection, version: str, size: int) -> list[tuple[int, str]]:
    p, cond = _unscored(version)
    stmt = select(p.c.id, p.c.text).where(cond).order_by(p.c.id).limit(size)
    if conn.dialect.name != "postgresql":
        return [tuple(r) for r in conn.execute(stmt)]
    rows = [tuple(r) for r in conn.execute(stmt.with_for_update(of=p, skip_locked=True))]
    if not rows:
        return rows
    # A fresh statement sees scores committed after our first one started.
    s = schema.sentiment_scores
    finished = set(conn.execute(select(s.c.post_id).where(
        s.c.model_version == version, s.c.post_id.in_([r[0] for r in rows]))).scalars())
    return [r for r in rows if r[0] not in finished]


def _score_batch(conn: Connection, scorer, rows: list[tuple[int, str]], report: ScoreReport) -> None:
    version = scorer.model_version
    texts = {pid: scoring_text(text) for pid, text in rows}
    hashes = {pid: text_hash(t) for pid, t in texts.items()}
    c = schema.sentiment_cache
    cached = {
        r.text_hash: (r.label, r.negative, r.neutral, r.positive)
        for r in conn.execute(select(c).where(c.c.model_version == version,
                                              c.c.text_hash.in_(set(hashes.values()))))
    }
    missing = {}
    for pid, h in hashes.items():
        if h not in cached:
            missing.setdefault(h, texts[pid])
    if missing:
        scores = scorer.score(list(missing.values()))
        report.model_calls += len(scores)
        fresh = {h: (s.label, s.negative, s.neutral, s.positive)
                 for h, s in zip(missing, scores, strict=True)}
        insert_ignore(conn, c, [
            {"model_version": version, "text_hash": h, "label": v[0], "negative": v[1],
             "neutral": v[2], "positive": v[3]} for h, v in fresh.items()])
        cached.update(fresh)
    now = utcnow()
    insert_ignore(conn, schema.sentiment_scores, [
        {"post_id": pid, "model_version": version, "label": cached[h][0], "negative": cached[h][1],
         "neutral": cached[h][2], "positive": cached[h][3], "scored_at": now}
        for pid, h in hashes.items()])
    report.scored += len(rows)
    report.from_cache += len(rows) - len(missing)


def score_posts(store: Store, scorer, *, batch_size: int = 256, limit: int | None = None,
                progress: bool = False, crash_after: int | None = None) -> ScoreReport:
    """Score unscored posts until none is left (or `limit` posts are done).

    `crash_after` exists for the kill test: raise after that many batches have committed.
    """
    report = ScoreReport(scorer.model_version)
    total = count_unscored(store, report.model_version)
    if limit is not None:
        total = min(total, limit)
    bar = tqdm(total=total, unit="post", desc=f"Scoring {total:,} posts", disable=not progress,
               smoothing=0.1)
    started = time.monotonic()
    batches = 0
    while limit is None or report.scored < limit:
        size = batch_size if limit is None else min(batch_size, limit - report.scored)
        with store.engine.begin() as conn:
            rows = _claim(conn, report.model_version, size)
            if not rows:
                break
            before = report.scored
            _score_batch(conn, scorer, rows, report)
        bar.update(report.scored - before)
        batches += 1
        if crash_after is not None and batches >= crash_after:
            raise RuntimeError(f"simulated crash after {batches} batches")
    bar.close()
    report.seconds = time.monotonic() - started
    return report


def default_scorer(settings, threads: int | None = None):
    from nlp.scorer import SentimentScorer

    try:
        return SentimentScorer(settings.sentiment_model or None, threads=threads,
                               int8=settings.sentiment_int8)
    except (OSError, ValueError) as exc:  # no such folder or id, offline, not a classifier
        ref = settings.sentiment_model
        looks_local = ref.startswith(("/", ".", "~")) or "\\" in ref
        reason = ("no such folder" if looks_local and not Path(ref).expanduser().exists() else
                  (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300].rstrip("."))
        raise ConfigError(
            f"cannot load the sentiment model {settings.sentiment_model!r}: {reason}. Set "
            "UNDERTOW_SENTIMENT_MODEL (or --model) to a local model folder or a Hugging Face "
            "id (downloading one needs network access), or leave it empty for the bundled model."
        ) from None


def stage(store: Store, settings, echo: Callable[[str], None]) -> None:
    """Pipeline stage for `undertow demo`."""
    scorer = default_scorer(settings)
    todo = count_unscored(store, scorer.model_version)
    echo(f"Scoring sentiment of {todo:,} posts with {scorer.model_version} "
         "(identical texts are scored once)...")
    report = score_posts(store, scorer, progress=sys.stderr.isatty())
    echo(f"Scored {report.scored:,} posts in {report.seconds:.0f} s "
         f"({report.model_calls:,} model calls, {report.from_cache:,} from the cache).")
