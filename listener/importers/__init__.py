"""File import: detect a format, map records to Batches, upsert them, report what happened.

Adding a format means one module with a `FORMAT` (an `ImportFormat`) and one line in `FORMATS`.
Each format reads decoded lines and yields `(line_number, Batch | error message)`, so a bad
record is reported with its line and the rest of the file is still imported.
"""

from __future__ import annotations

import gzip
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from listener.errors import ImportFormatError
from listener.importers import (
    activity,
    airline,
    generic,
    reddit_dump,
    reddit_json,
    support,
    twarc,
)
from listener.importers.base import ImportFormat
from listener.mapping.report import MapReport, describe
from listener.mapping.text import LEGACY
from listener.post import Batch

FORMATS: list[ImportFormat] = [
    airline.FORMAT,
    twarc.FORMAT,
    reddit_json.FORMAT,
    reddit_dump.FORMAT,
    support.FORMAT,
    generic.CSV_FORMAT,
    generic.JSONL_FORMAT,
    activity.FORMAT,
]

MAX_LISTED_PROBLEMS = 20  # what the CLI prints; the report keeps up to MAX_KEPT_PROBLEMS
MAX_KEPT_PROBLEMS = 1_000_000




@dataclass
class ImportReport:
    path: str
    format: str
    records: int = 0
    imported: int = 0
    updated: int = 0
    authors: int = 0
    interactions: int = 0
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    bad_line_count: int = 0
    encoding_replaced: int = 0
    text_repaired: int = 0
    skipped_items: Counter = field(default_factory=Counter)
    skipped_details: list[str] = field(default_factory=list)

    @property
    def skipped_count(self) -> int:
        """Records and items left out, each one listed in `bad_lines` or `skipped_details`."""
        return self.bad_line_count + sum(self.skipped_items.values())

    def add_bad(self, number: int, reason: str) -> None:
        self.bad_line_count += 1
        if len(self.bad_lines) < MAX_KEPT_PROBLEMS:
            self.bad_lines.append((number, reason))

    def add_skipped(self, reasons: list[str]) -> None:
        for reason in reasons:
            self.skipped_items[reason.split(":")[0].split(" ")[0]] += 1
            if len(self.skipped_details) < MAX_KEPT_PROBLEMS:
                self.skipped_details.append(reason)

    def as_dict(self) -> dict:
        return {
            "path": self.path, "format": self.format, "imported": self.imported,
            "updated": self.updated, "authors": self.authors, "interactions": self.interactions,
            "bad_lines": self.bad_line_count, "encoding_replaced": self.encoding_replaced,
            "text_repaired": self.text_repaired, "skipped_items": sum(self.skipped_items.values()),
        }


def _open_binary(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == b"\x28\xb5\x2f\xfd":  # zstandard: how Pushshift and Arctic Shift ship dumps
        import zstandard

        raw = open(path, "rb")  # noqa: SIM115 - closed with the reader that wraps it
        return zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(raw, closefd=True)
    return gzip.open(path, "rb") if magic[:2] == b"\x1f\x8b" else open(path, "rb")


def _lines_of(fh) -> Iterator[bytes]:
    """Lines of any binary reader (a zstd stream cannot iterate lines itself)."""
    tail = b""
    while block := fh.read(1 << 16):  # small blocks: a damaged file loses little before the damage
        lines = (tail + block).split(b"\n")
        tail = lines.pop()
        for line in lines:
            yield line + b"\n"
    if tail:
        yield tail


def decoded_lines(path: Path, report: ImportReport) -> Iterator[tuple[int, str]]:
    """UTF-8 lines with their numbers.

    Bytes that are not UTF-8 are, in real archives, nearly always Windows-1252 or Latin-1 text:
    they are decoded as that (and counted) instead of becoming U+FFFD. A corrupt or truncated
    compressed file ends the read with a listed problem rather than a traceback.
    """
    number = 0
    try:
        with _open_binary(path) as fh:
            for number, raw in enumerate(_lines_of(fh), start=1):
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                try:
                    yield number, raw.decode("utf-8")
                except UnicodeDecodeError:
                    report.encoding_replaced += 1
                    yield number, raw.decode("utf-8", errors=LEGACY)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        report.add_bad(number + 1, f"the file is corrupt or truncated here ({describe(exc)}); "
                       "the rest of it is unread")


def detect(path: Path) -> ImportFormat:
    probe = ImportReport(str(path), "?")
    head: list[str] = []
    for _, line in decoded_lines(path, probe):
        head.append(line)
        if len(head) >= 5:
            break
    for fmt in FORMATS:
        if fmt.sniff(path.name.lower().removesuffix(".gz").removesuffix(".zst"), head):
            return fmt
    names = ", ".join(f.name for f in FORMATS)
    raise ImportFormatError(f"Cannot tell the format of {path}: pass --format ({names})")


def get_format(name: str) -> ImportFormat:
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    names = ", ".join(f.name for f in FORMATS)
    raise ImportFormatError(f"Unknown format {name!r}: choose one of {names}")


def import_file(store, path: str | Path, fmt: str | None = None, *, chunk: int = 5000,
                progress: bool = False) -> ImportReport:
    """Import one file into `store`; re-importing the same file updates, never duplicates."""
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(f"No such file: {path}")
    format_ = get_format(fmt) if fmt else detect(path)
    report = ImportReport(str(path), format_.name)
    mapped = MapReport()
    pending = Batch()
    bar = tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc=f"Importing {path.name}",
               disable=not progress, leave=False)

    authors: set[int] = set()  # an author recurs across batches: count each once

    def flush() -> None:
        result = store.write(pending)
        report.imported += result.inserted
        report.updated += result.updated
        authors.update(result.author_ids)
        report.authors = len(authors)
        report.interactions += result.interactions
        report.add_skipped(result.skipped)
        pending.posts.clear()
        pending.authors.clear()
        pending.interactions.clear()

    def lines() -> Iterator[tuple[int, str]]:
        for number, line in decoded_lines(path, report):
            bar.update(len(line.encode("utf-8", "replace")))
            last[0] = number
            yield number, line

    last = [0]
    try:
        for number, item in format_.read(lines(), mapped):
            report.records += 1
            if isinstance(item, str):
                report.add_bad(number, item)
                continue
            pending.extend(item)
            if len(pending.posts) >= chunk or len(pending.interactions) >= 4 * chunk:
                flush()
    except Exception as exc:  # noqa: BLE001 - a reader's own bug: keep what it read, say where
        report.add_bad(last[0], f"the {format_.name} reader stopped ({describe(exc)}); "
                       "the rest of the file is unread")
    flush()
    bar.close()
    report.text_repaired = mapped.repaired_text
    report.add_skipped(mapped.skipped)
    return report
