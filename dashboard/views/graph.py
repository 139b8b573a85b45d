"""Graph explorer: the amplification network around a brand, an alert or an author."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import evidence, graphview, state
from dashboard.state import q
from graph import view

SCOPES = ("Brand", "Alert", "Author")

st.title("Graph explorer")
facts, fl = state.facts(), state.current_filters()
if fl is None:
    st.info(state.NO_POSTS)
    st.stop()
names = state.brand_names()
runs = q("influence_runs", fl.brand_id)
run_id = runs[0]["id"] if runs else None

if st.session_state.get("graph_scope") not in SCOPES:
    st.session_state["graph_scope"] = "Brand"  # other pages set it to open a scope here
c1, c2, c3 = st.columns([2, 3, 2])
scope = c1.segmented_control("Around", SCOPES, key="graph_scope") or "Brand"
cap = c3.slider("Most active authors shown", 50, 1000, view.DEFAULT_CAP, step=50,
                key="graph_cap",
                help="The view keeps the authors with the most amplification; "
                     "export the whole graph with `undertow graph export`.")

focus = None
if scope == "Brand":
    c2.markdown(f"**{state.md(fl.brand)}**, {fl.range_name.lower()} (set in the sidebar)")
    net = state.network("brand_edges", fl.brand_ids, *fl.window(), cap=cap, run_id=run_id)
    title = "Who amplified posts about " + (
        "all brands" if fl.brand_id is None else fl.brand)
elif scope == "Alert":
    alerts = q("alerts", fl.brand_ids, ("open", "acknowledged", "resolved"))
    if alerts.empty:
        st.info("No alerts yet: `undertow detect` raises them when negative posts spread.")
        st.stop()
    labels = {int(a.id): f"{a.severity:.2f} · {names.get(a.brand_id, '?')} · {a.title}"
              for a in alerts.itertuples()}
    ids = list(labels)
    wanted = st.session_state.get("graph_alert")
    chosen = c2.selectbox("Alert", ids, format_func=labels.get,
                          index=ids.index(wanted) if wanted in ids else 0)
    row = alerts.set_index("id").loc[chosen]
    roots = tuple(evidence.read(row["evidence"], row["story_key"]).root_post_ids)
    if not roots:
        st.info("This alert names no root posts, so there is no cascade to draw.")
        st.stop()
    net = state.network("cascade_edges", roots, cap=cap, run_id=run_id)
    title = f"Amplification of alert {chosen}"
else:
    focus = st.session_state.get("author_id")
    if focus is None:
        top = q("influencers", run_id, None, 50) if run_id else None
        if top is None or top.empty:
            st.info("Pick an author on the Influencers or Posts page first (no ranking yet: "
                    "run `undertow rank`).")
            st.stop()
        options = dict(zip(top["author_id"].astype(int), top["handle"].fillna("?"), strict=True))
        focus = c2.selectbox("Author", list(options), format_func=options.get)
    else:
        person = q("author", focus) or {}
        c2.markdown(f"**{state.md(person.get('handle') or focus)}** (from the Influencers "
                    "page)")
    net = state.network("ego_edges", focus, fl.since, fl.until, cap=cap, focus=focus,
                        run_id=run_id)
    title = "Ego network"

g = net.graph
if g.number_of_nodes() == 0:
    st.info("No amplification (reposts, quotes, replies) in this scope and window: widen the "
            "time range, or load interactions with `undertow collect` or `undertow demo`.")
    st.stop()
size_title = "Influence" if net.nodes["influence"].notna().any() else "Amplifications received"
nodes = net.nodes
in_view = nodes["author_id"].astype("int64").map(q("coordination_clusters"))
if in_view.notna().any() and st.toggle(
        "Colour coordinated clusters", key="graph_coordination",
        help="Accounts that repost the same items within 60 s of each other, again and again, "
             "across the stored history; everyone else shows as organic."):
    nodes = nodes.assign(community=in_view.map(
        lambda c: "organic" if pd.isna(c) else f"lock-step {int(c)}"))
st.vega_lite_chart(graphview.chart(nodes, net.edges, size_title, title), width="stretch")
communities = net.nodes["community"].nunique()
st.caption(
    f"Showing {state.n(g.number_of_nodes())} of {state.n(net.authors)} authors and "
    f"{state.n(g.number_of_edges())} links ({state.n(net.interactions)} interactions in scope). "
    f"Colour: community ({communities} shown"
    + (", from the influence run" if run_id else ", Louvain on this view") + "); size: "
    f"{size_title.lower()}; a line means one amplified the other. Scroll to zoom, drag to pan."
    + (" Laid out by the pipeline after the latest ranking (`undertow listen`, `undertow demo`)."
       if net.saved else ""))

d1, d2, _ = st.columns([1, 1, 3])
stem = f"undertow-{scope.lower()}-graph"
d1.download_button("Download GEXF", lambda: graphview.export(g, "gexf"),
                   file_name=f"{stem}.gexf", mime="application/xml", on_click="ignore")
d2.download_button("Download GraphML", lambda: graphview.export(g, "graphml"),
                   file_name=f"{stem}.graphml", mime="application/xml", on_click="ignore")
