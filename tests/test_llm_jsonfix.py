"""close_json: replies cut by max_tokens inside a JSON value still parse."""

from __future__ import annotations

import json

import pytest

from app.llm.jsonfix import close_json


@pytest.mark.parametrize("cut, expected", [
    ('{"answer": "35", "facts": ["a", "b", "The ans', {"answer": "35", "facts": ["a", "b", "The ans"]}),
    ('{"a": 1, "b"', {"a": 1}),
    ('{"a": 1, "b":', {"a": 1}),
    ('{"a": [1, 2, 3', {"a": [1, 2, 3]}),
    ('{"a": {"b": [{"c": 1}, {"c"', {"a": {"b": [{"c": 1}, {}]}}),
    ('{"a": tru', {}),
    ('{"ok": true}', {"ok": True}),
])
def test_cut_json_is_closed(cut, expected):
    assert json.loads(close_json(cut)) == expected


def test_no_json_prefix_gives_none():
    assert close_json("") is None
    assert close_json("hello") is None
