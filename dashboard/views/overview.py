"""Overview: how are we doing? Volume, sentiment, share of voice, complaint themes, KPIs.

The page draws in the order its reads cost: mention counts come from the post_brands index
alone and show at once; the sentiment breakdown looks up a score per mention and fills in after.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, drill, state, tables
from dashboard import themes as dthemes
from dashboard.queries import LABELS
from dashboard.state import q
from graph.levels import named

MARK_FROM = named("medium").floor
MAX_MARKS = 10
UNSCORED = "None of these mentions is scored yet: run `undertow score`."

st.title("Overview")
facts, fl = state.facts(), state.current_filters()
if fl is None:
    st.info(state.NO_POSTS)
    st.stop()
if not facts["brands"]:
    st.info(state.NO_BRANDS)
    st.stop()

names = state.brand_names()
groups = {b["id"]: b["competitor_group"] for b in facts["brands"]}
model = facts["model"]
# Share of voice and net sentiment compare a brand with its competitor group: count only those.
mine_group = groups.get(fl.brand_id) if fl.brand_id is not None else None
compared = tuple(b for b in names if fl.brand_id is None or b in fl.brand_ids
                 or (mine_group is not None and groups[b] == mine_group))
# The reads below ask for every brand and keep `compared`: one cached read per window serves
# every brand's view, so switching from all brands to one (or between brands) reads nothing.
every_brand = tuple(names)


def per_brand(counts: pd.DataFrame) -> pd.DataFrame:
    """brand_id x period rows: posts and, where labelled, one column per label."""
    key = ["brand_id", "period"]
    out = counts.groupby(key)["posts"].sum().to_frame()
    # One grouping by label, spread into columns (a grouping per label cost three times that).
    by_label = counts.groupby([*key, "label"])["posts"].sum().unstack("label")
    out = out.join(by_label.reindex(columns=list(LABELS))) if len(by_label) else \
        out.assign(**{label: 0 for label in LABELS})
    out = out.fillna(0).astype(int)
    out["scored"] = out[list(LABELS)].sum(axis=1)
    return out.reset_index().assign(brand=lambda d: d["brand_id"].map(names))


def totals(summary: pd.DataFrame, period: str) -> pd.Series:
    mine = summary[summary["brand_id"].isin(fl.brand_ids) & (summary["period"] == period)]
    return mine.sum(numeric_only=True)


def net(row: pd.Series) -> float | None:
    return (row["positive"] - row["negative"]) / row["scored"] if row.get("scored", 0) else None


def negative_share(row: pd.Series) -> float | None:
    return row["negative"] / row["scored"] if row.get("scored", 0) else None


def counts(model: str | None) -> pd.DataFrame:
    """Mention counts of the window ('current') and of the comparison period ('previous'):
    two cached scans, so changing only the comparison re-reads only its period."""
    cur = q("mention_counts", model, every_brand, *fl.window(), fl.since, fl.unit)
    frames = [cur]
    if (other := fl.compared()) is not None:
        prev = q("mention_counts", model, every_brand, *other, other[1], fl.unit)
        frames.append(prev.assign(period="previous"))
    both = pd.concat(frames, ignore_index=True)
    return both[both["brand_id"].isin(compared)].reset_index(drop=True)


def opened(chart, key: str) -> None:
    """Draw a chart whose clicks drill down, and the posts behind the clicked mark."""
    event = st.altair_chart(chart, width="stretch", on_select="rerun", key=key,
                            selection_mode=drill.PICK)
    picked = drill.from_event(event, ids_by_name, fl.brand_ids, fl.since, fl.until, fl.unit)
    if picked is not None:
        tables.drill_posts(picked, model, fl.platforms, key=f"{key}_posts")


def delta_pp(a: float | None, b: float | None) -> str | None:
    return None if a is None or b is None else f"{(a - b) * 100:+.1f} pp"


ids_by_name = {v: k for k, v in names.items()}
volume = counts(None)
summary = per_brand(volume)
cur, prev = totals(summary, "current"), totals(summary, "previous")
open_alerts = q("alerts", fl.brand_ids, ("open", "acknowledged"))

st.caption(f"{fl.brand} · {fl.range_name} · {fl.compare_label}")
k1, k2, k3, k4 = st.columns(4)
mentions, before = int(cur.get("posts", 0)), int(prev.get("posts", 0))
k1.metric("Mentions", state.n(mentions),
          delta=f"{(mentions - before) / before:+.0%} vs comparison" if before else None,
          help="Posts that match the brand queries in the window.", border=True)
net_box, neg_box = k2.empty(), k3.empty()
k4.metric("Open alerts", state.n(len(open_alerts)),
          help="Open or acknowledged viral negative word-of-mouth alerts (all time).", border=True)

if mentions == 0:
    st.info(f"No mentions of {fl.brand} in this window: widen the time range or pick another "
            "brand; new posts arrive with `undertow collect`.")
    st.stop()

# One brand: its competitors too, muted, so the line reads against theirs.
window = volume[(volume["period"] == "current") & volume["brand_id"].isin(compared)]
vol = charts.complete(window, "brand_id", compared, fl.since, fl.until, fl.unit)
vol["brand"] = vol["brand_id"].map(names)
strong = [names[b] for b in fl.brand_ids] if fl.brand_id is not None else []
span = (fl.since, fl.until)
marks = q("alerts", fl.brand_ids, ("open", "acknowledged", "resolved"), fl.since, fl.until)
# Only the most severe openings of medium level or above: a line per alert buried the curves.
marks = marks[marks["severity"] >= MARK_FROM].head(MAX_MARKS)
marks = marks.assign(brand=marks["brand_id"].map(names), time=marks["opened_at"])
opened(charts.volume(vol, fl.unit, marks[["brand", "title", "severity", "time"]], span,
                     names.values(), strong), "volume_chart")

scored = pd.DataFrame(columns=["brand_id", "period", "label", "posts", "time"])
if model is None:
    st.info(state.NO_SCORES)
else:
    with st.spinner("Counting sentiment..."):
        scored = counts(model)
    sent = scored[(scored["period"] == "current") & scored["brand_id"].isin(fl.brand_ids)]
    sent = charts.complete(sent, "label", LABELS, fl.since, fl.until, fl.unit)
    if not sent["posts"].any():
        st.info(UNSCORED)
    else:
        opened(charts.sentiment(sent, fl.unit, model, span), "sentiment_chart")
labelled = per_brand(scored)
now, then = totals(labelled, "current"), totals(labelled, "previous")
net_box.metric("Net sentiment", "–" if net(now) is None else f"{net(now):+.0%}",
               delta=delta_pp(net(now), net(then)), border=True,
               help="Share of model-scored mentions that are positive minus the share negative.")
neg_box.metric("Negative share", state.pct(negative_share(now)),
               delta=delta_pp(negative_share(now), negative_share(then)), delta_color="inverse",
               help="Share of model-scored mentions labelled negative.", border=True)

left, right = st.columns(2)
current = summary[summary["period"] == "current"].assign(
    group=lambda d: d["brand_id"].map(groups))
if fl.brand_id is None and current["group"].notna().any():
    voice = current[current["group"].notna()]
elif fl.brand_id is None:  # no competitor groups at all: every brand against every other
    voice = current.assign(group="all brands")
else:
    voice = current[current["group"] == mine_group] if mine_group is not None else None
with left:
    if voice is None:
        st.info(f"{fl.brand} has no competitor group, so there is no share of voice to show: "
                f"set one with `undertow brand add '{fl.brand}' --query ... --group GROUP`.")
    else:
        voice = voice.assign(
            share=voice["posts"] / voice.groupby("group")["posts"].transform("sum"))
        for n_group, (group, part) in enumerate(voice.groupby("group", sort=True)):
            opened(charts.share_of_voice(part[["brand", "group", "posts", "share"]], str(group),
                                         names.values(), strong), f"voice_chart_{n_group}")
        st.caption("Each brand's share of its competitor group's mentions in the window.")
with right:
    rated = labelled[(labelled["period"] == "current") & (labelled["scored"] > 0)]
    if rated.empty:
        st.info(state.NO_SCORES if model is None else UNSCORED)
    else:
        rated = rated.assign(net=(rated["positive"] - rated["negative"]) / rated["scored"])
        st.altair_chart(charts.net_sentiment(rated[["brand", "net", "scored"]]),
                        width="stretch")
        st.caption(f"Model: {model}")

def found_themes_table(mine: pd.DataFrame) -> None:
    """The themes `undertow themes` found, ranked; a clicked row lists its posts."""
    table = dthemes.ranked(mine, names)
    cols = (["brand"] if len(fl.brand_ids) > 1 else []) + \
        ["name", "posts", "share", "trend", "priority", "emerging"]
    st.markdown("**Top complaint themes**")
    event = st.dataframe(
        table[cols], hide_index=True, width="stretch", key="themes_table", on_select="rerun",
        selection_mode="single-row",
        column_config={
            "brand": "Brand", "name": "Theme", "posts": st.column_config.NumberColumn(
                "Posts", format="localized"),
            "share": st.column_config.ProgressColumn(
                "Share", help="Of the brand's themed complaints in the window", format="percent",
                min_value=0.0, max_value=1.0),
            "trend": st.column_config.LineChartColumn("Trend, 8 days"),
            "priority": st.column_config.NumberColumn(
                "Priority", format="%.2f", help="Share x growth (last day against the 7 before) "
                "x log10(10 + reach of the authors who carried it)"),
            "emerging": st.column_config.CheckboxColumn(
                "Emerging", help="Growing at least 2x with at least 5 posts in the last day")})
    st.caption("Found in the negative posts and kept stable by `undertow themes` (run by "
               "`listen` and `demo`); copies count once. Click a row for its posts.")
    rows = event.selection.rows if event is not None else []
    if rows:
        row = table.iloc[rows[0]]
        tables.drill_posts(drill.from_theme(int(row["brand_id"]), str(row["brand"]),
                                            int(row["theme"]), str(row["name"]), fl.since,
                                            fl.until), model, fl.platforms, key="themes_posts")


themed = q("found_themes", every_brand, *fl.window())
themed = themed[themed["brand_id"].isin(compared)]
left, right = st.columns(2)
with left:
    mine = themed[themed["brand_id"].isin(fl.brand_ids)]
    if not mine.empty:
        found_themes_table(mine)
    elif model is not None:
        skip = tuple(w for bid in fl.brand_ids for w in names[bid].lower().split())
        themes, sample = q("complaint_themes", model, fl.brand_ids, *fl.window(), skip)
        if themes.empty:
            st.info("Too few negative posts in this window to find complaint themes.")
        else:
            st.altair_chart(charts.themes(
                themes, "Over-represented complaint words",
                f"In the {state.n(sample)} newest negative posts; retweets once. Run "
                "`undertow themes` for the themes found in the data"),
                width="stretch")
with right:
    reasons = q("gold_reasons", fl.brand_ids, *fl.window()) if q("has_gold_reasons") else None
    if reasons is not None and not reasons.empty:
        st.altair_chart(charts.reasons(reasons), width="stretch")

# Theme shares compared within each competitor group on the page (the group's brands share
# one set of themes, so a column is one complaint across the brands).
shown_groups = sorted({groups[b] for b in fl.brand_ids if groups.get(b)})
for group in shown_groups:
    members = [b for b in compared if groups.get(b) == group]
    part = themed[themed["brand_id"].isin(members)]
    if part["brand_id"].nunique() >= 2:
        st.altair_chart(charts.theme_shares(dthemes.group_shares(part, names), group),
                        width="stretch")
