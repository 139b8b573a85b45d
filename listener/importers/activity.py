"""Timed interaction edge lists, `userA userB unix_ts RT|MT|RE` per line (SNAP's Higgs format).

No texts, only who amplified whom and when: enough to rank influencers and explore the graph.
RT means userA retweeted userB (a repost), MT a mention, RE a reply. Users are stored on the
platform named by the file ("higgs" for higgs-activity_time.txt.gz), since their ids are
anonymised and belong to no live platform.
"""

from __future__ import annotations

import re

from listener.importers.base import ImportFormat
from listener.mapping.report import MapReport
from listener.mapping.text import parse_time
from listener.post import Batch, Interaction

_LINE = re.compile(r"^(\d+) (\d+) (\d+) (RT|MT|RE)\s*$")
_KINDS = {"RT": "repost", "MT": "mention", "RE": "reply"}
_CHUNK = 20000


def sniff(name: str, head: list[str]) -> bool:
    lines = [line for line in head if line.strip()]
    return bool(lines) and _LINE.match(lines[0]) is not None


def read(lines, report: MapReport, platform: str = "higgs"):
    batch, last = Batch(), 0
    for number, line in lines:
        if not line.strip():
            continue
        m = _LINE.match(line)
        if m is None:
            yield number, "not `userA userB unix_ts RT|MT|RE`"
            continue
        a, b, ts, kind = m.groups()
        batch.interactions.append(Interaction(platform, _KINDS[kind], a, b, parse_time(int(ts))))
        last = number
        if len(batch.interactions) >= _CHUNK:
            yield number, batch
            batch = Batch()
    if batch.interactions:
        yield last, batch


FORMAT = ImportFormat("activity", "Timed interaction edge list (userA userB unix_ts RT|MT|RE)",
                      sniff, read)
