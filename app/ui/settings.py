"""User settings in QSettings: models, runtime, budgets, window layout.

The first start needs no set-up: every value has a default and an empty model path
means the embedded default model.
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QSettings

from app.meta import APP_ID, ORG_NAME

DEFAULTS = {
    "models/root": "",  # "" = the embedded default model; else a model-library name or path
    "models/sub": "",  # "" = same as root
    "llm/n_ctx": 0,  # 0 = automatic (from the model and this machine's memory)
    "llm/n_threads": 0,  # 0 = automatic
    "llm/n_gpu_layers": -1,  # -1 = automatic (all layers where the build supports a GPU)
    "budget/max_calls": 12,
    "budget/max_tokens": 0,  # 0 = no limit
    "budget/max_seconds": 0,
    "budget/max_depth": 2,
    "ask/mode": "guided",
    "perf/prompt_tps": 0.0,  # tokens (prompt + reply, cache hits excluded) per model second, measured here
    "perf/call_seconds": 0.0,  # model seconds per call, measured here
}

MODES = [("guided", "Guided"), ("repl", "REPL"), ("direct", "Direct"), ("rag", "RAG")]


def _qsettings() -> QSettings:
    """Native settings, except on Linux where the file is located from $XDG_CONFIG_HOME on
    every call: the same file Qt would pick, but Qt caches that folder once per process,
    which would leak settings between tests that each point XDG_CONFIG_HOME elsewhere."""
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
        return QSettings(os.path.join(base, ORG_NAME, f"{APP_ID}.conf"), QSettings.Format.IniFormat)
    return QSettings(ORG_NAME, APP_ID)


class Settings:
    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings or _qsettings()

    def get(self, key: str):
        default = DEFAULTS.get(key)
        value = self.q.value(key, default)
        if isinstance(default, bool):
            return value in (True, "true", "1", 1)
        if isinstance(default, int):
            try:
                return int(value)
            except (TypeError, ValueError):
                return default
        if isinstance(default, float):
            try:
                return float(value)
            except (TypeError, ValueError):
                return default
        if isinstance(default, list):
            if value in (None, ""):
                return []
            return [value] if isinstance(value, str) else list(value)
        return "" if value is None else str(value)

    def set(self, key: str, value) -> None:
        self.q.setValue(key, value)

    def sync(self) -> None:
        self.q.sync()

    # --- grouped views the engine takes ------------------------------------------------
    def model_settings(self) -> dict:
        return {
            "root_model": self.get("models/root"),
            "sub_model": self.get("models/sub"),
            "n_ctx": self.get("llm/n_ctx"),
            "n_threads": self.get("llm/n_threads"),
            "n_gpu_layers": self.get("llm/n_gpu_layers"),
        }

    def budget(self) -> dict:
        return {
            "max_calls": self.get("budget/max_calls"),
            "max_tokens": self.get("budget/max_tokens"),
            "max_seconds": self.get("budget/max_seconds"),
            "max_depth": self.get("budget/max_depth"),
        }

    def record_speed(self, totals: dict) -> None:
        """Keep a running estimate of this machine's speed for the context meter."""
        seconds = float(totals.get("model_seconds") or totals.get("seconds") or 0)
        tokens = int(totals.get("tokens_in") or 0) + int(totals.get("tokens_out") or 0) - int(totals.get("cached_tokens") or 0)
        calls = int(totals.get("calls") or 0)
        if seconds <= 0 or tokens <= 0 or calls <= 0:
            return
        for key, value in (("perf/prompt_tps", tokens / seconds), ("perf/call_seconds", seconds / calls)):
            old = self.get(key)
            self.set(key, value if old <= 0 else 0.5 * old + 0.5 * value)
