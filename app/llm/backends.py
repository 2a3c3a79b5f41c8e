"""Which llama.cpp CPU backend runs on this machine, and loading it.

The llama.cpp build is portable (see packaging/llama-build.sh): its CPU backend is not
compiled for the build machine (-march=native dies with SIGILL on an older CPU) but as
one library per CPU generation, libggml-cpu-<variant>.so. Each library reports a score
for the CPU it runs on (0 = cannot run here); ggml's own loader takes the highest.

Lectern chooses instead of ggml because the highest is not always safe: on Intel CPUs
with AMX, the sapphirerapids variant's AMX matrix kernel segfaults on every model call
(ggml_backend_amx_mul_mat, llama.cpp issue 20824). Such variants are never chosen, and a
variant that crashed the model host's self-check on this machine is remembered and
skipped (app/llm/hosted.py). The order is still ggml's score order, so every CPU gets
the fastest variant that works.

ctypes goes through llama_cpp/lib/libggml.so.0, the same file libllama.so links against:
the wheel also ships libggml.so as a separate copy, and a backend registered in that
copy is invisible to llama.cpp.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# Variants never chosen, with the reason shown by `lectern doctor`.
DENY = {
    "sapphirerapids": "its AMX kernels crash on every model call (llama.cpp issue 20824)",
}
_VARIANT_RE = re.compile(r"^(?:lib)?ggml-cpu-([\w.]+)\.(?:so|dll|dylib)$")
_GPU_RE = re.compile(r"^(?:lib)?ggml-(vulkan|cuda|metal|hip|sycl)\.(?:so|dll|dylib)$")
DEV_TYPES = {0: "CPU", 1: "GPU", 2: "integrated GPU", 3: "accelerator"}

_scores: dict[tuple[str, int], int] = {}  # (library path, mtime) -> its score for this CPU
_loaded: dict[str, str] = {}  # what this process registered with ggml: kind -> library path


@dataclass
class Variant:
    name: str
    path: Path
    score: int | None = None  # None until measured; 0 = this CPU cannot run it

    @property
    def denied(self) -> str:
        return DENY.get(self.name, "")


def lib_dir() -> Path | None:
    """Where llama-cpp-python keeps libllama and libggml."""
    try:
        import llama_cpp
    except ImportError:
        return None
    d = Path(llama_cpp.__file__).parent / "lib"
    return d if d.is_dir() else None


def _libggml() -> ctypes.CDLL | None:
    d = lib_dir()
    if d is None:
        return None
    for name in ("libggml.so.0", "libggml.so", "libggml.dylib", "ggml.dll"):
        if (d / name).exists():
            return ctypes.CDLL(str(d / name))
    return None


def variant_files() -> list[Variant]:
    """The CPU variants this install ships (empty for a single-CPU build), plus those in
    LECTERN_EXTRA_BACKENDS (a folder: how the tests plant a variant that crashes)."""
    dirs = [lib_dir(), Path(os.environ["LECTERN_EXTRA_BACKENDS"]) if os.environ.get("LECTERN_EXTRA_BACKENDS") else None]
    out = []
    for d in dirs:
        if d is None or not d.is_dir():
            continue
        for f in sorted(d.iterdir()):
            m = _VARIANT_RE.match(f.name)
            if m:
                out.append(Variant(m.group(1), f))
    return out


def gpu_backend_files() -> list[Path]:
    d = lib_dir()
    return [f for f in sorted(d.iterdir()) if _GPU_RE.match(f.name)] if d else []


def score(v: Variant) -> int:
    """The variant's own feature check for this CPU (ggml_backend_score); 0 = cannot run.
    The check is compiled without the variant's instruction set, so it is safe to call."""
    if v.score is None:
        # Once per library and process: machine_id() asks on every model load.
        key = (str(v.path), v.path.stat().st_mtime_ns if v.path.exists() else 0)
        if key not in _scores:
            try:
                fn = ctypes.CDLL(str(v.path)).ggml_backend_score
                fn.restype = ctypes.c_int
                _scores[key] = int(fn())
            except (OSError, AttributeError):
                _scores[key] = 0
        v.score = _scores[key]
    return v.score


def ranked(skip: dict[str, str] | None = None) -> list[Variant]:
    """Variants that can run here, best first, without denied or skipped ones."""
    skip = skip or {}
    usable = [v for v in variant_files() if score(v) > 0 and not v.denied and v.name not in skip]
    return sorted(usable, key=lambda v: -score(v))


def load_cpu_variant(path: str | Path) -> str:
    """Register one CPU backend library with ggml (once per process)."""
    if "cpu" in _loaded:
        return _loaded["cpu"]
    lib = _libggml()
    if lib is None:
        raise OSError("libggml not found beside llama_cpp")
    lib.ggml_backend_load.restype = ctypes.c_void_p
    lib.ggml_backend_load.argtypes = [ctypes.c_char_p]
    if not lib.ggml_backend_load(str(path).encode()):
        raise OSError(f"ggml could not load {path}")
    _loaded["cpu"] = str(path)
    return str(path)


def load_gpu_backends() -> list[str]:
    """Register the optional GPU backends this install ships (none in the default build)."""
    lib = _libggml()
    done = []
    if lib is None:
        return done
    lib.ggml_backend_load.restype = ctypes.c_void_p
    lib.ggml_backend_load.argtypes = [ctypes.c_char_p]
    for f in gpu_backend_files():
        key = "gpu:" + f.name
        if key not in _loaded and lib.ggml_backend_load(str(f).encode()):
            _loaded[key] = str(f)
        if key in _loaded:
            done.append(f.name)
    return done


def ensure_loaded(skip: dict[str, str] | None = None, prefer: str | None = None) -> str | None:
    """Make sure ggml has a CPU backend: `prefer` if given and usable, else the best
    ranked variant. Returns the variant's name, or None for a build without variants
    (its CPU backend is linked in)."""
    if "cpu" in _loaded:
        return _VARIANT_RE.match(Path(_loaded["cpu"]).name).group(1)
    choices = ranked(skip)
    if not choices:
        if variant_files():
            raise OSError("no llama.cpp CPU variant can run on this CPU")
        return None
    chosen = next((v for v in choices if v.name == prefer), choices[0])
    load_cpu_variant(chosen.path)
    load_gpu_backends()
    return chosen.name


def devices() -> list[dict]:
    """The devices ggml sees once backends are loaded (CPU, and GPUs if a GPU backend is)."""
    lib = _libggml()
    if lib is None:
        return []
    lib.ggml_backend_dev_count.restype = ctypes.c_size_t
    lib.ggml_backend_dev_get.restype = ctypes.c_void_p
    lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    for fn in ("ggml_backend_dev_name", "ggml_backend_dev_description"):
        getattr(lib, fn).restype = ctypes.c_char_p
        getattr(lib, fn).argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_type.restype = ctypes.c_int
    lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
    out = []
    for i in range(lib.ggml_backend_dev_count()):
        dev = lib.ggml_backend_dev_get(i)
        out.append({
            "name": (lib.ggml_backend_dev_name(dev) or b"").decode(errors="replace"),
            "description": (lib.ggml_backend_dev_description(dev) or b"").decode(errors="replace"),
            "type": DEV_TYPES.get(lib.ggml_backend_dev_type(dev), "other"),
        })
    return out


def cpu_features() -> list[str]:
    """The SIMD features that decide the variant (from /proc/cpuinfo; empty elsewhere)."""
    wanted = ("sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx512f", "avx512_vbmi", "avx512_vnni",
              "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return [w for w in wanted if w in have]
    except OSError:
        pass
    return []


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def build_id() -> str:
    """Changes when llama-cpp-python or its set of backend libraries changes."""
    try:
        import llama_cpp

        version = getattr(llama_cpp, "__version__", "?")
    except ImportError:
        version = "none"
    files = [f"{v.name}:{v.path.stat().st_size}" for v in variant_files()] + [f.name for f in gpu_backend_files()]
    return hashlib.sha256(f"{version}|{sys.platform}|{'|'.join(files)}".encode()).hexdigest()[:16]


def machine_id() -> str:
    """This CPU as far as backends care: its name, and each variant's own score for it
    (what ggml sees; an emulated CPU shows the host's /proc/cpuinfo but scores differently)."""
    scores = ",".join(f"{v.name}:{score(v)}" for v in variant_files())
    return hashlib.sha256(f"{cpu_name()}|{scores}|{os.cpu_count()}".encode()).hexdigest()[:16]
