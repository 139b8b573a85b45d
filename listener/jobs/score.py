"""`undertow score`: sentiment for every post that has none for the chosen model version.

Incremental and resumable: posts are claimed, scored and committed in batches
(`listener.store.scores`), so a kill loses at most one batch and a rerun skips what is done;
identical texts are scored once per model version, and several scorers can share the work.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from listener.errors import ConfigError
from listener.logs import db_unavailable
from listener.post import RETWEET_PREFIX
from listener.store import Store
from listener.store.db import unavailable
from listener.store.scores import (
    MIN_ID,
    ClaimCursor,
    count_unscored,
    record_model_version,
    score_batch,
)


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
    not_scored_language: int = 0  # posts in a language the model did not learn (not scored)

    @property
    def posts_per_s(self) -> float:
        return self.scored / self.seconds if self.seconds else 0.0


def score_posts(store: Store, scorer, *, batch_size: int = 256, limit: int | None = None,
                progress: bool = False, crash_after: int | None = None,
                languages: frozenset[str] | None | str = "auto",
                stop: threading.Event | None = None, wait_for_others: bool = True,
                max_seconds: float | None = None, cursor: ClaimCursor | None = None,
                on_batch: Callable[[], None] | None = None) -> ScoreReport:
    """Score unscored posts, oldest first, until none is left (or `limit` posts are done, or
    `stop` is set, or the batch that passes `max_seconds` is committed: the batch in hand is
    committed first).

    A post in a language outside `languages` ("auto": what the model learnt, see
    `nlp.language.trained_languages`; None: any) is stored with the label "language", not
    scored as if it were English: counted, never negative or positive.
    `crash_after` exists for the kill test: raise after that many batches have committed.
    `cursor` says where the first claim starts (default: the oldest post; the scan wraps round
    to the start once at the end either way).
    """
    from nlp.language import trained_languages

    report = ScoreReport(scorer.model_version)
    if languages == "auto":
        languages = trained_languages(scorer.model_version)
    record_model_version(store, report.model_version)
    total = count_unscored(store, report.model_version)
    if limit is not None:
        total = min(total, limit)
    bar = tqdm(total=total, unit="post", desc=f"Scoring {total:,} posts", disable=not progress,
               smoothing=0.1)
    started = time.monotonic()
    batches = 0
    cursor = cursor or ClaimCursor()
    while (limit is None or report.scored < limit) and not (stop and stop.is_set()):
        size = batch_size if limit is None else min(batch_size, limit - report.scored)
        skipped = report.not_scored_language
        done = score_batch(store, report.model_version, size, _model(scorer), scoring_text,
                           cursor, gate=_gate(languages, report),
                           wait_for_others=wait_for_others)
        if done is None:
            break
        report.scored += done.scored
        report.model_calls += done.model_calls
        report.from_cache += done.scored - done.model_calls - (report.not_scored_language - skipped)
        bar.update(done.scored)
        if on_batch is not None:
            on_batch()
        if not done.scored:
            continue
        batches += 1
        if crash_after is not None and batches >= crash_after:
            raise RuntimeError(f"simulated crash after {batches} batches")
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            break
    bar.close()
    report.seconds = time.monotonic() - started
    return report


@dataclass
class FollowReport:
    passes: int = 0  # passes that scored something (one line each)
    scored: int = 0
    database_errors: int = 0  # passes cut short by the database going away (retried)


def follow(store: Store, scorer, *, idle_s: float, stop: threading.Event,
           echo: Callable[[str], None], batch_size: int = 256,
           languages: frozenset[str] | None | str = "auto",
           beat: Callable[[], None] | None = None) -> FollowReport:
    """Score new posts as they arrive until `stop` is set (`undertow score --follow`).

    Each pass scores what was unscored when it began (as the `listen` stage does) and says so in
    one line; a pass that scored something is followed at once by the next, and when nothing is
    waiting the scorer looks again every `idle_s` seconds, silently. Several followers on one
    PostgreSQL database split the work: posts another holds end a pass instead of being waited
    for. On `stop` the batch in hand is scored and committed, nothing is left claimed. A
    database that goes away (a restart) costs the pass in hand, not the process: the batch's
    transaction rolls back, its posts stay unscored, and the next pass retries.
    `beat` is called on every look and after every batch (the health endpoint's heartbeat).
    """
    out = FollowReport()
    version = scorer.model_version
    while not stop.is_set():
        if beat is not None:
            beat()
        try:
            todo = count_unscored(store, version)
            if todo:
                started = time.monotonic()
                report = score_posts(store, scorer, batch_size=batch_size, limit=todo,
                                     languages=languages, stop=stop, wait_for_others=False,
                                     on_batch=beat)
                out.scored += report.scored
                if report.scored:
                    out.passes += 1
                    echo(f"Pass {out.passes}: scored {report.scored:,} of {todo:,} waiting "
                         f"posts in {time.monotonic() - started:.1f} s "
                         f"({report.model_calls:,} model calls, "
                         f"{report.from_cache:,} from the cache)")
                    continue
        except Exception as exc:
            if not unavailable(exc):
                raise
            out.database_errors += 1
            db_unavailable("Scoring", exc, f"retrying in {idle_s:g} s", retry_in_s=idle_s,
                           echo=echo)
        stop.wait(idle_s)
    return out


def _model(scorer):
    """The store's scoring function: the texts the language gate let through, to the model."""
    def scores(texts):
        return [(s.label, s.negative, s.neutral, s.positive) for s in scorer.score(texts)]
    return scores


def _gate(languages: frozenset[str] | None = None, report: ScoreReport | None = None):
    """Each post's recorded language (`nlp.language.record`: the platform's tag where it names
    a language, else the detector on the text) and whether the model may score it; a post it
    may not score is stored with the "language" label, without a model call, and counted."""
    from nlp.language import record, scorable

    def gate(text: str, tag: str | None) -> tuple[str, str, bool]:
        language, source = record(text, tag)
        ok = languages is None or scorable(language, languages)
        if not ok and report is not None:
            report.not_scored_language += 1
        return language, source, ok
    return gate


def load_scorer(model: str | None, *, threads: int | None = None, int8: bool = False,
                batch_size: int = 64):
    """A SentimentScorer, or a ConfigError that says what to set when the model cannot load."""
    from nlp.scorer import SentimentScorer

    try:
        return SentimentScorer(model or None, batch_size=batch_size, threads=threads, int8=int8)
    except (OSError, ValueError) as exc:  # no such folder or id, offline, not a classifier
        ref = model or ""
        looks_local = ref.startswith(("/", ".", "~")) or "\\" in ref
        reason = ("no such folder" if looks_local and not Path(ref).expanduser().exists() else
                  (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300].rstrip("."))
        raise ConfigError(
            f"cannot load the sentiment model {model!r}: {reason}. Set "
            "UNDERTOW_SENTIMENT_MODEL (or --model) to a local model folder or a Hugging Face "
            "id (downloading one needs network access), or leave it empty for the bundled model."
        ) from None


def default_scorer(settings, threads: int | None = None):
    """The configured model (UNDERTOW_SENTIMENT_MODEL, UNDERTOW_SENTIMENT_INT8)."""
    return load_scorer(settings.sentiment_model, threads=threads, int8=settings.sentiment_int8)


def stage(store: Store, settings, echo: Callable[[str], None], *,
          max_seconds: float | None = None, todo: int | None = None,
          start_at: datetime | None = None, cursor: ClaimCursor | None = None) -> int:
    """Pipeline stage for `undertow demo` and `undertow listen`; the posts of its share still
    unscored (0 unless `max_seconds` cut it short).

    It scores as many posts as were unscored when it began (`todo`, when a run goes on with a
    share it began before): under `listen` posts keep arriving while it runs, and a stage that
    chased them would not end until the stream paused, holding back detection and alert emails
    the whole time (the next run takes up the rest). `max_seconds` ends it early, after the
    batch that passes it, so `listen` can detect on what is scored so far (`LIVE_SLICE_S`);
    `start_at` starts its scan at that post time (where detection reads on), not at the
    oldest post: the posts before it are scored when the scan wraps round.
    """
    scorer = default_scorer(settings)
    if todo is None:
        todo = count_unscored(store, scorer.model_version)
        echo(f"Scoring sentiment of {todo:,} posts with {scorer.model_version} "
             "(identical texts are scored once)...")
    from nlp.language import trained_languages

    report = score_posts(store, scorer, limit=todo, progress=sys.stderr.isatty(),
                         languages=trained_languages(scorer.model_version,
                                                     settings.sentiment_languages),
                         max_seconds=max_seconds,
                         cursor=cursor if cursor is not None else
                         None if start_at is None else ClaimCursor((start_at, MIN_ID)))
    left = todo - report.scored if report.scored else 0  # none found: another scorer took them
    echo(f"Scored {report.scored:,} posts in {report.seconds:.0f} s "
         f"({report.model_calls:,} model calls, {report.from_cache:,} from the cache"
         + (f"; {report.not_scored_language:,} posts not scored (language)"
            if report.not_scored_language else "") + ")"
         + (f"; {left:,} to go after detection." if left > 0 else "."))
    return max(left, 0)
