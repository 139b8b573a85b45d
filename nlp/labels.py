"""The three sentiment labels and the mapping from any model's ``id2label`` onto them."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["LABELS", "map_labels"]

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")

_ALIASES = {
    "negative": 0,
    "neg": 0,
    "n": 0,
    "neutral": 1,
    "neu": 1,
    "none": 1,
    "objective": 1,
    "positive": 2,
    "pos": 2,
    "p": 2,
}
# cardiffnlp's twitter-roberta-base-sentiment (the first version) ships with bare LABEL_0..2
# in the order negative, neutral, positive.
_GENERIC = re.compile(r"label[_ ]?(\d+)")


def map_labels(id2label: Mapping[int | str, str]) -> list[int]:
    """For each model output index, the index into :data:`LABELS`.

    Accepts names in any case (``negative``/``NEG``/``Neutral``...) and generic ``LABEL_0..2``,
    which are read in cardiffnlp's order. Raises ``ValueError`` for anything else, so a model
    with other classes (emotions, stars) fails loudly instead of scoring nonsense.
    """
    ordered = sorted(((int(k), str(v)) for k, v in id2label.items()))
    if [i for i, _ in ordered] != list(range(len(ordered))) or len(ordered) != 3:
        raise ValueError(f"need exactly three labels 0..2, got {dict(ordered)}")
    mapping = []
    for _, name in ordered:
        key = name.strip().lower()
        generic = _GENERIC.fullmatch(key)
        if key in _ALIASES:
            mapping.append(_ALIASES[key])
        elif generic and int(generic.group(1)) < 3:
            mapping.append(int(generic.group(1)))
        else:
            raise ValueError(f"cannot map label {name!r} to negative/neutral/positive")
    if sorted(mapping) != [0, 1, 2]:
        raise ValueError(f"labels {dict(ordered)} do not cover negative, neutral and positive once")
    return mapping
