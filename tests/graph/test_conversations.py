"""Linking customer posts to the brand's answers, on threads small enough to check by eye."""

from graph.conversations import ThreadPost, link
from graph.service import kpis, kpis_by, percentile
from nlp.questions import is_question

H = 3600.0


def post(pid, author, at_h, parent=None, kind="reply", owner=None, brands=("Acme",), label="negative",
         mentions=(), thread=None, question=False):
    return ThreadPost(pid, author, at_h * H, parent, kind, thread, owner,
                      () if owner else brands, frozenset(mentions), None, label, question)


def test_a_support_chain_answers_each_customer_turn_and_opens_one_case():
    conv = link([
        post("c1", "alice", 0.0),
        post("b1", "acme", 0.5, "c1", owner="Acme"),
        post("c2", "alice", 1.0, "b1", label="neutral"),
        post("b2", "acme", 3.0, "c2", owner="Acme"),
    ])
    by_id = {cp.post.id: cp for cp in conv.posts}
    assert set(by_id) == {"c1", "c2"}  # the brand's own posts are never customer posts
    assert by_id["c1"].response.post == "b1" and by_id["c1"].response.minutes == 30
    assert by_id["c2"].response.post == "b2" and by_id["c2"].response.minutes == 120
    assert [f.post for f in by_id["c1"].followups] == ["c2"]
    [case] = conv.cases
    assert case.posts == ("c1", "c2") and case.response.minutes == 30 and case.needs_answer
    assert [f.post for f in case.after_response] == ["c2"]


def test_an_answer_to_someone_else_below_a_post_is_not_its_answer_unless_it_mentions_them():
    conv = link([
        post("c1", "alice", 0.0),
        post("c2", "bob", 1.0, "c1"),
        post("b1", "acme", 2.0, "c2", owner="Acme"),  # answers bob only
        post("c3", "carol", 0.0, thread="t2"),
        post("c4", "dave", 1.0, "c3", thread="t2"),
        post("b2", "acme", 2.0, "c4", owner="Acme", mentions=("carol", "dave"), thread="t2"),
    ])
    answered = {cp.post.id: cp.answered for cp in conv.posts}
    assert answered == {"c1": False, "c2": True, "c3": True, "c4": True}
    assert next(cp for cp in conv.posts if cp.post.id == "c3").response.via == "mention"


def test_quotes_answer_reposts_do_not_and_other_brands_do_not_answer_for_acme():
    conv = link([
        post("c1", "alice", 0.0),
        post("r1", "acme", 0.2, "c1", kind="repost", owner="Acme"),
        post("x1", "rival", 0.3, "c1", owner="Rival"),
        post("q1", "acme", 0.5, "c1", kind="quote", owner="Acme"),
        post("r2", "erin", 0.6, "c1", kind="repost"),  # amplification: not a customer post
    ])
    acme = conv.for_brand("Acme")
    [cp] = acme.posts
    assert cp.response.post == "q1" and cp.response.via == "quote"
    # Rival answered too: for Rival the post is in scope (its account treated it as addressed
    # to it) although the post names only Acme.
    [rival] = conv.for_brand("Rival").posts
    assert rival.response.post == "x1"


def test_a_post_the_brand_answered_counts_for_it_even_without_naming_it():
    conv = link([
        post("c1", "alice", 0.0, brands=()),  # "I'm going to puke" - no handle, no brand
        post("c2", "alice", 0.2, "c1"),
        post("b1", "acme", 1.2, "c2", owner="Acme"),
    ])
    [case] = conv.cases
    assert case.posts == ("c1", "c2") and case.response.minutes == 72


def test_unanswered_posts_and_the_kpis():
    conv = link([
        post("c1", "alice", 0.0), post("b1", "acme", 0.5, "c1", owner="Acme"),
        post("c2", "bob", 0.0, thread="t2"), post("b2", "acme", 4.0, "c2", owner="Acme", thread="t2"),
        post("c3", "carol", 1.0, thread="t3"),  # a complaint nobody answered
        post("c4", "dave", 1.0, thread="t4", label="positive"),  # praise: needs no answer
        post("c5", "erin", 2.0, thread="t5", label="neutral", question=True),
    ])
    assert sorted(cp.post.id for cp in conv.unanswered()) == ["c3", "c5"]
    k = kpis(conv.cases, high_risk=1)
    assert (k.cases, k.counted, k.answered) == (5, 4, 2)
    assert k.response_rate == 0.5 and k.answered_within_1h == 0.25
    assert k.median_first_response_min == 135.0  # 30 and 240 minutes
    assert k.p90_first_response_min == 30 + 0.9 * 210
    assert k.unanswered_high_risk == 1
    daily = kpis_by(conv.cases, lambda c: c.brand)
    assert daily["Acme"].answered == 2


def test_percentile_is_numpys_linear_default():
    import numpy as np

    xs = [3.0, 1.0, 10.0, 7.5, 2.25]
    for q in (0, 10, 50, 90, 100):
        assert abs(percentile(xs, q) - float(np.percentile(xs, q))) < 1e-12
    assert percentile([], 50) is None


def test_questions_with_and_without_a_question_mark():
    asks = ["@AppleSupport is there a fix for this?", "HELP! my account is locked",
            "how do I get my refund", "any update on my bag @united", "I need to reset my password"]
    says = ["Great flight, thanks @united", "my flight was delayed again", "see https://x.co/a?b=1"]
    assert all(is_question(t) for t in asks)
    assert not any(is_question(t) for t in says)
