from typing import Any

import pytest

from routilux import BindingKind, HandlerCallError
from routilux.binding import analyse

Calls = list[Any]


def bind(handler: Any) -> Any:
    return analyse(handler, where="test").invoker(handler, "r", "s")


def test_kwargs_handler_gets_whole_payload_as_keywords() -> None:
    seen: Calls = []

    def handler(a: int = 0, **kw: Any) -> None:
        seen.append((a, kw))

    assert analyse(handler, where="t").kind is BindingKind.KWARGS
    bind(handler)({"a": 1, "b": 2})
    assert seen == [(1, {"b": 2})]


def test_zero_parameter_handler_is_called_with_nothing() -> None:
    seen: Calls = []
    bind(lambda: seen.append("called"))({"ignored": 1})
    assert seen == ["called"]


def test_data_parameter_gets_the_payload_dict() -> None:
    seen: Calls = []

    def handler(data: dict[str, Any]) -> None:
        seen.append(data)

    assert analyse(handler, where="t").kind is BindingKind.DATA
    bind(handler)({"x": 1})
    assert seen == [{"x": 1}]


def test_single_parameter_gets_its_key_or_else_the_dict() -> None:
    seen: Calls = []

    def handler(value: Any) -> None:
        seen.append(value)

    invoke = bind(handler)
    invoke({"value": 5, "other": 1})
    invoke({"other": 1})
    assert seen == [5, {"other": 1}]


def test_keyword_only_single_parameter() -> None:
    seen: Calls = []

    def handler(*, value: Any) -> None:
        seen.append(value)

    bind(handler)({"value": 3})
    assert seen == [3]


def test_several_parameters_get_matching_keys_only() -> None:
    seen: Calls = []

    def handler(a: int, b: int = 7) -> None:
        seen.append((a, b))

    invoke = bind(handler)
    invoke({"a": 1, "zzz": 9})
    invoke({"a": 1, "b": 2})
    assert seen == [(1, 7), (1, 2)]


def test_missing_required_parameter_names_routine_slot_and_parameter() -> None:
    def handler(a: int, b: int) -> None:
        raise AssertionError("must not be called")

    with pytest.raises(HandlerCallError) as info:
        bind(handler)({"a": 1})
    assert info.value.parameter == "b"
    assert "'s'" in str(info.value) and "'r'" in str(info.value) and "'b'" in str(info.value)


def test_required_named_parameter_next_to_kwargs_is_checked() -> None:
    def handler(a: int, **kw: Any) -> None:
        raise AssertionError("must not be called")

    with pytest.raises(HandlerCallError, match="'a'"):
        bind(handler)({"b": 1})


def test_bound_method_excludes_self() -> None:
    class Holder:
        def method(self, value: int) -> int:
            return value * 2

    binding = analyse(Holder().method, where="t")
    assert binding.kind is BindingKind.SINGLE
    assert binding.params == ("value",)


def test_not_callable_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="must be callable"):
        analyse(42, where="slot 'x'")  # type: ignore[arg-type]


def test_required_positional_only_in_multi_parameter_handler_is_refused() -> None:
    def handler(a: int, /, b: int) -> None:
        del a, b

    with pytest.raises(TypeError, match="positional-only parameter 'a'"):
        analyse(handler, where="slot 'x'")
