"""What a mapper or importer could not use, so nothing is dropped silently.

`MapReport.item` is the per-item error boundary every mapper shares: whatever goes wrong while
mapping one raw item (a wrong type, an absurd number, a missing field) lists that item with a
reason and lets the loop go on to the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def describe(exc: BaseException) -> str:
    """A one-line reason for a failed item, without a traceback."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    message = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    if isinstance(exc, ValueError) and message:
        return message
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


@dataclass
class MapReport:
    skipped: list[str] = field(default_factory=list)
    repaired_text: int = 0
    # Bytes in a legacy encoding (cp1252, latin-1) decoded as that encoding rather than lost.
    legacy_decoded: int = 0

    def merge(self, other: MapReport) -> None:
        self.skipped.extend(other.skipped)
        self.repaired_text += other.repaired_text
        self.legacy_decoded += other.legacy_decoded

    @contextmanager
    def item(self, label: str) -> Iterator[None]:
        """Run the body for one raw item; an exception skips that item and is listed with `label`."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - the boundary: one bad item never stops a pass
            self.skipped.append(f"{label}: {describe(exc)}")
