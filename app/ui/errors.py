"""Messages a person can act on: engine errors turned into plain sentences, and what
the model runtime really is (variant, GPU layers, self-check), from the loaded models'
info() only (the window never imports llama_cpp)."""

from __future__ import annotations

import re

# Python byte-string reprs (b'\xcbAR\xe6') and their lead-in mean nothing to a reader.
_BYTES = re.compile(r"""\s*(?:[;,]\s*)?(?:this one\s+)?(?:starts with\s+)?b(['"])(?:\\.|(?!\1).)*\1""")
_BYTES_IN_PARENS = re.compile(r"""\s*\([^()]*\bb['"][^()]*\)""")
_MODEL_WORDS = ("model", "gguf", "llama", "endpoint", "context", "host", "tokens")


def humane_error(message: str) -> tuple[str, str]:
    """(text, action) for a run note or error: action is 'settings' when changing the
    model would fix it, else ''. The text is complete (never cut) and has no byte reprs."""
    text = " ".join(str(message or "").split())
    if not text:
        return "", ""
    text = _BYTES.sub("", _BYTES_IN_PARENS.sub("", text)).strip()
    lower = text.lower()
    action = ""
    if "gguf" in lower and ("damaged" in lower or "not a gguf" in lower or "start with" in lower
                            or "magic" in lower or "starts with" in lower):
        text = (f"{text.rstrip(' .;,:')}: the file may be damaged, incomplete or another kind of file. "
                "Choose another model in Models and settings.")
        action = "settings"
    elif "model file not found" in lower or "no such model" in lower or "not in the model library" in lower:
        text += ". Choose a model that exists in Models and settings."
        action = "settings"
    elif "model error" in lower or "modelcrashed" in lower or "model host" in lower or "cannot load the model" in lower \
            or (lower.startswith(("llmerror", "modelloaderror")) and any(w in lower for w in _MODEL_WORDS)):
        action = "settings"
    elif "endpoint" in lower and ("none are configured" in lower or "unreachable" in lower or "refused" in lower):
        action = "settings"
    text = re.sub(r"^(LLMError|ModelLoadError|ModelCrashed):\s*", "", text)
    return text, action


def runtime_summary(info: dict) -> tuple[str, str]:
    """(status bar text, tooltip) for the loaded models: name, CPU variant, GPU layers,
    self-check and its tokens/s. Only what info() reports; nothing is assumed."""
    root = dict(info.get("root") or {})
    if not root:
        return "Model: not loaded yet", ""
    parts = [f"Model: {root.get('name', 'model')}"]
    variant = root.get("variant")
    gl = root.get("gpu_layers", root.get("n_gpu_layers"))
    n_layers = root.get("n_layers")
    if variant:
        parts.append(f"CPU {variant}")
    if gl is not None:
        parts.append(f"{int(gl)} GPU layers" + (f" of {n_layers}" if gl and n_layers else ""))
    check = root.get("selfcheck") or {}
    if check:
        tps = check.get("tokens_per_s")
        parts.append(("self-check passed" if check.get("ok") else "self-check FAILED")
                     + (f", {float(tps):.0f} tok/s" if tps else ""))
    if root.get("n_ctx"):
        parts.append(f"context {int(root['n_ctx']):,}")
    sub = info.get("sub")
    if sub:
        parts.append(f"sub-model {sub.get('name', '')}")
    tip = runtime_lines(root)
    return " · ".join(parts), "\n".join(tip)


def runtime_lines(root: dict) -> list[str]:
    """Readable lines for the settings dialog and the status bar's tooltip."""
    lines = []
    if root.get("name"):
        lines.append(f"Model: {root['name']}")
    if root.get("variant"):
        lines.append(f"CPU variant: {root['variant']}" + (f" — {root['variant_reason']}" if root.get("variant_reason") else ""))
    if root.get("device"):
        lines.append(f"Device: {root['device']}")
    gl = root.get("gpu_layers", root.get("n_gpu_layers"))
    if gl is not None:
        lines.append(f"GPU layers offloaded: {gl}" + (f" of {root['n_layers']}" if root.get("n_layers") else ""))
    if "gpu_offload_supported" in root:
        lines.append("GPU offload: " + ("available in this build" if root["gpu_offload_supported"]
                                        else "not in this build (CPU only)"))
    check = root.get("selfcheck")
    if check:
        tps = check.get("tokens_per_s")
        lines.append(("Self-check: passed" if check.get("ok") else "Self-check: failed")
                     + (f", {float(tps):.1f} tokens/s generated" if tps else ""))
    elif "selfcheck" in root:
        lines.append("Self-check: not run")
    if root.get("n_threads"):
        lines.append(f"Threads: {root['n_threads']}")
    if root.get("process"):
        lines.append(f"Runs in: {root['process']}")
    if root.get("note"):
        lines.append(str(root["note"]))
    return lines
