"""The store's tables, as SQLAlchemy Core metadata (the Alembic migrations create the same shape).

Row ids of authors, posts and interactions are derived from (platform, native id) by
`listener.post.stable_id` (authors' then keyed: `listener.ids`), so bulk writes need no id
look-ups and ids are stable across runs. The
primary key *is* the (platform, native id) key: upserts conflict on it, and a second unique index
on the pair would only slow every write.
`post_brands` repeats the post time so the dashboard's "brand x time range" queries are one index scan.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from listener.mapping.fit import LANG_MAX, NATIVE_ID_MAX

metadata = MetaData()

authors = Table(
    "authors",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("platform", String(32), nullable=False),
    Column("native_id", String(NATIVE_ID_MAX), nullable=False),
    Column("handle", String(256)),
    Column("display_name", Text),
    Column("followers", BigInteger),
    Column("following", BigInteger),
    Column("verified", Boolean),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_authors_handle", authors.c.platform, authors.c.handle)

posts = Table(
    "posts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("platform", String(32), nullable=False),
    Column("native_id", String(NATIVE_ID_MAX), nullable=False),
    Column("author_id", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("lang", String(LANG_MAX)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("url", Text),
    Column("likes", BigInteger),
    Column("reposts", BigInteger),
    Column("replies", BigInteger),
    Column("quotes", BigInteger),
    Column("views", BigInteger),
    Column("parent_native_id", String(NATIVE_ID_MAX)),
    Column("conversation_id", String(NATIVE_ID_MAX)),
    Column("gold_label", String(16)),
    Column("gold_reason", String(128)),
    Column("raw", Text),
    Column("collected_at", DateTime(timezone=True), nullable=False),
)
Index("ix_posts_created", posts.c.created_at)
Index("ix_posts_platform_created", posts.c.platform, posts.c.created_at)
Index("ix_posts_author", posts.c.author_id)
# Conversations: a thread's posts by the platform's conversation id.
Index("ix_posts_conversation", posts.c.platform, posts.c.conversation_id)
# Few posts carry a human reason (labelled imports): "is there any?" is one index probe.
Index("ix_posts_gold_reason", posts.c.gold_reason,
      sqlite_where=posts.c.gold_reason.is_not(None),
      postgresql_where=posts.c.gold_reason.is_not(None))

interactions = Table(
    "interactions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("platform", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("source_author_id", BigInteger, nullable=False),
    Column("target_author_id", BigInteger, nullable=False),
    Column("source_post_id", BigInteger),
    Column("target_post_id", BigInteger),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_interactions_created", interactions.c.created_at)
Index("ix_interactions_target_post", interactions.c.target_post_id)
Index("ix_interactions_source_post", interactions.c.source_post_id)

brands = Table(
    "brands",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("query", Text, nullable=False),
    # Brands sharing a group are competitors: the dashboard's share of voice compares them.
    Column("competitor_group", String(128)),
    Column("settings", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# A brand's own accounts (`x:AskUnited`): their posts are the brand's voice, never its mentions.
# An account belongs to one brand; handles are stored lower case, without the "@".
brand_accounts = Table(
    "brand_accounts",
    metadata,
    Column("platform", String(32), primary_key=True),
    Column("handle", String(256), primary_key=True),
    Column("brand_id", Integer, ForeignKey("brands.id", ondelete="CASCADE"), nullable=False),
)

# Each brand mention's found complaint theme (`undertow themes`); the detector names stories by it.
post_themes = Table(
    "post_themes",
    metadata,
    Column("post_id", BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("brand_id", Integer, ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", Integer, nullable=False),
    Column("theme_name", Text, nullable=False),
)

post_brands = Table(
    "post_brands",
    metadata,
    Column("post_id", BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("brand_id", Integer, ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
# Covering: the dashboard's per-brand time series never has to visit the table.
Index("ix_post_brands_brand_created_post", post_brands.c.brand_id, post_brands.c.created_at,
      post_brands.c.post_id)

cursors = Table(
    "cursors",
    metadata,
    Column("collector", String(64), primary_key=True),
    Column("query_key", String(512), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

sentiment_scores = Table(
    "sentiment_scores",
    metadata,
    Column("post_id", BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("model_version", String(256), primary_key=True),
    Column("label", String(16), nullable=False),
    Column("negative", Float, nullable=False),
    Column("neutral", Float, nullable=False),
    Column("positive", Float, nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    # The post's language when it was scored (`nlp.language.record`): the platform's tag where
    # it names one, else the detector's answer; language_source says which ("platform" or
    # "detector"). NULL on scores written before 0019 or by a caller without a language gate.
    Column("language", String(16)),
    Column("language_source", String(16)),
)
Index("ix_sentiment_model_label", sentiment_scores.c.model_version, sentiment_scores.c.label)
# Detection reads the mentions scored since its last run (posts that arrived late).
Index("ix_sentiment_model_scored", sentiment_scores.c.model_version, sentiment_scores.c.scored_at)
# Covering: joining mentions to their label reads only this index.
Index("ix_sentiment_post_model_label", sentiment_scores.c.post_id, sentiment_scores.c.model_version,
      sentiment_scores.c.label)

# Identical texts (retweets, copypasta) are scored once per model version.
sentiment_cache = Table(
    "sentiment_cache",
    metadata,
    Column("model_version", String(256), primary_key=True),
    Column("text_hash", String(64), primary_key=True),
    Column("label", String(16), nullable=False),
    Column("negative", Float, nullable=False),
    Column("neutral", Float, nullable=False),
    Column("positive", Float, nullable=False),
)

influence_runs = Table(
    "influence_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("brand_id", Integer, ForeignKey("brands.id", ondelete="CASCADE")),
    Column("since", DateTime(timezone=True)),
    Column("until", DateTime(timezone=True)),
    Column("params", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

influence_scores = Table(
    "influence_scores",
    metadata,
    Column("run_id", Integer, ForeignKey("influence_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("author_id", BigInteger, primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("influence", Float, nullable=False),
    Column("components", JSON, nullable=False),
    Column("community", Integer),
)
Index("ix_influence_scores_rank", influence_scores.c.run_id, influence_scores.c.rank)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("brand_id", Integer, ForeignKey("brands.id", ondelete="CASCADE"), nullable=False),
    # One alert per unfolding story: later posts of the same story update this row.
    Column("story_key", String(256), nullable=False),
    Column("status", String(16), nullable=False),  # open | acknowledged | resolved
    Column("severity", Float, nullable=False),
    Column("title", Text, nullable=False),
    Column("evidence", JSON),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("notified_severity", Float),
    # Who moved it last, and when (a name typed in the dashboard, the CLI user, or "undertow").
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("acknowledged_by", String(128)),
    Column("resolved_by", String(128)),
    UniqueConstraint("brand_id", "story_key", name="uq_alerts_brand_story"),
)
Index("ix_alerts_status_severity", alerts.c.status, alerts.c.severity)

# The email outbox: a row per (message key, recipient), written in the same transaction that
# decides a message is due, so a crash never loses one and the unique key never sends one twice.
alert_notifications = Table(
    "alert_notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(128), nullable=False),  # alert:<id>:<level> or digest:<date>
    # "email": recipient is an address; "webhook": recipient names the webhook, never its URL.
    Column("channel", String(16), nullable=False, server_default="email"),
    Column("alert_id", Integer, ForeignKey("alerts.id", ondelete="CASCADE")),
    Column("recipient", String(320), nullable=False),
    Column("status", String(16), nullable=False),  # pending | sending | sent | failed
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("message_id", String(256)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("claimed_at", DateTime(timezone=True)),  # when a run took it to send ("sending")
    UniqueConstraint("key", "recipient", name="uq_alert_notifications_key_recipient"),
)
Index("ix_alert_notifications_status", alert_notifications.c.status)

# What was erased and when, by a keyed hash only: a later collection must not bring it back.
erasures = Table(
    "erasures",
    metadata,
    Column("subject_hash", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # author | post
    Column("erased_at", DateTime(timezone=True), nullable=False),
)

# Long-term trends survive retention without personal data: counts only.
daily_brand_sentiment = Table(
    "daily_brand_sentiment",
    metadata,
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD (UTC)
    Column("brand_id", Integer, ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True),
    Column("platform", String(32), primary_key=True),
    Column("label", String(16), primary_key=True),  # negative | neutral | positive | unscored
    Column("posts", Integer, nullable=False),
)

# Mentions per brand, hour and platform, and per sentiment model and label (model_version and
# label '' for all mentions): what the Overview reads instead of the posts. Triggers add +1/-1
# rows to mention_deltas as tags and scores change; `listener.store.rollup` folds them in.
mention_rollup = Table(
    "mention_rollup",
    metadata,
    Column("brand_id", Integer, primary_key=True),
    Column("hour", String(13), primary_key=True),  # YYYY-MM-DD HH (UTC)
    Column("platform", String(32), primary_key=True),
    Column("model_version", String(256), primary_key=True),
    Column("label", String(16), primary_key=True),
    Column("posts", BigInteger, nullable=False),
)

mention_deltas = Table(
    "mention_deltas",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("brand_id", Integer, nullable=False),
    Column("hour", String(13), nullable=False),
    Column("platform", String(32), nullable=False),
    Column("model_version", String(256), nullable=False),
    Column("label", String(16), nullable=False),
    Column("n", Integer, nullable=False),
)

# Small key/value facts about the store itself, e.g. that it holds the simulated demo.
meta = Table(
    "meta",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
)
