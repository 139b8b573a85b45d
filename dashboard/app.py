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
        story = (f" The viral story (post {demo['story_post']}, "
                 f"{demo.get('story_reposts', 0):,} reposts from "
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
    st.session_state["filters"] = state.sidebar_filters(facts)
    alerts_page = st.Page("views/alerts.py", title="Alerts", icon=":material/notifications_active:")
    pages = [
        st.Page("views/overview.py", title="Overview", icon=":material/monitoring:", default=True),
        alerts_page,
        st.Page("views/posts.py", title="Posts", icon=":material/forum:"),
        st.Page("views/engagement.py", title="Engagement", icon=":material/support_agent:"),
        st.Page("views/influencers.py", title="Influencers", icon=":material/star:"),
        st.Page("views/graph.py", title="Graph explorer", icon=":material/hub:"),
    ]
    page = st.navigation(pages)
    # The link in every alert email and chat post: UNDERTOW_DASHBOARD_URL/?alert=ID.
    if "alert" in st.query_params and page is not alerts_page:
        st.session_state["alert_focus"] = st.query_params["alert"]
        st.switch_page(alerts_page)
    st.sidebar.button("Refresh data", on_click=state.refresh, icon=":material/refresh:",
                      help=f"Charts and tables are cached for {state.TTL // 60} minutes; alerts "
                           f"for {state.FRESH_TTL} s.")
    page.run()


main()
