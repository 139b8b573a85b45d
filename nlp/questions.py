"""Does a post ask something? Questions need an answer even when they are not negative.

A post is a question when, links and @handles aside, it has a question mark, or it asks in
words without one ("how do I reset my password", "please help", "any update on my refund",
"I need to get my account back").
Customers on X often drop the question mark; a brand's care team reads both as asking.
"""

from __future__ import annotations

import re

_NOISE = re.compile(r"https?://\S+|www\.\S+|(?<![\w@])@\w+|#\w+", re.IGNORECASE)
_ASKS = re.compile(
    r"\b(?:how (?:do|does|did|can|could|should|would|long|much|many|to)|why (?:is|are|was|were|"
    r"do|does|did|can|can't|cant|won't|wont|would|has|have|hasn't|haven't)|what (?:is|are|do|does|"
    r"should|happened|can)|when (?:is|are|will|can|do|does|did)|where (?:is|are|can|do|did)|"
    r"is (?:there|it possible)|are (?:there|you able)|can (?:you|i|we|someone|anyone|u)|"
    r"could (?:you|i|we|someone|u)|would you|will you|do you|does anyone|anyone know|"
    r"any (?:update|news|idea|ideas|help|word|info)|please|pls|plz|help me|help\s*!|"
    r"i need (?:to|help|a|an|my|someone)|"
    r"need (?:help|assistance|support))(?!\w)",
    re.IGNORECASE,
)


def is_question(text: str) -> bool:
    """True when the post asks the brand something (with or without a question mark)."""
    words = _NOISE.sub(" ", text or "")
    return "?" in words or bool(_ASKS.search(words))
