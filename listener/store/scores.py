"""Sentiment scores in the store: which model is current, what is unscored, claiming and saving.

One definition of "the current model version" serves every reader (detection, ranking,
retention, the dashboard): the model the latest `undertow score` run used, which that run
records in `meta` before it scores anything. Stores scored before that record existed fall back
to the most recently scored version. After a model switch every reader therefore moves to the
new model at once, and detection waits for the mentions it has not scored yet.

Identical texts (a retweet carries its original's text) are scored once per model version
through `sentiment_cache`. On PostgreSQL several scorers share the work: each claims its batch
with per-post advisory locks (`pg_try_advisory_xact_lock`, skipping posts another scorer holds)
and, holding them, re-checks which posts another scorer finished meanwhile, so no post is
scored twice; a scorer that dies (even by `kill -9`) loses its connection and the server hands
its claims back. Advisory locks, not row locks: a collector re-storing a claimed post (search
refetching what the stream stored, a retweet's included original) never waits for the model
to finish (with `FOR UPDATE` claims it waited seconds per page). What the row lock used to
guard is checked when the scores are written, with `FOR SHARE SKIP LOCKED` held only until the
commit: a post edited, erased or being rewritten while it was scored gets no score (its old
text's score would be stale, an erased post's an orphan); it stays unscored and a later pass
scores what is stored then. Each scorer reads on from its last claim (`ClaimCursor`) so a claim
costs the same at any backlog. On SQLite two scorers may score the same batch (no locks
there); the second insert is ignored, so the stored scores are the same, only work is repeated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import BigInteger

from listener.post import utcnow
from listener.store import Store, rollup, schema
from listener.store.locks import tag_lock
from listener.store.sql import distinct, insert_ignore
from listener.store.writer import text_hash

__all__ = ["MIN_ID", "BatchResult", "ClaimCursor", "Scores", "count_unscored", "current_model_version",
           "record_model_version", "score_batch"]

MODEL_KEY = "sentiment_model_version"
MIN_ID = -(2**63)  # below every post id: ClaimCursor((at, MIN_ID)) starts at time `at`
WINDOW = 512  # post ids a claim looks at (at least twice the batch): a bounded amount of work
LOCKED_WAIT_S = 0.2  # a scorer that finds only posts others are scoring looks again this soon
# Advisory locks live in the server's shared lock table (max_locks_per_transaction x
# connections, 6,400 entries by default): a PostgreSQL claim takes at most this many.
MAX_CLAIM = 1024

# One advisory lock per post, in the two-int4 key space (which the single-bigint keys of
# `listener.store.locks` never share): the 63-bit id's high and low halves, the low half
# shifted into int4's range. Posts another scorer holds are skipped, never waited for.
_TRY_CLAIM = text(
    "SELECT id FROM unnest(:ids) AS t(id) WHERE pg_try_advisory_xact_lock("
    "CAST(id >> 32 AS integer), CAST((id & 4294967295) - 2147483648 AS integer))"
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))

# (label, negative, neutral, positive): what a model returns for one text
Scores = tuple[str, float, float, float]
# (post text, platform tag) -> (language, its source, whether the model may score it)
Gate = Callable[[str, str | None], tuple[str, str, bool]]
LANGUAGE_LABEL = "language"  # the label of a post not scored (language): nlp.language's


def current_model_version(conn: Connection) -> str | None:
    """The model version whose scores the store's readers use (see the module docstring)."""
    m = schema.meta
    chosen = conn.execute(select(m.c.value).where(m.c.key == MODEL_KEY)).scalar()
    if chosen:
        return chosen
    versions = distinct(conn, "sentiment_scores", "model_version")
    if len(versions) <= 1:
        return versions[0] if versions else None
    s = schema.sentiment_scores
    return conn.execute(select(s.c.model_version).group_by(s.c.model_version)
                        .order_by(func.max(s.c.scored_at).desc()).limit(1)).scalar()


def record_model_version(store: Store, version: str) -> None:
    """Make `version` the current one: a scoring run says so before it scores anything."""
    if store.get_meta(MODEL_KEY) != version:
        store.set_meta({MODEL_KEY: version})


def _unscored(version: str):
    p, s = schema.posts, schema.sentiment_scores
    done = exists().where(and_(s.c.post_id == p.c.id, s.c.model_version == version))
    return p, ~done


def count_unscored(store: Store, version: str) -> int:
    p, cond = _unscored(version)
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(p).where(cond)).scalar() or 0)


@dataclass
class ClaimCursor:
    """Where a scorer's next claim starts: after the last post it claimed, in (created_at, id)
    order, so the oldest unscored posts are scored first.

    Oldest first because detection reads mentions in time order and stops at the first one
    without a score: scored in id order (ids are hashes) a run left unscored posts spread over
    the whole backlog, and detection waited at the oldest of them until the backlog was empty
    (at 100 posts/s, over a minute). Reading from the start each time walked past every post
    already scored, so a claim cost grew with the work done (3 ms at the start, 59 ms at 200k);
    starting after the previous claim costs the same at any backlog. A post stored during the
    run with an older time (a search page, a Reddit poll) can land behind the cursor: at the end
    the scan wraps around once, and a scorer stops only when a pass from the start finds nothing
    unscored.
    """

    after: tuple[Any, int] | None = None  # (created_at, id) of the last post claimed
    found: bool = False  # this pass claimed something
    from_start: bool = True  # this pass began at the oldest post (not at a given `after`)

    def __post_init__(self) -> None:
        self.from_start = self.after is None


def _claim(conn: Connection, version: str, size: int, after: tuple[Any, int] | None
           ) -> tuple[list[tuple[int, str, str | None]], tuple[Any, int] | None]:
    """(claimable unscored posts after `after`, oldest first, with their text and platform
    language tag; the last (created_at, id) the claim covered).

    A claim looks at a window of at most `WINDOW` posts after the cursor (the created_at index)
    and reads which of them have scores by primary key, then locks the first `size` unscored
    ones: every step is bounded by the window whatever plan the database picks (PostgreSQL chose
    a hash anti-join over every score for the open-ended NOT EXISTS query).
    """
    p, s = schema.posts, schema.sentiment_scores
    window = (select(p.c.id, p.c.created_at).order_by(p.c.created_at, p.c.id)
              .limit(max(WINDOW, 2 * size)))
    if after is not None:
        at, pid = after
        window = window.where(or_(p.c.created_at > at,
                                  and_(p.c.created_at == at, p.c.id > pid)))
    posts = [(r[0], r[1]) for r in conn.execute(window)]
    if not posts:
        return [], None
    ids = [pid for pid, _ in posts]
    # By post id only: with the model version in the WHERE the planners scanned the
    # (model_version, label) index, every score of that model.
    scored = {pid for pid, v in conn.execute(select(s.c.post_id, s.c.model_version).where(
        s.c.post_id.in_(ids))) if v == version}
    todo = [(pid, at) for pid, at in posts if pid not in scored][:size]
    last_pid, last_at = todo[-1] if len(todo) == size else posts[-1]
    last = (last_at, last_pid)
    if not todo:
        return [], last
    order = {pid: i for i, (pid, _) in enumerate(todo)}
    stmt = select(p.c.id, p.c.text, p.c.lang)

    def oldest_first(ids: list[int]) -> list[tuple[int, str, str | None]]:
        return sorted((tuple(r) for r in conn.execute(stmt.where(p.c.id.in_(ids)))),
                      key=lambda r: order[r[0]])

    if conn.dialect.name != "postgresql":
        return oldest_first(list(order)), last
    claimed = list(conn.execute(_TRY_CLAIM, {"ids": list(order)}).scalars())
    if not claimed:
        return [], last
    # A fresh statement sees scores committed after our first one started: another scorer may
    # have finished a post between our window read and our lock.
    finished = set(conn.execute(select(s.c.post_id).where(
        s.c.model_version == version, s.c.post_id.in_(claimed))).scalars())
    mine = [i for i in claimed if i not in finished]
    if not mine:
        return [], last
    return oldest_first(mine), last


def _still_stored(conn: Connection, rows: Sequence[tuple[int, str]]) -> set[int]:
    """The claimed posts still stored with the text that was scored, locked until the commit.

    Claims hold no row locks, so while the model ran a collector may have rewritten a post's
    text (its write deletes the post's scores: ours would describe the old words) or an
    erasure may have deleted it. `FOR SHARE` makes such a writer that comes after us wait for
    our commit (then it deletes our score itself); `SKIP LOCKED` leaves out a post a writer is
    changing right now instead of waiting for it. A post left out stays unscored for a later
    pass. SQLite has one writer at a time: the read happens inside our write transaction.
    """
    p = schema.posts
    stmt = select(p.c.id, p.c.text).where(p.c.id.in_([r[0] for r in rows]))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(read=True, skip_locked=True)
    now = {pid: t for pid, t in conn.execute(stmt)}
    return {pid for pid, t in rows if now.get(pid) == t}


def _any_unscored(conn: Connection, version: str) -> bool:
    """Whether any post lacks a score, locked by another scorer or not (read at the end only)."""
    p, cond = _unscored(version)
    return conn.execute(select(p.c.id).where(cond).limit(1)).first() is not None


@dataclass(frozen=True)
class BatchResult:
    scored: int  # posts that got a score
    model_calls: int  # distinct texts the model had to read (the rest came from the cache)


def score_batch(store: Store, version: str, size: int,
                model: Callable[[Sequence[str]], Sequence[Scores]],
                prepare: Callable[[str], str] = lambda t: t,
                cursor: ClaimCursor | None = None, gate: Gate | None = None,
                wait_for_others: bool = True) -> BatchResult | None:
    """Claim up to `size` unscored posts, score them and commit, in one transaction.

    `prepare` turns a post's text into what the model reads; texts already in the cache (by
    hash of the prepared text) are not sent to `model`. None only when no post is left without
    a score: a claim whose posts another scorer finished meanwhile is an empty batch, not the
    end, and posts another scorer holds are waited for (its crash hands them back to us);
    with `wait_for_others=False` (a follower, which looks again soon anyway) they end the pass.

    `gate` (the prepared text and the platform's tag -> language, source, scorable): each
    post's language is recorded on its score row, and a post the model may not score gets the
    "language" label (probabilities zero) without the cache or the model: the decision is the
    post's (its platform's tag), not its text's, so it is never cached by text.
    """
    cursor = cursor or ClaimCursor()
    c = schema.sentiment_cache
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            size = min(size, MAX_CLAIM)
        rows, last = _claim(conn, version, size, cursor.after)
        if last is None:  # the end of the posts: a pass is over
            found, whole = cursor.found, cursor.from_start
            cursor.after, cursor.found, cursor.from_start = None, False, True
            # One more pass, from the start: posts stored meanwhile can sit behind the cursor,
            # and a pass that began part way has not seen the posts before it.
            if found or not whole:
                return BatchResult(0, 0)
            if (wait_for_others and conn.dialect.name == "postgresql"
                    and _any_unscored(conn, version)):
                time.sleep(LOCKED_WAIT_S)  # others hold the rest: wait for them, not quit
                return BatchResult(0, 0)
            return None
        cursor.after = last
        if not rows:
            return BatchResult(0, 0)
        cursor.found = True
        texts = {pid: prepare(text) for pid, text, _ in rows}
        langs = {pid: gate(texts[pid], tag) for pid, _, tag in rows} if gate else {}
        hashes = {pid: text_hash(t) for pid, t in texts.items()
                  if not langs or langs[pid][2]}
        cached: dict[str, Scores] = {
            r.text_hash: (r.label, r.negative, r.neutral, r.positive)
            for r in conn.execute(select(c).where(c.c.model_version == version,
                                                  c.c.text_hash.in_(set(hashes.values()))))
        } if hashes else {}
        # Before 0019 the gate read the text alone and cached its "language" label: a post the
        # gate now lets through (its platform's tag names a language the model learnt) is scored.
        stale = {h for h, v in cached.items() if gate and v[0] == LANGUAGE_LABEL}
        missing: dict[str, str] = {}
        for pid, h in hashes.items():
            if h not in cached or h in stale:
                missing.setdefault(h, texts[pid])
        fresh: dict[str, Scores] = {}
        if missing:
            fresh = dict(zip(missing, model(list(missing.values())), strict=True))
            cached.update(fresh)
        # Scores and brand tags pair up in the mention rollup: no re-tag may run beside the
        # write (taken here, not for the model's run, so a re-tag waits only for the commit).
        tag_lock(conn)
        keep = _still_stored(conn, [(pid, text) for pid, text, _ in rows])
        kept_hashes = {hashes[pid] for pid in keep if pid in hashes}
        insert_ignore(conn, c, [
            {"model_version": version, "text_hash": h, "label": v[0], "negative": v[1],
             "neutral": v[2], "positive": v[3]}
            for h, v in fresh.items() if h in kept_hashes and h not in stale])
        for h in sorted(stale & kept_hashes):
            v = fresh[h]
            conn.execute(update(c).where(c.c.model_version == version, c.c.text_hash == h)
                         .values(label=v[0], negative=v[1], neutral=v[2], positive=v[3]))
        now = utcnow()
        skipped: Scores = (LANGUAGE_LABEL, 0.0, 0.0, 0.0)
        values = {pid: cached[hashes[pid]] if pid in hashes else skipped for pid in texts}
        insert_ignore(conn, schema.sentiment_scores, [
            {"post_id": pid, "model_version": version, "label": v[0],
             "negative": v[1], "neutral": v[2], "positive": v[3], "scored_at": now,
             "language": langs[pid][0] if langs else None,
             "language_source": langs[pid][1] if langs else None}
            for pid, v in values.items() if pid in keep])
    rollup.compact(store.engine)
    return BatchResult(len(keep), len(missing))
