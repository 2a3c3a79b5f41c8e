"""Turning what a person types into an FTS5 query, and FTS5's errors into clear ones."""

from __future__ import annotations

import re


class SearchSyntaxError(ValueError):
    """The search string is not a valid query. The message says what to fix."""


# Characters and words that mean the person is writing FTS5 syntax on purpose.
_SYNTAX = re.compile(r'["()*^:]|\b(AND|OR|NOT|NEAR)\b')
# What FTS5 accepts as a bare word (unicode61 tokenizer: letters, digits, _, non-ASCII).
_BAREWORD = re.compile(r"^[\w\u0080-\U0010ffff]+$")

HELP = (
    'Use words (all must match), "an exact phrase", prefix* , AND / OR / NOT in capitals, '
    "and parentheses for grouping."
)


def prepare(query: str) -> str:
    """The FTS5 MATCH expression for `query`.

    Plain words pass through (implicit AND). A plain query with punctuation that FTS5
    would reject (U.S., e-mail, C++) has each term quoted, so ordinary text just works;
    explicit syntax is passed as written and checked by FTS5 itself.
    """
    q = (query or "").strip()
    if not q:
        raise SearchSyntaxError("The search is empty. " + HELP)
    if _SYNTAX.search(q):
        if q.count('"') % 2:
            raise SearchSyntaxError(f"Unbalanced quote in {query!r}: close the phrase with a second \". " + HELP)
        return q
    terms = q.split()
    if all(_BAREWORD.match(t) for t in terms):
        return q
    quoted = []
    for t in terms:
        inner = t.replace('"', '""')
        # A term of punctuation only (a lone "-") indexes nothing: leave it out.
        if re.search(r"[\w\u0080-\U0010ffff]", t):
            quoted.append(f'"{inner}"')
    if not quoted:
        raise SearchSyntaxError(f"{query!r} has no words to search for. " + HELP)
    return " ".join(quoted)


def explain(error: Exception, query: str) -> SearchSyntaxError:
    """A clear SearchSyntaxError from sqlite's terse FTS5 message."""
    msg = str(error)
    detail = msg.replace("fts5: ", "")
    if "no such column" in msg:
        col = msg.split("no such column:")[-1].strip()
        return SearchSyntaxError(
            f"{query!r}: '{col}:' looks like a column filter, and there is no such field. "
            "Put the words in quotes to search for them literally. " + HELP
        )
    if "unknown special query" in msg or "syntax error" in msg or "fts5" in msg:
        return SearchSyntaxError(f"Cannot understand the search {query!r} ({detail}). " + HELP)
    return SearchSyntaxError(f"Search {query!r} failed: {detail}. " + HELP)
