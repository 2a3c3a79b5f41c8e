"""User settings in QSettings: models, runtime, budgets, window layout.

The first start needs no set-up: every value has a default and an empty model path
means the embedded default model.
"""

from __future__ import annotations

import dataclasses
import os
import sys

from PySide6.QtCore import QSettings

from app.meta import APP_ID, ORG_NAME

# Window-only settings. Budgets, models, endpoints, runtime options and the mode live in
# the run configuration the CLI shares (app/runconfig.py), never here.
DEFAULTS = {
    "perf/prompt_tps": 0.0,  # tokens (prompt + reply, cache hits excluded) per model second, measured here
    "perf/call_seconds": 0.0,  # model seconds per call, measured here
    "perf/selfcheck_tps": 0.0,  # the loaded model's self-check generation speed (tokens/s)
    "ask/show_trace": False,  # the trace panel opens by itself when a run starts
}

# key, plain name, one line an analyst understands (item 8 of issue 12)
MODES = [
    ("guided", "Read and quote (recommended)",
     "Quotes the passages that answer, with their pages. Works with the built-in model."),
    ("repl", "Model writes a program (7B+ models)",
     "A strong model writes code to search and read. Needs a 7B+ model or a server."),
    ("direct", "Everything in one prompt (comparison)",
     "As much text as fits in one prompt; the rest is cut off. For comparison."),
    ("rag", "Best-matching passages only (comparison)",
     "Only the few passages that best match the question's words. For comparison."),
]


def _qsettings() -> QSettings:
    """Native settings, except on Linux where the file is located from $XDG_CONFIG_HOME on
    every call: the same file Qt would pick, but Qt caches that folder once per process,
    which would leak settings between tests that each point XDG_CONFIG_HOME elsewhere."""
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
        return QSettings(os.path.join(base, ORG_NAME, f"{APP_ID}.conf"), QSettings.Format.IniFormat)
    return QSettings(ORG_NAME, APP_ID)


# Keys that earlier versions kept here and the run configuration now owns. Their 0 meant
# "no limit" for tokens and seconds (which the old engine then ignored), and "" the
# embedded model.
_OLD_RUN_KEYS = {"budget/max_calls": "max_calls", "budget/max_tokens": "max_tokens",
                 "budget/max_seconds": "max_seconds", "budget/max_depth": "max_depth", "ask/mode": "mode",
                 "llm/n_ctx": "n_ctx", "llm/n_threads": "n_threads", "llm/n_gpu_layers": "n_gpu_layers"}


class Settings:
    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings or _qsettings()
        self._migrate()

    def _migrate(self) -> None:
        """Carry a window's settings from before the shared run configuration into it, once:
        the analyst who chose "no limit" or 4 threads keeps that choice. Values the run
        configuration refuses are left at its defaults; the old keys are removed either way."""
        old = {k: self.q.value(k) for k in list(_OLD_RUN_KEYS) + ["models/root", "models/sub"] if self.q.contains(k)}
        if not old:
            return
        from app.runconfig import RunConfig, config_path

        try:
            if not config_path().exists():
                cfg = RunConfig.load()
                for key, field_ in _OLD_RUN_KEYS.items():
                    if key not in old:
                        continue
                    value = old[key]
                    try:
                        if field_ == "mode":
                            candidate = cfg.replace(mode=str(value))
                        elif field_ in ("max_calls", "max_tokens", "max_seconds"):
                            n = float(value)
                            candidate = cfg.replace(**{field_: None if n <= 0 else (int(n) if field_ != "max_seconds" else n)})
                        else:
                            candidate = cfg.replace(**{field_: int(value)})
                    except (TypeError, ValueError):
                        continue  # an unreadable old value: the default stands
                    cfg = candidate
                roles = {r: str(old.get(f"models/{r}") or "") for r in ("root", "sub")}
                for role, value in roles.items():
                    if value:
                        cfg = dataclasses.replace(cfg, **{role: value})
                # Roles are written only when the window had chosen a model: otherwise they
                # stay whatever `lectern models use` made them.
                cfg.save(models=any(roles.values()))
        except Exception:  # a settings file must never stop the window from starting
            return
        for key in old:
            self.q.remove(key)

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

    # --- the run configuration (shared with `lectern ask`) ---------------------------
    def run_config(self):
        """Read fresh on every use: `lectern models use` or a CLI change made while the
        window is open applies to the next question."""
        from app.runconfig import RunConfig

        return RunConfig.load()

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
