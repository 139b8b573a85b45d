"""The static encoder (nlp/static_embed.py): distilled offline from the shipped all-MiniLM-L6-v2,
deterministic, and near for paraphrases, far for unrelated posts (real posts, shared data).

The table is distilled once into pytest's cache folder (about a minute of CPU the first time on
an idle machine; over ten minutes were seen at load average 20 on two cores, hence the timeout),
then read back in well under a second, so reruns cost seconds. The static encoder is a measured
experiment, not shipped (docs/themes.md), so the tests that distil it run with the training
tests (`make test-training`), not in `make test`.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nlp.embed import STATIC_ENCODER, encoder_name, load_encoder
from nlp.static_embed import (
    StaticEncoder,
    _model_folder,
    load_transformer,
    token_vectors,
    zipf_weights,
)
from nlp.theme_model import clean


@pytest.fixture(scope="module")
def encoder(request):
    mp = pytest.MonkeyPatch()
    # Offline: any hub call would fail instead of downloading.
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("TRANSFORMERS_OFFLINE", "1")
    enc = StaticEncoder(cache_dir=request.config.cache.mkdir("static-encoder"))
    enc.encode(["load"])
    yield enc
    mp.undo()


def _airline(shared_data, *starts: str) -> list[str]:
    tweets = pd.read_csv(shared_data / "airline" / "Tweets.csv").text
    return [tweets[tweets.str.startswith(s)].iloc[0] for s in starts]


def _support(shared_data, *starts: str) -> list[str]:
    turns = [t["message"] for c in json.loads((shared_data / "support" / "dev.json").read_text())
             for t in c["dialogContent"] if "client" in t]
    turns += [t["message"] for c in json.loads((shared_data / "support" / "test.json").read_text())
              for t in c["dialogContent"] if "client" in t]
    return [next(t for t in turns if t.startswith(s)) for s in starts]


def test_the_name_static_gives_the_static_encoder():
    assert encoder_name("static") == STATIC_ENCODER == "static:all-MiniLM-L6-v2"
    assert encoder_name("") == encoder_name(None) == "all-MiniLM-L6-v2"
    assert isinstance(load_encoder("static"), StaticEncoder)  # not loaded until it encodes
    assert load_encoder("static") is load_encoder(STATIC_ENCODER)


@pytest.mark.training
@pytest.mark.timeout(1800)  # the first run distils (see above)
def test_loads_from_the_shipped_model_and_is_deterministic(encoder, shared_data):
    texts = [clean(t) for t in pd.read_csv(shared_data / "airline" / "Tweets.csv").text[:300]]
    vectors = encoder.encode(texts)
    assert vectors.shape == (300, 256) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Another instance reading the same table, other batches, another order: the same vectors.
    again = StaticEncoder(cache_dir=encoder.cache_dir)
    assert np.array_equal(again.encode(texts[::-1])[::-1], vectors)
    assert np.array_equal(np.concatenate([again.encode(texts[:7]), again.encode(texts[7:])]),
                          vectors)
    # Caching each chunk's pieces changes nothing: the same ids as the whole-text tokenizer.
    whole = encoder._tokenizer.encode_batch(texts, add_special_tokens=False)
    assert encoder.pieces(texts) == [[i for i in e.ids if encoder._kept[i]] for e in whole]


@pytest.mark.training
@pytest.mark.timeout(1800)
def test_the_table_is_the_recipe_on_the_shipped_transformer(encoder):
    """Recompute 64 rows from the transformer (loading it is most of this test's seconds)."""
    model, vocab = load_transformer(_model_folder(encoder.base))
    ids = np.random.default_rng(0).choice(np.flatnonzero(encoder._kept), 64, replace=False)
    data = encoder.data
    rows = ((token_vectors(model, vocab, ids) - data["mean"]) @ data["components"].T
            * zipf_weights(len(encoder._kept))[ids, None])
    assert np.allclose(rows, encoder._table[ids], atol=2e-4)


@pytest.mark.training
@pytest.mark.timeout(1800)
def test_paraphrases_are_near_and_unrelated_posts_far(encoder, shared_data):
    lost = _airline(shared_data, "@VirginAmerica everything was fine until you lost my bag",
                    "@united ok. To top things off, you've lost my luggage")
    hold = _airline(shared_data, "@united yr team have me on hold for over an hour",
                    "@united Apart from being on hold for over 2 hours")
    other = _support(shared_data, "why is someone from russia logging into my spotify",
                     "When I export a video project as a mp4")
    v = encoder.encode([clean(t) for t in lost + hold + other])
    sim = v @ v.T
    # Each complaint's paraphrase is nearer to it than either unrelated post. The margins are
    # thin (2026-12-03: 0.696-0.711 against up to 0.703, the on-hold tweet and the video
    # export): the quality gap docs/themes.md#a-static-encoder-measured-not-shipped reports.
    for i, j in ((0, 1), (1, 0), (2, 3), (3, 2)):
        assert sim[i, j] > max(sim[i, 4], sim[i, 5]), (i, sim[i].round(3))
    assert sim[0, 1] > 0.6 and sim[2, 3] > 0.6
    assert max(sim[0, 4], sim[0, 5]) < 0.5  # a lost bag and a Spotify login: far
