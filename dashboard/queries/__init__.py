"""Every read the dashboard makes, as set-based SQL that the store's indexes answer.

Brand-scoped reads start from `post_brands(brand_id, created_at)` and whole-store reads from
`posts(created_at)` / `posts(platform, created_at)`, so a page costs one range scan of the chosen
window, not of the store. Functions take an Engine and plain values and return pandas frames or
plain data; the page layer caches them by name (`dashboard.state.q`).
"""

from dashboard.queries._sql import LABELS
from dashboard.queries.engagement import engagement
from dashboard.queries.mentions import (
    POST_COLUMNS,
    SORTS,
    alerts,
    complaint_themes,
    found_themes,
    gold_reasons,
    has_gold_reasons,
    iter_posts,
    mention_counts,
    mention_counts_raw,
    negative_texts,
    posts_by_ids,
    search_posts,
    sentiment_model,
    store_facts,
)
from dashboard.queries.people import (
    EDGE_COLUMNS,
    alerts_of_posts,
    author,
    author_sentiment,
    brand_edges,
    cascade_edges,
    coordination_clusters,
    ego_edges,
    influence_runs,
    influencers,
    node_scores,
    rank_history,
    saved_graph_view,
    story_chain,
    story_reactions,
)

__all__ = [
    "EDGE_COLUMNS", "LABELS", "POST_COLUMNS", "SORTS", "alerts", "alerts_of_posts", "author",
    "author_sentiment", "brand_edges", "cascade_edges", "complaint_themes",
    "coordination_clusters", "ego_edges", "engagement", "found_themes", "gold_reasons",
    "has_gold_reasons", "influence_runs", "influencers", "iter_posts", "mention_counts",
    "mention_counts_raw", "negative_texts",
    "node_scores", "posts_by_ids", "rank_history", "saved_graph_view", "search_posts",
    "sentiment_model",
    "store_facts", "story_chain", "story_reactions",
]
