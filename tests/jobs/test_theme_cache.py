"""The themes job's vector cache: each text embedded once, a run writes only what it embedded,
and the single-file cache of before is read. The shipped encoder, real files."""

import numpy as np

from listener.jobs.theme_cache import VectorCache, _key
from nlp.embed import DEFAULT_ENCODER, load_encoder

TEXTS = ["lost my bag again", "on hold for two hours", "refund never came", "app crashes"]


def test_a_run_adds_a_segment_of_what_it_embedded_and_reads_the_rest(tmp_path):
    encoder = load_encoder(DEFAULT_ENCODER)
    first = VectorCache(tmp_path, encoder.name)
    a = first.encode(encoder, TEXTS[:2])
    assert first.computed == 2
    second = VectorCache(tmp_path, encoder.name)  # the next run: a fresh object, same folder
    b = second.encode(encoder, TEXTS)
    assert second.computed == 2 and np.allclose(b[:2], a)
    segments = sorted(second.folder.glob("*.keys.npy"))
    assert [len(np.load(p)) for p in segments] == [2, 2]  # nothing rewritten
    third = VectorCache(tmp_path, encoder.name)
    assert np.array_equal(third.encode(encoder, TEXTS[::-1]), b[::-1]) and third.computed == 0


def test_the_single_file_cache_of_before_becomes_the_first_segment(tmp_path):
    encoder = load_encoder(DEFAULT_ENCODER)
    vectors = np.asarray(encoder.encode(TEXTS), dtype=np.float32)
    cache = VectorCache(tmp_path, encoder.name)
    np.savez(cache.legacy, keys=np.array([_key(t) for t in TEXTS]), vectors=vectors)
    got = cache.encode(encoder, TEXTS)
    assert cache.computed == 0 and np.array_equal(got, vectors) and not cache.legacy.exists()


def test_many_runs_are_merged_into_one_segment(tmp_path, monkeypatch):
    from listener.jobs import theme_cache

    monkeypatch.setattr(theme_cache, "MAX_SEGMENTS", 3)
    encoder = load_encoder(DEFAULT_ENCODER)
    texts = [f"my flight {i} was late" for i in range(6)]
    for t in texts:
        VectorCache(tmp_path, encoder.name).encode(encoder, [t])
    cache = VectorCache(tmp_path, encoder.name)
    assert len(list(cache.folder.glob("*.keys.npy"))) <= 3
    assert np.allclose(cache.encode(encoder, texts), encoder.encode(texts), atol=1e-5)
    assert cache.computed == 0


def test_a_digest_ending_in_zero_bytes_is_found_again(tmp_path):
    """1 in 256 SHA-1 digests ends with a zero byte: the keys file keeps all 20 bytes."""
    encoder = load_encoder(DEFAULT_ENCODER)
    texts = [f"delayed again {i}" for i in range(2000)]
    ending = [t for t in texts if _key(t).endswith("00")][:3]
    assert ending
    VectorCache(tmp_path, encoder.name).encode(encoder, ending)
    again = VectorCache(tmp_path, encoder.name)
    again.encode(encoder, ending)
    assert again.computed == 0
