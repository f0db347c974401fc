"""The engine seam (``runtime/context.py``): every handler-to-engine call goes through the
current activation's :class:`JobScope`, so an out-of-process executor could record them and
ship them back. A recording scope stands in for such an executor here."""

from __future__ import annotations

from typing import Any

from routilux import JobState, Routine
from routilux.runtime import context
from routilux.stats import StatChange, Stats


class RecordingScope:
    """A JobScope that records every call instead of touching a scheduler."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self._job = JobState("remote-flow")

    @property
    def flow(self) -> Any:
        return "remote-flow"

    @property
    def job_state(self) -> JobState:
        return self._job

    def emit(self, routine: object, event_name: str, payload: dict[str, Any]) -> None:
        self.calls.append(("emit", (event_name, payload)))

    def defer(self, routine: object, event_name: str, payload: dict[str, Any]) -> None:
        self.calls.append(("defer", (event_name, payload)))

    def send_output(self, routine: object, output_type: str, data: dict[str, Any]) -> None:
        self.calls.append(("output", (output_type, data)))

    def change_stats(self, stats: Stats, change: StatChange) -> Any:
        self.calls.append(("stats", change))
        return change.apply(stats)


class Worker(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("input", handler=self.work)
        self.define_event("out", ["n"])

    def work(self, n: int) -> None:
        self.emit("out", n=n + 1)
        self.emit_deferred_event("out", n=0)
        self.send_output("progress", n=n)
        self.increment_stat("seen")
        self.set_stat("last", n)
        self.reset_stats(["gone"])


def test_every_handler_to_engine_call_goes_through_the_scope() -> None:
    worker = Worker()
    worker.set_stat("gone", 1)  # outside any job: applied directly
    scope = RecordingScope()
    token = context.activate((scope, "w"))
    try:
        worker.work(41)
        seen = worker.get_execution_context()
    finally:
        context.deactivate(token)

    assert seen is not None and (seen.flow, seen.routine_id) == ("remote-flow", "w")
    assert scope.calls == [
        ("emit", ("out", {"n": 42})),
        ("defer", ("out", {"n": 0})),
        ("output", ("progress", {"n": 41})),
        ("stats", StatChange("increment", "seen", 1)),
        ("stats", StatChange("set", "last", 41)),
        ("stats", StatChange("reset", "", ("gone",))),
    ]
    assert worker.stats() == {"seen": 1, "last": 41}
    assert worker.get_execution_context() is None


def test_stat_changes_are_plain_data_that_replay_exactly() -> None:
    changes = [
        StatChange("increment", "n", 2),
        StatChange("increment", "n", 3),
        StatChange("set", "tag", "x"),
        StatChange("reset", "", ("tag",)),
        StatChange("set", "kept", [1]),
    ]
    stats = Stats()
    results = [change.apply(stats) for change in changes]
    assert results == [2, 5, None, None, None]
    assert stats.snapshot() == {"n": 5, "kept": [1]}
    StatChange("reset", "", None).apply(stats)
    assert stats.snapshot() == {}
