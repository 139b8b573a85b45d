"""The `undertow` command: the one edge where Undertow's errors become messages and exit codes.

    edge.py         the root group (it converts errors), the shared Context, small helpers
    data.py         init, import, brand, status, prune, erase: what the store holds
    pipeline.py     demo, score, rank, influencers, detect, graph export: the jobs
    alerts.py       alerts list | ack | resolve | send
    engagement.py   inbox, service: the unanswered queue and the service KPIs
    collect.py      collect, listen: the collectors
    compliance.py   compliance: ask the platforms what is gone
    nlp.py          nlp train | evaluate: the bundled sentiment model
    dashboard.py    dashboard: start the Streamlit app

Commands are thin: parse, call a job or the store, print what happened.
"""

from listener.cli import (
    alerts,
    collect,
    compliance,
    dashboard,
    data,
    engagement,
    nlp,
    pipeline,
    themes,
)
from listener.cli.edge import Context, main

__all__ = ["Context", "main"]

for _module in (data, pipeline, alerts, engagement, collect, compliance, nlp, dashboard,
                themes):
    for _command in _module.COMMANDS:
        main.add_command(_command)
