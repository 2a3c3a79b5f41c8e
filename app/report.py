"""A clean report of answers for someone who was not at the screen: each question, its
answer and its numbered sources (document, file, printed page, the quoted passage).
No prompts, no trace: `lectern runs export` writes those.

turns: [{"question": what was asked, "standalone": the question that ran (when a
follow-up was rewritten), "answer": text with [n] marks, "citations": [citation dicts,
optionally with "file" and "page_label"]}]
"""

from __future__ import annotations

import html
import re
import time


def pages_text(c: dict) -> str:
    """'page 990 (PDF page 1006)' where the printed number differs, else 'page 12';
    'pages 12–13' for a quote that runs over a page break (page_end)."""
    label, page = str(c.get("page_label") or ""), c.get("page", "")
    end = c.get("page_end") or 0
    more = f"–{end}" if isinstance(page, int) and isinstance(end, int) and end > page else ""
    s = "s" if more else ""
    return f"page {label} (PDF page{s} {page}{more})" if label and label != str(page) else f"page{s} {page}{more}"


def _where(c: dict) -> str:
    title = str(c.get("title") or f"document {c.get('doc_id')}")
    file = str(c.get("file") or "")
    return title + (f" ({file})" if file and file != title else "") + f", {pages_text(c)}"


def _quote(c: dict) -> str:
    return " ".join(str(c.get("quote") or "").split())


def report_markdown(turns: list[dict], title: str = "Lectern answers") -> str:
    lines = [f"# {title}", "", f"_{time.strftime('%Y-%m-%d %H:%M')}_", ""]
    for i, t in enumerate(turns, 1):
        q = str(t.get("question") or "").strip()
        lines += [f"## {i}. {q}" if len(turns) > 1 else f"## {q}", ""]
        sq = str(t.get("standalone") or "").strip()
        if sq and sq != q:
            lines += [f"_Asked as: {sq}_", ""]
        lines += [str(t.get("answer") or "(no answer)").strip(), ""]
        cites = t.get("citations") or []
        if cites:
            lines += ["**Sources**", ""]
            for c in cites:
                lines.append(f"{c.get('n')}. {_where(c)}")
                lines.append(f"   > {_quote(c)}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def report_html(turns: list[dict], title: str = "Lectern answers") -> str:
    esc = html.escape
    parts = [f"<h1>{esc(title)}</h1><p style='color:#666'>{time.strftime('%Y-%m-%d %H:%M')}</p>"]
    for i, t in enumerate(turns, 1):
        q = str(t.get("question") or "").strip()
        parts.append(f"<h2>{f'{i}. ' if len(turns) > 1 else ''}{esc(q)}</h2>")
        sq = str(t.get("standalone") or "").strip()
        if sq and sq != q:
            parts.append(f"<p><i>Asked as: {esc(sq)}</i></p>")
        answer = esc(str(t.get("answer") or "(no answer)").strip())
        answer = re.sub(r"\[(\d+(?:\s*,\s*\d+)*)\]", r"<sup>[\1]</sup>", answer).replace("\n", "<br>")
        parts.append(f"<p>{answer}</p>")
        cites = t.get("citations") or []
        if cites:
            parts.append("<h3>Sources</h3>")
            for c in cites:
                parts.append(f"<p><b>[{c.get('n')}]</b> {esc(_where(c))}<br>"
                             f"<i>“{esc(_quote(c))}”</i></p>")
    return "".join(parts)


def write_pdf(turns: list[dict], path: str, title: str = "Lectern answers") -> str:
    """The report as an A4 PDF laid out by pymupdf's Story (HTML to pages)."""
    import pymupdf

    css = ("body {font-family: sans-serif; font-size: 11pt;} h1 {font-size: 18pt;} h2 {font-size: 14pt;} "
           "h3 {font-size: 12pt;} p {margin-bottom: 6pt;}")
    story = pymupdf.Story(html=report_html(turns, title), user_css=css)
    page = pymupdf.paper_rect("a4")
    where = page + (56, 56, -56, -56)
    writer = pymupdf.DocumentWriter(str(path))
    more = True
    while more:
        dev = writer.begin_page(page)
        more, _ = story.place(where)
        story.draw(dev)
        writer.end_page()
    writer.close()
    return str(path)
