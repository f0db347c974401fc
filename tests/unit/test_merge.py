from typing import Any

import pytest

from routilux import MergeError
from routilux.merge import APPEND, OVERRIDE, resolve


def test_override_hands_a_copy_of_the_new_payload() -> None:
    payload = {"a": 1}
    state, data = OVERRIDE.merge({"old": 0}, payload)
    assert state == {"a": 1} and data == {"a": 1}
    data["a"] = 2
    assert state == {"a": 1}


def test_append_accumulates_every_key_and_hands_snapshots() -> None:
    state, first = APPEND.merge(None, {"a": 1})
    state, second = APPEND.merge(state, {"a": 2, "b": "x"})
    assert first == {"a": [1]}
    assert second == {"a": [1, 2], "b": ["x"]}
    second["a"].append(99)
    _, third = APPEND.merge(state, {"a": 3})
    assert third == {"a": [1, 2, 3], "b": ["x"]}


def test_custom_merge_sees_old_and_new_and_handler_gets_a_deep_copy() -> None:
    def total(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        return {"sum": old.get("sum", 0) + new["n"], "items": [*old.get("items", []), new["n"]]}

    strategy = resolve(total, where="t")
    state, data = strategy.merge(None, {"n": 2})
    state, data = strategy.merge(state, {"n": 3})
    assert data == {"sum": 5, "items": [2, 3]}
    data["items"].clear()
    assert state["items"] == [2, 3]
    assert strategy.name.endswith("total")


def test_custom_merge_must_return_a_dict() -> None:
    strategy = resolve(lambda old, new: [old, new], where="t")
    with pytest.raises(MergeError, match="must return a dict"):
        strategy.merge(None, {"a": 1})


def test_unknown_strategy_string_is_a_value_error_naming_the_choices() -> None:
    with pytest.raises(ValueError, match=r"'overide'.*'override', 'append'"):
        resolve("overide", where="slot 'x'")


def test_non_string_non_callable_strategy_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="must be 'override', 'append' or a callable"):
        resolve(3, where="slot 'x'")
