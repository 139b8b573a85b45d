"""Ten `kill -9` during detect on PostgreSQL, then one run to the end: the clean run's alerts."""

from __future__ import annotations

import random
import time

import pytest

from tests.concurrency.conftest import detectable, snapshot


@pytest.fixture(scope="module")
def pg_stores(stores):
    if stores.dialect != "postgresql":
        pytest.skip("the probe found duplicates on PostgreSQL; SQLite's kills are in tests/jobs")
    return stores


def test_ten_kills_during_detect_give_the_clean_runs_alerts(pg_stores, airline):
    pg_stores.seed("detectable", lambda env: detectable(env, airline))
    ref = pg_stores.fresh("detectable")
    started = time.monotonic()
    ref.run("detect")
    clean_s = time.monotonic() - started
    store = ref.store()
    expected = snapshot(store)["alerts"]
    store.close()
    assert expected

    env = pg_stores.fresh("detectable")
    rng = random.Random(18)
    killed = 0
    for _ in range(10):
        proc = env.start("detect")
        time.sleep(rng.uniform(0.05, max(0.1, clean_s * 0.5)))
        if proc.returncode is None:
            proc.kill()
        proc.communicate()
        killed += proc.returncode == -9
    assert killed >= 5, f"most kills land while detect runs (a clean run: {clean_s:.1f} s)"
    env.run("detect")
    store = env.store()
    got = snapshot(store)["alerts"]
    store.close()
    assert got == expected
