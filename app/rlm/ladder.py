"""How much the model decides, by what it can do: a ladder of model strength.

A 135M model cannot judge relevance or write a faithful sentence; a 1.5B model can do
both, and a 7B model can drive a REPL. Guided mode therefore hands the model more of the
reading as it climbs:

    rung       from      the model...
    tie-break  any size  breaks ties between sentences the code ranked (its vote counts
                         only beyond a margin: ranked._decide)
    veto       >= 0.5B   also vetoes: a checked sentence it clearly says "no" to is dropped
    compose    >= 1B     also writes the answer as short prose from verified quotes; every
                         sentence must carry a citation, checked in code, or it is dropped
    repl       >= 3B     may drive REPL mode (or a configured endpoint, which is assumed
                         to serve a strong model)

Size and context come from the model (GGUF header through llama.cpp: parameters). A
model that fails the short probe (probe()) on first use, e.g. cannot pick the right
sentence out of three, stays one rung lower. The user can override with the run option
`ladder` (tie-break | veto | compose | repl).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

RUNGS = ("tie-break", "veto", "compose", "repl")
_FROM = {"veto": 0.5e9, "compose": 1.0e9, "repl": 3.0e9}
# llama.cpp counts parameters exactly; names such as "0.5B" round (Qwen2.5-0.5B has 494M).
_SLACK = 0.9

_EXPLAIN = {
    "tie-break": "code ranks the passages; the model only breaks near-ties",
    "veto": "code ranks the passages; the model breaks ties and vetoes passages it says do not answer",
    "compose": "the model judges passages and writes the answer from verified quotes, each sentence cited",
    "repl": "the model is strong enough to drive REPL mode; guided mode lets it judge and compose",
}


@dataclass
class Rung:
    name: str
    parameters: int | None
    why: str

    def at_least(self, rung: str) -> bool:
        return RUNGS.index(self.name) >= RUNGS.index(rung)

    @property
    def explain(self) -> str:
        return _EXPLAIN[self.name]

    def to_dict(self) -> dict:
        return {"rung": self.name, "parameters": self.parameters, "why": self.why, "means": self.explain}


def parameters_of(model) -> int | None:
    try:
        info = model.info()
    except Exception:
        return None
    n = info.get("parameters")
    return int(n) if isinstance(n, (int, float)) and n > 0 else None


def rung_for(model, override: str | None = None, probe_result: dict | None = None) -> Rung:
    if override in RUNGS:
        return Rung(override, parameters_of(model), "chosen in the run options")
    info = {}
    try:
        info = model.info()
    except Exception:
        pass
    if info.get("backend") == "endpoints" or type(model).__name__ == "EndpointPool":
        return Rung("repl", None, "a configured endpoint, assumed to serve a strong model")
    n = parameters_of(model)
    if n is None:
        return Rung("tie-break", None, "the model's size is unknown")
    name = "tie-break"
    for rung in ("veto", "compose", "repl"):
        if n >= _FROM[rung] * _SLACK:
            name = rung
    why = f"{n / 1e9:.2f}B parameters" if n >= 1e8 else f"{n / 1e6:.0f}M parameters"
    if probe_result is not None and not probe_result.get("ok", True) and name != "tie-break":
        name = RUNGS[RUNGS.index(name) - 1]
        why += f"; one rung lower: the probe failed ({probe_result.get('why', '')})"
    return Rung(name, n, why)


PROBE_QUESTION = "Which city is the capital of Australia?"
PROBE_SENTENCES = ("Sydney is the largest city in Australia.",
                   "Canberra is the capital city of Australia.",
                   "Melbourne hosts the Australian Open every year.")


def probe(model) -> dict:
    """Two short calls: a JSON schema is followed, and the sentence that answers is picked
    out of three. Runs on the model's first use in a process (the caller caches it)."""
    from app.llm.base import CompletionRequest, LLMError

    from app.rlm.checks import parse_json

    out = {"ok": True, "json": False, "picked": None}
    try:
        c = model.complete(CompletionRequest(
            messages=[{"role": "user", "content": "Reply in JSON with the field colour set to a colour."}],
            max_tokens=24, json_schema={"type": "object", "properties": {"colour": {"type": "string"}},
                                        "required": ["colour"]}))
        out["json"] = isinstance((parse_json(c.text) or {}).get("colour"), str)
        listing = "\n".join(f"{i + 1}. {s}" for i, s in enumerate(PROBE_SENTENCES))
        c = model.complete(CompletionRequest(
            messages=[{"role": "user", "content": f"Question: {PROBE_QUESTION}\n{listing}\n"
                                                  "Which numbered sentence answers the question? Reply 1, 2 or 3."}],
            max_tokens=1, grammar='root ::= "1" | "2" | "3"', choices=("1", "2", "3")))
        lp = c.choice_logprobs or {}
        out["picked"] = max(lp, key=lp.get) if lp else c.text.strip()[:1]
    except LLMError as e:
        out.update(ok=False, why=f"model error: {e}")
        return out
    if not out["json"]:
        out.update(ok=False, why="did not follow the JSON schema")
    elif out["picked"] != "2":
        out.update(ok=False, why=f"picked sentence {out['picked']} of 3, not the one that answers")
    return out


_probed: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def rung_of_run(model, override: str | None = None) -> tuple[Rung, dict | None]:
    """The rung for this model, probing it once per process when the probe can matter
    (a model big enough to climb above tie-break)."""
    first = rung_for(model, override)
    if override in RUNGS or first.name == "tie-break" or first.parameters is None:
        return first, None
    try:
        result = _probed.get(model)
    except TypeError:  # not weak-referenceable
        result = None
    if result is None:
        result = probe(model)
        try:
            _probed[model] = result
        except TypeError:
            pass
    return rung_for(model, override, result), result
