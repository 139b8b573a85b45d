"""The one interface every import format implements."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from listener.mapping.report import MapReport, describe
from listener.post import Batch

Lines = Iterable[tuple[int, str]]
Records = Iterator[tuple[int, Batch | str]]


@dataclass(frozen=True)
class ImportFormat:
    name: str
    description: str
    # Given the lower-cased file name and its first decoded lines: is the file in this format?
    sniff: Callable[[str, list[str]], bool]
    # Decoded (line number, line) pairs in; (line number, Batch or an error message) out.
    read: Callable[[Lines, MapReport], Records]


def guarded(map_one: Callable, item, report: MapReport) -> Batch | str:
    """`map_one(item, report)`, or the reason it failed: the per-record boundary of a format."""
    try:
        return map_one(item, report)
    except Exception as exc:  # noqa: BLE001 - one bad record is reported, never fatal
        return describe(exc)
