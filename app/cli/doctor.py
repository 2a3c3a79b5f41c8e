"""`lectern doctor`: what llama.cpp runs on here, and proof that it works.

Loads the root model in a model host, runs the self-check generation there and prints
the CPU's features, the CPU variants with their scores, which one was chosen and why,
the devices ggml sees, layers offloaded and the self-check's result and speed."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser("doctor", help="check the model runtime on this machine (CPU variant, GPU, self-check)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--model", default=None, help="model name or GGUF path (default: the root model)")
    p.add_argument("--recheck", action="store_true", help="forget what this machine proved before and check again")
    p.set_defaults(func=run)


def report(model_name: str | None = None, recheck: bool = False) -> dict:
    from app.llm import backends, hosted, manager
    from app.llm.base import LLMError

    if recheck:
        hosted.forget_state()
    state = hosted.read_state()
    variants = [{"name": v.name, "score": backends.score(v), "denied": v.denied, "failed_here": state["bad"].get(v.name, "")}
                for v in backends.variant_files()]
    out: dict = {"cpu": backends.cpu_name(), "cpu_features": backends.cpu_features(), "variants": variants,
                 "gpu_backends": [f.name for f in backends.gpu_backend_files()], "ok": False}
    try:
        name = model_name or manager.get_choice()["root"]
        model = manager.load_model(None if name == manager.DEFAULT_NAME else name)
        if not isinstance(model, hosted.HostedModel):
            raise LLMError("the root model is not a local GGUF model")
        # Always measured now: doctor reports this moment's speed, not a remembered one.
        check = model.selfcheck if model.checked_now else model.run_selfcheck()
        info = model.info()
        from app.rlm import ladder

        rung, probed = ladder.rung_of_run(model)
        out["ladder"] = {**rung.to_dict(), "probe": probed}
        out.update(model=info.get("name"), file=info.get("file"), chosen_variant=model.variant,
                   why=model.variant_reason, devices=info.get("devices", []),
                   gpu_layers=info.get("gpu_layers", 0), n_layers=info.get("n_layers"),
                   selfcheck=check, ok=bool(check.get("ok")))
    except (LLMError, OSError) as e:
        out["error"] = str(e)
    out["embedder"] = _embedder()
    return out


def _embedder() -> dict:
    """The sentence-embedding model: loads, and tells a paraphrase from an unrelated line."""
    from app.llm import manager
    from app.llm.base import LLMError

    model = manager.load_embedder()
    if model is None:
        return {"ok": False, "error": manager.embedder_problem()}
    try:
        q, near, far = model.embed(["Who wrote this program?", "The program was written by two statisticians.",
                                    "Lamps need new bulbs every year."])
    except LLMError as e:
        return {"ok": False, "name": model.name, "error": str(e)}
    near_cos, far_cos = (sum(a * b for a, b in zip(q, v)) for v in (near, far))
    return {"ok": near_cos > far_cos, "name": model.name, "file": model.info().get("file"),
            "paraphrase": round(near_cos, 3), "unrelated": round(far_cos, 3)}


def _text(r: dict) -> str:
    lines = [f"CPU:            {r['cpu']}", f"CPU features:   {' '.join(r['cpu_features']) or '(unknown)'}"]
    if r["variants"]:
        lines.append("CPU variants:   " + ", ".join(
            f"{v['name']}({v['score']})" + (" [never used: " + v["denied"] + "]" if v["denied"] else "")
            + (" [failed here: " + v["failed_here"] + "]" if v["failed_here"] else "")
            for v in sorted(r["variants"], key=lambda v: -v["score"])))
    else:
        lines.append("CPU variants:   none (a single-CPU build)")
    lines.append(f"GPU backends:   {', '.join(r['gpu_backends']) or 'none in this build'}")
    if "chosen_variant" in r:
        lines += [f"Chosen:         {r['chosen_variant']}: {r['why']}",
                  "Devices:        " + "; ".join(f"{d['type']}: {d['description'] or d['name']}" for d in r["devices"]),
                  f"GPU layers:     {r['gpu_layers']} of {r['n_layers']}",
                  f"Model:          {r['model']} ({r['file']})",
                  f"Self-check:     {'passed' if r['ok'] else 'FAILED'}: “{r['selfcheck'].get('text', '')}” "
                  f"at {r['selfcheck'].get('tokens_per_s')} tokens/s",
                  f"Ladder:         {r['ladder']['rung']} ({r['ladder']['why']}): {r['ladder']['means']}"]
    e = r.get("embedder") or {}
    if e.get("name") and "paraphrase" in e:
        lines.append(f"Embeddings:     {'passed' if e['ok'] else 'FAILED'}: {e['name']} ({e['file']}); "
                     f"a paraphrase {e['paraphrase']:.2f}, an unrelated line {e['unrelated']:.2f}")
    elif e:
        lines.append(f"Embeddings:     unavailable ({e.get('error', '')}): passages are ranked by words only")
    if r.get("error"):
        lines.append(f"Error:          {r['error']}")
    return "\n".join(lines)


def run(args) -> int:
    r = report(args.model, args.recheck)
    print(json.dumps(r, indent=1) if args.json else _text(r))
    sys.stdout.flush()
    return 0 if r["ok"] else 1
