"""`lectern models ...` end to end through app.cli.main."""

from __future__ import annotations

import json
import struct

from app.cli import main


def _tiny_gguf(path):
    def s(t):
        b = t.encode()
        return struct.pack("<Q", len(b)) + b

    meta = [("general.architecture", "llama"), ("general.name", "Tiny"), ("llama.context_length", 1024)]
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, 0, len(meta)))
    for k, v in meta:
        out += s(k) + (struct.pack("<II", 4, v) if isinstance(v, int) else struct.pack("<I", 8) + s(v))
    path.write_bytes(bytes(out))
    return path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_show_use_add_remove(capsys, tmp_path, default_model_path):
    code, out, _ = run(capsys, "models", "list", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["models"][0]["name"] == "default" and doc["choice"]["root"] == "default"

    code, out, _ = run(capsys, "models", "show", "default", "--json")
    meta = json.loads(out)
    assert code == 0 and meta["quantisation"] == "Q4_1" and len(meta["sha256"]) == 64

    code, out, _ = run(capsys, "models", "show", "default")
    assert code == 0 and "architecture" in out and "llama" in out

    src = _tiny_gguf(tmp_path / "tiny.gguf")
    code, out, _ = run(capsys, "models", "add", str(src), "--json")
    assert code == 0 and json.loads(out)["name"] == "tiny"

    code, out, _ = run(capsys, "models", "use", "--sub", "tiny", "--json")
    assert code == 0 and json.loads(out) == {"root": "default", "sub": "tiny"}

    code, out, _ = run(capsys, "models")
    assert code == 0 and "tiny" in out and "[sub]" in out

    code, out, _ = run(capsys, "models", "remove", "tiny")
    assert code == 0 and "removed tiny" in out


def test_bad_input_is_a_message_not_a_traceback(capsys, tmp_path):
    junk = tmp_path / "junk.gguf"
    junk.write_text("not a model")
    code, _, err = run(capsys, "models", "add", str(junk))
    assert code == 1 and "not a GGUF model file" in err and "Traceback" not in err
    code, _, err = run(capsys, "models", "use", "--root", "nope")
    assert code == 1 and "no model named 'nope'" in err
    code, _, err = run(capsys, "models", "remove", "default")
    assert code == 1 and "cannot be removed" in err


def test_endpoints_cli(capsys):
    code, out, _ = run(capsys, "models", "endpoints", "--json")
    assert code == 0 and json.loads(out) == {"endpoints": []}
    code, out, _ = run(capsys, "models", "endpoints", "add", "http://127.0.0.1:8099", "--json")
    assert code == 0 and json.loads(out) == {"endpoints": ["http://127.0.0.1:8099"]}
    code, out, _ = run(capsys, "models", "use", "--root", "endpoints")
    assert code == 0 and "root model: endpoints" in out
    code, _, err = run(capsys, "models", "endpoints", "add")
    assert code == 1 and "needs a URL" in err
    code, out, _ = run(capsys, "models", "endpoints", "remove", "http://127.0.0.1:8099")
    assert code == 0 and "no endpoints" in out
