"""X data as twarc writes it, one JSON object per line, whichever of its three shapes:

API v2 response pages (twarc2), flattened v2 tweets (`twarc2 flatten`) and API v1.1 statuses
(twarc1, and most archived Twitter research data). Each line is told apart on its own, so a file
that mixes them still imports.
"""

from __future__ import annotations

from listener.importers.base import ImportFormat, first_json, json_lines
from listener.mapping import x, x_shapes
from listener.mapping.report import MapReport
from listener.post import Batch


def _shape(obj) -> str | None:
    if not isinstance(obj, dict):
        return None
    if "data" in obj and any(k in obj for k in ("includes", "meta", "__twarc", "matching_rules")):
        return "page"
    if x_shapes.is_flat(obj):
        return "flat"
    if x_shapes.is_v1(obj):
        return "v1"
    return None


def sniff(name: str, head: list[str]) -> bool:
    obj = first_json(head)
    return _shape(obj) is not None


def map_line(obj, report: MapReport) -> Batch | str:
    shape = _shape(obj)
    if shape is None:
        return "not an X API v2 page, flattened tweet or v1.1 status"
    page = obj if shape == "page" else x_shapes.page_from_flat(obj) if shape == "flat" \
        else x_shapes.page_from_v1(obj)
    batch, page_report = x.map_page(page)
    report.merge(page_report)
    return batch


def read(lines, report: MapReport):
    yield from json_lines(lines, map_line, report)


FORMAT = ImportFormat(name="twarc", description="X as twarc writes it (JSONL): v2 pages, flattened v2 tweets or v1.1 statuses",
                   sniff=sniff, read=read)
