"""Figures from tables ("Which binary operator gives the modulo?", "What is the size of the
gimp package?"): the row of a table kept at import whose cells hold the question's rarest
word and most of the rest, answered with its cells under their column labels and cited
where the row stands on its page.

A table's row is not a sentence: ranked as text it runs into its neighbours ("boolean
(true or false) bool tri-state boolean…"). Read as a row, the question's words pick the
row (and, through the header, the column), and the answer is the cell with what labels it.
"""

from __future__ import annotations

import re

from app.rlm import answerable, deflist, hygiene, qshape
from app.rlm import sentences as sn
from app.rlm.events import AnswerDelta
from app.rlm.terms import analyse, strip_framing
from app.rlm.trace import Citation

ROW_SHARE = 0.75  # of the question's idf weight that the row and its header must hold
ROW_CHARS = 400  # a row's cells stand within this many characters of the page's text
CAPTION_CHARS = 160  # text above a table that names it


def best_row(env, question: str, needs_code: bool = False, keys=()):
    """(table, row index, column or None, share, the rarest words it holds) of the row that
    answers best, or None.
    The row must hold the question's rarest word itself, whole, of those its table's header
    does not hold: a header names a column, not a row. The column is the one whose header
    holds a question word the row lacks ("size" of the gimp row). keys: the question's exact
    keys ("fm3"); then only a row one labels (its first cell) is read, under a header that
    names the column asked for."""
    wanted = sn.content_words(strip_framing(question))
    if len(wanted) < 2:
        return None  # one word picks rows by accident, not a row and a column
    idf = sn.weights(env, wanted)
    total = sum(idf.get(w, 0.0) for w in wanted) or 1.0
    numeric = analyse(question).expects_number
    labels = {k.lower() for k in keys}
    # "line width", "North Wind": a row that holds one word of a phrase the question makes
    # of two, and not the other ("Default page width", "Grey Heron"), is about something else.
    stems = [sn.stem(w) for w in re.findall(r"[A-Za-z][\w'-]*", strip_framing(question))]
    phrases = [(a, b) for a, b in zip(stems, stems[1:]) if a in wanted and b in wanted]
    best, best_share = None, ROW_SHARE
    for doc_id in env.doc_ids:
        # A word of the document's title ("Which Asymptote data type…" of the Asymptote
        # card) is held by all of it: the row need not repeat it.
        titled = wanted & sn.content_words(env.docs[doc_id].title or "")
        if not wanted - titled:
            continue
        for t in env.tables(doc_id):
            heads = [sn.content_words(h or "") | sn.soft_words(h or "") for h in t.header]
            # A word the header holds names a column ("What AIC does fm3 have?"): the rarest
            # of the others must pick the row.
            pool = wanted - titled - set().union(*heads) if heads else wanted - titled
            if not pool:
                continue
            top = max(idf.get(w, 0.0) for w in pool)
            rarest = {w for w in pool if idf.get(w, 0.0) >= 0.95 * top}  # ties: any of them
            caption = None
            for i, row in enumerate(t.rows):
                if labels and not (row and " ".join(row[0].split()).lower() in labels):
                    continue
                # Whole words: a cell is looked up by what it says ("frame" is not "framework").
                words = sn.content_words(" ".join(row))
                if not rarest & words or needs_code and not any(qshape.cell_names_code(c) for c in row):
                    continue
                in_row = wanted & words
                by_col = [(wanted - in_row) & h for h in heads]
                in_head = set().union(*by_col) if by_col else set()
                if any((a in in_row | in_head) != (b in in_row | in_head) for a, b in phrases):
                    continue
                if caption is None:
                    caption = caption_words(env, t)
                share = sum(idf.get(w, 0.0) for w in in_row | in_head | (wanted & caption) | titled) / total
                if needs_code and sum(idf.get(w, 0.0) for w in in_row | titled) / total <= ROW_SHARE:
                    continue  # an instruction's row says what is asked itself, not through its caption
                if share > best_share and len(row) - sum(1 for c in row if not c.strip()) >= 2:
                    # Of headers holding as many of its words, a question asking how many
                    # wants the one over a figure (not the corner over the row labels).
                    col = max(range(len(by_col)), key=lambda c: (
                        len(by_col[c]), numeric and c < len(row) and bool(re.search(r"\d", row[c])))) if in_head else None
                    if keys and col is None:
                        continue
                    if keys and col == 0:
                        col = None  # the key labels the row: the question asks for the row, not its label
                    best, best_share = (t, i, col, share, rarest & words), share
    return best


def caption_words(env, t) -> set[str]:
    """Words that name a table as a whole: the lines just above it on its page (its caption
    or heading: "Binary Operators", "Table 1.5: The numeric mode…"), and a caption set just
    below it, as LaTeX and the Debian Reference set theirs ("Table 1: The high-level modular
    structure of lmer.")."""
    span = env.page_span(t.doc_id, t.page_no)
    if span is None or not t.rows:
        return set()
    text = env.text(t.doc_id)[span[0]:span[1]]
    # Where its first row stands (a page may hold two tables under the same header words).
    at = row_span([" ".join(c.split()) for c in t.rows[0]], text)
    if at is None:
        return set()
    above = CAPTION_CHARS + sum(len(h) + 1 for h in t.header or [])
    words = sn.content_words(text[max(0, at[0] - above):at[0]])
    # The first caption line after the table's own text (its cells, give or take a hyphen).
    reach = at[0] + sum(len(c) + 1 for row in t.rows for c in row) * 11 // 10 + CAPTION_CHARS
    for line in text[at[0]:reach].split("\n"):
        if deflist.is_caption(line):
            words |= sn.content_words(line)
            break
    return words


def answer_from_cells(ctx, parent: str, needs_code: bool = False, keys=()):
    """A cited answer from a table's row, or None when no row holds enough of the question
    or its cells cannot be found on their page. needs_code: only a row with a cell that
    names a command or call (an instruction's answer); keys: only a row they label."""
    found = best_row(ctx.env, ctx.question, needs_code, keys)
    if found is None:
        return None
    t, i, col, share, rarest = found
    row = [" ".join(c.split()) for c in t.rows[i]]
    span = ctx.env.page_span(t.doc_id, t.page_no)
    if span is None:
        return None
    page = ctx.env.slice(t.doc_id, *span)
    text = ctx.env.slice_text(page)
    cells = row_span(row, text)
    if cells is None and len(row[0].split()) > 1:
        # A label printed once for a group of rows (ftable's "Lost" over "Heron" and "Gull")
        # was carried down to the row: on the page the row starts at its own last word.
        cells = row_span([row[0].split()[-1]] + row[1:], text)
    labels = [" ".join(h.split()) for h in t.header] if t.header else []
    node = yield from ctx.step(
        "filter", f"a figure from a table: the row {_show(row)} of the table on {page.describe()}",
        _show(row, labels), parent=parent, slice=page,
        data={"header": labels, "row": row, "column": col, "share": round(share, 2), "table_id": t.id})
    if cells is None or not rarest & sn.content_words(" ".join(row[:cells[2]])):
        yield from ctx.set_fate(node, "discarded", "the row's cells are not together in the page's text")
        return None
    a, b, n = cells
    # A reference card's row may run across two columns of the page, which the page's text
    # gives one after the other: what is shown is what the quote holds.
    row, labels = row[:n], labels[:n]
    if col is not None and col >= n:
        col = None
    quote = text[a:b]
    cite = Citation(1, node.id, t.doc_id, ctx.env.docs[t.doc_id].title, t.page_no, quote,
                    page.char_start + a, page.char_start + b)
    if ctx.options.get("answer_gate", True):
        verdict = yield from answerable.gate(ctx, [cite])
        if not verdict.ok:
            # A row that shares words without answering leaves the question to the prose.
            yield from ctx.set_fate(node, "discarded", verdict.why)
            return None
    shown = _show(row, labels)
    value = row[col] if col is not None and col < len(row) and row[col] else ""
    if value and labels:
        answer = f"{hygiene.quoted(value)} ({hygiene.quoted(labels[col])}): {hygiene.quoted(shown)} [1]"
    else:
        answer = f"{hygiene.quoted(shown)} [1]"
    yield from ctx.set_fate(node, "cited", "the table row that holds the question")
    ctx.partial.answer, ctx.partial.citations = answer, [cite]
    yield from ctx.step("final", "a figure read from a table's row, with its column labels", answer,
                        parent=node.id, data={"citations": [cite.to_dict()]})
    yield AnswerDelta(answer)
    return answer, [cite]


def _show(row: list[str], labels: list[str] | None = None) -> str:
    """'package: gimp; size: 19767' with labels, else 'gimp | 19767'."""
    if labels and len(labels) == len(row):
        return "; ".join(f"{h}: {c}" if h else c for h, c in zip(labels, row) if c)
    return " | ".join(c for c in row if c)


def row_span(row: list[str], text: str) -> tuple[int, int, int] | None:
    """Where the row's cells stand, in order, each within ROW_CHARS of the one before:
    (start, end, n), the span from the first cell's start to the end of the n-th, for the
    longest such run from the first cell (all the row's cells when they are together, two
    at the least). Whole cells only ("1" is not the 1 of "1001")."""
    cells = [(k, c) for k, c in enumerate(row) if c]
    if len(cells) < 2:
        return None
    best = None
    for m in _cell(cells[0][1]).finditer(text):
        at, end, n = m.end(), m.end(), cells[0][0] + 1
        for k, cell in cells[1:]:
            nxt = _cell(cell).search(text, at, min(len(text), at + ROW_CHARS))
            if nxt is None:
                break
            at = end = nxt.end()
            n = k + 1
        if n > cells[1][0] and (best is None or n > best[2]):
            best = (m.start(), end, n)
            if n == len(row):
                break
    return best


def _cell(cell: str):
    return re.compile(r"(?<![\w-])" + r"\s+".join(map(re.escape, cell.split())) + r"(?![\w])")
