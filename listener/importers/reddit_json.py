"""Reddit `/comments/<id>.json` thread responses (one JSON document per file)."""

from __future__ import annotations

import json

from listener.importers.base import ImportFormat
from listener.mapping import reddit
from listener.mapping.report import MapReport


def sniff(name: str, head: list[str]) -> bool:
    text = "".join(head).lstrip()
    return name.endswith(".json") and text.startswith(("[", "{")) and '"Listing"' in text[:2000]


def read(lines, report: MapReport):
    text = "".join(line for _, line in lines)
    try:
        payload = json.loads(text)
    except ValueError as exc:
        yield exc.lineno, f"not valid JSON ({exc.msg})"
        return
    if not reddit.is_thread(payload):
        yield 1, "not a Reddit listing or /comments/ response"
        return
    batch, thread_report = reddit.map_thread(payload)
    report.merge(thread_report)
    yield 1, batch


FORMAT = ImportFormat(name="reddit", description="Reddit /comments/<id>.json thread response",
                   sniff=sniff, read=read)
