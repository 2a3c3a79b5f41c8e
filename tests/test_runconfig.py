"""The one run configuration (app/runconfig.py) shared by `lectern ask` and the window:
same defaults, explicit "no limit", saved once and read by both."""

from __future__ import annotations

import json
import math

import pytest

from app.cli import main
from app.llm.fake import FakeModel
from app.rlm import Budget, Controller
from app.rlm.testing import add_text_document, oracle_responder
from app.runconfig import RunConfig, check_limit, parse_limit
from app.store import open_store

FACT = "The vault code for project heron is 4417."


def find_heron(text):
    import re

    m = re.search(r"[^.]*heron is (\d+)\.", text)
    return (m.group(1), m.group(0).strip()) if m else None


def test_defaults_are_the_engines_defaults():
    cfg = RunConfig.load()
    b, d = cfg.budget(), Budget()
    assert (b.max_calls, b.max_tokens, b.max_seconds, b.max_depth) == (d.max_calls, d.max_tokens, d.max_seconds, d.max_depth)
    assert cfg.mode == "guided" and cfg.root == "default" and cfg.sub == "default" and cfg.endpoints == []


def test_no_limit_is_explicit_and_zero_is_refused():
    cfg = RunConfig().replace(max_tokens=None, max_seconds=None, max_calls=None)
    b = cfg.budget()
    assert b.max_tokens == math.inf and b.max_seconds == math.inf and b.max_calls == math.inf
    # stored runs keep JSON: "no limit" is None there, never Infinity
    assert b.to_dict()["max_seconds"] is None
    assert "no limit on tokens" in cfg.describe_budget()
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            RunConfig().replace(max_seconds=bad)
    with pytest.raises(ValueError):
        RunConfig().replace(max_calls=2.5)
    assert parse_limit("none") is None and parse_limit("Unlimited") is None
    assert check_limit("max_calls", "12", int) == 12


def test_saved_by_one_front_end_read_by_the_other():
    RunConfig().replace(max_calls=7, max_seconds=None, mode="rag", n_threads=2,
                        endpoints=["http://127.0.0.1:8080"]).save()
    again = RunConfig.load()
    assert (again.max_calls, again.max_seconds, again.mode, again.n_threads) == (7, None, "rag", 2)
    from app.llm import manager

    assert manager.get_endpoints() == ["http://127.0.0.1:8080"] == again.endpoints
    # `lectern models use` writes the roles; the configuration sees them at once
    manager.set_choice(root="endpoints")
    assert RunConfig.load().root == "endpoints"


def test_a_damaged_file_falls_back_to_defaults(lectern_home):
    (lectern_home / "run.json").write_text(json.dumps({"max_calls": -3, "max_seconds": "soon", "max_depth": 1}))
    cfg = RunConfig.load()
    assert cfg.max_calls == 48 and cfg.max_seconds == 600.0 and cfg.max_depth == 1


def test_an_unlimited_run_finishes_with_no_timer_and_stores_none(store):
    add_text_document(store, "Heron Report", ["Filler text about the committee.", FACT])
    cfg = RunConfig().replace(max_tokens=None, max_seconds=None)
    res = Controller(store, FakeModel(responder=oracle_responder(find_heron))).ask(
        "What is the vault code for project heron?", budget=cfg.budget())
    assert res.status == "done" and res.answer.startswith("4417")
    run = store.get_run(res.run_id)
    assert run["settings"]["max_seconds"] is None and run["settings"]["max_tokens"] is None


@pytest.fixture
def cli_library(monkeypatch):
    from app.llm import manager

    with open_store() as s:
        add_text_document(s, "Heron Report", ["Filler text.", FACT])
    model = FakeModel(responder=oracle_responder(find_heron))
    monkeypatch.setattr(manager, "load_model", lambda path=None, **kw: model)


def test_cli_uses_the_saved_configuration_and_no_limit(cli_library, capsys):
    RunConfig().replace(max_calls=1).save()
    assert main(["ask", "What is the vault code for project heron?", "--quiet"]) == 0
    assert "call budget reached (1 model calls)" in capsys.readouterr().out
    assert main(["ask", "What is the vault code for project heron?", "--quiet", "--max-calls", "none",
                 "--max-seconds", "none", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["status"] == "done" and run["settings"]["max_calls"] is None and run["settings"]["max_seconds"] is None


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf"])
def test_cli_refuses_a_zero_or_meaningless_limit(cli_library, capsys, value):
    with pytest.raises(SystemExit) as e:
        main(["ask", "q", "--max-seconds", value])
    assert e.value.code == 2
    assert "none" in capsys.readouterr().err


def test_lectern_config_writes_what_the_window_reads(capsys):
    assert main(["config", "set", "max_seconds", "none"]) == 0
    assert main(["config", "set", "max_calls", "12"]) == 0
    cfg = RunConfig.load()
    assert cfg.max_seconds is None and cfg.max_calls == 12
    capsys.readouterr()
    assert main(["config", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["max_seconds"] is None and shown["max_calls"] == 12
    assert main(["config", "set", "max_tokens", "0"]) == 1
    assert "none" in capsys.readouterr().err


def test_strategy_options_are_set_checked_and_reach_the_run(capsys):
    assert main(["config", "option", "ladder", "compose"]) == 0
    assert main(["config", "option", "sentence_checks", "4"]) == 0
    assert RunConfig.load().options == {"ladder": "compose", "sentence_checks": 4}
    for bad in (["ladder", "huge"], ["sentence_checks", "many"], ["answer_gate", "maybe"], ["no_such", "1"],
                ["yes_weight", "nan"], ["window_chars", "-5"]):
        assert main(["config", "option", *bad]) != 0
    assert "Traceback" not in capsys.readouterr().err
    assert RunConfig.load().options == {"ladder": "compose", "sentence_checks": 4}  # refused values change nothing
    assert main(["config", "option", "ladder", "--unset"]) == 0
    assert RunConfig.load().options == {"sentence_checks": 4}
    # the window and `lectern ask` build the controller from the same configuration
    store = open_store()
    doc = add_text_document(store, "Memo", ["The vault code for project heron is 4417."])
    controller = Controller(store, FakeModel(responder=oracle_responder(lambda t: None)), options=RunConfig.load().options)
    result = controller.ask("What is the vault code for project heron?", doc_ids=[doc], budget=Budget(max_calls=6))
    assert store.get_run(result.run_id)["settings"]["sentence_checks"] == 4


def test_ranking_by_meaning_is_off_by_default_and_can_be_switched_on(capsys):
    from app.runconfig import load_embedder

    assert RunConfig().meaning is False
    assert load_embedder(RunConfig.load()) is None  # off: no embedding model is loaded
    assert main(["config", "set", "meaning", "on"]) == 0
    assert RunConfig.load().meaning is True
    assert main(["config", "set", "meaning", "perhaps"]) == 1
    assert "on or off" in capsys.readouterr().err
    assert RunConfig.load().meaning is True  # a refused value changes nothing
    with pytest.raises(ValueError, match="meaning"):
        RunConfig(meaning="off").validate()  # a hand-edited run.json with a string is refused
    assert load_embedder(RunConfig.load().replace(mode="rag")) is None  # only guided mode ranks passages
    embedder = load_embedder(RunConfig.load())
    assert embedder is not None and embedder.embed(["a line"])[0]
