"""Alerts: viral negative word-of-mouth, most severe first, each with its evidence and actions."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import actions, charts, evidence, routing, state, tables
from dashboard.state import q
from listener import story_numbers
from listener.errors import UndertowError

STATUSES = {"open": "Open", "acknowledged": "Acknowledged", "resolved": "Resolved",
            "watch": "Watch (below medium)"}

st.title("Alerts")
facts, fl = state.facts(), state.current_filters()
if fl is None:
    st.info(state.NO_POSTS)
    st.stop()
names = state.brand_names()

chosen = st.segmented_control("Status", list(STATUSES), format_func=STATUSES.get,
                              selection_mode="multi", default=["open", "acknowledged"],
                              key="alert_status")
alerts = q("alerts", fl.brand_ids, tuple(chosen or STATUSES))
st.caption(f"{fl.brand} · all times · most severe first")
with st.expander("Routing: who is told, from which severity", icon=":material/alt_route:"):
    shown = [b for b in state.store().brands() if b.id in fl.brand_ids]
    st.dataframe(routing.routing_table(shown, state.settings()), hide_index=True,
                 width="stretch", key="routing_table", column_config={
                     "brand": "Brand", "email": "Email to",
                     "from": st.column_config.TextColumn(
                         "Sent from", help="The lowest severity emailed and posted"),
                     "webhook": st.column_config.TextColumn(
                         "Chat webhook", help="Only the host: the URL's path is a secret")})
    st.caption("Set with `undertow brand edit NAME --recipient EMAIL --notify-from LEVEL "
               "--webhook NAME`.")
if alerts.empty:
    st.info("No alerts with this status. Alerts appear when `undertow detect` (run by "
            "`undertow listen`) finds negative word-of-mouth that is spreading.")
    st.stop()


def _act(fn, alert_id: int) -> None:
    try:
        changed = fn(state.store(), alert_id, st.session_state.get("alert_by", ""))
    except UndertowError as exc:
        st.session_state["alert_notice"] = str(exc)
        return
    state.refresh()
    st.session_state["alert_notice"] = (
        f"Alert {alert_id} {'updated' if changed else 'was already in that state'}.")


if notice := st.session_state.pop("alert_notice", None):
    st.toast(notice)

top = st.columns(3)
top[0].metric("Alerts shown", state.n(len(alerts)), border=True)
top[1].metric("Open", state.n((alerts["status"] == "open").sum()), border=True)
top[2].metric("Highest severity", f"{alerts['severity'].max():.2f}", border=True)

listing = pd.DataFrame({
    "id": alerts["id"].map(lambda i: f"#{i}"),  # what `undertow alerts ack|resolve` takes
    "severity": alerts["severity"],
    "status": alerts["status"].map(lambda v: STATUSES.get(v, v)),
    "brand": alerts["brand_id"].map(names),
    "title": alerts["title"].astype(str),
    "opened": alerts["opened_at"],
    "updated": alerts["updated_at"],
})
picked = st.dataframe(
    listing, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
    key="alerts_table", column_config={
        "id": st.column_config.TextColumn("Id", width="small",
                                          help="For `undertow alerts ack|resolve ID`"),
        "severity": st.column_config.ProgressColumn("Severity", min_value=0.0, max_value=1.0,
                                                    format="%.2f"),
        "status": "Status", "brand": "Brand", "title": st.column_config.TextColumn(
            "Alert", width="large"),
        "opened": st.column_config.DatetimeColumn("Opened (UTC)", format="D MMM, HH:mm"),
        "updated": st.column_config.DatetimeColumn("Updated (UTC)", format="D MMM, HH:mm")})
rows = picked.selection.rows
focus = st.session_state.get("alert_focus")
if "alert" in st.query_params:  # /alerts?alert=ID
    focus = st.query_params["alert"]
try:
    focus = int(focus) if focus is not None else None
except ValueError:
    focus = None
focused = alerts.index[alerts["id"] == focus] if focus is not None else []
if not rows and focus is not None and not len(focused):
    st.warning(f"Alert #{focus} is not in this list (another brand or status, or removed).")
alert = alerts.iloc[rows[0]] if rows else (alerts.loc[focused[0]] if len(focused)
                                           else alerts.iloc[0])
st.caption("Select an alert to see its evidence; the most severe is shown until you do.")

ev = evidence.read(alert["evidence"], alert["story_key"])
alert_id = int(alert["id"])
if (rows or len(focused)) and st.query_params.get("alert") != str(alert_id):
    # The address names the alert shown (a followed link, a selected row), so a reload or a
    # copied address opens it again; switching pages had dropped the link's parameter.
    st.query_params["alert"] = str(alert_id)
with st.container(border=True):
    st.subheader(state.md(alert["title"]))
    roots = ev.root_post_ids
    cascade = q("cascade_edges", tuple(roots)) if roots else pd.DataFrame()
    c = st.columns(4)
    c[0].metric("Severity", f"{alert['severity']:.2f}")
    c[1].metric("Opened (UTC)", f"{alert['opened_at']:%d %b %H:%M}")
    told = story_numbers.from_evidence(ev) or story_numbers.from_edges(
        cascade["weight"] if len(cascade) else [], max(len(roots), 1))
    c[2].metric("Reactions", state.n(told.reactions), help=story_numbers.REACTIONS_HELP)
    fc = evidence.forecast(ev)
    c[3].metric("Forecast final size", "–" if not fc or fc["final"] is None
                else state.n(round(fc["final"])),
                help="The detector's forecast of the story's final size, with its range "
                     "in the growth chart.")
    st.caption(state.md(
        f"{STATUSES.get(alert['status'], alert['status'])} · "
        f"{names.get(alert['brand_id'], '?')} · story {alert['story_key']} · updated "
        f"{alert['updated_at']:%d %b %H:%M} UTC" + (
            f" · resolved {alert['resolved_at']:%d %b %H:%M} UTC"
            if pd.notna(alert["resolved_at"]) else "")))

    for reason in ev.reasons():
        st.markdown("- " + state.md(reason))
    if pd.notna(alert.get("acknowledged_at")) and alert.get("acknowledged_by"):
        st.caption(state.md(f"Acknowledged by {alert['acknowledged_by']} at "
                            f"{alert['acknowledged_at']:%d %b %H:%M} UTC"))
    if pd.notna(alert.get("resolved_at")) and alert.get("resolved_by"):
        st.caption(state.md(f"Resolved by {alert['resolved_by']} at "
                            f"{alert['resolved_at']:%d %b %H:%M} UTC"))
    who = st.text_input("Your name", key="alert_by",
                        help="Recorded on the alert when you acknowledge or resolve it.")
    b1, b2, _ = st.columns([1, 1, 4])
    b1.button("Acknowledge", key=f"ack_{alert_id}", disabled=alert["status"] != "open"
              or not who.strip(), on_click=_act, args=(actions.acknowledge, alert_id))
    b2.button("Resolve", key=f"resolve_{alert_id}", disabled=alert["status"] == "resolved"
              or not who.strip(), on_click=_act, args=(actions.resolve, alert_id),
              type="primary")

    left, right = st.columns([3, 2])
    with left:
        curve = evidence.growth(ev)
        st.markdown("**Growth of the story**")
        if curve.empty:
            st.info("The detector recorded no growth curve for this alert.")
        else:
            st.altair_chart(charts.growth(curve, fc), width="stretch")
            if fc and fc["final"] is not None:
                st.caption("Blue: posts so far; orange: the forecast final size and its range.")
    with right:
        themes = evidence.themes(ev)
        st.markdown("**Complaint themes**")
        if themes.empty:
            st.caption("None recorded.")
        else:
            st.dataframe(themes, hide_index=True, width="stretch",
                         column_config={"theme": "Theme", "posts": "Posts"})

    st.markdown("**Root posts**")
    if roots:
        tables.posts(q("posts_by_ids", tuple(roots), facts["model"]), key="alert_roots")
    else:
        st.caption("None recorded.")

    left, right = st.columns(2)
    with left:
        st.markdown("**Influencers involved**")
        inf = evidence.influencers(ev)
        if inf.empty:
            st.caption("None recorded.")
        else:
            st.dataframe(inf, hide_index=True, width="stretch",
                         column_config={"author_id": st.column_config.TextColumn("Author id"),
                                        "handle": "Author", "rank": "Influence rank",
                                        "role": "Role"})
    with right:
        st.markdown("**Amplification path**")
        tables.amplification(cascade, evidence.path(ev))
        if len(cascade) and st.button("Open in Graph explorer"):
            st.session_state["graph_scope"] = "Alert"
            st.session_state["graph_alert"] = alert_id
            st.switch_page("views/graph.py")

    co = evidence.coordination(ev)
    if co is not None:
        st.markdown("**Coordinated amplification**")
        if co["share"] == 0:
            st.caption(f"None of its {co['reposts']:,} reposts came from accounts that repost in "
                       "lock-step (the coordination flag over the stored history).")
        else:
            st.metric("Reposts from lock-step clusters", f"{co['share']:.0%}",
                      help="Accounts that reposted the same items within 60 s of each other, "
                           "again and again, across the stored history (docs/influence.md).")
            st.dataframe(co["clusters"], hide_index=True, width="stretch")

    extra = {k: v for k, v in ev.extra.items() if k != "coordination"}
    if extra:
        with st.expander("Other evidence"):
            st.json(extra)
