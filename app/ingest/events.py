"""What an import reports, one event at a time (CLI progress bar and GUI alike)."""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("start", "file-start", "page", "file-done", "file-skipped", "file-error", "cancelled", "done")


@dataclass
class ImportEvent:
    kind: str
    path: str = ""
    files_done: int = 0
    files_total: int = 0
    pages_done: int = 0
    pages_total: int = 0  # grows as files are opened and their page counts become known
    doc_id: int | None = None
    status: str | None = None  # document status for file-done / file-error
    error: str | None = None  # clear, per-file message for file-error (or a note on file-done)
    message: str = ""
    title: str = ""
    summary: dict = field(default_factory=dict)  # on 'done': imported, skipped, failed, pages, seconds

    def to_dict(self) -> dict:
        return dict(self.__dict__)
