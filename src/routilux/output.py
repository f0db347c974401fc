"""Output handlers: where ``Routine.send_output`` data goes besides the job's ``output_log``.

A handler is called in the thread of the activation that sent the output, with no engine lock
held; it must be thread-safe itself when jobs run concurrently (the built-ins are).
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any, Protocol

import attrs


@attrs.frozen
class OutputRecord:
    """One ``send_output`` call: which job and routine, what type of output, the data."""

    job_id: str
    routine_id: str
    output_type: str
    data: dict[str, Any]
    timestamp: float


class OutputHandler(Protocol):
    def handle(self, record: OutputRecord) -> None: ...


class NullOutputHandler:
    """Discards outputs (they are still kept in the job's ``output_log``)."""

    def handle(self, record: OutputRecord) -> None:
        del record


class QueueOutputHandler:
    """Puts every output record on a ``queue.Queue`` (thread-safe)."""

    def __init__(self, target: queue.Queue[OutputRecord] | None = None) -> None:
        self.queue: queue.Queue[OutputRecord] = queue.Queue() if target is None else target

    def handle(self, record: OutputRecord) -> None:
        self.queue.put(record)

    def drain(self) -> list[OutputRecord]:
        """Every record queued so far, oldest first, removing them from the queue."""
        records: list[OutputRecord] = []
        while True:
            try:
                records.append(self.queue.get_nowait())
            except queue.Empty:
                return records


class CallbackOutputHandler:
    """Calls ``callback(record)`` for every output."""

    def __init__(self, callback: Callable[[OutputRecord], object]) -> None:
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {type(callback).__name__}")
        self.callback = callback

    def handle(self, record: OutputRecord) -> None:
        self.callback(record)
