"""Read a GGUF file's header (metadata and tensor table) without loading the model.

Used by the model library to show architecture, size, quantisation and chat template
in milliseconds, and to reject files that are not GGUF before llama.cpp sees them.
Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md

Model files are untrusted input, so every count and length is checked against what the
file can hold and against fixed limits, arrays may not hold arrays (llama.cpp's own
reader refuses them too; one nested 5,000 deep ended in a RecursionError here), and the
keys Lectern shows must have the type the format gives them. This reader is kept rather
than the `gguf` package: gguf 0.19's GGUFReader recurses into nested arrays the same
way, walks every item of every array in Python (a 150,000-token vocabulary is read item
by item where this reader seeks past it) and brings requests, tqdm and PyYAML into the
bundle for a header of a few kilobytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from app.llm.base import ModelLoadError

GGUF_MAGIC = b"GGUF"

# Value types of the key/value section.
_SCALARS = {
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i",
    6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d",
}
_STRING, _ARRAY = 8, 9

# llama_ftype (general.file_type) -> the name users know from file names.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
    10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
    16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S",
    22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
    28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
    36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4",
}

# Arrays longer than this (token lists, merges) are skipped, not kept in memory.
_KEEP_ARRAY_MAX = 64
_MAX_STRING = 1 << 26  # a chat template is a few KB; 64 MB is damage
_MAX_KEYS = 100_000
_MAX_TENSORS = 10_000_000

# Keys Lectern reads, with the value kinds the GGUF spec allows for them: a string
# file_type must fail at `models add`, not later in `models show`.
_INT = (int,)
_KEY_TYPES = {
    "general.architecture": (str,), "general.name": (str,), "general.file_type": _INT,
    "tokenizer.chat_template": (str,),
}
_ARCH_KEY_TYPES = {
    "context_length": _INT, "block_count": _INT, "embedding_length": _INT,
    "attention.head_count": (int, list), "attention.head_count_kv": (int, list),
    "attention.key_length": _INT, "attention.value_length": _INT,
}


@dataclass
class GGUFInfo:
    path: Path
    version: int
    metadata: dict = field(default_factory=dict)
    tensor_count: int = 0
    parameters: int = 0
    file_size: int = 0

    def get(self, key: str, default=None):
        return self.metadata.get(key, default)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    def arch_value(self, suffix: str, default=None):
        return self.metadata.get(f"{self.architecture}.{suffix}", default)

    @property
    def context_length(self) -> int | None:
        v = self.arch_value("context_length")
        return v if _is_int(v) else None

    @property
    def block_count(self) -> int | None:
        v = self.arch_value("block_count")
        return v if _is_int(v) else None

    @property
    def quantisation(self) -> str:
        ft = self.metadata.get("general.file_type")
        if not _is_int(ft):
            return "unknown"
        return FILE_TYPES.get(ft, f"type {ft}")

    @property
    def chat_template(self) -> str | None:
        return self.metadata.get("tokenizer.chat_template")

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name") or self.path.stem)

    def kv_bytes_per_token(self) -> int | None:
        """f16 K+V cache bytes one context token takes (for memory estimates)."""
        n_layer = self.block_count
        n_embd = self.arch_value("embedding_length")
        n_head = self.arch_value("attention.head_count")
        if not (n_layer and n_embd and n_head):
            return None
        n_head_kv = self.arch_value("attention.head_count_kv", n_head)
        if not all(_is_int(v) and v > 0 for v in (n_layer, n_embd, n_head, n_head_kv)):
            return None
        k_len = self.arch_value("attention.key_length", n_embd // n_head)
        v_len = self.arch_value("attention.value_length", n_embd // n_head)
        return int(n_layer) * int(n_head_kv) * (int(k_len) + int(v_len)) * 2


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class _Reader:
    def __init__(self, f, path: Path, size: int):
        self.f = f
        self.path = path
        self.size = size

    def damaged(self, why: str) -> ModelLoadError:
        return ModelLoadError(f"{self.path.name} is damaged: {why}")

    def left(self) -> int:
        return self.size - self.f.tell()

    def read(self, n: int) -> bytes:
        if n > self.left():
            raise self.damaged("the GGUF header is cut short")
        b = self.f.read(n)
        if len(b) != n:
            raise self.damaged("the GGUF header is cut short")
        return b

    def scalar(self, fmt: str):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def _length(self) -> int:
        n = self.scalar("<Q")
        if n > _MAX_STRING or n > self.left():
            raise self.damaged("implausible string length in the GGUF header")
        return n

    def string(self) -> str:
        return self.read(self._length()).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        self.f.seek(self._length(), 1)

    def value(self, vtype: int):
        if vtype in _SCALARS:
            return self.scalar(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            itype = self.scalar("<I")
            count = self.scalar("<Q")
            if itype == _ARRAY:
                raise self.damaged("an array holds arrays, which GGUF readers (llama.cpp's too) refuse")
            if itype not in _SCALARS and itype != _STRING:
                raise self.damaged(f"an array of GGUF value type {itype}")
            item = struct.calcsize(_SCALARS[itype]) if itype in _SCALARS else 8
            if count * item > self.left():
                raise self.damaged(f"an array of {count} items is larger than the file")
            if count <= _KEEP_ARRAY_MAX:
                return [self.value(itype) for _ in range(count)]
            # Long arrays (vocabularies) are skipped without decoding each item.
            if itype in _SCALARS:
                self.f.seek(item * count, 1)
            else:
                for _ in range(count):
                    self.skip_string()
            return f"<array of {count}>"
        raise self.damaged(f"unknown GGUF value type {vtype}")


def _check_types(r: _Reader, meta: dict) -> None:
    arch = meta.get("general.architecture")
    expected = dict(_KEY_TYPES)
    if isinstance(arch, str):
        expected.update({f"{arch}.{k}": t for k, t in _ARCH_KEY_TYPES.items()})
    for key, kinds in expected.items():
        if key not in meta:
            continue
        v = meta[key]
        ok = isinstance(v, kinds) and not isinstance(v, bool)
        if isinstance(v, list):
            ok = list in kinds and all(_is_int(x) for x in v)
        if _is_int(v) and v < 0:
            ok = False
        if not ok:
            kind = "text" if str in kinds else "a whole number"
            raise r.damaged(f"{key} should be {kind} but is {type(v).__name__} {str(v)[:40]!r}")


def read_gguf(path: str | Path) -> GGUFInfo:
    """Parse the header. Raises ModelLoadError with a user-facing message when the file
    is missing, not GGUF, or its header is damaged."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"model file not found: {path}")
    size = path.stat().st_size
    with open(path, "rb") as f:
        magic = f.read(4)
        if magic != GGUF_MAGIC:
            raise ModelLoadError(
                f"{path.name} is not a GGUF model file (llama.cpp models end in .gguf and "
                f"start with 'GGUF'; this one starts with {magic!r})"
            )
        r = _Reader(f, path, size)
        version = r.scalar("<I")
        if version not in (2, 3):
            raise ModelLoadError(f"{path.name}: GGUF version {version} is not supported (2 and 3 are)")
        n_tensors = r.scalar("<Q")
        n_kv = r.scalar("<Q")
        if n_kv > _MAX_KEYS or n_tensors > _MAX_TENSORS:
            raise r.damaged("implausible GGUF header counts")
        meta: dict = {}
        for _ in range(n_kv):
            key = r.string()
            meta[key] = r.value(r.scalar("<I"))
        _check_types(r, meta)
        params = 0
        for _ in range(n_tensors):
            r.skip_string()
            n_dims = r.scalar("<I")
            if n_dims > 8:
                raise r.damaged(f"tensor with {n_dims} dimensions")
            count = 1
            for _ in range(n_dims):
                count *= r.scalar("<Q")
            r.scalar("<I")  # tensor type
            r.scalar("<Q")  # data offset
            params += count
    return GGUFInfo(path=path, version=version, metadata=meta, tensor_count=n_tensors,
                    parameters=params, file_size=size)


def human_parameters(n: int) -> str:
    for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= div:
            return f"{n / div:.1f}{unit}".replace(".0" + unit, unit)
    return str(n)
