"""Social text normalisation, applied identically at training and scoring time.

The shipped model was trained on text passed through :func:`normalise`; scoring raw text would
shift its inputs away from what it learned. The rules follow the TweetEval convention (handles to
``@user``, links to ``http``) so Hugging Face tweet models get what they expect too.
"""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = ["normalise"]

# SemEval's organisers left JSON escapes in the text as literal characters: "I\u2019m", "shit\u002c".
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w+")
# Three or more of the same character become two: "soooo" -> "soo", "!!!!!" -> "!!". Two keeps
# words such as "good" intact while still marking emphasis.
_REPEAT = re.compile(r"(.)\1{2,}", re.DOTALL)
_SPACE = re.compile(r"\s+")
# Joiners and variation selectors carry no meaning once the emoji are named.
_INVISIBLE = dict.fromkeys([0x200D, 0xFE0E, 0xFE0F, 0x20E3], None)


def _decode_escapes(text: str) -> str:
    if "\\u" not in text:
        return text
    decoded = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    # Astral characters arrive as escaped surrogate pairs ("\ud83d\ude02"); join them.
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return code >= 0x2190 and unicodedata.category(char) == "So"


def _name_emoji(text: str) -> str:
    """Spell emoji as words: the encoder's vocabulary has no emoji, and their names carry sentiment.

    Uses the Unicode name ("face with tears of joy"), so no emoji table has to be installed.
    """
    if text.isascii():
        return text
    out = []
    for char in text.translate(_INVISIBLE):
        if _is_emoji(char):
            name = unicodedata.name(char, "")
            out.append(f" {name.lower()} " if name else " ")
        else:
            out.append(char)
    return "".join(out)


def normalise(text: str) -> str:
    """Normalise one social post: escapes and entities decoded, handles to ``@user``, links to
    ``http``, emoji named, character runs squeezed, whitespace collapsed."""
    text = html.unescape(_decode_escapes(text))
    text = _URL.sub("http", text)
    text = _HANDLE.sub("@user", text)
    text = _name_emoji(text)
    text = _REPEAT.sub(r"\1\1", text)
    return _SPACE.sub(" ", text).strip()
