"""The model library and loading: which GGUF files exist, which one each role uses,
and one loaded instance per file and settings per process.

The library is the `models/` folder in the user's data folder plus the embedded default
model (SmolLM2-135M-Instruct, shipped inside the app). The choice of root model and
sub-model is a small JSON file next to it.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from app import paths
from app.cancel import CancelToken
from app.llm import gguf
from app.llm.base import LLMError, Model, ModelLoadError

DEFAULT_NAME = "default"
ENDPOINTS_NAME = "endpoints"  # a role set to this uses the configured server pool
ROLES = ("root", "sub")
SETTINGS_FILE = "models.json"
_SHA_CACHE_FILE = "model-hashes.json"

_cache: dict = {}
_cache_lock = threading.Lock()
_key_locks: dict = {}
_default_verified: dict = {}


@dataclass
class ModelEntry:
    name: str
    path: Path
    builtin: bool = False
    size: int = 0

    def to_dict(self) -> dict:
        return {"name": self.name, "path": str(self.path), "builtin": self.builtin, "size": self.size}


# --- the embedded default ------------------------------------------------------------
def default_model_file(verify: bool = True) -> Path:
    """The embedded model's path; its sha256 is checked once per process."""
    p = paths.default_model_path()
    if p is None:
        raise ModelLoadError(
            f"the embedded default model ({paths.DEFAULT_MODEL_FILE}) is missing: reinstall Lectern "
            "(from a checkout: `make venv`) or add a GGUF model with `lectern models add PATH`"
        )
    if verify:
        key = str(p)
        if key not in _default_verified:
            _default_verified[key] = paths.sha256_file(p) == paths.DEFAULT_MODEL_SHA256
        if not _default_verified[key]:
            raise ModelLoadError(f"the embedded default model {p} is damaged (sha256 mismatch): reinstall Lectern")
    return p


# --- library ---------------------------------------------------------------------------
def list_models() -> list[ModelEntry]:
    out = []
    d = paths.default_model_path()
    if d is not None:
        out.append(ModelEntry(DEFAULT_NAME, d, builtin=True, size=d.stat().st_size))
    for p in sorted(paths.models_dir().glob("*.gguf")):
        if p.is_file():
            out.append(ModelEntry(p.stem, p, size=p.stat().st_size))
    return out


def resolve(name_or_path: str | os.PathLike | None) -> Path:
    """'default'/None, a library name (with or without .gguf), or a file path."""
    if name_or_path is None or str(name_or_path) in ("", DEFAULT_NAME):
        return default_model_file(verify=False)
    s = str(name_or_path)
    for e in list_models():
        if s in (e.name, e.path.name):
            return e.path
    p = Path(s).expanduser()
    if p.is_file():
        return p.resolve()
    names = ", ".join(e.name for e in list_models()) or "none"
    raise ModelLoadError(f"no model named {s!r} (library: {names}; or give the path of a .gguf file)")


def add_model(path: str | os.PathLike, *, link: bool = False, name: str | None = None) -> ModelEntry:
    """Copy (or link) a GGUF file into the models folder after checking its header."""
    src = Path(path).expanduser()
    info = gguf.read_gguf(src)  # ModelLoadError for missing or non-GGUF files
    stem = name or src.stem
    if stem == DEFAULT_NAME or "/" in stem or "\\" in stem or not stem.strip():
        raise LLMError(f"{stem!r} cannot be used as a model name")
    dest = paths.models_dir() / f"{stem}.gguf"
    if dest.exists():
        raise LLMError(f"a model named {stem!r} is already in the library ({dest})")
    if link:
        dest.symlink_to(src.resolve())
    else:
        tmp = dest.with_suffix(".gguf.part")
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise LLMError(f"could not copy {src} into the library: {e}") from None
    return ModelEntry(stem, dest, size=info.file_size)


def remove_model(name: str) -> Path:
    if name == DEFAULT_NAME:
        raise LLMError("the embedded default model cannot be removed")
    for e in list_models():
        if name in (e.name, e.path.name) and not e.builtin:
            e.path.unlink()
            choice = get_choice()
            for role in ROLES:
                if choice.get(role) == e.name:
                    set_choice(**{role: DEFAULT_NAME})
            return e.path
    raise LLMError(f"no model named {name!r} in the library")


def _sha256_cached(p: Path) -> str:
    # Hashing a multi-GB model takes a while; remember it per (path, size, mtime).
    st = p.stat()
    key = f"{p.resolve()}|{st.st_size}|{int(st.st_mtime)}"
    cache_file = paths.data_home() / _SHA_CACHE_FILE
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    if key not in cache:
        cache[key] = paths.sha256_file(p)
        try:
            cache_file.write_text(json.dumps(cache, indent=1))
        except OSError:
            pass
    return cache[key]


def model_metadata(name_or_path: str | os.PathLike | None = None, *, sha256: bool = True) -> dict:
    """What the file says about itself, read from the GGUF header (no load)."""
    p = resolve(name_or_path)
    info = gguf.read_gguf(p)
    return {
        "name": info.name,
        "file": str(p),
        "architecture": info.architecture,
        "parameters": info.parameters,
        "parameters_human": gguf.human_parameters(info.parameters),
        "quantisation": info.quantisation,
        "context_length": info.context_length,
        "layers": info.block_count,
        "chat_template": info.chat_template,
        "file_size": info.file_size,
        "sha256": _sha256_cached(p) if sha256 else None,
        "license": info.get("general.license"),
    }


# --- role choice ----------------------------------------------------------------------
def _settings_path() -> Path:
    return paths.data_home() / SETTINGS_FILE


def _read_settings() -> dict:
    try:
        data = json.loads(_settings_path().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_settings(data: dict) -> None:
    tmp = _settings_path().with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, _settings_path())


def get_choice() -> dict:
    """{'root': name, 'sub': name}; the default model for roles never chosen."""
    data = _read_settings()
    return {role: str(data.get(role) or DEFAULT_NAME) for role in ROLES}


def set_choice(root: str | None = None, sub: str | None = None) -> dict:
    """Persist the root/sub model choice; names are checked against the library
    ('endpoints' picks the configured server pool)."""
    data = _read_settings()
    for role, value in (("root", root), ("sub", sub)):
        if value is None:
            continue
        if value == ENDPOINTS_NAME:
            if not data.get("endpoints"):
                raise LLMError("no endpoints configured: add one with `lectern models endpoints add URL`")
        elif value != DEFAULT_NAME:
            resolve(value)  # raises for unknown names
        data[role] = value
    _write_settings(data)
    return get_choice()


# --- inference servers (none unless the user adds them) -------------------------------
def get_endpoints() -> list[str]:
    return [str(u) for u in _read_settings().get("endpoints") or []]


def add_endpoint(url: str) -> list[str]:
    from app.llm.endpoint import Endpoint

    Endpoint(url)  # validates the URL; nothing is contacted
    data = _read_settings()
    urls = [str(u) for u in data.get("endpoints") or []]
    if url not in urls:
        urls.append(url)
    data["endpoints"] = urls
    _write_settings(data)
    return urls


def remove_endpoint(url: str) -> list[str]:
    data = _read_settings()
    urls = [str(u) for u in data.get("endpoints") or []]
    if url not in urls:
        raise LLMError(f"no endpoint {url!r} is configured")
    urls.remove(url)
    data["endpoints"] = urls
    for role in ROLES:
        if not urls and data.get(role) == ENDPOINTS_NAME:
            data[role] = DEFAULT_NAME
    _write_settings(data)
    return urls


def endpoint_pool(**kw):
    """The pool over the configured servers, or None when there are none (the default)."""
    urls = get_endpoints()
    if not urls:
        return None
    from app.llm.endpoint import EndpointPool

    return EndpointPool(urls, **kw)


# --- loading ---------------------------------------------------------------------------
def load_model(
    path: str | os.PathLike | None = None,
    *,
    n_ctx: int | None = None,
    n_threads: int | None = None,
    n_gpu_layers: int | None = None,
    progress=None,
    cancel: CancelToken | None = None,
    selfcheck: bool = True,
    name: str | None = None,
    **settings,
) -> Model:
    """Load a GGUF model (None = the embedded default), once per file and settings.

    `path` may also be a library name. Extra keyword settings (n_batch, n_ubatch,
    n_threads_batch, flash_attn) go to the model's load settings. The model runs in a
    model host process (hosted.py), so a crash of llama.cpp cannot take the app down.
    selfcheck: prove a chat model by a short generation on first load (an encoder has none);
    name: what the trace and the status bar call it."""
    from app.llm.hosted import HostedModel
    from app.llm.llamacpp import resolve_settings

    file = default_model_file(verify=True) if path in (None, "", DEFAULT_NAME) else resolve(path)
    info = gguf.read_gguf(file)
    s = resolve_settings(info, n_ctx=n_ctx, n_threads=n_threads, n_gpu_layers=n_gpu_layers, **settings)
    key = (str(Path(file).resolve()), s)
    with _cache_lock:
        model = _cache.get(key)
        if model is not None and not getattr(model, "_closed", False):
            return model
        lock = _key_locks.setdefault(key, threading.Lock())
    with lock:  # two callers asking for the same model load it once
        with _cache_lock:
            model = _cache.get(key)
            if model is not None and not getattr(model, "_closed", False):
                return model
        model = HostedModel(file, settings=s, progress=progress, cancel=cancel, selfcheck=selfcheck,
                            name=name or (None if path not in (None, "", DEFAULT_NAME) else "SmolLM2-135M-Instruct"))
        with _cache_lock:
            _cache[key] = model
        return model


def load_embedder(*, n_threads: int | None = None, progress=None, cancel: CancelToken | None = None) -> Model | None:
    """The sentence-embedding model (app.llm.embedding_model), once per process; None when
    its weights are not installed or cannot be made into a GGUF (retrieval then reads
    words only, as before)."""
    from app.llm import embedding_model

    try:
        file = embedding_model.gguf_path(paths.cache_dir())
    except Exception as e:  # a damaged package, a full disk: the app answers without it
        _embedder_problem[0] = f"the sentence-embedding model could not be prepared: {e}"
        return None
    if file is None:
        _embedder_problem[0] = ("the sentence-embedding model is not installed "
                                f"(the PyPI package {embedding_model.DISTRIBUTION})")
        return None
    try:
        # One window of the encoder per input; a batch holds several inputs.
        return load_model(file, n_ctx=embedding_model.WINDOW, n_threads=n_threads, n_gpu_layers=0,
                          n_batch=embedding_model.WINDOW, embedding=True, progress=progress, cancel=cancel,
                          selfcheck=False, name=embedding_model.NAME)
    except LLMError as e:
        _embedder_problem[0] = f"the sentence-embedding model could not be loaded: {e}"
        return None


_embedder_problem = [""]


def embedder_problem() -> str:
    """Why load_embedder() last returned None ("" when it did not)."""
    return _embedder_problem[0]


def load_role(role: str, **kw) -> Model:
    """The model chosen for 'root' or 'sub' (see set_choice)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    choice = get_choice()[role]
    if choice == ENDPOINTS_NAME:
        pool = endpoint_pool()
        if pool is None:
            raise LLMError(f"the {role} model is set to 'endpoints' but none are configured")
        return pool
    return load_model(choice, **kw)


def loaded_models() -> list[Model]:
    with _cache_lock:
        return [m for m in _cache.values() if not getattr(m, "_closed", False)]


def unload_all() -> None:
    with _cache_lock:
        models = list(_cache.values())
        _cache.clear()
    for m in models:
        m.close()
