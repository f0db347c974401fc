"""Flows for the command-line tests (imported by the CLI only when the command line says so)."""

from __future__ import annotations

from routilux import Flow, Routine, register_routine


@register_routine(name="cli.Start")
class Start(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("trigger", handler=self.go)
        self.define_event("out", ["x"])

    def go(self) -> None:
        self.emit("out", x=1)


@register_routine(name="cli.Needs")
class Needs(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("input", handler=self.take)

    def take(self, x: int, y: int) -> None:
        del x, y


@register_routine(name="cli.Takes")
class Takes(Routine):
    def __init__(self) -> None:
        super().__init__()
        self.define_slot("input", handler=self.take)
        self.define_event("unused")

    def take(self, x: int) -> None:
        del x


def good() -> Flow:
    """Valid, with one warning (an unconnected event)."""
    flow = Flow("good")
    flow.add_routine(Start(), "start")
    flow.add_routine(Takes(), "takes")
    flow.connect("start", "out", "takes", "input")
    return flow


def broken() -> Flow:
    flow = Flow("broken")
    flow.add_routine(Start(), "start")
    flow.add_routine(Needs(), "needs")
    flow.connect("start", "out", "needs", "input")
    flow.connect("start", "out", "needs", "input")
    return flow


def not_a_flow() -> int:
    return 3
