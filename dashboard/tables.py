"""Tables shared by pages. Untrusted text goes into st.dataframe cells, which render as text."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from dashboard import drill, state, themes
from dashboard.state import q
from listener import story_numbers

DRILL_ROWS = 20  # posts shown under a chart; the button opens all of them


def safe_url(url: object) -> str | None:
    """Only http(s) links are clickable: a stored `javascript:` URL must not become a link."""
    return url if isinstance(url, str) and url.lower().startswith(("https://", "http://")) else None


def posts(df: pd.DataFrame, key: str, select: bool = False, terms: Sequence[str] = ()):
    """Posts with author, brands, time, sentiment, themes (of `terms`) and engagement; a row
    click selects when `select`."""
    if df.empty:
        st.caption("No posts.")
        return None
    # The text comes right after who wrote it: last, it was cut to a few characters.
    view = pd.DataFrame({
        "time": df["created_at"],
        "author": df["handle"].fillna("").astype(str),
        "brands": df["brands"] if "brands" in df else "",
        "text": df["text"].astype(str),
        "themes": [", ".join(themes.matching(t, terms)) for t in df["text"]],
        "sentiment": df["label"],
        "p_negative": pd.to_numeric(df["negative"], errors="coerce"),
        "engagement": df[["likes", "reposts", "replies", "quotes"]].apply(
            pd.to_numeric, errors="coerce").fillna(0).sum(axis=1).astype(int),
        "followers": pd.to_numeric(df["followers"], errors="coerce"),
        "platform": df["platform"],
        "link": df["url"].map(safe_url),
    })
    config = {
        "time": st.column_config.DatetimeColumn("Time (UTC)", format="D MMM YYYY, HH:mm"),
        "platform": st.column_config.TextColumn("Platform", width="small"),
        "author": "Author",
        "brands": st.column_config.TextColumn("Brands", help="The brands the post mentions"),
        "themes": st.column_config.TextColumn(
            "Themes", help="The window's complaint themes the post uses (Overview)"),
        "followers": st.column_config.NumberColumn("Followers", format="localized",
                                                   width="small"),
        "text": st.column_config.TextColumn("Text", width="large"),
        "sentiment": st.column_config.TextColumn("Sentiment", help="The model's label",
                                                 width="small"),
        "p_negative": st.column_config.ProgressColumn(
            "P(negative)", min_value=0.0, max_value=1.0, format="%.2f", width="small"),
        "engagement": st.column_config.NumberColumn(
            "Engagement", help="Likes + reposts + replies + quotes", format="localized",
            width="small"),
        "link": st.column_config.LinkColumn("Source", display_text="open ↗", width="small"),
    }
    if not terms:
        view = view.drop(columns="themes")
    if df["gold_label"].notna().any():
        view.insert(view.columns.get_loc("sentiment") + 1, "human_label", df["gold_label"])
        config["human_label"] = st.column_config.TextColumn(
            "Human label", help="Annotation that came with the dataset, not the model.",
            width="small")
    if not select:
        st.dataframe(view, hide_index=True, width="stretch", column_config=config, key=key)
        return None
    return st.dataframe(view, hide_index=True, width="stretch", column_config=config, key=key,
                        on_select="rerun", selection_mode="single-row")


def amplification(cascade: pd.DataFrame, named: pd.DataFrame) -> None:
    """Who carried a story: the top amplifiers of its cascade, and the steps the detector named."""
    if cascade.empty and named.empty:
        st.caption("No amplification recorded yet.")
        return
    if len(cascade):
        carried = (cascade.groupby("target")["weight"].sum().sort_values(ascending=False)
                   .head(10))
        ids = tuple(int(i) for i in carried.index)
        info = q("node_scores", None, ids).set_index("author_id")
        table = pd.DataFrame({
            "author": [info["handle"].get(i) or str(i) for i in carried.index],
            "followers": [info["followers"].get(i) for i in carried.index],
            "amplified by": carried.values,
        })
        told = story_numbers.from_edges(cascade["weight"])
        st.caption(f"{state.n(cascade['source'].nunique())} authors reacted "
                   f"{state.n(told.reactions)} times (reactions); the accounts it spread from:")
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "author": "Author",
        "brands": st.column_config.TextColumn("Brands", help="The brands the post mentions"),
        "themes": st.column_config.TextColumn(
            "Themes", help="The window's complaint themes the post uses (Overview)"),
            "followers": st.column_config.NumberColumn("Followers", format="localized"),
            "amplified by": st.column_config.NumberColumn("Amplifications", format="localized")})
    named = named.dropna(subset=["source", "target"])
    if len(named):
        ids = tuple(int(i) for i in pd.concat([named["source"], named["target"]]).dropna())
        handles = q("node_scores", None, ids).set_index("author_id")["handle"]
        steps = named.assign(
            source=named["source"].map(lambda i: handles.get(int(i)) or str(i)),
            target=named["target"].map(lambda i: handles.get(int(i)) or str(i)))
        st.caption("Steps the detector named:")
        st.dataframe(steps, hide_index=True, width="stretch", column_config={
            "source": "Amplifier", "target": "Amplified", "kind": "How", "time": "When"})


def drill_posts(d: drill.Drill, model: str | None, platforms, key: str) -> None:
    """The newest posts behind a clicked chart mark, and the way to all of them on Posts."""
    found = q("search_posts", model, d.brand_ids, platforms, d.since, d.until, labels=d.labels,
              limit=DRILL_ROWS, theme=d.theme)
    with st.container(border=True):
        st.markdown(f"**Posts behind the selection:** {state.md(d.what)}")
        posts(found, key=key)
        if st.button("Open all of them in Posts", key=f"{key}_open", icon=":material/forum:"):
            st.session_state["drill"] = d
            st.switch_page("views/posts.py")

