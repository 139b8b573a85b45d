"""Untrusted text at the output edges: CSV cells, terminal lines, the dashboard's markdown."""

from __future__ import annotations

import csv

import pandas as pd

from graph.export import inert_cells
from listener.inert import one_line, spreadsheet_cell, terminal_text


def test_formula_prefixes_become_text_in_csv(tmp_path):
    frame = pd.DataFrame({"handle": ["=HYPERLINK(\"http://x\")", "+1", "-2", "@cmd", "plain"],
                          "followers": [1, 2, 3, 4, 5]})
    path = tmp_path / "nodes.csv"
    inert_cells(frame).to_csv(path, index=False)
    with open(path, newline="") as fh:
        cells = [row["handle"] for row in csv.DictReader(fh)]
    assert cells == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@cmd", "plain"]
    assert spreadsheet_cell(5) == 5


def test_control_characters_never_reach_a_header_or_terminal():
    assert one_line("a\r\nBcc: x\tz\x1b[31m\u202e") == "a Bcc: x z␛[31m\ufffd"
    assert terminal_text("two\nlines\x07") == "two\nlines␇"


def test_dashboard_markdown_breaks_autolinks():
    from dashboard.state import md

    out = md("mail me@x.com, see https://evil.example or www.evil.example")
    for link in ("me@x.com", "https://", "www.evil"):
        assert link not in out.replace("\\", "")
    assert out.replace("\\", "").replace("\u2060", "") == \
        "mail me@x.com, see https://evil.example or www.evil.example"
