"""Reading dropped files and folders from QMimeData."""

from __future__ import annotations

from PySide6.QtCore import QMimeData


def local_paths(mime: QMimeData | None) -> list[str]:
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


def split_models(paths: list[str]) -> tuple[list[str], list[str]]:
    """(gguf model files, everything else): a dropped .gguf is a model, not a document."""
    models = [p for p in paths if p.lower().endswith(".gguf")]
    return models, [p for p in paths if p not in models]


class DropMixin:
    """accept drags of local files; call self.on_paths_dropped(paths) on drop."""

    def dragEnterEvent(self, e):  # noqa: N802 (Qt naming)
        if local_paths(e.mimeData()):
            e.acceptProposedAction()
        else:
            super().dragEnterEvent(e)

    def dragMoveEvent(self, e):  # noqa: N802
        if local_paths(e.mimeData()):
            e.acceptProposedAction()
        else:
            super().dragMoveEvent(e)

    def dropEvent(self, e):  # noqa: N802
        paths = local_paths(e.mimeData())
        if paths:
            e.acceptProposedAction()
            self.on_paths_dropped(paths)
        else:
            super().dropEvent(e)
