"""Influencer graph library: build, rank, explore and export the amplification graph."""

from graph.build import AmplificationGraph, build_graph
from graph.edges import KIND_CODES, Edges, GraphInputError
from graph.influence import DEFAULT_WEIGHTS, InfluenceScores, score_influence

__all__ = ["DEFAULT_WEIGHTS", "KIND_CODES", "AmplificationGraph", "Edges", "GraphInputError",
           "InfluenceScores", "build_graph", "score_influence"]
