"""The model runtime: one small interface (base.Model) and its backends.

    from app.llm.manager import load_model      # the embedded default, or any GGUF
    model = load_model()                         # cached per (file, settings)
    reply = model.chat([{"role": "user", "content": "Hi"}], max_tokens=32)

Modules: base (interface, errors), llamacpp (llama.cpp in process), endpoint
(OpenAI-compatible servers the user configured), fake (scripted, for tests), manager
(model library, role choice, loading), gguf (header reader). Importing this package
does not import llama_cpp; loading a model does.
"""

from app.llm.base import (
    Completion,
    CompletionRequest,
    ContextOverflow,
    GenerationCancelled,
    LLMError,
    Model,
    ModelLoadError,
    Usage,
)

__all__ = ["Completion", "CompletionRequest", "ContextOverflow", "GenerationCancelled", "LLMError", "Model",
           "ModelLoadError", "Usage"]
