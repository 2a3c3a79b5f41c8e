"""Meaning as well as words: how close a passage is to the question, read by the
sentence-embedding model (app.llm.embedding_model) when one is loaded.

Ranking by the question's rare words misses a passage that answers in other words
("R was initially written by…" for "Who originally wrote R?") and cannot order
sentences that share the same words but say different things. The cosine between the
question's embedding and a sentence's is a second signal beside the words. It never
stands alone: a sentence is still found by search, must still share some of the
question's words to be ranked, and the answer gate still reads its words.

Without the model (not installed, failed to load, crashed) every score is None and
retrieval reads words only; the run's notes say so.
"""

from __future__ import annotations

import logging
import math
import time

from app.llm.base import LLMError

log = logging.getLogger(__name__)

BATCH = 32  # sentences per embed request: a request is one round trip to the model host
# For the best sentences by words (POOL), the cosine with the question adds WEIGHT times
# itself, as a share of the question's whole weight; a sentence holding fewer of the
# question's words than a ranking asks (down to KEEP_COVERAGE) is kept when it means nearly
# what the question asks (cosine >= KEEP). Measured on the dev split and the first holdout.
POOL = 40
WEIGHT = 0.5
KEEP = 0.6
KEEP_COVERAGE = 0.15


class Meaning:
    def __init__(self, model, question: str):
        self.model = model
        self.question = question
        self._question_vec: list[float] | None = None
        self._cache: dict[str, float] = {}
        self.failed = ""  # why the model could not be used, once it could not
        self.embedded = 0  # texts embedded in this run, and the time it took (shown in the trace)
        self.seconds = 0.0

    @property
    def name(self) -> str:
        return getattr(self.model, "name", "embedding model")

    def similarity(self, texts: list[str], cancel=None) -> list[float | None]:
        """Cosine of each text with the question (None for all when the model is unusable)."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo and not self.failed:
            t0 = time.perf_counter()
            try:
                if self._question_vec is None:
                    self._question_vec = self.model.embed([self.question])[0]
                for i in range(0, len(todo), BATCH):
                    if cancel is not None:
                        cancel.raise_if_cancelled()
                    part = todo[i:i + BATCH]
                    for text, vec in zip(part, self.model.embed(part)):
                        self._cache[text] = _cosine(self._question_vec, vec)
                    self.embedded += len(part)
            except LLMError as e:
                self.failed = str(e)
                log.warning("sentence embeddings unavailable for this run: %s", e)
            self.seconds += time.perf_counter() - t0
        if self.failed:
            return [None] * len(texts)
        return [self._cache.get(t) for t in texts]


def _cosine(a, b) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(y * y for y in b)) or 1.0
    return dot / (na * nb)


def add_meaning(ctx, ranked, total: float) -> dict | None:
    """Add each pooled sentence's closeness in meaning to its score (sentences.Ranked, in
    place); what was done, for the trace, or None when no model read them."""
    meaning = getattr(ctx, "meaning", None)
    if meaning is None or not ranked:
        return None
    pool = ranked[:POOL]  # sentences.rank() returns them best first
    sims = meaning.similarity([r.text for r in pool], cancel=ctx.cancel)
    if all(x is None for x in sims):
        return None
    for r, sim in zip(pool, sims):
        r.meaning = sim
        r.score += WEIGHT * max(0.0, sim) * total
    return {"model": meaning.name, "pool": len(pool), "weight": WEIGHT, "keep": KEEP,
            "embedded": meaning.embedded, "seconds": round(meaning.seconds, 3)}  # so far in this run


def kept(r, min_coverage: float) -> bool:
    """Whether a ranked sentence holds enough of the question, by its words or its meaning."""
    return r.coverage >= min_coverage or (r.meaning is not None and r.coverage >= KEEP_COVERAGE and r.meaning >= KEEP)
