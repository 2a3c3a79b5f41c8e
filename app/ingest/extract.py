"""Text extraction, page by page, into a spool file (runs in worker processes).

A worker never touches the database: it writes each page's text to a spool file as
it goes (memory stays flat whatever the page count), reports progress every few
pages, stops between pages when cancelled, and returns a small summary. The single
writer then streams the spool into SQLite in one transaction.
"""

from __future__ import annotations

import codecs
import math
import re
import struct
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from app.ingest import ocr, structure
from app.ingest.discover import TEXT_FORMATS, format_of

PROGRESS_EVERY = 8  # pages between progress reports

# MuPDF keeps about 100 bytes per character while it extracts a page, so a page whose
# content stream holds 50 MB of text took 5 GB (issue 13). Content beyond this many
# decompressed bytes is cut off before extraction: a dense real page holds well under
# 1 MB, and 4 MB of text operators extract in about 400 MB.
MAX_PAGE_CONTENT_BYTES = 4 << 20
# A page whose content stream inflates past this is not read at all (a compression bomb).
MAX_PAGE_INFLATE_BYTES = 256 << 20
# Text kept per page, whatever produced it (forms drawn many times, OCR).
MAX_PAGE_CHARS = 4_000_000
# Extraction of one file (one range of it) stops between pages after this long; the
# pages read so far are kept and the document says so.
FILE_TIME_LIMIT_S = 600.0

_LEN = struct.Struct("<I")


class ExtractError(Exception):
    """A per-file failure with a message fit to show as is."""

    def __init__(self, message: str, status: str = "error"):
        super().__init__(message)
        self.status = status


class ExtractCancelled(Exception):
    pass


# --- spool: length-prefixed UTF-8 pages ---------------------------------------------
def write_page(f, text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    f.write(_LEN.pack(len(data)))
    f.write(data)


def read_pages(path):
    with open(path, "rb") as f:
        while head := f.read(4):
            (n,) = _LEN.unpack(head)
            yield f.read(n).decode("utf-8", "surrogatepass")


def clean(text: str) -> str:
    # NUL and other C0 controls (except tab/newline) break FTS and display.
    return _CONTROL.sub("", text)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f]")


# --- probing (cheap, in the writer process) -----------------------------------------
@dataclass
class Probe:
    format: str
    page_count: int = 0
    title: str = ""  # from metadata or the table of contents; may be empty
    status: str = "ready"  # or needs-password / error
    error: str | None = None
    splittable: bool = False  # page ranges can be extracted in parallel
    notes: list[str] = field(default_factory=list)


# Metadata placeholders and front-matter headings: "Preface" names a section, not the document.
_JUNK_TITLES = re.compile(r"^(untitled|microsoft word - .*|\s*|document\d*|title|preface|foreword|contents"
                          r"|table of contents|introduction|abstract|acknowledge?ments?|copyright|about this .*)$", re.I)


def _meta_title(doc) -> str:
    t = ((doc.metadata or {}).get("title") or "").strip()
    if t and not _JUNK_TITLES.match(t) and len(t) < 300:
        return t
    try:
        # Only an outline entry that names the whole document: not its first chapter.
        return structure.outline_title(doc.get_toc(simple=True))
    except Exception:
        return ""


def _open_error(path: Path, fmt: str | None, exc: Exception) -> ExtractError:
    if isinstance(exc, FileNotFoundError) or not path.exists():
        return ExtractError("The file disappeared during import.")
    if isinstance(exc, PermissionError):
        return ExtractError("Permission denied: Lectern cannot read this file.")
    if fmt == "pdf":
        try:
            with open(path, "rb") as f:
                head = f.read(1024)
        except OSError as e:
            return ExtractError(f"Cannot read the file: {e.strerror or e}.")
        if b"%PDF-" not in head:
            kind = _sniff(head)
            return ExtractError(f"Not a PDF: the file does not start like one{kind}.")
        return ExtractError("The PDF is damaged or truncated and cannot be opened.")
    return ExtractError(f"Cannot open this {fmt or 'file'}: {exc}")


def _sniff(head: bytes) -> str:
    for magic, what in ((b"PK\x03\x04", "a ZIP archive"), (b"\x89PNG", "a PNG image"),
                        (b"\xff\xd8\xff", "a JPEG image"), (b"<", "HTML or XML"),
                        (b"{\\rtf", "an RTF document"), (b"\xd0\xcf\x11\xe0", "an old Office document")):
        if head.lstrip().startswith(magic) if magic == b"<" else head.startswith(magic):
            return f" (it looks like {what})"
    return ""


def open_document(path: Path, fmt: str, password: str | None):
    import pymupdf

    # find_tables otherwise prints an advertisement for another package on stdout, into the
    # user's terminal and the CLI's JSON output.
    getattr(pymupdf, "no_recommend_layout", lambda: None)()
    doc = pymupdf.open(str(path), filetype=fmt if fmt in ("html",) else None)
    if doc.needs_pass:
        if not password:
            doc.close()
            raise ExtractError(
                "Password-protected: import it again with the password (lectern import --password ...).",
                status="needs-password",
            )
        if not doc.authenticate(password):
            doc.close()
            raise ExtractError("Password-protected, and the password given does not open it.",
                               status="needs-password")
    return doc


def probe(path: Path, password: str | None = None) -> Probe:
    """Open the file once to learn its format, page count, title and whether it can be read."""
    fmt = format_of(path)
    if fmt is None:
        return Probe(format="", status="error",
                     error=f"Unsupported file type '{path.suffix or '(none)'}'. Lectern reads PDF, EPUB, XPS, "
                     "FB2, CBZ, HTML, TXT and Markdown.")
    if fmt in TEXT_FORMATS.values():
        # Sections are cut while reading; estimate their number for the progress bar.
        return Probe(format=fmt, page_count=max(1, math.ceil(path.stat().st_size / SECTION_CHARS)))
    try:
        doc = open_document(path, fmt, password)
    except ExtractError as e:
        return Probe(format=fmt, status=e.status, error=str(e))
    except Exception as e:  # pymupdf raises several types for unreadable files
        return Probe(format=fmt, status="error", error=str(_open_error(path, fmt, e)))
    try:
        n = doc.page_count
        if n == 0:
            return Probe(format=fmt, status="error", error=f"The {fmt.upper()} has no pages.")
        p = Probe(format=fmt, page_count=n, title=_meta_title(doc), splittable=(fmt == "pdf"))
        if getattr(doc, "is_repaired", False):
            p.notes.append("The file was damaged; Lectern repaired what it could.")
        return p
    finally:
        doc.close()


# --- extraction -----------------------------------------------------------------------
@dataclass
class RangeResult:
    spool: str
    start: int
    end: int
    pages: int = 0
    chars: int = 0
    first_line: str = ""  # first non-empty line of the document (only for start == 0)
    blank_pages: int = 0  # pages with no text even after OCR
    ocr_pages: int = 0
    scanned_pages: int = 0  # pages with images but no text layer
    bad_pages: list[int] = field(default_factory=list)
    title: str = ""  # from metadata (whole-document extraction) or a text file's heading
    page_count: int = 0  # set when the whole document was probed here
    notes: list[str] = field(default_factory=list)
    structure: structure.RangeStructure | None = None  # outline, labels, headings, tables (pymupdf formats)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        s = line.strip().lstrip("#").strip()
        if len(s) >= 3:
            return s[:200]
    return ""


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB" if n >= (1 << 20) else f"{n // 1024} KB"


def _stream_size(doc, xref: int, stop: int) -> int:
    """Decompressed size of a stream, counted without holding it (stops past `stop`)."""
    filt = doc.xref_get_key(xref, "Filter")
    if filt[1] == "/FlateDecode":
        d = zlib.decompressobj()
        data = doc.xref_stream_raw(xref)
        n = 0
        while data and n <= stop:
            n += len(d.decompress(data, 1 << 20))
            data = d.unconsumed_tail
        return n
    return len(doc.xref_stream(xref) or b"")


def _stream_prefix(doc, xref: int, n: int) -> bytes:
    if doc.xref_get_key(xref, "Filter")[1] == "/FlateDecode":
        return zlib.decompressobj().decompress(doc.xref_stream_raw(xref), n)
    return (doc.xref_stream(xref) or b"")[:n]


def _bound_page(doc, page, i: int, notes: list[str]) -> bool:
    """Cut a page's content stream to MAX_PAGE_CONTENT_BYTES before extraction.

    Returns False when the page must be skipped (its content inflates past
    MAX_PAGE_INFLATE_BYTES). The change lives only in this worker's open copy.
    """
    try:
        xrefs = page.get_contents()
    except Exception:
        return True
    sizes = []
    for x in xrefs:
        sizes.append(_stream_size(doc, x, MAX_PAGE_INFLATE_BYTES))
        if sum(sizes) > MAX_PAGE_INFLATE_BYTES:
            notes.append(f"Page {i + 1} holds more than {_mb(MAX_PAGE_INFLATE_BYTES)} of page content "
                         "(a compression bomb?): skipped.")
            return False
    total = sum(sizes)
    if total <= MAX_PAGE_CONTENT_BYTES:
        return _forms_fit(doc, page, lambda: b"".join(_stream_prefix(doc, x, MAX_PAGE_CONTENT_BYTES) for x in xrefs),
                          total, i, notes)
    kept = b""
    for x in xrefs:
        if len(kept) >= MAX_PAGE_CONTENT_BYTES:
            break
        kept += _stream_prefix(doc, x, MAX_PAGE_CONTENT_BYTES - len(kept))
    # End at the last complete text object so the cut content still parses.
    end = kept.rfind(b"ET")
    kept = kept[: end + 2] if end > 0 else kept[: kept.rfind(b"\n") + 1]
    doc.update_stream(xrefs[0], kept + b"\n")
    for x in xrefs[1:]:
        doc.update_stream(x, b" ")
    notes.append(f"Page {i + 1} holds {_mb(total)} of page content: imported the text of its first "
                 f"{_mb(len(kept))}.")
    return _forms_fit(doc, page, lambda: kept, len(kept), i, notes)


_TEXT_OPERATORS = re.compile(rb"\bT[jJ]\b|'|\"")


def _forms_fit(doc, page, read_content, size: int, i: int, notes: list[str]) -> bool:
    """A small content stream can draw a form full of text many times over (1 MB drawn
    100 times is 100 MB of characters for MuPDF). Count what the page's own forms add;
    forms of pure drawing cost MuPDF no per-character memory and are not counted.
    Forms nested in forms are left to the worker's memory limit."""
    try:
        forms = page.get_xobjects()
    except Exception:
        return True
    if not forms:
        return True  # most pages: nothing more to read
    content = read_content()
    drawn = 0
    for xref, name, invoker, _bbox in forms:
        if invoker != 0 or not name:
            continue
        uses = len(re.findall(rb"/" + re.escape(name.encode("latin-1", "replace")) + rb"\s*Do\b", content))
        if not uses:
            continue
        body = _stream_size(doc, xref, MAX_PAGE_INFLATE_BYTES)
        if _TEXT_OPERATORS.search(_stream_prefix(doc, xref, MAX_PAGE_CONTENT_BYTES)):
            drawn += uses * body
    if size + drawn <= MAX_PAGE_CONTENT_BYTES:
        return True
    notes.append(f"Page {i + 1} draws {_mb(size + drawn)} of text through forms it repeats (Lectern reads at most "
                 f"{_mb(MAX_PAGE_CONTENT_BYTES)} a page): skipped.")
    return False


def _cap_text(text: str, i: int, notes: list[str]) -> str:
    if len(text) <= MAX_PAGE_CHARS:
        return text
    notes.append(f"Page {i + 1} holds {len(text):,} characters of text: imported the first {MAX_PAGE_CHARS:,}.")
    return text[:MAX_PAGE_CHARS]


def _time_note(what: str, done: int, total: int | None) -> str:
    of = f" of {total}" if total else ""
    return (f"Stopped after {FILE_TIME_LIMIT_S:.0f} s (the time limit for one file): imported the first "
            f"{done}{of} {what}.")


def extract_range(path: str, fmt: str, password: str | None, start: int, end: int | None, spool: str,
                  should_cancel=lambda: False, on_progress=lambda n: None, expect_stat=None,
                  on_total=lambda n: None) -> RangeResult:
    """Pages [start, end) of a pymupdf document (or all of a text file) into `spool`.

    end=None means the whole document, probed here (page count, title, zero pages) so
    the file is opened once only; on_total(page_count) reports its size early.
    """
    p = Path(path)
    deadline = time.monotonic() + FILE_TIME_LIMIT_S
    _still_regular(p)
    if fmt in TEXT_FORMATS.values():
        return _extract_text_file(p, fmt, spool, should_cancel, on_progress, expect_stat, deadline)
    try:
        doc = open_document(p, fmt, password)
    except ExtractError:
        raise
    except Exception as e:
        raise _open_error(p, fmt, e) from None
    res = RangeResult(spool=spool, start=start, end=end or 0)
    if end is None:
        try:
            n = doc.page_count
            if n == 0:
                raise ExtractError(f"The {fmt.upper()} has no pages.")
            res.end = end = n
            res.page_count = n
            res.title = _meta_title(doc)
            if getattr(doc, "is_repaired", False):
                res.notes.append("The file was damaged; Lectern repaired what it could.")
        except BaseException:
            doc.close()
            raise
        on_total(n)
    use_ocr = ocr.available()
    pending = 0
    read = _plain_text
    try:
        reader = structure.PageReader(doc, start)
        read = reader.text
    except Exception:  # structure is a bonus: the text is read the plain way
        reader = None
    try:
        with open(spool, "wb") as out:
            for i in range(start, min(end, doc.page_count)):
                if should_cancel():
                    raise ExtractCancelled()
                if time.monotonic() > deadline and res.pages:
                    res.notes.append(_time_note("pages", res.pages, min(end, doc.page_count) - start))
                    break
                try:
                    page = doc.load_page(i)
                    text = read(page) if _bound_page(doc, page, i, res.notes) else ""
                    if not text.strip() and page.get_images(full=False):
                        res.scanned_pages += 1
                        if use_ocr:
                            text = ocr_page_text_safe(page)
                            if text.strip():
                                res.ocr_pages += 1
                except ExtractCancelled:
                    raise
                except Exception:
                    # One broken page must not lose the rest of the document.
                    text = ""
                    res.bad_pages.append(i + 1)
                text = _cap_text(clean(text), i, res.notes)
                if not text.strip():
                    res.blank_pages += 1
                if i == 0:
                    res.first_line = _first_line(text)
                write_page(out, text)
                res.pages += 1
                res.chars += len(text)
                pending += 1
                if pending >= PROGRESS_EVERY:
                    on_progress(pending)
                    pending = 0
    finally:
        doc.close()
    if pending:
        on_progress(pending)
    _check_unchanged(p, expect_stat)
    if reader is not None:
        res.structure = reader.out
    return res


def _plain_text(page) -> str:
    return page.get_text(flags=structure.text_flags())


def _still_regular(p: Path) -> None:
    """The file was a regular one when the import looked at it; a pipe or device put in
    its place since would block open() for ever, so look without blocking first."""
    import os
    import stat

    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ExtractError("The file disappeared during import.") from None
    except OSError as e:
        raise ExtractError(f"Cannot read the file: {e.strerror or e}.") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ExtractError("The file was replaced by something that is not a regular file (a pipe or a "
                               "device) during import; it was not read.")
    finally:
        os.close(fd)


def ocr_page_text_safe(page) -> str:
    try:
        return ocr.ocr_page_text(page)
    except Exception:
        return ""


def _check_unchanged(p: Path, expect_stat) -> None:
    if expect_stat is None:
        return
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ExtractError("The file disappeared during import.") from None
    except OSError as e:
        raise ExtractError(f"The file became unreadable during import: {e.strerror or e}.") from None
    if (st.st_size, st.st_mtime) != tuple(expect_stat):
        raise ExtractError("The file changed while it was being imported; import it again.")


SECTION_CHARS = 4000  # a text file's "page": about a printed page, cut at a blank line


def _extract_text_file(p: Path, fmt: str, spool: str, should_cancel, on_progress, expect_stat,
                       deadline: float = math.inf) -> RangeResult:
    res = RangeResult(spool=spool, start=0, end=0)
    try:
        binary = _binary_kind(p)
        if binary:
            raise ExtractError(f"This is not a text file: {binary}. Lectern does not import it as text.")
        encoding = _detect_encoding(p)
        f = open(p, "r", encoding=encoding, errors="replace", newline=None)
    except FileNotFoundError:
        raise ExtractError("The file disappeared during import.") from None
    except PermissionError:
        raise ExtractError("Permission denied: Lectern cannot read this file.") from None
    except OSError as e:
        raise ExtractError(f"Cannot read the file: {e.strerror or e}.") from None

    with f, open(spool, "wb") as out:
        section: list[str] = []
        size = 0

        def flush():
            nonlocal section, size
            text = clean("".join(section)).strip("\n")
            section, size = [], 0
            if not text.strip():
                return
            if res.pages == 0:
                res.first_line = _first_line(text)
            write_page(out, text)
            res.pages += 1
            res.chars += len(text)
            on_progress(1)

        for line in f:
            if should_cancel():
                raise ExtractCancelled()
            if time.monotonic() > deadline and res.pages:
                res.notes.append(_time_note("sections", res.pages, None))
                section = []
                break
            if fmt == "md" and not res.title and line.startswith("# "):
                res.title = line[2:].strip()[:200]
            # A Markdown heading starts a new section; so does a form feed, or a blank
            # line once the section is about a page long.
            if section and ((fmt == "md" and line.startswith("#") and size > 200)
                            or "\f" in line or (not line.strip() and size >= SECTION_CHARS)):
                flush()
            if size > SECTION_CHARS * 2:  # no blank lines at all: cut anyway
                flush()
            section.append(line.replace("\f", ""))
            size += len(line)
        flush()
    if fmt == "txt" and res.first_line and len(res.first_line) <= 100:
        res.title = res.first_line
    _check_unchanged(p, expect_stat)
    return res


_TEXT_CONTROLS = set(b"\t\n\r\f\x1b")


def _binary_kind(p: Path) -> str:
    """Why a file named .txt/.md is not text ('' when it is): NUL bytes or many control
    bytes in its first 64 KB. UTF-16 text has NULs too but carries a byte-order mark."""
    with open(p, "rb") as f:
        head = f.read(1 << 16)
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return ""
    kind = _sniff(head).strip(" ()")
    if kind and not kind.endswith("HTML or XML"):
        return kind.replace("it looks like", "it is")
    if b"\0" in head:
        return "it holds NUL bytes, like a program or a binary data file"
    controls = sum(1 for b in head if b < 32 and b not in _TEXT_CONTROLS)
    if head and controls > len(head) // 20:
        return f"{controls * 100 // len(head)}% of its first bytes are control characters"
    return ""


def _detect_encoding(p: Path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as such, else cp1252."""
    dec = codecs.getincrementaldecoder("utf-8")()
    with open(p, "rb") as f:
        head = f.read(3)
        if head == codecs.BOM_UTF8:
            return "utf-8-sig"
        try:
            dec.decode(head)
            while block := f.read(1 << 20):
                dec.decode(block)
            dec.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            return "cp1252"
