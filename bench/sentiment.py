"""Sentiment benchmark: the default model against VADER, plus a roberta-base-sized timing.

    python bench/sentiment.py [--data CSV] [--limit N] [--json]

Without ``--data`` it uses the documented airline held-out split (see ``nlp/data.py``; ``--split
semeval-dev`` picks the held-out general tweets instead), read from
the shared data folder ($UNDERTOW_SHARED_DATA or ../shared/data). All figures come from one run
on this machine. The roberta-base row is timing only: a randomly initialised model built from
``RobertaConfig()`` (the size of cardiffnlp's twitter-roberta-base) run through the same
``SentimentScorer`` code; having no RoBERTa tokenizer offline, it is fed the MiniLM WordPiece
tokens, which for tweets are about as many as RoBERTa's BPE tokens.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.data import default_shared_data
from nlp.evaluate import SPLITS, evaluate, load_examples, render_report
from nlp.labels import LABELS
from nlp.scorer import SentimentScorer

KEYS = ("n", "accuracy", "macro_f1", "macro_recall", "posts_per_s")


def vader_predict(texts: list[str]) -> list[str]:
    """VADER with its documented compound thresholds: >= 0.05 positive, <= -0.05 negative."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyser = SentimentIntensityAnalyzer()
    labels = []
    for text in texts:
        compound = analyser.polarity_scores(text)["compound"]
        labels.append(
            "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
        )
    return labels


def roberta_base_posts_per_s(texts: list[str], batch_size: int, threads: int | None) -> float:
    """Posts/s of a roberta-base-sized classifier through SentimentScorer (weights random)."""
    import torch
    from transformers import AutoTokenizer, RobertaConfig, RobertaForSequenceClassification

    from nlp.model import encoder_dir

    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=50265,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=1,
    )
    with tempfile.TemporaryDirectory() as folder:
        RobertaForSequenceClassification(config).eval().save_pretrained(folder)
        AutoTokenizer.from_pretrained(encoder_dir()).save_pretrained(folder)
        scorer = SentimentScorer(folder, batch_size, threads)
        scorer.score(texts[:batch_size])  # warm-up, as for the default model
        began = time.perf_counter()
        scorer.score(texts)
        return len(texts) / (time.perf_counter() - began)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="CSV with text,label columns")
    parser.add_argument(
        "--split", choices=SPLITS, default="airline-test", help="documented split, without --data"
    )
    parser.add_argument("--limit", type=int, default=None, help="first N rows only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--model", default=None, help="model to bench instead of the default")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--int8", action="store_true", help="torch dynamic int8 quantisation")
    parser.add_argument(
        "--roberta-n",
        type=int,
        default=256,
        help="posts timed for roberta-base (0 skips it; it is slow)",
    )
    args = parser.parse_args(argv)
    shared = default_shared_data()
    if args.data is None and not (shared / "airline" / "Tweets.csv").is_file():
        parser.error(f"no shared data under {shared}: set UNDERTOW_SHARED_DATA or pass --data")
    examples = load_examples(args.data, args.split, shared, args.limit)
    texts = [e.text for e in examples]

    scorer = SentimentScorer(args.model, args.batch_size, args.threads, args.int8)
    scorer.score(texts[: args.batch_size])  # warm-up: first-call allocations are not throughput
    undertow = evaluate(lambda t: [s.label for s in scorer.score(t)], examples)
    vader = evaluate(vader_predict, examples)
    roberta = {key: None for key in KEYS}
    if args.roberta_n:
        sample = (texts * (args.roberta_n // len(texts) + 1))[: args.roberta_n]
        roberta["n"] = len(sample)
        roberta["posts_per_s"] = roberta_base_posts_per_s(sample, args.batch_size, args.threads)

    if args.json:
        result = {
            "undertow": {k: undertow[k] for k in KEYS} | {"model_version": scorer.model_version},
            "vader": {k: vader[k] for k in KEYS},
            "roberta_base": roberta,
        }
        print(json.dumps(result))
        return 0
    print(f"Data: {args.data or args.split} ({len(examples):,} posts)\n")
    print(render_report(f"undertow default ({scorer.model_version})", undertow))
    print(render_report("VADER (compound +-0.05)", vader))
    if roberta["posts_per_s"]:
        ratio = undertow["posts_per_s"] / roberta["posts_per_s"]
        print(
            f"roberta-base-sized (random weights, timing only): {roberta['posts_per_s']:,.1f} "
            f"posts/s on {roberta['n']:,} posts; undertow is {ratio:.1f}x faster"
        )
    print(f"\nmacro-F1 gain over VADER: {undertow['macro_f1'] - vader['macro_f1']:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
