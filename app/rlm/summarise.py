"""Summaries of a topic ("Summarise what the R Foundation does"): find where the selection
treats the topic, then give its main points as cited sentences.

A summary of the whole selection is scan's map-reduce. A summary of one topic in a
1,000-page library is not: reading every page to find the two that matter exhausts any
budget (the run used to end "not found" after 12 calls). Structure finds the topic (a
section titled by it, app.rlm.navigate), otherwise the best filtered slices do; the points
are the passage's sentences that carry the topic's words, in document order, each with its
own citation, so every point can be checked against its page. From the compose rung up the
model rewrites them as prose that keeps only cited, checkable sentences (app.rlm.compose).
"""

from __future__ import annotations

import re

from app.rlm import hygiene, navigate
from app.rlm import sentences as sn
from app.rlm.compose import maybe_compose
from app.rlm.events import AnswerDelta
from app.rlm.listing import item_spans, item_text
from app.rlm.terms import strip_framing
from app.rlm.trace import Citation

# Words that ask for a summary rather than name its topic.
_CUE = re.compile(r"\b(?:summari[sz]e|summary|overview|outline|main|key|points?|topics?|themes?|ideas?|findings?|"
                  r"takeaways?|briefly|describe|explain|what|who|does|do|is|are|about|covers?|says?|"
                  r"this|these|documents?|texts?|books?|reports?|files?|papers?|manuals?|selection)\b", re.I)
_ASKS = re.compile(r"\b(?:summari[sz]e|summary|overview|main (?:points|topics|themes|ideas)|key (?:points|findings|takeaways)|"
                   r"what is (?:this|the) (?:document|text|book|report) about)\b", re.I)
MAX_POINTS = 5
POINT_CHARS = 600  # a summary's point is cut at its semicolons only beyond this
REGION_CHARS = 4000  # a topic's passage: a section's first pages, read whole


def asks_summary(question: str) -> bool:
    return bool(_ASKS.search(question))


def topic_words(question: str) -> set[str]:
    return sn.content_words(_CUE.sub(" ", strip_framing(question)))


# "…an overview of what Asymptote is", "Summarise what R is": the subject a document is about.
_WHAT_IS = re.compile(r"\bwhat\s+(?:the\s+)?(?P<name>[\w+#.-]+(?:\s+[\w+#.-]+){0,2}?)\s+(?:is|are)\b", re.I)


def _subject_section(env, question: str):
    """A summary of what a document's own subject is reads where the document introduces
    it, not sentences elsewhere that merely name it."""
    m = _WHAT_IS.search(strip_framing(question))
    if not m:
        return None
    doc_id = navigate.document_named(env, m.group("name"))
    return navigate.subject_opening(env, doc_id) if doc_id is not None else None


def _region(env, section):
    return env.slice(section.doc_id, section.char_start, min(section.char_end, section.char_start + REGION_CHARS))


def _held(env, slices, topic: set[str], idf: dict[str, float]) -> float:
    """The idf weight of the topic's words that the best of these slices holds."""
    return max((sum(idf.get(w, 0.0) for w in topic if sn.holds(sn.content_words(env.slice_text(x)), w))
                for x in slices), default=0.0)


LEAD_INS = 3  # best sentences tried as the lead-in to a list of the topic's points
LAID_OUT_POINTS = 8


def _laid_out_points(env, ranked) -> list:
    """A lead-in among the best sentences that ends with a colon and introduces three or more
    bulleted or numbered items ("The main advantages of LaTeX over normal word processors
    are the following:" then "• Professionally crafted layouts…"): the lead-in, then each
    item as a point. The author has listed the points; ranking its sentences by the topic's
    words would pick the ones that repeat the question. [] when none does."""
    for r in ranked:
        if not r.text.rstrip().endswith(":"):
            continue
        spans = item_spans(env, r)
        if len(spans) >= 3:
            text = env.text(r.doc_id)
            return [r] + [sn.Ranked(r.score, r.coverage, r.doc_id, a, b, item_text(text[a:b]), frozenset())
                          for a, b in spans]
    return []


def _titled_by_rarest(section, topic: set[str], idf: dict[str, float]) -> bool:
    """The section's title holds the topic's rarest word ("The Debian Manifesto" for "the
    argument Ian Murdock makes in the Debian Manifesto"): it is the topic's own place, even
    where other passages repeat more of the topic's commoner words."""
    rarest = max(topic, key=lambda w: idf.get(w, 0.0))
    return sn.holds(sn.content_words(section.title or ""), rarest)


TITLE_SHARE = 0.5  # of the topic's idf weight a section's title holds to be its place, whatever passages elsewhere hold


def _title_share(section, topic: set[str], idf: dict[str, float]) -> float:
    title = sn.content_words(section.title or "")
    return sum(idf.get(w, 0.0) for w in topic if sn.holds(title, w)) / (sum(idf.get(w, 0.0) for w in topic) or 1.0)


def summarise_topic(ctx, candidates, parent: str):
    """The topic's main points as cited sentences; None when the question names no topic
    (a summary of the whole selection: the caller scans)."""
    topic = topic_words(ctx.question)
    if not topic:
        return None
    idf = sn.weights(ctx.env, topic)
    sections = navigate.matching_sections(ctx.env, topic, idf, limit=1)
    subject = _subject_section(ctx.env, ctx.question)
    if subject is not None:
        sections = [navigate.SectionMatch(subject, 1.0)]
    elif sections and candidates and not _titled_by_rarest(sections[0].section, topic, idf) and \
            _title_share(sections[0].section, topic, idf) < TITLE_SHARE and \
            _held(ctx.env, candidates[:3], topic, idf) > _held(ctx.env, [_region(ctx.env, sections[0].section)], topic, idf):
        # A title that shares one common word ("Help" for "the R-help mailing list") names
        # another topic: passages that hold more of the question's words are read instead.
        # One that holds most of the topic's weight ("Computing confidence intervals" for "the
        # ways lme4 offers to compute confidence intervals") is the topic's place.
        sections = []
    if sections:
        s = sections[0].section
        regions = [_region(ctx.env, s)]
        where = f"the section “{s.title}”" + (" where the document introduces its subject" if subject else "")
    else:
        regions = candidates[:3]
        where = f"the {len(regions)} best-matching passages"
    if not regions:
        return None
    # A point is a whole sentence: a definition list's item ("R-help The 'main' R mailing list,
    # for discussion about …; announcements …; and for posting nice examples…") is one point.
    ranked = sn.rank(ctx.env, regions, topic, idf, longest=POINT_CHARS)
    total = sum(idf.values()) or 1.0
    # The document's own list of the topic's points, in its order; else a point carries the
    # topic (or sits in its own section) and says something of its own.
    laid_out = _laid_out_points(ctx.env, ranked[:LEAD_INS])
    keep = laid_out or [r for r in ranked if len(r.text) >= 40 and (sections or r.score / total >= 0.3)]
    points, seen = [], set()
    for r in (keep if laid_out else sorted(keep, key=lambda r: -r.score)):
        key = frozenset(sn.content_words(r.text))
        if any(len(key & k) / max(1, len(key | k)) > 0.6 for k in seen) or \
                any(p.doc_id == r.doc_id and p.start < r.end and r.start < p.end for p in points):
            continue  # near-duplicate (the same sentence on a repeated page) or overlapping a point
        seen.add(key)
        points.append(r)
        if len(points) == (LAID_OUT_POINTS if laid_out else MAX_POINTS):
            break
    node = yield from ctx.step("filter", f"summary of a topic: {', '.join(sorted(topic))} — read {where}",
                               "\n".join(f"{r.score:5.2f}  {r.text[:110]}" for r in points) or "(no sentence carries the topic)",
                               parent=parent, data={"topic": sorted(topic), "where": where,
                                                    "regions": [x.to_dict() for x in regions]})
    if not points:
        yield from ctx.set_fate(node, "discarded", "no sentence of the topic's passages carries it: scanning instead")
        return None
    points.sort(key=lambda r: (r.doc_id, r.start))  # the document's own order reads as a summary
    cites, lines = [], []
    for n, r in enumerate(points, 1):
        raw = ctx.env.text(r.doc_id)[r.start:r.end]
        a = r.start + len(raw) - len(raw.lstrip())
        b = r.end - (len(raw) - len(raw.rstrip()))
        cites.append(Citation(n, node.id, r.doc_id, ctx.env.docs[r.doc_id].title, ctx.env.page_at(r.doc_id, a),
                              raw.strip(), a, b))
        lines.append(f"- {hygiene.quoted(r.text)} [{n}]")
    answer = "\n".join(lines)
    ctx.partial.answer, ctx.partial.citations = answer, cites
    answer = yield from maybe_compose(ctx, cites, answer)
    yield from ctx.set_fate(node, "cited", f"{len(points)} sentences quoted as the summary's points")
    yield from ctx.step("final", f"summary from {where}", answer, parent=node.id,
                        data={"citations": [c.to_dict() for c in cites]})
    yield AnswerDelta(answer)
    return answer, cites
