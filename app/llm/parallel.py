"""Several prompts decoded together in one llama.cpp context: parallel sequences.

llama-cpp-python's high-level Llama decodes one sequence (seq_id 0) per context; its
only multi-sequence path is embed(). llama.cpp itself takes a batch whose tokens belong
to different sequences (llama_batch.seq_id) in a context made with n_seq_max > 1, as
its own `llama-batched` and `llama-server --parallel` do. This module drives that
through the low-level bindings: each step decodes one new token of every running
sequence in a single llama_decode, and a waiting prompt joins as soon as a sequence
ends (continuous batching), so the weights are read once per step for all of them.
Each sequence has its own sampler chain, with its grammar first when it has one (a
JSON-schema map step), as llama.cpp's own samplers are meant to be chained.

The context is separate from the model's own (whose KV cache keeps its prefix reuse)
and shares the loaded weights; it is made on first use, sized for the batch, and kept
while later batches fit it. Requests with choices (first-token probabilities) are not
decoded here (LlamaCppModel runs those one by one).
"""

from __future__ import annotations

import codecs
import ctypes
import time
from dataclasses import dataclass, field

from app.llm.base import Completion, CompletionRequest, GenerationCancelled, LLMError, Usage
from app.llm.jsonfix import close_json

_CTX_STEP = 256  # per-sequence context is rounded up to this, so similar batches reuse the context


@dataclass
class _Seq:
    index: int  # position of the request in the caller's list
    tokens: list[int]
    request: CompletionRequest
    grammar: str | None = None  # GBNF, already checked to parse
    slot: int = -1
    fed: int = 0  # prompt tokens already in the batch
    next_token: int | None = None  # sampled, to be decoded in the next step
    n_out: int = 0
    text: str = ""
    emitted: int = 0
    t0: float = 0.0
    sampler: object = None
    decoder: object = field(default=None)


class ParallelDecoder:
    kv_unified = False

    def __init__(self, llm, abort, template_stop: list[str], *, n_threads: int, n_threads_batch: int,
                 n_batch: int = 512, name: str = "model"):
        import llama_cpp

        self._C = llama_cpp
        self._llm, self._abort, self._template_stop = llm, abort, template_stop
        self._vocab = llm._model.vocab
        self._threads = (n_threads, n_threads_batch)
        self.n_batch = max(64, int(n_batch))
        self.name = name
        self._ctx = None  # (LlamaContext, slots, per-sequence context)
        self._batch = None
        self.last_stats: dict = {}

    # --- the context --------------------------------------------------------------------
    def _context(self, slots: int, per_seq: int):
        from llama_cpp import _internals

        per_seq = -(-per_seq // _CTX_STEP) * _CTX_STEP
        if self._ctx is not None and self._ctx[1] == slots and self._ctx[2] >= per_seq:
            return self._ctx[0]
        self.close()
        C = self._C
        params = C.llama_context_params.from_buffer_copy(self._llm.context_params)
        params.n_seq_max = slots
        # One KV stream per sequence: map prompts share no long prefix, and llama.cpp
        # advises against a unified cache for that case.
        params.kv_unified = self.kv_unified
        params.n_ctx = slots * per_seq
        params.n_batch = self.n_batch
        params.n_ubatch = min(self.n_batch, int(self._llm.context_params.n_ubatch) or self.n_batch)
        params.n_threads, params.n_threads_batch = self._threads
        params.embeddings = False
        try:
            ctx = _internals.LlamaContext(model=self._llm._model, params=params, verbose=False)
        except ValueError as e:
            raise LLMError(f"llama.cpp could not make a context for {slots} parallel sequences: {e}") from None
        C.llama_set_abort_callback(ctx.ctx, self._abort.callback, self._abort.data)
        self._ctx = (ctx, slots, per_seq)
        self._batch = _internals.LlamaBatch(n_tokens=self.n_batch, embd=0, n_seq_max=1, verbose=False)
        return ctx

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx[0].close()
            self._ctx = None
        if self._batch is not None:
            self._batch.close()
            self._batch = None

    # --- sampling -------------------------------------------------------------------------
    def _sampler(self, request: CompletionRequest, grammar: str | None):
        """The same sampling as LlamaCppModel's single path: the grammar, then greedy at
        temperature 0, else top-k 40, top-p 0.95, min-p 0.05, temperature, seeded."""
        C = self._C
        chain = C.llama_sampler_chain_init(C.llama_sampler_chain_default_params())
        if grammar:
            g = C.llama_sampler_init_grammar(self._vocab, grammar.encode("utf-8"), b"root")
            if not g:  # LlamaCppModel parsed it before; a NULL here must not reach the chain
                C.llama_sampler_free(chain)
                raise LLMError("invalid GBNF grammar")
            C.llama_sampler_chain_add(chain, g)
        if float(request.temperature) <= 0:
            C.llama_sampler_chain_add(chain, C.llama_sampler_init_greedy())
        else:
            for s in (C.llama_sampler_init_top_k(40), C.llama_sampler_init_top_p(0.95, 1),
                      C.llama_sampler_init_min_p(0.05, 1), C.llama_sampler_init_temp(float(request.temperature)),
                      C.llama_sampler_init_dist(int(request.seed or 0) & 0xFFFFFFFF)):
                C.llama_sampler_chain_add(chain, s)
        return chain

    # --- the batch ------------------------------------------------------------------------
    def run(self, items: list[tuple[int, list[int], CompletionRequest, str | None]], slots: int) -> dict[int, object]:
        """Decode every (index, prompt tokens, request, GBNF or None) with at most `slots` sequences at
        once. Returns {index: Completion or exception}. A request whose cancel fires ends
        with GenerationCancelled at the next step; llama.cpp's own decode is aborted only
        once every unfinished request is cancelled."""
        C = self._C
        slots = max(1, min(slots, len(items)))
        per_seq = max(len(t) + r.max_tokens for _, t, r, _ in items) + 1
        ctx = self._context(slots, per_seq)
        mem = C.llama_get_memory(ctx.ctx)
        C.llama_memory_clear(mem, True)
        waiting = [_Seq(i, list(t), r, g) for i, t, r, g in items]
        running: list[_Seq] = []
        free = list(range(slots))
        results: dict[int, object] = {}
        piece_buf = ctypes.create_string_buffer(256)
        batch = self._batch
        steps = decoded = 0
        t_start = time.perf_counter()

        def unfinished_all_cancelled() -> bool:
            rest = running + waiting
            return bool(rest) and all(s.request.cancel is not None and s.request.cancel.cancelled for s in rest)

        watching: set[int] = set()
        for s in waiting:
            tok = s.request.cancel
            if tok is not None and id(tok) not in watching:
                watching.add(id(tok))
                # Only this batch's decode may trip: the flag is cleared when run() ends.
                tok.on_cancel(lambda: unfinished_all_cancelled() and self._abort.set())

        def finish(s: _Seq, outcome) -> None:
            results[s.index] = outcome
            running.remove(s)
            C.llama_memory_seq_rm(mem, s.slot, -1, -1)
            free.append(s.slot)
            C.llama_sampler_free(s.sampler)
            s.sampler = None

        self._abort.clear()
        try:
            while waiting or running:
                for s in list(running) + list(waiting):
                    if s.request.cancel is not None and s.request.cancel.cancelled:
                        if s in running:
                            finish(s, GenerationCancelled("cancelled during generation"))
                        else:
                            waiting.remove(s)
                            results[s.index] = GenerationCancelled("cancelled before the prompt was processed")
                while waiting and free:
                    s = waiting.pop(0)
                    s.slot, s.t0 = free.pop(0), time.perf_counter()
                    s.sampler = self._sampler(s.request, s.grammar)
                    s.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
                    running.append(s)
                if not running:
                    break
                # One token for every generating sequence, then prompt tokens in what is left.
                batch.reset()
                b = batch.batch
                outputs: list[tuple[_Seq, int]] = []
                for s in running:
                    if s.next_token is not None:
                        j = b.n_tokens
                        b.token[j], b.pos[j], b.n_seq_id[j], b.logits[j] = s.next_token, len(s.tokens) + s.n_out - 1, 1, True
                        b.seq_id[j][0] = s.slot
                        b.n_tokens += 1
                        outputs.append((s, j))
                for s in running:
                    if s.next_token is None and s.fed < len(s.tokens):
                        take = min(len(s.tokens) - s.fed, self.n_batch - b.n_tokens)
                        for k in range(take):
                            j = b.n_tokens
                            b.token[j], b.pos[j], b.n_seq_id[j] = s.tokens[s.fed + k], s.fed + k, 1
                            b.seq_id[j][0] = s.slot
                            b.logits[j] = False
                            b.n_tokens += 1
                        s.fed += take
                        if s.fed == len(s.tokens):
                            b.logits[b.n_tokens - 1] = True
                            outputs.append((s, b.n_tokens - 1))
                if b.n_tokens == 0:
                    raise LLMError("parallel decode made no progress")
                rc = C.llama_decode(ctx.ctx, b)
                steps, decoded = steps + 1, decoded + b.n_tokens
                if rc != 0:
                    if self._abort.is_set:
                        for s in list(running):
                            finish(s, GenerationCancelled("cancelled while the model was working"))
                        for s in waiting:
                            results[s.index] = GenerationCancelled("cancelled before the prompt was processed")
                        waiting.clear()
                        break
                    raise LLMError(f"llama.cpp failed during parallel generation (llama_decode returned {rc})")
                for s, j in outputs:
                    tok = C.llama_sampler_sample(s.sampler, ctx.ctx, j)
                    done = self._take(s, tok, piece_buf)
                    if done is not None:
                        finish(s, self._completion(s, done))
                    else:
                        s.next_token = tok
        except BaseException as e:
            # A failure of the step fails every request still open; finished ones keep their result.
            for s in running + waiting:
                results.setdefault(s.index, e if isinstance(e, Exception) else LLMError(str(e)))
            if not isinstance(e, Exception):
                raise
        finally:
            for s in running:
                if s.sampler is not None:
                    C.llama_sampler_free(s.sampler)
            C.llama_memory_clear(mem, True)
            self._abort.clear()
        self.last_stats = {"slots": slots, "steps": steps, "tokens_decoded": decoded,
                           "seconds": time.perf_counter() - t_start, "per_seq_ctx": self._ctx[2] if self._ctx else 0}
        return results

    def _take(self, s: _Seq, tok: int, piece_buf) -> str | None:
        """Add a sampled token to the sequence's text; the finish reason once it ends."""
        C = self._C
        if C.llama_vocab_is_eog(self._vocab, tok):
            return "stop"
        s.n_out += 1
        n = C.llama_token_to_piece(self._vocab, tok, piece_buf, 256, 0, False)
        s.text += s.decoder.decode(piece_buf.raw[: max(0, n)])
        stops = [x for x in list(s.request.stop or ()) + self._template_stop if x]
        hold = max((len(x) for x in stops), default=0)
        if stops:
            start = max(0, len(s.text) - n - hold - 4)
            hits = [i for i in (s.text.find(x, start) for x in stops) if i >= 0]
            if hits:
                s.text = s.text[: min(hits)]
                return "stop"
        if s.request.on_token is not None:
            safe = len(s.text) - hold if stops else len(s.text)
            if safe > s.emitted:
                s.request.on_token(s.text[s.emitted:safe])
                s.emitted = safe
        if s.n_out >= s.request.max_tokens:
            return "length"
        return None

    def _completion(self, s: _Seq, finish: str) -> Completion:
        s.text += s.decoder.decode(b"", final=True)
        if finish == "length" and s.request.json_schema is not None and not s.request.grammar:
            s.text = close_json(s.text) or s.text
        if s.request.on_token is not None and len(s.text) > s.emitted:
            s.request.on_token(s.text[s.emitted:])
        usage = Usage(prompt_tokens=len(s.tokens), completion_tokens=s.n_out, cached_tokens=0,
                      seconds=time.perf_counter() - s.t0)
        return Completion(text=s.text, usage=usage, finish_reason=finish, model=self.name)
