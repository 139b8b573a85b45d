"""Influencers: who drives the conversation, why they rank where they do, and how that changes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, graphview, queries, state, tables
from dashboard.state import q

TOWARDS = {"any": "Any", "negative": "Mostly negative", "neutral": "Mostly neutral",
           "positive": "Mostly positive"}

# Component -> (column name, help, whole number): what each ranking input means, in words.
COMPONENT_NAMES = {
    "audience": ("Audience", "Followers where the platform reports them.", True),
    "amplification": ("Amplified (weighted)", "Reposts, quotes, replies and mentions their "
                      "posts drew, weighted by kind and recency.", False),
    "unique_amplifiers": ("Distinct amplifiers", "Different accounts that amplified them.", True),
    "reach": ("People reached", "Distinct accounts reached through chains of reposts and "
              "quotes of their posts.", True),
    "cascade_reach": ("People reached", "Distinct accounts reached through chains of reposts "
                      "and quotes of their posts.", True),
    "pagerank": ("Network centrality", "PageRank on the amplification graph: high when "
                 "amplified by accounts that are themselves amplified.", False),
    "kcore": ("Core depth", "k-core number: how deep in the densely connected core of the "
              "conversation they sit (higher = more central).", True),
    "negative_share": ("Negative share", "Share of their posts about the brand that are "
                       "negative.", False),
}

st.title("Influencers")
facts, fl = state.facts(), state.current_filters()
if fl is None:
    st.info(state.NO_POSTS)
    st.stop()
model = facts["model"]
runs = q("influence_runs", fl.brand_id)
if not runs:
    st.info(state.NO_RANKING)
    st.stop()
run = runs[0]
names = state.brand_names()
scope = names.get(run["brand_id"], "all brands")
weights = run["params"].get("weights")
since, until = run.get("since"), run.get("until")
window = (f"interactions from {since:%d %b %Y %H:%M} to {until:%d %b %Y %H:%M} UTC"
          if since is not None and until is not None else
          f"interactions since {since:%d %b %Y %H:%M} UTC" if since is not None else
          f"interactions until {until:%d %b %Y %H:%M} UTC" if until is not None else
          "every stored interaction")
st.caption(state.md(
    f"Ranking run {run['id']} of {run['created_at']:%d %b %Y %H:%M} UTC · scope: {scope} · "
    f"window: {window}"
    + (f" · weights: {', '.join(f'{k} {v}' for k, v in weights.items())}"
       if isinstance(weights, dict) else "")
    + ("" if len(runs) > 1 else " · first run, so no rank change yet")))

if isinstance(weights, dict) and [k for k, v in weights.items() if v] == ["amplification"]:
    decay = run["params"].get("decay")
    if isinstance(decay, dict) and decay.get("half_life_s") is None and decay.get("label"):
        memory = ("every one counting the same however old: on this store's own history no "
                  "recency weighting predicted who was amplified next as well as that")
    elif isinstance(decay, dict) and decay.get("label"):
        memory = (f"recent ones counting more ({decay['label']}: chosen by backtesting this "
                  "store's own history, never worse than plain in-degree there)")
    else:
        memory = "recent ones counting more (12 h half-life)"
    st.caption("Influence uses one measure, amplification: the interactions an author received, "
               f"{memory}. Tested on two real graphs at rolling origins, with every choice "
               "made on earlier data only, it stayed at or above in-degree and each other "
               "measure at more of the later origins than a combination with unique amplifiers, "
               "reach, PageRank or k-core chosen on the earlier ones, so those are shown beside "
               "it but carry no weight (followers could not be tested there). "
               "The score is absolute (50 = about 50 fresh interactions), so it compares across "
               "brands; Percentile is the rank-relative view within this run.")
c1, c2 = st.columns(2)
top = c1.selectbox("Top", [50, 100, 500], index=1, key="inf_top")
target = "the brands" if fl.brand_id is None else fl.brand
towards = c2.selectbox(f"Their sentiment towards {target}", list(TOWARDS),
                       format_func=TOWARDS.get, key="inf_towards", disabled=model is None,
                       help="The model label most of the author's mentions in the window carry.")

df = q("influencers", run["id"], runs[1]["id"] if len(runs) > 1 else None, top)
df["change"] = pd.to_numeric(df["previous_rank"], errors="coerce") - df["rank"]
if model is not None and len(df):
    sent = q("author_sentiment", model, tuple(int(i) for i in df["author_id"]), fl.brand_ids,
             fl.since, fl.until)
    df = df.merge(sent, on="author_id", how="left")
    labels = list(queries.LABELS)
    df[labels] = df[labels].fillna(0).astype(int)
    df["towards"] = df[labels].idxmax(axis=1).where(df[labels].sum(axis=1) > 0)
    if towards != "any":
        df = df[df["towards"] == towards]
if df.empty:
    st.info("No ranked author matches: choose 'Any' sentiment or a larger top.")
    st.stop()

components = [c for c in df.columns if c.startswith("c_")]
if "c_audience" in components and pd.to_numeric(df["c_audience"], errors="coerce").fillna(-1).eq(
        pd.to_numeric(df["followers"], errors="coerce").fillna(-1)).all():
    components.remove("c_audience")  # the same number as Followers: one column
# A first run has nothing to compare with: no column of blanks. Later, an author new to the
# ranking says so instead of showing an empty cell.
compared = len(runs) > 1
df["change"] = df["change"].map(lambda d: "new" if pd.isna(d) else "=" if d == 0 else f"{d:+.0f}")
show = ["rank", *(["change"] if compared else []), "handle", "followers", "influence",
        *components, "community"]
config = {
    "rank": st.column_config.NumberColumn("Rank"),
    "change": st.column_config.TextColumn("Change", width="small",
                                          help="Places gained since the previous run"),
    "handle": "Author",
    "followers": st.column_config.NumberColumn("Followers", format="localized"),
    "influence": st.column_config.ProgressColumn(
        "Influence score", min_value=0.0, max_value=float(df["influence"].max() or 1),
        format="%.3f", help="The ranking's weighted mix of the columns to the right (higher is "
                            "more influential); compare the columns themselves across brands."),
    "community": st.column_config.NumberColumn(
        "Community", help="The cluster of accounts that amplify each other most (Louvain)."),
}
for c in components:  # plain names and help; counts as whole numbers, scores compact
    name, help_text, whole = COMPONENT_NAMES.get(c[2:], (c[2:].replace("_", " ").capitalize(),
                                                         None, False))
    if whole:
        df[c] = pd.to_numeric(df[c], errors="coerce").round()
    config[c] = st.column_config.NumberColumn(name, help=help_text,
                                              format="localized" if whole else "%.3g")
if model is not None:
    show += ["negative", "neutral", "positive"]
    for label in queries.LABELS:
        config[label] = st.column_config.NumberColumn(
            f"{label.capitalize()} mentions", help=f"Their {label} posts about {fl.brand}")
picked = st.dataframe(df[show], hide_index=True, width="stretch", column_config=config,
                      on_select="rerun", selection_mode="single-row", key="inf_table")
st.caption("Select a row to see the author's posts, rank trend and ego network.")
if picked.selection.rows:
    st.session_state["author_id"] = int(df.iloc[picked.selection.rows[0]]["author_id"])

author_id = st.session_state.get("author_id")
if author_id is None:
    st.stop()
person = q("author", author_id)
if person is None:
    st.stop()
st.divider()
handle = person["handle"] or str(author_id)
st.subheader(f"Author: {state.md(handle)}")
a1, a2, a3 = st.columns(3)
a1.metric("Followers", state.n(person["followers"]))
ranked = q("rank_history", author_id, fl.brand_id)
a2.metric("Current rank", state.n(ranked["rank"].iloc[-1]) if len(ranked) else "unranked")
if len(ranked) > 1:
    st.altair_chart(charts.rank_trend(ranked), width="stretch")

st.markdown(f"**Posts in the window** ({fl.range_name.lower()})")
posts = q("search_posts", model, None, *fl.window(), author_id=author_id, limit=50)
a3.metric("Posts in the window", state.n(len(posts)) + ("+" if len(posts) == 50 else ""))
tables.posts(posts, key="author_posts")

net = state.network("ego_edges", author_id, fl.since, fl.until, cap=150, focus=author_id,
                    run_id=run["id"])
st.markdown("**Ego network** (who amplified them, and whom they amplified)")
if net.graph.number_of_nodes() <= 1:
    st.caption("No amplification around this author in the window.")
else:
    st.vega_lite_chart(graphview.chart(net.nodes, net.edges, "Influence",
                                       f"Ego network of {handle} ({state.n(net.authors)} "
                                       "authors)"), width="stretch")
if st.button("Open in Graph explorer"):
    st.session_state["graph_scope"] = "Author"
    st.switch_page("views/graph.py")
