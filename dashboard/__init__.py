"""Undertow's Streamlit dashboard: `undertow dashboard` (listener/cli/dashboard.py) starts dashboard/app.py.

Reads only (dashboard.queries), except acknowledging and resolving alerts (dashboard.actions).
Nothing else in Undertow imports this package.
"""
