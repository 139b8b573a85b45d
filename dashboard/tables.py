"""Tables shared by pages. Untrusted text goes into st.dataframe cells, which render as text."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.state import q


def safe_url(url: object) -> str | None:
    """Only http(s) links are clickable: a stored `javascript:` URL must not become a link."""
    return url if isinstance(url, str) and url.lower().startswith(("https://", "http://")) else None


def posts(df: pd.DataFrame, key: str, select: bool = False):
    """Posts with author, time, sentiment and engagement; a row click selects when `select`."""
    if df.empty:
        st.caption("No posts.")
        return None
    # The text comes right after who wrote it: last, it was cut to a few characters.
    view = pd.DataFrame({
        "time": df["created_at"],
        "author": df["handle"].fillna("").astype(str),
        "text": df["text"].astype(str),
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
        st.caption(f"{state.n(cascade['source'].nunique())} authors amplified it "
                   f"{state.n(cascade['weight'].sum())} times; the accounts it spread from:")
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "author": "Author",
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
