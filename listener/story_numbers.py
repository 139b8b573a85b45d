"""One definition per number a story shows, so the demo banner, the alert (title, page, email)
and the graph explorer say the same thing about the same story.

- **reactions** (the UI also says amplifications): the reposts, quotes and replies in the
  story's cascade at any depth: every interaction on a root post or on a post that itself
  reacted. One interaction is one reaction (the graph's edge weight sums them).
- **size**: the story's posts, its root posts plus its reactions.

A platform's own counters (a tweet's `reposts` field) count direct reposts only and are not
used for either: the demo's viral post had 737 direct reposts but 778 reactions in its cascade.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

REACTIONS_HELP = ("Reposts, quotes and replies in the story's cascade at any depth: reactions "
                  "to the root posts and to the reactions.")


@dataclass(frozen=True)
class StoryNumbers:
    roots: int
    reactions: int

    @property
    def size(self) -> int:
        return self.roots + self.reactions

    def text(self) -> str:
        return f"{self.reactions:,} reaction{'s' if self.reactions != 1 else ''}"


def from_detector(post_count: int, roots: int = 1) -> StoryNumbers:
    """The detector counts a cascade's posts with its root (`Story.post_count`)."""
    return StoryNumbers(roots, max(int(post_count) - roots, 0))


def from_edges(weights, roots: int = 1) -> StoryNumbers:
    """From the cascade's edges (`cascade_edges`: one weight per amplifier pair and kind)."""
    return StoryNumbers(roots, int(sum(int(w) for w in weights)))


def from_evidence(ev: Mapping[str, Any] | Any) -> StoryNumbers | None:
    """What an alert recorded; None for an alert whose evidence has no cascade count.

    Takes the stored JSON or a read `listener.alerts.evidence.Evidence`."""
    if not isinstance(ev, Mapping):
        ev = ev.to_json()
    roots = ev.get("root_post_ids") or ev.get("root_posts") or []
    n_roots = max(len(roots), 1)
    if ev.get("reactions") is not None:
        return StoryNumbers(n_roots, int(ev["reactions"]))
    if ev.get("posts"):  # 0 or absent: no count was recorded (a story has at least its root)
        return from_detector(int(ev["posts"]), n_roots)
    return None


__all__ = ["REACTIONS_HELP", "StoryNumbers", "from_detector", "from_edges", "from_evidence"]
