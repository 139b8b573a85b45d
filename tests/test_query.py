import pytest

from listener.errors import QueryError
from listener.query import Query


@pytest.mark.parametrize(
    "query, text, expected",
    [
        ("delta", "Flying Delta today", True),
        ("delta", "my #delta flight", True),
        ("delta", "thanks @Delta", True),
        ("delta", "river deltas", False),
        ("#delta", "delta is late", False),
        ("#delta", "so #DELTA", True),
        ("@delta", "#delta", False),
        ("@delta", "hey @delta!", True),
        ('"united airlines"', "United   Airlines lost my bag", True),
        ('"united airlines"', "united states airlines", False),
        ("plane*", "so many planes", True),
        ("plane*", "airplane", False),
        ("united -manchester", "manchester united", False),
        ("united NOT manchester", "united flight", True),
        ("(a OR b) AND c", "b c", True),
        ("(a OR b) AND c", "a b", False),
        ("a b OR c", "c", True),  # AND binds tighter than OR
        ("a b OR c", "a", False),
        ("café", "Le CAFÉ est fermé", True),
        ("🔥", "this 🔥 is fine", False),  # symbols are not words: the query is refused below
    ][:-1],
)
def test_matching(query, text, expected):
    assert Query(query).matches(text) is expected


@pytest.mark.parametrize(
    "query, position, reason",
    [
        ("", 0, "empty"),
        ("a OR", 2, "OR needs a term"),
        ("(a b", 0, "never closed"),
        ("a)", 1, "no '('"),
        ('x "abc', 2, "quote is never closed"),
        ("-a", 0, "not negated"),
        ("a AND OR b", 6, "AND needs a term"),
        ("()", 0, "empty parentheses"),
        ("*a", 0, "only allowed at the end"),
        ("🔥", 0, "no letters or digits"),
    ],
)
def test_errors_say_where_and_why(query, position, reason):
    with pytest.raises(QueryError) as err:
        Query(query)
    assert err.value.position == position
    assert reason in err.value.reason
    assert "^" in str(err.value)


def test_compiles_to_x_and_reddit():
    q = Query('(united OR @united OR "united airlines") -"manchester united" #fail')
    assert q.to_x() == '(united OR @united OR "united airlines") -"manchester united" #fail'
    assert q.to_reddit() == (
        '(united OR united OR "united airlines") AND NOT "manchester united" AND fail'
    )
    assert Query("a NOT (b OR c)").to_x() == "a -(b OR c)"


def test_x_has_no_wildcards_and_a_length_limit():
    with pytest.raises(QueryError, match="wildcards"):
        Query("plane*").to_x()
    with pytest.raises(QueryError, match="512"):
        Query(" OR ".join(f"word{i}" for i in range(100))).to_x()
