"""Engagement: how fast the brands answer, what is still unanswered, and whether answering helped."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import state, tables
from dashboard.state import q

st.title("Engagement")
facts, fl = state.facts(), state.current_filters()
if fl is None:
    st.info(state.NO_POSTS)
    st.stop()
if not facts["brands"]:
    st.info(state.NO_BRANDS)
    st.stop()
brand = None if fl.brand_id is None else fl.brand
with st.spinner("Linking conversations..."):
    data = q("engagement", facts["model"], brand, fl.since, fl.until)
st.caption(f"{fl.range_name} · customer posts and conversations opened in the window · all "
           "platforms · a case is one customer's part of one thread; it counts when it needed "
           "an answer (negative or a question) or got one · Undertow does not post replies: "
           "answer on the platform.")
blind = [name for name, has in data["has_accounts"].items() if not has]
if blind:
    st.warning(state.md(
        f"No own accounts for {', '.join(blind)}: Undertow cannot see their answers, so their "
        "posts all look unanswered. Add them with `undertow brand edit NAME --account "
        "x:HANDLE`."), icon=":material/person_off:")


def _minutes(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f} min" if value < 120 else f"{value / 60:,.1f} h"


# -- service KPIs --------------------------------------------------------------------------
st.subheader("Service KPIs")
rows = [{"name": name, "kind": "brand", **k} for name, k in data["brands"].items()]
if brand is None:
    rows += [{"name": name, "kind": "group", **k} for name, k in data["groups"].items()]
kpis = pd.DataFrame(rows)
if len(data["brands"]) == 1:
    k = next(iter(data["brands"].values()))
    c = st.columns(5)
    c[0].metric("Response rate", state.pct(k["response_rate"]),
                help=f"{state.n(k['answered'])} of {state.n(k['counted'])} cases answered")
    c[1].metric("Median first response", _minutes(k["median_first_response_min"]))
    c[2].metric("90th percentile", _minutes(k["p90_first_response_min"]))
    c[3].metric("Answered within 1 h", state.pct(k["answered_within_1h"]))
    c[4].metric("Unanswered high-risk", state.n(k["unanswered_high_risk"]))
view = pd.DataFrame({
    "name": kpis["name"], "kind": kpis["kind"], "cases": kpis["counted"],
    "answered": kpis["answered"], "response_rate": kpis["response_rate"],
    "median_min": kpis["median_first_response_min"], "p90_min": kpis["p90_first_response_min"],
    "within_1h": kpis["answered_within_1h"], "high_risk": kpis["unanswered_high_risk"],
})
st.dataframe(view, hide_index=True, width="stretch", key="eng_kpis", column_config={
    "name": "Brand / group", "kind": st.column_config.TextColumn("", width="small"),
    "cases": st.column_config.NumberColumn("Cases", format="localized",
                                           help="Needed an answer, or got one"),
    "answered": st.column_config.NumberColumn("Answered", format="localized"),
    "response_rate": st.column_config.ProgressColumn("Response rate", min_value=0.0,
                                                     max_value=1.0, format="percent"),
    "median_min": st.column_config.NumberColumn("Median first response (min)", format="%.1f"),
    "p90_min": st.column_config.NumberColumn("90th percentile (min)", format="%.0f"),
    "within_1h": st.column_config.ProgressColumn("Within 1 h", min_value=0.0, max_value=1.0,
                                                 format="percent"),
    "high_risk": st.column_config.NumberColumn("Unanswered high-risk", format="localized"),
})
trend = pd.DataFrame([{"brand": b, "day": pd.Timestamp(day), "median": k["median_first_response_min"],
                       "rate": k["response_rate"]}
                      for b, days in data["periods"].items() for day, k in days.items()
                      if k["median_first_response_min"] is not None])
if len(trend) > 1:
    st.altair_chart(alt.Chart(trend).mark_line(point=True).encode(
        x=alt.X("day:T", title="Day (UTC) the case opened"),
        y=alt.Y("median:Q", title="Median first response (min)", scale=alt.Scale(type="symlog")),
        color=alt.Color("brand:N", title=None),
        tooltip=["brand", alt.Tooltip("day:T"), alt.Tooltip("median:Q", format=",.1f"),
                 alt.Tooltip("rate:Q", format=".0%", title="response rate")],
    ).properties(height=260, title="First-response time over time"), width="stretch")

# -- the queue -----------------------------------------------------------------------------
st.subheader("Unanswered, riskiest first")
queue = pd.DataFrame(data["queue"])
st.caption(f"{state.n(data['unanswered'])} customer posts in the window need an answer and have "
           f"none as of {data['as_of']:%d %b %Y %H:%M} UTC; the top {len(queue)} by risk (growth of "
           "the thread, the author's reach and influence, negativity, waiting time).")
if queue.empty:
    st.info("Nothing waiting: every customer post that needed an answer got one.")
else:
    st.dataframe(pd.DataFrame({
        "risk": queue["risk"], "brand": queue["brand"],
        "time": pd.to_datetime(queue["created_at"], format="ISO8601"),
        "author": queue["author"].fillna("").astype(str),
        "followers": pd.to_numeric(queue["followers"], errors="coerce"),
        "text": queue["text"].astype(str),
        "why": queue["reasons"].map("; ".join),
        "link": queue["url"].map(tables.safe_url),
    }), hide_index=True, width="stretch", key="eng_queue", column_config={
        "risk": st.column_config.ProgressColumn("Risk", min_value=0.0, max_value=1.0,
                                                format="%.2f", width="small"),
        "time": st.column_config.DatetimeColumn("Posted (UTC)", format="D MMM, HH:mm"),
        "followers": st.column_config.NumberColumn("Followers", format="localized"),
        "text": st.column_config.TextColumn("Text", width="large"),
        "why": st.column_config.TextColumn("Why", width="medium"),
        "link": st.column_config.LinkColumn("Answer", display_text="open ↗", width="small"),
    })

# -- the brands' answers ----------------------------------------------------------------------
answers = pd.DataFrame(data["answers"])
if not answers.empty:
    st.subheader("The brands' answers")
    st.caption("The newest cases answered in the window: the brand's own posts, shown, never "
               "counted as mentions; what the customer said after the answer is the thread's "
               "outcome.")
    st.dataframe(pd.DataFrame({
        "time": pd.to_datetime(answers["answered_at"], format="ISO8601"), "brand": answers["brand"],
        "minutes": answers["minutes"], "account": answers["account"].fillna("").astype(str),
        "answer": answers["answer"].astype(str),
        "customer": answers["customer"].fillna("").astype(str),
        "customer_post": answers["customer_post"].astype(str),
        "after": answers.apply(lambda r: f"{r['later_posts']} posts, {r['later_negative']} "
                               "negative" if r["later_posts"] else "none", axis=1),
        "link": answers["url"].map(tables.safe_url),
    }), hide_index=True, width="stretch", key="eng_answers", column_config={
        "time": st.column_config.DatetimeColumn("Answered (UTC)", format="D MMM, HH:mm"),
        "minutes": st.column_config.NumberColumn("First response (min)", format="%.1f"),
        "answer": st.column_config.TextColumn("Answer", width="large"),
        "customer_post": st.column_config.TextColumn("Customer's first post", width="large"),
        "after": st.column_config.TextColumn("Customer afterwards", width="small"),
        "link": st.column_config.LinkColumn("Source", display_text="open ↗", width="small"),
    })

# -- did replying help? ----------------------------------------------------------------------
st.subheader("Did replying help?")
effects = data["effects"]
labels = {
    "next_negative": "The customer's next post in the thread was negative",
    "again_negative": "The customer posted negatively again in the day after the first hour",
    "growth": "Reactions to the post in that day (log scale)",
}
for name, e in effects.items():
    if e["estimate"] is None:
        st.markdown(f"**{labels.get(name, name)}**: {state.md(e['note'])} "
                    f"({state.n(e['treated'])} answered, {state.n(e['controls'])} unanswered).")
        continue
    lo, hi = e["ci95"]
    st.markdown(
        f"**{labels.get(name, name)}**: {e['treated_mean']:.2f} after an answer against "
        f"{e['control_mean']:.2f} for comparable unanswered posts, a difference of "
        f"**{e['estimate']:+.2f}** (95% interval {lo:+.2f} to {hi:+.2f}; "
        f"{state.n(e['matched'])} of {state.n(e['treated'])} answered posts matched; without "
        f"matching {e['unmatched']:+.2f}).")
st.caption(state.md(data["caveats"]))
