"""Budgets and the meter that enforces them.

The meter is checked before every model call and between steps; exceeding a limit
raises BudgetExceeded, which the controller turns into the best partial answer with
status 'budget' (never a traceback).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass


@dataclass
class Budget:
    max_calls: int = 48  # model calls, all depths together
    max_tokens: int = 200_000  # prompt + reply tokens, all calls together
    max_seconds: float = 600.0  # wall time of the whole run
    max_depth: int = 2  # levels of child controllers below the root (0 = none)
    max_iterations: int = 6  # REPL mode: root turns before an answer is forced
    # A limit may be math.inf ("no limit", see app.runconfig): every check below is a
    # plain comparison, which infinity never trips.

    def to_dict(self) -> dict:
        # JSON has no infinity: a limit that is not set is stored as None ("no limit").
        return {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in asdict(self).items()}


class BudgetExceeded(Exception):
    """A limit was hit; .reason says which, for the run's note."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Meter:
    def __init__(self, budget: Budget):
        self.budget = budget
        self.t0 = time.perf_counter()
        self.calls = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.cached_tokens = 0
        self.model_seconds = 0.0
        self.depth = 0

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    def remaining_seconds(self) -> float:
        return self.budget.max_seconds - self.elapsed

    def check(self, *, calls: int = 1) -> None:
        """Raise BudgetExceeded if `calls` more model calls would break a limit."""
        b = self.budget
        if self.calls + calls > b.max_calls:
            raise BudgetExceeded(f"call budget reached ({b.max_calls} model calls)")
        if self.tokens >= b.max_tokens:
            raise BudgetExceeded(f"token budget reached ({self.tokens} of {b.max_tokens} tokens)")
        if self.elapsed >= b.max_seconds:
            raise BudgetExceeded(f"time budget reached ({b.max_seconds:g} s)")

    def record(self, tokens_in: int, tokens_out: int, cached: int, seconds: float) -> None:
        self.calls += 1
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        self.cached_tokens += cached
        self.model_seconds += seconds

    def totals(self) -> dict:
        return {
            "calls": self.calls,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cached_tokens": self.cached_tokens,
            "seconds": round(self.elapsed, 3),
            "model_seconds": round(self.model_seconds, 3),
            "depth": self.depth,
        }
