from nlp.language import NOT_SCORED, breakdown, detect, scorable


def test_platform_tag_wins_over_the_detector():
    assert detect("where is my bag, it never arrived", "es") == "es"
    assert detect("where is my bag, it never arrived", "pt-BR") == "pt"


def test_detector_names_real_languages():
    assert detect("@united where is my bag? It never arrived at the carousel") == "en"
    assert detect("@Iberia mi vuelo fue cancelado otra vez y nadie me ayuda") == "es"
    assert detect("@lufthansa mein Koffer ist seit drei Tagen verschwunden") == "de"


def test_too_short_is_unknown_and_still_scored():
    assert detect("ok 👍 @user") == "und"
    assert detect("lol", "und") == "und"
    assert scorable("und") and scorable("en") and not scorable("es")


def test_breakdown_counts_what_is_not_scored():
    out = breakdown(["en", "en", "es", "und", "ja"])
    assert out == {"languages": {"en": 2, "es": 1, "und": 1, "ja": 1}, "not_scored": 2}
    assert breakdown(["es"], trained={"en", "es"})["not_scored"] == 0
    assert NOT_SCORED == "not scored (language)"


def test_trained_languages_come_from_the_setting_then_the_model_card():
    from nlp.language import ENGLISH_ONLY, trained_languages

    assert trained_languages("undertow-minilm-sent@0123") == ENGLISH_ONLY
    xlm = trained_languages("cardiffnlp/twitter-xlm-roberta-base-sentiment@abc")
    assert {"en", "es", "pt", "ar"} <= xlm and "ja" not in xlm
    assert trained_languages("any-model@1", "en, ES") == {"en", "es"}
    assert trained_languages("undertow-minilm-sent@0123", "any") is None
