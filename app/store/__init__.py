"""The library store: SQLite (WAL) through sqlite-utils; the only code that writes SQL.

    from app.store import open_store
    store = open_store()            # app.paths.db_path(), migrated
    store.search('"exact phrase" OR prefix*', doc_ids=[1], limit=5)
"""

from app.store.models import PAGE_SEPARATOR, Chunk, Document, Hit, OutlineEntry, Page, Section, TableData
from app.store.search import SearchSyntaxError
from app.store.store import DocumentWriter, Store, open_store

__all__ = [
    "open_store", "Store", "DocumentWriter", "Document", "Page", "Chunk", "Hit",
    "SearchSyntaxError", "PAGE_SEPARATOR", "OutlineEntry", "Section", "TableData",
]
