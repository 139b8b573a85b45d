"""The amplification path of one post: who reposted, quoted or replied from whom, and the bridges.

Post-level interactions (``source_post`` amplifies ``target_post``) form a tree under the root
post. An account whose amplification lands in a different community from the account it took the
post from carried the post into that community: a *bridge*. Brand teams ask exactly this when a
complaint escapes its first circle: who took it to the next one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from graph.edges import KIND_NAMES, MENTION, NO_POST, Edges


@dataclass(frozen=True)
class Bridge:
    """``author_id``'s post ``post_id`` took the post from ``from_community`` into ``to_community``."""

    post_id: int
    author_id: int
    parent_post_id: int
    parent_author_id: int
    from_community: int
    to_community: int
    created_at: float
    #: True for the first bridge into ``to_community`` (the one that opened it).
    first: bool


@dataclass(frozen=True)
class AmplificationPath:
    """The cascade under ``root_post``: a tree of post ids (parent -> child) and its bridges.

    Tree nodes carry ``author`` (author id), ``depth`` (0 at the root), and, except the root,
    ``kind`` ("repost", "quote" or "reply"), ``created_at`` and, when communities were given,
    ``community``.
    """

    root_post: int
    root_author: int | None
    tree: nx.DiGraph
    bridges: list[Bridge] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Amplifying posts in the cascade (the root excluded)."""
        return self.tree.number_of_nodes() - 1

    @property
    def depth(self) -> int:
        return max((d for _, d in self.tree.nodes(data="depth")), default=0)

    @property
    def authors(self) -> set[int]:
        """Accounts that took part, the root's author included."""
        return {a for _, a in self.tree.nodes(data="author") if a is not None}

    def communities_reached(self) -> list[int]:
        """Communities the cascade entered through a bridge, in the order it entered them."""
        return [b.to_community for b in self.bridges if b.first]


def amplification_path(
    edges: Edges,
    post_id: int,
    *,
    communities: Mapping[int, int] | None = None,
    max_posts: int = 100_000,
) -> AmplificationPath:
    """Follow reposts, quotes and replies of ``post_id`` down to the last generation.

    ``communities`` maps author id to community number (e.g. from ``communities.louvain``). A post
    seen twice (the same repost recorded twice) keeps its earliest interaction; the walk stops
    after ``max_posts`` posts. A post nobody amplified gives a one-node tree.
    """
    usable = (
        (edges.kind != MENTION)
        & (edges.source_post != NO_POST)
        & (edges.target_post != NO_POST)
        & (edges.source_post != edges.target_post)
    )
    chosen = edges.select(usable)
    order = np.lexsort((chosen.source_post, chosen.created_at))
    chosen = chosen.select(order)
    root_edges = np.flatnonzero(chosen.target_post == post_id)
    root_author = int(chosen.target[root_edges[0]]) if len(root_edges) else None
    community_of = dict(communities or {})
    tree = nx.DiGraph()
    tree.add_node(
        int(post_id), depth=0, **({"author": root_author} if root_author is not None else {})
    )
    if root_author is not None and root_author in community_of:
        tree.nodes[int(post_id)]["community"] = int(community_of[root_author])
    seen = {int(post_id)}
    frontier = np.array([post_id], dtype=np.int64)
    depth = 0
    while len(frontier) and len(seen) < max_posts + 1:
        depth += 1
        hits = np.flatnonzero(np.isin(chosen.target_post, frontier))
        added = []
        for k in hits.tolist():
            child = int(chosen.source_post[k])
            if child in seen or len(seen) > max_posts:
                continue
            seen.add(child)
            added.append(child)
            author = int(chosen.source[k])
            attrs = {
                "author": author,
                "depth": depth,
                "kind": KIND_NAMES[chosen.kind[k]],
                "created_at": float(chosen.created_at[k]),
            }
            if author in community_of:
                attrs["community"] = int(community_of[author])
            tree.add_node(child, **attrs)
            tree.add_edge(int(chosen.target_post[k]), child)
        frontier = np.array(added, dtype=np.int64)
    return AmplificationPath(
        root_post=int(post_id),
        root_author=root_author,
        tree=tree,
        bridges=_bridges(tree, int(post_id)),
    )


def _bridges(tree: nx.DiGraph, root: int) -> list[Bridge]:
    found = []
    for parent, child in tree.edges:
        before, after = tree.nodes[parent], tree.nodes[child]
        if (
            "community" in before
            and "community" in after
            and before["community"] != after["community"]
        ):
            found.append((after["created_at"], child, before, after, parent))
    found.sort(key=lambda f: (f[0], f[1]))
    # The root's own community was never entered: it started there.
    opened = {tree.nodes[root]["community"]} if "community" in tree.nodes[root] else set()
    bridges = []
    for created_at, child, before, after, parent in found:
        bridges.append(
            Bridge(
                post_id=child,
                author_id=after["author"],
                parent_post_id=parent,
                parent_author_id=before["author"],
                from_community=before["community"],
                to_community=after["community"],
                created_at=created_at,
                first=after["community"] not in opened,
            )
        )
        opened.add(after["community"])
    return bridges
