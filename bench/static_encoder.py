"""The encoders alone, without the themes pipeline's TF-IDF part or its silhouette: on the airline
negatives (cleaned as the themes job cleans them), how often a post's 10 nearest neighbours share
its human reason, and the AMI of plain k-means (k = 10 and 16) on the centred unit vectors.

    python bench/static_encoder.py [--json]

Reads the vectors `bench/themes.py` cached (run it first with each encoder: `--encoder static`
and the default), so it embeds nothing itself. Variants of the static encoder that need no new
distillation are scored too: without the Zipf weights (the table divided by them), and with the
sentences' first principal component removed (SIF's common-component removal).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _embed_cache import encode_cached
from themes import AIRLINES, airline_negatives

from nlp.data import default_shared_data
from nlp.embed import DEFAULT_ENCODER, STATIC_ENCODER, load_encoder
from nlp.theme_model import clean


def _unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


def scores(vectors: np.ndarray, truth: np.ndarray) -> dict:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_mutual_info_score

    x = _unit(vectors - vectors.mean(0))
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    nn = np.argpartition(-sim, 10, axis=1)[:, :10]
    out = {"knn10_same_reason": round(float(np.mean(truth[nn] == truth[:, None])), 3)}
    for k in (10, 16):
        found = KMeans(k, n_init=3, random_state=0).fit_predict(x)
        out[f"kmeans{k}_ami"] = round(float(adjusted_mutual_info_score(truth, found)), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    neg = airline_negatives(default_shared_data())
    texts = [clean(t, AIRLINES) for t in neg.text]
    truth = neg.negativereason.to_numpy()
    result = {}
    for name in (DEFAULT_ENCODER, STATIC_ENCODER):
        result[name] = scores(encode_cached(load_encoder(name), texts, "clean"), truth)
        print(json.dumps({name: result[name]}), file=sys.stderr, flush=True)
    static = load_encoder(STATIC_ENCODER)
    static.encode(["load"])  # the cache answered above: load the table now
    from nlp.static_embed import zipf_weights

    table = static._table
    static._table = table / zipf_weights(len(table))[:, None]
    result["static, no Zipf weights"] = scores(static.encode(texts), truth)
    print(json.dumps({"no zipf": result["static, no Zipf weights"]}), file=sys.stderr, flush=True)
    static._table = table
    v = static.encode(texts)
    c = v - v.mean(0)
    pc = np.linalg.svd(c, full_matrices=False)[2][0]
    result["static, first component removed"] = scores(c - np.outer(c @ pc, pc), truth)
    print(json.dumps(result, indent=2) if args.json else
          "\n".join(f"{k:36} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
