import threading
from typing import Any

import pytest

from routilux import NotInJobError, Routine


class Empty(Routine):
    def __init__(self) -> None:
        super().__init__()


def test_duplicate_slot_and_event_names_are_refused() -> None:
    routine = Empty()
    routine.define_slot("a")
    routine.define_event("e", ["x"])
    with pytest.raises(ValueError, match="already has a slot named 'a'"):
        routine.define_slot("a")
    with pytest.raises(ValueError, match="already has an event named 'e'"):
        routine.define_event("e")


def test_define_event_rejects_a_bare_string_and_duplicate_params() -> None:
    routine = Empty()
    with pytest.raises(TypeError, match=r"write \['x'\]"):
        routine.define_event("e", "x")
    with pytest.raises(ValueError, match="declares a parameter twice"):
        routine.define_event("f", ["x", "x"])


def test_define_event_accepts_a_name_to_type_mapping() -> None:
    event = Empty().define_event("e", {"x": int, "y": str})
    assert event.params == ("x", "y")
    assert event.types == {"x": int, "y": str}
    assert event.output_params == ["x", "y"]


def test_unknown_merge_strategy_fails_at_define_slot() -> None:
    with pytest.raises(ValueError, match="unknown merge_strategy 'apend'"):
        Empty().define_slot("s", merge_strategy="apend")  # type: ignore[arg-type]


def test_emit_outside_a_job_says_how_to_run_it() -> None:
    routine = Empty()
    routine.define_event("e")
    with pytest.raises(NotInJobError, match=r"flow\.execute"):
        routine.emit("e", x=1)
    with pytest.raises(ValueError, match=r"no event named 'nope'.*'e'"):
        routine.emit("nope")


def test_config_is_copied_out() -> None:
    routine = Empty()
    routine.set_config(a=1, b=[1])
    config = routine.config()
    config["a"] = 2
    assert routine.get_config("a") == 1
    assert routine.get_config("missing", "d") == "d"


def test_stats_operations() -> None:
    routine = Empty()
    routine.set_stat("items", [1])
    assert routine.increment_stat("n") == 1
    assert routine.increment_stat("n", 4) == 5
    snapshot = routine.stats()
    snapshot["items"].append(2)
    assert routine.get_stat("items") == [1]
    routine.reset_stats(["n"])
    assert routine.stats() == {"items": [1]}
    routine.reset_stats()
    assert routine.stats() == {}
    routine.set_stat("name", "x")
    with pytest.raises(TypeError, match="only on int or float"):
        routine.increment_stat("name")


def test_increment_stat_from_many_threads_is_exact() -> None:
    routine = Empty()
    threads_count, per_thread = 8, 2_000
    start = threading.Barrier(threads_count)

    def work() -> None:
        start.wait()
        for _ in range(per_thread):
            routine.increment_stat("n")

    threads = [threading.Thread(target=work) for _ in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert routine.get_stat("n") == threads_count * per_thread


def test_subclass_may_use_private_names_without_clobbering_the_base() -> None:
    class Mine(Routine):
        def __init__(self) -> None:
            super().__init__()
            self._lock = threading.Lock()
            self._stats: dict[str, Any] = {"mine": True}
            self._slots = "user attribute"

    routine = Mine()
    routine.define_slot("trigger")
    routine.increment_stat("n")
    assert routine.stats() == {"n": 1}
    assert list(routine.slots) == ["trigger"]


def test_error_policy_helpers() -> None:
    routine = Empty()
    routine.set_as_optional()
    handler = routine.get_error_handler()
    assert handler is not None and handler.strategy == "continue"
    routine.set_as_critical(max_retries=2, retry_delay=0.5)
    handler = routine.get_error_handler()
    assert handler is not None
    assert (handler.strategy, handler.max_retries, handler.is_critical) == ("retry", 2, True)
    with pytest.raises(TypeError, match="ErrorHandler"):
        routine.set_error_handler("stop")  # type: ignore[arg-type]
