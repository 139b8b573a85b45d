"""Per-pass time of `listen`'s themes stage on a store with a long history.

    PYTHONPATH=<checkout> python bench/themes_incremental.py [--history 100000] [--new 1000]
        [--passes 3] [--database URL] [--json]

It runs `listener.jobs.themes.stage` (what `listen` runs after every pass) of the checkout on
PYTHONPATH, so the same script times main and a branch: set PYTHONPATH to each in turn.

The store (a fresh SQLite file unless --database names one; its tables are emptied): one brand
(United) with `--history` distinct negative mentions, already themed by a first stage run (the
setup, timed apart), then `--passes` times: `--new` new negative mentions scored a day later,
and one stage run, timed. Texts: the 9,178 real airline negatives (../shared/data/airline),
each addressed to @united, then copies of random ones with one word dropped (seeded) until
there are enough distinct texts. Vectors: stand-ins written to the job's vector cache as if
embedded (a unit vector per human reason plus noise; a copy's is its source's plus noise):
embedding 100,000 texts here would take hours, and both checkouts embed a new post exactly
once, so the cost measured is everything else. "kept_old": the share of the posts themed
before the pass whose theme the pass left as it was.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select

DATA = Path(os.environ.get("UNDERTOW_SHARED_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data"))
T0 = datetime(2026, 9, 1, tzinfo=UTC)
S0 = datetime(2026, 11, 1, tzinfo=UTC)
DIM = 384


def corpus(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    tweets = pd.read_csv(DATA / "airline" / "Tweets.csv")
    neg = tweets[tweets.airline_sentiment == "negative"].drop_duplicates("text")
    texts = [t if "united" in t.lower() else f"@united {t}" for t in neg.text]
    rng = np.random.default_rng(seed)
    centres = {r: rng.normal(size=DIM) for r in neg.negativereason.unique()}
    base = np.array([centres[r] + 1.2 * rng.normal(size=DIM) for r in neg.negativereason])
    out, seen, source = list(texts), {t.lower() for t in texts}, list(range(len(texts)))
    while len(out) < n:
        i = int(rng.integers(len(texts)))
        words = texts[i].split()
        if len(words) < 4:
            continue
        drop = int(rng.integers(1, len(words)))
        text = " ".join(words[:drop] + words[drop + 1:])
        if text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
            source.append(i)
    vecs = base[source] + 0.3 * rng.normal(size=(len(out), DIM))
    vecs[: len(texts)] = base
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return out[:n], vecs[:n].astype(np.float32)


def cache_vectors(home: Path, encoder_name: str, cleaned: list[str], vecs: np.ndarray) -> None:
    """The job's vector cache as a run that embedded these texts leaves it (the single-file
    form both checkouts read)."""
    folder = home / "themes"
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^\w.-]+", "_", encoder_name)
    keys = [hashlib.sha1(c.encode("utf-8", "surrogatepass")).hexdigest() for c in cleaned]
    np.savez(folder / f"vectors-{safe}.npz", keys=np.array(keys), vectors=vecs)


def write(store, texts, start: int, posted: datetime, scored: datetime,
          every: timedelta) -> list[int]:
    """Posts 30 s apart from `posted`, scored negative `every` apart from `scored`."""
    from listener.post import Batch, Post
    from listener.store import schema

    posts = [Post("x", f"h{start + i}", f"u{(start + i) % 7919}", t,
                  posted + timedelta(seconds=30 * i)) for i, t in enumerate(texts)]
    for j in range(0, len(posts), 5000):
        store.write(Batch(posts=posts[j:j + 5000]))
    with store.engine.begin() as conn:
        for j in range(0, len(posts), 5000):
            conn.execute(insert(schema.sentiment_scores), [
                {"post_id": p.id, "model_version": "bench@1", "label": "negative",
                 "negative": 0.9, "neutral": 0.05, "positive": 0.05,
                 "scored_at": scored + (j + i) * every}
                for i, p in enumerate(posts[j:j + 5000])])
    return [p.id for p in posts]


def themed(store) -> dict[int, int]:
    from listener.store import schema

    t = schema.post_themes
    with store.engine.connect() as conn:
        return dict(conn.execute(select(t.c.post_id, t.c.theme_id)).all())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history", type=int, default=100_000)
    ap.add_argument("--new", type=int, default=1_000)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--database", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import listener
    from listener.jobs.themes import _brand_words, stage
    from listener.settings import Settings
    from listener.store import Store, schema
    from nlp.embed import DEFAULT_ENCODER, load_encoder
    from nlp.theme_model import clean

    checkout = Path(listener.__file__).resolve().parents[1]
    commit = subprocess.run(["git", "-C", str(checkout), "log", "-1", "--format=%h %s"],
                            capture_output=True, text=True).stdout.strip()[:80]
    tmp = Path(tempfile.mkdtemp(prefix="themes-incremental-"))
    store = Store.open(args.database or f"sqlite:///{tmp / 'bench.db'}")
    with store.engine.begin() as conn:
        for table in (schema.post_themes, schema.sentiment_scores, schema.post_brands,
                      schema.posts, schema.meta):
            conn.execute(delete(table))
    found = [b for b in store.brands() if b.name == "United"]
    brand = found[0] if found else store.add_brand("United", "@united OR united")[0]
    total = args.history + args.new * args.passes
    texts, vecs = corpus(total)
    skip = _brand_words(brand)
    encoder = load_encoder(DEFAULT_ENCODER)
    cache_vectors(tmp, encoder.name, [clean(t, skip) for t in texts], vecs)
    settings = Settings(home=tmp)
    said: list[str] = []
    started = time.perf_counter()
    # The history as `listen` scores it: over 60 days; each pass's posts in a burst (50 ms
    # apart, faster than the scorer runs), the most an overlap window can hold of them.
    write(store, texts[: args.history], 0, T0, S0, timedelta(days=60) / args.history)
    wrote = time.perf_counter() - started
    load = [os.getloadavg()[0]]
    started = time.perf_counter()
    stage(store, settings, said.append)
    setup = time.perf_counter() - started
    passes, kept, lines, rows = [], [], [], []
    for j in range(args.passes):
        lo = args.history + j * args.new
        before = themed(store)
        write(store, texts[lo: lo + args.new], lo, T0 + timedelta(days=61 + j),
              S0 + timedelta(days=61 + j), timedelta(milliseconds=50))
        said.clear()
        load.append(os.getloadavg()[0])
        started = time.perf_counter()
        stage(store, settings, said.append)
        passes.append(round(time.perf_counter() - started, 2))
        load.append(os.getloadavg()[0])
        after = themed(store)
        kept.append(round(sum(after.get(p) == t for p, t in before.items()) / len(before), 4))
        lines.append(said[-1] if said else "")
        rows.append(len(after))  # every negative English (or unknown) mention has a theme
    out = {"checkout": str(checkout), "commit": commit, "dialect": store.engine.dialect.name,
           "history": args.history, "new_per_pass": args.new, "write_history_s": round(wrote, 1),
           "setup_full_pass_s": round(setup, 1), "pass_s": passes,
           "pass_median_s": float(np.median(passes)), "kept_old": kept, "themed_rows": rows,
           "load_1min": [round(x, 2) for x in load], "stage_lines": lines}
    store.close()
    if args.json:
        print(json.dumps(out))
        return
    for k, v in out.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
