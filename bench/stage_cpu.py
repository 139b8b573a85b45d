"""CPU seconds per pipeline stage per 1,000 posts, on the posts of a `bench/live.py` run.

    python bench/stage_cpu.py /tmp/run/undertow.db [--json]

`bench/live.py --workdir DIR` keeps the SQLite store it ran on. This copies it, removes what
the pipeline derived (scores, the sentiment cache, themes, alerts, the detector's state; the
rollup's triggers keep its counts right), then runs each stage once over every post, in
`undertow listen`'s order (score, rank, coordination, detect, themes), and reports each one's
CPU time (user + system, every thread of this process: the model's worker threads included)
and wall time. CPU time hardly depends on what else runs on the machine, wall time does: on a
shared machine compare CPU seconds. One run over the whole set, not the listener's many small
runs: a themes run embeds each new negative post once either way, but a small run also reads
every mention of its brands and saves the vector cache again, so the live figure is higher.
The settings are the environment's (UNDERTOW_SENTIMENT_INT8 and so on).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DERIVED = ["sentiment_scores", "sentiment_cache", "post_themes", "alert_notifications", "alerts",
           "influence_scores", "influence_runs"]
META = ["detect_state", "detect_cursor", "detect_scored_through", "id_key_check",
        "sentiment_model_version"]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def prepare(source: Path, workdir: Path) -> Path:
    db = workdir / "undertow.db"
    shutil.copyfile(source, db)
    conn = sqlite3.connect(db)
    with conn:
        for table in DERIVED:
            conn.execute(f"DELETE FROM {table}")
        conn.executemany("DELETE FROM meta WHERE key = ?", [(k,) for k in META])
    conn.close()
    return db


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("db", type=Path, help="undertow.db of a bench/live.py --workdir run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="undertow-stage-cpu-"))
    db = prepare(args.db, workdir)
    os.environ.update({"UNDERTOW_HOME": str(workdir), "UNDERTOW_DATABASE_URL": f"sqlite:///{db}",
                       "UNDERTOW_RETENTION_DAYS": "0"})
    from listener.jobs import coordination, detect, rank, score, themes
    from listener.settings import Settings
    from listener.store import Store

    settings = Settings.load(env_file=workdir / "none.env")
    store = Store.open(settings.database_url)
    posts = store.status()["posts"]
    with store.engine.connect() as conn:
        mentions = conn.exec_driver_sql("SELECT count(*) FROM post_brands").scalar_one()
    lines: list[str] = []
    out: dict = {"posts": posts, "mentions": mentions, "int8": settings.sentiment_int8,
                 "stages": {}}
    # The model loads outside the timing (the listener loads it once): score once warms it.
    score.default_scorer(settings).score(["warm up"])
    for name, stage in [("score", score.stage), ("rank", rank.stage),
                        ("coordination", coordination.stage), ("detect", detect.stage),
                        ("themes", themes.stage)]:
        cpu, wall = _cpu(), time.monotonic()
        stage(store, settings, lines.append)
        cpu, wall = _cpu() - cpu, time.monotonic() - wall
        out["stages"][name] = {"cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
                               "cpu_s_per_1000_posts": round(1000 * cpu / max(posts, 1), 3)}
    with store.engine.connect() as conn:
        negative = conn.exec_driver_sql(
            "SELECT count(*) FROM sentiment_scores WHERE label = 'negative'").scalar_one()
    out["negative_posts"] = negative
    out["log"] = lines
    store.engine.dispose()
    shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{posts:,} posts, {mentions:,} brand mentions, {negative:,} negative")
    for name, s in out["stages"].items():
        print(f"{name:>13}: {s['cpu_s']:7.2f} CPU s ({s['cpu_s_per_1000_posts']:.3f} per 1,000 "
              f"posts), {s['wall_s']:7.2f} s wall")


if __name__ == "__main__":
    main()
