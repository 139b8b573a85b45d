"""Social text normalisation: the model sees text in the same form at training and scoring time."""

import pytest

from nlp.normalise import normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@VirginAmerica what @dhepburn said.", "@user what @user said."),
        ("see https://t.co/abc123 and www.example.com/x?y=1 now", "see http and http now"),
        ("mail me at a@b.com", "mail me at a@b.com"),  # an address is not a handle
        (r"I\u2019m off to Chapel Hill\u002c on Sat", "I’m off to Chapel Hill, on Sat"),
        (r"lol \ud83d\ude02", "lol face with tears of joy"),
        ("sooooo goooood!!!!!", "soo good!!"),
        ("I ❤️ this", "I heavy black heart this"),
        ("fish &amp; chips &lt;3", "fish & chips <3"),
        ("  lots   of\n\twhitespace ", "lots of whitespace"),
        ("", ""),
    ],
)
def test_normalise(raw, expected):
    assert normalise(raw) == expected


def test_normalise_is_idempotent():
    text = r"@user sooo happy \u2019 😡 http://x.co/1 &amp;"
    once = normalise(text)
    assert normalise(once) == once
