"""The controller's modules import one another in one direction only: a strategy can be
read, replaced or tested without loading the others through a circle."""

from __future__ import annotations

import ast
from pathlib import Path

RLM = Path(__file__).resolve().parent.parent / "app" / "rlm"


def _graph() -> dict[str, set[str]]:
    graph = {}
    for p in RLM.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(p.read_text())):  # nested (lazy) imports count too
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app.rlm."):
                deps.add(node.module.rsplit(".", 1)[1])
            elif isinstance(node, ast.ImportFrom) and node.module == "app.rlm":
                deps |= {a.name for a in node.names if (RLM / f"{a.name}.py").exists()}
        graph[p.stem] = deps - {p.stem}
    return graph


def _cycle(graph):
    state, stack = {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for d in graph.get(n, ()):
            if state.get(d) == "open":
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        state[n] = "done"
        stack.pop()
        return None

    for n in graph:
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_no_import_circle_in_the_controller():
    graph = _graph()
    assert {"guided", "ranked", "scan", "reading", "controller"} <= set(graph)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
