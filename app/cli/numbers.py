"""Whole-number options checked at parsing: any text a person types gives a clear error,
never a traceback (an id past SQLite's 64-bit range raised OverflowError deep in a query).
"""

from __future__ import annotations

import argparse

# SQLite stores integers in 64 bits: no row id or LIMIT can be larger.
ID_MAX = (1 << 63) - 1
COUNT_MAX = 1_000_000_000


def whole(lo: int, hi: int, what: str = "a whole number"):
    """argparse type: an int in [lo, hi]."""

    def parse(text: str) -> int:
        try:
            value = int(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"expected {what} from {lo:,} to {hi:,}, got {text}")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


doc_id = whole(1, ID_MAX, "a document id")
run_id = whole(1, ID_MAX, "a run id")


def ids(text: str, option: str = "--docs") -> list[int]:
    """'1,4, 7' -> [1, 4, 7]; ValueError with a readable message otherwise."""
    out = []
    for part in text.replace(" ", ",").split(","):
        if not part:
            continue
        try:
            value = int(part)
        except ValueError:
            raise ValueError(f"{option} takes document ids separated by commas, like 1,4,7 (got {text!r})") from None
        if not 1 <= value <= ID_MAX:
            raise ValueError(f"{option}: {part} is not a document id (ids run from 1 to {ID_MAX:,})")
        out.append(value)
    return out
