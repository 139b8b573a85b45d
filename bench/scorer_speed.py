"""Scorer throughput: the shipped oneDNN linear layers against PyTorch's default MKL, same run.

Both scorers load the bundled model; the baseline is ``SentimentScorer(onednn=False)``, i.e. the
scorer as it was before ``nlp/cpu_inference.py``. They score the same texts in alternating rounds
(so load from other processes hits both alike), and the run reports posts/s (wall), CPU seconds
per 1,000 posts (less sensitive to other jobs than wall time), their ratios, and whether every
label is the same, with the largest probability difference. Texts: every turn of IBM's support
conversations (what ``bench/engagement.py`` scores), or the airline held-out split.

    python bench/scorer_speed.py [--data support|airline] [--rounds 3] [--threads 2] [--chunk 256]
        [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from listener.jobs.score import scoring_text  # noqa: E402
from nlp.data import default_shared_data  # noqa: E402
from nlp.scorer import SentimentScorer  # noqa: E402


def support_texts(folder: Path) -> list[str]:
    """Every customer and agent turn of the support conversations, as the model reads them."""
    texts = []
    for name in ("dev.json", "test.json"):
        for conv in json.loads((folder / name).read_text()):
            texts += [str(t.get("message") or "") for t in conv["dialogContent"]]
            texts.append(str(conv["agentURL"].get("url_utterance") or ""))
    return [scoring_text(t) for t in texts if t]


def airline_texts(shared: Path) -> list[str]:
    from nlp.evaluate import load_examples

    return [e.text for e in load_examples(None, "airline-test", shared, None)]


#: Texts per call, as `undertow score` hands them to the scorer (its claim size). The MKL path's
#: speed depends on it: one sorted call over all texts ran near the oneDNN path's rate on a quiet
#: machine, 256-text calls (what the service and bench/engagement.py do) took twice as long.
CHUNK = 256


def measure(scorer: SentimentScorer, texts: list[str], chunk: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) to score `texts`, `chunk` texts per call."""
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(texts), chunk):
        scorer.score(texts[start : start + chunk])
    return time.perf_counter() - wall, time.process_time() - cpu


def run(texts: list[str], rounds: int, threads: int | None, batch_size: int,
        chunk: int = CHUNK) -> dict:
    scorers = {
        "mkl (before)": SentimentScorer(batch_size=batch_size, threads=threads, onednn=False),
        "onednn (shipped)": SentimentScorer(batch_size=batch_size, threads=threads),
    }
    for scorer in scorers.values():
        scorer.score(texts[:batch_size])  # warm-up: first-call allocations are not throughput
    load_before = os.getloadavg()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in scorers}
    for _ in range(rounds):
        for name, scorer in scorers.items():
            times[name].append(measure(scorer, texts, chunk))
    load_after = os.getloadavg()
    before, after = (scorers[k].probabilities(texts) for k in scorers)
    rows = {}
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        rows[name] = {"posts_per_s": round(len(texts) / wall, 1),
                      "cpu_s_per_1000_posts": round(1000 * cpu / len(texts), 2),
                      "wall_s": [round(w, 2) for w, _ in runs],
                      "cpu_s": [round(c, 2) for _, c in runs]}
    b, a = rows["mkl (before)"], rows["onednn (shipped)"]
    return {
        "n": len(texts), "rounds": rounds, "threads": threads, "batch_size": batch_size,
        "texts_per_call": chunk,
        "scorers": rows,
        "speedup_wall": round(a["posts_per_s"] / b["posts_per_s"], 2),
        "speedup_cpu": round(b["cpu_s_per_1000_posts"] / a["cpu_s_per_1000_posts"], 2),
        "labels_identical": int((before.argmax(1) == after.argmax(1)).sum()),
        "max_probability_difference": float((before - after).abs().max()),
        "load_average": {"before": [round(x, 2) for x in load_before],
                         "after": [round(x, 2) for x in load_after]},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", choices=("support", "airline"), default="support")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=None, help="score only the first N texts")
    parser.add_argument("--chunk", type=int, default=CHUNK,
                        help="texts per scorer call (256: as `undertow score` calls it)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    shared = default_shared_data()
    if args.data == "support":
        if not (shared / "support").is_dir():
            parser.error(f"no support data under {shared}: set UNDERTOW_SHARED_DATA")
        texts = support_texts(shared / "support")
    else:
        texts = airline_texts(shared)
    texts = texts[: args.limit]
    out = run(texts, args.rounds, args.threads, args.batch_size, args.chunk) | {"data": args.data}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{out['n']:,} {args.data} texts, {args.rounds} alternating rounds, "
          f"threads {args.threads or 'default'}, batch {args.batch_size}, {args.chunk} per call")
    for name, row in out["scorers"].items():
        print(f"  {name:<17} {row['posts_per_s']:>7,.1f} posts/s  "
              f"{row['cpu_s_per_1000_posts']:>6.2f} CPU s per 1,000 posts  wall {row['wall_s']}")
    print(f"speed-up: {out['speedup_wall']}x wall, {out['speedup_cpu']}x CPU; labels identical: "
          f"{out['labels_identical']:,} of {out['n']:,} (largest probability difference "
          f"{out['max_probability_difference']:.1e}); load average {out['load_average']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
