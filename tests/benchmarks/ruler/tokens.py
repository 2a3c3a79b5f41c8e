"""Token counts in the default model's own tokenizer, or chars/4 when it cannot load."""

from __future__ import annotations

import re
from pathlib import Path

# Long texts are tokenized in pieces cut at whitespace: the sum differs from one
# whole-text call by at most a token per cut, and no single buffer gets huge.
_PIECE = 200_000


def _pieces(text: str):
    start = 0
    while start < len(text):
        end = min(len(text), start + _PIECE)
        if end < len(text):
            space = text.rfind(" ", start + _PIECE // 2, end)
            if space > start:
                end = space
        yield text[start:end]
        start = end


class CharCounter:
    name = "chars/4 (estimate)"

    def count(self, text: str) -> int:
        return (len(text) + 3) // 4


class VocabCounter:
    """The GGUF model's tokenizer, loaded vocab-only (no weights, a fraction of a second)."""

    def __init__(self, model_path: Path):
        from llama_cpp import Llama

        self._llm = Llama(model_path=str(model_path), vocab_only=True, verbose=False)
        self.name = f"{Path(model_path).name} tokenizer"

    def count(self, text: str) -> int:
        return sum(len(self._llm.tokenize(p.encode("utf-8"), add_bos=False, special=False)) for p in _pieces(text))


def default_counter(model_path: Path | None = None):
    """The default model's tokenizer; chars/4 with a printed note when it is unavailable."""
    reason = "no model path"
    if model_path is None:
        try:
            from app.paths import default_model_path

            model_path = default_model_path()
        except Exception as e:  # the benchmark still runs its data side without the app
            reason = str(e)
    if model_path is not None:
        try:
            return VocabCounter(model_path)
        except Exception as e:
            reason = f"{type(e).__name__}: {e}"
    print(f"NOTE: counting tokens as chars/4, the default model's tokenizer did not load ({reason})")
    return CharCounter()


def words(text: str) -> list[str]:
    return re.sub(r"\s+", " ", text).strip().split(" ")
