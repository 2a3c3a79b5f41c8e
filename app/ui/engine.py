"""The window's only door into the engine.

Every method here runs on a worker thread (never the GUI thread) and opens its own
Store, because a sqlite connection belongs to the thread that made it. Panels never
import app.store, app.llm or app.rlm themselves: they ask the Engine through the
TaskManager and get plain Python values or engine events back as signals.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Callable, Iterator

from app.cancel import CancelToken

# provider(config: RunConfig) -> (root_model, sub_model_or_None)
ModelProvider = Callable[[object], tuple]


def default_model_provider(config) -> tuple:
    """The models the run configuration names (roles, endpoints, runtime options), the
    same way `lectern ask` loads them; the llm manager caches them per process."""
    from app.runconfig import load_models

    return load_models(config)


def default_embedder_provider(config):
    """The sentence-embedding model when the configuration asks for it (None otherwise)."""
    from app.runconfig import load_embedder

    return load_embedder(config)


@dataclasses.dataclass
class ModelsLoading:
    """Emitted by Engine.run before the model is loaded (the first load takes seconds)."""

    message: str


@dataclasses.dataclass
class ModelsReady:
    info: dict


class Engine:
    def __init__(self, store_path: str | Path | None = None, model_provider: ModelProvider | None = None,
                 embedder_provider: Callable[[object], object] | None = None):
        self.store_path = Path(store_path) if store_path else None
        self.model_provider = model_provider or default_model_provider
        # Scripted models come without the real embedding model unless a test asks for it.
        self.embedder_provider = embedder_provider or (default_embedder_provider if model_provider is None
                                                       else (lambda config: None))

    # --- store ----------------------------------------------------------------------
    @contextlib.contextmanager
    def store(self):
        from app.store import open_store

        s = open_store(self.store_path)
        try:
            yield s
        finally:
            close = getattr(s, "close", None)
            if close:
                close()

    # --- the library file: passphrase and health ------------------------------------------
    def library_path(self) -> Path:
        from app.paths import db_path

        return self.store_path or db_path()

    def needs_passphrase(self) -> bool:
        """True when the library is encrypted and the passphrase this process holds (none,
        or a wrong LECTERN_PASSPHRASE) does not open it. Reads 16 bytes; writes nothing."""
        from app.store import crypto

        path = self.library_path()
        if not crypto.is_encrypted(path):
            return False
        return not (crypto.passphrase() and _opens(path))

    def unlock(self, passphrase: str) -> bool:
        """Try a passphrase: kept in this process's memory when it opens the library, else
        forgotten (False). Only a read of the schema is done, so a wrong try changes nothing."""
        from app.store import crypto

        if not passphrase:
            return False
        previous = crypto.passphrase()
        crypto.set_passphrase(passphrase)
        if _opens(self.library_path()):
            return True
        crypto.set_passphrase(previous)
        return False

    def library_damage(self, _cancel=None, timeout: float = 120.0) -> str | None:
        """Why the library must not be written (SQLite's check failed, with how to rebuild
        it), or None. Waits for a background check of a big file."""
        from app.store import crypto
        from app.store.health import LibraryDamaged

        try:
            with self.store() as s:
                if s.wait_for_check(timeout) == "damaged":
                    return s.damage
                return None
        except LibraryDamaged as e:
            return str(e)
        except crypto.PassphraseError:
            raise
        except crypto.DatabaseError as e:
            from app.store import health

            if health.is_corruption(e):
                return health.damaged_message(self.library_path(), str(e))
            raise

    def rebuild_library(self, cancel: CancelToken | None = None) -> Iterator:
        """Move the damaged library aside and import its source files again (ImportEvents)."""
        from app.ingest.rebuild import rebuild

        yield from rebuild(self.store_path, cancel=cancel)

    def list_documents(self, _cancel=None) -> list:
        with self.store() as s:
            return list(s.list_documents())

    def remove_documents(self, doc_ids, _cancel=None) -> int:
        with self.store() as s:
            for d in doc_ids:
                s.remove_document(d)
        return len(doc_ids)

    def set_title(self, doc_id: int, title: str, _cancel=None) -> str:
        """The user's own title for a document (cleaned like any title); returns it as stored."""
        with self.store() as s:
            return s.set_title(doc_id, title)

    def stats(self, doc_ids=None, _cancel=None) -> dict:
        with self.store() as s:
            return dict(s.stats(doc_ids))

    def document(self, doc_id, _cancel=None):
        with self.store() as s:
            return s.get_document(doc_id)

    def slice_text(self, doc_id, char_start, char_end, page_start=None, page_end=None, _cancel=None) -> str:
        """The text of a slice, read page by page so a 2,000-page document is not joined."""
        with self.store() as s:
            if page_start:
                parts = []
                first = None
                for p in range(int(page_start), int(page_end or page_start) + 1):
                    page = s.get_page(doc_id, p)
                    if page is None:
                        continue
                    if first is None:
                        first = page.char_start
                    parts.append((page.char_start, page.text))
                if parts and char_start is not None and char_end is not None:
                    text = _join_pages(parts)
                    base = parts[0][0]
                    lo = max(0, int(char_start) - base)
                    hi = max(lo, int(char_end) - base)
                    if lo < len(text):
                        return text[lo:hi]
                if parts:
                    return _join_pages(parts)
            if char_start is not None and char_end is not None:
                return s.document_text(doc_id)[int(char_start):int(char_end)]
            return ""

    def quote_occurrence(self, doc_id, page_no, quote: str, char_start, _cancel=None) -> int:
        """Which occurrence (0-based) of quote on its page the citation's char offset is."""
        with self.store() as s:
            page = s.get_page(doc_id, int(page_no))
            if page is None or not quote or char_start is None:
                return 0
            before = page.text[: max(0, int(char_start) - page.char_start)]
            return " ".join(before.split()).count(" ".join(quote.split()))

    def page_texts(self, doc_id, pages, _cancel=None) -> dict:
        with self.store() as s:
            out = {}
            for p in pages:
                page = s.get_page(doc_id, p)
                if page is not None:
                    out[p] = page
            return out

    # --- import ---------------------------------------------------------------------
    def import_paths(self, paths, password: str | None = None, cancel: CancelToken | None = None) -> Iterator:
        from app.ingest import import_paths

        yield from import_paths([str(p) for p in paths], store_path=self.store_path, password=password, cancel=cancel)

    # --- runs -----------------------------------------------------------------------
    def run(self, question: str, doc_ids, config, cancel: CancelToken | None = None,
            rewritten_from: dict | None = None) -> Iterator:
        """One question with a RunConfig (app/runconfig.py). rewritten_from, for a
        follow-up in a conversation: {"question": what the user typed, "thread": [...]};
        the rewrite is shown as a node of the trace."""
        from app.rlm import Controller
        from app.runconfig import meaning_unavailable

        budget = config.budget()  # "no limit" is infinity here, never a silent default
        yield ModelsLoading("Loading the model…")
        root, sub = self.model_provider(config)
        embedder = self.embedder_provider(config)
        info = {"root": _info(root)}
        if sub is not None:
            info["sub"] = _info(sub)
        yield ModelsReady(info)
        if cancel is not None:
            cancel.raise_if_cancelled()
        with self.store() as s:
            controller = Controller(s, root, sub, options=dict(config.options or {}), embedder=embedder,
                                    meaning_unavailable=meaning_unavailable(config, embedder))
            started = False
            for ev in controller.run(question, doc_ids=doc_ids, mode=config.mode, budget=budget, cancel=cancel):
                node = getattr(ev, "node", None)
                if node is not None:
                    # Live nodes keep changing on this thread: hand the GUI a snapshot.
                    ev = type(ev)(as_dict(node))
                yield ev
                if not started and type(ev).__name__ == "RunStarted":
                    started = True
                    if rewritten_from:
                        yield from self._rewrite_node(s, getattr(ev, "run_id", None), question, rewritten_from)

    @staticmethod
    def _rewrite_node(store, run_id, question: str, rewritten_from: dict):
        """A trace node that records how a follow-up became a standalone question."""
        from app.rlm.events import NodeAdded
        from app.rlm.trace import TraceNode

        node = TraceNode(id="rewrite", kind="plan", label="follow-up rewritten as a standalone question",
                         template="conversation", prompt=str(rewritten_from.get("question") or ""),
                         output=question, status="done",
                         data={"asked": rewritten_from.get("question"), "standalone": question,
                               "thread": list(rewritten_from.get("thread") or [])})
        if run_id is not None:
            try:
                store.save_node(run_id, node.to_dict())
            except Exception:
                pass  # the trace in the window still shows it
        yield NodeAdded(as_dict(node))

    def load_runtime(self, config, _cancel=None) -> dict:
        """Load the configured models (the first load runs the self-check) and return
        what runs: {"root": info(), "sub": info()} — variant, GPU layers, tokens/s."""
        root, sub = self.model_provider(config)
        info = {"root": _info(root)}
        if sub is not None:
            info["sub"] = _info(sub)
        return info

    # --- the trace ---------------------------------------------------------------------
    @staticmethod
    def derive_fates(nodes, citations=(), answer: str = "") -> list[dict]:
        """Node fates as the run's data says (app.rlm.trace.derive_fates); cheap, no I/O,
        so the window calls it on the GUI thread when a run ends or is reopened."""
        from app.rlm.trace import derive_fates

        return derive_fates(nodes, citations, answer)

    @staticmethod
    def standalone_question(question: str, thread: list[dict]) -> str:
        """A follow-up rewritten with the conversation (app.conversation)."""
        from app.conversation import standalone

        return standalone(question, thread)

    @staticmethod
    def run_json(run: dict) -> str:
        from app.rlm.trace import run_to_json

        return run_to_json(run)

    # --- sources and reports -----------------------------------------------------------
    def describe_sources(self, citations, paths: dict | None = None, _cancel=None) -> list[dict]:
        """Citations with what a reader needs to find them: the file name and the page's
        printed label where the document has one (page 990 rather than PDF page 1006)."""
        out = []
        with self.store() as s:
            for c in citations:
                c = as_dict(c)
                doc_id, page = c.get("doc_id"), int(c.get("page") or 0)
                path = (paths or {}).get(doc_id)
                if not path:
                    d = s.get_document(doc_id) if doc_id is not None else None
                    path = getattr(d, "path", "") if d is not None else ""
                c["file"] = Path(str(path)).name if path else ""
                c["page_label"] = c.get("page_label") or _page_label(s, doc_id, page, path)
                out.append(c)
        return out

    def export_report(self, turns: list[dict], path: str, fmt: str, _cancel=None) -> str:
        """A clean report of a conversation: each question, its answer and numbered
        sources with their quoted passages. Markdown, or PDF rendered by pymupdf."""
        from app.report import report_markdown, write_pdf

        md = report_markdown(turns)
        if fmt == "pdf":
            write_pdf(turns, path)
        else:
            Path(path).write_text(md, encoding="utf-8")
        return str(path)

    # --- models -----------------------------------------------------------------------
    def add_model(self, path, _cancel=None):
        """Put a GGUF file in the model library (linked where possible: models are big)."""
        from app.llm.manager import add_model

        try:
            return add_model(path, link=True)
        except OSError:
            return add_model(path, link=False)

    def list_runs(self, limit: int = 200, _cancel=None) -> list:
        with self.store() as s:
            return list(s.list_runs(limit=limit))

    def get_run(self, run_id, _cancel=None) -> dict:
        with self.store() as s:
            return s.get_run(run_id)

    def delete_run(self, run_id, _cancel=None) -> None:
        with self.store() as s:
            s.delete_run(run_id)


def _opens(path) -> bool:
    from app.store import crypto

    try:
        conn = crypto.connect(f"file:{path}?mode=ro", uri=True, encrypted=True)
    except crypto.DatabaseError:
        return False
    conn.close()
    return True


def _info(model) -> dict:
    try:
        return dict(model.info())
    except Exception:
        return {"name": getattr(model, "name", "model")}


def _page_label(store, doc_id, page: int, path) -> str:
    """The printed page label: from the store where it keeps them (document structure at
    import), else from the PDF's own page labels; "" when the document has none."""
    for name in ("page_label", "get_page_label"):
        fn = getattr(store, name, None)
        if callable(fn):
            try:
                label = fn(doc_id, page)
                return str(label or "")
            except Exception:
                break
    if not path or not str(path).lower().endswith(".pdf") or page < 1:
        return ""
    try:
        import pymupdf

        with pymupdf.open(str(path)) as doc:
            if doc.needs_pass or page > doc.page_count:
                return ""
            return str(doc[page - 1].get_label() or "")
    except Exception:
        return ""


def _join_pages(parts) -> str:
    # Pages in the store are contiguous: page k+1 starts where page k's gap ends.
    out = []
    pos = parts[0][0]
    for start, text in parts:
        if start > pos:
            out.append("\n" * (start - pos))
        out.append(text)
        pos = start + len(text)
    return "".join(out)


def as_dict(obj) -> dict:
    """Trace nodes, citations and results arrive as dataclasses (live) or dicts (history)."""
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return dict(obj)
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    return dict(vars(obj))
