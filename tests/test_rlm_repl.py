"""REPL mode on the FakeModel: code runs in the sandbox process, never in ours."""

from __future__ import annotations

import os
import threading

import pytest

from app.cancel import CancelToken
from app.llm.fake import FakeModel
from app.rlm import Budget, Controller
from app.rlm.sandbox import Sandbox, SandboxError
from app.rlm.testing import add_text_document

FACT = "The vault code for project heron is 4417."
FILLER = "The committee reviewed the quarterly figures and noted that revenue remained stable. " * 10


@pytest.fixture
def doc(store):
    return add_text_document(store, "Heron Report", [FILLER, FILLER + FACT])


def code(src: str) -> str:
    return f"Let me look.\n```repl\n{src}\n```\n"


def test_repl_runs_code_in_a_sandbox_with_search_and_sub_calls(store, doc):
    root = FakeModel(replies=[
        code("print(len(context), context[0].title, len(context[0].pages))\nhits = search('heron')\nprint(hits[0]['page'])"),
        code("ans = llm_query('What is the code? ' + hits[0]['text'][-200:])\nprint('pid', __import__('os').getpid())\nFINAL(ans)"),
    ])
    sub = FakeModel(replies=["4417"])
    result = Controller(store, root, sub).ask("What is the vault code for project heron?", doc_ids=[doc], mode="repl")
    assert result.status == "done", result.note
    assert result.answer == "4417 [1]"
    assert result.citations[0].page == 2 and result.citations[0].quote == FACT
    turns = [n for n in result.nodes if n.kind == "code"]
    assert len(turns) == 2
    assert "1 Heron Report 2" in turns[0].data["results"][0]["stdout"]
    # the code ran in another process
    pid = int(turns[1].data["results"][0]["stdout"].split("pid")[1].split()[0]) if "pid" in turns[1].data["results"][0]["stdout"] else None
    assert pid is not None and pid != os.getpid()
    assert [n.kind for n in result.nodes if n.parent == turns[1].id] == ["map"]
    assert any(n.kind == "filter" and n.label.startswith("search(") for n in result.nodes)
    # root saw the (truncated) output of its first block
    assert "Output of your code" in root.requests[1].messages[-1]["content"]


def test_malicious_code_is_refused(store, doc, tmp_path):
    target = tmp_path / "pwned.txt"
    evil = [
        f"open({str(target)!r}, 'w').write('x')",
        "import os; os.system('touch /tmp/lectern-pwned')",
        "import socket; socket.create_connection(('127.0.0.1', 80))",
        "import subprocess; subprocess.run(['true'])",
        "print(open('/etc/passwd').read())",
        "import ctypes; ctypes.CDLL(None)",
    ]
    root = FakeModel(replies=[code(e) for e in evil] + [code("FINAL('done')")])
    result = Controller(store, root).ask("Try things", doc_ids=[doc], mode="repl", budget=Budget(max_iterations=10))
    assert result.status == "done" and result.answer == "done"
    assert not target.exists() and not os.path.exists("/tmp/lectern-pwned")
    errors = [n.data["results"][0]["error"] for n in result.nodes if n.kind == "code" and n.data["results"][0]["error"]]
    assert len(errors) == len(evil)
    assert all("blocked by the sandbox" in e or "socket" in e for e in errors)


def test_iteration_cap_forces_an_answer(store, doc):
    root = FakeModel(replies=[code("print('thinking')")] * 2 + ["The answer is 4417."])
    result = Controller(store, root).ask("What is the vault code?", doc_ids=[doc], mode="repl", budget=Budget(max_iterations=2))
    assert result.status == "done" and result.answer.startswith("The answer is 4417.")
    assert "iteration cap" in result.note
    assert result.nodes[-1].kind == "final"


def test_rlm_query_runs_a_child_repl_one_level_deeper(store, doc):
    root = FakeModel(replies=[
        code("r = rlm_query('What is the code?', context[0].pages[1].text)\nFINAL(r)"),
        code("print(len(context[0].text))\nFINAL('4417')"),  # the child's turn, in its own sandbox
    ])
    result = Controller(store, root).ask("What is the vault code?", doc_ids=[doc], mode="repl")
    assert result.status == "done" and result.answer.startswith("4417")
    assert result.totals["depth"] == 1
    assert any(n.kind == "code" and n.depth == 1 for n in result.nodes)


def test_runaway_code_and_cancel_kill_the_sandbox(store, doc):
    cancel = CancelToken()
    root = FakeModel(replies=[code("while True: pass")])
    threading.Timer(1.0, cancel.cancel).start()
    result = Controller(store, root).ask("loop", doc_ids=[doc], mode="repl", cancel=cancel)
    assert result.status == "cancelled"
    with Sandbox([]) as box:
        box.start_exec("while True: pass")
        with pytest.raises(SandboxError, match="longer than"):
            list(box.messages(1.0))
        assert not box.alive


def test_budget_stops_a_repl_run_cleanly(store, doc):
    root = FakeModel(default=code("print(llm_query('hi'))"))
    sub = FakeModel(default="hello")
    result = Controller(store, root, sub).ask("q", doc_ids=[doc], mode="repl", budget=Budget(max_calls=3))
    assert result.status == "budget" and "call budget" in result.note
