"""Altair charts: each with a title, axis units and readable labels. Data in, chart out.

Altair (Vega-Lite) ships inside Streamlit's frontend, so every chart renders offline, and Vega
draws text as text: an author's handle in a tooltip cannot become markup.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

# Altair's debug mode validates every schema object against the Vega-Lite schema as it is
# built (each axis, scale, tooltip: 40-50 checks on the Overview, 0.15-0.2 s of a render under
# load). The charts are checked once in the tests instead (test_parts.py, with the schema).
alt.utils.schemapi.disable_debug_mode()

SENTIMENT_COLORS = alt.Scale(domain=["negative", "neutral", "positive"],
                             range=["#d62728", "#a0a0a0", "#2ca02c"])


def complete(df: pd.DataFrame, key: str, keys, since, until, unit: str) -> pd.DataFrame:
    """Every (key, hour/day) of the window, zero where nothing was counted, so lines and areas
    drop to zero in quiet hours instead of bridging them."""
    start = pd.Timestamp(since).floor("h" if unit == "hour" else "D")
    times = pd.date_range(start, pd.Timestamp(until), freq="h" if unit == "hour" else "D",
                          inclusive="left")
    grid = pd.MultiIndex.from_product([list(keys), times], names=[key, "time"])
    return (df.groupby([key, "time"])["posts"].sum().reindex(grid, fill_value=0)
            .reset_index())


# Okabe-Ito plus two: distinguishable for the common colour-vision deficiencies, nine brands
# and more. A brand keeps its colour on every chart (`brand_scale`).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000", "#999999", "#882255", "#44AA99"]
MUTED = 0.3


def brand_scale(names) -> alt.Scale:
    """One colour per brand, fixed by the sorted list of all brand names."""
    names = sorted(names)
    return alt.Scale(domain=names, range=[PALETTE[i % len(PALETTE)] for i in range(len(names))])


def _time_axis(unit: str, domain: tuple | None = None) -> alt.X:
    """The shared time axis: with `domain` = the window, every time chart spans the same
    hours, so the volume and sentiment charts line up under each other."""
    fmt = "%d %b %H:%M" if unit == "hour" else "%d %b"
    scale = alt.Scale(domain=[pd.Timestamp(d).isoformat() for d in domain]) if domain \
        else alt.Undefined
    return alt.X("time:T", title=f"Time (UTC, per {unit})", scale=scale,
                 axis=alt.Axis(format=fmt, labelAngle=0))


def unchecked(chart):
    """`chart`, whose `to_dict()` skips validating the spec against the Vega-Lite JSON schema.

    Streamlit turns a chart into its spec on every render, cached or not, and jsonschema's
    validation of the Overview's charts was a third of its render (0.55 s of 1.7 s at 1M posts,
    load 10). These builders make the same shape every time, and
    `tests/dashboard/test_parts.py` validates each one with the schema once.
    """
    plain = chart.to_dict

    def to_dict(*args, validate: bool = False, **kwargs):
        return plain(*args, validate=validate, **kwargs)

    object.__setattr__(chart, "to_dict", to_dict)  # Altair's own setattr takes spec fields
    return chart


def _when(channel, test, yes, no):
    """`alt.condition(test, alt.value(yes), alt.value(no))` as the channel's value class
    (`alt.OpacityValue`, ...): the same spec, but Altair resolves a condition dict by trying
    its schema's alternatives with jsonschema, 10-30 ms a channel on every render."""
    test = test.to_dict() if hasattr(test, "to_dict") else test
    return channel(value=no, condition={"test": test, "value": yes})


def pick(fields: list[str]) -> alt.Parameter:
    """The click selection the drill-down reads (`dashboard.drill.PICK`). Not `nearest`: its
    Voronoi overlay swallowed the clicks, so Streamlit never heard of them."""
    return alt.selection_point(name="pick", fields=fields)


def volume(df: pd.DataFrame, unit: str, marks: pd.DataFrame | None = None,
           domain: tuple | None = None, all_brands=(), highlight=()) -> alt.Chart:
    """Mentions per brand over time, with alert openings as labelled vertical rules. The
    `highlight`ed brands are drawn strong, the rest (their competitors) muted."""
    strong = list(highlight) or sorted(set(df["brand"]))
    base = alt.Chart(df).mark_line(point=alt.OverlayMarkDef(size=30, opacity=0.6)).encode(
        x=_time_axis(unit, domain),
        y=alt.Y("posts:Q", title=f"Mentions per {unit}"),
        color=alt.Color("brand:N", title="Brand", scale=brand_scale(all_brands or df["brand"]),
                        legend=alt.Legend(orient="top")),
        opacity=_when(alt.OpacityValue, alt.FieldOneOfPredicate("brand", strong), 1.0, MUTED),
        strokeWidth=_when(alt.StrokeWidthValue, alt.FieldOneOfPredicate("brand", strong), 2.5,
                          1.2),
        tooltip=[alt.Tooltip("brand:N", title="Brand"),
                 alt.Tooltip("time:T", title="Time (UTC)", format="%d %b %Y %H:%M"),
                 alt.Tooltip("posts:Q", title="Mentions", format=",")],
    ).add_params(pick(["brand", "time"]))
    layers = [base]
    if marks is not None and len(marks):
        rules = alt.Chart(marks).mark_rule(color="#333333", strokeDash=[4, 3], size=1.5).encode(
            x="time:T",
            tooltip=[alt.Tooltip("brand:N", title="Alert on"),
                     alt.Tooltip("title:N", title="Alert"),
                     alt.Tooltip("severity:Q", title="Severity", format=".2f"),
                     alt.Tooltip("time:T", title="Opened (UTC)", format="%d %b %Y %H:%M")],
        )
        layers.append(rules)
    return unchecked(alt.layer(*layers).properties(
        title=alt.Title("Mention volume", subtitle="Click a point for its posts. Dashed lines: "
                        "the most severe alerts opened (medium and high, at most 10)"),
        height=320))


def sentiment(df: pd.DataFrame, unit: str, model: str, domain: tuple | None = None) -> alt.Chart:
    """Model-scored mentions per label over time, stacked."""
    # Points on the stack's edges: an area is one mark, so a click needs a point to name its hour.
    return unchecked(alt.Chart(df).mark_area(opacity=0.85, point=alt.OverlayMarkDef(
        size=25, opacity=0.5, filled=True)).encode(
        x=_time_axis(unit, domain),
        y=alt.Y("posts:Q", stack=True, title=f"Scored mentions per {unit}"),
        color=alt.Color("label:N", title="Sentiment (model)", scale=SENTIMENT_COLORS,
                        legend=alt.Legend(orient="top")),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("time:T", title="Time (UTC)", format="%d %b %Y %H:%M"),
                 alt.Tooltip("label:N", title="Sentiment"),
                 alt.Tooltip("posts:Q", title="Mentions", format=",")],
    ).transform_calculate(
        order="datum.label == 'negative' ? 0 : datum.label == 'neutral' ? 1 : 2"
    ).add_params(pick(["label", "time"])).properties(
        title=alt.Title("Sentiment over time", subtitle=f"Model: {model}. Click for the posts."),
        height=280))


def share_of_voice(df: pd.DataFrame, group: str, all_brands=(), highlight=()) -> alt.Chart:
    """Each brand's share of one competitor group's mentions (a share is only comparable
    within its group), the `highlight`ed brand strong, the others muted."""
    strong = list(highlight) or sorted(set(df["brand"]))
    return unchecked(alt.Chart(df).mark_bar().encode(
        y=alt.Y("brand:N", title=None, sort="-x"),
        x=alt.X("share:Q", title=f"Share of {group}'s mentions", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("brand:N", scale=brand_scale(all_brands or df["brand"]), legend=None),
        opacity=_when(alt.OpacityValue, alt.FieldOneOfPredicate("brand", strong), 1.0, MUTED),
        tooltip=[alt.Tooltip("brand:N", title="Brand"), alt.Tooltip("group:N", title="Group"),
                 alt.Tooltip("posts:Q", title="Mentions", format=","),
                 alt.Tooltip("share:Q", title="Share", format=".1%")],
    ).add_params(pick(["brand"])).properties(
        title=alt.Title(f"Share of voice: {group}", subtitle="Click a bar for its posts."),
        height=alt.Step(22)))


def net_sentiment(df: pd.DataFrame) -> alt.Chart:
    """(positive - negative) / scored per brand, -100%..+100%."""
    return unchecked(alt.Chart(df).mark_bar().encode(
        y=alt.Y("brand:N", title=None, sort="x"),
        x=alt.X("net:Q", title="Net sentiment (positive minus negative share)",
                axis=alt.Axis(format="%"), scale=alt.Scale(domain=[-1, 1])),
        color=_when(alt.ColorValue, "datum.net < 0", "#d62728", "#2ca02c"),
        tooltip=[alt.Tooltip("brand:N", title="Brand"),
                 alt.Tooltip("net:Q", title="Net sentiment", format="+.1%"),
                 alt.Tooltip("scored:Q", title="Scored mentions", format=",")],
    ).properties(title="Net sentiment by brand", height=alt.Step(22)))


def themes(df: pd.DataFrame, title: str, subtitle: str) -> alt.Chart:
    return unchecked(alt.Chart(df).mark_bar(color="#d62728").encode(
        y=alt.Y("term:N", title=None, sort="-x"),
        x=alt.X("posts:Q", title="Negative posts containing it"),
        tooltip=[alt.Tooltip("term:N", title="Term"),
                 alt.Tooltip("posts:Q", title="Posts", format=","),
                 alt.Tooltip("share:Q", title="Share of negative posts", format=".1%"),
                 alt.Tooltip("lift:Q", title="Times more common than elsewhere", format=".1f")],
    ).properties(title=alt.Title(title, subtitle=subtitle), height=alt.Step(20)))


def theme_shares(df: pd.DataFrame, group: str) -> alt.Chart:
    """Brands x found themes of a competitor group: each cell the brand's share of its
    complaints on that theme."""
    base = alt.Chart(df).encode(
        x=alt.X("name:N", title=None, sort=alt.SortField("posts", order="descending"),
                axis=alt.Axis(labelAngle=-30, labelLimit=160)),
        y=alt.Y("brand:N", title=None))
    cells = base.mark_rect().encode(
        color=alt.Color("share:Q", title="Share", scale=alt.Scale(scheme="reds"),
                        legend=alt.Legend(format=".0%")),
        tooltip=[alt.Tooltip("brand:N", title="Brand"), alt.Tooltip("name:N", title="Theme"),
                 alt.Tooltip("posts:Q", title="Posts", format=","),
                 alt.Tooltip("share:Q", title="Share of the brand's complaints", format=".1%")])
    text = base.mark_text(fontSize=10).encode(text=alt.Text("share:Q", format=".0%"))
    return (cells + text).properties(title=alt.Title(
        f"Complaint themes compared: {group}",
        subtitle="Each brand's share of its complaints on each of the group's largest themes"))


def reasons(df: pd.DataFrame) -> alt.Chart:
    return alt.Chart(df).mark_bar(color="#9467bd").encode(
        y=alt.Y("reason:N", title=None, sort="-x"),
        x=alt.X("posts:Q", title="Posts"),
        tooltip=[alt.Tooltip("reason:N", title="Reason"),
                 alt.Tooltip("posts:Q", title="Posts", format=",")],
    ).properties(title=alt.Title("Complaint reasons (human annotations)",
                                 subtitle="From the labelled dataset, not the model"),
                 height=alt.Step(20))


def growth(df: pd.DataFrame, forecast: dict | None) -> alt.Chart:
    """An alert's cumulative cascade size over time, with the forecast final size if known."""
    line = alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("time:T", title="Time (UTC)", axis=alt.Axis(format="%d %b %H:%M", labelAngle=0)),
        y=alt.Y("size:Q", title="Posts so far"),
        tooltip=[alt.Tooltip("time:T", title="Time (UTC)", format="%d %b %H:%M"),
                 alt.Tooltip("size:Q", title="Posts", format=",")],
    )
    layers = [line]
    if forecast and forecast.get("final") is not None:
        band = pd.DataFrame([forecast])
        layers.append(alt.Chart(band).mark_rule(color="#ff7f0e", strokeDash=[6, 3]).encode(
            y="final:Q", tooltip=[alt.Tooltip("final:Q", title="Forecast final size",
                                              format=",.0f")]))
        if forecast.get("low") is not None and forecast.get("high") is not None:
            layers.append(alt.Chart(band).mark_rect(color="#ff7f0e", opacity=0.15).encode(
                y="low:Q", y2="high:Q"))
    # Vega lets a y-axis title taller than the plot push the chart's top out of view: keep
    # axis titles short and plots tall enough.
    return alt.layer(*layers).properties(height=260)


def rank_trend(df: pd.DataFrame) -> alt.Chart:
    """An author's influence rank across ranking runs (1 at the top)."""
    return alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("created_at:T", title="Ranking run (UTC)",
                axis=alt.Axis(format="%d %b %H:%M", labelAngle=0)),
        y=alt.Y("rank:Q", title="Rank", scale=alt.Scale(reverse=True, domainMin=1)),
        tooltip=[alt.Tooltip("created_at:T", title="Run (UTC)", format="%d %b %Y %H:%M"),
                 alt.Tooltip("rank:Q", title="Rank")],
    ).properties(title=alt.Title("Rank over runs", subtitle="1 = most influential"),
                 height=240)
