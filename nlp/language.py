"""Each post's language: the platform's tag where it has one, else py3langid (model in its wheel).

Why it matters: the shipped sentiment model and encoder learned English only. A Spanish or
Japanese post scored as English gets a confident, meaningless label and joins an English theme,
so such posts are counted as "not scored (language)" instead (see `scorable`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["ENGLISH_ONLY", "LANGUAGE_LABEL", "NOT_SCORED", "breakdown", "detect", "platform_language",
           "record", "scorable", "trained_languages"]

ENGLISH_ONLY = frozenset({"en"})  # what all-MiniLM-L6-v2 and the shipped sentiment head learned
NOT_SCORED = "not scored (language)"
LANGUAGE_LABEL = "language"  # the stored sentiment label of a post not scored (language)
# Models known to have learnt more than English, by the start of their id (the model card's
# list). Any other model is taken as English-only unless UNDERTOW_SENTIMENT_LANGUAGES says.
KNOWN_MODELS = {
    "cardiffnlp/twitter-xlm-roberta-base-sentiment": frozenset(
        {"ar", "en", "fr", "de", "hi", "it", "es", "pt"}),
    "nlptown/bert-base-multilingual-uncased-sentiment": frozenset(
        {"en", "nl", "de", "fr", "it", "es"}),
}
UNKNOWN = "und"
_STRIP = re.compile(r"(?:https?://|www\.)\S+|(?<![\w@])@\w+|#|&\w+;")
_LETTER = re.compile(r"[^\W\d_]")
MIN_CONFIDENCE = 0.9
MIN_LETTERS = 12  # below this a detector guesses ("ok" comes back Afrikaans): call it unknown


# Tags a platform writes when a post has no language of its own: X's "und" (undetermined),
# "zxx" (no linguistic content), "qme" (media only), "qam" (mentions only), "qct" (cashtags
# only), "qht" (hashtags only), "qst" (very short), "qmt"; "art" (artificial); "mis"/"mul".
NOT_A_LANGUAGE = frozenset({"und", "zxx", "qme", "qam", "qct", "qht", "qst", "qmt", "art", "mis",
                            "mul"})
# Codes X still writes that ISO 639-1 retired (the detector and the model cards use the new ones).
_RETIRED = {"in": "id", "iw": "he", "ji": "yi", "jw": "jv"}
_CODE = re.compile(r"[a-z]{2,3}")
PLATFORM, DETECTOR = "platform", "detector"  # which source gave a recorded language


def platform_language(tag: str | None) -> str | None:
    """The language a platform's tag names ("pt-BR" -> "pt", X's "in" -> "id"), or None where
    it names none (absent, "und", "zxx", "qme", ... or not a language code at all)."""
    if not isinstance(tag, str):
        return None
    code = tag.strip().replace("_", "-").split("-")[0].lower()
    if not _CODE.fullmatch(code) or code in NOT_A_LANGUAGE or (len(code) == 3 and code[0] == "q"):
        return None  # "qaa".."qtz" are ISO 639's private-use codes; X's "q.." tags are those
    return _RETIRED.get(code, code)


def record(text: str, platform_tag: str | None = None) -> tuple[str, str]:
    """(language, source): the platform's tag when it names a language, else the detector's
    answer ("und" when the text is too short to tell), and which of the two gave it."""
    tagged = platform_language(platform_tag)
    if tagged is not None:
        return tagged, PLATFORM
    return _detected(text), DETECTOR


def detect(text: str, platform_tag: str | None = None) -> str:
    """ISO 639-1 code ("en"), or "und" when the text is too short to tell."""
    return record(text, platform_tag)[0]


def _detected(text: str) -> str:
    body = _STRIP.sub(" ", text)
    if len(_LETTER.findall(body)) < MIN_LETTERS:
        return UNKNOWN
    lang, prob = _identifier().classify(body)
    # Below this a short English tweet can come back as Nigerian Pidgin or Scots: "unknown" is
    # the honest answer, and unknown posts are scored.
    return str(lang) if prob >= MIN_CONFIDENCE else UNKNOWN


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def scorable(language: str, trained: Iterable[str] = ENGLISH_ONLY) -> bool:
    """Whether a model trained on `trained` may score a post in `language`. Unknown (too short
    to tell) passes: short posts are mostly emoji, handles and English words."""
    return language == UNKNOWN or language in set(trained)


def breakdown(languages: Iterable[str], trained: Iterable[str] = ENGLISH_ONLY) -> dict:
    """Posts per language, and how many the model would not score."""
    counts = Counter(languages)
    trained = set(trained)
    return {"languages": dict(counts.most_common()),
            "not_scored": sum(c for lang, c in counts.items() if not scorable(lang, trained))}


def trained_languages(model_version: str, setting: str = "") -> frozenset[str] | None:
    """The languages a sentiment model may score: `setting` (UNDERTOW_SENTIMENT_LANGUAGES: codes
    separated by commas, or "any"), else the model card's list for a known multilingual model,
    else English (the bundled model and most models by name). None means every language."""
    if setting.strip().lower() == "any":
        return None
    if setting.strip():
        return frozenset(code.strip().lower() for code in setting.split(",") if code.strip())
    for prefix, langs in KNOWN_MODELS.items():
        if model_version.startswith(prefix):
            return langs
    return ENGLISH_ONLY
