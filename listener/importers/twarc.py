"""X API v2 responses as twarc2 writes them: one response page (or streamed tweet) per line."""

from __future__ import annotations

import json

from listener.importers.base import ImportFormat
from listener.mapping import x
from listener.mapping.report import MapReport


def sniff(name: str, head: list[str]) -> bool:
    for line in head:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        return isinstance(obj, dict) and "data" in obj and any(
            k in obj for k in ("includes", "meta", "__twarc", "matching_rules"))
    return False


def read(lines, report: MapReport):
    for number, line in lines:
        if not line.strip():
            continue
        try:
            page = json.loads(line)
        except ValueError as exc:
            yield number, f"not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        if not isinstance(page, dict):
            yield number, "not a JSON object"
            continue
        batch, page_report = x.map_page(page)
        report.merge(page_report)
        yield number, batch


FORMAT = ImportFormat(name="twarc", description="X API v2 response pages as twarc2 writes them (JSONL)",
                   sniff=sniff, read=read)
