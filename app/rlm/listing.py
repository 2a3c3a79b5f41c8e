"""Lists ("Which named arguments can be given to seq()?", "List the kernel error level
names."): find the passages that enumerate the answer, have the model extract the items
as constrained JSON, and keep, deduplicate and order them in code.

A manual or a report states a list in one place: a bulleted block, a table's column, a
comma series. Sentence ranking finds that place; the items are then read out of it,
first by the model (a JSON array it cannot break out of), then by code from the
passage's own layout when the model gives fewer than two (bullets, one item per line, a
comma series). Every item must occur verbatim in its passage, so a model cannot add one;
each is cited to the sentence that holds it.
"""

from __future__ import annotations

import re

from app.rlm import answerable, deflist, hygiene, navigate, prompts, xref
from app.rlm import sentences as sn
from app.rlm.cells import caption_words, row_span
from app.rlm.checks import locate, parse_json, sentences
from app.rlm.events import AnswerDelta
from app.rlm.terms import analyse, norm, strip_framing
from app.rlm.trace import Citation

MAX_ITEMS = 20
PASSAGES = 2
PASSAGE_CHARS = 1500

LIST_TEMPLATE = (
    "List the items the question asks for, copied exactly from the document text. Reply in "
    "JSON: items is the list (each a short exact phrase from the text; empty if there are none).\n"
    "Question: {question}\n\n"
    "<<<DOC\n{slice}\nDOC>>>"
)
LIST_SCHEMA = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": {"type": "string", "maxLength": 80}, "maxItems": MAX_ITEMS}},
    "required": ["items"],
}
_BULLET = re.compile(r"^\s*(?:[•◦▪‣∗*·-]|\d{1,2}[.)]|[a-z][.)])\s+(.{2,80}?)\s*$", re.M)
_SERIES = re.compile(r"(?:[^,;:]{1,40},\s*){2,}(?:and|or)?\s*[^,;:.]{1,40}")


def answer_list(ctx, candidates, opt, parent: str):
    """A cited list, or None when no passage holds enough of the question (the caller
    reads slices instead)."""
    wanted, ranked = _ranked(ctx, candidates, opt)
    if not wanted:
        return None
    laid_out = yield from _laid_out(ctx, _lead_ins(ranked), wanted, parent)
    if laid_out is not None:
        return laid_out
    passages, lead_at = [], []  # and where each one's introducing sentence starts
    for r in ranked:
        if len(passages) == PASSAGES:
            break
        if any(p.doc_id == r.doc_id and p.char_start <= r.start < p.char_end for p in passages):
            continue
        # The list usually follows the sentence that introduces it.
        passages.append(ctx.env.window(r.doc_id, r.start, r.start + PASSAGE_CHARS // 2, PASSAGE_CHARS))
        lead_at.append(r.start)
    node = yield from ctx.step("filter", f"a list: read the {len(passages)} passages that introduce it",
                               "\n".join(p.describe() for p in passages) or "(no passage holds enough of the question)",
                               parent=parent, data={"passages": [p.to_dict() for p in passages]})
    if not passages:
        yield from ctx.set_fate(node, "discarded", "no passage holds enough of the question: reading slices instead")
        return None
    items: list[tuple[str, int, int, object]] = []  # (item, doc start, doc end, node)
    numeric = analyse(ctx.question).expects_number
    for p, at in zip(passages, lead_at):
        ctx.checkpoint()
        text = ctx.env.slice_text(p)
        named = _answers(_verbatim(led_series(text, wanted), text), wanted)
        if len(named) >= 3:
            # The passage names the list in the question's words ("The predefined arrowhead
            # styles are …"): read as written, no model call.
            step = yield from ctx.step("filter", f"read the series the question's words introduce in {p.describe()}",
                                       ", ".join(f[0] for f in named), parent=node.id, slice=p,
                                       data={"source": "a series led by the question's words"})
            items += [(item, p.char_start + a, p.char_start + b, step) for item, a, b in named]
            break
        call = ctx.new_node("map", f"extract the list from {p.describe()}", parent=node.id, slice=p)
        comp = yield from ctx.call(call, ctx.sub, prompts.user(LIST_TEMPLATE, question=ctx.question, slice=text),
                                   template=LIST_TEMPLATE, max_tokens=opt.map_tokens * 2, json_schema=LIST_SCHEMA)
        got = [i for i in (parse_json(comp.text) or {}).get("items", []) if isinstance(i, str)]
        found = _answers(_verbatim(got, text), wanted)
        if not numeric:
            # A bare figure is no name of a thing: a model's items "1", "2", "5" for "Which
            # named arguments can be given to seq()?" are read off an example's output.
            found = [f for f in found if re.search(r"[^\W\d_]", f[0])]
        source = "the model"
        if len(found) < 2:
            found, source = _answers(_verbatim(layout_items(text, wanted, at - p.char_start), text), wanted), "the passage's layout"
        call.data = {"model_items": got[:MAX_ITEMS], "kept": [f[0] for f in found], "source": source}
        for item, a, b in found:
            items.append((item, p.char_start + a, p.char_start + b, call))
        yield from ctx.set_fate(call, "merged" if found else "discarded",
                                f"{len(found)} items found verbatim in the passage (from {source})" if found
                                else "no item of it occurs in the passage")
        if len(found) >= 2:
            break  # a list is stated in one place: the next passage would add its neighbours' names
    items = _dedupe(items)[:MAX_ITEMS]
    if len(items) < 2:
        return None
    return (yield from _answer(ctx, items, node))


def answer_laid_out(ctx, candidates, opt, parent: str):
    """A list keyed by an exact name ("Which top-level directories…?") that a best-ranked
    lead-in lays out below it; None otherwise (the caller reads the key's slices)."""
    wanted, ranked = _ranked(ctx, candidates, opt)
    if not wanted:
        return None
    return (yield from _laid_out(ctx, _lead_ins(ranked), wanted, parent))


LEAD_INS = 6  # best sentences that may introduce a laid-out list…
LEAD_IN_SHARE = 0.75  # …beyond the first PASSAGES, when they score this share of the best


def _lead_ins(ranked):
    """The sentences that may introduce the list: the best PASSAGES, and those nearly as
    good among the best LEAD_INS. A list laid out after its lead-in is plain evidence, and
    the sentence that names it ("Table 1.4 lists the predefined page styles.") often ranks
    just below one that speaks of the topic."""
    if not ranked:
        return []
    floor = LEAD_IN_SHARE * ranked[0].score
    return ranked[:PASSAGES] + [r for r in ranked[PASSAGES:LEAD_INS] if r.score >= floor]


def _ranked(ctx, candidates, opt):
    """(the question's words, the sentences of its best sections and slices that hold
    enough of them, best first)."""
    wanted = sn.content_words(strip_framing(ctx.question))
    if not wanted:
        return wanted, []
    idf = sn.weights(ctx.env, wanted)
    sections = navigate.matching_sections(ctx.env, wanted, idf)
    slices = [navigate.opening(ctx.env, m, PASSAGE_CHARS) for m in sections] + list(candidates[:opt.sentence_slices])
    return wanted, [r for r in sn.rank(ctx.env, slices, wanted, idf) if r.coverage >= opt.min_coverage]


ITEM_CHARS = 160  # an item shown longer than this is cut at a word; its citation has it whole
_ITEM_MARKER = re.compile(r"^\s*(?:\d{1,2}[.)]|[•◦▪‣∗·*])\s+")


def item_spans(env, r) -> list[tuple[int, int]]:
    """The bulleted or numbered items lead-in `r` introduces (sentences.block), or the terms
    of its definition list (deflist) with their descriptions, in document coordinates."""
    return sn.items_after(env, r)


def item_text(raw: str) -> str:
    """An item as it reads: its marker gone, its line-end hyphens undone, on one line."""
    return " ".join(_ITEM_MARKER.sub("", sn.unhyphenated(raw)).split())


def _introduced(env, ranked):
    """(lead-in, its item spans) for each of `ranked` that lays out a list: first those
    that introduce one themselves (a sentence ending with a colon, a table's caption),
    then those that say where one is: the next sentence ("adequate checks packages
    installed on the system…" then "The following checks are currently implemented:"),
    or the table they name ("Table 1.4 lists the predefined page styles.")."""
    for r in ranked:
        spans = item_spans(env, r)
        if len(spans) >= 2:
            yield r, spans
    for r in ranked:
        if r.text.rstrip().endswith(":") or deflist.is_caption(r.text):
            continue
        intro = sn.next_sentence(env, r)
        if intro is not None and intro.text.endswith(":"):
            spans = item_spans(env, intro)
            if len(spans) >= 2:
                yield r, spans
                continue
        cap = xref.caption(env, r.doc_id, r.text, r.start)
        if cap is not None:
            text = env.text(r.doc_id)
            shown = sn.Ranked(r.score, r.coverage, r.doc_id, cap[0], cap[1], " ".join(text[cap[0]:cap[1]].split()), r.matched)
            spans = item_spans(env, shown)
            if len(spans) >= 2:
                yield shown, spans


def _laid_out(ctx, ranked, wanted, parent: str):
    """The items a best-ranked lead-in lays out below it ("…will search the following paths,
    in the order listed:" then "1. The current directory; 2. …"): the document has already
    made the list, so it is read as laid out, item by item, with no model call. None when
    no such lead-in is among the best."""
    for r, spans in _introduced(ctx.env, ranked):
        text = ctx.env.text(r.doc_id)
        node = yield from ctx.step(
            "filter", "a list laid out after its lead-in: read item by item", " ".join(r.text.split()),
            parent=parent, slice=ctx.env.slice(r.doc_id, r.start, spans[-1][1]),
            data={"lead_in": [r.start, r.end], "items": len(spans)})
        items = []
        for a, b in spans:
            shown = item_text(text[a:b]).rstrip(";,.")
            if len(shown) > ITEM_CHARS:
                shown = shown[:ITEM_CHARS].rsplit(" ", 1)[0] + "…"
            items.append((shown, a, b, node))
        if not _answers([(i[0], i[1], i[2]) for i in items], wanted):
            continue
        return (yield from _answer(ctx, _dedupe(items)[:MAX_ITEMS], node))
    return None


COLUMN_SHARE = 0.3  # of the question's idf weight a column's header must hold to be the list asked for
ROWS_SHARE = 0.2  # of the question's idf weight (its words not in the title) a row must hold to be an item's


def answer_from_rows(ctx, parent: str):
    """A list a reference sets as rows ("Which functions make a pen from colour values?"
    over a card's "RGB pen from values in [0,1] | rgb(r,g,b)" rows): the rows of one
    table that each hold two of the question's words or more, ROWS_SHARE of its weight,
    each read for the cell beside the one that matched (the name a description stands
    for), cited where the two stand on the page. The rows of one list hold the same
    question words in the same column. None unless two rows of one table do."""
    wanted = sn.content_words(strip_framing(ctx.question))
    idf = sn.weights(ctx.env, wanted)
    # A word the selection never uses ("colour" where the card says "RGB") is the
    # question's paraphrase: it cannot tell rows apart.
    used = {w for w, df in sn.block_freq(ctx.env, wanted)[0].items() if df}
    best: list = []  # (matching cell, item cell, share, item after the match)
    t_best = None
    for doc_id in ctx.env.doc_ids:
        asked = (wanted & used) - sn.content_words(ctx.env.docs[doc_id].title or "")
        total = sum(idf.get(w, 0.0) for w in asked) or 1.0
        for t in ctx.env.tables(doc_id):
            groups: dict = {}  # (column, the question's words it holds) -> rows
            for row in t.rows:
                row = [" ".join(c.split()) for c in row]
                held = [asked & sn.content_words(c) for c in row]
                k = max(range(len(row)), key=lambda i: sum(idf.get(w, 0.0) for w in held[i]), default=0)
                share = sum(idf.get(w, 0.0) for w in held[k]) / total
                if len(held[k]) < 2 or share < ROWS_SHARE:
                    continue
                # The cell beside the matching one, when it holds none of the question: the
                # name its description stands for (or the description of a name asked for).
                side = [j for j in (k + 1, k - 1) if 0 <= j < len(row) and row[j] and not held[j]]
                if side:
                    groups.setdefault((k, frozenset(held[k])), []).append((row[k], row[side[0]], share, side[0] > k))
            # The items of one list hold the same words of the question in the same column.
            for found in groups.values():
                if len(found) >= 2 and _weight(found) > _weight(best):
                    best, t_best = found, t
    if not best:
        return None
    t = t_best
    span = ctx.env.page_span(t.doc_id, t.page_no)
    if span is None:
        return None
    page = ctx.env.slice(t.doc_id, *span)
    text = ctx.env.slice_text(page)
    node = yield from ctx.step("filter", f"a list set as rows of the table on {page.describe()}",
                               "\n".join(f"{m} | {item}" for m, item, _, _ in best[:MAX_ITEMS]), parent=parent,
                               slice=page, data={"table_id": t.id, "rows": len(best)})
    items = []
    for match, item, _, after in best:
        at = row_span([match, item] if after else [item, match], text)
        if at is None:
            continue
        a, b, _ = at
        i = text.rfind(item, a, b) if after else text.find(item, a, b)
        if i >= 0:
            items.append((item, page.char_start + i, page.char_start + i + len(item), node))
    items = _dedupe(items)[:MAX_ITEMS]
    if len(items) < 2:
        yield from ctx.set_fate(node, "discarded", "its cells are not together in the page's text")
        return None
    return (yield from _answer(ctx, items, node))


GROUP_SHARE = 0.5  # of the question's idf weight (its words not in the title) a group's title must hold


def answer_from_group(ctx, parent: str):
    """A list a reference sets as a group of a table's rows under a title row: "Which 3D
    data types does Asymptote provide?" over a card's "3D data types (import three;)" and
    the rows after it ("ordered triple | triple", "3D path | path3") up to the next title.
    A title row holds text in one column and nothing in the next, where the rows after it
    fill both. The items are the group's names: of its two columns, the one whose cells
    are single words (a card's "triple"), else the first. None unless a title holds
    GROUP_SHARE of the question and two words of it, and two rows follow."""
    wanted = sn.content_words(strip_framing(ctx.question))
    idf = sn.weights(ctx.env, wanted)
    best, best_share = None, GROUP_SHARE
    for doc_id in ctx.env.doc_ids:
        asked = wanted - sn.content_words(ctx.env.docs[doc_id].title or "")
        total = sum(idf.get(w, 0.0) for w in asked) or 1.0
        for t in ctx.env.tables(doc_id):
            rows = [[" ".join((c or "").split()) for c in r] for r in t.rows]
            for i, row in enumerate(rows):
                for c in range(len(row) - 1):
                    if not row[c] or row[c + 1]:
                        continue
                    held = asked & sn.content_words(row[c])
                    share = sum(idf.get(w, 0.0) for w in held) / total
                    if len(held) < 2 or share <= best_share:
                        continue
                    group = []
                    for r in rows[i + 1:]:
                        if len(r) <= c + 1 or not (r[c] and r[c + 1]):
                            break
                        group.append((r[c], r[c + 1]))
                    if len(group) >= 2:
                        best, best_share = (t, row[c], group), share
    if best is None:
        return None
    t, title, group = best
    span = ctx.env.page_span(t.doc_id, t.page_no)
    if span is None:
        return None
    col = 1 if sum(len(b.split()) == 1 for _, b in group) > sum(len(a.split()) == 1 for a, _ in group) else 0
    page = ctx.env.slice(t.doc_id, *span)
    text = ctx.env.slice_text(page)
    node = yield from ctx.step("filter", f"a list set as the rows under “{title}” in the table on {page.describe()}",
                               "\n".join(f"{a} | {b}" for a, b in group[:MAX_ITEMS]), parent=parent, slice=page,
                               data={"table_id": t.id, "title": title, "rows": len(group)})
    items, at = [], text.find(title)
    at = max(at, 0)
    for pair in group:
        found = row_span(list(pair), text[at:])
        if found is None:
            continue
        a, b, _ = found
        item = pair[col]
        i = text.find(item, at + a, at + b) if col == 0 else text.rfind(item, at + a, at + b)
        if i >= 0:
            items.append((item, page.char_start + i, page.char_start + i + len(item), node))
            at += a
    items = _dedupe(items)[:MAX_ITEMS]
    if len(items) < 2:
        yield from ctx.set_fate(node, "discarded", "its cells are not together in the page's text")
        return None
    return (yield from _answer(ctx, items, node))


def _on_page(env, t, word: str) -> bool:
    """Does the table's page use the word? Asked only of a column that would win."""
    span = env.page_span(t.doc_id, t.page_no)
    return span is not None and word in sn.content_words(env.text(t.doc_id)[span[0]:span[1]])


def _weight(rows) -> tuple[int, float]:
    """More rows first, then more of the question held."""
    return len(rows), sum(share for _, _, share, _ in rows)


def answer_from_table(ctx, parent: str):
    """A list a reference sets as a table ("Which Pin-Priority values…?" is the Pin-Priority
    column of a table): the column whose header holds most of the question's rare words,
    its cells in order, each cited to its line on the table's page. None when no header
    holds enough of the question."""
    wanted = sn.content_words(strip_framing(ctx.question))
    if not wanted:
        return None
    idf = sn.weights(ctx.env, wanted)
    total = sum(idf.get(w, 0.0) for w in wanted) or 1.0
    rarest = max(sorted(wanted), key=lambda w: idf.get(w, 0.0))
    best, best_score = None, COLUMN_SHARE * total
    for doc_id in ctx.env.doc_ids:
        for t in ctx.env.tables(doc_id):
            if len(t.rows) < 2:
                continue
            # "error level name" is headed by "name", which is a stop word in questions
            # only because "What is the name of…" frames them.
            heads = [sn.content_words(head or "") | sn.soft_words(head or "") for head in t.header]
            named = None
            for col, words in enumerate(heads):
                held = {w for w in wanted if sn.holds(words, w)}
                if not held:
                    continue
                if named is None:
                    # The caption names what the whole table is of ("…structure of lmer"),
                    # beyond the header words it may take in.
                    named = (wanted & caption_words(ctx.env, t)) - set().union(*heads)
                score = sum(idf.get(w, 0.0) for w in held | named)
                if score > best_score and _on_page(ctx.env, t, rarest):
                    # (the arguments of seq() are not in a table of distributions' arguments)
                    best, best_score = (t, col), score
    if best is None:
        return None
    t, col = best
    span = ctx.env.page_span(t.doc_id, t.page_no)
    if span is None:
        return None
    page = ctx.env.slice(t.doc_id, *span)
    text = ctx.env.slice_text(page)
    cells = [" ".join(r[col].split()) for r in t.rows if col < len(r) and r[col] and r[col].strip()]
    node = yield from ctx.step("filter", f"a list set as a table: the column “{t.header[col]}” of the table on "
                               f"{page.describe()}", "\n".join(cells[:MAX_ITEMS]), parent=parent, slice=page,
                               data={"header": t.header, "column": col, "table_id": t.id})
    items, at = [], 0
    for cell in cells:
        # In the page's own text, in table order: each cell is cited where it stands.
        # Whole cells only: "1" is not the 1 of "1001", "-1" not the 1 of "-10".
        m = re.search(r"(?<![\w-])" + r"\s+".join(map(re.escape, cell.split())) + r"(?![\w])", text[at:]) \
            if len(cell) <= 80 else None
        if m is None:
            continue
        a, b = at + m.start(), at + m.end()
        items.append((text[a:b], page.char_start + a, page.char_start + b, node))
        at = b
    items = _dedupe(items)[:MAX_ITEMS]
    if len(items) < 2:
        yield from ctx.set_fate(node, "discarded", "its cells are not in the page's text")
        return None
    return (yield from _answer(ctx, items, node))


# Families of code-shaped names a reference lists: named arguments (from=value), constants
# (KERN_EMERG), calls (rgb(r,g,b)), and strings a program prints in quotes
# ('[1] "datasets" "utils" "grDevices"'), read without their quotes.
_FAMILIES = [re.compile(r"\b[a-z][\w.]*=[\w.]+"), re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b"),
             re.compile(r"\b[a-z][\w.]*\([^()]{0,30}\)"), re.compile(r'(?<![\w"(=])"([\w.-]{2,30})"(?=[\s,;)\]]|$)')]


_BRACKETED = re.compile(r"(?<![\w.])\(([^()]{6,300})\)")  # not a call's arguments: "image(x, y, f)"
LEAD_CHARS = 60  # the words that name a series stand just before it ("…arrowhead styles DefaultHead, …")
LEAD_WORDS = 2  # a series led by this many of them is the list asked for, before any other layout


def layout_items(text: str, wanted: set[str] = frozenset(), after: int = 0) -> list[str]:
    """Items a passage lays out as a list: bulleted or numbered lines; else three or more
    distinct names of one code shape (from=value, KERN_EMERG, rgb(r,g,b)); else a series of
    short items within one sentence ("red, green, blue and black"): each at most four words,
    with a letter and balanced brackets, at least three of them. Of several series, the one
    led by more of the question's words (`wanted`), then the longest: a passage that lists
    arrow kinds and fill types answers "which arrowhead styles…" with the series after
    "the predefined arrowhead styles". after: where the sentence introducing the list
    starts: a family of names listed from there is the list it introduces (the settings
    named above it are not)."""
    series, led = _series(text, wanted)
    if wanted and led >= min(LEAD_WORDS, len(wanted)):
        return series  # named by the question's words: "The predefined arrowhead styles are …"
    bullets = [m.group(1) for m in _BULLET.finditer(text)]
    if len(bullets) >= 2:
        return bullets
    listed, whole = None, None  # (where it starts from the lead-in on, names); the first family of three
    for family in _FAMILIES:
        found = list(family.finditer(text))
        names = list(dict.fromkeys(m.group(m.lastindex or 0) for m in found))
        if len(names) < 3:
            continue
        whole = whole or names
        later = [m for m in found if m.start() >= after]
        seen, third = [], None
        for m in later:
            if m.group(m.lastindex or 0) not in seen:
                seen.append(m.group(m.lastindex or 0))
                if len(seen) == 3:
                    third = m.start()
                    break
        # A family of a surer shape is the list unless another has named three things before
        # it names one: "[1] "datasets" "utils" "grDevices"" after the lead-in, the settings
        # R_DEFAULT_PACKAGES and R_SCRIPT_DEFAULT_PACKAGES only in the paragraph after it.
        if third is not None and (listed is None or third < listed[0]):
            listed = (later[0].start(), names)
    if listed or whole:
        return listed[1] if listed else whole
    return series


def led_series(text: str, wanted: set[str]) -> list[str]:
    """A series the question's words introduce ("…the predefined arrowhead styles DefaultHead,
    SimpleHead, …"), else []."""
    series, led = _series(text, wanted)
    return series if wanted and led >= min(LEAD_WORDS, len(wanted)) else []


def _series(text: str, wanted: set[str]) -> tuple[list[str], int]:
    """The best series of the passage's sentences and how many question words lead it."""
    best: list[str] = []
    best_key = (-1, 0)
    for a, b in sentences(text):
        sentence = " ".join(text[a:b].split()).rstrip(".!?")
        # A series in brackets ("(one of DefaultHead, SimpleHead, HookHead, TeXHead)") is one
        # of its own, whatever the sentence lists around it.
        segments = [(0, sentence)] + [(m.start(1), m.group(1)) for m in _BRACKETED.finditer(sentence)]
        for off, segment in segments:
            for m in _SERIES.finditer(segment):
                parts = [re.sub(r"^\s*(?:and|or)\s+", "", x).strip() for x in re.split(r",|\s+(?:and|or)\s+", m.group(0))]
                parts = [x for x in parts if x]
                # The first part carries the sentence's lead-in ("The pens are red"): keep its tail.
                lead = ""
                if parts:
                    lead = sentence[max(0, off + m.start() - LEAD_CHARS):off + m.start()] + " " + " ".join(parts[0].split()[:-1])
                    if not segment[:m.start()].rstrip().endswith(":"):  # after a colon the first item stands whole
                        parts[0] = parts[0].split()[-1]
                led = len({w for w in wanted if sn.holds(sn.content_words(lead), w)})
                if len(parts) >= 3 and (led, len(parts)) > best_key and all(
                        len(x.split()) <= 4 and re.search(r"[A-Za-z]", x) and x.count("(") == x.count(")") for x in parts):
                    best, best_key = parts, (led, len(parts))
    return best, max(0, best_key[0])


# "See also: [intmax], page 59, …": a manual's cross-reference is where to read on, not an item.
_PAGE_REF = re.compile(r"^\W*(?:see(?:\s+also)?\W+)?(?:pages?|pp?\.)\s*[\dixvlc]+(?:\s*[-–]\s*[\dixvlc]+)?\W*$", re.I)


def _answers(found, wanted: set[str]):
    """Items that add something: not the question's own words back ("seq()" for "Which
    arguments can be given to seq()?"), nor a reference to a page."""
    return [f for f in found if not sn.content_words(f[0]) <= wanted and not _PAGE_REF.match(f[0])]


def _verbatim(items, text: str) -> list[tuple[str, int, int]]:
    out = []
    for item in items:
        item = " ".join(item.split()).strip(" .;:")
        if not item or len(item) > 80 or len(item.split()) > 8 or ". " in item:
            continue  # an item is a name or a short phrase, never a run of sentences
        span = _whole_words(item, text)
        if span is not None:
            out.append((text[span[0]:span[1]], span[0], span[1]))
    return out


def _whole_words(item: str, text: str) -> tuple[int, int] | None:
    """Where the item stands in the text as whole words: "Doc" copied from the prompt's
    fence is no item because "Documentation" starts with it."""
    m = re.search(r"(?<!\w)" + r"\s+".join(map(re.escape, item.split())) + r"(?!\w)", text, re.I)
    if m:
        return m.span()
    span = locate(item, text)  # quote styles and spacing differ
    if span is None:
        return None
    a, b = span
    cut_before = a > 0 and text[a - 1].isalnum() and text[a].isalnum()
    cut_after = b < len(text) and text[b].isalnum() and text[b - 1].isalnum()
    return None if cut_before or cut_after else span


def _dedupe(items):
    seen, out = set(), []
    for item in sorted(items, key=lambda x: (x[3].slice.doc_id, x[1])):  # in the document's order
        key = norm(item[0])
        if key and key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _answer(ctx, items, parent_node):
    cites, lines, by_sentence = [], [], {}
    for item, a, b, call in items:
        doc_id = call.slice.doc_id
        text = ctx.env.text(doc_id)
        # Cite the line or sentence holding the item: what an analyst checks it against.
        s = max(text.rfind("\n", 0, a), text.rfind(". ", 0, a)) + 1
        e = min(x for x in (text.find("\n", b), text.find(". ", b), len(text)) if x >= 0)
        s = max(s, a - 200)
        e = min(e + 1, b + 200)
        while s < a and text[s].isspace():
            s += 1
        key = (doc_id, s)
        if key not in by_sentence:
            by_sentence[key] = len(cites) + 1
            cites.append(Citation(len(cites) + 1, call.id, doc_id, ctx.env.docs[doc_id].title,
                                  ctx.env.page_at(doc_id, s), text[s:e].strip(), s, s + len(text[s:e].strip())))
        lines.append(f"- {hygiene.quoted(item)} [{by_sentence[key]}]")
    if ctx.options.get("answer_gate", True):
        verdict = yield from answerable.gate(ctx, cites)
        if not verdict.ok:
            return (yield from answerable.not_found(ctx, verdict))
    answer = f"{len(items)} items:\n" + "\n".join(lines)
    for node_id in dict.fromkeys(c.node_id for c in cites):
        yield from ctx.set_fate(ctx.trace.get(node_id), "cited", "items quoted in the list")
    ctx.partial.answer, ctx.partial.citations = answer, cites
    yield from ctx.step("final", f"a list of {len(items)} items, each found verbatim", answer, parent=parent_node.id,
                        data={"citations": [c.to_dict() for c in cites]})
    yield AnswerDelta(answer)
    return answer, cites
