"""Complaint themes found in the data: embed, cluster, name with class-based TF-IDF, keep stable.

Why the features are what they are (bench/themes.py measures each step on the airline negatives):
- handles, links and the brand's own names are stripped before embedding: in a 15-word tweet
  "@united" and "@AmericanAir" pull the sentence vector towards the brand, not the complaint
  (AMI of k-means on MiniLM vectors 0.17 raw, 0.24 stripped);
- the vectors are centred (the mean vector, "a complaint to an airline", is common to all) and
  joined to a 100-dimension LSA of the TF-IDF of the same text, because customers name their
  complaint in a few words ("lost bag", "on hold") that mean pooling dilutes;
- the number of themes is chosen by the silhouette on the data, never by labels.

Stability: a fitted model keeps its centroids; `update` re-clusters old and new posts starting
from the old centroids, so a theme keeps its id (and name) unless the data moves it, and adds a
theme only when enough new posts sit far from every old one. Retweets and copies count once:
texts are deduplicated on their stripped, lower-cased form before clustering.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

__all__ = ["NewAssignment", "Theme", "ThemeModel", "adds_themes", "assign_new", "clean", "fit",
           "fit_assign", "update", "STOPWORDS"]

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w+")
_RT = re.compile(r"^(?:RT\s+@\w+:\s*)+", re.IGNORECASE)
_TOKEN = re.compile(r"[a-z][a-z']+")
_SPACE = re.compile(r"\s+")
_STOP = """
a about above after again all am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
during each few for from further get got had hadn't has hasn't have haven't having he her here
hers him his how i i'm i've if in into is isn't it it's its just let's me more most my myself no
nor not now of off on once only or other our ours out over own rt same she should so some such
than that that's the their them then there there's these they they're this those through to too
under until up us very was wasn't we we're were weren't what when where which while who whom why
will with won't would you you're your yours im ur u thanks thank please amp via one still even
also really today just like know get going go been being ve ll re don didn doesn isn wasn
"""
STOPWORDS = frozenset(_STOP.split())
SEED = 0
K_RANGE = (6, 20)  # themes a brand team can read; the silhouette picks within it
LSA_DIM = 100
LSA_WEIGHT = 0.5  # the keyword part's weight against the unit-length sentence vector
FIT_SAMPLE = 20_000  # distinct posts the vocabulary, LSA and centres are learnt from
NEW_THEME_MIN = 30  # far-away new posts needed before a new theme is added
FAR_SHARE = 0.05  # a theme's outer members: its 5% least similar


def clean(text: str, skip: Iterable[str] = ()) -> str:
    """What a theme is about: no retweet prefix, handles, links, hashtag signs or brand names."""
    text = _HANDLE.sub(" ", _URL.sub(" ", _RT.sub("", text))).replace("#", " ")
    if skip:
        text = _skip_pattern(tuple(skip)).sub(" ", text)
    return _SPACE.sub(" ", text).strip()


@lru_cache(maxsize=64)
def _skip_pattern(skip: tuple[str, ...]) -> re.Pattern:
    """One regex for all of a brand's names (longest first, so "southwestair" goes whole):
    100,000 posts x 11 names as separate substitutions took half the time of a fit."""
    words = sorted({w for w in skip if w}, key=lambda w: (-len(w), w))
    if not words:
        return re.compile(r"(?!x)x")
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)


def _terms(text: str) -> list[str]:
    words = [w for w in _TOKEN.findall(text.lower()) if w not in STOPWORDS and len(w) > 2]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words) if a != b]


@dataclass
class Theme:
    id: int
    name: str
    terms: list[str]
    size: int  # distinct texts (copies count once)
    examples: list[str]


@dataclass
class ThemeModel:
    """Fitted themes: centroids in feature space plus the keyword transform that made them."""

    themes: list[Theme]
    centroids: np.ndarray
    vectorizer: object
    svd: object
    mean: np.ndarray
    next_id: int
    skip: tuple[str, ...] = ()
    radius: dict[int, float] = field(default_factory=dict)  # its FAR_SHARE-quantile member similarity
    # What `assign_new` needs to take the same Lloyd step as `update` without the old posts:
    # per theme (in `themes` order) the sum of its distinct members' features and their count,
    # and the sorted 64-bit hashes of every distinct text seen (copies count once). None on a
    # model saved before these existed: its next `update` fills them.
    sums: np.ndarray | None = None
    counts: np.ndarray | None = None
    seen: np.ndarray | None = None

    def features(self, cleaned: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        return _features(cleaned, vectors, self.vectorizer, self.svd, self.mean)

    def assign(self, cleaned: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """Theme id of each text: its nearest centroid (no re-clustering)."""
        if not len(cleaned):
            return np.zeros(0, dtype=int)
        feats = self.features(cleaned, vectors)
        ids = np.array([t.id for t in self.themes])
        return ids[np.argmax(feats @ self.centroids.T, axis=1)]

    def by_id(self) -> dict[int, Theme]:
        return {t.id: t for t in self.themes}


def _text_keys(uniq: Sequence[str]) -> np.ndarray:
    """64-bit keys of lower-cased cleaned texts (the `_dedupe` identity), stable across runs."""
    import hashlib

    return np.array([int.from_bytes(hashlib.blake2b(t.lower().encode("utf-8", "surrogatepass"),
                                                    digest_size=8).digest(), "big")
                     for t in uniq], dtype=np.uint64)


def _members(labels: np.ndarray, feats: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per theme index: the sum of its members' features, and how many there are."""
    sums = np.zeros((k, feats.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, feats)
    return sums, np.bincount(labels, minlength=k).astype(np.int64)


def adds_themes(far: int, fresh: int, new_min: int = NEW_THEME_MIN) -> bool:
    """The split/add rule: far more new distinct texts than chance (`FAR_SHARE` of `fresh`)
    lie beyond every theme's outer members, and at least `new_min` of them."""
    return far >= max(new_min, 3 * FAR_SHARE * fresh)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


def _features(cleaned, vectors, vectorizer, svd, mean) -> np.ndarray:
    """[unit(vector - mean), LSA_WEIGHT * unit(LSA)], unit length: written in place into one
    array (the same numbers as stacking the parts, without three 100,000-row copies)."""
    vectors = np.asarray(vectors)
    lsa = svd.transform(vectorizer.transform([c.lower() for c in cleaned]))
    out = np.empty((len(vectors), vectors.shape[1] + lsa.shape[1]), dtype=np.float64)
    dense, tail = out[:, :vectors.shape[1]], out[:, vectors.shape[1]:]
    np.subtract(vectors, mean, out=dense, dtype=np.float64)
    _unit_in_place(dense)
    tail[:] = lsa
    _unit_in_place(tail)
    tail *= LSA_WEIGHT
    return _unit_in_place(out)


def _unit_in_place(x: np.ndarray) -> np.ndarray:
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)
    return x


def _dedupe(cleaned: Sequence[str]) -> tuple[list[int], np.ndarray]:
    """Index of each distinct text's first copy, and for every text its distinct index."""
    first: dict[str, int] = {}
    keep, where = [], np.empty(len(cleaned), dtype=int)
    for i, text in enumerate(cleaned):
        key = text.lower()
        if key not in first:
            first[key] = len(keep)
            keep.append(i)
        where[i] = first[key]
    return keep, where


def _choose_k(feats: np.ndarray, k_range: tuple[int, int]) -> int:
    """The k in range with the best silhouette (cosine, on a fixed sample): a data criterion."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    lo, hi = k_range
    hi = min(hi, max(2, len(feats) // 10))
    if hi <= lo:
        return max(2, min(lo, len(feats) - 1))
    best, best_k = -2.0, lo
    # The search runs on a fixed sample: the silhouette's ranking of k settles well before 4,000.
    rng = np.random.default_rng(SEED)
    sample = feats[rng.choice(len(feats), min(4000, len(feats)), replace=False)]
    for k in range(lo, hi + 1, 2):
        labels = KMeans(k, n_init=1, random_state=SEED).fit_predict(sample)
        score = silhouette_score(sample, labels, sample_size=min(3000, len(sample)),
                                 random_state=SEED)
        if score > best:
            best, best_k = score, k
    return best_k


def _name(members: list[list[str]], all_df: Counter, n_classes: int,
          avg_words: float) -> list[str]:
    """Top terms by class-based TF-IDF (BERTopic's c-TF-IDF): frequent here, rare elsewhere."""
    tf = Counter(itertools.chain.from_iterable(members))
    total = sum(tf.values()) or 1
    scores = {t: c / total * np.log(1 + avg_words / all_df[t]) for t, c in tf.items() if c >= 2}
    out: list[str] = []
    seen: set[str] = set()
    for term in sorted(scores, key=lambda t: (-scores[t], t)):
        words = set(term.split())
        if words <= seen:
            continue  # "lost bag" after "lost" and "bag" says nothing new
        if " " not in term and any(term in o.split() for o in out):
            continue
        out.append(term)
        seen |= words
        if len(out) == 4:
            break
    return out


def _describe(ids, labels, feats, centroids, cleaned, originals) -> list[Theme]:
    terms = [_terms(c) for c in cleaned]
    # Class frequency of each term across the clusters: the "IDF" of c-TF-IDF.
    by_class: dict[int, list[list[str]]] = {i: [] for i in ids}
    for lab, t in zip(labels, terms, strict=True):
        by_class[ids[lab]].append(t)
    class_tf = {i: Counter(itertools.chain.from_iterable(m)) for i, m in by_class.items()}
    all_tf: Counter = Counter()
    for c in class_tf.values():
        all_tf.update(c)
    avg = sum(all_tf.values()) / max(len(class_tf), 1)
    themes = []
    for j, theme_id in enumerate(ids):
        members = np.flatnonzero(labels == j)
        words = _name(by_class[theme_id], all_tf, len(ids), avg) if len(members) else []
        themes.append(Theme(int(theme_id), " · ".join(words[:3]) or f"theme {theme_id}", words,
                            int(len(members)), _examples(labels, feats, centroids, j, originals)))
    return themes


def _examples(labels, feats, centroids, j: int, originals) -> list[str]:
    """The three posts nearest the theme's centre: its most representative."""
    members = np.flatnonzero(labels == j)
    near = members[np.argsort(-(feats[members] @ centroids[j]))][:3] if len(members) else []
    return [originals[i] for i in near]


def _radius(labels, feats, centroids, ids) -> dict[int, float]:
    out = {}
    for j, theme_id in enumerate(ids):
        sims = feats[labels == j] @ centroids[j]
        out[int(theme_id)] = float(np.quantile(sims, FAR_SHARE)) if len(sims) else 1.0
    return out


def fit_assign(texts: Sequence[str], vectors: np.ndarray, skip: Iterable[str] = (),
               k: int | None = None, k_range: tuple[int, int] = K_RANGE,
               cleaned: Sequence[str] | None = None) -> tuple[ThemeModel, np.ndarray]:
    """`fit`, and each text's theme id (what `labels_of` would say, without computing every
    post's features a second time). `cleaned`: `clean(text, skip)` of each, if the caller has
    it (it embedded those)."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    skip = tuple(skip)
    if cleaned is None:
        cleaned = [clean(t, skip) for t in texts]
    keep, where = _dedupe(cleaned)
    if len(keep) < 4:
        raise ValueError(f"themes need at least 4 distinct posts, got {len(keep)}")
    uniq = [cleaned[i] for i in keep]
    vecs = np.asarray(vectors)[keep]
    # Above FIT_SAMPLE distinct posts the vocabulary, the LSA and the centres are learnt from a
    # fixed sample and every post then takes one Lloyd step with them: 100,000 posts cost about
    # what 20,000 do, and k themes of 20,000 posts are already well placed.
    learn = np.arange(len(uniq)) if len(uniq) <= FIT_SAMPLE else np.sort(
        np.random.default_rng(SEED).choice(len(uniq), FIT_SAMPLE, replace=False))
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=min(3, len(learn)),
                                 stop_words="english", sublinear_tf=True)
    tfidf = vectorizer.fit_transform([uniq[i].lower() for i in learn])
    if tfidf.shape[1] < 2:
        raise ValueError("themes need posts that share at least two words (a few posts, "
                         f"{tfidf.shape[1]} shared)")
    svd = TruncatedSVD(min(LSA_DIM, max(1, min(tfidf.shape) - 1)), random_state=SEED).fit(tfidf)
    mean = vecs.astype(np.float64).mean(0)
    feats = _features(uniq, vecs, vectorizer, svd, mean)
    k = k or _choose_k(feats[learn], k_range)
    km = KMeans(k, n_init=3, random_state=SEED).fit(feats[learn])
    centroids = _unit(km.cluster_centers_)
    labels = np.argmax(feats @ centroids.T, axis=1)
    if len(learn) < len(uniq):
        centroids = _unit(np.array([feats[labels == j].mean(0) if np.any(labels == j)
                                    else centroids[j] for j in range(k)]))
        labels = np.argmax(feats @ centroids.T, axis=1)
    # Ids by size, largest first, so theme 1 is the biggest in the first run.
    order = np.argsort(-np.bincount(labels, minlength=k), kind="stable")
    centroids, remap = centroids[order], np.argsort(order)
    labels = remap[labels]
    ids = list(range(1, k + 1))
    themes = _describe(ids, labels, feats, centroids, uniq, [texts[i] for i in keep])
    model = ThemeModel(themes, centroids, vectorizer, svd, mean, k + 1, skip,
                       _radius(labels, feats, centroids, ids), *_members(labels, feats, k),
                       np.sort(_text_keys(uniq)))
    return model, np.array(ids)[labels][where]


def fit(texts: Sequence[str], vectors: np.ndarray, skip: Iterable[str] = (),
        k: int | None = None, k_range: tuple[int, int] = K_RANGE) -> ThemeModel:
    """Themes of `texts` (their `vectors` from `nlp.embed` of `clean(text, skip)`)."""
    return fit_assign(texts, vectors, skip, k, k_range)[0]


def update(model: ThemeModel, texts: Sequence[str], vectors: np.ndarray, new_from: int = 0,
           new_min: int = NEW_THEME_MIN, cleaned: Sequence[str] | None = None
           ) -> tuple[ThemeModel, np.ndarray]:
    """Re-cluster all `texts` (old ones first, new ones from index `new_from`) from the model's
    centroids; returns the new model and each text's theme id. Themes keep their ids and names.
    A theme is added when far more new texts than chance (`FAR_SHARE` of them) lie beyond every
    theme's outer members, and at least `new_min` of them gather in one place. `cleaned`: the
    texts' `clean(text, model.skip)` where the caller has them already (it embedded those)."""
    from sklearn.cluster import KMeans

    if cleaned is None:
        cleaned = [clean(t, model.skip) for t in texts]
    keep, where = _dedupe(cleaned)
    uniq = [cleaned[i] for i in keep]
    feats = model.features(uniq, np.asarray(vectors)[keep])
    sims = feats @ model.centroids.T
    near = np.argmax(sims, axis=1)
    floors = np.array([model.radius.get(t.id, 0.0) for t in model.themes])
    fresh_rows = np.array([i >= new_from for i in keep])
    far = np.flatnonzero(fresh_rows & (sims[np.arange(len(uniq)), near] < floors[near]))
    init, ids = model.centroids, [t.id for t in model.themes]
    next_id = model.next_id
    if adds_themes(len(far), int(fresh_rows.sum()), new_min):
        extra = KMeans(max(1, min(4, len(far) // (3 * new_min))), n_init=3,
                       random_state=SEED).fit(feats[far])
        sizes = np.bincount(extra.labels_)
        fresh = _unit(extra.cluster_centers_[sizes >= new_min])
        if len(fresh):
            init = np.vstack([init, fresh])
            ids += list(range(next_id, next_id + len(fresh)))
            next_id += len(fresh)
    # One Lloyd step from the old centroids: each theme's centre moves to its members' mean
    # (new posts included) and posts go to the nearest centre. A full k-means would wander off
    # and renumber the themes; one step moves only the posts the new data moved.
    first = np.argmax(feats @ init.T, axis=1)
    centroids = np.array([feats[first == j].mean(0) if np.any(first == j) else init[j]
                          for j in range(len(init))])
    centroids = _unit(centroids)
    labels = np.argmax(feats @ centroids.T, axis=1)
    old = model.by_id()
    originals = [texts[i] for i in keep]
    if all(i in old for i in ids):  # no new theme: names stand, only sizes and examples move
        described = [Theme(i, old[i].name, old[i].terms, int(np.sum(labels == j)),
                           _examples(labels, feats, centroids, j, originals))
                     for j, i in enumerate(ids)]
    else:
        described = _describe(ids, labels, feats, centroids, uniq, originals)
    themes = []
    for theme in described:
        if theme.id in old:  # a theme keeps the name it was first given
            theme.name, theme.terms = old[theme.id].name, old[theme.id].terms
        themes.append(theme)
    new = ThemeModel(themes, centroids, model.vectorizer, model.svd, model.mean, next_id,
                     model.skip, _radius(labels, feats, centroids, ids),
                     *_members(labels, feats, len(ids)), np.sort(_text_keys(uniq)))
    return new, np.array(ids)[labels][where]


@dataclass
class NewAssignment:
    labels: np.ndarray  # theme id of each text given
    far: int  # new distinct texts beyond every theme's outer members (the add rule's count)
    fresh: int  # new distinct texts (not seen by the model before)


def assign_new(model: ThemeModel, texts: Sequence[str], vectors: np.ndarray,
               cleaned: Sequence[str] | None = None) -> tuple[ThemeModel, NewAssignment]:
    """`update`'s Lloyd step for new texts only, without the old ones: each theme's centre
    moves to the mean of its members (old ones from the model's `sums`, new ones added) and the
    new texts go to the nearest moved centre. Their themes are those `update` would give them
    with the old texts passed too (the old texts' first step is their saved label, so the sums
    are what it would add up); the old texts keep theirs (`update` would move a few). No theme
    is added here: `far` and `fresh` say whether the add rule (`adds_themes`) asks for one, and
    the caller then runs `update` over old and new posts. Names, radii and examples stand."""
    if model.sums is None or model.counts is None or model.seen is None:
        raise ValueError("a model saved before assign_new existed: run update once")
    if cleaned is None:
        cleaned = [clean(t, model.skip) for t in texts]
    if not len(cleaned):
        return model, NewAssignment(np.zeros(0, dtype=int), 0, 0)
    keep, where = _dedupe(cleaned)
    uniq = [cleaned[i] for i in keep]
    feats = model.features(uniq, np.asarray(vectors)[keep])
    keys = _text_keys(uniq)
    pos = np.searchsorted(model.seen, keys)
    known = (pos < len(model.seen)) & (model.seen[np.minimum(pos, len(model.seen) - 1)] == keys)
    fresh = ~known
    sims = feats @ model.centroids.T
    near = np.argmax(sims, axis=1)
    floors = np.array([model.radius.get(t.id, 0.0) for t in model.themes])
    far = int(np.sum(fresh & (sims[np.arange(len(uniq)), near] < floors[near])))
    k = len(model.themes)
    add_sums, add_counts = _members(near[fresh], feats[fresh], k)
    sums, counts = model.sums + add_sums, model.counts + add_counts
    centroids = np.array([sums[j] / counts[j] if counts[j] else model.centroids[j]
                          for j in range(k)])
    centroids = _unit(centroids)
    labels = np.argmax(feats @ centroids.T, axis=1)
    # The sums follow the texts' final themes, as `update`'s own would for its next step.
    final_sums, final_counts = _members(labels[fresh], feats[fresh], k)
    ids = np.array([t.id for t in model.themes])
    themes = [Theme(t.id, t.name, t.terms, t.size + int(final_counts[j]), t.examples)
              for j, t in enumerate(model.themes)]
    new = ThemeModel(themes, centroids, model.vectorizer, model.svd, model.mean, model.next_id,
                     model.skip, dict(model.radius), model.sums + final_sums,
                     model.counts + final_counts, np.union1d(model.seen, keys[fresh]))
    return new, NewAssignment(ids[labels][where], far, int(fresh.sum()))


def labels_of(model: ThemeModel, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    """Theme id of every text (copies get their first copy's theme)."""
    cleaned = [clean(t, model.skip) for t in texts]
    return model.assign(cleaned, np.asarray(vectors))
