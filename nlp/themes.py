"""Complaint themes of a post, from a small keyword taxonomy.

The labels follow the airline data's human "negative reasons" (Late Flight, Lost Luggage,
Customer Service Issue, ...) plus a few that fit any consumer brand, so a labelled dataset's
reason and a collected post's theme read the same in alerts and on the dashboard.
"""

from __future__ import annotations

import re

_THEMES: dict[str, str] = {
    "Lost Luggage": r"lost (?:my |our |the )?(?:bag|luggage|baggage|suitcase)s?|(?:bag|luggage|baggage)"
                    r"s? (?:is |are |was |were )?(?:lost|missing|never (?:arrived|made it))|"
                    r"where (?:is|are) (?:my|our) (?:bag|luggage)",
    "Damaged Luggage": r"(?:broken|damaged|destroyed|ripped) (?:bag|luggage|suitcase|wheel)",
    "Cancelled Flight": r"cancell?(?:ed|ation|ing)|cancel+ed flightl?",
    "Late Flight": r"\bdelay(?:ed|s)?\b|\blate (?:flight|departure|arrival)|\bmissed (?:my )?connection",
    "Customer Service Issue": r"customer service|on hold|hold (?:for|time)|no one (?:answers|helps)|"
                              r"\brude\b|call (?:center|back)|\bunhelpful\b",
    "Flight Booking Problems": r"\bbooking\b|reservation|rebook|\bwebsite\b|\brefund\b|\bvoucher\b",
    "Flight Attendant Complaints": r"flight attendants?|\bcrew\b|stewardess",
    "Bad Flight": r"\bseats?\b|legroom|\bwi-?fi\b|\bfood\b|\bdirty\b|uncomfortable|\bturbulence\b",
    "Long Lines": r"\blines?\b.*\b(?:long|hour)|\bqueue\b|waited (?:for )?(?:an? )?hours?",
    "Price": r"\bprices?\b|\bexpensive\b|\bfees?\b|overpriced|\bcharged?\b",
    "Outage or Bug": r"\bcrash(?:ed|es|ing)?\b|\bbug(?:gy|s)?\b|\boutage\b|not working|\bdown\b",
}
_COMPILED = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in _THEMES.items()]
# The only characters that match an ASCII letter case-insensitively but do not lower-case to it.
_FOLD_UNSAFE = re.compile("[\u0130\u0131\u017f]")
_META = frozenset("\\.^$*+?{}[]()|")
_PLAIN = re.compile(r"[a-z0-9 '-]+")


def _alternatives(pattern: str) -> list[str]:
    """The top-level branches of `pattern` (split at `|` outside groups; no classes)."""
    out, cur, depth, i = [], "", 0, 0
    while i < len(pattern):
        ch = pattern[i]
        step = 2 if ch == "\\" else 1
        if ch == "|" and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += pattern[i : i + step]
        depth += (ch == "(") - (ch == ")")
        i += step
    return [*out, cur]


def _prefixes(branch: str) -> list[str] | None:
    """Lower-case strings one of which starts every match of `branch`; None if not known."""
    while branch.startswith(r"\b"):
        branch = branch[2:]
    group = re.match(r"\(\?:([^()]+)\)(?![?*{])", branch)
    if group:
        words = group.group(1).split("|")
        return words if all(_PLAIN.fullmatch(w) for w in words) else None
    literal = ""
    for ch in branch:
        if ch in _META:
            literal = literal[:-1] if ch in "?*{" else literal  # the last letter is optional
            break
        literal += ch
    literal = literal.lower()
    return [literal] if literal and _PLAIN.fullmatch(literal) else None


def _needles(pattern: str) -> tuple[str, ...] | None:
    """Substrings one of which a lower-cased text must hold to match; None: always search."""
    if "[" in pattern:  # a class may hold "|" or ")": not worth parsing
        return None
    found: list[str] = []
    for branch in _alternatives(pattern):
        prefixes = _prefixes(branch)
        if prefixes is None:
            return None
        found += prefixes
    return tuple(found)


# Searching eleven case-insensitive patterns is the costly part of a post (the detector runs it
# on every negative mention); plain substring tests rule most of them out first.
_PLAN = [(name, rx, _needles(_THEMES[name])) for name, rx in _COMPILED]


def themes(text: str) -> tuple[str, ...]:
    """Every theme whose keywords the text uses, in taxonomy order."""
    if _FOLD_UNSAFE.search(text):
        return tuple(name for name, pattern in _COMPILED if pattern.search(text))
    low = text.lower()
    return tuple(
        name
        for name, pattern, needles in _PLAN
        if (needles is None or any(n in low for n in needles)) and pattern.search(text)
    )
