"""RULER's scores (eval/synthetic/constants.py), per sample, on a 0-100 scale."""

from __future__ import annotations


def string_match_all(pred: str, refs: list[str]) -> float:
    """NIAH: the share of the expected values that occur in the prediction."""
    p = pred.lower()
    return sum(1.0 if r.lower() in p else 0.0 for r in refs) / len(refs) * 100


def string_match_part(pred: str, refs: list[str]) -> float:
    """QA: 100 when any accepted answer occurs in the prediction."""
    p = pred.lower()
    return max(1.0 if r.lower() in p else 0.0 for r in refs) * 100


METRICS = {"all": string_match_all, "part": string_match_part}


def score(metric: str, pred: str | None, refs: list[str]) -> float:
    if not refs:
        raise ValueError("a sample needs at least one expected answer")
    return METRICS[metric](pred or "", refs)
