"""Each pair of jobs side by side gives what the same jobs give one after the other."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from tests.concurrency.conftest import BRANDS, detectable, finish, no_traceback, snapshot


def _brands(env) -> None:
    for name, query in BRANDS.items():
        env.run("brand", "add", name, "--query", query)


@pytest.fixture(scope="module")
def seeded(stores, small_airline, scoring_airline, airline):
    """Seeds: `imported` (posts, no brands) and `detectable` (brands and gold scores too)."""
    def imported(env):
        env.run("import", str(scoring_airline))

    stores.seed("imported", imported)
    stores.seed("detectable", lambda env: detectable(env, airline))
    return stores


def _score(model) -> tuple[str, ...]:
    return ("score", "--model", str(model), "--threads", "1", "--batch-size", "64")


def _snap(env) -> dict:
    store = env.store()
    try:
        return snapshot(store)
    finally:
        store.close()


def test_import_beside_brand_add_tags_every_post(stores, small_airline):
    ref = stores.fresh()
    ref.run("import", str(small_airline))
    _brands(ref)
    expected = _snap(ref)

    env = stores.fresh()
    env.run("brand", "add", "United", "--query", BRANDS["United"])
    importing = env.start("import", str(small_airline))
    adders = []
    for name, query in list(BRANDS.items())[1:]:
        time.sleep(0.3)
        adders.append(env.start("brand", "add", name, "--query", query))
    no_traceback(finish(importing, *adders))
    got = _snap(env)
    assert got["posts"] == expected["posts"]
    assert got["tags"] == expected["tags"] and len(got["tags"]) > 1000


def test_brand_retag_repairs_missing_tags(stores, small_airline):
    env = stores.fresh()
    env.run("import", str(small_airline))
    _brands(env)
    expected = _snap(env)["tags"]
    store = env.store()
    with store.engine.begin() as conn:  # what an older version's race left behind
        conn.execute(text("DELETE FROM post_brands WHERE post_id % 3 = 0"))
    store.close()
    assert _snap(env)["tags"] != expected
    out = env.run("brand", "retag")
    assert "retagged" in out.lower()
    assert _snap(env)["tags"] == expected


def test_two_detects_at_once_give_one_runs_alerts(seeded):
    ref = seeded.fresh("detectable")
    ref.run("detect")
    expected = _snap(ref)["alerts"]
    assert expected, "the airline sample opens alerts"

    env = seeded.fresh("detectable")
    results = finish(env.start("detect"), env.start("detect"))
    no_traceback(results)
    refused = [err for code, _, err in results if code != 0]
    assert all("another `undertow detect` is running" in err for err in refused)
    env.run("detect")  # the next scheduled run catches up whatever the refused one skipped
    assert _snap(env)["alerts"] == expected


def test_three_scorers_score_everything_once(seeded, tiny_model):
    ref = seeded.fresh("imported")
    ref.run(*_score(tiny_model))
    expected = _snap(ref)

    env = seeded.fresh("imported")
    no_traceback(finish(*[env.start(*_score(tiny_model))
                          for _ in range(3)]))
    got = _snap(env)
    assert len(got["scores"]) == len(got["posts"]) == len(expected["posts"])
    assert got["scores"] == expected["scores"]


def test_import_beside_score_loses_and_doubles_nothing(seeded, scoring_airline, tiny_model):
    small_airline = scoring_airline
    ref = seeded.fresh()
    ref.run("import", str(small_airline))
    ref.run(*_score(tiny_model))
    expected = _snap(ref)

    env = seeded.fresh()
    env.run("init")
    importing = env.start("import", str(small_airline))
    time.sleep(0.5)
    scoring = env.start(*_score(tiny_model))
    no_traceback(finish(importing, scoring))
    env.run(*_score(tiny_model))  # what arrived after the scorer finished
    got = _snap(env)
    assert got["posts"] == expected["posts"]
    assert got["scores"] == expected["scores"]


def test_two_senders_send_each_email_once(seeded, smtp_inbox):
    inbox, port = smtp_inbox
    mail = {"UNDERTOW_SMTP_HOST": "127.0.0.1", "UNDERTOW_SMTP_PORT": str(port),
            "UNDERTOW_SMTP_SECURITY": "none", "UNDERTOW_ALERT_RECIPIENTS": "a@t.test, b@t.test"}
    ref = seeded.fresh("detectable")
    ref.extra.update(mail)
    ref.run("detect")
    ref.run("alerts", "send")
    expected = sorted(inbox.sent())
    assert expected, "the sample's alerts are due an email"
    inbox.clear()

    env = seeded.fresh("detectable")
    env.extra.update(mail)
    env.run("detect")
    no_traceback(finish(env.start("alerts", "send"), env.start("alerts", "send")))
    assert sorted(inbox.sent()) == expected
