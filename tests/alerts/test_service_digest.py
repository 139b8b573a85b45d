"""The daily digest's service section, through a real SMTP server on loopback."""

from datetime import UTC, datetime, timedelta

from listener.alerts import delivery
from listener.alerts.service_section import service_section
from listener.jobs.engagement import service
from listener.post import Author, Batch, Post
from listener.store import schema
from tests.alerts.test_email import settings_for, smtp_server  # noqa: F401 - the fixture

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def conversation(store):
    united, _ = store.add_brand("United", "@united", "airlines")
    store.add_brand("<b>Delta</b>", "@delta", "airlines")  # a name that must be escaped
    store.set_accounts(united, ["x:AskUnited"])
    at = [T0 + timedelta(minutes=m) for m in (0, 30, 60, 300)]
    store.write(Batch(
        [Post("x", "1", "alice", "@united where is my bag?", at[0]),
         Post("x", "2", "askunited", "@alice sorry! DM us the tag", at[1], parent_native_id="1",
              conversation_id="1"),
         Post("x", "3", "bob", "@united lost my bag and nobody answers", at[2]),
         Post("x", "4", "carol", "@delta thanks for nothing", at[3])],
        [Author("x", "alice", handle="alice"), Author("x", "askunited", handle="AskUnited"),
         Author("x", "bob", handle="bob"), Author("x", "carol", handle="carol")]))
    p, s = schema.posts, schema.sentiment_scores
    with store.engine.begin() as conn:
        conn.execute(s.insert(), [
            {"post_id": r.id, "model_version": "m", "label": "negative" if r.native_id in "134"
             else "neutral", "negative": 0.9, "neutral": 0.1, "positive": 0.0, "scored_at": T0}
            for r in conn.execute(p.select())])


def test_the_section_says_what_the_kpis_say(sqlite_store):
    conversation(sqlite_store)
    out = service(sqlite_store)
    k = out["brands"]["United"]
    assert (k.counted, k.answered, k.median_first_response_min) == (2, 1, 30.0)
    lines, fragment = service_section(out["brands"], out["groups"], ["<b>Delta</b>"],
                                      "http://dash.test:8501", "1 March")
    united = next(line for line in lines if line.strip().startswith("United:"))
    assert "1 of 2 cases answered (50%)" in united and "median first response 30 min" in united
    assert "group airlines: 1 of 3 cases answered (33%)" in "\n".join(lines)
    assert "<b>Delta</b>" not in fragment and "&lt;b&gt;Delta&lt;/b&gt;" in fragment
    assert "http://dash.test:8501/engagement" in fragment


def test_the_digest_email_carries_the_section(sqlite_store, smtp_server):  # noqa: F811
    inbox, port = smtp_server
    conversation(sqlite_store)
    day = datetime.now(UTC).date().isoformat()
    s = settings_for(port, alert_recipients="d@b.test")
    assert delivery.send(sqlite_store, s, digest_day=day).sent == 1
    digest = inbox.messages[-1][1]
    plain = digest.get_body(("plain",)).get_content()
    html = digest.get_body(("html",)).get_content()
    assert "No open alerts." in plain and "Customer service, the day to 2026-03-01 14:00 UTC" in plain
    assert "United: 1 of 2 cases answered (50%)" in plain
    assert "<h3>Customer service" in html and "&lt;b&gt;Delta" in html
