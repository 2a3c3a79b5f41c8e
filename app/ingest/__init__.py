"""Importing documents: discovery, extraction in worker processes, one writer.

    from app.ingest import import_paths
    for event in import_paths(["~/papers"], password=None, workers=None, cancel=token):
        ...  # ImportEvent(kind, path, files_done, files_total, pages_done, pages_total, ...)
"""

from app.ingest.discover import SUPPORTED, discover
from app.ingest.events import ImportEvent
from app.ingest.importer import import_paths

__all__ = ["import_paths", "ImportEvent", "discover", "SUPPORTED"]
