"""Untrusted text (handles, names, post text, titles built from them) made inert at each edge.

Every place that shows such text to something that interprets it calls one of these:
- `one_line`: email headers and terminal lines. CR/LF would end a header (building the Subject
  raises, and the message is retried for ever) or forge a table row; other control characters
  (ESC sequences, bidi overrides) would drive the reader's terminal.
- `spreadsheet_cell`: CSV cells. A cell that starts with = + - @ (or a tab/CR) is a formula to
  Excel and LibreOffice; a leading apostrophe makes it text (OWASP's advice).
Pure and dependency-free, so the dashboard, the CLI and the alerts share it.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["one_line", "spreadsheet_cell", "terminal_text"]

# C0 (but tab and newline), DEL, C1, line/paragraph separators and the bidi controls.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return chr(0x2400 + code) if code < 0x20 else "\u2421" if code == 0x7F else "\ufffd"


def terminal_text(text: object) -> str:
    """Control characters shown as symbols (␍, ␛, ...); newlines and tabs kept."""
    return _CONTROL.sub(_visible, str(text))


def one_line(text: object) -> str:
    """One line with no control character: whitespace runs (CR, LF, tab) become one space."""
    flat = " ".join(str(text).replace("\r", " ").replace("\n", " ").split())
    return "".join("\ufffd" if unicodedata.category(c) == "Cc" else c
                   for c in _CONTROL.sub(_visible, flat))


def spreadsheet_cell(value: object) -> object:
    """A text cell a spreadsheet will not evaluate; other values unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
