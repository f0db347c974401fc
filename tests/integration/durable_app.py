"""A small durable application for the cross-process tests (run as a real subprocess).

    python durable_app.py start FLOW JOB N PAUSE_AT   run a concurrent job, pause at item
                                                     PAUSE_AT, save flow and job, exit
    python durable_app.py checkpoint-then-hang FLOW JOB N PAUSE_AT
                                                     like start, but after saving resume and
                                                     hang in a handler (the test SIGKILLs it)
    python durable_app.py resume FLOW JOB OUT         load both, resume, write counts to OUT

Every item a collector handles is appended to the job's ``shared_log``, so the log is the
record of delivery; the collector's ``handled`` stat counts handler calls across processes.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

from routilux import Flow, JobState, Routine, register_callable, register_routine


@register_callable
def keep_all(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {"items": [*old.get("items", []), new["item"]]}


@register_routine(name="durable.Source")
class Source(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("trigger", handler=self.fire)
        self.define_event("output", ["item"])

    def fire(self, count: int) -> None:
        for item in range(count):
            self.emit("output", item=item)


@register_routine(name="durable.Relay")
class Relay(Routine):
    """The same slot/event names as every other routine here: wiring must stay exact."""

    def __init__(self) -> None:
        super().__init__()
        self.define_slot("input", handler=self.relay)
        self.define_event("output", ["item"])

    def relay(self, item: int) -> None:
        self.emit("output", item=item)


HANG = threading.Event()


@register_routine(name="durable.Collector")
class Collector(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.set_config(pause_at=-1, hang_after=-1)
        self.define_slot("input", handler=self.collect, merge_strategy=keep_all)

    def collect(self, items: list[int]) -> None:
        item = items[-1]
        context = self.get_execution_context()
        assert context is not None
        if item == self.get_config("hang_after"):
            HANG.wait()  # never set: the process is killed while this handler blocks
        context.job_state.append_to_shared_log(item)
        self.increment_stat("handled")
        if item == self.get_config("pause_at"):
            context.flow.pause(context.job_state, reason="checkpoint", checkpoint={"item": item})


def build(count: int, pause_at: int) -> Flow:
    flow = Flow("durable", execution_strategy="concurrent", max_workers=3)
    flow.add_routine(Source(), "source")
    flow.add_routine(Relay(), "relay")
    collector = Collector()
    collector.set_config(pause_at=pause_at)
    flow.add_routine(collector, "collector")
    flow.connect("source", "output", "relay", "input")
    flow.connect("relay", "output", "collector", "input")
    return flow


def start(flow_path: str, job_path: str, count: int, pause_at: int, hang: bool) -> None:
    flow = build(count, pause_at)
    job = flow.execute("source", {"count": count})
    if not flow.wait_for_completion(timeout=30) or job.status != "paused":
        raise SystemExit(f"expected a paused job, got {job.status}")
    flow.save(flow_path)
    job.save(job_path)
    if not hang:
        flow.shutdown(wait=False)
        return
    collector = flow.get_routine("collector")
    assert collector is not None
    collector.set_config(pause_at=-1, hang_after=pause_at + 2)
    flow.resume(job)
    job.wait(timeout=60)  # never returns normally: the test kills the process


def resume(flow_path: str, job_path: str, out_path: str) -> None:
    flow = Flow.load(flow_path)
    job = JobState.load(job_path)
    held = len(job.held_activations)
    flow.resume(job)
    finished = job.wait(timeout=30)
    flow.shutdown()
    collector = flow.get_routine("collector")
    assert collector is not None
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "finished": finished,
                "status": str(job.status),
                "held_at_load": held,
                "log": job.shared_log,
                "handled": collector.get_stat("handled"),
                "merge_state": job.merge_state,
                "pause_points": len(job.pause_points),
            },
            handle,
        )


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "start":
        start(args[0], args[1], int(args[2]), int(args[3]), hang=False)
    elif command == "checkpoint-then-hang":
        start(args[0], args[1], int(args[2]), int(args[3]), hang=True)
    elif command == "resume":
        resume(args[0], args[1], args[2])
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
