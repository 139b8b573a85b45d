"""Customer-care conversations on X as IBM's Twitter conversations dataset writes them.

One JSON array of conversations (`dev.json`, `test.json` of IBM/twitter-customer-care-document-
prediction): each has a `dialogHeader` (the support account's handle as `company`), the turns in
`dialogContent` (`client` / `client1` / `agent` handle, ISO `datetime`, `message`, `tweet_ID`)
and `agentURL`, the agent's closing reply, whose time is not given: it follows from the tweet id
(an X "snowflake" id carries its creation time in milliseconds).

Each turn replies to the one before it, so a conversation becomes a reply chain of posts (with
reply and mention interactions). Authors are keyed "@handle" in lower case, as in the airline
importer, so they meet the @mentions in the texts. Two conversations that share their first turns
(the dataset has a few) are one thread with two branches here: a tweet is stored once.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from listener.importers.base import ImportFormat
from listener.mapping.report import MapReport, describe
from listener.mapping.text import clean_text, parse_time
from listener.mapping.x import tweet_url
from listener.post import Author, Batch, Interaction, Post

PLATFORM = "x"
SNOWFLAKE_EPOCH_MS = 1288834974657  # X's epoch: 2010-11-04T01:42:54.657Z
_FIRST_SNOWFLAKE = 1 << 32  # smaller ids predate snowflakes and carry no time
_MENTION = re.compile(r"(?<![\w@])@(\w{1,15})")
_SPEAKERS = re.compile(r"^(client\d*|agent\d*)$")


def handle_id(handle: str) -> str:
    return "@" + handle.lower()


def snowflake_time(tweet_id: str | int) -> datetime:
    """When X created the post with this id (millisecond precision)."""
    value = int(tweet_id)
    if value < _FIRST_SNOWFLAKE:
        raise ValueError(f"tweet id {tweet_id} predates X's time-stamped ids")
    return datetime.fromtimestamp(((value >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, UTC)


def _speaker(turn: dict[str, Any]) -> tuple[str, str]:
    """(role, handle) of a turn: its one `client`/`client1`/`agent` key."""
    found = [(k, v) for k, v in turn.items() if _SPEAKERS.match(k)]
    if len(found) != 1 or not isinstance(found[0][1], str) or not found[0][1].strip():
        raise ValueError("a turn needs exactly one client or agent handle")
    role, handle = found[0]
    return ("agent" if role.startswith("agent") else "client"), handle.strip().lstrip("@")


def _tweet_id(value: Any) -> str:
    text = str(value or "").strip()
    if not text.isdigit():
        raise ValueError(f"tweet_ID {str(value)[:30]!r} is not a numeric id")
    return text


def _turns(item: dict[str, Any]) -> list[tuple[str, str, str, datetime, dict[str, Any]]]:
    """(tweet id, handle, text, time, raw) per turn, the agent's closing URL reply last."""
    header = item.get("dialogHeader") or {}
    content = item.get("dialogContent")
    if not isinstance(content, list) or not content:
        raise ValueError("dialogContent is missing or empty")
    turns = []
    for number, turn in enumerate(content, start=1):
        if not isinstance(turn, dict):
            raise ValueError(f"turn {number} is not an object")
        try:
            _, handle = _speaker(turn)
            tid = _tweet_id(turn.get("tweet_ID"))
            when = parse_time(turn.get("datetime")) or snowflake_time(tid)
        except ValueError as exc:
            raise ValueError(f"turn {number}: {exc}") from None
        turns.append((tid, handle, str(turn.get("message") or ""), when, dict(turn)))
    closing = item.get("agentURL")
    if closing:
        company = str(header.get("company") or "").strip().lstrip("@")
        if not company:
            raise ValueError("dialogHeader has no company for the agent's closing reply")
        try:
            tid = _tweet_id(closing.get("tweet_ID"))
            when = snowflake_time(tid)
        except ValueError as exc:
            raise ValueError(f"agentURL: {exc}") from None
        raw = {"agent": company, **closing, "time_from": "tweet id"}
        turns.append((tid, company, str(closing.get("url_utterance") or ""), when, raw))
    return turns


def map_conversation(item: dict[str, Any], report: MapReport) -> Batch:
    """One conversation -> its posts (a reply chain), authors and interactions.

    Pure. Raises ValueError naming what is wrong; nothing of a malformed conversation is kept.
    """
    if not isinstance(item, dict):
        raise ValueError("a conversation must be an object")
    header = item.get("dialogHeader") or {}
    turns = _turns(item)
    batch = Batch()
    root = turns[0][0]
    previous: Post | None = None
    for tid, handle, message, when, raw in turns:
        text, changed = clean_text(message)
        report.repaired_text += changed
        author = handle_id(handle)
        raw["conversation"] = {"session": header.get("sessionID"), "company": header.get("company")}
        post = Post(PLATFORM, tid, author, text, when, url=tweet_url(tid, handle),
                    parent_native_id=previous.native_id if previous else None,
                    conversation_id=root, raw=raw)
        batch.posts.append(post)
        batch.authors.append(Author(PLATFORM, author, handle=handle))
        skip = {author}
        if previous is not None and previous.author_native_id != author:
            skip.add(previous.author_native_id)
            batch.interactions.append(Interaction(PLATFORM, "reply", author,
                                                  previous.author_native_id, when, tid,
                                                  previous.native_id))
        for m in _MENTION.finditer(text):
            target = handle_id(m.group(1))
            if target not in skip:
                skip.add(target)
                batch.interactions.append(Interaction(PLATFORM, "mention", author, target,
                                                      when, tid, None))
                batch.authors.append(Author(PLATFORM, target, handle=m.group(1)))
        previous = post
    return batch


def _array_items(text: str, line_of) -> Iterator[tuple[int, Any | str]]:
    """The elements of a top-level JSON array one at a time, each with its first line.

    Decoding element by element keeps every conversation before a syntax error.
    """
    decoder = json.JSONDecoder()
    ws = re.compile(r"\s*")
    pos = ws.match(text, 0).end()
    if text[pos : pos + 1] != "[":
        yield line_of(pos), "not a JSON array of conversations"
        return
    pos = ws.match(text, pos + 1).end()
    if text[pos : pos + 1] == "]":
        return
    while True:
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield line_of(exc.pos), f"not valid JSON ({exc.msg}); the rest of the file is unread"
            return
        yield line_of(pos), value
        pos = ws.match(text, end).end()
        sep = text[pos : pos + 1]
        if sep == "]":
            return
        if sep != ",":
            yield line_of(pos), "expected ',' or ']' between conversations; the rest is unread"
            return
        pos = ws.match(text, pos + 1).end()


def sniff(name: str, head: list[str]) -> bool:
    text = "".join(head).lstrip()
    return name.endswith(".json") and text.startswith("[") and any(
        key in text for key in ('"dialogContent"', '"dialogHeader"', '"agentURL"'))


def read(lines, report: MapReport):
    numbered = list(lines)
    starts, offset = [], 0
    for _, line in numbered:
        starts.append(offset)
        offset += len(line)
    text = "".join(line for _, line in numbered)
    first = numbered[0][0] if numbered else 1

    def line_of(pos: int) -> int:
        return first + max(0, bisect.bisect_right(starts, pos) - 1)

    for number, item in _array_items(text, line_of):
        if isinstance(item, str):
            yield number, item
            continue
        try:
            yield number, map_conversation(item, report)
        except Exception as exc:  # noqa: BLE001 - one bad conversation is reported, never fatal
            session = (item.get("dialogHeader") or {}).get("sessionID") if isinstance(item, dict) \
                else None
            yield number, f"conversation {session or '?'}: {describe(exc)}"


FORMAT = ImportFormat(
    name="support",
    description="customer-care conversations on X (IBM Twitter conversations dataset JSON)",
    sniff=sniff, read=read)
