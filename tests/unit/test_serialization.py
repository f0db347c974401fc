"""Round trips, exact rewiring, refusals at save time, and hostile files refused safely."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from routilux import (
    ErrorHandler,
    Flow,
    HeldActivation,
    JobState,
    Routine,
    SerializationError,
    register_callable,
    register_exception,
    register_routine,
)
from routilux.registry import routine_class
from tests.support import OnTrigger


class CanaryError(Exception):
    pass


register_exception(CanaryError, name="tests.CanaryError")


@register_callable
def merge_sum(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {"total": old.get("total", 0) + new["n"]}


@register_routine(name="tests.Emitter")
class Emitter(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.set_config(count=1)
        self.define_slot("trigger", handler=self.fire)
        self.define_event("output", ["n"])

    def fire(self) -> None:
        for n in range(self.get_config("count")):
            self.emit("output", n=n)


@register_routine(name="tests.Recorder")
class Recorder(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("input", handler=self.take)
        self.define_event("output", ["n"])
        self.seen: list[int] = []

    def take(self, n: int) -> None:
        self.seen.append(n)
        self.emit("output", n=n)


def wired_flow() -> Flow:
    """Many routines share the names input/output; only ids tell the wires apart."""
    flow = Flow("wired", execution_strategy="sequential", max_workers=3, execution_timeout=9.5)
    flow.add_routine(Emitter(), "e")
    for name in ("a", "b", "c", "d"):
        flow.add_routine(Recorder(), name)
    flow.connect("e", "output", "a", "input")
    flow.connect("e", "output", "c", "input", {"n": "n"})
    flow.connect("a", "output", "d", "input")
    flow.connect("c", "output", "b", "input")
    flow.connect("b", "output", "a", "input", feedback=True)
    flow.get_routine("e").set_config(count=3)  # type: ignore[union-attr]
    flow.get_routine("a").set_error_handler(  # type: ignore[union-attr]
        ErrorHandler("retry", max_retries=2, retryable_exceptions=(KeyError, CanaryError))
    )
    flow.set_error_handler(ErrorHandler("continue"))
    flow.get_routine("d").increment_stat("runs", 4)  # type: ignore[union-attr]
    return flow


def test_flow_round_trip_keeps_structure_and_wiring_exactly() -> None:
    flow = wired_flow()
    data = json.loads(json.dumps(flow.serialize()))
    restored = Flow.deserialize(data)
    assert restored.serialize() == data
    assert restored.connections == flow.connections
    assert (restored.flow_id, restored.execution_strategy, restored.max_workers) == (
        "wired",
        "sequential",
        3,
    )
    assert restored.execution_timeout == 9.5
    assert restored.get_routine("d").get_stat("runs") == 4  # type: ignore[union-attr]
    policy = restored.get_routine("a").get_error_handler()  # type: ignore[union-attr]
    assert policy is not None and policy.retryable_exceptions == (KeyError, CanaryError)
    # The rewired flow runs the same way the original does.
    original_job, restored_job = flow.execute("e"), restored.execute("e")
    for name in ("a", "b", "c", "d"):
        assert (
            restored.get_routine(name).seen  # type: ignore[union-attr]
            == flow.get_routine(name).seen  # type: ignore[union-attr]
        )
    assert original_job.status == restored_job.status == "completed"


def test_save_and_load_files(tmp_path: Path) -> None:
    flow = wired_flow()
    path = tmp_path / "flow.json"
    flow.save(str(path))
    assert Flow.load(str(path)).serialize() == flow.serialize()
    job = flow.execute("e")
    job.save(str(tmp_path / "job.json"))
    loaded = JobState.load(str(tmp_path / "job.json"))
    assert loaded.serialize() == job.serialize()
    assert loaded.execution_history == job.execution_history
    assert loaded.routine_states == job.routine_states
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flow.json", "job.json"]


def test_lambda_and_unregistered_handlers_are_refused_at_save_time() -> None:
    flow = Flow()
    emitter = Emitter()
    emitter.define_slot("extra", handler=lambda: None)
    flow.add_routine(emitter, "e")
    with pytest.raises(SerializationError, match=r"handler of slot 'extra' of routine 'e'.*lambda"):
        flow.serialize()

    def nested(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        return new

    other = Flow()
    recorder = Recorder()
    recorder.define_slot("more", merge_strategy=nested)
    other.add_routine(recorder, "r")
    with pytest.raises(SerializationError, match="merge strategy of slot 'more'"):
        other.serialize()


def test_registered_callables_restore_slots_defined_after_construction() -> None:
    flow = Flow()
    recorder = Recorder()
    recorder.define_slot("totals", handler=merge_sum, merge_strategy=merge_sum)
    flow.add_routine(recorder, "r")
    restored = Flow.deserialize(flow.serialize())
    slot = restored.get_routine("r").slots["totals"]  # type: ignore[union-attr]
    assert slot.handler is merge_sum and slot.merge.function is merge_sum


def test_unregistered_class_and_non_json_config_are_refused() -> None:
    class Local(Routine):
        def __init__(self) -> None:
            super().__init__()
            self.define_slot("trigger")

    flow = Flow()
    flow.add_routine(Local(), "local")
    with pytest.raises(SerializationError, match="Local is not registered"):
        flow.serialize()

    flow = Flow()
    emitter = Emitter()
    emitter.set_config(when=object())
    flow.add_routine(emitter, "e")
    with pytest.raises(SerializationError, match=r"config of routine 'e', key 'when'.*object"):
        flow.serialize()
    emitter.set_config(when=(1, 2))
    with pytest.raises(SerializationError, match="use a list"):
        flow.serialize()


def test_registration_rules() -> None:
    class NeedsArgs(Routine):
        def __init__(self, size: int) -> None:
            super().__init__()

    with pytest.raises(TypeError, match="requires size"):
        register_routine(NeedsArgs)
    with pytest.raises(ValueError, match="already registered"):
        register_routine(name="tests.Emitter")(Recorder)
    register_routine(Emitter, name="tests.Emitter")  # the same class again is fine
    with pytest.raises(TypeError, match="Routine subclass"):
        register_routine(int)  # type: ignore[type-var]
    with pytest.raises(SerializationError, match="register the class"):
        routine_class("tests.Nope")


def test_job_payloads_that_are_not_json_are_refused_naming_routine_and_key() -> None:
    flow = Flow()
    flow.add_routine(
        OnTrigger(lambda context: context.job_state.update_shared_data("lock", {1, 2})), "holder"
    )
    job = flow.execute("holder")
    with pytest.raises(SerializationError, match=r"shared_data, key 'lock' holds set"):
        job.serialize()

    flow = Flow()
    flow.add_routine(Emitter(), "e")
    flow.add_routine(Recorder(), "r")
    flow.connect("e", "output", "r", "input")
    job = JobState(flow.flow_id)
    job.hold(HeldActivation("r", "input", {"n": object()}))
    with pytest.raises(SerializationError, match=r"held activation 0 for r\.input.*key 'n'"):
        job.serialize()


HOSTILE_FLOWS: list[tuple[str, Any, str]] = [
    ("routine type naming os.system", {"type": "os.system"}, "unknown routine type 'os.system'"),
    ("unknown key", {"sneaky": 1}, "unknown key"),
    ("wrong type", {"config": "rm -rf /"}, "config must be an object"),
]


def flow_document() -> dict[str, Any]:
    flow = Flow("hostile")
    flow.add_routine(Emitter(), "e")
    return flow.serialize()


@pytest.mark.parametrize(
    ("label", "patch", "message"), HOSTILE_FLOWS, ids=[h[0] for h in HOSTILE_FLOWS]
)
def test_hostile_routine_entries_are_refused(
    label: str, patch: dict[str, Any], message: str
) -> None:
    document = flow_document()
    document["routines"][0].update(patch)
    with pytest.raises(SerializationError, match=message):
        Flow.deserialize(document)


def test_hostile_documents_are_refused_with_nothing_executed(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    base = flow_document()
    cases: list[tuple[Any, str]] = [
        ({**base, "version": 99}, "version 99"),
        ({**base, "format": "routilux/job"}, "not 'routilux/flow'"),
        ({**base, "max_workers": "5"}, "max_workers must be an integer"),
        ({**base, "max_workers": True}, "max_workers must be an integer"),
        ({**base, "routines": {}}, "routines must be an array"),
        ({**base, "connections": [{"source": "e"}]}, "missing key"),
        ({**base, "error_handler": {"strategy": "explode"}}, "missing key|unknown error strategy"),
        (
            {**base, "execution_strategy": f"__import__('os').system('touch {canary}')"},
            "execution_strategy must be one of",
        ),
        ([1, 2, 3], "must be an object"),
        ("flow", "must be an object"),
    ]
    policy = dict(base)
    policy["error_handler"] = {
        "strategy": "retry",
        "max_retries": 1,
        "retry_delay": 0.1,
        "retry_backoff": 1.0,
        "retryable_exceptions": ["subprocess.CalledProcessError"],
        "is_critical": False,
    }
    cases.append((policy, "unknown exception class 'subprocess.CalledProcessError'"))
    handler = flow_document()
    handler["routines"][0]["slots"][0]["handler"] = {"callable": "os.system"}
    cases.append((handler, "'os.system', which is not registered"))
    method = flow_document()
    method["routines"][0]["slots"][0]["handler"] = {"method": "__init__"}
    cases.append((method, "saved handler differs"))
    wiring = flow_document()
    wiring["connections"] = [
        {
            "source": "e",
            "event": "output",
            "target": "ghost",
            "slot": "input",
            "param_mapping": {},
            "feedback": False,
        }
    ]
    cases.append((wiring, "target routine 'ghost' is not in flow"))
    for document, message in cases:
        with pytest.raises(SerializationError, match=message):
            Flow.deserialize(document)
    assert not canary.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not valid JSON"),
        ('{"format": "routilux/flow", "version": 1, "flow_id": "x"', "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply|deeper than"),
        ('{"a": ' + "9" * 5000 + "}", "integer longer than"),
        ('{"a": 1e999}', "not a finite number"),
        ('{"a": NaN}', "NaN"),
        ("\x00\x01garbage", "not valid JSON"),
        ('{"format": "routilux/flow", "version": 1, "version": 2}', "repeats the key 'version'"),
    ],
    ids=["empty", "truncated", "deep", "huge-int", "inf", "nan", "garbage", "repeated-key"],
)
def test_malformed_files_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    for cls in (Flow, JobState):
        path = tmp_path / "bad.json"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(SerializationError, match=message):
            cls.load(str(path))


def test_non_utf8_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "bin.json"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SerializationError, match="not UTF-8"):
        Flow.load(str(path))
    with pytest.raises(FileNotFoundError):
        JobState.load(str(tmp_path / "missing.json"))


def test_hostile_job_documents() -> None:
    flow = Flow()
    flow.add_routine(Emitter(), "e")
    document = flow.execute("e").serialize()
    cases: list[tuple[dict[str, Any], str]] = [
        ({**document, "status": "exploded"}, "job.status must be one of"),
        ({**document, "held": [{"routine_id": "e"}]}, "missing key"),
        (
            {
                **document,
                "history": [
                    {
                        "kind": "exec",
                        "routine_id": "",
                        "event_name": "",
                        "timestamp": 0,
                        "data": None,
                    }
                ],
            },
            "unknown record kind",
        ),
        ({**document, "merge_state": {"e.trigger": [1]}}, "must be an object or null"),
        ({**document, "extra": 1}, "unknown key"),
        ({**document, "version": 0}, "version 0"),
    ]
    for bad, message in cases:
        with pytest.raises(SerializationError, match=message):
            JobState.deserialize(bad)


def test_saving_over_an_existing_file_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    good = wired_flow()
    good.save(str(path))
    before = path.read_text()
    broken = Flow()
    emitter = Emitter()
    emitter.set_config(bad=object())
    broken.add_routine(emitter, "e")
    with pytest.raises(SerializationError):
        broken.save(str(path))
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flow.json"]
