"""What a mapper or importer could not use, so nothing is dropped silently."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MapReport:
    skipped: list[str] = field(default_factory=list)
    repaired_text: int = 0

    def merge(self, other: MapReport) -> None:
        self.skipped.extend(other.skipped)
        self.repaired_text += other.repaired_text
