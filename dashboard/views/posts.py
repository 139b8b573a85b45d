"""Posts: find what people said, by brand, platform, sentiment, time and text; best first."""

from __future__ import annotations

import streamlit as st

from dashboard import queries, state, tables
from dashboard.state import q

st.title("Posts")
facts, fl = state.facts(), state.current_filters()
if fl is None:
    st.info(state.NO_POSTS)
    st.stop()
model = facts["model"]

c1, c2, c3, c4 = st.columns([3, 2, 2, 1])
text = c1.text_input("Text contains", key="posts_text", placeholder="e.g. lost luggage")
labels = c2.multiselect("Sentiment (model)", list(queries.LABELS), key="posts_labels",
                        disabled=model is None,
                        help=None if model else "No sentiment scores yet: run `undertow score`.")
sort = c3.selectbox("Sort by", list(queries.SORTS), format_func=queries.SORTS.get, key="posts_sort")
limit = c4.selectbox("Show", [50, 200, 1000], index=1, key="posts_limit")

brand_ids = None if fl.brand_id is None else fl.brand_ids
df = q("search_posts", model, brand_ids, *fl.window(), labels=tuple(labels) or None,
       text=text, sort=sort, limit=limit)
what = "all posts" if brand_ids is None else f"posts mentioning {fl.brand}"
st.caption(f"{fl.range_name} · {what} · sorted by {queries.SORTS[sort].lower()} · "
           f"{state.n(len(df))} shown" + ("" if len(df) < limit else
                                           " (the limit: narrow the filters or show more)"))
if df.empty:
    if facts["last"] is None:
        st.info(state.NO_POSTS)
    else:
        st.info("No posts match these filters: clear the text search or widen the time range.")
    st.stop()

picked = tables.posts(df, key="posts_table", select=True)
rows = picked.selection.rows if picked is not None else []
if rows:
    row = df.iloc[rows[0]]
    st.markdown(f"**Selected post by {state.md(row['handle'] or row['author_id'])}**")
    st.text(row["text"])
    if st.button("Open author in Influencers"):
        st.session_state["author_id"] = int(row["author_id"])
        st.switch_page("views/influencers.py")
else:
    st.caption("Select a row to read the whole post and open its author.")
