"""LlamaCppModel: any GGUF model in this process through llama-cpp-python.

What it adds over calling llama_cpp.Llama directly:
- load settings derived from the machine, load progress and cancel, and an honest
  info() (layers really on the GPU, load time, memory);
- cancellation that stops llama.cpp itself, inside a decode, through llama.cpp's abort
  callback: prompt processing of a long prompt stops within milliseconds;
- chat prompts built with the model's own template (GGUF metadata), tokenised once,
  so count_messages() is exact and ContextOverflow is raised before any work;
- prompt prefix reuse: the full token list goes to Llama.generate(), which keeps the
  KV cache of the longest common prefix with the previous call; Usage.cached_tokens
  reports how many prompt tokens were served from it;
- JSON-schema or GBNF grammar constrained output;
- one request at a time per model, with a visible queue.
"""

from __future__ import annotations

import atexit
import codecs
import ctypes
import json
import math
import re
import sys
import threading
import time
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

from app.cancel import CancelToken
from app.llm import backends, gguf, llamalog, machine
from app.llm.base import (
    Completion,
    CompletionRequest,
    ContextOverflow,
    GenerationCancelled,
    LLMError,
    Message,
    Model,
    ModelLoadError,
    Usage,
)
from app.llm.jsonfix import close_json
from app.llm.serial import RequestQueue

# Used when a GGUF file carries no chat template (old conversions): ChatML is what
# most small instruct models were trained on.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Patching llama.cpp's default model params (to pass a progress callback) is process-wide.
_LOAD_LOCK = threading.Lock()
_OFFLOAD_RE = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")
_ASSIGNED_RE = re.compile(r"layer\s+(\d+) assigned to device (\S+?),")


class LoadCancelled(GenerationCancelled):
    """The cancel token fired while the model was loading."""


def _llama():
    try:
        import llama_cpp
    except ImportError as e:  # pragma: no cover - the set-up installs it
        raise ModelLoadError(f"llama-cpp-python is not installed ({e}); run `make venv`") from e
    llamalog.install()
    try:
        backends.ensure_loaded()
    except OSError as e:
        raise ModelLoadError(f"llama.cpp has no CPU backend for this machine: {e}") from None
    return llama_cpp


def gpu_offload_supported() -> bool:
    """Whether this llama.cpp build can put layers on a GPU at all."""
    return bool(_llama().llama_supports_gpu_offload())


@dataclass(frozen=True)
class LoadSettings:
    n_ctx: int
    n_threads: int
    n_threads_batch: int
    n_gpu_layers: int  # 0 = CPU, -1 = all layers, N = the first N layers
    n_batch: int = 512
    n_ubatch: int = 512
    flash_attn: bool = False
    embedding: bool = False  # an encoder loaded for sentence embeddings (embed()), not for chat


def resolve_settings(
    info: gguf.GGUFInfo,
    *,
    n_ctx: int | None = None,
    n_threads: int | None = None,
    n_threads_batch: int | None = None,
    n_gpu_layers: int | None = None,
    n_batch: int | None = None,
    n_ubatch: int | None = None,
    flash_attn: bool = False,
    embedding: bool = False,
) -> LoadSettings:
    """Fill unset settings from the machine and the model file."""
    gen_threads, batch_threads = machine.default_threads()
    if n_ctx is None or n_ctx <= 0:
        n_ctx = machine.default_n_ctx(info.context_length, info.kv_bytes_per_token())
    if n_gpu_layers is None:
        # Decided without loading llama.cpp here: the parent of a model host never does.
        n_gpu_layers = -1 if backends.gpu_backend_files() else 0
    n_batch = int(n_batch or 512)
    return LoadSettings(
        n_ctx=int(n_ctx),
        n_threads=int(n_threads or gen_threads),
        n_threads_batch=int(n_threads_batch or n_threads or batch_threads),
        n_gpu_layers=int(n_gpu_layers),
        n_batch=min(n_batch, int(n_ctx)),
        n_ubatch=min(int(n_ubatch or n_batch), n_batch, int(n_ctx)),
        flash_attn=bool(flash_attn),
        embedding=bool(embedding),
    )


class _AbortFlag:
    """A byte llama.cpp's abort callback reads between graph nodes.

    The callback is libc's strlen on a 2-byte buffer: "" -> 0 (continue), "x" -> 1
    (abort). ggml calls the abort callback once per graph node (hundreds per token);
    a C function costs nothing there, while a Python callback would take the GIL each
    time and stall behind any busy Python thread (the GUI). Falls back to a Python
    callback where libc cannot be found."""

    def __init__(self, llama_cpp, native: bool = True):
        self.buf = ctypes.create_string_buffer(2)
        self.native = native
        fn = None
        try:
            if not native:
                raise OSError("python callback requested")
            libc = ctypes.cdll.msvcrt if sys.platform == "win32" else ctypes.CDLL(None)
            fn = llama_cpp.ggml_abort_callback(ctypes.cast(libc.strlen, ctypes.c_void_p).value)
        except (OSError, AttributeError, TypeError):
            fn = None
        if fn is None:
            self.native = False
            fn = llama_cpp.ggml_abort_callback(lambda _data: self.buf.raw[0] != 0)
        self.callback = fn
        self.data = ctypes.cast(self.buf, ctypes.c_void_p)

    def set(self) -> None:
        self.buf[0] = b"x"

    def clear(self) -> None:
        self.buf[0] = b"\0"

    @property
    def is_set(self) -> bool:
        return self.buf.raw[0] != 0


def _grammar_key(request: CompletionRequest) -> tuple:
    if request.grammar:
        return ("gbnf", request.grammar)
    return ("schema", json.dumps(request.json_schema))


def _offload_from_log(lines: list[str]) -> tuple[int, int] | None:
    """(layers on a GPU, layers in all) as llama.cpp reported them while loading."""
    devices: dict[int, str] = {}
    summary = None
    for line in lines:
        m = _ASSIGNED_RE.search(line)
        if m:
            devices[int(m.group(1))] = m.group(2)
        m = _OFFLOAD_RE.search(line)
        if m:
            summary = (int(m.group(1)), int(m.group(2)))
    if devices:
        return sum(1 for d in devices.values() if not d.upper().startswith("CPU")), len(devices)
    return summary


# Models still alive at interpreter exit are closed while ctypes is intact; left to
# llama-cpp-python's __del__ during teardown they print "'NoneType' object is not callable".
_LIVE: "weakref.WeakSet[LlamaCppModel]" = weakref.WeakSet()


@atexit.register
def _close_live_models() -> None:
    for model in list(_LIVE):
        try:
            model.close()
        except Exception:
            pass


class LlamaCppModel(Model):
    def __init__(
        self,
        path: str | Path,
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_threads_batch: int | None = None,
        n_gpu_layers: int | None = None,
        n_batch: int | None = None,
        n_ubatch: int | None = None,
        flash_attn: bool = False,
        progress: Callable[[float], None] | None = None,
        cancel: CancelToken | None = None,
        name: str | None = None,
        settings: LoadSettings | None = None,
    ):
        self.path = Path(path)
        self.gguf = gguf.read_gguf(self.path)  # rejects non-GGUF files before llama.cpp sees them
        self.settings = settings or resolve_settings(
            self.gguf, n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads_batch,
            n_gpu_layers=n_gpu_layers, n_batch=n_batch, n_ubatch=n_ubatch, flash_attn=flash_attn,
        )
        self.name = name or self.path.stem
        self._queue = RequestQueue()
        self._grammars: dict = {}
        self._gbnf: dict = {}
        self._closed = False
        _LIVE.add(self)
        self._load(progress, cancel)

    # --- loading -----------------------------------------------------------------------
    def _load(self, progress, cancel) -> None:
        llama_cpp = _llama()
        from llama_cpp import llama_chat_format
        from llama_cpp import llama_cpp as C

        s = self.settings
        if cancel is not None and cancel.cancelled:
            raise LoadCancelled(f"loading {self.path.name} was cancelled")

        def on_progress(fraction, _data):
            if progress is not None:
                try:
                    progress(float(fraction))
                except Exception:  # a broken progress bar must not break loading
                    pass
            return not (cancel is not None and cancel.cancelled)

        c_progress = C.llama_progress_callback(on_progress)
        original_defaults = C.llama_model_default_params

        def params_with_progress():
            p = original_defaults()
            p.progress_callback = c_progress
            return p

        rss0 = machine.rss_bytes()
        t0 = time.perf_counter()
        with llamalog.capture(quiet=True) as log_lines, _LOAD_LOCK:
            C.llama_model_default_params = params_with_progress
            try:
                self._llm = llama_cpp.Llama(
                    model_path=str(self.path),
                    n_ctx=s.n_ctx,
                    n_threads=s.n_threads,
                    n_threads_batch=s.n_threads_batch,
                    n_gpu_layers=s.n_gpu_layers,
                    n_batch=s.n_batch,
                    n_ubatch=s.n_ubatch,
                    flash_attn=s.flash_attn,
                    embedding=s.embedding,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as e:
                if cancel is not None and cancel.cancelled:
                    raise LoadCancelled(f"loading {self.path.name} was cancelled") from None
                why = llamalog.errors_in(log_lines) or str(e)
                raise ModelLoadError(
                    f"could not load {self.path.name}: the file is damaged or not a model llama.cpp "
                    f"supports (architecture {self.gguf.architecture!r}). llama.cpp said: {why}"
                ) from None
            finally:
                C.llama_model_default_params = original_defaults
        self.load_seconds = time.perf_counter() - t0
        rss1 = machine.rss_bytes()
        self._rss_delta = (rss1 - rss0) if (rss0 is not None and rss1 is not None) else None
        if progress is not None:
            try:
                progress(1.0)
            except Exception:
                pass
        self._log_offload = _offload_from_log(log_lines)

        llm = self._llm
        self._vocab = llm._model.vocab
        self._abort = _AbortFlag(llama_cpp)
        llama_cpp.llama_set_abort_callback(llm.ctx, self._abort.callback, self._abort.data)

        eos_id, bos_id = llm.token_eos(), llm.token_bos()
        eos = llm._model.token_get_text(eos_id) if eos_id != -1 else ""
        bos = llm._model.token_get_text(bos_id) if bos_id != -1 else ""
        template = llm.metadata.get("tokenizer.chat_template")
        self.chat_template_source = "gguf" if template else "chatml (fallback: no template in the file)"
        self._formatter = llama_chat_format.Jinja2ChatFormatter(
            template=template or CHATML_TEMPLATE, eos_token=eos, bos_token=bos,
            stop_token_ids=[eos_id],
        )
        self._template_stop = [eos] if eos else []

    # --- Model interface -------------------------------------------------------------
    @property
    def n_ctx(self) -> int:
        return self._llm.n_ctx()

    @property
    def queue_length(self) -> int:
        return self._queue.waiting

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The exact tokens a chat request feeds the model (template applied)."""
        try:
            result = self._formatter(messages=[dict(m) for m in messages])
        except Exception as e:  # templates raise for e.g. a system message they do not allow
            raise LLMError(f"{self.name}'s chat template rejected the messages: {e}") from None
        return self._llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)

    def count_messages(self, messages: Sequence[Message]) -> int:
        return len(self.prompt_tokens(messages))

    def info(self) -> dict:
        llama_cpp = _llama()
        llm = self._llm
        n_layer = int(llama_cpp.llama_model_n_layer(llm.model))
        supported = gpu_offload_supported()
        if self._log_offload is not None:
            gpu_layers, offloadable = self._log_offload
        else:
            offloadable = n_layer + 1  # repeating layers + the output layer
            req = self.settings.n_gpu_layers
            gpu_layers = 0 if not supported else (offloadable if req < 0 else min(req, offloadable))
        note = ""
        if self.settings.n_gpu_layers != 0 and not supported:
            note = ("this llama.cpp build has no GPU support: n_gpu_layers="
                    f"{self.settings.n_gpu_layers} was ignored and the model runs on the CPU")
        kv_per_tok = self.gguf.kv_bytes_per_token()
        return {
            "backend": "llama.cpp",
            "llama_cpp_python": getattr(llama_cpp, "__version__", "?"),
            "name": self.name,
            "file": str(self.path),
            "file_size": self.gguf.file_size,
            "architecture": self.gguf.architecture,
            "parameters": int(llama_cpp.llama_model_n_params(llm.model)),
            "quantisation": self.gguf.quantisation,
            "n_ctx": self.n_ctx,
            "n_ctx_train": self.gguf.context_length,
            "n_threads": self.settings.n_threads,
            "n_threads_batch": self.settings.n_threads_batch,
            "n_batch": self.settings.n_batch,
            "n_ubatch": self.settings.n_ubatch,
            "n_gpu_layers_requested": self.settings.n_gpu_layers,
            "gpu_offload_supported": supported,
            "gpu_layers": gpu_layers,
            "n_layers": offloadable,
            "device": "GPU" if gpu_layers >= offloadable and gpu_layers > 0 else ("GPU+CPU" if gpu_layers else "CPU"),
            "note": note,
            "load_seconds": round(self.load_seconds, 3),
            "model_bytes": int(llama_cpp.llama_model_size(llm.model)),
            "kv_cache_bytes": kv_per_tok * self.n_ctx if kv_per_tok else None,
            "rss_delta_bytes": self._rss_delta,
            "chat_template": self.chat_template_source,
            "abort_callback": "native" if self._abort.native else "python",
            "settings": asdict(self.settings),
        }

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not self.settings.embedding:
            raise LLMError(f"{self.name} was not loaded for embeddings")
        if not texts:
            return []
        with self._queue.turn():
            try:
                # truncate: an input longer than the encoder's window is read up to it.
                return [list(map(float, v)) for v in self._llm.embed(list(texts), normalize=True, truncate=True)]
            except (RuntimeError, ValueError) as e:
                raise LLMError(f"{self.name} could not embed: {e}") from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._queue.turn():
            if self._parallel is not None:
                self._parallel.close()  # its context holds the weights' model: freed first
            self._llm.close()

    # --- grammar -------------------------------------------------------------------------
    def _grammar(self, request: CompletionRequest):
        if request.grammar:
            key, text = ("gbnf", request.grammar), request.grammar
        elif request.json_schema is not None:
            from llama_cpp.llama_grammar import json_schema_to_gbnf

            # Key order matters: the grammar makes the model write properties in this order.
            key = _grammar_key(request)
            if key not in self._grammars:
                try:
                    text = json_schema_to_gbnf(key[1])
                except Exception as e:
                    raise LLMError(f"unsupported JSON schema: {e}") from None
            else:
                text = ""
        else:
            return None
        if key not in self._grammars:
            self._grammars[key] = self._compile_grammar(text)
            self._gbnf[key] = text  # parallel sequences build their own grammar samplers from it
        return self._grammars[key]

    def _compile_grammar(self, text: str):
        llama_cpp = _llama()
        from llama_cpp.llama_grammar import LlamaGrammar

        # llama-cpp-python adds an unparsable grammar to the sampler chain as NULL and
        # crashes; parse it once here and turn failure into a clear error.
        lines: list[str] = []
        with llamalog.capture(quiet=True) as logged, llamalog.stderr_to(lines):
            sampler = llama_cpp.llama_sampler_init_grammar(self._vocab, text.encode("utf-8"), b"root")
        if not sampler:
            why = llamalog.errors_in(logged + lines) or "parse error"
            raise LLMError(f"invalid GBNF grammar: {why}")
        llama_cpp.llama_sampler_free(sampler)
        return LlamaGrammar.from_string(text, verbose=False)

    # --- completion ------------------------------------------------------------------------
    def complete(self, request: CompletionRequest) -> Completion:
        if self._closed:
            raise LLMError(f"model {self.name} is closed")
        tokens = self.prompt_tokens(request.messages)
        if len(tokens) + request.max_tokens > self.n_ctx:
            raise ContextOverflow(len(tokens), request.max_tokens, self.n_ctx, self.name)
        grammar = self._grammar(request)
        cancel = request.cancel
        with self._queue.turn():
            if cancel is not None and cancel.cancelled:
                raise GenerationCancelled("cancelled before the prompt was processed")
            self._abort.clear()
            active = [True]
            if cancel is not None:
                # One token often serves a whole run of calls; only the running call may trip.
                cancel.on_cancel(lambda: active[0] and self._abort.set())
            try:
                with llamalog.aborts_from(self._abort):
                    return self._generate(tokens, request, grammar)
            finally:
                active[0] = False
                self._abort.clear()

    def complete_many(self, requests: Sequence[CompletionRequest], max_concurrency: int = 4) -> list:
        """Requests are decoded together as parallel sequences (parallel.py), at most
        max_concurrency at once, grammars included; those with choices, and a batch of
        one, go through complete() one by one, which keeps the prefix cache. Results in
        request order, each a Completion or the exception of its request."""
        if self._closed:
            raise LLMError(f"model {self.name} is closed")
        out: list = [None] * len(requests)
        plain: list[tuple[int, list[int], CompletionRequest, str | None]] = []
        alone: list[int] = []
        for i, req in enumerate(requests):
            if req.choices:
                alone.append(i)
                continue
            try:
                tokens = self.prompt_tokens(req.messages)
                if len(tokens) + req.max_tokens > self.n_ctx:
                    raise ContextOverflow(len(tokens), req.max_tokens, self.n_ctx, self.name)
                self._grammar(req)  # parses (and caches) it: a bad grammar fails its request only
                gbnf = self._gbnf.get(_grammar_key(req)) if (req.grammar or req.json_schema is not None) else None
            except LLMError as e:
                out[i] = e
                continue
            plain.append((i, tokens, req, gbnf))
        if max_concurrency <= 1 or len(plain) <= 1:
            alone = sorted(alone + [i for i, *_ in plain])
            plain = []
        if plain:
            with self._queue.turn():
                if self._parallel is None:
                    from app.llm.parallel import ParallelDecoder

                    self._parallel = ParallelDecoder(
                        self._llm, self._abort, self._template_stop, n_threads=self.settings.n_threads,
                        n_threads_batch=self.settings.n_threads_batch, n_batch=self.settings.n_batch, name=self.name)
                with llamalog.aborts_from(self._abort):
                    for i, res in self._parallel.run(plain, max_concurrency).items():
                        out[i] = res
        for i in alone:
            try:
                out[i] = self.complete(requests[i])
            except Exception as e:  # kept in its slot, as Model.complete_many does
                out[i] = e
        return out

    _parallel = None

    def _cached_prefix(self, tokens: list[int]) -> int:
        """Prompt tokens Llama.generate() will take from the KV cache (its own rule)."""
        llm = self._llm
        n = 0
        for a, b in zip(llm._input_ids, tokens):
            if a != b:
                break
            n += 1
        if n == len(tokens):
            n -= 1  # it re-decodes the last prompt token to get fresh logits
        return max(0, n)

    def _generate(self, tokens: list[int], request: CompletionRequest, grammar) -> Completion:
        llama_cpp = _llama()
        llm = self._llm
        t0 = time.perf_counter()
        cached = self._cached_prefix(tokens)
        stops = [s for s in list(request.stop or ()) + self._template_stop if s]
        hold = max((len(s) for s in stops), default=0)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        piece_buf = ctypes.create_string_buffer(256)
        text = ""
        emitted = 0
        n_out = 0
        finish = "length"
        self.last_timings = {"prompt_seconds": 0.0, "generation_seconds": 0.0, "prompt_tokens": len(tokens) - cached}
        t_first = None
        choice_logprobs = None
        llm.set_seed(int(request.seed) if request.seed is not None else 0)
        gen = llm.generate(
            tokens, top_k=40, top_p=0.95, min_p=0.05, temp=float(request.temperature),
            repeat_penalty=1.0, grammar=grammar,
        )
        try:
            for tok in gen:
                if t_first is None:
                    t_first = time.perf_counter()
                    if request.choices:
                        choice_logprobs = self._choice_logprobs(request.choices)
                if self._abort.is_set:
                    raise GenerationCancelled("cancelled during generation")
                if llama_cpp.llama_vocab_is_eog(self._vocab, tok):
                    finish = "stop"
                    break
                n_out += 1
                n = llama_cpp.llama_token_to_piece(self._vocab, tok, piece_buf, 256, 0, False)
                text += decoder.decode(piece_buf.raw[: max(0, n)])
                if stops:
                    # Only the tail can hold a stop string that is new with this token.
                    start = max(0, len(text) - n - hold - 4)
                    hits = [i for i in (text.find(s, start) for s in stops) if i >= 0]
                    if hits:
                        text = text[: min(hits)]
                        finish = "stop"
                        break
                if request.on_token is not None:
                    # Hold back what could be the start of a stop string.
                    safe = len(text) - hold if stops else len(text)
                    if safe > emitted:
                        request.on_token(text[emitted:safe])
                        emitted = safe
                if n_out >= request.max_tokens:
                    finish = "length"
                    break
        except RuntimeError as e:
            if self._abort.is_set:
                raise GenerationCancelled("cancelled while the model was working") from None
            raise LLMError(f"llama.cpp failed during generation: {e}") from None
        finally:
            gen.close()
        if self._abort.is_set:
            raise GenerationCancelled("cancelled")
        text += decoder.decode(b"", final=True)
        if finish == "length" and request.json_schema is not None and not request.grammar:
            text = close_json(text) or text
        if request.on_token is not None and len(text) > emitted:
            request.on_token(text[emitted:])
        t_end = time.perf_counter()
        if t_first is not None:
            self.last_timings.update(prompt_seconds=t_first - t0, generation_seconds=t_end - t_first,
                                     generated_tokens=n_out)
        usage = Usage(prompt_tokens=len(tokens), completion_tokens=n_out, cached_tokens=cached,
                      seconds=t_end - t0)
        return Completion(text=text, usage=usage, finish_reason=finish, model=self.name,
                          choice_logprobs=choice_logprobs)

    def _choice_logprobs(self, choices) -> dict[str, float]:
        """Log-probabilities of each choice's first token at the first reply position, read
        from the raw logits (before any grammar), renormalised over the choices. Valid only
        while the first sampled token has not been decoded yet."""
        llama_cpp = _llama()
        row = llama_cpp.llama_get_logits_ith(self._llm._ctx.ctx, -1)
        ids = {}
        for c in choices:
            toks = self._llm.tokenize(c.encode("utf-8"), add_bos=False, special=False)
            if toks:
                ids[c] = toks[0]
        if not ids:
            return {}
        raw = {c: float(row[i]) for c, i in ids.items()}
        top = max(raw.values())
        total = math.log(sum(math.exp(v - top) for v in raw.values())) + top
        return {c: v - total for c, v in raw.items()}
