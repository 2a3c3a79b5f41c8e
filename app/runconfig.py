"""One run configuration, shared by `lectern ask` and the window.

A RunConfig holds everything a question runs with: the budget (model calls, tokens,
seconds, recursion depth), the model roles (root, sub), the configured endpoints, the
runtime options (context size, threads, GPU layers) and the mode. Both front ends read
it with `RunConfig.load()` and write it with `save()`, so they start from the same
defaults and a change made in one is seen by the other.

Where it lives: the model roles and endpoints stay in models.json (the file `lectern
models use` and `lectern models endpoints` have always written, through
app.llm.manager); the rest goes to run.json beside it in the user data folder.

"No limit" is explicit: a limit of None means unlimited, and nothing else does. Zero,
negative, NaN and infinite limits are refused with a message (a zero limit used to
mean "no limit" in the window and "stop at once" on the command line).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

FILE = "run.json"
MODES = ("guided", "repl", "direct", "rag")
DEFAULT_MODEL = "default"  # the embedded model (app.llm.manager.DEFAULT_NAME)
ENDPOINTS = "endpoints"  # a role set to this uses the configured server pool
UNLIMITED_WORDS = ("none", "no", "unlimited", "no-limit", "nolimit", "off")

LIMIT_MAX = 1_000_000_000
MAX_DEPTH = 64  # the CLI's --max-depth bound too: a depth is a count of nested child runs, not a budget

# (field, kind, the limit's unit for messages)
LIMITS = (("max_calls", int, "model calls"), ("max_tokens", int, "tokens"), ("max_seconds", float, "seconds"))


@dataclass
class RunConfig:
    mode: str = "guided"
    max_calls: int | None = 48  # None = no limit
    max_tokens: int | None = 200_000
    max_seconds: float | None = 600.0
    max_depth: int = 2  # levels of child controllers below the root (0 = none)
    root: str = DEFAULT_MODEL  # a model-library name, a GGUF path, "default" or "endpoints"
    sub: str = DEFAULT_MODEL
    endpoints: list[str] = field(default_factory=list)
    n_ctx: int = 0  # 0 = automatic (from the model and this machine's memory)
    n_threads: int = 0  # 0 = automatic
    n_gpu_layers: int = -1  # -1 = automatic (all layers where the build supports a GPU)
    options: dict = field(default_factory=dict)  # strategy options (Controller(options=...))
    # Rank passages by meaning too, with the sentence-embedding model. Off by default: on
    # 190 evaluation questions it changed two answers each way and cost a fifth more time.
    meaning: bool = False

    # --- checks ----------------------------------------------------------------------
    def validate(self) -> "RunConfig":
        """Raise ValueError with a readable message for a value no run can use."""
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}: choose one of {', '.join(MODES)}")
        if not isinstance(self.meaning, bool):
            raise ValueError(f"meaning must be true or false (got {self.meaning!r})")
        for name, kind, unit in LIMITS:
            setattr(self, name, check_limit(name, getattr(self, name), kind, unit))
        if (isinstance(self.max_depth, bool) or not isinstance(self.max_depth, int)
                or not 0 <= self.max_depth <= MAX_DEPTH):
            raise ValueError(f"max_depth must be a whole number from 0 to {MAX_DEPTH} (got {self.max_depth!r})")
        for name in ("n_ctx", "n_threads"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be 0 (automatic) or more")
        if int(self.n_gpu_layers) < -1:
            raise ValueError("n_gpu_layers must be -1 (automatic), 0 (CPU only) or more")
        return self

    # --- what the engine takes --------------------------------------------------------
    def budget(self):
        """The controller's Budget; an unlimited limit becomes infinity there, which
        every comparison in the meter treats as never reached."""
        from app.rlm.budget import Budget

        self.validate()
        inf = math.inf
        return Budget(max_calls=inf if self.max_calls is None else int(self.max_calls),
                      max_tokens=inf if self.max_tokens is None else int(self.max_tokens),
                      max_seconds=inf if self.max_seconds is None else float(self.max_seconds),
                      max_depth=int(self.max_depth))

    def runtime(self) -> dict:
        """Keyword arguments for app.llm.manager.load_model (None = automatic)."""
        return {"n_ctx": int(self.n_ctx) or None, "n_threads": int(self.n_threads) or None,
                "n_gpu_layers": None if int(self.n_gpu_layers) < 0 else int(self.n_gpu_layers)}

    def describe_budget(self) -> str:
        def one(value, unit):
            return f"no limit on {unit}" if value is None else f"{value:,g} {unit}"

        return ", ".join(one(getattr(self, n), u) for n, _k, u in LIMITS) + f", depth {self.max_depth}"

    # --- persistence ------------------------------------------------------------------
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "RunConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        cfg = cls(**{k: v for k, v in (d or {}).items() if k in known})
        cfg.endpoints = [str(u) for u in cfg.endpoints or []]
        cfg.options = dict(cfg.options or {})
        return cfg

    def replace(self, **changes) -> "RunConfig":
        """A copy with some fields changed (None for a limit means no limit); checked."""
        return dataclasses.replace(self, **changes).validate()

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "RunConfig":
        """The saved configuration; defaults for anything never saved or unreadable, so
        a damaged file never stops a question (its bad values are reported by validate
        when someone saves over it)."""
        from app.llm import manager

        p = Path(path) if path else config_path()
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            data = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            data = {}
        cfg = cls()
        for f in dataclasses.fields(cls):
            if f.name in data and f.name not in ("root", "sub", "endpoints"):
                candidate = dataclasses.replace(cfg, **{f.name: data[f.name]})
                try:
                    cfg = candidate.validate()
                except (TypeError, ValueError):
                    pass  # keep the default for a value that makes no sense
        choice = manager.get_choice()
        cfg.root, cfg.sub = choice["root"], choice["sub"]
        cfg.endpoints = manager.get_endpoints()
        return cfg

    def save(self, path: str | os.PathLike | None = None, *, models: bool = True) -> "RunConfig":
        """Write the configuration: endpoints and roles through the model manager (so
        `lectern models` shows them), the rest to run.json. models=False leaves roles and
        endpoints as they are on disk (the window saving its ask bar must not undo a
        `lectern models use` made while it was open)."""
        from app.llm import manager

        self.validate()
        if models:
            old = manager.get_endpoints()
            for url in self.endpoints:
                if url not in old:
                    manager.add_endpoint(url)
            # roles first where they leave the pool, then endpoints are removed
            manager.set_choice(root=self.root or DEFAULT_MODEL, sub=self.sub or DEFAULT_MODEL)
            for url in old:
                if url not in self.endpoints:
                    manager.remove_endpoint(url)
        data = {k: v for k, v in self.to_dict().items() if k not in ("root", "sub", "endpoints")}
        p = Path(path) if path else config_path()
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, p)
        return self


def config_path() -> Path:
    from app import paths

    return paths.data_home() / FILE


def check_limit(name: str, value, kind=float, unit: str = ""):
    """None (no limit) or a finite number above zero, as `kind`; else ValueError."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_limit(value, kind)
        if value is None:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number or 'none' for no limit (got {value!r})")
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{name} must be a finite number; use 'none' for no limit")
    if value <= 0:
        raise ValueError(f"{name} must be above zero; use 'none' for no limit")
    if value > LIMIT_MAX:
        # 1e300 seconds overflowed the call timer (OverflowError in a thread): no budget
        # is meaningfully larger than a billion, and 'none' says "no limit" plainly.
        raise ValueError(f"{name} must be at most {LIMIT_MAX:,}; use 'none' for no limit")
    if kind is int:
        if value != int(value):
            raise ValueError(f"{name} must be a whole number of {unit or 'units'}")
        return int(value)
    return float(value)


def parse_limit(text: str, kind=float):
    """'none' / 'unlimited' -> None; a number -> that number (checked by check_limit)."""
    t = str(text).strip().lower()
    if t in UNLIMITED_WORDS:
        return None
    try:
        return kind(t) if kind is int else float(t)
    except ValueError:
        raise ValueError(f"expected a number or 'none' for no limit, got {text!r}") from None


def load_embedder(cfg: RunConfig):
    """The sentence-embedding model when the configuration asks for it, for guided mode, and
    it loads; None otherwise (runs then rank by words only)."""
    if not cfg.meaning or cfg.mode != "guided":
        return None  # only guided mode ranks passages in code
    from app.llm import manager

    return manager.load_embedder(n_threads=int(cfg.n_threads) or None)


def meaning_unavailable(cfg: RunConfig, embedder) -> str:
    """Why a run that asks to rank by meaning ranks by words only ("" when it does not):
    the embedder did not load. The run's note says so, so the setting never promises more."""
    if embedder is not None or not cfg.meaning or cfg.mode != "guided":
        return ""
    from app.llm import manager

    return manager.embedder_problem() or "the sentence-embedding model is not available"


def load_models(cfg: RunConfig, *, root: str | None = None, sub: str | None = None):
    """(root_model, sub_model or None) for this configuration; `root`/`sub` override the
    roles for one run (the CLI's --root-model / --sub-model). A role set to 'endpoints'
    uses the configured server pool."""
    from app.llm import manager
    from app.llm.base import LLMError

    kw = cfg.runtime()

    def one(name: str):
        if name == ENDPOINTS:
            pool = manager.endpoint_pool()
            if pool is None:
                raise LLMError("the model is set to 'endpoints' but none are configured: "
                               "add one with `lectern models endpoints add URL` or in Models and settings")
            return pool
        return manager.load_model(None if name in ("", DEFAULT_MODEL) else name, **kw)

    root_name = root or cfg.root or DEFAULT_MODEL
    sub_name = sub or cfg.sub or DEFAULT_MODEL
    root_model = one(root_name)
    sub_model = None if sub_name == root_name else one(sub_name)
    return root_model, sub_model
