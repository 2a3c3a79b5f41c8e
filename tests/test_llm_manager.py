"""Model library and role choice (header-only GGUF files; loading is in test_llm_llamacpp)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from app.llm import gguf, manager
from app.llm.base import LLMError, ModelLoadError

# --- small GGUF headers (no real weights) ---------------------------------------------


def _s(text: str) -> bytes:
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def write_gguf(path: Path, metadata: dict, tensors=(("w", (4, 8)),), pad: int = 64) -> Path:
    """metadata values: str, int (uint32), float, bool, or list[str]."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata)))
    for k, v in metadata.items():
        out += _s(k)
        if isinstance(v, bool):
            out += struct.pack("<I?", 7, v)
        elif isinstance(v, int):
            out += struct.pack("<II", 4, v)
        elif isinstance(v, float):
            out += struct.pack("<If", 6, v)
        elif isinstance(v, list):
            out += struct.pack("<IIQ", 9, 8, len(v)) + b"".join(_s(x) for x in v)
        else:
            out += struct.pack("<I", 8) + _s(str(v))
    for name, dims in tensors:
        out += _s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", 0, 0)
    out += b"\0" * pad
    path.write_bytes(bytes(out))
    return path


def tiny_header(path: Path, name="Tiny", arch="llama") -> Path:
    return write_gguf(path, {
        "general.architecture": arch,
        "general.name": name,
        "general.file_type": 15,
        f"{arch}.context_length": 2048,
        f"{arch}.block_count": 2,
        "tokenizer.chat_template": "{{ messages }}",
        "tokenizer.ggml.tokens": [f"t{i}" for i in range(100)],
    })


def test_gguf_header_metadata(tmp_path):
    info = gguf.read_gguf(tiny_header(tmp_path / "t.gguf"))
    assert info.architecture == "llama" and info.name == "Tiny"
    assert info.quantisation == "Q4_K_M"
    assert info.context_length == 2048 and info.block_count == 2
    assert info.parameters == 32
    assert info.get("tokenizer.ggml.tokens") == "<array of 100>"


def test_not_gguf_and_truncated_headers_are_clear_errors(tmp_path):
    bad = tmp_path / "notes.gguf"
    bad.write_text("hello, I am a text file")
    with pytest.raises(ModelLoadError, match="not a GGUF model file"):
        gguf.read_gguf(bad)
    good = tiny_header(tmp_path / "t.gguf").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good[:40])
    with pytest.raises(ModelLoadError, match="damaged"):
        gguf.read_gguf(cut)
    with pytest.raises(ModelLoadError, match="not found"):
        gguf.read_gguf(tmp_path / "missing.gguf")


def test_library_add_show_remove(tmp_path, lectern_home):
    src = tiny_header(tmp_path / "My-Model.Q4.gguf")
    entry = manager.add_model(src)
    assert entry.path.parent == lectern_home / "models" and entry.path.read_bytes() == src.read_bytes()
    names = [m.name for m in manager.list_models()]
    assert "My-Model.Q4" in names
    meta = manager.model_metadata("My-Model.Q4")
    assert meta["architecture"] == "llama" and meta["quantisation"] == "Q4_K_M"
    assert meta["context_length"] == 2048 and meta["chat_template"] == "{{ messages }}"
    assert len(meta["sha256"]) == 64 and meta["file_size"] == src.stat().st_size
    with pytest.raises(LLMError, match="already in the library"):
        manager.add_model(src)
    linked = manager.add_model(src, link=True, name="linked")
    assert linked.path.is_symlink()
    manager.set_choice(root="My-Model.Q4", sub="linked")
    manager.remove_model("My-Model.Q4")
    assert "My-Model.Q4" not in [m.name for m in manager.list_models()]
    assert manager.get_choice() == {"root": "default", "sub": "linked"}  # removed model's role falls back
    with pytest.raises(LLMError, match="no model named"):
        manager.remove_model("My-Model.Q4")
    with pytest.raises(LLMError, match="cannot be removed"):
        manager.remove_model("default")


def test_add_rejects_non_gguf(tmp_path):
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"PK\x03\x04zipfile")
    with pytest.raises(ModelLoadError, match="not a GGUF"):
        manager.add_model(bad)


def test_choice_persists_in_data_home(tmp_path, lectern_home):
    assert manager.get_choice() == {"root": "default", "sub": "default"}
    manager.add_model(tiny_header(tmp_path / "reader.gguf"))
    manager.set_choice(sub="reader")
    saved = json.loads((lectern_home / "models.json").read_text())
    assert saved["sub"] == "reader"
    assert manager.get_choice() == {"root": "default", "sub": "reader"}
    with pytest.raises(ModelLoadError, match="no model named 'nope'"):
        manager.set_choice(root="nope")


def test_default_model_listed_and_verified(default_model_path):
    entries = manager.list_models()
    assert entries[0].name == "default" and entries[0].builtin and entries[0].path == default_model_path
    assert manager.default_model_file(verify=True) == default_model_path
    meta = manager.model_metadata("default")
    assert meta["architecture"] == "llama" and meta["quantisation"] == "Q4_1"
    assert 100e6 < meta["parameters"] < 200e6
    assert "<|im_start|>" in meta["chat_template"]


def test_endpoints_none_by_default_and_configurable(lectern_home):
    assert manager.get_endpoints() == [] and manager.endpoint_pool() is None
    with pytest.raises(LLMError, match="no endpoints configured"):
        manager.set_choice(sub="endpoints")
    manager.add_endpoint("http://127.0.0.1:8081")
    manager.set_choice(sub="endpoints")
    pool = manager.load_role("sub")  # builds the pool; contacts nothing until a call
    assert [e.url for e in pool.endpoints] == ["http://127.0.0.1:8081"]
    with pytest.raises(LLMError):
        manager.add_endpoint("not a url at all://")
    manager.remove_endpoint("http://127.0.0.1:8081")
    assert manager.get_choice()["sub"] == "default"


def test_default_runs_offline_without_opening_a_socket(monkeypatch):
    import socket

    def refuse(*a, **k):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    model = manager.load_role("sub", n_ctx=512)
    assert model.chat([{"role": "user", "content": "Hi"}], max_tokens=2).text
