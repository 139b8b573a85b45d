"""`themes` skips patterns by substring tests first: it must find exactly what the regexes find."""

import random

import pytest

from nlp.themes import _COMPILED, _THEMES, _needles, themes

WORDS = ("lost", "my", "bag", "bags", "luggage", "baggage", "is", "was", "missing", "never",
         "arrived", "where", "are", "broken", "ripped", "wheel", "suitcase", "cancelled",
         "cancellation", "canceled", "delayed", "delays", "late", "flight", "missed",
         "connection", "customer", "service", "on", "hold", "for", "time", "no", "one", "answers",
         "rude", "call", "center", "unhelpful", "booking", "rebook", "website", "refund",
         "voucher", "attendants", "crew", "stewardess", "seats", "legroom", "wifi", "wi-fi",
         "food", "dirty", "turbulence", "lines", "long", "hour", "queue", "waited", "an", "hours",
         "prices", "expensive", "fees", "overpriced", "charged", "crashed", "buggy", "outage",
         "not", "working", "down", "the", "delta", "@united", "#fail", "!!", "😡")
ODD = ("İ", "ı", "ſ", "K", "é", "ß")  # letters whose case folding is not plain ASCII


def reference(text: str) -> tuple[str, ...]:
    return tuple(name for name, pattern in _COMPILED if pattern.search(text))


def mangle(rng: random.Random, word: str) -> str:
    word = "".join(c.upper() if rng.random() < 0.2 else c for c in word)
    if rng.random() < 0.05:
        i = rng.randrange(len(word) + 1)
        word = word[:i] + rng.choice(ODD) + word[i:]
    return word


def test_same_themes_as_the_regexes_alone():
    rng = random.Random(5)
    for _ in range(20000):
        words = [mangle(rng, rng.choice(WORDS)) for _ in range(rng.randint(1, 14))]
        text = rng.choice((" ", "", "  ", "_", "-")).join(words)
        assert themes(text) == reference(text), text


@pytest.mark.parametrize("text", ["LOST MY BAGS", "WİFİ down", "wıfı", "ſeats are dirty",
                                  "Where is my luggage?", "cancelled", "the bag was lost"])
def test_case_folding_corner_cases(text):
    assert themes(text) == reference(text)


def test_every_theme_but_the_luggage_ones_has_needles():
    assert all(_needles(p) for p in _THEMES.values())
    assert _needles(r"a|[|]b") is None and _needles(r"(?:x)?y|z") is None
    assert _needles(r"\bfees?\b|cancel+ed") == ("fee", "cancel")
