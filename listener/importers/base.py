"""The one interface every import format implements."""

from __future__ import annotations

import json
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


def first_json(head: list[str]) -> object | None:
    """The first of a file's opening lines that parses as JSON: what a JSONL format sniffs."""
    for line in head:
        try:
            return json.loads(line)
        except (ValueError, RecursionError):
            continue
    return None


def json_lines(lines: Lines, map_one: Callable, report: MapReport) -> Records:
    """Each non-blank line parsed and mapped; a line that is not JSON is reported, never fatal."""
    for number, line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            yield number, f"not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        except RecursionError:
            yield number, "JSON nested too deeply to read"
            continue
        yield number, guarded(map_one, obj, report)
