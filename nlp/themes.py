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


def themes(text: str) -> tuple[str, ...]:
    """Every theme whose keywords the text uses, in taxonomy order."""
    return tuple(name for name, pattern in _COMPILED if pattern.search(text))
