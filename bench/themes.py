"""Themes benchmark: found themes against the airline's human reasons, the keyword taxonomy and
BERTopic's defaults in the same run; stability; support-conversation themes per company.

    python bench/themes.py [--json] [--skip-bertopic] [--support-top 5]

The labels are read only to score: every setting of `nlp.theme_model` was fixed before this run
(the number of themes comes from the silhouette). BERTopic runs with its defaults (UMAP, HDBSCAN,
c-TF-IDF) on the same encoder's vectors of the raw texts, as its documentation shows
(`fit_transform(docs, embeddings)`); its outliers (-1) count as one theme. Embeddings are cached
in $UNDERTOW_BENCH_CACHE (default /tmp/undertow-bench-cache), so a rerun times clustering only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
from _embed_cache import encode_cached

from nlp.data import default_shared_data
from nlp.embed import load_encoder
from nlp.theme_model import clean, fit, labels_of, update
from nlp.themes import themes as taxonomy

# The six airlines' names as a brand configuration would list them (not labels).
SPEED_POSTS, SPEED_DAY = 100_000, 10_000
AIRLINES = ["united", "southwest", "southwestair", "jetblue", "virgin america", "virginamerica",
            "american", "americanair", "usairways", "us airways", "delta"]


def purity(truth, found) -> float:
    table = pd.crosstab(np.asarray(found), np.asarray(truth))
    return float(table.max(axis=1).sum() / len(truth))


def score(truth, found) -> dict:
    from sklearn.metrics import adjusted_mutual_info_score

    return {"ami": round(float(adjusted_mutual_info_score(truth, found)), 3),
            "purity": round(purity(truth, found), 3), "themes": int(len(set(found)))}


def airline_negatives(shared: Path) -> pd.DataFrame:
    tweets = pd.read_csv(shared / "airline" / "Tweets.csv")
    neg = tweets[tweets.airline_sentiment == "negative"].drop_duplicates("tweet_id")
    return neg.reset_index(drop=True)


def bertopic_labels(texts: list[str], vectors: np.ndarray) -> np.ndarray:
    from bertopic import BERTopic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        topics, _ = BERTopic().fit_transform(texts, vectors)
    return np.asarray(topics)


def stability(texts: list[str], vectors: np.ndarray, days: pd.Series) -> dict:
    """Same posts twice; then the last day added to a model of the days before it."""
    first = fit(texts, vectors, AIRLINES)
    again = fit(texts, vectors, AIRLINES)
    same = float(np.mean(labels_of(first, texts, vectors) == labels_of(again, texts, vectors)))
    last = days.max()
    old = np.flatnonzero(days.to_numpy() != last)
    model = fit([texts[i] for i in old], vectors[old], AIRLINES)
    before = labels_of(model, [texts[i] for i in old], vectors[old])
    order = np.concatenate([old, np.flatnonzero(days.to_numpy() == last)])
    _, after = update(model, [texts[i] for i in order], vectors[order], len(old))
    kept = float(np.mean(after[: len(old)] == before))
    return {"rerun_same": round(same, 4), "next_day_kept": round(kept, 4),
            "next_day_posts": int(len(order) - len(old)), "yesterday_posts": int(len(old))}


def support(shared: Path, encoder, top: int) -> dict:
    """Customers' turns per company: the top themes, two examples each, taxonomy coverage."""
    rows = []
    for name in ("dev.json", "test.json"):
        for conv in json.loads((shared / "support" / name).read_text()):
            company = conv["dialogHeader"]["company"]
            for turn in conv["dialogContent"]:
                if "client" in turn:
                    rows.append((company, turn["message"]))
    frame = pd.DataFrame(rows, columns=["company", "text"]).drop_duplicates()
    vectors = encode_cached(encoder, [clean(t) for t in frame.text], "support")
    out = {}
    for company, group in frame.groupby("company"):
        idx = group.index.to_numpy()
        pos = frame.index.get_indexer(idx)
        texts = group.text.tolist()
        if len(texts) < 8:
            continue
        try:
            model = fit(texts, vectors[pos], [company], k_range=(5, 12))
        except ValueError:  # too few shared words to name themes by
            continue
        ranked = sorted(model.themes, key=lambda t: -t.size)[:top]
        out[company] = {
            "posts": len(texts),
            "taxonomy_labelled": round(float(np.mean([bool(taxonomy(t)) for t in texts])), 3),
            "themes_labelled": 1.0,  # every post is assigned to its nearest theme
            "top": [{"name": t.name, "posts": t.size, "examples": t.examples[:2]}
                    for t in ranked]}
    return out


def speed_corpus(shared: Path, n: int = SPEED_POSTS, seed: int = 0) -> list[str]:
    """`n` distinct real-text posts: every distinct SemEval tweet (49,600) and airline tweet
    (14,640), then copies of random ones with one word dropped (seeded) until there are `n`.
    A dropped word makes a new text (its own embedding, its own point to cluster), so the run
    clusters `n` distinct posts, not a few thousand repeated."""
    real = pd.read_csv(shared / "sentiment" / "semeval_2013_2016.csv").text.astype(str).tolist()
    real += pd.read_csv(shared / "airline" / "Tweets.csv").text.astype(str).tolist()
    out, seen = [], set()
    for text in real:
        if clean(text).lower() not in seen:
            seen.add(clean(text).lower())
            out.append(text)
    rng = np.random.default_rng(seed)
    while len(out) < n:
        words = out[int(rng.integers(len(seen)))].split()
        if len(words) < 4:
            continue
        drop = int(rng.integers(len(words)))
        text = " ".join(words[:drop] + words[drop + 1:])
        if clean(text).lower() not in seen:
            seen.add(clean(text).lower())
            out.append(text)
    return out[:n]


def speed(shared: Path, encoder, n: int = SPEED_POSTS, day: int = SPEED_DAY) -> dict:
    """Seconds for themes of `n` posts (embeddings read from the cache, then fit and assign),
    and for an incremental day: a model of the first n - day posts updated with the last `day`
    (the job's work each day: look up the day's vectors, update, assign)."""
    texts = speed_corpus(shared, n)
    cleaned = [clean(t) for t in texts]
    encode_cached(encoder, cleaned, "speed")  # embed once; the timed runs read the cache
    started = time.perf_counter()
    vectors = encode_cached(encoder, cleaned, "speed")
    model = fit(texts, vectors)
    labels_of(model, texts, vectors)
    full = time.perf_counter() - started
    old = n - day
    model = fit(texts[:old], vectors[:old])
    started = time.perf_counter()
    vectors = encode_cached(encoder, cleaned, "speed")
    update(model, texts, vectors, old)
    incremental = time.perf_counter() - started
    return {f"{n // 1000}k": round(full, 2), f"incremental_{day // 1000}k": round(incremental, 2)}


def _progress(stage: str, result: dict) -> None:
    """Each stage's figures on stderr as they come: the whole run takes minutes."""
    print(json.dumps({"stage": stage, **{k: v for k, v in result.items() if k != "support"}}),
          file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-bertopic", action="store_true")
    parser.add_argument("--support-top", type=int, default=5)
    args = parser.parse_args()
    shared = default_shared_data()
    encoder = load_encoder()
    neg = airline_negatives(shared)
    texts, truth = neg.text.tolist(), neg.negativereason.to_numpy()
    vectors = encode_cached(encoder, [clean(t, AIRLINES) for t in texts], "clean")
    started = time.perf_counter()
    model = fit(texts, vectors, AIRLINES)
    found = labels_of(model, texts, vectors)
    fit_s = time.perf_counter() - started
    result: dict = {"airline": {
        "undertow": score(truth, found),
        "taxonomy": score(truth, [(taxonomy(t) or ("(none)",))[0] for t in texts]),
    }}
    result["seconds"] = {"fit_airline_9k_cached": round(fit_s, 2)}
    result["airline_themes"] = [{"id": t.id, "name": t.name, "posts": t.size}
                                for t in model.themes]
    _progress("airline", result)
    raw = encode_cached(encoder, texts, "raw")
    if not args.skip_bertopic:
        result["airline"]["bertopic"] = score(truth, bertopic_labels(texts, raw))
        _progress("bertopic", result)
    result["stability"] = stability(texts, vectors, pd.to_datetime(neg.tweet_created).dt.date)
    _progress("stability", result)
    result["support"] = support(shared, encoder, args.support_top)
    _progress("support", result)
    # The same pipeline on unstripped text: what stripping handles and brands buys.
    result["airline"]["undertow_unstripped"] = score(truth, labels_of(fit(texts, raw), texts, raw))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for method, row in result["airline"].items():
        print(f"{method:22} AMI {row['ami']:.3f}  purity {row['purity']:.3f}  "
              f"themes {row['themes']}")
    print(f"stability: {result['stability']}")
    print(f"seconds: {result['seconds']}")
    for theme in result["airline_themes"]:
        print(f"  airline theme {theme['id']:>2} ({theme['posts']:,}): {theme['name']}")
    for company, row in result["support"].items():
        print(f"\n{company} ({row['posts']} posts; taxonomy labels {row['taxonomy_labelled']:.0%})")
        for t in row["top"]:
            print(f"  - {t['name']} ({t['posts']})")
            for ex in t["examples"]:
                print(f"      \"{ex[:140]}\"")


if __name__ == "__main__":
    main()
