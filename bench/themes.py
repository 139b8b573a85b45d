"""Themes benchmark: found themes against the airline's human reasons, the keyword taxonomy and
BERTopic's defaults in the same run; stability; support-conversation themes per company.

    python bench/themes.py [--json] [--skip-bertopic] [--support-top 5] [--only speed|support]
                           [--encoder static] [--cold [--cold-embed N]]

The labels are read only to score: every setting of `nlp.theme_model` was fixed before this run
(the number of themes comes from the silhouette). BERTopic runs with its defaults (UMAP, HDBSCAN,
c-TF-IDF) on the same encoder's vectors of the raw texts, as its documentation shows
(`fit_transform(docs, embeddings)`); its outliers (-1) count as one theme. Embeddings are cached
in $UNDERTOW_BENCH_CACHE (default /tmp/undertow-bench-cache), so a rerun times clustering only.

`--encoder` picks the encoder (default UNDERTOW_THEME_ENCODER, else all-MiniLM-L6-v2; `static`
is the distilled static encoder, nlp/static_embed.py). `--cold` times the speed run as a first
run: every one of the 100,000 posts (the copies too) is embedded by the encoder inside the timed
part, no cache; `--cold-embed N` embeds only N of them and extrapolates the embedding time at
the measured rate (for the transformer, whose 100,000 would take many minutes here).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
from _embed_cache import encode_cached, store_cached

from nlp.data import default_shared_data
from nlp.embed import encoder_name, load_encoder
from nlp.theme_model import clean, fit, fit_assign, labels_of, update
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
            # Measured, not assumed: the share of the company's posts that got a theme.
            "themes_labelled": round(float(np.mean(
                np.isin(labels_of(model, texts, vectors[pos]), [t.id for t in model.themes]))), 3),
            "top": [{"name": t.name, "posts": t.size, "examples": t.examples[:2]}
                    for t in ranked]}
    return out


def speed_corpus(texts: list[str], vectors: np.ndarray, n: int = SPEED_POSTS,
                 seed: int = 0) -> tuple[list[str], np.ndarray]:
    """`n` distinct posts from the airline negatives: the 9,089 real ones, then copies of random
    ones with one word dropped (seeded) until there are `n`. A copy's vector is its source's
    embedding plus noise (cosine about 0.9 to it), written to the cache as if embedded: on two
    shared cores the encoder does 10-70 posts/s, so embedding 91,000 new texts for this run
    would take hours. The text side (TF-IDF, LSA, names) is real text; the vectors keep the
    real posts' structure. `embed_posts_per_s` in the output says what a cold run would add."""
    out, seen = [], set()
    for text in texts:
        seen.add(clean(text, AIRLINES).lower())
        out.append(text)
    rng = np.random.default_rng(seed)
    source = list(range(len(texts)))
    while len(out) < n:
        i = int(rng.integers(len(texts)))
        words = texts[i].split()
        if len(words) < 4:
            continue
        drop = int(rng.integers(len(words)))
        text = " ".join(words[:drop] + words[drop + 1:])
        if clean(text, AIRLINES).lower() not in seen:
            seen.add(clean(text, AIRLINES).lower())
            out.append(text)
            source.append(i)
    noise = rng.normal(scale=0.025, size=(n, vectors.shape[1]))
    noise[: len(texts)] = 0.0
    made = np.asarray(vectors, dtype=np.float64)[source] + noise
    return out, (made / np.linalg.norm(made, axis=1, keepdims=True)).astype(np.float32)


def speed(encoder, texts: list[str], vectors: np.ndarray, n: int = SPEED_POSTS,
          day: int = SPEED_DAY) -> dict:
    """Seconds for themes of `n` posts (vectors read from the cache, fit, assign every post),
    and for an incremental day: a model of the first n - day posts updated with the last `day`
    (the job's work each day: read the vectors, update, assign)."""
    posts, made = speed_corpus(texts, vectors, n)
    cleaned = [clean(t, AIRLINES) for t in posts]
    store_cached(encoder, cleaned, made, "speed")
    started = time.perf_counter()
    cleaned = [clean(t, AIRLINES) for t in posts]
    vectors = encode_cached(encoder, cleaned, "speed")
    model, _ = fit_assign(posts, vectors, AIRLINES, cleaned=cleaned)  # what the job runs
    full = time.perf_counter() - started
    themes = len(model.themes)
    old = n - day
    model = fit(posts[:old], vectors[:old], AIRLINES)
    started = time.perf_counter()
    cleaned = [clean(t, AIRLINES) for t in posts]  # the job cleans every post to read vectors
    vectors = encode_cached(encoder, cleaned, "speed")
    update(model, posts, vectors, old, cleaned=cleaned)
    incremental = time.perf_counter() - started
    fresh = [f"{t} ({i})" for i, t in enumerate(posts[:500])]  # texts no cache holds
    started = time.perf_counter()
    encoder.encode(fresh)
    rate = len(fresh) / (time.perf_counter() - started)
    return {f"{n // 1000}k": round(full, 2), f"incremental_{day // 1000}k": round(incremental, 2),
            "embed_posts_per_s": round(rate, 1), f"themes_{n // 1000}k": themes}


def speed_cold(encoder, texts: list[str], vectors: np.ndarray, n: int = SPEED_POSTS,
               embed: int | None = None) -> dict:
    """Themes for `n` posts as a first run: clean, embed every post (no cache), fit and assign.
    The copies are embedded for real here (their stand-in vectors are not used). With `embed`
    below `n`, only that many posts are embedded (timed) and the rest take their stand-ins; the
    embedding time of all `n` is then extrapolated at the measured rate (`estimated`: true)."""
    posts, made = speed_corpus(texts, vectors, n)
    embed = n if embed is None else min(embed, n)
    started = time.perf_counter()
    cleaned = [clean(t, AIRLINES) for t in posts]
    clean_s = time.perf_counter() - started
    started = time.perf_counter()
    head = encoder.encode(cleaned[:embed])
    embed_s = time.perf_counter() - started
    if embed < n:
        if made.shape[1] != head.shape[1]:
            raise ValueError("--cold-embed below the corpus size needs the stand-ins' dimension")
        vecs = np.concatenate([head, made[embed:]])
    else:
        vecs = head
    started = time.perf_counter()
    model, _ = fit_assign(posts, vecs, AIRLINES, cleaned=cleaned)
    fit_s = time.perf_counter() - started
    rate = embed / embed_s
    total_embed = embed_s if embed == n else n / rate
    return {f"cold_{n // 1000}k": round(clean_s + total_embed + fit_s, 2),
            "cold_embed_s": round(total_embed, 2), "cold_embed_posts_per_s": round(rate, 1),
            "cold_embedded": embed, "clean_s": round(clean_s, 2),
            "fit_assign_s": round(fit_s, 2), f"themes_{n // 1000}k": len(model.themes),
            "estimated": embed < n}


def support_summary(rows: dict) -> dict:
    """Over every company's customer turns: the share the airline taxonomy labels, the share
    the themes label, and how many companies' posts the taxonomy labels less than half of."""
    posts = sum(r["posts"] for r in rows.values()) or 1
    return {"companies": len(rows), "posts": sum(r["posts"] for r in rows.values()),
            "taxonomy_labelled": round(sum(r["taxonomy_labelled"] * r["posts"]
                                           for r in rows.values()) / posts, 3),
            "themes_labelled": round(sum(r["themes_labelled"] * r["posts"]
                                         for r in rows.values()) / posts, 3),
            "companies_taxonomy_under_half": sum(r["taxonomy_labelled"] < 0.5
                                                 for r in rows.values())}


def _progress(stage: str, result: dict) -> None:
    """Each stage's figures on stderr as they come: the whole run takes minutes."""
    print(json.dumps({"stage": stage, **{k: v for k, v in result.items() if k != "support"}}),
          file=sys.stderr, flush=True)


def print_support(rows: dict) -> None:
    for company, row in rows.items():
        print(f"\n{company} ({row['posts']} posts; the airline taxonomy labels "
              f"{row['taxonomy_labelled']:.0%}, the themes {row['themes_labelled']:.0%})")
        for t in row["top"]:
            print(f"  - {t['name']} ({t['posts']})")
            for ex in t["examples"]:
                print(f"      \"{ex[:140]}\"")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-bertopic", action="store_true")
    parser.add_argument("--support-top", type=int, default=5)
    parser.add_argument("--only", choices=["speed", "support"],
                        help="run one part: the speed figures, or the support themes per company")
    parser.add_argument("--encoder", default=os.environ.get("UNDERTOW_THEME_ENCODER", ""),
                        help="themes' encoder: all-MiniLM-L6-v2 (default), static, or a "
                             "sentence-transformers name")
    parser.add_argument("--cold", action="store_true",
                        help="speed as a first run: embed the 100,000 posts inside the timing")
    parser.add_argument("--cold-embed", type=int, default=None,
                        help="with --cold: embed only this many and extrapolate the rest")
    parser.add_argument("--k", type=int, default=None,
                        help="diagnostic: the airline fit with this many themes, not the "
                             "silhouette's choice (and only the airline scores)")
    args = parser.parse_args()
    shared = default_shared_data()
    encoder = load_encoder(encoder_name(args.encoder))
    started = time.perf_counter()
    encoder.encode(["warm up"])  # loads (or, first time, distils) the model: reported apart
    load = {"encoder": encoder.name, "load_s": round(time.perf_counter() - started, 2),
            "distill_s": (None if getattr(encoder, "distill_s", None) is None
                          else round(encoder.distill_s, 1))}
    _progress("load", load)
    if args.only == "support":
        rows = support(shared, encoder, args.support_top)
        summary = support_summary(rows)
        if args.json:
            print(json.dumps({"support": rows, "support_summary": summary}, indent=2))
            return
        print_support(rows)
        print(f"\nsupport: {summary}")
        return
    neg = airline_negatives(shared)
    texts, truth = neg.text.tolist(), neg.negativereason.to_numpy()
    vectors = encode_cached(encoder, [clean(t, AIRLINES) for t in texts], "clean")
    if args.only == "speed":
        result = {"encoder": load,
                  "seconds": (speed_cold(encoder, texts, vectors, embed=args.cold_embed)
                              if args.cold else speed(encoder, texts, vectors))}
        print(json.dumps(result, indent=2) if args.json
              else f"encoder: {load}\nseconds: {result['seconds']}")
        return
    started = time.perf_counter()
    model = fit(texts, vectors, AIRLINES, k=args.k)
    found = labels_of(model, texts, vectors)
    fit_s = time.perf_counter() - started
    if args.k:
        result = {"encoder": load, "k": args.k, "airline": score(truth, found),
                  "themes": [t.name for t in model.themes]}
        print(json.dumps(result, indent=2) if args.json else result)
        return
    result: dict = {"encoder": load, "airline": {
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
    result["seconds"].update(speed(encoder, texts, vectors))
    if args.cold:
        result["seconds"].update(speed_cold(encoder, texts, vectors, embed=args.cold_embed))
    _progress("speed", result)
    result["support"] = support(shared, encoder, args.support_top)
    result["support_summary"] = support_summary(result["support"])
    _progress("support", result)
    # The same pipeline on unstripped text: what stripping handles and brands buys.
    result["airline"]["undertow_unstripped"] = score(truth, labels_of(fit(texts, raw), texts, raw))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"encoder: {load}")
    for method, row in result["airline"].items():
        print(f"{method:22} AMI {row['ami']:.3f}  purity {row['purity']:.3f}  "
              f"themes {row['themes']}")
    print(f"stability: {result['stability']}")
    print(f"seconds: {result['seconds']}")
    for theme in result["airline_themes"]:
        print(f"  airline theme {theme['id']:>2} ({theme['posts']:,}): {theme['name']}")
    print_support(result["support"])
    print(f"\nsupport: {result['support_summary']}")


if __name__ == "__main__":
    main()
