"""Run traces: one row per run, one row per trace node (JSON plus key columns)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

INTERRUPTED_NOTE = "interrupted: the process running this question stopped before it finished"


def _alive(pid) -> bool:
    if not pid:
        return False  # runs from before owner_pid was recorded
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=_default)


def _default(o):
    # Dataclasses and other records the controller might pass through as-is.
    for attr in ("to_dict", "_asdict"):
        if hasattr(o, attr):
            return getattr(o, attr)()
    if hasattr(o, "__dict__"):
        return dict(o.__dict__)
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


_RUN_JSON = ("scope", "models", "settings", "totals", "citations")


class RunsMixin:
    """Mixed into Store; uses self.conn (sqlite3 connection, autocommit mode)."""

    def create_run(self, question: str, scope=None, mode: str = "", models=None, settings=None) -> int:
        with self._write():
            cur = self.conn.execute(
                "INSERT INTO runs (question, scope, mode, models, settings, status, started_at, owner_pid) "
                "VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
                [question, _dumps(list(scope or [])), mode or "", _dumps(models or {}),
                 _dumps(settings or {}), _now(), os.getpid()],
            )
            return cur.lastrowid

    def save_node(self, run_id: int, node: dict) -> None:
        """Insert or replace a trace node by node['id']; first-save order is kept."""
        if not isinstance(node, dict):
            node = _default(node)
        node_id = str(node["id"])
        slice_ = node.get("slice") or {}
        doc_id = slice_.get("doc_id") if isinstance(slice_, dict) else None
        row = [
            None if node.get("parent") is None else str(node.get("parent")),
            int(node.get("depth") or 0),
            str(node.get("kind") or ""),
            str(node.get("status") or ""),
            str(node.get("fate") or ""),
            doc_id,
            int(node.get("tokens_in") or 0),
            int(node.get("tokens_out") or 0),
            float(node.get("seconds") or 0.0),
            _dumps(node),
        ]
        with self._write():
            updated = self.conn.execute(
                "UPDATE run_nodes SET parent=?, depth=?, kind=?, status=?, fate=?, doc_id=?, "
                "tokens_in=?, tokens_out=?, seconds=?, data=? WHERE run_id=? AND node_id=?",
                row + [run_id, node_id],
            ).rowcount
            if not updated:
                self.conn.execute(
                    "INSERT INTO run_nodes (run_id, node_id, seq, parent, depth, kind, status, fate, "
                    "doc_id, tokens_in, tokens_out, seconds, data) VALUES (?, ?, "
                    "(SELECT COALESCE(MAX(seq), 0) + 1 FROM run_nodes WHERE run_id = ?), "
                    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, node_id, run_id] + row,
                )

    def finish_run(self, run_id: int, answer: str, status: str, totals: dict | None = None,
                   citations: list | None = None, note: str = "") -> None:
        # Every stored citation carries the printed page label of its page, whichever
        # strategy made it, so reports and the window print "page 990", not the PDF index.
        citations = [self._with_label(c) for c in citations or []]
        with self._write():
            self.conn.execute(
                "UPDATE runs SET answer=?, status=?, totals=?, citations=?, note=?, finished_at=? WHERE id=?",
                [answer or "", status, _dumps(totals or {}), _dumps(list(citations or [])),
                 note or "", _now(), run_id],
            )

    def _with_label(self, c):
        if not isinstance(c, dict) or c.get("page_label") or not hasattr(self, "page_label"):
            return c
        try:
            return {**c, "page_label": self.page_label(int(c["doc_id"]), int(c["page"]))}
        except (KeyError, TypeError, ValueError):
            return c

    def _run_row(self, row) -> dict:
        d = dict(row)
        for k in _RUN_JSON:
            try:
                d[k] = json.loads(d[k]) if d.get(k) else ([] if k in ("scope", "citations") else {})
            except ValueError:
                pass
        return d

    def mark_interrupted_runs(self) -> int:
        """Runs left 'running' by a process that no longer exists become 'interrupted'
        (their partial trace is kept). Returns how many were marked."""
        stale = [r[0] for r in self.conn.execute(
            "SELECT id, owner_pid FROM runs WHERE status = 'running'").fetchall() if not _alive(r[1])]
        if stale:
            with self._write():
                self.conn.executemany(
                    "UPDATE runs SET status = 'interrupted', note = ?, finished_at = ? "
                    "WHERE id = ? AND status = 'running'",
                    [(INTERRUPTED_NOTE, _now(), rid) for rid in stale],
                )
        return len(stale)

    def list_runs(self, limit: int = 100) -> list[dict]:
        """Newest first, without nodes; each has 'node_count'."""
        self.mark_interrupted_runs()
        rows = self.conn.execute(
            "SELECT runs.*, (SELECT COUNT(*) FROM run_nodes n WHERE n.run_id = runs.id) AS node_count "
            "FROM runs ORDER BY id DESC LIMIT ?",
            [int(limit)],
        ).fetchall()
        return [self._run_row(r) for r in rows]

    def get_run(self, run_id: int) -> dict | None:
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", [run_id]).fetchone()
        if row is None:
            return None
        d = self._run_row(row)
        nodes = self.conn.execute(
            "SELECT data FROM run_nodes WHERE run_id = ? ORDER BY seq", [run_id]
        ).fetchall()
        d["nodes"] = [json.loads(n[0]) for n in nodes]
        return d

    def delete_run(self, run_id: int) -> bool:
        with self._write():
            self.conn.execute("DELETE FROM run_nodes WHERE run_id = ?", [run_id])
            return self.conn.execute("DELETE FROM runs WHERE id = ?", [run_id]).rowcount > 0
