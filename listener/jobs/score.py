"""`undertow score`: sentiment for every post that has none for the chosen model version.

Incremental and resumable: posts are claimed, scored and committed in batches
(`listener.store.scores`), so a kill loses at most one batch and a rerun skips what is done;
identical texts are scored once per model version, and several scorers can share the work.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from listener.errors import ConfigError
from listener.post import RETWEET_PREFIX
from listener.store import Store
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
    not_scored_language: int = 0  # texts in a language the model did not learn (not scored)

    @property
    def posts_per_s(self) -> float:
        return self.scored / self.seconds if self.seconds else 0.0


def score_posts(store: Store, scorer, *, batch_size: int = 256, limit: int | None = None,
                progress: bool = False, crash_after: int | None = None,
                languages: frozenset[str] | None | str = "auto",
                max_seconds: float | None = None, cursor: ClaimCursor | None = None
                ) -> ScoreReport:
    """Score unscored posts, oldest first, until none is left (or `limit` posts are done, or
    the batch that passes `max_seconds` is committed).

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
    while limit is None or report.scored < limit:
        size = batch_size if limit is None else min(batch_size, limit - report.scored)
        done = score_batch(store, report.model_version, size,
                           _model(scorer, languages, report), scoring_text, cursor)
        if done is None:
            break
        report.scored += done.scored
        report.model_calls += done.model_calls
        report.from_cache += done.scored - done.model_calls
        bar.update(done.scored)
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


def _model(scorer, languages: frozenset[str] | None = None, report: ScoreReport | None = None):
    """The store's scoring function: texts the model can read go to it, the others get the
    "language" label (and probabilities of zero) without a model call."""
    from nlp.language import LANGUAGE_LABEL, detect, scorable

    def scores(texts):
        keep = [i for i, t in enumerate(texts)
                if languages is None or scorable(detect(t), languages)]
        got = iter(scorer.score([texts[i] for i in keep]) if keep else [])
        keep_set = set(keep)
        out = []
        for i in range(len(texts)):
            if i in keep_set:
                s = next(got)
                out.append((s.label, s.negative, s.neutral, s.positive))
            else:
                out.append((LANGUAGE_LABEL, 0.0, 0.0, 0.0))
        if report is not None:
            report.not_scored_language += len(texts) - len(keep)
        return out
    return scores


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
          start_at: datetime | None = None) -> int:
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
                         cursor=None if start_at is None else ClaimCursor((start_at, MIN_ID)))
    left = todo - report.scored if report.scored else 0  # none found: another scorer took them
    echo(f"Scored {report.scored:,} posts in {report.seconds:.0f} s "
         f"({report.model_calls:,} model calls, {report.from_cache:,} from the cache"
         + (f"; {report.not_scored_language:,} texts not scored (language)"
            if report.not_scored_language else "") + ")"
         + (f"; {left:,} to go after detection." if left > 0 else "."))
    return max(left, 0)
