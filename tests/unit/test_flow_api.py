"""Builder-side errors of Flow: each names the offending thing and what would be valid."""

import pytest

from routilux import Flow, JobState, Routine
from tests.support import Sink, Source


def test_unknown_strategy_and_bad_workers() -> None:
    with pytest.raises(ValueError, match=r"'parallel'.*'sequential', 'concurrent'"):
        Flow(execution_strategy="parallel")  # type: ignore[arg-type]
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="max_workers must be an int >= 1"):
            Flow(max_workers=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="execution_timeout"):
        Flow(execution_timeout=0)
    flow = Flow()
    flow.add_routine(Source(), "s")
    with pytest.raises(ValueError, match="unknown execution_strategy"):
        flow.execute("s", execution_strategy="threads")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout must be"):
        flow.execute("s", timeout=-1)
    with pytest.raises(ValueError, match="flow_id must be"):
        Flow(flow_id="")


def test_set_execution_strategy() -> None:
    flow = Flow()
    flow.set_execution_strategy("concurrent", max_workers=2)
    assert (flow.execution_strategy, flow.max_workers) == ("concurrent", 2)
    with pytest.raises(ValueError, match="unknown execution_strategy"):
        flow.set_execution_strategy("both")  # type: ignore[arg-type]


def test_add_routine_errors() -> None:
    flow = Flow("f")
    source = Source()
    assert flow.add_routine(source, "s") == "s"
    with pytest.raises(ValueError, match="already has a routine with id 's'"):
        flow.add_routine(Source(), "s")
    with pytest.raises(ValueError, match="already in flow 'f' as 's'"):
        flow.add_routine(source, "t")
    with pytest.raises(TypeError, match="expects a Routine instance, got str"):
        flow.add_routine("nope", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="routine_id must be a non-empty string"):
        flow.add_routine(Source(), "")

    class Forgetful(Routine):
        def __init__(self) -> None:
            pass

    with pytest.raises(TypeError, match=r"must call super\(\).__init__\(\)"):
        flow.add_routine(Forgetful(), "f")


def test_generated_routine_ids_are_unique() -> None:
    flow = Flow()
    ids = {flow.add_routine(Source()) for _ in range(3)}
    assert len(ids) == 3
    assert all(i.startswith("Source_") for i in ids)


def test_connect_errors_name_what_exists() -> None:
    flow = Flow("f")
    flow.add_routine(Source(), "src")
    flow.add_routine(Sink(), "sink")
    with pytest.raises(ValueError, match=r"source routine 'nope'.*'src', 'sink'"):
        flow.connect("nope", "out", "sink", "input")
    with pytest.raises(ValueError, match="target routine 'nope'"):
        flow.connect("src", "out", "nope", "input")
    with pytest.raises(ValueError, match="no event 'output'; its events are: 'out'"):
        flow.connect("src", "output", "sink", "input")
    with pytest.raises(ValueError, match="no slot 'in'; its slots are: 'input'"):
        flow.connect("src", "out", "sink", "in")
    with pytest.raises(TypeError, match="param_mapping must map str to str"):
        flow.connect("src", "out", "sink", "input", {"value": 3})  # type: ignore[dict-item]
    connection = flow.connect("src", "out", "sink", "input", {"value": "v"})
    assert connection.label == "src.out -> sink.input"
    assert dict(connection.param_mapping) == {"value": "v"}
    assert flow.connections == (connection,)


def test_bad_entry_params() -> None:
    flow = Flow()
    flow.add_routine(Source(), "s")
    with pytest.raises(TypeError, match="entry_params must be a mapping"):
        flow.execute("s", entry_params=[1, 2])  # type: ignore[arg-type]


def test_wait_for_completion_of_a_job_from_another_flow() -> None:
    one, two = Flow("one"), Flow("two")
    one.add_routine(Source(), "s")
    job = one.execute("s")
    with pytest.raises(ValueError, match="belongs to flow 'one', not to flow 'two'"):
        JobState.wait_for_completion(two, job)
    assert JobState.wait_for_completion(one, job, timeout=1)


def test_pictures() -> None:
    flow = Flow("pic")
    flow.add_routine(Source(), "src")
    flow.add_routine(Sink(), "sink")
    flow.connect("src", "out", "sink", "input", {"value": "v"})
    mermaid = flow.to_mermaid()
    assert mermaid.startswith("flowchart LR")
    assert '-->|"out → input (value→v)"|' in mermaid
    dot = flow.to_dot()
    assert dot.startswith('digraph "pic" {')
    assert '"src" -> "sink" [label="out → input (value→v)"];' in dot
