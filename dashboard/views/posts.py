"""Posts: find what people said, by brand, platform, sentiment, time and text; best first.

A chart's drill-down (`dashboard.drill`) arrives here as the session's "drill": it replaces
the sidebar's brand and window until cleared. The export holds every matching post.
"""

from __future__ import annotations

import streamlit as st

from dashboard import export, queries, state, tables
from dashboard.state import q

st.title("Posts")
facts, fl = state.facts(), state.current_filters()
if fl is None:
    st.info(state.NO_POSTS)
    st.stop()
model = facts["model"]
drill = st.session_state.get("drill")
if drill is not None:
    d1, d2 = st.columns([5, 1])
    d1.info(f"Drill-down from a chart: {state.md(drill.what)}", icon=":material/filter_alt:")
    if d2.button("Clear drill-down", key="drill_clear"):
        st.session_state.pop("drill", None)
        st.rerun()

c1, c2, c3, c4 = st.columns([3, 2, 2, 1])
text = c1.text_input("Text contains", key="posts_text", placeholder="e.g. lost luggage")
labels = c2.multiselect("Sentiment (model)", list(queries.LABELS), key="posts_labels",
                        disabled=model is None,
                        help=None if model else "No sentiment scores yet: run `undertow score`.")
sort = c3.selectbox("Sort by", list(queries.SORTS), format_func=queries.SORTS.get, key="posts_sort")
limit = c4.selectbox("Show", [50, 200, 1000], index=1, key="posts_limit")

if drill is not None:
    brand_ids, since, until = drill.brand_ids, drill.since, drill.until
    labels = labels or list(drill.labels or ())
    what = "the drill-down's posts"
else:
    brand_ids = None if fl.brand_id is None else fl.brand_ids
    since, until = fl.since, fl.until
    what = "all posts" if brand_ids is None else f"posts mentioning {fl.brand}"
args = (model, brand_ids, fl.platforms, since, until)
kwargs = {"labels": tuple(labels) or None, "text": text, "sort": sort}
if drill is not None and getattr(drill, "theme", None) is not None:
    kwargs["theme"] = drill.theme
df = q("search_posts", *args, **kwargs, limit=limit)
st.caption(f"{fl.range_name if drill is None else 'Drill-down'} · {what} · sorted by "
           f"{queries.SORTS[sort].lower()} · {state.n(len(df))} shown"
           + ("" if len(df) < limit else " (the limit: narrow the filters, show more or export "
              "them all)"))
if df.empty:
    if facts["last"] is None:
        st.info(state.NO_POSTS)
    else:
        st.info("No posts match these filters: clear the text search or widen the time range.")
    st.stop()

terms: tuple[str, ...] = ()
if model is not None and brand_ids is not None:
    found, _ = q("complaint_themes", model, brand_ids, fl.platforms, since, until)
    terms = tuple(found["term"])


def _export(kind: str) -> bytes:
    """The whole filtered set, read in chunks when the button is pressed (not on every run)."""
    frames = queries.iter_posts(state.engine(), *args, **kwargs)
    return export.to_csv(frames) if kind == "csv" else export.to_parquet(frames)


e1, e2, _ = st.columns([2, 2, 5])
e1.download_button("Export all as CSV", lambda: _export("csv"), file_name="undertow-posts.csv",
                   mime="text/csv", on_click="ignore", icon=":material/download:",
                   help="Every matching post, not only those shown; cells that start like a "
                        "spreadsheet formula get a leading apostrophe.")
e2.download_button("Export all as Parquet", lambda: _export("parquet"),
                   file_name="undertow-posts.parquet", mime="application/vnd.apache.parquet",
                   on_click="ignore", icon=":material/download:")

picked = tables.posts(df, key="posts_table", select=True, terms=terms)
rows = picked.selection.rows if picked is not None else []
wanted = st.session_state.get("post_id")
if rows:
    row = df.iloc[rows[0]]
    st.session_state["post_id"] = int(row["id"])
elif wanted is not None and (df["id"] == wanted).any():  # from the URL's post=
    row = df[df["id"] == wanted].iloc[0]
else:
    row = None
    st.caption("Select a row to read the whole post and open its author, story and alert.")
if row is not None:
    post_id = int(row["id"])
    with st.container(border=True):
        st.markdown(f"**Post {post_id} by {state.md(row['handle'] or row['author_id'])}** · "
                    f"{row['created_at']:%d %b %Y %H:%M} UTC · {state.md(row['brands'] or '–')}")
        st.text(row["text"])
        chain = q("story_chain", post_id)
        alerts = q("alerts_of_posts", tuple(chain))
        b1, b2, b3 = st.columns(3)
        if b1.button("Open its author", key="post_author", icon=":material/person:"):
            st.session_state["author_id"] = int(row["author_id"])
            st.switch_page("views/influencers.py")
        if b2.button("Open its story in Graph explorer", key="post_story", icon=":material/hub:",
                     disabled=not alerts, help=None if alerts else
                     "No alert names this post's story, so it has no cascade view yet."):
            st.session_state["graph_scope"] = "Alert"
            st.session_state["graph_alert"] = alerts[0]
            st.switch_page("views/graph.py")
        if b3.button("Open its alert", key="post_alert", icon=":material/notifications_active:",
                     disabled=not alerts):
            st.session_state["alert_focus"] = alerts[0]
            st.switch_page("views/alerts.py", query_params={"alert": str(alerts[0])})
        if len(chain) > 1:
            st.caption(f"Part of the story of post {chain[-1]} ({len(chain) - 1} step"
                       f"{'s' if len(chain) > 2 else ''} from its root)"
                       + (f"; alert {', '.join(f'#{a}' for a in alerts)}" if alerts else "."))
        elif alerts:
            st.caption(f"The root of the story of alert {', '.join(f'#{a}' for a in alerts)}.")
