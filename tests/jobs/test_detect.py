"""The detection job on both dialects: one alert per story, incremental runs, evidence for people."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from listener.jobs.detect import detect
from listener.post import Author, Batch, Interaction, Post, stable_id, utcnow
from listener.store import schema
from listener.store.alerts import list_alerts

T0 = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)
ROOT = "@acme lost my luggage and nobody answers, worst airline"


def cascade(store, first: int, last: int):
    """Reposts first..last of one negative post, a few seconds apart."""
    b = Batch(authors=[Author("x", "critic", handle="critic", followers=300)])
    if first == 0:
        b.posts.append(Post("x", "root", "critic", ROOT, T0))
    for i in range(max(first, 1), last):
        at = T0 + timedelta(seconds=20 * i)
        b.posts.append(Post("x", f"rt{i}", f"fan{i}", f"RT @critic: {ROOT}", at,
                            parent_native_id="root"))
        b.interactions.append(Interaction("x", "repost", f"fan{i}", "critic", at, f"rt{i}", "root"))
    store.write(b)
    with store.engine.begin() as conn:
        conn.execute(insert(schema.sentiment_scores), [
            {"post_id": p.id, "model_version": "test@1", "label": "negative", "negative": 0.9,
             "neutral": 0.05, "positive": 0.05, "scored_at": utcnow()} for p in b.posts])


def test_a_spreading_complaint_opens_one_alert_and_later_posts_update_it(store):
    store.add_brand("Acme", "@acme")
    cascade(store, 0, 120)
    lines = []
    report = detect(store, echo=lines.append)
    assert report.posts == 120 and report.opened == 1
    [alert] = list_alerts(store)
    assert alert.brand == "Acme" and alert.status == "open"
    ev = alert.evidence
    assert ev["root_posts"][0]["text"] == ROOT and ev["root_posts"][0]["author"] == "critic"
    assert ev["growth"] and ev["growth"][-1]["size"] >= 30
    assert ev["forecast"]["final"] >= ev["forecast"]["low"]
    assert any(t["term"] == "Lost Luggage" for t in ev["themes"])
    assert "critic" in alert.title
    # Nothing new: nothing read.
    assert detect(store).posts == 0
    # More reposts of the same story update the same alert.
    cascade(store, 120, 200)
    again = detect(store)
    assert again.posts == 80 and again.opened == 0
    assert len(list_alerts(store)) == 1


def test_without_scores_detect_says_what_to_run(sqlite_store):
    sqlite_store.add_brand("Acme", "@acme")
    sqlite_store.write(Batch(posts=[Post("x", "p", "a", "@acme hi", T0)]))
    lines = []
    assert detect(sqlite_store, echo=lines.append).posts == 0
    assert "undertow score" in lines[0]


def test_a_child_process_reading_the_posts_finds_the_same_alerts(store, monkeypatch):
    """Big runs read and map posts in a child process: same alerts, and the next run resumes."""
    import listener.jobs.detect as job

    store.add_brand("Acme", "@acme")
    cascade(store, 0, 120)
    alone = detect(store)
    expected = [(a.story_key, a.severity, a.title, a.evidence) for a in list_alerts(store)]
    with store.engine.begin() as conn:
        conn.execute(schema.alerts.delete())
    monkeypatch.setattr(job, "CHILD_MIN", 1)
    monkeypatch.setattr(job, "PAGE", 7)  # many pages through the pipe
    again = detect(store, reset=True, read_ahead=True)
    assert (again.posts, again.opened) == (alone.posts, alone.opened) == (120, 1)
    assert [(a.story_key, a.severity, a.title, a.evidence) for a in list_alerts(store)] == expected
    cascade(store, 120, 130)
    assert detect(store).posts == 10  # only the new posts


def test_a_replay_after_a_crash_does_not_roll_alerts_back(store, monkeypatch):
    """A run that dies before saving its state is replayed; its older story states are skipped,
    so an acknowledged alert stays acknowledged and keeps its latest severity."""
    import listener.jobs.detect as job
    from listener.store.alerts import change_status

    store.add_brand("Acme", "@acme")
    cascade(store, 0, 400)
    monkeypatch.setattr(job, "PAGE", 20)

    def crash(*_args):
        raise RuntimeError("killed before the checkpoint")

    monkeypatch.setattr(job, "_save", crash)
    with pytest.raises(RuntimeError, match="killed"):
        detect(store)
    [alert] = list_alerts(store)
    change_status(store, alert.id, "acknowledged", "tester")
    monkeypatch.undo()
    monkeypatch.setattr(job, "PAGE", 20)  # the replay passes the story's earlier, lower states
    report = detect(store)  # replays all 400 posts: nothing was saved
    assert report.posts == 400 and report.opened == 0
    [again] = list_alerts(store)
    assert (again.status, again.severity, again.evidence) == (
        "acknowledged", alert.severity, alert.evidence)


def _unscore_from(store, at) -> list[int]:
    """Drop the scores of the posts from `at` on (collected, not scored yet); their ids."""
    with store.engine.begin() as conn:
        ids = [r.id for r in conn.execute(schema.posts.select().where(
            schema.posts.c.created_at >= at))]
        conn.execute(schema.sentiment_scores.delete().where(
            schema.sentiment_scores.c.post_id.in_(ids)))
    return ids


def test_detection_waits_for_posts_that_have_no_score_yet(store):
    """Mentions collected but not scored (a failed score stage, a model switch still rescoring)
    are not read as 'not negative' and skipped for good: detection stops before the first one
    and takes them up once they are scored."""
    store.add_brand("Acme", "@acme")
    cascade(store, 0, 100)
    cascade(store, 100, 160)
    first_unscored = T0 + timedelta(seconds=20 * 130)
    late = _unscore_from(store, first_unscored)
    lines = []
    report = detect(store, echo=lines.append)
    assert report.posts == 130 and report.waiting_from is not None
    assert "undertow score" in lines[0]
    with store.engine.begin() as conn:
        conn.execute(insert(schema.sentiment_scores), [
            {"post_id": pid, "model_version": "test@1", "label": "negative", "negative": 0.9,
             "neutral": 0.05, "positive": 0.05, "scored_at": utcnow()} for pid in late])
    again = detect(store)
    assert again.posts == 30 and again.waiting_from is None
    [alert] = list_alerts(store)
    # The same alert as one run over the fully scored posts: nothing skipped, nothing twice.
    with store.engine.begin() as conn:
        conn.execute(schema.alerts.delete())
    assert detect(store, reset=True).posts == 160
    [reference] = list_alerts(store)
    assert (alert.severity, alert.evidence["posts"], alert.evidence["negative_posts"]) == (
        reference.severity, reference.evidence["posts"], reference.evidence["negative_posts"])


def _alerts(store):
    return sorted((a.story_key, a.status, a.level, a.evidence["posts"],
                   a.evidence["negative_posts"]) for a in list_alerts(store, watch=True))


def test_posts_imported_out_of_order_give_the_alerts_of_one_in_order_run(store):
    """Late posts (a backfill: older ones imported after newer ones were read) are read and
    judged in their own time: the same alerts as one run over everything in time order."""
    store.add_brand("Acme", "@acme")
    later = T0 + timedelta(minutes=90)
    quiet = Batch(posts=[Post("x", f"n{i}", f"reader{i}", "@acme flight was fine", later
                              + timedelta(seconds=i)) for i in range(3)])
    store.write(quiet)
    with store.engine.begin() as conn:
        conn.execute(insert(schema.sentiment_scores), [
            {"post_id": p.id, "model_version": "test@1", "label": "neutral", "negative": 0.1,
             "neutral": 0.8, "positive": 0.1, "scored_at": utcnow()} for p in quiet.posts])
    cascade(store, 120, 200)  # the newer reposts first: their root is not in the store yet
    first = detect(store)
    assert first.posts == 83 and first.late == 0
    cascade(store, 0, 120)  # then the root and the older reposts, imported late
    second = detect(store)
    assert (second.posts, second.late) == (120, 120)
    late_alerts = _alerts(store)
    assert [a[0] for a in late_alerts] == [f"cascade:{stable_id('x', 'root')}"]
    assert late_alerts[0][3] == 200  # the root and all 199 reposts, counted once
    assert detect(store).posts == 0  # nothing read twice
    with store.engine.begin() as conn:
        conn.execute(schema.alerts.delete())
    assert detect(store, reset=True).posts == 203  # one run, in time order
    assert _alerts(store) == late_alerts


def test_a_mention_committed_while_detection_reads_is_not_skipped(store, monkeypatch):
    """`undertow listen` collects while its pipeline runs: a mention can be committed after
    detection checked for unscored ones and before it reads. Read without its score it would
    count as not negative and the cursor would pass it for good; the read stops before it."""
    import listener.store.detect_reads as reads

    store.add_brand("Acme", "@acme")
    cascade(store, 0, 100)
    detect(store)
    # What the check saw: everything scored. What the read then finds: 60 newer mentions, 30
    # of them without a score yet (committed in between).
    monkeypatch.setattr(reads, "unscored_from", lambda *args: None)
    cascade(store, 100, 160)
    first_unscored = T0 + timedelta(seconds=20 * 130)
    late = _unscore_from(store, first_unscored)
    assert detect(store).posts == 30
    cursor = datetime.fromisoformat(store.get_meta("detect_cursor"))
    assert cursor.replace(tzinfo=cursor.tzinfo or UTC) < first_unscored
    with store.engine.begin() as conn:
        conn.execute(insert(schema.sentiment_scores), [
            {"post_id": pid, "model_version": "test@1", "label": "negative", "negative": 0.9,
             "neutral": 0.05, "positive": 0.05, "scored_at": T0} for pid in late])
    assert detect(store).posts == 30
    [alert] = list_alerts(store)
    assert alert.evidence["negative_posts"] == 160


def test_a_mention_stored_after_newer_ones_is_still_detected(store):
    """Reddit polled every few minutes behind the live X stream, or a gap recovered through
    search after a restart: mentions stored after the cursor passed their time. Scored after
    the last run, they are read once, in their own time."""
    store.add_brand("Acme", "@acme")
    cascade(store, 0, 100)
    assert detect(store).posts == 100
    cursor = T0 + timedelta(seconds=20 * 99)
    late = Batch(posts=[
        Post("reddit", "t1_late", "redditor", "@acme lost my luggage too", cursor
             - timedelta(minutes=5), parent_native_id="root"),
        Post("reddit", "t1_old", "redditor", "@acme same here", cursor - timedelta(minutes=16))])
    store.write(late)
    with store.engine.begin() as conn:
        conn.execute(insert(schema.sentiment_scores), [
            {"post_id": p.id, "model_version": "test@1", "label": "negative", "negative": 0.9,
             "neutral": 0.05, "positive": 0.05, "scored_at": utcnow()} for p in late.posts])
    report = detect(store)
    assert (report.posts, report.late) == (2, 2)
    again = detect(store)
    assert (again.posts, again.late) == (0, 0)  # once


def test_an_alert_opened_before_its_posts_have_themes_names_them_once_they_do(store):
    """Under `listen` the themes job runs beside detection, on its own cadence: a cascade's
    alert often opens before its posts have a theme (the detector then names the keyword
    taxonomy's). Once the themes job has named the posts, the alert names that theme: on the
    refresh after the themes run, and on every later update."""
    from listener.jobs.detect import refresh_alert_themes
    from listener.store.theme_reads import save_post_themes

    brand, _ = store.add_brand("Acme", "@acme")
    cascade(store, 0, 120)
    assert detect(store).opened == 1
    [alert] = list_alerts(store)
    assert alert.evidence["themes"][0]["term"] == "Lost Luggage"  # the keyword taxonomy
    assert refresh_alert_themes(store) == 0  # nothing themed yet: nothing to change
    themed = [stable_id("x", "root")] + [stable_id("x", f"rt{i}") for i in range(1, 100)]
    save_post_themes(store, brand.id, {pid: (3, "bags never arrived") for pid in themed})
    assert refresh_alert_themes(store) == 1
    [alert] = list_alerts(store)
    assert alert.evidence["themes"] == [{"term": "bags never arrived", "posts": 100}]
    assert alert.title.endswith("(bags never arrived)")
    assert alert.evidence["posts"] == 120  # the rest of the evidence is as the detector wrote it
    assert refresh_alert_themes(store) == 0
    cascade(store, 120, 200)  # the next update, on posts not themed yet, keeps the name
    assert detect(store).posts == 80
    [alert] = list_alerts(store)
    assert alert.evidence["themes"][0]["term"] == "bags never arrived"
    assert alert.evidence["posts"] == 200
