"""Text hygiene shared by every mapper: what the store will accept and what users will read."""

from __future__ import annotations

import codecs
import html
from datetime import UTC, datetime

import ftfy


def _legacy(exc: UnicodeDecodeError) -> tuple[str, int]:
    """Decode bytes that are not UTF-8 as Windows-1252 (Latin-1 where cp1252 has a hole)."""
    chunk = exc.object[exc.start : exc.end]
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in chunk), exc.end


# `raw.decode("utf-8", errors=LEGACY)`: valid UTF-8 stays, the other bytes are read as the
# legacy encoding real archives nearly always hold, instead of becoming U+FFFD.
LEGACY = "undertow-legacy"
codecs.register_error(LEGACY, _legacy)

# Only what is broken: mojibake (UTF-8 read as Latin-1/cp1252, possibly twice), C1 controls
# that are really cp1252 punctuation. Curly quotes, full-width punctuation, ligatures, CR and
# the Unicode normal form are what people wrote: left alone.
_REPAIR = ftfy.TextFixerConfig(
    unescape_html=False, remove_terminal_escapes=False, uncurl_quotes=False,
    fix_latin_ligatures=False, fix_character_width=False, fix_line_breaks=False,
    fix_surrogates=True, remove_control_chars=False, normalization=None, explain=False)


def clean_text(text: str | None) -> tuple[str, bool]:
    """Repair mojibake and drop characters PostgreSQL cannot store; returns (text, changed).

    X and Reddit send &amp; &lt; &gt; escaped; we store the text people wrote and escape it
    again wherever it is shown as HTML.
    """
    if text is None:
        return "", False
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, not {type(text).__name__}")
    fixed = html.unescape(text) if "&" in text and "<" not in text else text
    if not fixed.isascii():
        fixed = ftfy.fix_text(fixed, config=_REPAIR)
    if "\x00" in fixed:
        fixed = fixed.replace("\x00", "\ufffd")
    return fixed, fixed != text


def parse_time(value: str | float | None) -> datetime | None:
    """ISO 8601 (with Z), unix seconds, or the few formats our sources use; always aware UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    s = str(value).strip()
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        for fmt in ("%Y-%m-%d %H:%M:%S %z", "%a %b %d %H:%M:%S %z %Y"):
            try:
                dt = datetime.strptime(s, fmt)
                break
            except ValueError:
                continue
        else:
            try:
                return datetime.fromtimestamp(float(s), UTC)
            except ValueError:
                raise ValueError(f"unreadable time {s[:40]!r}") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def as_int(value) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
        return int(number) if abs(number) < 2**63 else None  # NaN and infinity fail this too
    except (TypeError, ValueError, OverflowError):
        return None
