"""Lectern: offline recursive language-model answers over a local document library."""

from app.meta import VERSION as __version__

__all__ = ["__version__"]
