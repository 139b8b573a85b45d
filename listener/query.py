"""Brand queries: a small boolean language, matched locally and compiled to X's and Reddit's syntax.

    united OR "united airlines" OR @united OR #unitedairlines -"manchester united"
    (delta OR @delta) AND (flight OR plane*) NOT #deltastate

Operators are upper case (AND, OR, NOT); juxtaposition means AND; `-term` is NOT term.
Matching is case-insensitive on word boundaries: `delta` matches "Delta", "#delta" and "@Delta" but
not "deltas"; `#delta` only the hashtag; `@delta` only the handle; `plane*` any word starting so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from listener.errors import QueryError

__all__ = ["Query", "parse"]

_OPERATORS = {"AND", "OR", "NOT"}
_SPECIAL = '()"'


@dataclass(frozen=True)
class _Token:
    kind: str  # TERM | PHRASE | AND | OR | NOT | LPAREN | RPAREN
    text: str
    pos: int


def _tokenise(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            tokens.append(_Token("LPAREN", ch, i))
            i += 1
        elif ch == ")":
            tokens.append(_Token("RPAREN", ch, i))
            i += 1
        elif ch == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError(query, i, "this quote is never closed")
            phrase = query[i + 1 : end].strip()
            if not phrase:
                raise QueryError(query, i, "empty phrase")
            tokens.append(_Token("PHRASE", phrase, i))
            i = end + 1
        elif ch == "-" and i + 1 < n and not query[i + 1].isspace():
            tokens.append(_Token("NOT", "-", i))
            i += 1
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in _SPECIAL:
                i += 1
            word = query[start:i]
            tokens.append(_Token(word if word in _OPERATORS else "TERM", word, start))
    return tokens


class _Node:
    def matches(self, text: str) -> bool:  # text is already lower-cased
        raise NotImplementedError


@dataclass(frozen=True)
class Term(_Node):
    text: str
    phrase: bool = False

    @cached_property
    def literal(self) -> str:
        return self.text.lower().rstrip("*")

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        word = self.text.lower()
        prefix = word.endswith("*")
        words = word.rstrip("*").split()
        body = r"\s+".join(re.escape(w) for w in words)
        # A plain word may be a hashtag or handle body; "#x" and "@x" must be exactly that.
        left = r"(?<![\w#@])" if word[0] in "#@" else r"(?<!\w)"
        right = r"\w*" if prefix else r"(?!\w)"
        return re.compile(left + body + right)

    def matches(self, text: str) -> bool:
        return self.literal.split()[0] in text and self._regex.search(text) is not None


@dataclass(frozen=True)
class Not(_Node):
    child: _Node

    def matches(self, text: str) -> bool:
        return not self.child.matches(text)


@dataclass(frozen=True)
class And(_Node):
    children: tuple[_Node, ...]

    def matches(self, text: str) -> bool:
        return all(c.matches(text) for c in self.children)


@dataclass(frozen=True)
class Or(_Node):
    children: tuple[_Node, ...]

    def matches(self, text: str) -> bool:
        return any(c.matches(text) for c in self.children)


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokenise(query)
        self.i = 0

    def _peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _fail(self, reason: str, token: _Token | None = None) -> QueryError:
        pos = token.pos if token else len(self.query)
        return QueryError(self.query, pos, reason)

    def parse(self) -> _Node:
        if not self.tokens:
            raise self._fail("the query is empty")
        node = self._or()
        if (tok := self._peek()) is not None:
            raise self._fail("unexpected ')' with no '(' before it" if tok.kind == "RPAREN"
                             else f"unexpected {tok.text!r}", tok)
        return node

    def _or(self) -> _Node:
        children = [self._and()]
        while (tok := self._peek()) is not None and tok.kind == "OR":
            self.i += 1
            if self._peek() is None or self._peek().kind in ("OR", "AND", "RPAREN"):
                raise self._fail("OR needs a term after it", self._peek() or tok)
            children.append(self._and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def _and(self) -> _Node:
        children = [self._not()]
        while (tok := self._peek()) is not None and tok.kind not in ("OR", "RPAREN"):
            if tok.kind == "AND":
                self.i += 1
                nxt = self._peek()
                if nxt is None or nxt.kind in ("OR", "AND", "RPAREN"):
                    raise self._fail("AND needs a term after it", nxt or tok)
            children.append(self._not())
        return children[0] if len(children) == 1 else And(tuple(children))

    def _not(self) -> _Node:
        tok = self._peek()
        if tok is not None and tok.kind == "NOT":
            self.i += 1
            if self._peek() is None:
                raise self._fail("NOT needs a term after it", tok)
            return Not(self._not())
        return self._atom()

    def _atom(self) -> _Node:
        tok = self._peek()
        if tok is None:
            raise self._fail("the query ends where a term was expected")
        self.i += 1
        if tok.kind == "LPAREN":
            if (nxt := self._peek()) is not None and nxt.kind == "RPAREN":
                raise self._fail("empty parentheses", tok)
            node = self._or()
            closing = self._peek()
            if closing is None or closing.kind != "RPAREN":
                raise self._fail("this '(' is never closed", tok)
            self.i += 1
            return node
        if tok.kind in ("TERM", "PHRASE"):
            if tok.kind == "TERM" and not re.search(r"\w", tok.text):
                raise self._fail(f"{tok.text!r} has no letters or digits to match", tok)
            if "*" in tok.text.rstrip("*") or tok.text.startswith("*"):
                raise self._fail("'*' is only allowed at the end of a word", tok)
            return Term(tok.text, phrase=tok.kind == "PHRASE")
        raise self._fail(f"{tok.text!r} cannot start a term", tok)


def _has_positive(node: _Node) -> bool:
    if isinstance(node, Term):
        return True
    if isinstance(node, Not):
        return False
    return any(_has_positive(c) for c in node.children)  # type: ignore[attr-defined]


class Query:
    """A parsed brand query: `matches(text)` locally, `to_x()` / `to_reddit()` for the APIs."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.root = _Parser(text).parse()
        if not _has_positive(self.root):
            raise QueryError(text, 0, "a query needs at least one term that is not negated")

    def matches(self, text: str) -> bool:
        return self.root.matches(text.lower())

    def to_x(self) -> str:
        """X API v2 search/stream syntax (space = AND, OR, -negation, quotes, #, @)."""
        out = _render(self.root, "x", top=True)
        if len(out) > 512:
            raise QueryError(self.text, 0, f"compiles to {len(out)} characters; X allows 512")
        return out

    def to_reddit(self) -> str:
        """Reddit (Lucene) search syntax: AND, OR, NOT; '#' and '@' are dropped, Reddit ignores them."""
        return _render(self.root, "reddit", top=True)

    def __repr__(self) -> str:
        return f"Query({self.text!r})"


def _render(node: _Node, dialect: str, top: bool = False) -> str:
    if isinstance(node, Term):
        text = node.text
        if dialect == "x" and text.endswith("*"):
            raise QueryError(text, len(text) - 1, "X search has no wildcards: spell the words out")
        if dialect == "reddit":
            text = text.lstrip("#@")
        return f'"{text}"' if node.phrase else text
    if isinstance(node, Not):
        # Groups render their own parentheses; terms and nested NOTs need none.
        inner = _render(node.child, dialect)
        return f"-{inner}" if dialect == "x" else f"NOT {inner}"
    joiner = " OR " if isinstance(node, Or) else (" " if dialect == "x" else " AND ")
    body = joiner.join(_render(c, dialect) for c in node.children)  # type: ignore[attr-defined]
    return body if top else f"({body})"


def parse(text: str) -> Query:
    return Query(text)
