"""The demo: real corpus texts, a seeded simulation, and the same store when run twice."""

from listener.demo import generator
from listener.jobs.demo import run_demo
from listener.settings import Settings


def test_generator_is_deterministic_and_has_a_viral_story(demo_week):
    # The session's week (which other tests have read) against one generated here and now.
    rows, replaced, a, facts_a = demo_week
    assert len(rows) == 38158 and replaced > 0
    b, facts_b = generator.generate(rows, days=7)
    assert facts_a == facts_b
    assert [p.native_id for p in a.posts] == [p.native_id for p in b.posts]
    assert facts_a["story_reposts"] >= 300
    labels = {p.gold_label for p in a.posts}
    assert labels == {"negative", "neutral", "positive", None}  # None: simulated reposts


def test_demo_twice_gives_the_same_store(sqlite_store, tmp_path):
    """Every stage on a twentieth of the week (the whole week takes minutes to score)."""
    lines: list[str] = []
    settings = Settings(home=tmp_path)
    run_demo(sqlite_store, settings, echo=lines.append, sample=20)
    first = sqlite_store.status()
    run_demo(sqlite_store, settings, echo=lines.append, sample=20)
    assert sqlite_store.status() == first
    assert first["posts"] > 1500 and len(first["per_brand"]) == 9
    assert first["scored"] == first["posts"] and first["alerts"] >= 1
    assert any("Simulated" in line for line in lines)
    # The themes stage ran before detection, and the rerun embedded nothing (the cache).
    themes_lines = [line for line in lines if line.startswith("Themes: ")]
    assert len(themes_lines) == 2 and "(0 posts embedded" in themes_lines[1]
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM post_themes").scalar_one() > 100
    assert sqlite_store.get_meta("demo") == "1"
    from listener.jobs.rank import top_influencers
    from listener.store.alerts import list_alerts

    assert top_influencers(sqlite_store, top=1)
    # The week is from 2015 but was stored today: retention keeps it for the period after that.
    from listener.store.retention import prune

    assert prune(sqlite_store, lambda platform: 365).removed["posts"] == 0
    # The viral story is the most severe alert.
    assert "midnight_maker4200" in list_alerts(sqlite_store)[0].title
    assert any(line.startswith("Next: open the dashboard with `") for line in lines)
    from click.testing import CliRunner

    from listener.cli import main

    url = sqlite_store.engine.url.render_as_string(hide_password=False)
    out = CliRunner().invoke(main, ["--database", url, "alerts", "list"]).output.splitlines()
    assert out[0].split() == ["id", "level", "status", "brand", "opened", "(UTC)", "story"]
    assert out[1].startswith("#") and "midnight_maker4200" in out[1] and " 2015-02-" in out[1]
