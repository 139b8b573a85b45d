"""Files for analysts: GEXF and GraphML for Gephi, CSV of nodes and of edges with their scores.

Export a view (``explore.to_networkx`` of the top authors, an ego network, a community): the
networkx writers need minutes for a whole large graph (GraphML of all of Higgs, 304k authors and
461k arcs: 150 s and 225 MB). The CSVs are written by pandas and scale to the whole graph.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from graph.build import AmplificationGraph
from graph.edges import KIND_NAMES
from graph.influence import RECEIVED_NAMES, InfluenceScores
from listener.inert import spreadsheet_cell


def _plain(value: object) -> str | int | float | bool | None:
    """Attribute values both formats and Gephi read back: no numpy scalars, NaN or None."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _plain_attrs(attrs: Mapping[str, object]) -> dict[str, object]:
    plain = ((str(k), _plain(v)) for k, v in attrs.items())
    return {k: v for k, v in plain if v is not None}


def plain_copy(graph: nx.Graph) -> nx.Graph:
    """A copy whose node, edge and graph attributes are plain str/int/float/bool (unknowns dropped)."""
    result = graph.__class__()
    result.graph.update(_plain_attrs(graph.graph))
    result.add_nodes_from((_plain(n), _plain_attrs(a)) for n, a in graph.nodes(data=True))
    result.add_edges_from(
        (_plain(u), _plain(v), _plain_attrs(a)) for u, v, a in graph.edges(data=True)
    )
    return result


def write_gexf(graph: nx.Graph, path: str | Path) -> None:
    """GEXF 1.2 for Gephi (node ids become strings there, as the format wants)."""
    nx.write_gexf(plain_copy(graph), path)


def write_graphml(graph: nx.Graph, path: str | Path) -> None:
    """GraphML, readable by Gephi, yEd, igraph and ``nx.read_graphml(path, node_type=int)``."""
    nx.write_graphml(plain_copy(graph), path)


def edges_frame(graph: AmplificationGraph) -> pd.DataFrame:
    """One row per (amplifier, amplified) pair: weight, counts per kind, newest interaction (UTC)."""
    frame = pd.DataFrame(
        {
            "source_author_id": graph.ids[graph.source],
            "target_author_id": graph.ids[graph.target],
            "weight": graph.weight,
            "count": graph.kind_counts.sum(axis=1),
        }
    )
    for column, kind in enumerate(KIND_NAMES):
        frame[RECEIVED_NAMES[kind]] = graph.kind_counts[:, column]
    seconds = graph.last_at.astype("datetime64[s]")
    frame["last_at"] = np.char.add(np.datetime_as_string(seconds, unit="s"), "Z")
    return frame


def write_nodes_csv(
    scores: InfluenceScores,
    path: str | Path,
    *,
    communities: np.ndarray | None = None,
    handles: Mapping[int, str] | None = None,
) -> None:
    """CSV of ``InfluenceScores.frame`` (unknown values as empty cells)."""
    inert_cells(scores.frame(communities=communities, handles=handles)).to_csv(path, index=False)


def write_edges_csv(graph: AmplificationGraph, path: str | Path) -> None:
    """CSV of ``edges_frame``."""
    inert_cells(edges_frame(graph)).to_csv(path, index=False)


def inert_cells(frame):
    """Text cells a spreadsheet opens as text: a handle like "=HYPERLINK(...)" stays a handle."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(spreadsheet_cell)
    return out
