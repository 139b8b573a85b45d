"""Coordinated amplification: accounts that repost the same items within seconds, again and again.

Researchers spot coordinated pushes from co-sharing (Pacheco et al. 2021, "Uncovering
coordinated networks on social media"; Giglietto et al. 2020 on "coordinated link sharing"): one
organic account may repost the same story as another within a minute by chance, but not story
after story. So, over the whole stored history:

1. **Co-timed co-reposts.** Reposts are sorted by (item, time); two accounts are a co-timed pair
   on an item when both reposted it within ``window_s`` of each other. Only the ``max_neighbours``
   nearest reposts on each side are paired, so a viral item costs O(n), not O(n^2).
2. **Similarity.** For each pair, ``shared`` = distinct items they co-reposted in time, and
   ``similarity = shared / min(items of either)`` (overlap coefficient: how much of the quieter
   account's activity is in lock-step with the other's).
3. **Clusters.** Pairs with ``shared >= min_shared`` and ``similarity >= min_similarity`` are
   linked; connected groups of at least ``min_cluster`` accounts are flagged as acting as one.
4. **Share of a story.** ``coordinated_share`` says what fraction of a story's reposts came from
   flagged accounts, which is what an alert shows beside its evidence.

Arrays in, arrays out; no database. ``bench/coordination.py`` validates the defaults by
injecting seeded coordinated groups into real Higgs and Twitter15 activity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from graph._arrays import factorize, group, unique_sorted
from graph.edges import GraphInputError

#: Two reposts of one item this close in time (seconds) count as co-timed.
WINDOW_S = 60.0
#: Reposts paired on each side of one repost of an item (bounds the cost of viral items).
MAX_NEIGHBOURS = 50
#: Distinct items two accounts must have co-reposted in time before they count as linked.
MIN_SHARED = 4
#: Share of the quieter account's items that must be co-timed with the other's.
MIN_SIMILARITY = 0.2
#: Accounts in a group before it is flagged (two friends sharing a feed are not a campaign).
MIN_CLUSTER = 3


@dataclass(frozen=True, eq=False)
class Coordination:
    """Flagged accounts and the pairs that link them; ``cluster`` is -1 for unflagged accounts."""

    accounts: np.ndarray
    cluster: np.ndarray
    #: Linked pairs (account ids) with their shared co-timed items and similarity.
    pair_a: np.ndarray
    pair_b: np.ndarray
    shared: np.ndarray
    similarity: np.ndarray

    @property
    def flagged(self) -> np.ndarray:
        """Ids of the accounts in a coordinated cluster."""
        return self.accounts[self.cluster >= 0]

    def clusters(self) -> list[np.ndarray]:
        """Account ids of each cluster, biggest first."""
        hit = self.cluster >= 0
        if not hit.any():
            return []
        labels, members = self.cluster[hit], self.accounts[hit]
        order = np.argsort(labels, kind="stable")
        groups = np.split(members[order], np.flatnonzero(np.diff(labels[order])) + 1)
        return sorted(groups, key=len, reverse=True)

    def cluster_of(self, account_ids: np.ndarray) -> np.ndarray:
        """Cluster number of each account id (-1: not flagged or unknown)."""
        wanted = np.asarray(account_ids, dtype=np.int64)
        if len(self.accounts) == 0:
            return np.full(len(wanted), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.accounts, wanted), len(self.accounts) - 1)
        return np.where(self.accounts[pos] == wanted, self.cluster[pos], -1)


def co_timed_pairs(
    account: np.ndarray,
    item: np.ndarray,
    ts: np.ndarray,
    *,
    window_s: float = WINDOW_S,
    max_neighbours: int = MAX_NEIGHBOURS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Account positions (into the returned ids), per pair the co-timed items, and the ids.

    Returns ``(ids, pair_a, pair_b, shared)`` with ``pair_a < pair_b`` positions into ``ids``.
    """
    account = np.asarray(account, dtype=np.int64)
    item = np.asarray(item, dtype=np.int64)
    ts = np.asarray(ts, dtype=np.float64)
    if not (len(account) == len(item) == len(ts)):
        raise GraphInputError(
            f"coordination arrays differ in length: {len(account)}, {len(item)}, {len(ts)}"
        )
    ids, who = factorize(account)
    _, what = factorize(item)
    order = np.lexsort((ts, what))
    who, what, ts = who[order], what[order], ts[order]
    n = len(ids)
    width = int(what.max(initial=0)) + 1
    keys = []
    for k in range(1, max_neighbours + 1):
        if k >= len(who):
            break
        close = (what[k:] == what[:-k]) & (ts[k:] - ts[:-k] <= window_s)
        if not close.any():
            break  # sorted by time within an item: farther neighbours are farther away
        a, b = who[:-k][close], who[k:][close]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        keep = lo != hi
        # One key per (pair, item), so an item co-reposted twice counts once.
        keys.append((lo[keep] * n + hi[keep]) * width + what[:-k][close][keep])
    if not keys:
        empty = np.zeros(0, dtype=np.int64)
        return ids, empty, empty, empty
    per_item = unique_sorted(np.concatenate(keys))
    pairs, inverse = group(per_item // width)
    shared = np.bincount(inverse, minlength=len(pairs))
    return ids, pairs // n, pairs % n, shared


def find_coordination(
    account: np.ndarray,
    item: np.ndarray,
    ts: np.ndarray,
    *,
    window_s: float = WINDOW_S,
    max_neighbours: int = MAX_NEIGHBOURS,
    min_shared: int = MIN_SHARED,
    min_similarity: float = MIN_SIMILARITY,
    min_cluster: int = MIN_CLUSTER,
) -> Coordination:
    """Clusters of accounts that repost the same items in lock-step (see the module doc).

    One entry per repost: ``account`` reposted ``item`` (a post id, or the reposted account where
    posts are not known) at unix time ``ts``.
    """
    ids, pa, pb, shared = co_timed_pairs(
        account, item, ts, window_s=window_s, max_neighbours=max_neighbours
    )
    n = len(ids)
    _, who = factorize(np.asarray(account, dtype=np.int64))
    _, what = factorize(np.asarray(item, dtype=np.int64))
    # Distinct items each account reposted.
    distinct = unique_sorted(who * (int(what.max(initial=0)) + 1) + what)
    items_of = np.bincount(distinct // (int(what.max(initial=0)) + 1), minlength=n)
    similarity = shared / np.maximum(np.minimum(items_of[pa], items_of[pb]), 1)
    linked = (shared >= min_shared) & (similarity >= min_similarity)
    cluster = np.full(n, -1, dtype=np.int64)
    if linked.any():
        la, lb = pa[linked], pb[linked]
        adjacency = sp.coo_matrix((np.ones(len(la)), (la, lb)), shape=(n, n)).tocsr()
        _, labels = connected_components(adjacency, directed=False)
        in_pair = np.zeros(n, dtype=bool)
        in_pair[la] = in_pair[lb] = True
        sizes = np.bincount(labels[in_pair], minlength=labels.max() + 1)
        big = in_pair & (sizes[labels] >= min_cluster)
        _, renumbered = np.unique(labels[big], return_inverse=True)
        cluster[big] = renumbered
    return Coordination(
        accounts=ids,
        cluster=cluster,
        pair_a=ids[pa[linked]],
        pair_b=ids[pb[linked]],
        shared=shared[linked],
        similarity=similarity[linked],
    )


def coordinated_share(coordination: Coordination, amplifiers: np.ndarray) -> dict:
    """What part of a story's amplification came from coordinated clusters.

    ``amplifiers`` holds one account id per repost of the story. Returns the share (0-1), the
    reposts and accounts from clusters, and each cluster's accounts among the amplifiers.
    """
    amplifiers = np.asarray(amplifiers, dtype=np.int64)
    if len(amplifiers) == 0:
        return {"share": 0.0, "reposts": 0, "coordinated_reposts": 0, "clusters": []}
    labels = coordination.cluster_of(amplifiers)
    hit = labels >= 0
    clusters = []
    for label in np.unique(labels[hit]).tolist():
        members = np.unique(amplifiers[labels == label])
        clusters.append({"cluster": int(label), "accounts": members.tolist(),
                         "reposts": int((labels == label).sum())})
    clusters.sort(key=lambda c: c["reposts"], reverse=True)
    return {
        "share": round(float(hit.mean()), 4),
        "reposts": int(len(amplifiers)),
        "coordinated_reposts": int(hit.sum()),
        "clusters": clusters,
    }
