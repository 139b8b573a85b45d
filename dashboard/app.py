"""Undertow's dashboard: `undertow dashboard` (or `streamlit run dashboard/app.py`).

This entry script runs on every page view: it checks the optional password, shows the demo
banner, draws the sidebar filters (so they persist across pages) and hands over to the page.
The database is the one Undertow is configured with (UNDERTOW_DATABASE_URL or UNDERTOW_HOME).
"""

from __future__ import annotations

import hmac
import time

import streamlit as st

from dashboard import state
from listener.errors import UndertowError
from listener.settings import Settings

st.set_page_config(page_title="Undertow", page_icon=":material/waves:", layout="wide")

# (URL key, view module, title, icon): the key is both the path and the `page=` parameter.
PAGES = (
    ("overview", "overview", "Overview", ":material/monitoring:"),
    ("alerts", "alerts", "Alerts", ":material/notifications_active:"),
    ("posts", "posts", "Posts", ":material/forum:"),
    ("engagement", "engagement", "Engagement", ":material/support_agent:"),
    ("influencers", "influencers", "Influencers", ":material/star:"),
    ("graph", "graph", "Graph explorer", ":material/hub:"),
)


def _signed_in(settings: Settings) -> bool:
    """The team password gate; open when UNDERTOW_DASHBOARD_PASSWORD is unset."""
    secret = settings.dashboard_password
    if not secret or st.session_state.get("signed_in"):
        return True
    st.title("Undertow")
    with st.form("sign_in"):
        given = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        if hmac.compare_digest(given.encode(), secret.get().encode()):
            st.session_state["signed_in"] = True
            st.rerun()
        time.sleep(1)  # slows guessing; the value itself is never echoed
        st.error("Wrong password.")
    return False


def _demo_banner(facts: dict) -> None:
    demo = facts["demo_facts"]
    story = ""
    if demo.get("story_post"):
        told = state.q("story_reactions", "x", demo["story_post"])
        story = (f" The viral story (post {demo['story_post']}, {told.text()} from "
                 f"{str(demo.get('story_onset', ''))[:16].replace('T', ' ')} UTC) is staged.")
    st.warning(state.md(
        "Demo data. The post texts and their human sentiment labels are real tweets; the "
        "authors, follower counts, timestamps, replies, reposts and cascades are simulated "
        f"(seeded, {demo.get('week', 'one week')}).{story}"), icon=":material/science:")


def main() -> None:
    settings = state.settings()
    if not _signed_in(settings):
        st.stop()
    try:
        facts = state.facts()
    except UndertowError as exc:
        st.error(f"Cannot read the store: {exc}")
        st.stop()
    if facts["demo"]:
        _demo_banner(facts)
    fl = state.sidebar_filters(facts)
    st.session_state["filters"] = fl
    pages = {key: st.Page(f"views/{file}.py", title=title, icon=icon, url_path=key,
                          default=key == "overview")
             for key, file, title, icon in PAGES}
    page = st.navigation(list(pages.values()))
    wanted = st.session_state.pop("_url_page", None)  # the URL's page=, on a session's first run
    key = next(k for k, p in pages.items() if p.title == page.title)
    # The link in every alert email and chat post: UNDERTOW_DASHBOARD_URL/?alert=ID, followed
    # once per session (the parameter stays in the address while the user moves on).
    if "alert" in st.query_params and not st.session_state.get("_alert_link_followed"):
        st.session_state["_alert_link_followed"] = True
        st.session_state["alert_focus"] = st.query_params["alert"]
        if key != "alerts":
            st.switch_page(pages["alerts"])
    if wanted in pages and wanted != key:
        st.switch_page(pages[wanted])
    state.sync_url(fl, key)
    st.sidebar.button("Refresh data", on_click=state.refresh, icon=":material/refresh:",
                      help=f"Charts and tables are cached for {state.TTL // 60} minutes; alerts "
                           f"for {state.FRESH_TTL} s.")
    page.run()


main()
