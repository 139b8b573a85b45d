"""The one-way data flow, enforced: libraries never reach into the store, nothing imports the UI."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def imports_of(package: str) -> list[tuple[Path, str]]:
    found = []
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found += [(path, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.append((path, node.module))
    return found


@pytest.mark.parametrize("package", ["nlp", "graph"])
def test_libraries_do_not_touch_the_database(package):
    bad = [(str(p.relative_to(REPO)), m) for p, m in imports_of(package)
           if m.split(".")[0] in ("sqlalchemy", "psycopg", "sqlite3", "dashboard", "streamlit")
           or m.startswith(("listener.store", "listener.settings", "listener.jobs"))]
    assert bad == []


@pytest.mark.parametrize("package", ["listener", "nlp", "graph"])
def test_nothing_imports_the_dashboard(package):
    bad = [(str(p.relative_to(REPO)), m) for p, m in imports_of(package)
           if m.split(".")[0] == "dashboard"]
    assert bad == []


SQL_MODULES = ("sqlalchemy", "psycopg", "sqlite3")


@pytest.mark.parametrize("package", ["listener", "dashboard", "nlp", "graph"])
def test_only_the_store_runs_sql(package):
    """SQL lives in listener/store/ (and the dashboard's read queries, dashboard/queries/)."""
    allowed = (REPO / "listener" / "store", REPO / "dashboard" / "queries")
    bad = [(str(p.relative_to(REPO)), m) for p, m in imports_of(package)
           if m.split(".")[0] in SQL_MODULES and not any(a in p.parents for a in allowed)]
    assert bad == []


def test_jobs_import_no_sqlalchemy():
    """The jobs call the store for what they read and write: not even a type from SQLAlchemy
    (listener.store.detect_reads re-exports the Engine that detect's reader process takes)."""
    bad = [(str(p.relative_to(REPO)), m) for p, m in imports_of("listener/jobs")
           if m.split(".")[0] in SQL_MODULES]
    assert bad == []
