"""Whole-flow validation: every problem at once, and execute() refusing before any handler runs."""

from typing import Any

import pytest

from routilux import Flow, FlowValidationError, Routine
from tests.support import OnTrigger, Relay, Sink, Source


class Loud(Routine):
    """A routine whose handlers record that they ran (they must not, for an invalid flow)."""

    calls: list[str] = []  # noqa: RUF012 - shared on purpose: any run at all is a failure

    def __init__(self, slot: str = "trigger") -> None:
        super().__init__()
        self.define_slot(slot, handler=self.handle)
        self.define_event("out", ["x"])

    def handle(self, **payload: Any) -> None:
        Loud.calls.append("ran")
        self.emit("out", x=1)


class NeedsY(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("input", handler=self.handle)

    def handle(self, x: int, y: int) -> None:
        Loud.calls.append("ran")


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    Loud.calls.clear()


def codes(flow: Flow, entry: str | None = None) -> list[str]:
    return flow.validate(entry).codes()


def test_valid_flow_has_no_errors_but_reports_warnings() -> None:
    flow = Flow()
    flow.add_routine(Loud(), "a")
    flow.add_routine(Sink(), "lonely")
    report = flow.validate()
    assert report.ok
    assert sorted(p.code for p in report.warnings) == ["unconnected-event", "unreachable-routine"]
    locations = {p.location for p in report.warnings}
    assert locations == {"a.out", "lonely"}


def test_cycle_is_an_error_unless_declared_feedback() -> None:
    flow = Flow()
    flow.add_routine(Loud(), "a")
    flow.add_routine(Relay(), "b")
    flow.add_routine(Relay(), "c")
    flow.connect("a", "out", "b", "input")
    flow.connect("b", "out", "c", "input")
    flow.connect("c", "out", "b", "input")
    report = flow.validate()
    (cycle,) = [p for p in report.errors if p.code == "cycle"]
    assert "b -> c -> b" in cycle.location or "c -> b -> c" in cycle.location
    assert "feedback=True" in cycle.hint

    looped = Flow()
    looped.add_routine(Loud(), "a")
    looped.add_routine(Relay(), "b")
    looped.add_routine(Relay(), "c")
    looped.connect("a", "out", "b", "input")
    looped.connect("b", "out", "c", "input")
    looped.connect("c", "out", "b", "input", feedback=True)
    assert "cycle" not in codes(looped)


def test_self_loop_is_a_cycle() -> None:
    flow = Flow()
    flow.add_routine(Loud(), "a")
    flow.add_routine(Relay(), "r")
    flow.connect("a", "out", "r", "input")
    flow.connect("r", "out", "r", "input")
    assert "cycle" in codes(flow)


def test_mapping_of_undeclared_param_and_collision() -> None:
    flow = Flow()
    flow.add_routine(Source(["value", "other"]), "src")
    flow.add_routine(Sink(), "s1")
    flow.add_routine(Sink(), "s2")
    flow.connect("src", "out", "s1", "input", {"valeu": "v"})
    flow.connect("src", "out", "s2", "input", {"value": "other"})
    report = flow.validate()
    by_code = {p.code: p for p in report.errors}
    assert set(by_code) == {"mapping-undeclared-param", "mapping-collision"}
    assert "'valeu'" in by_code["mapping-undeclared-param"].message
    assert by_code["mapping-undeclared-param"].location == "src.out -> s1.input"
    assert "'other'" in by_code["mapping-collision"].message


def test_handler_parameter_no_connected_event_provides() -> None:
    flow = Flow()
    flow.add_routine(Loud(), "a")
    flow.add_routine(NeedsY(), "n")
    flow.connect("a", "out", "n", "input")
    (problem,) = flow.validate().errors
    assert problem.code == "handler-param-unprovided"
    assert "'y'" in problem.message

    mapped = Flow()
    mapped.add_routine(Source(["value", "y0"]), "a")
    mapped.add_routine(NeedsY(), "n")
    mapped.connect("a", "out", "n", "input", {"value": "x", "y0": "y"})
    assert mapped.validate().ok


def test_duplicate_connection() -> None:
    flow = Flow()
    flow.add_routine(Loud(), "a")
    flow.add_routine(Sink(), "s")
    flow.connect("a", "out", "s", "input")
    flow.connect("a", "out", "s", "input")
    assert codes(flow) == ["duplicate-connection"]


def test_entry_checks() -> None:
    flow = Flow()
    flow.add_routine(Loud(), "a")
    flow.add_routine(Loud(slot="input"), "b")
    flow.connect("a", "out", "b", "input")
    assert "entry-without-trigger" in codes(flow, "b")
    assert "unknown-entry" in codes(flow, "zzz")
    with pytest.raises(FlowValidationError, match="entry-without-trigger"):
        flow.execute("b")
    with pytest.raises(FlowValidationError, match="unknown-entry"):
        flow.execute("zzz")
    assert Loud.calls == []


def test_no_routine_with_trigger() -> None:
    flow = Flow()
    flow.add_routine(Sink(), "s")
    assert "no-entry" in codes(flow)


def test_an_empty_flow_warns_and_refuses_any_entry() -> None:
    flow = Flow("empty")
    report = flow.validate()
    assert report.ok and [p.code for p in report.warnings] == ["empty-flow"]
    with pytest.raises(FlowValidationError, match="unknown-entry"):
        flow.execute("anything")


@pytest.mark.parametrize("strategy", ["sequential", "concurrent"])
def test_execute_lists_every_error_and_runs_nothing(strategy: Any) -> None:
    flow = Flow(execution_strategy=strategy)
    flow.add_routine(Loud(), "a")
    flow.add_routine(Relay(), "b")
    flow.add_routine(NeedsY(), "n")
    flow.connect("a", "out", "b", "input")
    flow.connect("b", "out", "b", "input")
    flow.connect("a", "out", "n", "input", {"nope": "y"})
    with pytest.raises(FlowValidationError) as info:
        flow.execute("a")
    error = info.value
    assert isinstance(error, ValueError)
    assert {p.code for p in error.problems} == {
        "cycle",
        "mapping-undeclared-param",
        "handler-param-unprovided",
    }
    assert all(p.severity == "error" for p in error.problems)
    assert Loud.calls == []
    flow.shutdown()


def test_warnings_do_not_stop_a_run_and_are_not_raised(recwarn: pytest.WarningsRecorder) -> None:
    flow = Flow()
    flow.add_routine(Loud(), "a")
    flow.add_routine(Sink(), "unreachable")
    job = flow.execute("a")
    assert job.status == "completed"
    assert Loud.calls == ["ran"]
    assert len(recwarn) == 0


def test_plan_is_cached_until_the_flow_or_a_routine_changes() -> None:
    flow = Flow()
    source = Loud()
    flow.add_routine(source, "a")
    plan = flow.compile()
    assert flow.compile() is plan
    flow.add_routine(Sink(), "s")
    plan2 = flow.compile()
    assert plan2 is not plan
    flow.connect("a", "out", "s", "input")
    plan3 = flow.compile()
    assert plan3 is not plan2
    source.define_event("extra")
    assert flow.compile() is not plan3


def test_report_renders_every_problem() -> None:
    flow = Flow("f")
    flow.add_routine(Sink(), "s")
    assert str(flow.validate()).startswith("[error] no-entry at flow:")
    flow.add_routine(Loud(), "a")
    lines = str(flow.validate()).splitlines()
    assert len(lines) == 2
    assert any("unreachable-routine at s" in line for line in lines)
    assert any("unconnected-event at a.out" in line for line in lines)
    clean = Flow("clean")
    clean.add_routine(OnTrigger(lambda context: None), "only")
    assert str(clean.validate()) == "flow 'clean': no problems"


def test_single_data_parameter_warns_that_it_gets_the_payload() -> None:
    class Takes(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("input", handler=self.handle)

        def handle(self, data: Any) -> None:
            del data

    flow = Flow()
    flow.add_routine(Source(["data"]), "src")
    flow.add_routine(Takes(), "t")
    flow.connect("src", "out", "t", "input")
    report = flow.validate()
    assert report.ok
    assert [p.code for p in report.warnings] == ["data-param-gets-payload"]


def test_entry_params_missing_a_required_trigger_parameter_are_refused() -> None:
    class NeedsCount(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("trigger", handler=self.go)

        def go(self, count: int, label: str) -> None:
            Loud.calls.append("ran")

    flow = Flow()
    flow.add_routine(NeedsCount(), "n")
    with pytest.raises(FlowValidationError) as info:
        flow.execute("n", {"label": "x"})
    assert [p.code for p in info.value.problems] == ["entry-param-missing"]
    assert "'count'" in info.value.problems[0].message
    assert Loud.calls == []
    assert flow.execute("n", {"count": 1, "label": "x"}).status == "completed"
    assert Loud.calls == ["ran"]


def test_a_source_without_trigger_is_an_error_even_without_an_entry() -> None:
    flow = Flow()
    flow.add_routine(Loud(), "start")
    flow.add_routine(Loud(slot="input"), "orphan_source")
    flow.add_routine(Sink(), "sink")
    flow.connect("orphan_source", "out", "sink", "input")
    report = flow.validate()
    assert [(p.code, p.location) for p in report.errors] == [
        ("entry-without-trigger", "orphan_source")
    ]
    assert [p.location for p in report.warnings if p.code == "unreachable-routine"] == ["sink"]
    with pytest.raises(FlowValidationError, match="entry-without-trigger"):
        flow.execute("start")
    assert Loud.calls == []


def test_declared_param_types_must_agree_with_handler_annotations() -> None:
    class Typed(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("trigger", handler=lambda: None)
            self.define_event("out", {"count": int, "label": str, "anything": list})

    class WantsText(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("input", handler=self.take)

        def take(self, count: str, label: str, anything: object = None) -> None:
            del count, label, anything

    class WantsNumber(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("input", handler=self.take)

        def take(self, count: float | int, label: str, **rest: Any) -> None:
            del count, label, rest

    flow = Flow()
    flow.add_routine(Typed(), "typed")
    flow.add_routine(WantsText(), "text")
    flow.add_routine(WantsNumber(), "number")
    flow.connect("typed", "out", "text", "input")
    flow.connect("typed", "out", "number", "input")
    (problem,) = flow.validate().errors
    assert problem.code == "param-type-mismatch"
    assert problem.location == "typed.out -> text.input"
    assert "'count' as int" in problem.message and "as str" in problem.message

    renamed = Flow()
    renamed.add_routine(Typed(), "typed")
    renamed.add_routine(WantsText(), "text")
    renamed.connect("typed", "out", "text", "input", {"count": "anything", "anything": "count"})
    assert "param-type-mismatch" in renamed.validate().codes()  # list arrives as count: str
